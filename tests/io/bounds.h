// Resource bounds for reader tests: run a load on a thread with a small stack and measure
// its time and the extra peak resident memory it caused (Linux /proc).
#pragma once

#include <micromotion/error.h>

#include <pthread.h>
#include <ctime>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define MMTEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MMTEST_SANITIZED 1
#endif
#endif

namespace mmtest {

struct Bounded {
  bool ran = false;           // the thread started and finished
  std::string error;          // the micromotion::Error message, "" when f returned
  std::string other;          // what any other exception said
  double seconds = 0;             // CPU time of the loading thread (a loaded machine does not count)
  int64_t extra_peak_bytes = 0;  // peak RSS during f minus RSS before it
};

// A field of /proc/self/status in bytes (VmRSS, VmHWM), or -1.
inline int64_t proc_status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':') return std::stoll(line.substr(n + 1)) * 1024;
  return -1;
}

// Runs f on a fresh thread with `stack_bytes` of stack (256 KB: a load must not recurse
// on anything the file controls). The peak RSS is reset first (/proc/self/clear_refs).
inline Bounded run_bounded(const std::function<void()>& f, size_t stack_bytes = 256 * 1024) {
  struct Job {
    const std::function<void()>* f;
    Bounded r;
  } job{&f, {}};
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";
  }
  const int64_t before = proc_status_bytes("VmRSS");
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_t th;
  auto body = [](void* p) -> void* {
    auto* j = static_cast<Job*>(p);
    timespec t0{}, t1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    try {
      (*j->f)();
    } catch (const micromotion::Error& e) {
      j->r.error = e.what();
      if (j->r.error.empty()) j->r.error = "(empty message)";
    } catch (const std::exception& e) {
      j->r.other = e.what();
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    j->r.seconds = double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec);
    j->r.ran = true;
    return nullptr;
  };
  if (pthread_create(&th, &attr, body, &job) == 0) pthread_join(th, nullptr);
  pthread_attr_destroy(&attr);
  job.r.extra_peak_bytes = proc_status_bytes("VmHWM") - before;
  return job.r;
}

// The bounds for any input: extra peak RSS <= 64 x its size + 64 MB, within 1 s.
// Under AddressSanitizer the shadow memory and the quarantine of freed blocks make RSS
// meaningless and everything ~3-10x slower: memory is then checked only by ASan itself
// and the time limit is 10 s.
inline int64_t memory_bound(size_t input_bytes) { return 64 * int64_t(input_bytes) + (int64_t(64) << 20); }
#ifdef MMTEST_SANITIZED
constexpr bool kCheckRss = false;
constexpr double kTimeBound = 10.0;
#else
constexpr bool kCheckRss = true;
constexpr double kTimeBound = 1.0;
#endif

}  // namespace mmtest

// A load that must end, within the bounds, in a micromotion::Error containing `needle`
// ("" when it must succeed).
#define EXPECT_BOUNDED(result, input_bytes, needle)                                              \
  do {                                                                                           \
    const mmtest::Bounded& r_ = (result);                                                        \
    EXPECT_TRUE(r_.ran);                                                                         \
    EXPECT_EQ(r_.other, "") << "an exception other than micromotion::Error";                     \
    if (std::string(needle).empty())                                                             \
      EXPECT_EQ(r_.error, "");                                                                   \
    else                                                                                         \
      EXPECT_NE(r_.error.find(needle), std::string::npos) << "message was: '" << r_.error << "'"; \
    EXPECT_LT(r_.seconds, mmtest::kTimeBound);                                                   \
    if (mmtest::kCheckRss) {                                                                     \
      EXPECT_GE(r_.extra_peak_bytes, 0);                                                         \
      EXPECT_LE(r_.extra_peak_bytes, mmtest::memory_bound(input_bytes))                          \
          << "input of " << (input_bytes) << " bytes";                                           \
    }                                                                                            \
  } while (0)

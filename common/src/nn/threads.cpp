#include <micromotion/threads.h>

#include <ATen/Parallel.h>

#include <sched.h>

#include <cstdlib>
#include <string>

namespace micromotion {

namespace {
int from_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  try {
    const int n = std::stoi(v);
    return n > 0 ? n : 0;
  } catch (...) {
    return 0;
  }
}
}  // namespace

int set_threads(int n) {
  if (n <= 0) n = from_env("MICROMOTION_THREADS");
  if (n <= 0) n = from_env("OMP_NUM_THREADS");
  if (n <= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  }
  if (n < 1) n = 1;
  at::set_num_threads(n);
  return at::get_num_threads();
}

}  // namespace micromotion

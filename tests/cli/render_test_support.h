// Shared by the render suites (transcoder level in test_render, CLI level in test_engine):
// making clips with the ffmpeg command line, reading files back with ffprobe as JSON, and
// running a child process whose exit, signal and peak memory are observed exactly (fork/exec,
// no shell in between).
#pragma once

#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace rendertest {

namespace fs = std::filesystem;

inline std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Runs `ffmpeg -nostdin -v error -y ARGS` (the test fails on a non-zero exit) and returns `out`.
inline fs::path ffmpeg(const std::string& args, const fs::path& out) {
  const auto r = mmtest::run("ffmpeg -nostdin -v error -y " + args + " " + q(out));
  EXPECT_EQ(r.status, 0) << "ffmpeg " << args << "\n" << r.output;
  return out;
}

// `ffprobe -v error -of json WHAT FILE`, parsed (a failure or bad JSON fails the test, {}).
inline nlohmann::json probe(const fs::path& f, const std::string& what = "-show_streams -show_chapters -show_format") {
  const auto r = mmtest::run("ffprobe -v error -of json " + what + " " + q(f) + " 2>/dev/null");
  EXPECT_EQ(r.status, 0) << "ffprobe " << what << " " << f << "\n" << r.output;
  try {
    return nlohmann::json::parse(r.output);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "ffprobe output is not JSON: " << e.what() << "\n" << r.output;
    return {};
  }
}

// Frame count of the first video stream as decoded.
inline int decoded_frames(const fs::path& f) {
  const auto j = probe(f, "-select_streams v:0 -count_frames -show_entries stream=nb_read_frames");
  if (!j.contains("streams") || j["streams"].empty()) return -1;
  return std::stoi(j["streams"][0].value("nb_read_frames", "-1"));
}

// Overwrites `count` bytes at `offset` with a fixed garbage pattern (a damaged file).
inline void scribble(const fs::path& f, std::streamoff offset, size_t count) {
  std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(io) << f;
  io.seekp(offset);
  std::string junk(count, '\0');
  for (size_t i = 0; i < count; ++i) junk[i] = static_cast<char>((i * 7919u + 13u) & 0xff);
  io.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  ASSERT_TRUE(io) << "cannot write into " << f;
}

// Overwrites `count` bytes from the n-th (0-based) occurrence of `marker` (e.g. a JPEG's start of
// image) with garbage: one frame's data damaged, the container around it intact.
inline void scribble_at_marker(const fs::path& f, const std::string& marker, int n, size_t count) {
  const std::string data = mmtest::read_file(f);
  size_t at = std::string::npos;
  for (int k = 0; k <= n; ++k) {
    at = data.find(marker, at == std::string::npos ? 0 : at + 1);
    ASSERT_NE(at, std::string::npos) << f << ": fewer than " << n + 1 << " markers";
  }
  scribble(f, static_cast<std::streamoff>(at), count);
}

// Every file name in a directory (hidden ones too): nothing left behind.
inline std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> n;
  for (const auto& e : fs::directory_iterator(dir)) n.push_back(e.path().filename().string());
  std::sort(n.begin(), n.end());
  return n;
}

// A child process: argv[0] run directly, stdout and stderr into `log`.
struct Child {
  pid_t pid = -1;
  fs::path log;
};
struct Exit {
  bool signaled = false;
  int code = -1;         // exit status, or the signal when signaled
  long max_rss_kb = 0;   // peak resident memory of the child
};

inline Child spawn(const std::vector<std::string>& argv, const fs::path& log) {
  Child c;
  c.log = log;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  c.pid = fork();
  if (c.pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    // A test runner may ignore SIGINT; the child gets the default dispositions.
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execv(args[0], args.data());
    _exit(127);
  }
  EXPECT_GT(c.pid, 0) << "fork failed";
  return c;
}

// Waits until the child's log contains `text` (true), or it exits or `seconds` pass (false).
inline bool wait_for_log(const Child& c, const std::string& text, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (mmtest::read_file(c.log).find(text) != std::string::npos) return true;
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(c.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == c.pid)
      return false;  // exited (left to wait() to reap)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

inline Exit wait(const Child& c) {
  Exit e;
  int st = 0;
  struct rusage ru {};
  if (wait4(c.pid, &st, 0, &ru) != c.pid) return e;
  e.signaled = WIFSIGNALED(st);
  e.code = e.signaled ? WTERMSIG(st) : WEXITSTATUS(st);
  e.max_rss_kb = ru.ru_maxrss;
  return e;
}

inline Exit run_child(const std::vector<std::string>& argv, const fs::path& log) { return wait(spawn(argv, log)); }

}  // namespace rendertest

// Helpers shared by the test suites: where fixtures are, temporary dirs, running the CLI.
#pragma once

#include <micromotion/generator.h>
#include <micromotion/npy.h>

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

// Ends a test that computes in bf16 as a GTEST_SKIP (reported as skipped, never passed) on a
// device without bf16 (LibTorch's oneDNN needs AVX-512 for it on CPU). Bf16Support.* and the
// CLI / C API bf16 tests check the clear error there instead, so each machine checks one.
#define MM_SKIP_WITHOUT_BF16(device)                                                              \
  do {                                                                                            \
    if (!micromotion::bf16_supported(device))                                                     \
      GTEST_SKIP() << "bf16 is not supported on this device (CPU without avx512bw/vl/dq)";       \
  } while (0)

namespace mmtest {

namespace fs = std::filesystem;

// ../shared/fixtures, or $MICROMOTION_FIXTURES. A missing directory fails the test
// (never a silent skip): the parity suites are the proof the networks are right.
inline fs::path fixtures() {
  const char* env = std::getenv("MICROMOTION_FIXTURES");
  fs::path dir = env && *env ? fs::path(env) : fs::path(MM_FIXTURES_DIR);
  if (!fs::is_directory(dir)) {
    ADD_FAILURE() << "fixtures not found at " << dir
                  << " (check out ../shared beside the repository or set MICROMOTION_FIXTURES)";
  }
  return dir;
}

inline fs::path fixture(const std::string& rel) { return fixtures() / rel; }

inline at::Tensor load_fixture(const std::string& rel) {
  return micromotion::read_npy(fixture(rel).string());
}

// A fresh directory under the build tree, removed and recreated per call.
inline fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::path(MM_BINARY_DIR) / "test-tmp" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

struct RunResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing stdout+stderr.
inline RunResult run(const std::string& command) {
  RunResult r;
  std::string cmd = command + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The built command-line tool.
inline std::string cli() { return (fs::path(MM_BINARY_DIR) / "bin" / "micromotion").string(); }

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace mmtest

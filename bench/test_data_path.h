// Where the benchmarks find the face test data (packaging/fetch-test-data.sh):
// $MICROMOTION_TEST_DATA, else ~/.cache/micromotion/testdata. test_data_path("faces/x.jpg").
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

inline std::string test_data_path(const std::string& rel) {
  const char* env = std::getenv("MICROMOTION_TEST_DATA");
  const char* home = std::getenv("HOME");
  const std::filesystem::path root =
      env && *env ? std::filesystem::path(env) : std::filesystem::path(home ? home : "/root") / ".cache/micromotion/testdata";
  return (root / rel).string();
}

// Helpers for the face suites: fixture and test-data paths, image comparison, the CLI.
// Kept free of LibTorch headers (face_test_support.cpp wraps ../test_support.h).
#pragma once

#include <micromotion/geometry.h>
#include <micromotion/image.h>
#include <micromotion/landmarks.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace facetest {

namespace fs = std::filesystem;

// ../shared/fixtures/<rel> (fails the test if the fixtures are missing).
fs::path fixture(const std::string& rel);

// The face test data (dlib photos, models, clips) made by packaging/fetch-test-data.sh, in
// $MICROMOTION_TEST_DATA or ~/.cache/micromotion/testdata. A missing file fails the test with the
// command that fetches it, and returns an empty path.
fs::path data(const std::string& rel);

fs::path temp_dir(const std::string& name);

struct RunResult {
  int status = -1;
  std::string output;
};
RunResult run(const std::string& command);
std::string cli();

// All frames NNNN.png of a clip, in order.
std::vector<micromotion::ImageRGB8> load_clip(const std::string& name);

struct ImageDiff {
  double mean = 0;  // mean |a - b| over all channels
  int max = 0;
};
ImageDiff diff(const micromotion::ImageView& a, const micromotion::ImageView& b);

// The reference landmarks and geometry of one fixtures/align/cases.json entry.
struct AlignCase {
  std::string image;
  std::string sha256;
  micromotion::Landmarks landmarks;
  micromotion::Quad quad, quad_final;
  double qsize = 0;
  int shrink = 0;
  std::array<int, 4> crop{}, pad{};
  bool padded = false;
};
std::vector<AlignCase> align_cases();

// The largest-area face of one image in dlib's landmark XML (ground truth).
struct XmlFace {
  std::string image;
  double left, top, right, bottom;
  micromotion::Landmarks parts;
};
std::vector<XmlFace> xml_faces(const fs::path& xml);

}  // namespace facetest

// Shared by the engine suites: the test models (made once per build tree by
// `micromotion models make-test`) and short clips made from the face test data.
#pragma once

#include "face/face_test_support.h"

#include <array>
#include <filesystem>
#include <string>
#include <vector>

namespace enginetest {

namespace fs = std::filesystem;

// <build>/test-models, created on first use (atomically: made in a temporary directory, then
// renamed, so parallel test processes never see half a directory).
fs::path test_models();

// Frames [first, first + count) of a clip from the test data (PNG sequence).
std::vector<micromotion::ImageRGB8> clip_frames(const std::string& clip, int first, int count);

// Where the faces of a frame are: per face found by the engine's tracker, the bounding box of
// its FFHQ quad grown by 10 % (the compositor writes only inside the aligned square, that quad).
using Box = std::array<double, 4>;  // x0, y0, x1, y1
std::vector<Box> face_regions(const micromotion::ImageView& frame);

// Pixels that differ between two frames, and how many of them lie outside every box.
struct Change {
  long changed = 0;
  long outside = 0;
  int max_diff = 0;
};
Change compare(const micromotion::ImageView& a, const micromotion::ImageView& b, const std::vector<Box>& boxes);

// The recipes of docs/strength.md (each an indented line under "## Recipes"), which every front
// end's tests run.
std::vector<std::string> strength_recipes();

}  // namespace enginetest

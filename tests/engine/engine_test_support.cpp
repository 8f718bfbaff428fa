#include "engine/engine_test_support.h"

#include <micromotion/engine.h>
#include <micromotion/face_tracker.h>
#include <micromotion/ffhq_align.h>

#include <gtest/gtest.h>

#include <algorithm>

#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace enginetest {

fs::path test_models() {
  const fs::path dir = fs::path(MM_BINARY_DIR) / "test-models";
  if (fs::exists(dir / "directions" / "test-random.safetensors")) return dir;
  const fs::path tmp = fs::path(MM_BINARY_DIR) / ("test-models.tmp." + std::to_string(getpid()));
  fs::remove_all(tmp);
  const auto r = facetest::run(facetest::cli() + " models make-test " + tmp.string());
  EXPECT_EQ(r.status, 0) << r.output;
  std::error_code ec;
  fs::rename(tmp, dir, ec);  // another process may have won the race: then use its directory
  if (ec) fs::remove_all(tmp);
  return dir;
}

std::vector<micromotion::ImageRGB8> clip_frames(const std::string& clip, int first, int count) {
  std::vector<micromotion::ImageRGB8> all = facetest::load_clip(clip);
  std::vector<micromotion::ImageRGB8> out;
  for (int i = first; i < first + count && i < static_cast<int>(all.size()); ++i) out.push_back(all[i]);
  EXPECT_EQ(static_cast<int>(out.size()), count) << clip;
  return out;
}

std::vector<Box> face_regions(const micromotion::ImageView& frame) {
  const micromotion::TrackerOptions options = micromotion::EngineOptions().tracker;
  micromotion::FaceTracker tracker(options);
  std::vector<Box> boxes;
  for (const auto& f : tracker.update(frame)) {
    const micromotion::Quad q = micromotion::ffhq_quad(f.landmarks);
    Box b{1e9, 1e9, -1e9, -1e9};
    for (const auto& p : q) b = {std::min(b[0], p.x), std::min(b[1], p.y), std::max(b[2], p.x), std::max(b[3], p.y)};
    const double m = 0.1 * (b[2] - b[0]);
    boxes.push_back({b[0] - m, b[1] - m, b[2] + m, b[3] + m});
  }
  EXPECT_FALSE(boxes.empty()) << "no face found";
  return boxes;
}

Change compare(const micromotion::ImageView& a, const micromotion::ImageView& b, const std::vector<Box>& boxes) {
  Change c;
  for (int y = 0; y < a.height; ++y) {
    for (int x = 0; x < a.width; ++x) {
      int d = 0;
      for (int k = 0; k < 3; ++k) d = std::max(d, std::abs(int(a.pixel(x, y)[k]) - int(b.pixel(x, y)[k])));
      if (d == 0) continue;
      ++c.changed;
      c.max_diff = std::max(c.max_diff, d);
      const bool inside = std::any_of(boxes.begin(), boxes.end(), [&](const Box& r) {
        return x >= r[0] && x <= r[2] && y >= r[1] && y <= r[3];
      });
      if (!inside) ++c.outside;
    }
  }
  return c;
}

std::vector<std::string> strength_recipes() {
  std::ifstream in(fs::path(MM_SOURCE_DIR) / "docs" / "strength.md");
  std::vector<std::string> recipes;
  bool in_recipes = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_recipes = line == "## Recipes";
    if (in_recipes && line.rfind("    ", 0) == 0) recipes.push_back(line.substr(4));
  }
  return recipes;
}

}  // namespace enginetest

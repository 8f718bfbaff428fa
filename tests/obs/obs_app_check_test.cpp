// The check half of tests/obs/app_smoke.sh: the frames OBS recorded (raw RGB24, decoded by
// ffmpeg) against the clip's own frames. A recorded frame is matched to the clip frame it
// shows (smallest difference outside the face); it is edited when the face region differs much
// more than the rest, which only carries the encoders' noise.
#include "engine/engine_test_support.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <algorithm>

namespace {

std::vector<micromotion::ImageRGB8> read_raw(const std::string& path, int w, int h) {
  std::vector<micromotion::ImageRGB8> frames;
  std::ifstream in(path, std::ios::binary);
  for (;;) {
    micromotion::ImageRGB8 f(w, h);
    if (!in.read(reinterpret_cast<char*>(f.data()), std::streamsize(size_t(w) * h * 3))) break;
    frames.push_back(std::move(f));
  }
  return frames;
}

struct RegionDiff {
  double inside = 0, outside = 0;  // mean |a - b| per channel
};

// Mean differences inside / outside the face mask, over every step-th pixel across and down.
RegionDiff region_diff(const micromotion::ImageRGB8& a, const micromotion::ImageRGB8& b,
                       const std::vector<uint8_t>& mask, int step) {
  double in = 0, out = 0;
  long nin = 0, nout = 0;
  for (int y = 0; y < a.height(); y += step) {
    for (int x = 0; x < a.width(); x += step) {
      const size_t i = size_t(y) * a.width() + x;
      const uint8_t* p = a.data() + 3 * i;
      const uint8_t* q = b.data() + 3 * i;
      const double d = (std::abs(p[0] - q[0]) + std::abs(p[1] - q[1]) + std::abs(p[2] - q[2])) / 3.0;
      if (mask[i]) in += d, ++nin;
      else out += d, ++nout;
    }
  }
  return {nin ? in / nin : 0, nout ? out / nout : 0};
}

std::vector<uint8_t> face_mask(const micromotion::ImageRGB8& frame) {
  std::vector<uint8_t> mask(size_t(frame.width()) * frame.height(), 0);
  for (const auto& r : enginetest::face_regions(frame))
    for (int y = std::max(0, int(r[1])); y <= std::min(frame.height() - 1, int(r[3])); ++y)
      for (int x = std::max(0, int(r[0])); x <= std::min(frame.width() - 1, int(r[2])); ++x)
        mask[size_t(y) * frame.width() + x] = 1;
  return mask;
}

TEST(ObsApp, RecordingHasEditedFrames) {
  const char* rec = std::getenv("MM_OBS_RECORDING");
  const char* clip = std::getenv("MM_OBS_CLIP_RAW");
  const char* size = std::getenv("MM_OBS_SIZE");
  ASSERT_TRUE(rec && clip && size) << "run through tests/obs/app_smoke.sh";
  int w = 0, h = 0;
  ASSERT_EQ(std::sscanf(size, "%dx%d", &w, &h), 2);
  const auto recorded = read_raw(rec, w, h);
  const auto refs = read_raw(clip, w, h);
  ASSERT_GE(refs.size(), 30u);
  ASSERT_GE(recorded.size(), 100u) << "the recording is too short";

  std::vector<std::vector<uint8_t>> masks(refs.size());
  for (size_t r = 0; r < refs.size(); ++r) masks[r] = face_mask(refs[r]);

  int edited = 0, plain = 0;
  double worst_outside = 0;
  for (size_t i = 0; i < recorded.size(); ++i) {
    size_t best = 0;
    double best_outside = 1e9;
    for (size_t r = 0; r < refs.size(); ++r) {  // coarse match on a 4x4 grid
      const RegionDiff d = region_diff(recorded[i], refs[r], masks[r], 4);
      if (d.outside < best_outside) best = r, best_outside = d.outside;
    }
    const RegionDiff best_d = region_diff(recorded[i], refs[best], masks[best], 1);
    // Outside the face: the clip's frame, through two lossy encodes and colour conversions.
    EXPECT_LT(best_d.outside, 6.0) << "recorded frame " << i << " matches no clip frame";
    worst_outside = std::max(worst_outside, best_d.outside);
    if (best_d.inside > best_d.outside + 10.0) ++edited;
    else ++plain;
  }
  std::printf("[obs-app] %zu recorded frames: %d edited, %d unedited; worst mean difference outside the face %.2f\n",
              recorded.size(), edited, plain, worst_outside);
  // The recording starts before the models are loaded; after the first result every frame
  // shows an edited face (hold last result).
  EXPECT_GE(edited, 100);
}

}  // namespace

// The plugin's pixel conversion (obs-plugin/src/convert.*), every supported format: what the
// engine sees matches OBS's colour matrix, edited pixels come back within rounding, and pixels
// the engine did not change keep their bytes exactly.
#include "convert.hpp"

#include <media-io/video-io.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>

namespace {

struct Case {
  video_format format;
  video_range_type range;
  // Max |rgb error| after a round trip: rounding, plus chroma averaged over 2 (4:2:2) or 4
  // (4:2:0) pixels of the test gradient, whose red changes by 4 per pixel.
  int tolerance;
};

// A frame of the format with random bytes, a plausible linesize (padded), OBS's matrix.
mmobs::FrameBuf random_frame(const Case& c, uint32_t w, uint32_t h, std::mt19937& rng) {
  mmobs::FrameBuf f;
  uint8_t* data[4] = {};
  uint32_t linesize[4] = {};
  std::vector<uint8_t> planes[4];
  const int n = mmobs::plane_count(c.format);
  for (int p = 0; p < n; ++p) {
    uint32_t bytes_per_row = w;
    switch (c.format) {
      case VIDEO_FORMAT_NV12: bytes_per_row = p == 0 ? w : 2 * ((w + 1) / 2); break;
      case VIDEO_FORMAT_I420:
      case VIDEO_FORMAT_I422: bytes_per_row = p == 0 ? w : (w + 1) / 2; break;
      case VIDEO_FORMAT_YUY2:
      case VIDEO_FORMAT_UYVY:
      case VIDEO_FORMAT_YVYU: bytes_per_row = 4 * ((w + 1) / 2); break;  // 2 pixels in 4 bytes
      case VIDEO_FORMAT_RGBA:
      case VIDEO_FORMAT_BGRA:
      case VIDEO_FORMAT_BGRX: bytes_per_row = 4 * w; break;
      case VIDEO_FORMAT_BGR3: bytes_per_row = 3 * w; break;
      default: break;
    }
    linesize[p] = bytes_per_row + 16;
    planes[p].resize(size_t(linesize[p]) * mmobs::plane_rows(c.format, p, h));
    for (auto& b : planes[p]) b = uint8_t(rng());
    data[p] = planes[p].data();
  }
  mmobs::copy_in(f, c.format, w, h, data, linesize);
  float mn[3], mx[3];
  EXPECT_TRUE(video_format_get_parameters(VIDEO_CS_709, c.range, f.color_matrix, mn, mx));
  f.full_range = c.range == VIDEO_RANGE_FULL;
  std::copy(mn, mn + 3, f.range_min);
  std::copy(mx, mx + 3, f.range_max);
  return f;
}

class ConvertTest : public testing::TestWithParam<Case> {};

TEST_P(ConvertTest, EditedPixelsRoundTripAndTheRestKeepTheirBytes) {
  const Case c = GetParam();
  std::mt19937 rng(7);
  const uint32_t w = 37, h = 23;  // odd sizes: partial chroma blocks
  mmobs::FrameBuf f = random_frame(c, w, h, rng);
  const mmobs::FrameBuf before = f;
  std::vector<uint8_t> original;
  mmobs::to_rgba(f, original);
  ASSERT_EQ(original.size(), size_t(w) * h * 4);

  // "Edit" a rectangle to smooth colours (as a face synthesis would), nothing else.
  std::vector<uint8_t> edited = original;
  const uint32_t x0 = 8, y0 = 6, x1 = 28, y1 = 18;
  for (uint32_t y = y0; y < y1; ++y)
    for (uint32_t x = x0; x < x1; ++x) {
      uint8_t* px = &edited[(size_t(y) * w + x) * 4];
      px[0] = uint8_t(60 + 4 * x);
      px[1] = uint8_t(90 + 3 * y);
      px[2] = uint8_t(120);
    }
  const long changed = mmobs::write_back(f, original, edited);
  EXPECT_EQ(changed, long(x1 - x0) * (y1 - y0));

  std::vector<uint8_t> after;
  mmobs::to_rgba(f, after);
  // Edited pixels back within rounding (and chroma averaging for subsampled formats); at the
  // rectangle's border a chroma block mixes edited and unedited pixels, so look inside it.
  int worst = 0;
  for (uint32_t y = y0 + 2; y < y1 - 2; ++y)
    for (uint32_t x = x0 + 2; x < x1 - 2; ++x)
      for (int k = 0; k < 3; ++k) {
        const size_t i = (size_t(y) * w + x) * 4 + k;
        worst = std::max(worst, std::abs(int(after[i]) - int(edited[i])));
      }
  EXPECT_LE(worst, c.tolerance) << mmobs::format_name(c.format);

  // Bytes of pixels far from the rectangle are untouched (compare through a second round trip:
  // unchanged pixels convert to exactly what they were).
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      if (x + 2 >= x0 && x <= x1 + 1 && y + 2 >= y0 && y <= y1 + 1) continue;
      const size_t i = (size_t(y) * w + x) * 4;
      ASSERT_EQ(0, std::memcmp(&after[i], &original[i], 4)) << "pixel " << x << "," << y << " changed";
    }
  // And no plane bytes outside the rectangle's rows changed at all.
  for (int p = 0; p < 4; ++p) {
    const uint32_t rows = mmobs::plane_rows(c.format, p, h);
    const uint32_t sub = rows < h ? 2 : 1;
    for (uint32_t y = 0; y < rows; ++y) {
      if (y * sub + sub > y0 && y * sub < y1) continue;
      ASSERT_EQ(0, std::memcmp(f.plane[p].data() + size_t(y) * f.linesize[p],
                               before.plane[p].data() + size_t(y) * before.linesize[p], f.linesize[p]))
          << "plane " << p << " row " << y;
    }
  }
}

// The same frame stored bottom-up (obs_source_frame::flip): every plane's rows reversed (an
// even height, so a 4:2:0 chroma row still covers the same two picture rows).
mmobs::FrameBuf flipped(const mmobs::FrameBuf& f) {
  mmobs::FrameBuf g = f;
  g.flip = !f.flip;
  for (int p = 0; p < 4; ++p) {
    const uint32_t rows = mmobs::plane_rows(f.format, p, f.height);
    for (uint32_t y = 0; y < rows; ++y)
      std::memcpy(g.plane[p].data() + size_t(y) * g.linesize[p],
                  f.plane[p].data() + size_t(rows - 1 - y) * f.linesize[p], f.linesize[p]);
  }
  return g;
}

TEST_P(ConvertTest, FlippedFramesAreEditedUpright) {
  const Case c = GetParam();
  std::mt19937 rng(11);
  const uint32_t w = 36, h = 24;
  const mmobs::FrameBuf upright = random_frame(c, w, h, rng);
  mmobs::FrameBuf stored = flipped(upright);
  ASSERT_TRUE(stored.flip);
  std::vector<uint8_t> a, b;
  mmobs::to_rgba(upright, a);
  mmobs::to_rgba(stored, b);
  ASSERT_EQ(a.size(), b.size());
  // The engine sees the picture as shown: row 0 is the top row in both cases.
  EXPECT_TRUE(a == b) << "a flipped frame was not turned upright for the engine";

  // An edit in the top part of the picture goes to the bottom rows of the flipped storage.
  std::vector<uint8_t> edited = a;
  for (uint32_t y = 2; y < 10; ++y)
    for (uint32_t x = 4; x < 20; ++x) edited[(size_t(y) * w + x) * 4] ^= 0x40;
  mmobs::FrameBuf up_out = upright;
  EXPECT_EQ(mmobs::write_back(up_out, a, edited), mmobs::write_back(stored, b, edited));
  const mmobs::FrameBuf back = flipped(stored);
  for (int p = 0; p < 4; ++p)
    EXPECT_TRUE(back.plane[p] == up_out.plane[p]) << "plane " << p << ": the edit was written upside down";
  std::vector<uint8_t> shown;
  mmobs::to_rgba(stored, shown);
  std::vector<uint8_t> expected;
  mmobs::to_rgba(up_out, expected);
  EXPECT_TRUE(shown == expected);
}

TEST(Convert, PasteOnlyOverTheSamePictureKind) {
  Case c{VIDEO_FORMAT_NV12, VIDEO_RANGE_PARTIAL, 0};
  std::mt19937 rng(5);
  const mmobs::FrameBuf result = random_frame(c, 16, 8, rng);
  mmobs::FrameBuf live;  // header only, as filter_video describes its frame
  live.format = result.format;
  live.width = result.width;
  live.height = result.height;
  std::copy(result.color_matrix, result.color_matrix + 16, live.color_matrix);
  std::copy(result.range_min, result.range_min + 3, live.range_min);
  std::copy(result.range_max, result.range_max + 3, live.range_max);
  live.full_range = result.full_range;
  EXPECT_TRUE(mmobs::should_paste(live, &result, 3, true, 3)) << "hold last: the same result again";
  EXPECT_TRUE(mmobs::should_paste(live, &result, 3, false, 2)) << "a new result";
  EXPECT_FALSE(mmobs::should_paste(live, &result, 3, false, 3)) << "not holding: shown once";
  EXPECT_FALSE(mmobs::should_paste(live, nullptr, 3, true, 3)) << "no result (none yet, or the last frame failed)";

  auto differs = [&](const char* what, const std::function<void(mmobs::FrameBuf&)>& change) {
    mmobs::FrameBuf l = live;
    change(l);
    EXPECT_FALSE(mmobs::should_paste(l, &result, 3, true, 0)) << what;
  };
  differs("full range", [](mmobs::FrameBuf& l) { l.full_range = true; });
  differs("range", [](mmobs::FrameBuf& l) {
    float mn[3], mx[3];
    ASSERT_TRUE(video_format_get_parameters(VIDEO_CS_709, VIDEO_RANGE_FULL, l.color_matrix, mn, mx));
    std::copy(mn, mn + 3, l.range_min);
    std::copy(mx, mx + 3, l.range_max);
  });
  differs("matrix (BT.601)", [](mmobs::FrameBuf& l) {
    float mn[3], mx[3];
    ASSERT_TRUE(video_format_get_parameters(VIDEO_CS_601, VIDEO_RANGE_PARTIAL, l.color_matrix, mn, mx));
  });
  differs("range minimum", [](mmobs::FrameBuf& l) { l.range_min[0] += 0.01f; });
  differs("format", [](mmobs::FrameBuf& l) { l.format = VIDEO_FORMAT_I420; });
  differs("width", [](mmobs::FrameBuf& l) { l.width += 2; });
  differs("height", [](mmobs::FrameBuf& l) { l.height -= 2; });
  differs("row order", [](mmobs::FrameBuf& l) { l.flip = true; });
}

TEST(Convert, YuvMatchesObsMatrix) {
  // Mid grey and limited-range black/white, BT.709: OBS's matrix gives these RGB values.
  Case c{VIDEO_FORMAT_I444, VIDEO_RANGE_PARTIAL, 0};
  std::mt19937 rng(1);
  mmobs::FrameBuf f = random_frame(c, 3, 1, rng);
  const uint8_t y[3] = {16, 235, 126}, u = 128, v = 128;
  for (int x = 0; x < 3; ++x) {
    f.plane[0][x] = y[x];
    f.plane[1][x] = u;
    f.plane[2][x] = v;
  }
  std::vector<uint8_t> rgba;
  mmobs::to_rgba(f, rgba);
  const int expect[3] = {0, 255, 128};
  for (int x = 0; x < 3; ++x)
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(rgba[4 * x + k], expect[x], 1) << x << "," << k;
}

TEST(Convert, UnsupportedFormatsAreRecognised) {
  EXPECT_FALSE(mmobs::format_supported(VIDEO_FORMAT_P010));
  EXPECT_FALSE(mmobs::format_supported(VIDEO_FORMAT_I40A));
  EXPECT_TRUE(mmobs::format_supported(VIDEO_FORMAT_NV12));
}

INSTANTIATE_TEST_SUITE_P(Formats, ConvertTest,
                         testing::Values(Case{VIDEO_FORMAT_NV12, VIDEO_RANGE_PARTIAL, 5},
                                         Case{VIDEO_FORMAT_I420, VIDEO_RANGE_FULL, 5},
                                         Case{VIDEO_FORMAT_I422, VIDEO_RANGE_PARTIAL, 3},
                                         Case{VIDEO_FORMAT_I444, VIDEO_RANGE_FULL, 2},
                                         Case{VIDEO_FORMAT_YUY2, VIDEO_RANGE_PARTIAL, 3},
                                         Case{VIDEO_FORMAT_UYVY, VIDEO_RANGE_PARTIAL, 3},
                                         Case{VIDEO_FORMAT_YVYU, VIDEO_RANGE_FULL, 3},
                                         Case{VIDEO_FORMAT_RGBA, VIDEO_RANGE_FULL, 0},
                                         Case{VIDEO_FORMAT_BGRA, VIDEO_RANGE_FULL, 0},
                                         Case{VIDEO_FORMAT_BGRX, VIDEO_RANGE_FULL, 0},
                                         Case{VIDEO_FORMAT_BGR3, VIDEO_RANGE_FULL, 0}),
                         [](const testing::TestParamInfo<Case>& i) {
                           return std::string(mmobs::format_name(i.param.format));
                         });

}  // namespace

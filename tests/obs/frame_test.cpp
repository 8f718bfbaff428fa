// The plugin's frames (obs-plugin/src/frame.*), every supported format: copies keep every byte
// (a bottom-up frame is held upright and written back bottom-up), the engine is told the right
// format, planes, colour matrix and range, and edits are pasted only over frames of their kind.
// The plugin converts no pixels: the engine's native conversion has its own tests
// (tests/engine/native_frame_test.cpp).
#include "frame.hpp"

#include <media-io/video-io.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>

namespace {

// Every OBS format the plugin edits, with FFmpeg's name for the same layout (written out here
// from media-io's video-io.h, independently of frame.cpp's table) and its planes.
struct Case {
  video_format format;
  const char* ffmpeg_name;
  int planes;
};
const Case kCases[] = {
    {VIDEO_FORMAT_I420, "yuv420p", 3}, {VIDEO_FORMAT_NV12, "nv12", 2},       {VIDEO_FORMAT_I422, "yuv422p", 3},
    {VIDEO_FORMAT_I444, "yuv444p", 3}, {VIDEO_FORMAT_YUY2, "yuyv422", 1},    {VIDEO_FORMAT_UYVY, "uyvy422", 1},
    {VIDEO_FORMAT_YVYU, "yvyu422", 1}, {VIDEO_FORMAT_I40A, "yuva420p", 4},   {VIDEO_FORMAT_I010, "yuv420p10", 3},
    {VIDEO_FORMAT_P010, "p010", 2},  {VIDEO_FORMAT_I210, "yuv422p10", 3}, {VIDEO_FORMAT_RGBA, "rgba", 1},
    {VIDEO_FORMAT_BGRA, "bgra", 1},    {VIDEO_FORMAT_BGRX, "bgr0", 1},       {VIDEO_FORMAT_BGR3, "bgr24", 1},
    {VIDEO_FORMAT_Y800, "gray", 1},
};

// A frame of the format with random bytes and padded linesizes (each at least the engine's row),
// BT.709 matrix in the given range.
mmobs::FrameBuf random_frame(const Case& c, uint32_t w, uint32_t h, std::mt19937& rng, bool flip = false,
                             std::vector<uint8_t>* source = nullptr) {
  static std::vector<uint8_t> planes[4];
  uint8_t* data[4] = {};
  uint32_t linesize[4] = {};
  mmobs::FrameBuf probe;
  probe.format = c.format;
  mmobs::FrameBuf f;
  for (int p = 0; p < mmobs::plane_count(c.format); ++p) {
    linesize[p] = uint32_t(w * 8 + 16);  // more than any format's row
    planes[p].resize(size_t(linesize[p]) * mmobs::plane_rows(c.format, p, h));
    for (auto& b : planes[p]) b = uint8_t(rng());
    data[p] = planes[p].data();
    if (source) source[p] = planes[p];
  }
  mmobs::copy_in(f, c.format, w, h, data, linesize, flip);
  float mn[3], mx[3];
  EXPECT_TRUE(video_format_get_parameters_for_format(VIDEO_CS_709, VIDEO_RANGE_PARTIAL, c.format, f.color_matrix, mn, mx));
  f.full_range = false;
  std::copy(mn, mn + 3, f.range_min);
  std::copy(mx, mx + 3, f.range_max);
  return f;
}

class FrameFormats : public testing::TestWithParam<Case> {};

TEST_P(FrameFormats, CopiesKeepEveryByteAndHoldBottomUpFramesUpright) {
  const Case c = GetParam();
  ASSERT_TRUE(mmobs::format_supported(c.format));
  ASSERT_EQ(mmobs::plane_count(c.format), c.planes);
  const uint32_t w = 37, h = 23;  // odd sizes: partial chroma blocks
  for (const bool flip : {false, true}) {
    std::mt19937 rng(7);
    std::vector<uint8_t> source[4];
    const mmobs::FrameBuf f = random_frame(c, w, h, rng, flip, source);
    for (int p = 0; p < c.planes; ++p) {
      const uint32_t rows = mmobs::plane_rows(c.format, p, h);
      ASSERT_GT(rows, 0u);
      // Row 0 of the copy is the top row as shown: the source's last row when bottom-up.
      EXPECT_EQ(0, std::memcmp(f.plane[p].data(), source[p].data() + size_t(flip ? rows - 1 : 0) * f.linesize[p],
                               f.linesize[p]))
          << "plane " << p << (flip ? " (bottom-up)" : "");
      std::vector<uint8_t> back(source[p].size(), 0);
      uint8_t* data[4] = {};
      uint32_t linesize[4] = {};
      std::vector<uint8_t> other[4];
      for (int q = 0; q < c.planes; ++q) {
        other[q].assign(source[q].size(), 0);
        data[q] = other[q].data();
        linesize[q] = f.linesize[q];
      }
      mmobs::copy_out(f, data, linesize);
      EXPECT_TRUE(other[p] == source[p]) << "plane " << p << " does not come back as it was"
                                         << (flip ? " (bottom-up)" : "");
    }
  }
}

TEST_P(FrameFormats, EngineIsToldTheFormatPlanesMatrixAndRange) {
  const Case c = GetParam();
  std::mt19937 rng(3);
  mmobs::FrameBuf f = random_frame(c, 20, 10, rng);
  const mm_frame m = mmobs::engine_frame(f, mmobs::colour_of(f));
  ASSERT_NE(mm_pixel_format_name(m.format), nullptr);
  EXPECT_STREQ(mm_pixel_format_name(m.format), c.ffmpeg_name);
  EXPECT_EQ(m.width, 20);
  EXPECT_EQ(m.height, 10);
  for (int p = 0; p < 4; ++p) {
    if (p < c.planes) {
      EXPECT_EQ(m.data[p], f.plane[p].data()) << "plane " << p;
      EXPECT_EQ(m.stride[p], ptrdiff_t(f.linesize[p])) << "plane " << p;
      EXPECT_GE(size_t(m.stride[p]), mm_plane_row_bytes(m.format, 20, p));
    } else {
      EXPECT_EQ(m.data[p], nullptr) << "plane " << p;
    }
  }
  if (std::string(c.ffmpeg_name).find("rgb") != std::string::npos || c.format == VIDEO_FORMAT_Y800) return;
  // The colour matrix OBS builds for each standard and range is recognised exactly.
  const struct {
    video_colorspace cs;
    mm_color_matrix want;
  } spaces[] = {{VIDEO_CS_601, MM_MATRIX_BT601}, {VIDEO_CS_709, MM_MATRIX_BT709}, {VIDEO_CS_SRGB, MM_MATRIX_BT709},
                {VIDEO_CS_2100_PQ, MM_MATRIX_BT2020}, {VIDEO_CS_2100_HLG, MM_MATRIX_BT2020}};
  for (const auto& s : spaces)
    for (const video_range_type range : {VIDEO_RANGE_PARTIAL, VIDEO_RANGE_FULL}) {
      float mn[3], mx[3];
      ASSERT_TRUE(video_format_get_parameters_for_format(s.cs, range, c.format, f.color_matrix, mn, mx));
      f.full_range = range == VIDEO_RANGE_FULL;
      const mmobs::Colour col = mmobs::colour_of(f);
      EXPECT_EQ(col.matrix, s.want) << "colour space " << int(s.cs) << " range " << int(range);
      EXPECT_EQ(col.range, f.full_range ? MM_RANGE_FULL : MM_RANGE_LIMITED);
      EXPECT_TRUE(col.exact);
      // A matrix of the source's own, a little off BT.601: the closest standard, not exact.
      if (s.cs == VIDEO_CS_601) {
        f.color_matrix[1] += 0.01f;
        const mmobs::Colour own = mmobs::colour_of(f);
        EXPECT_EQ(own.matrix, MM_MATRIX_BT601);
        EXPECT_FALSE(own.exact);
      }
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, FrameFormats, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& i) {
                           return std::string(mmobs::format_name(i.param.format));
                         });

TEST(Frame, PasteOnlyOverTheSamePictureKind) {
  const Case c{VIDEO_FORMAT_NV12, "nv12", 2};
  std::mt19937 rng(5);
  const mmobs::FrameBuf result = random_frame(c, 16, 8, rng);
  ASSERT_FALSE(result.full_range);
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

TEST(Frame, UnsupportedFormatsPassThrough) {
  for (const video_format f : {VIDEO_FORMAT_NONE, VIDEO_FORMAT_I42A, VIDEO_FORMAT_YUVA, VIDEO_FORMAT_AYUV,
                               VIDEO_FORMAT_I412, VIDEO_FORMAT_YA2L}) {
    EXPECT_FALSE(mmobs::format_supported(f)) << int(f);
    EXPECT_EQ(mmobs::plane_count(f), 0) << int(f);
  }
}

}  // namespace

// The plugin's worker (obs-plugin/src/worker.*) with the real engine on the test models, without a
// libobs session:
//   EveryFormatIsTheEnginesNativeEdit: frames of every format the plugin edits, in BT.709 limited
//     or full range, go through the worker one after another; each result is, byte for byte, what
//     the engine makes of that frame when told its format, matrix and range directly (a second
//     context fed the same frames in the same order), alpha and every byte outside the engine's
//     reported face boxes are as they came, and the face changed. A wrong format, matrix or range,
//     a row flipped or a conversion of the plugin's own would differ.
//   FailedFrameDropsTheHeldResult: after a frame fails in the engine, latest() has no frame, so
//     filter_video shows the live frame and not the older edit.
#include "engine/engine_test_support.h"
#include "frame.hpp"
#include "worker.hpp"

#include <micromotion/image.h>
#include <micromotion/micromotion.h>

#include <media-io/video-io.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;

// Where the components of a pixel are stored, written out from OBS's format definitions
// (media-io's video-io.h), independently of frame.cpp: per component (Y U V A, or R G B A) the
// plane, the bytes between samples and the first sample's byte offset; chroma subsampling; bits.
struct Layout {
  video_format format;
  const char* ffmpeg_name;
  bool rgb;
  int planes;
  int plane[4], step[4], offset[4];  // plane -1: no such component
  int sx, sy, depth, shift;          // shift: P010 keeps its 10 bits in the high bits
};
const Layout kLayouts[] = {
    {VIDEO_FORMAT_I420, "yuv420p", false, 3, {0, 1, 2, -1}, {1, 1, 1, 0}, {0, 0, 0, 0}, 1, 1, 8, 0},
    {VIDEO_FORMAT_NV12, "nv12", false, 2, {0, 1, 1, -1}, {1, 2, 2, 0}, {0, 0, 1, 0}, 1, 1, 8, 0},
    {VIDEO_FORMAT_I422, "yuv422p", false, 3, {0, 1, 2, -1}, {1, 1, 1, 0}, {0, 0, 0, 0}, 1, 0, 8, 0},
    {VIDEO_FORMAT_I444, "yuv444p", false, 3, {0, 1, 2, -1}, {1, 1, 1, 0}, {0, 0, 0, 0}, 0, 0, 8, 0},
    {VIDEO_FORMAT_YUY2, "yuyv422", false, 1, {0, 0, 0, -1}, {2, 4, 4, 0}, {0, 1, 3, 0}, 1, 0, 8, 0},  // Y0 U Y1 V
    {VIDEO_FORMAT_UYVY, "uyvy422", false, 1, {0, 0, 0, -1}, {2, 4, 4, 0}, {1, 0, 2, 0}, 1, 0, 8, 0},  // U Y0 V Y1
    {VIDEO_FORMAT_YVYU, "yvyu422", false, 1, {0, 0, 0, -1}, {2, 4, 4, 0}, {0, 3, 1, 0}, 1, 0, 8, 0},  // Y0 V Y1 U
    {VIDEO_FORMAT_I40A, "yuva420p", false, 4, {0, 1, 2, 3}, {1, 1, 1, 1}, {0, 0, 0, 0}, 1, 1, 8, 0},
    {VIDEO_FORMAT_I010, "yuv420p10", false, 3, {0, 1, 2, -1}, {2, 2, 2, 0}, {0, 0, 0, 0}, 1, 1, 10, 0},
    {VIDEO_FORMAT_P010, "p010", false, 2, {0, 1, 1, -1}, {2, 4, 4, 0}, {0, 0, 2, 0}, 1, 1, 10, 6},
    {VIDEO_FORMAT_I210, "yuv422p10", false, 3, {0, 1, 2, -1}, {2, 2, 2, 0}, {0, 0, 0, 0}, 1, 0, 10, 0},
    {VIDEO_FORMAT_RGBA, "rgba", true, 1, {0, 0, 0, 0}, {4, 4, 4, 4}, {0, 1, 2, 3}, 0, 0, 8, 0},
    {VIDEO_FORMAT_BGRA, "bgra", true, 1, {0, 0, 0, 0}, {4, 4, 4, 4}, {2, 1, 0, 3}, 0, 0, 8, 0},
    {VIDEO_FORMAT_BGRX, "bgr0", true, 1, {0, 0, 0, -1}, {4, 4, 4, 0}, {2, 1, 0, 0}, 0, 0, 8, 0},
    {VIDEO_FORMAT_BGR3, "bgr24", true, 1, {0, 0, 0, -1}, {3, 3, 3, 0}, {2, 1, 0, 0}, 0, 0, 8, 0},
    {VIDEO_FORMAT_Y800, "gray", false, 1, {0, -1, -1, -1}, {1, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 8, 0},
};

// BT.709 R'G'B' (0..255) -> Y'CbCr at 8 bits (unrounded): limited range 16..235 / 16..240, full
// range 0..255 with chroma centred on 128.
void bt709(const uint8_t* rgb, bool full, double yuv[3]) {
  const double kr = 0.2126, kb = 0.0722, kg = 1 - kr - kb;
  const double r = rgb[0], g = rgb[1], b = rgb[2];
  const double y = kr * r + kg * g + kb * b;
  const double cb = (b - y) / (2 * (1 - kb)), cr = (r - y) / (2 * (1 - kr));
  if (full) {
    yuv[0] = y, yuv[1] = 128 + cb, yuv[2] = 128 + cr;
  } else {
    yuv[0] = 16 + y * 219 / 255, yuv[1] = 128 + cb * 224 / 255, yuv[2] = 128 + cr * 224 / 255;
  }
}

void store(uint8_t* at, const Layout& l, double v8) {
  const double top = (1 << l.depth) - 1;
  const int v = int(std::lround(std::clamp(v8 * double(1 << (l.depth - 8)), 0.0, top)));
  if (l.depth <= 8) {
    *at = uint8_t(v);
  } else {
    const int s = v << l.shift;
    at[0] = uint8_t(s & 0xff);
    at[1] = uint8_t(s >> 8);
  }
}

// An RGB picture as a frame of the layout (chroma: the mean of the block; alpha: a pattern;
// padding bytes 0x5a), with OBS's BT.709 matrix for the format and range.
mmobs::FrameBuf make_frame(const micromotion::ImageRGB8& img, const Layout& l, video_range_type range) {
  const int w = img.width(), h = img.height();
  const bool full = range == VIDEO_RANGE_FULL;
  std::vector<uint8_t> planes[4];
  uint32_t linesize[4] = {};
  uint8_t* data[4] = {};
  for (int p = 0; p < l.planes; ++p) {
    linesize[p] = uint32_t(8 * w + 8);
    planes[p].assign(size_t(linesize[p]) * mmobs::plane_rows(l.format, p, uint32_t(h)), 0x5a);
    data[p] = planes[p].data();
  }
  const auto px = [&](int x, int y) { return img.data() + (size_t(y) * w + x) * 3; };
  const auto at = [&](int k, int x, int y) {
    return planes[l.plane[k]].data() + size_t(y) * linesize[l.plane[k]] + l.offset[k] + size_t(l.step[k]) * x;
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double yuv[3];
      bt709(px(x, y), full, yuv);
      for (int k = 0; k < (l.rgb ? 3 : 1); ++k) store(at(k, x, y), l, l.rgb ? px(x, y)[k] : yuv[0]);
      if (l.plane[3] >= 0) store(at(3, x, y), l, 150 + (x + 2 * y) % 100);
    }
  const int cw = (w + (1 << l.sx) - 1) >> l.sx, ch = (h + (1 << l.sy) - 1) >> l.sy;
  for (int cy = 0; !l.rgb && l.plane[1] >= 0 && cy < ch; ++cy)
    for (int cx = 0; cx < cw; ++cx) {
      double su = 0, sv = 0;
      int n = 0;
      for (int y = cy << l.sy; y < std::min(h, (cy + 1) << l.sy); ++y)
        for (int x = cx << l.sx; x < std::min(w, (cx + 1) << l.sx); ++x, ++n) {
          double yuv[3];
          bt709(px(x, y), full, yuv);
          su += yuv[1];
          sv += yuv[2];
        }
      store(at(1, cx, cy), l, su / n);
      store(at(2, cx, cy), l, sv / n);
    }
  mmobs::FrameBuf f;
  mmobs::copy_in(f, l.format, uint32_t(w), uint32_t(h), data, linesize);
  float mn[3], mx[3];
  EXPECT_TRUE(video_format_get_parameters_for_format(VIDEO_CS_709, range, l.format, f.color_matrix, mn, mx));
  std::copy(mn, mn + 3, f.range_min);
  std::copy(mx, mx + 3, f.range_max);
  f.full_range = full;
  f.timestamp = 1'000'000'000;
  return f;
}

mmobs::Config config() {
  mmobs::Config c;
  c.models_dir = enginetest::test_models().string();
  c.anchor = "smile";
  c.strength = 5.0;
  return c;
}

bool wait_until(const std::function<bool()>& cond, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

// The engine's name for a format, found by FFmpeg's name (mm_pixel_format_name).
mm_pixel_format engine_format(const char* ffmpeg_name) {
  for (int i = 0; mm_pixel_format_name(mm_pixel_format(i)); ++i)
    if (std::string(mm_pixel_format_name(mm_pixel_format(i))) == ffmpeg_name) return mm_pixel_format(i);
  ADD_FAILURE() << "the engine has no format " << ffmpeg_name;
  return MM_PIXEL_RGB24;
}

TEST(ObsWorker, EveryFormatIsTheEnginesNativeEdit) {
  const fs::path face = facetest::data("faces/2008_001009.jpg");
  ASSERT_FALSE(face.empty());
  const micromotion::ImageRGB8 img = micromotion::load_image(face.string());
  const int w = img.width(), h = img.height();

  // The reference: the worker's engine parameters, frames described by this test.
  mm_params p = mm_default_params();
  const std::string models = enginetest::test_models().string();
  p.anchor = "smile";
  p.strength = 5.0;
  p.models_dir = models.c_str();
  p.detect_every = 1;
  p.smooth = 0;
  char error[1024] = "";
  mm_context* ref = mm_create(&p, error, sizeof error);
  ASSERT_NE(ref, nullptr) << error;

  auto worker = mmobs::Worker::start("worker_test", config());
  ASSERT_TRUE(wait_until([&] { return worker->wants_frame(); }, 60));
  uint64_t n = 0;
  for (const Layout& l : kLayouts) {
    const video_range_type range = (n % 2 && !l.rgb) ? VIDEO_RANGE_FULL : VIDEO_RANGE_PARTIAL;
    const std::string name = std::string(l.ffmpeg_name) + (range == VIDEO_RANGE_FULL ? " full range" : "");
    SCOPED_TRACE(name);
    const mmobs::FrameBuf in = make_frame(img, l, range);
    auto buf = std::make_unique<mmobs::FrameBuf>(in);
    buf->submitted_ns = mmobs::Worker::clock_ns();
    worker->submit(std::move(buf));
    ++n;
    ASSERT_TRUE(wait_until([&] { const auto s = worker->stats(); return s.processed + s.failed >= n && worker->wants_frame(); }, 600));
    ASSERT_EQ(worker->stats().processed, n) << worker->stats().error;
    const auto out = worker->latest().frame;
    ASSERT_NE(out, nullptr);

    mmobs::FrameBuf want = in;
    mm_frame f{};
    f.format = engine_format(l.ffmpeg_name);
    for (int k = 0; k < l.planes; ++k) {
      f.data[k] = want.plane[k].data();
      f.stride[k] = ptrdiff_t(want.linesize[k]);
    }
    f.width = w;
    f.height = h;
    f.matrix = MM_MATRIX_BT709;
    f.range = range == VIDEO_RANGE_FULL ? MM_RANGE_FULL : MM_RANGE_LIMITED;
    f.index = int64_t(n);
    f.time = double(in.timestamp) / 1e9;
    mm_report report{};
    ASSERT_EQ(mm_process(ref, &f, &f, &report), 0) << mm_error(ref);
    ASSERT_GE(report.faces_edited, 1);
    EXPECT_EQ(worker->stats().last_faces_edited, report.faces_edited);

    long changed = 0, outside = 0, alpha = 0, differ = 0;
    for (int k = 0; k < l.planes; ++k) {
      const uint32_t rows = mmobs::plane_rows(l.format, k, uint32_t(h));
      ASSERT_EQ(out->plane[k].size(), in.plane[k].size());
      for (size_t i = 0; i < in.plane[k].size(); ++i) differ += out->plane[k][i] != want.plane[k][i];
      // Every changed byte lies in a reported box (grown to whole chroma blocks) and is not alpha.
      for (uint32_t y = 0; y < rows; ++y)
        for (uint32_t b = 0; b < in.linesize[k]; ++b) {
          const size_t i = size_t(y) * in.linesize[k] + b;
          if (out->plane[k][i] == in.plane[k][i]) continue;
          ++changed;
          int comp = -1;
          for (int c = 0; c < 4; ++c)
            if (l.plane[c] == k && int(b % uint32_t(l.step[c])) >= l.offset[c] % l.step[c] &&
                int(b % uint32_t(l.step[c])) < l.offset[c] % l.step[c] + (l.depth > 8 ? 2 : 1))
              comp = c;
          alpha += comp == 3;
          const bool chroma = !l.rgb && (comp == 1 || comp == 2);
          const int sx = chroma ? l.sx : 0, sy = chroma ? l.sy : 0;
          const int x0 = int(b / uint32_t(l.step[std::max(comp, 0)])) << sx, y0 = int(y) << sy;
          bool in_box = false;
          for (int r = 0; r < report.faces_reported; ++r) {
            const mm_face_report& fr = report.faces[r];
            in_box |= x0 + (1 << sx) > fr.x && x0 < fr.x + fr.width && y0 + (1 << sy) > fr.y && y0 < fr.y + fr.height;
          }
          outside += !in_box;
        }
    }
    EXPECT_EQ(differ, 0) << "bytes differ from the engine's own edit of the frame";
    EXPECT_GT(changed, 1000) << "the face was not edited";
    EXPECT_EQ(outside, 0) << "bytes changed outside the reported face boxes";
    EXPECT_EQ(alpha, 0) << "alpha changed";
  }
  worker->retire();
  mmobs::Worker::join_all_retired();
  mm_destroy(ref);
}

TEST(ObsWorkerFailure, FailedFrameDropsTheHeldResult) {
  const fs::path face = facetest::data("faces/2008_001009.jpg");
  ASSERT_FALSE(face.empty());
  const micromotion::ImageRGB8 img = micromotion::load_image(face.string());
  const mmobs::FrameBuf good = make_frame(img, kLayouts[0], VIDEO_RANGE_PARTIAL);
  auto worker = mmobs::Worker::start("worker_test", config());
  ASSERT_TRUE(wait_until([&] { return worker->wants_frame(); }, 60));
  worker->submit(std::make_unique<mmobs::FrameBuf>(good));
  ASSERT_TRUE(wait_until([&] { return worker->stats().processed == 1 && worker->wants_frame(); }, 600))
      << worker->stats().error;
  const mmobs::Result held = worker->latest();
  ASSERT_NE(held.frame, nullptr);
  ASSERT_EQ(held.seq, 1u);

  // A frame the engine refuses (no pixels: mm_process names the size), as any engine error.
  auto bad = std::make_unique<mmobs::FrameBuf>(good);
  bad->width = bad->height = 0;
  worker->submit(std::move(bad));
  ASSERT_TRUE(wait_until([&] { return worker->stats().failed == 1 && worker->wants_frame(); }, 60));
  const mmobs::Stats st = worker->stats();
  EXPECT_NE(st.error.find("size 0x0"), std::string::npos) << st.error;
  const mmobs::Result after = worker->latest();
  EXPECT_EQ(after.frame, nullptr) << "the edit of an older frame is still held after a failed frame";
  // filter_video's decision on the live frame: nothing to paste, under "hold last result" too.
  EXPECT_FALSE(mmobs::should_paste(good, after.frame.get(), after.seq, true, held.seq));

  // The next good frame is edited and held again.
  worker->submit(std::make_unique<mmobs::FrameBuf>(good));
  ASSERT_TRUE(wait_until([&] { return worker->stats().processed == 2; }, 600)) << worker->stats().error;
  EXPECT_NE(worker->latest().frame, nullptr);
  worker->retire();
  mmobs::Worker::join_all_retired();
}

}  // namespace

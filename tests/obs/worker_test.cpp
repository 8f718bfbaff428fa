// The plugin's worker (obs-plugin/src/worker.*) with the real engine on the test models, without a
// libobs session:
//   EditIsTheEnginesRgbInTheFramesOwnMatrix: per supported format, the frame the worker returns
//     holds, where the engine changed pixels, the engine's RGB edit converted with the frame's
//     own BT.709 matrix and range by this file's own reference conversion (not convert.cpp's),
//     and every other byte as it came. A swapped chroma plane or a wrong matrix fails.
//   FailedFrameDropsTheHeldResult: after a frame fails in the engine, latest() has no frame, so
//     filter_video shows the live frame and not the older edit.
#include "convert.hpp"
#include "engine/engine_test_support.h"
#include "worker.hpp"

#include <micromotion/image.h>
#include <micromotion/micromotion.h>

#include <media-io/video-io.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <cmath>
#include <cstring>
#include <thread>

namespace {

namespace fs = std::filesystem;

// Where Y, U, V of a pixel are stored, written out from OBS's format definitions (media-io's
// video-io.h), independently of convert.cpp's table.
struct Packing {
  int plane[3], step[3], offset[3];
  int sx, sy;
};

bool packing(video_format f, Packing& p) {
  switch (f) {
    case VIDEO_FORMAT_I420: p = {{0, 1, 2}, {1, 1, 1}, {0, 0, 0}, 1, 1}; return true;   // Y, U, V planes
    case VIDEO_FORMAT_NV12: p = {{0, 1, 1}, {1, 2, 2}, {0, 0, 1}, 1, 1}; return true;   // Y; UV interleaved
    case VIDEO_FORMAT_I422: p = {{0, 1, 2}, {1, 1, 1}, {0, 0, 0}, 1, 0}; return true;
    case VIDEO_FORMAT_I444: p = {{0, 1, 2}, {1, 1, 1}, {0, 0, 0}, 0, 0}; return true;
    case VIDEO_FORMAT_YUY2: p = {{0, 0, 0}, {2, 4, 4}, {0, 1, 3}, 1, 0}; return true;   // Y0 U Y1 V
    case VIDEO_FORMAT_UYVY: p = {{0, 0, 0}, {2, 4, 4}, {1, 0, 2}, 1, 0}; return true;   // U Y0 V Y1
    case VIDEO_FORMAT_YVYU: p = {{0, 0, 0}, {2, 4, 4}, {0, 3, 1}, 1, 0}; return true;   // Y0 V Y1 U
    default: return false;
  }
}

// Packed RGB formats: byte offsets of R, G, B, A (-1: none) and bytes per pixel.
bool rgb_bytes(video_format f, int o[5]) {
  const int rgba[5] = {0, 1, 2, 3, 4}, bgra[5] = {2, 1, 0, 3, 4}, bgrx[5] = {2, 1, 0, -1, 4}, bgr3[5] = {2, 1, 0, -1, 3};
  const int* s = f == VIDEO_FORMAT_RGBA ? rgba : f == VIDEO_FORMAT_BGRA ? bgra : f == VIDEO_FORMAT_BGRX ? bgrx
               : f == VIDEO_FORMAT_BGR3 ? bgr3 : nullptr;
  if (!s) return false;
  std::copy(s, s + 5, o);
  return true;
}

// BT.709 R'G'B' (0..255) -> Y'CbCr (0..255, unrounded): limited range 16..235 / 16..240, full
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

uint8_t byte(double v) { return uint8_t(std::lround(std::clamp(v, 0.0, 255.0))); }

// An RGB picture as a frame of `format` (chroma: the mean of the block), with OBS's matrix.
mmobs::FrameBuf make_frame(const micromotion::ImageRGB8& img, video_format format, video_range_type range) {
  const int w = img.width(), h = img.height();
  const bool full = range == VIDEO_RANGE_FULL;
  std::vector<uint8_t> planes[3];
  uint32_t linesize[4] = {};
  uint8_t* data[4] = {};
  Packing p;
  int o[5];
  const auto px = [&](int x, int y) { return img.data() + (size_t(y) * w + x) * 3; };
  if (rgb_bytes(format, o)) {
    linesize[0] = uint32_t(o[4] * w + 8);
    planes[0].assign(size_t(linesize[0]) * h, 0x5a);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        uint8_t* d = planes[0].data() + size_t(y) * linesize[0] + o[4] * x;
        for (int k = 0; k < 3; ++k) d[o[k]] = px(x, y)[k];
        if (o[3] >= 0) d[o[3]] = uint8_t(200 + (x + y) % 50);
      }
  } else {
    EXPECT_TRUE(packing(format, p));
    const int cw = (w + (1 << p.sx) - 1) >> p.sx, ch = (h + (1 << p.sy) - 1) >> p.sy;
    const int nplanes = mmobs::plane_count(format);
    for (int k = 0; k < nplanes; ++k) {
      const bool packed = format == VIDEO_FORMAT_YUY2 || format == VIDEO_FORMAT_UYVY || format == VIDEO_FORMAT_YVYU;
      const int bytes = packed ? 4 * cw : k == 0 ? w : (format == VIDEO_FORMAT_NV12 ? 2 * cw : cw);
      linesize[k] = uint32_t(bytes + 8);
      planes[k].assign(size_t(linesize[k]) * mmobs::plane_rows(format, k, uint32_t(h)), 0x5a);
    }
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        double yuv[3];
        bt709(px(x, y), full, yuv);
        planes[p.plane[0]][size_t(y) * linesize[p.plane[0]] + p.offset[0] + p.step[0] * x] = byte(yuv[0]);
      }
    for (int cy = 0; cy < ch; ++cy)
      for (int cx = 0; cx < cw; ++cx) {
        double su = 0, sv = 0;
        int n = 0;
        for (int y = cy << p.sy; y < std::min(h, (cy + 1) << p.sy); ++y)
          for (int x = cx << p.sx; x < std::min(w, (cx + 1) << p.sx); ++x, ++n) {
            double yuv[3];
            bt709(px(x, y), full, yuv);
            su += yuv[1];
            sv += yuv[2];
          }
        planes[p.plane[1]][size_t(cy) * linesize[p.plane[1]] + p.offset[1] + p.step[1] * cx] = byte(su / n);
        planes[p.plane[2]][size_t(cy) * linesize[p.plane[2]] + p.offset[2] + p.step[2] * cx] = byte(sv / n);
      }
  }
  for (int k = 0; k < 3; ++k) data[k] = planes[k].empty() ? nullptr : planes[k].data();
  mmobs::FrameBuf f;
  mmobs::copy_in(f, format, uint32_t(w), uint32_t(h), data, linesize);
  float mn[3], mx[3];
  EXPECT_TRUE(video_format_get_parameters(VIDEO_CS_709, range, f.color_matrix, mn, mx));
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

// The worker's output for one frame (null when it failed or timed out).
std::shared_ptr<const mmobs::FrameBuf> run_worker(const mmobs::FrameBuf& frame, mmobs::Stats* stats) {
  auto worker = mmobs::Worker::start("worker_test", config());
  EXPECT_TRUE(wait_until([&] { return worker->wants_frame(); }, 60));
  auto buf = std::make_unique<mmobs::FrameBuf>(frame);
  buf->submitted_ns = mmobs::Worker::clock_ns();
  worker->submit(std::move(buf));
  EXPECT_TRUE(wait_until([&] { const auto s = worker->stats(); return s.processed + s.failed >= 1; }, 600));
  const mmobs::Result r = worker->latest();
  *stats = worker->stats();
  worker->retire();
  mmobs::Worker::join_all_retired();
  return r.frame;
}

// The engine's own RGBA edit of what the worker hands it (the same parameters as the worker).
std::vector<uint8_t> engine_edit(const std::vector<uint8_t>& rgba, int w, int h, int64_t index, double time) {
  mm_params p = mm_default_params();
  const std::string models = enginetest::test_models().string();
  p.anchor = "smile";
  p.strength = 5.0;
  p.models_dir = models.c_str();
  p.detect_every = 1;
  p.smooth = 0;
  char error[1024] = "";
  mm_context* ctx = mm_create(&p, error, sizeof error);
  EXPECT_NE(ctx, nullptr) << error;
  std::vector<uint8_t> in = rgba, out(rgba.size());
  if (!ctx) return out;
  mm_frame fi{};
  fi.data = in.data();
  fi.width = w;
  fi.height = h;
  fi.stride = ptrdiff_t(w) * 4;
  fi.format = MM_PIXEL_RGBA;
  fi.index = index;
  fi.time = time;
  fi.pts = int64_t(time * 1e9);
  mm_frame fo = fi;
  fo.data = out.data();
  EXPECT_EQ(mm_process(ctx, &fi, &fo), 0) << mm_error(ctx);
  mm_destroy(ctx);
  return out;
}

struct Case {
  video_format format;
  video_range_type range;
};

class ObsWorker : public testing::TestWithParam<Case> {};

TEST_P(ObsWorker, EditIsTheEnginesRgbInTheFramesOwnMatrix) {
  const Case c = GetParam();
  const fs::path face = facetest::data("faces/2008_001009.jpg");
  ASSERT_FALSE(face.empty());
  const micromotion::ImageRGB8 img = micromotion::load_image(face.string());
  const int w = img.width(), h = img.height();
  const mmobs::FrameBuf in = make_frame(img, c.format, c.range);

  mmobs::Stats st;
  const auto out = run_worker(in, &st);
  ASSERT_NE(out, nullptr) << "no result: " << st.error;
  ASSERT_EQ(st.processed, 1u);

  // What the engine made of the picture the worker handed it (to_rgba is checked against OBS's
  // shader maths in ConvertTest); the worker numbers frames from 1.
  std::vector<uint8_t> original;
  mmobs::to_rgba(in, original);
  const std::vector<uint8_t> edited = engine_edit(original, w, h, 1, double(in.timestamp) / 1e9);
  const auto changed = [&](int x, int y) {
    const size_t i = (size_t(y) * w + x) * 4;
    return std::memcmp(&original[i], &edited[i], 4) != 0;
  };
  long n_changed = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) n_changed += changed(x, y);
  ASSERT_GT(n_changed, 2000) << "the engine did not edit the face";

  int o[5];
  long checked = 0, bad = 0;
  double err_sum[3] = {0, 0, 0};
  long err_n[3] = {0, 0, 0};
  std::string first_bad;
  const auto note = [&](bool ok, const std::string& what) {
    ++checked;
    if (!ok && bad++ == 0) first_bad = what;
  };
  if (rgb_bytes(c.format, o)) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const uint8_t* a = in.plane[0].data() + size_t(y) * in.linesize[0] + o[4] * x;
        const uint8_t* b = out->plane[0].data() + size_t(y) * out->linesize[0] + o[4] * x;
        const uint8_t* e = &edited[(size_t(y) * w + x) * 4];
        for (int k = 0; k < o[4]; ++k) {
          const int comp = k == o[0] ? 0 : k == o[1] ? 1 : k == o[2] ? 2 : 3;
          const int want = changed(x, y) && comp < 3 ? e[comp] : a[k];
          note(b[k] == want, "pixel " + std::to_string(x) + "," + std::to_string(y) + " byte " + std::to_string(k));
        }
      }
    EXPECT_EQ(bad, 0) << "of " << checked << " bytes; first " << first_bad;
    return;
  }
  Packing p;
  ASSERT_TRUE(packing(c.format, p));
  const bool full = c.range == VIDEO_RANGE_FULL;
  // Luma: each changed pixel is its edited colour in BT.709 (rounding: 1 level); others as they came.
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t i = size_t(y) * in.linesize[p.plane[0]] + p.offset[0] + p.step[0] * x;
      const int got = out->plane[p.plane[0]][i];
      if (!changed(x, y)) {
        note(got == in.plane[p.plane[0]][i], "Y at " + std::to_string(x) + "," + std::to_string(y) + " unchanged");
        continue;
      }
      double yuv[3];
      bt709(&edited[(size_t(y) * w + x) * 4], full, yuv);
      err_sum[0] += std::abs(got - yuv[0]);
      ++err_n[0];
      note(std::abs(got - yuv[0]) <= 1.5, "Y at " + std::to_string(x) + "," + std::to_string(y));
    }
  // Chroma: a sample whose block holds a changed pixel is the block's mean edited chroma (the
  // worker averages the block, as make_frame does); others as they came.
  const int cw = (w + (1 << p.sx) - 1) >> p.sx, ch = (h + (1 << p.sy) - 1) >> p.sy;
  for (int cy = 0; cy < ch; ++cy)
    for (int cx = 0; cx < cw; ++cx) {
      bool any = false;
      double su = 0, sv = 0;
      int n = 0;
      for (int y = cy << p.sy; y < std::min(h, (cy + 1) << p.sy); ++y)
        for (int x = cx << p.sx; x < std::min(w, (cx + 1) << p.sx); ++x, ++n) {
          any |= changed(x, y);
          double yuv[3];
          bt709(&edited[(size_t(y) * w + x) * 4], full, yuv);
          su += yuv[1];
          sv += yuv[2];
        }
      for (int k = 1; k <= 2; ++k) {
        const size_t i = size_t(cy) * in.linesize[p.plane[k]] + p.offset[k] + p.step[k] * cx;
        const int got = out->plane[p.plane[k]][i];
        const std::string where = std::string(k == 1 ? "U" : "V") + " at " + std::to_string(cx) + "," + std::to_string(cy);
        if (!any) {
          note(got == in.plane[p.plane[k]][i], where + " unchanged");
          continue;
        }
        const double want = (k == 1 ? su : sv) / n;
        err_sum[k] += std::abs(got - want);
        ++err_n[k];
        note(std::abs(got - want) <= 1.5, where);
      }
    }
  EXPECT_EQ(bad, 0) << "of " << checked << " samples; first " << first_bad;
  // No systematic offset either (a matrix a little off stays within 1.5 on some colours).
  for (int k = 0; k < 3; ++k) {
    ASSERT_GT(err_n[k], 0);
    EXPECT_LE(err_sum[k] / double(err_n[k]), 0.6) << "mean error of component " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, ObsWorker,
                         testing::Values(Case{VIDEO_FORMAT_I420, VIDEO_RANGE_PARTIAL},
                                         Case{VIDEO_FORMAT_I420, VIDEO_RANGE_FULL},
                                         Case{VIDEO_FORMAT_NV12, VIDEO_RANGE_PARTIAL},
                                         Case{VIDEO_FORMAT_I422, VIDEO_RANGE_PARTIAL},
                                         Case{VIDEO_FORMAT_I444, VIDEO_RANGE_FULL},
                                         Case{VIDEO_FORMAT_YUY2, VIDEO_RANGE_PARTIAL},
                                         Case{VIDEO_FORMAT_UYVY, VIDEO_RANGE_PARTIAL},
                                         Case{VIDEO_FORMAT_YVYU, VIDEO_RANGE_PARTIAL},
                                         Case{VIDEO_FORMAT_RGBA, VIDEO_RANGE_FULL},
                                         Case{VIDEO_FORMAT_BGRA, VIDEO_RANGE_FULL},
                                         Case{VIDEO_FORMAT_BGRX, VIDEO_RANGE_FULL},
                                         Case{VIDEO_FORMAT_BGR3, VIDEO_RANGE_FULL}),
                         [](const testing::TestParamInfo<Case>& i) {
                           return std::string(mmobs::format_name(i.param.format)) +
                                  (i.param.range == VIDEO_RANGE_FULL ? "_full" : "_partial");
                         });

TEST(ObsWorkerFailure, FailedFrameDropsTheHeldResult) {
  const fs::path face = facetest::data("faces/2008_001009.jpg");
  ASSERT_FALSE(face.empty());
  const micromotion::ImageRGB8 img = micromotion::load_image(face.string());
  const mmobs::FrameBuf good = make_frame(img, VIDEO_FORMAT_I420, VIDEO_RANGE_PARTIAL);
  auto worker = mmobs::Worker::start("worker_test", config());
  ASSERT_TRUE(wait_until([&] { return worker->wants_frame(); }, 60));
  worker->submit(std::make_unique<mmobs::FrameBuf>(good));
  ASSERT_TRUE(wait_until([&] { return worker->stats().processed == 1 && worker->wants_frame(); }, 600))
      << worker->stats().error;
  const mmobs::Result held = worker->latest();
  ASSERT_NE(held.frame, nullptr);
  ASSERT_EQ(held.seq, 1u);

  // A frame the engine refuses (no pixels: mm_process's "invalid frame"), as any engine error.
  auto bad = std::make_unique<mmobs::FrameBuf>(good);
  bad->width = bad->height = 0;
  worker->submit(std::move(bad));
  ASSERT_TRUE(wait_until([&] { return worker->stats().failed == 1 && worker->wants_frame(); }, 60));
  const mmobs::Stats st = worker->stats();
  EXPECT_NE(st.error.find("invalid frame"), std::string::npos) << st.error;
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

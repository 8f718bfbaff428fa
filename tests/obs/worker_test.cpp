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
#include "engine/native_reference.h"
#include "frame.hpp"
#include "worker.hpp"

#include <micromotion/image.h>
#include <micromotion/micromotion.h>

#include <media-io/video-io.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;

// Every OBS format the plugin edits and the layout it is, written out here from OBS's format
// definitions (media-io's video-io.h), independently of frame.cpp's table; how those layouts
// store their samples is engine/native_reference.h's (independent of the library too).
struct Case {
  video_format obs;
  mm_pixel_format mm;
};
const Case kCases[] = {
    {VIDEO_FORMAT_I420, MM_PIXEL_YUV420P}, {VIDEO_FORMAT_NV12, MM_PIXEL_NV12},   {VIDEO_FORMAT_I422, MM_PIXEL_YUV422P},
    {VIDEO_FORMAT_I444, MM_PIXEL_YUV444P}, {VIDEO_FORMAT_YUY2, MM_PIXEL_YUYV422}, {VIDEO_FORMAT_UYVY, MM_PIXEL_UYVY422},
    {VIDEO_FORMAT_YVYU, MM_PIXEL_YVYU422}, {VIDEO_FORMAT_I40A, MM_PIXEL_YUVA420P}, {VIDEO_FORMAT_I010, MM_PIXEL_YUV420P10},
    {VIDEO_FORMAT_P010, MM_PIXEL_P010},    {VIDEO_FORMAT_I210, MM_PIXEL_YUV422P10}, {VIDEO_FORMAT_RGBA, MM_PIXEL_RGBA},
    {VIDEO_FORMAT_BGRA, MM_PIXEL_BGRA},    {VIDEO_FORMAT_BGRX, MM_PIXEL_BGR0},     {VIDEO_FORMAT_BGR3, MM_PIXEL_BGR24},
    {VIDEO_FORMAT_Y800, MM_PIXEL_GRAY8},
};

// An RGB picture as a frame of the case's format (nativeref::make_frame: BT.709, chroma the
// block's mean, alpha a pattern, padded rows), with OBS's BT.709 matrix for the format and range.
mmobs::FrameBuf make_frame(const micromotion::ImageRGB8& img, const Case& c, video_range_type range) {
  const int w = img.width(), h = img.height();
  std::vector<uint8_t> packed(size_t(w) * h * 3), storage[4];
  for (int y = 0; y < h; ++y) std::memcpy(&packed[size_t(y) * w * 3], img.row(y), size_t(w) * 3);
  const mm_frame m = nativeref::make_frame(packed.data(), w, h, nativeref::layout(c.mm), MM_MATRIX_BT709,
                                           range == VIDEO_RANGE_FULL ? MM_RANGE_FULL : MM_RANGE_LIMITED, storage);
  uint8_t* data[4] = {};
  uint32_t linesize[4] = {};
  for (int p = 0; p < 4; ++p) data[p] = m.data[p], linesize[p] = uint32_t(m.stride[p]);
  mmobs::FrameBuf f;
  mmobs::copy_in(f, c.obs, uint32_t(w), uint32_t(h), data, linesize);
  float mn[3], mx[3];
  EXPECT_TRUE(video_format_get_parameters_for_format(VIDEO_CS_709, range, c.obs, f.color_matrix, mn, mx));
  std::copy(mn, mn + 3, f.range_min);
  std::copy(mx, mx + 3, f.range_max);
  f.full_range = range == VIDEO_RANGE_FULL;
  f.timestamp = 1'000'000'000;
  return f;
}

mmobs::Config config() {
  mmobs::Config c;
  c.models_dir = enginetest::test_models().string();
  c.anchor = "smile";
  c.strength = 5.0;
  // Not live: each frame is compared with the engine's own edit of that very frame (live, a
  // frame gets the newest edit the background networks have made, none at first).
  c.live = false;
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
  for (const Case& c : kCases) {
    const nativeref::Layout& l = nativeref::layout(c.mm);
    const video_range_type range = (n % 2 && !l.rgb) ? VIDEO_RANGE_FULL : VIDEO_RANGE_PARTIAL;
    const std::string name = std::string(mm_pixel_format_name(c.mm)) + (range == VIDEO_RANGE_FULL ? " full range" : "");
    SCOPED_TRACE(name);
    const mmobs::FrameBuf in = make_frame(img, c, range);
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
    f.format = c.mm;
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
      const uint32_t rows = mmobs::plane_rows(c.obs, k, uint32_t(h));
      ASSERT_EQ(out->plane[k].size(), in.plane[k].size());
      for (size_t i = 0; i < in.plane[k].size(); ++i) differ += out->plane[k][i] != want.plane[k][i];
      // Every changed byte lies in a reported box (grown to whole chroma blocks) and is not alpha.
      for (uint32_t y = 0; y < rows; ++y)
        for (uint32_t b = 0; b < in.linesize[k]; ++b) {
          const size_t i = size_t(y) * in.linesize[k] + b;
          if (out->plane[k][i] == in.plane[k][i]) continue;
          ++changed;
          int comp = -1;
          for (int j = 0; j < 4; ++j) {
            const nativeref::Component& q = l.c[j];
            if (q.plane == k && int(b % uint32_t(q.step)) >= q.offset % q.step &&
                int(b % uint32_t(q.step)) < q.offset % q.step + l.bytes())
              comp = j;
          }
          alpha += comp == 3;
          const bool chroma = !l.rgb && (comp == 1 || comp == 2);
          const int sx = chroma ? l.sx : 0, sy = chroma ? l.sy : 0;
          const int x0 = int(b / uint32_t(l.c[std::max(comp, 0)].step)) << sx, y0 = int(y) << sy;
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

// The edit-list file property: a list naming John Savage by a photo of him that is not in the
// two_johns clip edits his face (right of x = 380) and leaves John Salley's half byte for byte.
TEST(ObsWorker, EditListEditsOnlyTheNamedPerson) {
  const fs::path clip = facetest::data("clips/two_johns/0000.png");
  const fs::path johns = facetest::data("johns/John_Savage");
  ASSERT_FALSE(clip.empty());
  ASSERT_FALSE(johns.empty());
  std::vector<std::string> photos;
  for (const auto& e : fs::directory_iterator(johns)) photos.push_back(e.path().string());
  std::sort(photos.begin(), photos.end());
  ASSERT_GE(photos.size(), 2u);
  const fs::path list = fs::temp_directory_path() / "mm_obs_worker_edits.json";
  {
    std::FILE* f = std::fopen(list.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, R"({"people": [{"name": "savage", "photos": ["%s"]}], "edits": [{"person": "savage", "anchor": "smile", "strength": 5}]})",
                 photos[1].c_str());
    std::fclose(f);
  }
  // The face-recognition model lives with the test data, not with the test models (restored below).
  const char* was = std::getenv("MICROMOTION_MODELS");
  const std::string old = was ? was : "";
  setenv("MICROMOTION_MODELS", facetest::data("models").c_str(), 1);
  mmobs::Config c = config();
  c.edits = list.string();
  const micromotion::ImageRGB8 img = micromotion::load_image(clip.string());
  const Case bgra = {VIDEO_FORMAT_BGRA, MM_PIXEL_BGRA};
  const mmobs::FrameBuf in = make_frame(img, bgra, VIDEO_RANGE_FULL);
  auto worker = mmobs::Worker::start("worker_test", c);
  ASSERT_TRUE(wait_until([&] { return worker->wants_frame(); }, 60));
  auto buf = std::make_unique<mmobs::FrameBuf>(in);
  buf->submitted_ns = mmobs::Worker::clock_ns();  // as filter_video stamps it
  worker->submit(std::move(buf));
  ASSERT_TRUE(wait_until([&] { const auto s = worker->stats(); return s.processed + s.failed >= 1; }, 600));
  ASSERT_EQ(worker->stats().processed, 1u) << worker->stats().error;
  const auto out = worker->latest().frame;
  ASSERT_NE(out, nullptr);
  long left = 0, right = 0;
  for (uint32_t y = 0; y < in.height; ++y)
    for (uint32_t x = 0; x < in.width; ++x) {
      const size_t at = size_t(y) * in.linesize[0] + 4 * size_t(x);
      if (std::memcmp(&out->plane[0][at], &in.plane[0][at], 4) != 0) (x < 380 ? left : right)++;
    }
  EXPECT_EQ(left, 0) << "Salley's half changed";
  EXPECT_GT(right, 2000) << "Savage's face is not edited";
  worker->retire();
  mmobs::Worker::join_all_retired();
  fs::remove(list);
  if (was) setenv("MICROMOTION_MODELS", old.c_str(), 1);
  else unsetenv("MICROMOTION_MODELS");
}

TEST(ObsWorkerFailure, FailedFrameDropsTheHeldResult) {
  const fs::path face = facetest::data("faces/2008_001009.jpg");
  ASSERT_FALSE(face.empty());
  const micromotion::ImageRGB8 img = micromotion::load_image(face.string());
  const mmobs::FrameBuf good = make_frame(img, kCases[0], VIDEO_RANGE_PARTIAL);
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

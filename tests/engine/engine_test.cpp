// The per-frame engine on real face frames with the test models.
#include "engine/engine_test_support.h"

#include <micromotion/engine.h>
#include <micromotion/error.h>
#include <micromotion/face_tracker.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/model_paths.h>
#include <micromotion/motion.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

namespace {

using namespace micromotion;

EngineOptions options(EditMode mode = EditMode::replace) {
  EngineOptions o;
  o.models_dir = enginetest::test_models().string();
  o.iterations = 2;  // keeps the suite fast; warm frames run warm_iterations (1)
  // The bounds below are fp32's (one face vs a batch of two within 2 levels, ...); the default
  // dtype "auto" picks bf16 on CPUs where it is faster.
  o.dtype = "fp32";
  o.mode = mode;
  return o;
}

Micromotion smile() { return find_micromotion("smile", enginetest::test_models().string()); }

TEST(Engine, EditsFacesOnlyAndPassesFaceFreeFramesBitExact) {
  // gaps: a face in frames 0-9, none in 10-19.
  const auto frames = enginetest::clip_frames("gaps", 7, 5);
  ASSERT_EQ(frames.size(), 5u);
  Engine engine(options(), {smile()});
  const auto regions = enginetest::face_regions(frames[0]);
  for (size_t i = 0; i < frames.size(); ++i) {
    FrameReport rep;
    const ImageRGB8 out = engine.process(frames[i], {5.0}, &rep);
    ASSERT_EQ(out.width(), frames[i].width());
    if (i < 3) {
      EXPECT_EQ(rep.faces_edited, static_cast<int>(regions.size())) << "frame " << i;
      EXPECT_GE(rep.resolution, 128);
      const auto c = enginetest::compare(out, frames[i], regions);
      EXPECT_GT(c.changed, 2000) << "the face must change (frame " << i << ")";
      EXPECT_EQ(c.outside, 0) << "pixels outside the face changed (frame " << i << ")";
    } else {
      EXPECT_EQ(rep.faces_found, 0);
      EXPECT_TRUE(out == frames[i]) << "a face-free frame must pass through bit-exact (frame " << i << ")";
    }
  }
}

TEST(Engine, TwoFacesAreEditedIndependently) {
  // two_faces: two photos side by side (four faces in all, two of them overlapping).
  const auto frames = enginetest::clip_frames("two_faces", 0, 1);
  const auto regions = enginetest::face_regions(frames[0]);
  ASSERT_GE(regions.size(), 2u);
  Engine all(options(), {smile()});
  FrameReport rep;
  const ImageRGB8 both = all.process(frames[0], {5.0}, &rep);
  EXPECT_EQ(rep.faces_edited, static_cast<int>(regions.size()));
  for (const auto& r : regions) {
    const auto c = enginetest::compare(both, frames[0], {r});
    EXPECT_GT(c.changed - c.outside, 500) << "a face was left unedited";
  }
  EXPECT_EQ(enginetest::compare(both, frames[0], regions).outside, 0);

  // Only the largest face: nothing outside it changes, and the edited face is what it was
  // when every face was edited (where no other face's region overlaps it).
  EngineOptions ol = options();
  ol.faces = FaceSelection::largest;
  Engine largest(ol, {smile()});
  const ImageRGB8 one = largest.process(frames[0], {5.0}, &rep);
  EXPECT_EQ(rep.faces_edited, 1);
  auto area = [](const enginetest::Box& r) { return (r[2] - r[0]) * (r[3] - r[1]); };
  const size_t big = static_cast<size_t>(std::max_element(regions.begin(), regions.end(), [&](const auto& x, const auto& y) {
                                           return area(x) < area(y);
                                         }) - regions.begin());
  const auto only = enginetest::compare(one, frames[0], {regions[big]});
  EXPECT_GT(only.changed, 500);
  EXPECT_EQ(only.outside, 0) << "pixels outside the largest face changed";
  int compared = 0, worst = 0;
  for (int y = 0; y < one.height(); ++y) {
    for (int x = 0; x < one.width(); ++x) {
      auto in = [&](const enginetest::Box& r) { return x >= r[0] && x <= r[2] && y >= r[1] && y <= r[3]; };
      bool alone = in(regions[big]);
      for (size_t k = 0; k < regions.size() && alone; ++k) alone = k == big || !in(regions[k]);
      if (!alone) continue;
      ++compared;
      for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(int(one.pixel(x, y)[c]) - int(both.pixel(x, y)[c])));
    }
  }
  EXPECT_GT(compared, 1000);
  EXPECT_LE(worst, 2) << "editing one face depends on the others";
}

TEST(Engine, DeltaModeAtStrengthZeroReproducesTheInput) {
  const auto frames = enginetest::clip_frames("pan_zoom", 0, 2);
  Engine engine(options(EditMode::delta), {smile()});
  for (const auto& f : frames) {
    FrameReport rep;
    const ImageRGB8 out = engine.process(f, {0.0}, &rep);
    EXPECT_GE(rep.faces_edited, 1);
    const auto d = facetest::diff(out, f);
    EXPECT_LE(d.max, 1);
  }
  // And a non-zero strength does change the face.
  const ImageRGB8 edited = engine.process(frames[1], {8.0});
  EXPECT_GT(facetest::diff(edited, frames[1]).max, 10);
}

TEST(Engine, AsynchronousQueueMatchesSynchronousProcessing) {
  const auto frames = enginetest::clip_frames("gaps", 8, 4);
  std::vector<ImageRGB8> sync;
  {
    Engine engine(options(), {smile()});
    for (const auto& f : frames) sync.push_back(engine.process(f, {3.0}));
  }
  EngineOptions o = options();
  o.queue_depth = 1;
  Engine engine(o, {smile()});
  std::vector<EngineFrame> got;
  int max_latency = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    ImageRGB8 copy = frames[i];
    engine.submit(EngineFrame{FrameBuffer::copy_of(native_view(copy)), {3.0}, static_cast<int64_t>(100 + i), {}});
    max_latency = std::max(max_latency, engine.latency());
    while (auto r = engine.receive(false)) got.push_back(std::move(*r));
  }
  engine.finish();
  while (auto r = engine.receive(true)) got.push_back(std::move(*r));
  ASSERT_EQ(got.size(), frames.size());
  EXPECT_EQ(engine.latency(), 0);
  EXPECT_LE(max_latency, 3);  // queue_depth waiting + one in progress + one finished
  ImageRGB8 first = frames[0];
  EXPECT_THROW(engine.submit(EngineFrame{FrameBuffer::copy_of(native_view(first)), {3.0}, 0, {}}), Error);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].tag, static_cast<int64_t>(100 + i)) << "frames must come back in order";
    const NativeFrame& f = got[i].frame.frame();
    EXPECT_LE(facetest::diff(ImageView{f.data[0], f.width, f.height, f.stride[0]}, sync[i]).max, 1) << "frame " << i;
  }
}

TEST(Engine, BadInputsAreClearErrors) {
  Micromotion wrong;
  wrong.name = "short";
  wrong.source = "test";
  wrong.basis = at::zeros({1, 14, 512});
  try {
    Engine e(options(), {wrong});
    FAIL() << "accepted a [14, 512] direction for an 18-row generator";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("direction of the wrong shape"), std::string::npos) << e.what();
  }
  // A missing encoder: the lookup searches exactly the named directories (the system one,
  // /usr/share/micromotion/models, is injected away so an installed model cannot hide the error)
  // and says where to get the file.
  const std::string empty = facetest::temp_dir("engine_no_models").string();
  try {
    find_model_file_in("e4e_ffhq_encode.pt", {empty});
    FAIL() << "found e4e_ffhq_encode.pt in an empty directory";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find((std::filesystem::path(empty) / "e4e_ffhq_encode.pt").string()), std::string::npos) << m;
    EXPECT_NE(m.find("github.com/omertov/encoder4editing"), std::string::npos) << m;
    EXPECT_NE(m.find("licence: MIT"), std::string::npos) << m;
  }
  // The engine looks an encoder up in model_search_dirs(models_dir), in this order.
  const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const std::string xdg_saved = xdg ? xdg : "";
  setenv("MICROMOTION_MODELS", (empty + "/env").c_str(), 1);
  setenv("HOME", empty.c_str(), 1);
  unsetenv("XDG_DATA_HOME");
  EXPECT_EQ(model_search_dirs(empty), (std::vector<std::string>{empty, empty + "/env", empty + "/.local/share/micromotion/models",
                                                                "/usr/share/micromotion/models"}));
  setenv("HOME", home.c_str(), 1);
  unsetenv("MICROMOTION_MODELS");
  if (xdg) setenv("XDG_DATA_HOME", xdg_saved.c_str(), 1);
  // And an encoder given as a path is that file or an error naming it, whatever is installed.
  EngineOptions o = options();
  o.encoder = (std::filesystem::path(empty) / "mine.pt").string();
  try {
    Engine e(o, {smile()});
    FAIL() << "accepted a missing encoder file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(o.encoder), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_edit_mode("blend"), Error);
  EXPECT_THROW(parse_face_selection("some"), Error);
}

}  // namespace

// The whole per-frame pipeline (track, align, invert, edit, synthesize, composite) with full-size
// random-weight networks: one ~256-px face in a 1920x1080 frame. Needs the face test data
// (packaging/fetch-test-data.sh) for a real face photo; the paper's smile direction from models/.
#include <micromotion/encoder.h>
#include <micromotion/engine.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/generator.h>
#include <micromotion/motion.h>
#include <micromotion/native_frame.h>
#include <micromotion/threads.h>

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>

#include "dtype_guard.h"
#include "full_size_encoder.h"

#include "test_data_path.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace micromotion;

// 2008_001009.jpg scaled x2 on a grey 1080p canvas, the photo sliding 2 px per frame: the larger
// face is ~250 px wide on screen.
ImageRGB8 frame_at(const ImageRGB8& photo, int n) {
  ImageRGB8 f(1920, 1080, 110);
  const int ox = 600 + 2 * (n % 50), oy = 60;
  for (int y = 0; y < photo.height() && oy + y < f.height(); ++y)
    for (int x = 0; x < photo.width() && ox + x < f.width(); ++x)
      for (int k = 0; k < 3; ++k) f.pixel(ox + x, oy + y)[k] = photo.pixel(x, y)[k];
  return f;
}

// mode 0: paper (ReStyle x5 from the average every frame); 1: video (ReStyle warm start, 1 step);
// 2: video with e4e.
void BM_Engine(benchmark::State& state, int mode, c10::ScalarType dtype) {
  if (!dtype_runs_here(state, dtype)) return;
  set_threads(0);
  const ImageRGB8 src = load_image(test_data_path("faces/2008_001009.jpg"));
  const ImageRGB8 photo = pil_resize_lanczos(src, src.width() * 2, src.height() * 2);
  EngineOptions o;
  o.iterations = 5;
  o.warm_iterations = 1;
  o.faces = FaceSelection::largest;
  Engine engine(o, {find_micromotion("smile", std::string(MM_SOURCE_DIR) + "/models")},
                full_size_encoder(mode == 2 ? EncoderKind::Encoder4Editing : EncoderKind::Backbone, dtype));
  int n = 0;
  engine.process(frame_at(photo, n++), {5.0});  // first frame: cold start, average image
  FrameReport rep;
  for (auto _ : state) {
    if (mode == 0) engine.reset();
    const ImageRGB8 out = engine.process(frame_at(photo, n++), {5.0}, &rep);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["fps"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["faces"] = rep.faces_edited;
  state.counters["res"] = rep.resolution;
}

// The per-frame path alone (DESIGN.md section 8): track, landmarks, smoothing, alignment, warp
// of the face's edit, mask, composite, between keyframes. The test models (the keyframes'
// networks are tiny; the per-frame path does not depend on their size), keyframe_every 1000, so
// after the warm-up keyframe every timed frame is a non-keyframe (the "keyframes" counter says
// how many timed frames were not). Frames: pan_zoom (440x480) scaled x2 and pasted onto a grey
// 1920x1080 canvas (two faces, the mother's and the girl's, ~230 and ~180 px wide), frames
// 0..23..1 back and forth so the faces move continuously; faces=largest edits one of them,
// faces=all both (the difference is the cost of an extra face). The frame is processed in place
// (process(NativeFrame&), as the filter and OBS do); the copy of the source frame into it is
// not timed.
std::filesystem::path test_models_dir() {
  if (const char* env = std::getenv("MICROMOTION_TEST_MODELS"); env && *env) return env;
  // <build>/bin/bench_engine -> <build>/test-models (made by the engine tests, or
  // `micromotion models make-test <build>/test-models`).
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "test-models";
}

std::vector<ImageRGB8> per_frame_clip() {
  std::vector<ImageRGB8> scaled;
  for (int i = 0; i < 24; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "clips/pan_zoom/%04d.png", i);
    const ImageRGB8 src = load_image(test_data_path(name));
    scaled.push_back(pil_resize_lanczos(src.view(), src.width() * 2, src.height() * 2));
  }
  std::vector<ImageRGB8> out;
  for (int n = 0; n < 46; ++n) {
    const ImageRGB8& s = scaled[static_cast<size_t>(n < 24 ? n : 46 - n)];
    ImageRGB8 f(1920, 1080, 110);
    const int ox = 520, oy = 60;
    for (int y = 0; y < s.height() && oy + y < f.height(); ++y)
      std::memcpy(f.pixel(ox, oy + y), s.pixel(0, y), 3 * static_cast<size_t>(s.width()));
    out.push_back(std::move(f));
  }
  return out;
}

void BM_PerFramePath(benchmark::State& state, FaceSelection selection) {
  set_threads(0);
  const std::filesystem::path models = test_models_dir();
  if (!std::filesystem::exists(models / "directions")) {
    state.SkipWithError(("no test models in " + models.string() + " (run test_engine once)").c_str());
    return;
  }
  static const std::vector<ImageRGB8> clip = per_frame_clip();
  EngineOptions o;
  o.models_dir = models.string();
  o.iterations = 2;
  o.dtype = "fp32";
  o.keyframe_every = 1000;
  o.faces = selection;
  Engine engine(o, {find_micromotion("smile", o.models_dir)});
  ImageRGB8 work(1920, 1080);
  NativeFrame native = native_view(work);
  FrameReport rep;
  size_t n = 0;
  auto next = [&] {
    const ImageRGB8& src = clip[n++ % clip.size()];
    std::memcpy(work.data(), src.data(), static_cast<size_t>(work.stride()) * work.height());
  };
  for (int i = 0; i < 3; ++i) {  // the first keyframe, then two plain frames
    next();
    engine.process(native, {5.0}, &rep);
  }
  long keyframes = 0, faces = 0, frames = 0, face_px = 0;
  for (auto _ : state) {
    state.PauseTiming();
    next();
    state.ResumeTiming();
    engine.process(native, {5.0}, &rep);
    benchmark::DoNotOptimize(work.data());
    keyframes += rep.keyframes;
    faces += rep.faces_edited;
    for (const FaceReport& f : rep.faces) face_px += f.box.width;
    ++frames;
  }
  state.counters["keyframes"] = static_cast<double>(keyframes);
  state.counters["faces"] = frames ? static_cast<double>(faces) / frames : 0;
  state.counters["face_px"] = faces ? static_cast<double>(face_px) / faces : 0;  // box width on screen
}

}  // namespace

BENCHMARK_CAPTURE(BM_PerFramePath, one_face_1080p, FaceSelection::largest)->Unit(benchmark::kMillisecond)->Iterations(40)->UseRealTime();
BENCHMARK_CAPTURE(BM_PerFramePath, two_faces_1080p, FaceSelection::all)->Unit(benchmark::kMillisecond)->Iterations(40)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, paper_restyle5_fp32, 0, at::kFloat)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, video_restyle1_fp32, 1, at::kFloat)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, video_restyle1_bf16, 1, at::kBFloat16)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, video_e4e_fp32, 2, at::kFloat)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, video_e4e_bf16, 2, at::kBFloat16)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();

BENCHMARK_MAIN();

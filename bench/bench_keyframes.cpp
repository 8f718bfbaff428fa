// Offline keyframes with the full-size random-weight networks (ReStyle warm start, one step, the
// 1024 generator): one ~250-px face sliding across a 1080p frame, keyframe_every K = 1, 2, 4, 8
// through add()/take(), delta mode. Per K: frames per second, and the PSNR of the face's box
// against the K = 1 output of the same frames (the difference interpolation makes).
// bench/keyframes.sh measures the same through `render` with the test models.
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

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace micromotion;

constexpr int kFrames = 8;  // timed frames after the track's first keyframe: a multiple of every K

// 2008_001009.jpg scaled x2 on a grey 1080p canvas, sliding 3 px per frame.
ImageRGB8 frame_at(const ImageRGB8& photo, int n) {
  ImageRGB8 f(1920, 1080, 110);
  const int ox = 600 + 3 * n, oy = 60;
  for (int y = 0; y < photo.height() && oy + y < f.height(); ++y)
    for (int x = 0; x < photo.width() && ox + x < f.width(); ++x)
      for (int k = 0; k < 3; ++k) f.pixel(ox + x, oy + y)[k] = photo.pixel(x, y)[k];
  return f;
}

struct Run {
  std::vector<ImageRGB8> out;  // frames 1..kFrames, edited
  std::vector<PixelRect> box;  // the face's box per frame
  double seconds = 0;          // for the kFrames frames
  int keyframes = 0;
};

// Frame 0 (the track's first keyframe) untimed, then kFrames frames through add()/take().
Run render(int k) {
  const ImageRGB8 src = load_image(test_data_path("faces/2008_001009.jpg"));
  const ImageRGB8 photo = pil_resize_lanczos(src, src.width() * 2, src.height() * 2);
  EngineOptions o;
  o.iterations = 5;
  o.warm_iterations = 1;
  o.faces = FaceSelection::largest;
  o.mode = EditMode::delta;
  o.keyframe_every = k;
  Engine engine(o, {find_micromotion("smile", std::string(MM_SOURCE_DIR) + "/models")}, full_size_encoder(EncoderKind::Backbone, at::kFloat));
  std::vector<ImageRGB8> frames;
  for (int n = 0; n <= kFrames; ++n) frames.push_back(frame_at(photo, n));
  std::vector<NativeFrame> views;
  for (auto& f : frames) views.push_back(native_view(f));
  Run r;
  engine.add(views[0], {5.0}, 0);
  while (engine.take()) {
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<TakenFrame> taken;
  for (int n = 1; n <= kFrames; ++n) {
    engine.add(views[size_t(n)], {5.0}, n);
    while (auto t = engine.take()) taken.push_back(std::move(*t));
  }
  engine.flush();
  while (auto t = engine.take()) taken.push_back(std::move(*t));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const TakenFrame& t : taken) {
    r.keyframes += t.report.keyframes;
    r.box.push_back(t.report.faces.empty() ? PixelRect{} : t.report.faces[0].box);
  }
  for (int n = 1; n <= kFrames; ++n) r.out.push_back(std::move(frames[size_t(n)]));
  return r;
}

// PSNR of `a` against `b` over the boxes (per frame) of the reference run.
double face_psnr(const Run& a, const Run& b) {
  double se = 0;
  long count = 0;
  for (size_t i = 0; i < a.out.size(); ++i) {
    const PixelRect& r = b.box[i];
    for (int y = r.y; y < r.y + r.height; ++y)
      for (int x = r.x; x < r.x + r.width; ++x)
        for (int c = 0; c < 3; ++c) {
          const double d = double(a.out[i].pixel(x, y)[c]) - double(b.out[i].pixel(x, y)[c]);
          se += d * d;
          ++count;
        }
  }
  if (count == 0) return std::nan("");
  const double mse = se / double(count);
  return mse == 0 ? INFINITY : 10 * std::log10(255.0 * 255.0 / mse);
}

const Run& reference() {
  static const Run r = render(1);
  return r;
}

void BM_Keyframes(benchmark::State& state) {
  set_threads(0);
  const int k = static_cast<int>(state.range(0));
  Run r;
  for (auto _ : state) {
    r = k == 1 ? reference() : render(k);
    state.SetIterationTime(r.seconds);
  }
  state.counters["fps"] = kFrames / r.seconds;
  state.counters["keyframes"] = r.keyframes;
  state.counters["psnr_vs_k1"] = k == 1 ? INFINITY : face_psnr(r, reference());
}
BENCHMARK(BM_Keyframes)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

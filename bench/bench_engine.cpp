// The whole per-frame pipeline (track, align, invert, edit, synthesize, composite) with full-size
// random-weight networks: one ~256-px face in a 1920x1080 frame. Needs the face test data
// (packaging/fetch-test-data.sh) for a real face photo; the paper's smile direction from models/.
#include <micromotion/encoder.h>
#include <micromotion/engine.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/generator.h>
#include <micromotion/motion.h>
#include <micromotion/threads.h>

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>

#include "dtype_guard.h"

#include "test_data_path.h"

#include <cstdlib>
#include <string>

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

Encoder full_size_encoder(EncoderKind kind, c10::ScalarType dtype) {
  const GeneratorConfig gc = GeneratorConfig::config_f(1024);
  Generator g = Generator::from_state_dict(Generator::random_state_dict(gc, 7), {c10::kCPU, dtype});
  const int input_nc = kind == EncoderKind::Backbone ? 6 : 3;
  TensorMap sd = Encoder::random_state_dict(kind, input_nc, gc.n_latent(), gc.style_dim, 11);
  at::Tensor avg = g.mean_latent(4096, 1).expand({gc.n_latent(), gc.style_dim}).contiguous();
  EncoderSpec spec;
  spec.kind = kind;
  return Encoder::from_state_dict(std::move(sd), std::move(g), avg, spec, {c10::kCPU, dtype}, "random");
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

}  // namespace

BENCHMARK_CAPTURE(BM_Engine, paper_restyle5_fp32, 0, at::kFloat)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, video_restyle1_fp32, 1, at::kFloat)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, video_restyle1_bf16, 1, at::kBFloat16)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, video_e4e_fp32, 2, at::kFloat)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();
BENCHMARK_CAPTURE(BM_Engine, video_e4e_bf16, 2, at::kBFloat16)->Unit(benchmark::kMillisecond)->Iterations(4)->UseRealTime();

BENCHMARK_MAIN();

// Encoder benchmarks: full-size random-weight IR-SE50 encoders at 256x256, batch 1, fp32 and
// bf16, the paper's whole per-image job (ReStyle x5 + edit + 1024 synthesis), and a video
// keyframe's warm-started inversion with full or 256 reconstructions (reconstruct_at).
// No files needed. Threads: $OMP_NUM_THREADS, else every hardware thread.
//
//   build/bin/bench_encoders --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <micromotion/encoder.h>
#include <micromotion/generator.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include "dtype_guard.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

namespace {

using namespace micromotion;

// One model alive at a time: the full-size encoders take 0.7-0.9 GB each in fp32.
struct Cache {
  EncoderKind kind{};
  c10::ScalarType dtype{};
  int decoder_resolution = 0;
  std::unique_ptr<Encoder> encoder;
};

Cache& cache() {
  static Cache c;
  return c;
}

const Encoder& get_encoder(EncoderKind kind, c10::ScalarType dtype, int decoder_resolution) {
  Cache& c = cache();
  if (c.encoder && c.kind == kind && c.dtype == dtype && c.decoder_resolution == decoder_resolution) {
    return *c.encoder;
  }
  c.encoder.reset();
  const GeneratorConfig gc = GeneratorConfig::config_f(decoder_resolution);
  Generator g = Generator::from_state_dict(Generator::random_state_dict(gc, 7), {c10::kCPU, dtype});
  const int input_channels = kind == EncoderKind::Backbone ? 6 : 3;
  TensorMap sd = Encoder::random_state_dict(kind, input_channels, gc.n_latent(), gc.style_dim, 11);
  EncoderSpec spec;
  spec.kind = kind;
  at::Tensor latent_avg = at::randn({gc.style_dim}) * 0.1;
  c.encoder = std::make_unique<Encoder>(
      Encoder::from_state_dict(std::move(sd), std::move(g), latent_avg, spec, {c10::kCPU, dtype}, "random"));
  c.kind = kind;
  c.dtype = dtype;
  c.decoder_resolution = decoder_resolution;
  return *c.encoder;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

void set_threads() {
  const char* env = std::getenv("OMP_NUM_THREADS");
  at::set_num_threads(env && *env ? std::atoi(env) : int(std::thread::hardware_concurrency()));
}

at::Tensor face() {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  return at::rand({1, 3, 256, 256}, gen, at::TensorOptions(at::kFloat)) * 2 - 1;
}

// The machine's oneDNN 3x3 conv rate right now, on the layer shape that dominates the
// IR-SE body (256 -> 256 channels at 32x32, batch 1, channels-last): the yardstick for the
// encoders' GMAC/s, since this 2-core machine is often shared.
void BM_ConvRate(benchmark::State& state, c10::ScalarType dtype) {
  if (!dtype_runs_here(state, dtype)) return;
  set_threads();
  at::NoGradGuard no_grad;
  const auto cl = at::MemoryFormat::ChannelsLast;
  const at::Tensor x = at::randn({1, 256, 32, 32}).to(dtype).contiguous(cl);
  const at::Tensor w = (at::randn({256, 256, 3, 3}) * 0.02).to(dtype).contiguous(cl);
  for (auto _ : state) {
    benchmark::DoNotOptimize(at::mkldnn_convolution(x, w, {}, {1, 1}, {1, 1}, {1, 1}, 1));
  }
  const double macs = 256.0 * 256 * 9 * 32 * 32;
  state.counters["GMAC/s"] = benchmark::Counter(macs / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = at::get_num_threads();
}

// One encoder forward (what each ReStyle iteration or a pSp / e4e pass costs).
void BM_Encoder(benchmark::State& state, EncoderKind kind, c10::ScalarType dtype) {
  if (!dtype_runs_here(state, dtype)) return;
  set_threads();
  // Full size: 18 W+ rows, as for the 1024 decoder (the decoder is not run here).
  const Encoder& enc = get_encoder(kind, dtype, 1024);
  at::NoGradGuard no_grad;
  const at::Tensor x = kind == EncoderKind::Backbone ? at::cat({face(), face()}, 1) : face();
  enc.encode(x);  // warm-up: oneDNN primitive creation
  for (auto _ : state) benchmark::DoNotOptimize(enc.encode(x));
  const double macs = enc.encoder_macs();
  state.counters["GMAC"] = macs / 1e9;
  state.counters["GMAC/s"] = benchmark::Counter(macs / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = at::get_num_threads();
  state.counters["peak_rss_MB"] = peak_rss_mb();
}

// The paper's per-image job: ReStyle-pSp x5 from the (cached) average image, no decode of
// the final latent, edit w + s d, then one 1024 synthesis of the edited code.
void BM_PaperJob(benchmark::State& state, c10::ScalarType dtype) {
  if (!dtype_runs_here(state, dtype)) return;
  set_threads();
  const Encoder& enc = get_encoder(EncoderKind::Backbone, dtype, 1024);
  at::NoGradGuard no_grad;
  enc.average_image();  // once per model, not per image
  const at::Tensor x = face();
  const at::Tensor d = at::randn({1, enc.config().n_styles, enc.config().style_dim}) * 0.05;
  const double strength = 5.0;
  InversionOptions o;
  o.iterations = 5;
  o.reconstruct = false;
  using clock = std::chrono::steady_clock;
  double invert_s = 0, synth_s = 0;
  for (auto _ : state) {
    const auto t0 = clock::now();
    Inversion r = enc.invert(x, std::nullopt, o);
    const auto t1 = clock::now();
    at::Tensor edited = r.latent + strength * d;
    benchmark::DoNotOptimize(enc.decoder().synthesize(edited));
    invert_s += std::chrono::duration<double>(t1 - t0).count();
    synth_s += std::chrono::duration<double>(clock::now() - t1).count();
  }
  // Split of the job: ReStyle x5 (5 encoder passes + 4 decodes at 1024), final synthesis.
  state.counters["invert_s"] = invert_s / double(state.iterations());
  state.counters["synthesis_s"] = synth_s / double(state.iterations());
  state.counters["threads"] = at::get_num_threads();
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["vs_reference_23.5s"] = benchmark::Counter(
      23.5, benchmark::Counter::kIsIterationInvariantRate);  // = 23.5 s / time per job
}

// A video keyframe's inversion: ReStyle warm-started from the previous frame's latent and
// reconstruction, one step, and the reconstruction the next frame's warm start needs — at the
// decoder's full 1024 (reconstruct_at 0, the reference) or stopped at the 256 ToRGB.
void BM_VideoInversion(benchmark::State& state, int reconstruct_at) {
  set_threads();
  const Encoder& enc = get_encoder(EncoderKind::Backbone, at::kFloat, 1024);
  at::NoGradGuard no_grad;
  const at::Tensor x = face();
  InversionOptions o;
  o.iterations = 1;
  o.reconstruct_at = reconstruct_at;
  const WarmStart warm = enc.invert(x, std::nullopt, o).warm_start();  // the "previous frame"
  for (auto _ : state) benchmark::DoNotOptimize(enc.invert(x, warm, o));
  state.counters["threads"] = at::get_num_threads();
  state.counters["peak_rss_MB"] = peak_rss_mb();
  // (Its effect on the trajectory is measured by ReconstructAt.At256StaysCloseToTheFullTrajectory
  // in test_encoders: random full-size ReStyle diverges over warm-started frames, so it cannot.)
}

BENCHMARK_CAPTURE(BM_VideoInversion, full_1024, 0)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK_CAPTURE(BM_VideoInversion, at_256, 256)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

BENCHMARK_CAPTURE(BM_ConvRate, fp32, at::kFloat)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_ConvRate, bf16, at::kBFloat16)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Encoder, restyle_backbone_fp32, EncoderKind::Backbone, at::kFloat)
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Encoder, restyle_backbone_bf16, EncoderKind::Backbone, at::kBFloat16)
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Encoder, psp_fp32, EncoderKind::GradualStyle, at::kFloat)
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Encoder, psp_bf16, EncoderKind::GradualStyle, at::kBFloat16)
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Encoder, e4e_fp32, EncoderKind::Encoder4Editing, at::kFloat)
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Encoder, e4e_bf16, EncoderKind::Encoder4Editing, at::kBFloat16)
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_PaperJob, fp32, at::kFloat)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_PaperJob, bf16, at::kBFloat16)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

// Native frames in and out (micromotion/native_frame.h), per 1080p frame with one face: what the
// engine adds to a frame in the front end's own format. In: the whole frame as 8-bit RGB for the
// face tracker (rgb8_view: no copy for rgb24) and the face's footprint at full precision
// (read_rgb). Out: the edit written back as a change (apply_change), every pixel of the footprint
// covered. The footprint is 600 x 600 px, a face filling a third of the frame's height with the
// margin FFHQ alignment adds. Budget: 2 ms a frame (docs/performance.md).
//
// NativeInOut/1080p adds the same small change every frame, so after the first hundred frames the
// footprint is saturated and apply_change writes nothing; NativeInOutVaried/1080p adds a random
// change per sample of up to +-5 levels, with the sign flipped every frame, so that most samples of
// the footprint are written every frame (the cost of writing only what changes).
// MICROMOTION_PORTABLE_KERNELS=1 measures the kernels a CPU without AVX2 runs.
#include <micromotion/native_frame.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

using micromotion::PixelFormat;

void run(benchmark::State& state, bool varied) {
  const auto format = static_cast<PixelFormat>(state.range(0));
  constexpr int w = 1920, h = 1080;
  std::vector<std::vector<uint8_t>> planes(4);
  micromotion::NativeFrame f;
  f.width = w;
  f.height = h;
  f.format = format;
  f.matrix = micromotion::ColorMatrix::bt709;
  std::mt19937 rng(1);
  const micromotion::FormatInfo& info = micromotion::format_info(format);
  for (int p = 0; p < info.planes; ++p) {
    const size_t row = micromotion::plane_row_bytes(format, w, p);
    planes[static_cast<size_t>(p)].resize(row * static_cast<size_t>(micromotion::plane_rows(format, h, p)));
    for (auto& b : planes[static_cast<size_t>(p)]) b = static_cast<uint8_t>(16 + rng() % 200);
    f.data[static_cast<size_t>(p)] = planes[static_cast<size_t>(p)].data();
    f.stride[static_cast<size_t>(p)] = static_cast<std::ptrdiff_t>(row);
  }
  micromotion::FrameChange change[2];  // varied: a change and its opposite, in turn
  for (micromotion::FrameChange& c : change) {
    c.rect = {660, 240, 600, 600};
    c.delta.assign(size_t(600) * 600 * 3, 0.01f);
    c.covered.assign(size_t(600) * 600, 1);
  }
  if (varied) {
    std::uniform_real_distribution<float> level(-0.02f, 0.02f);
    for (size_t i = 0; i < change[0].delta.size(); ++i)
      change[0].delta[i] = level(rng), change[1].delta[i] = -change[0].delta[i];
  }
  micromotion::ImageRGB8 scratch;
  size_t frame = 0;
  for (auto _ : state) {
    const micromotion::ImageView v = micromotion::rgb8_view(f, scratch);
    benchmark::DoNotOptimize(v.data);
    std::vector<float> rgb = micromotion::read_rgb(f, change[0].rect);
    benchmark::DoNotOptimize(rgb.data());
    const micromotion::PixelRect box = micromotion::apply_change(f, change[varied ? frame++ & 1 : 0]);
    benchmark::DoNotOptimize(box);
  }
  state.SetLabel(info.name);
}

void BM_NativeInOut(benchmark::State& state) { run(state, false); }
void BM_NativeInOutVaried(benchmark::State& state) { run(state, true); }
// The formats measured, the same for both.
void formats(benchmark::internal::Benchmark* b) {
  for (const PixelFormat f : {PixelFormat::yuv420p, PixelFormat::rgb24, PixelFormat::nv12, PixelFormat::yuv420p10,
                              PixelFormat::bgra})
    b->Arg(static_cast<int>(f));
}
BENCHMARK(BM_NativeInOut)->Name("NativeInOut/1080p")->Apply(formats)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NativeInOutVaried)->Name("NativeInOutVaried/1080p")->Apply(formats)->Unit(benchmark::kMillisecond);

}  // namespace
BENCHMARK_MAIN();

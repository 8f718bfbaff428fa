// The engine alone through its C API (mm_process), on the frames of a generated face clip:
// the baseline that the FFmpeg filter's throughput is compared with (bench/filter_overhead.sh).
// Needs models: MM_BENCH_MODELS (default <build>/test-models, `micromotion models make-test`)
// and the face test data (packaging/fetch-test-data.sh). Model loading is not timed.
//   MM_BENCH_FRAMES  frames per iteration (default 10), MM_BENCH_ANCHOR (smile),
//   MM_BENCH_ITERS   ReStyle iterations for a new face (default 2, as the filter tests).
#include <micromotion/image.h>
#include <micromotion/micromotion.h>

#include <benchmark/benchmark.h>

#include "test_data_path.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::vector<micromotion::ImageRGB8> clip(int count) {
  std::vector<micromotion::ImageRGB8> frames;
  for (int i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "clips/pan_zoom/%04d.png", i);
    frames.push_back(micromotion::load_image(test_data_path(name)));
  }
  return frames;
}

void BM_EngineAlone(benchmark::State& state) {
  const int count = std::stoi(env("MM_BENCH_FRAMES", "10"));
  const std::string models = env("MM_BENCH_MODELS", MM_BINARY_DIR "/test-models");
  const std::string anchor = env("MM_BENCH_ANCHOR", "smile");
  std::vector<micromotion::ImageRGB8> frames;
  try {
    frames = clip(count);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  mm_params p = mm_default_params();
  p.anchor = anchor.c_str();
  p.models_dir = models.c_str();
  p.iterations = std::stoi(env("MM_BENCH_ITERS", "2"));
  std::vector<uint8_t> out(static_cast<size_t>(frames[0].width()) * frames[0].height() * 3);
  for (auto _ : state) {
    state.PauseTiming();
    char error[1024];
    mm_context* ctx = mm_create(&p, error, sizeof error);  // a fresh stream each iteration
    if (!ctx) {
      state.SkipWithError(error);
      return;
    }
    state.ResumeTiming();
    for (size_t i = 0; i < frames.size(); ++i) {
      const micromotion::ImageView v = frames[i].view();
      mm_frame in{};
      in.data[0] = const_cast<uint8_t*>(v.data);
      in.stride[0] = v.stride;
      in.width = v.width;
      in.height = v.height;
      in.format = MM_PIXEL_RGB24;
      in.index = static_cast<int64_t>(i);
      in.time = i / 25.0;
      in.pts = static_cast<int64_t>(i);
      mm_frame o = in;
      o.data[0] = out.data();
      o.stride[0] = 3 * v.width;
      if (mm_process(ctx, &in, &o, nullptr) != 0) {
        state.SkipWithError(mm_error(ctx));
        break;
      }
    }
    state.PauseTiming();
    mm_destroy(ctx);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * count);
  state.counters["frames"] = count;
}
BENCHMARK(BM_EngineAlone)->Name("EngineAlone")->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace
BENCHMARK_MAIN();

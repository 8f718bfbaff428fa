// StyleGAN2 synthesis at full size (config-f: 1024², 512 channels, 8-layer mapping) with
// random weights built in memory: ms per image and peak RSS, fp32 / bf16, batch 1 / 4,
// early exits at 512 and 256.
//
//   build/bin/bench_stylegan2 --benchmark_filter='Synthesis/1024/fp32/b1' --benchmark_repetitions=5
// Run one configuration per process to read its own peak RSS (ru_maxrss is per process).
#include <micromotion/generator.h>
#include <micromotion/threads.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include "dtype_guard.h"

#include <sys/resource.h>

#include <map>
#include <memory>

namespace {

using micromotion::Generator;

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

const Generator& generator(c10::ScalarType dtype) {
  static std::map<c10::ScalarType, std::unique_ptr<Generator>> cache;
  auto& g = cache[dtype];
  if (!g) {
    auto sd = Generator::random_state_dict(micromotion::GeneratorConfig::config_f(), 1);
    micromotion::GeneratorOptions o;
    o.dtype = dtype;
    g = std::make_unique<Generator>(Generator::from_state_dict(sd, o));
  }
  return *g;
}

void Synthesis(benchmark::State& state, int stop_at, c10::ScalarType dtype, int batch) {
  if (!dtype_runs_here(state, dtype)) return;
  const Generator& g = generator(dtype);
  at::Tensor z = at::randn({batch, 512});
  at::Tensor wplus = g.broadcast(g.mapping(z));
  micromotion::SynthesisOptions o;
  o.stop_at = stop_at;
  g.synthesize(wplus, o);  // warm-up: oneDNN primitive creation
  for (auto _ : state) {
    at::Tensor img = g.synthesize(wplus, o);
    benchmark::DoNotOptimize(img.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * batch);  // images per second
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["threads"] = at::get_num_threads();
}

void register_all() {
  for (int stop : {1024, 512, 256})
    for (auto [dtype, name] : {std::pair{c10::kFloat, "fp32"}, std::pair{c10::kBFloat16, "bf16"}})
      for (int batch : {1, 4}) {
        const std::string id = "Synthesis/" + std::to_string(stop) + "/" + name + "/b" + std::to_string(batch);
        benchmark::RegisterBenchmark(id.c_str(), Synthesis, stop, dtype, batch)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(stop == 1024 ? 3.0 : 1.5);
      }
}

}  // namespace

int main(int argc, char** argv) {
  micromotion::set_threads();
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

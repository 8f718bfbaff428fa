// Benchmarks of a dtype this machine cannot compute in (bf16 on a CPU without AVX-512) report
// generator.h's check_dtype message via SkipWithError instead of aborting the whole run.
#pragma once

#include <micromotion/error.h>
#include <micromotion/generator.h>

#include <benchmark/benchmark.h>

// true: go on; false: the benchmark was marked as skipped with the reason, return at once.
inline bool dtype_runs_here(benchmark::State& state, c10::ScalarType dtype) {
  try {
    micromotion::check_dtype(c10::kCPU, dtype);
    return true;
  } catch (const micromotion::Error& e) {
    state.SkipWithError(e.what());
    return false;
  }
}

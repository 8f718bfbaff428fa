#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 (run as root, with ../shared beside the
# clone): installs dependencies, fetches the face test data, builds (FFmpeg with the filter
# and the OBS plugin included), checks that the filter compiles against FFmpeg 7.1, then runs
#   1. the reader, motion and strength-parser tests under AddressSanitizer +
#      UndefinedBehaviorSanitizer (asan_suites below),
#   2. every libFuzzer target for a bounded time (FUZZ_SECONDS per target, default 30: 2.5 min;
#      the long runs, 1,000,000 executions each, are `tests/fuzz/run.sh --long`),
#   3. a short benchmark smoke run (numbers are printed, nothing is asserted),
#   4. the OBS plugin's .deb: built portable, installed with apt, loaded by the real OBS app,
#   5. every GoogleTest suite through CTest (last, so its summary closes the log).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash packaging/install-deps.sh
bash packaging/fetch-test-data.sh

# ccache keys on relative paths, so every clone (CI makes a fresh one) shares one cache.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
werror=OFF
[ -n "${CI:-}" ] && werror=ON
jobs=$(nproc)

echo "== build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMICROMOTION_WERROR=$werror \
  -DMICROMOTION_WITH_FFMPEG=ON -DMICROMOTION_WITH_OBS=ON
cmake --build build -j "$jobs"   # includes FFmpeg 5.1 with the filter (packaging/build-ffmpeg.sh)

echo "== the FFmpeg filter against FFmpeg 7.1"
bash packaging/build-ffmpeg.sh --version 7.1 --check-only

echo "== readers, motion, strength parser and the render transcoder under ASan + UBSan"
# One suite per line: adding a suite to the sanitizer run is adding its line here (a
# suite that needs the face layer or the CLI also sets the matching option below).
asan_suites=(
  test_io        # checkpoint, pickle, npy, zip, hostile files
  test_motion    # safetensors, micromotion files and lookup, RPCA
  test_strength  # the strength-expression parser
  test_render    # render's transcoder (needs the face layer): streams, rotation, damage, size changes
  test_native_frame  # every pixel format's conversion, both kernel sets, canary padding
)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMICROMOTION_SANITIZE=ON \
  -DMICROMOTION_WERROR=$werror -DMICROMOTION_BUILD_BENCH=OFF -DMICROMOTION_BUILD_CLI=OFF \
  -DMICROMOTION_WITH_FACE=ON >/dev/null
cmake --build build-asan -j "$jobs" --target "${asan_suites[@]}"
for suite in "${asan_suites[@]}"; do
  echo "-- $suite"
  ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-asan/bin/$suite" --gtest_brief=1
done

echo "== fuzzing"
bash tests/fuzz/run.sh "${FUZZ_SECONDS:-30}"

echo "== benchmark smoke run"
build/bin/bench_stylegan2 --benchmark_filter='Synthesis/256/fp32/b1' --benchmark_min_time=0.2

echo "== OBS plugin .deb: packaging build (portable code), install with apt, the OBS app edits"
cmake -S . -B build-pkg -G Ninja -DCMAKE_BUILD_TYPE=Release -DMICROMOTION_WERROR=$werror \
  -DMICROMOTION_WITH_OBS=ON -DMICROMOTION_NATIVE_ARCH=OFF -DMICROMOTION_BUILD_TESTS=OFF \
  -DMICROMOTION_BUILD_BENCH=OFF -DMICROMOTION_BUILD_CLI=OFF >/dev/null 2>&1
cmake --build build-pkg -j "$jobs"
bash tests/obs/deb_check.sh build-pkg build/bin/test_obs --install build

echo "== tests ($(( $(date +%s) - start )) s so far)"
# Two test processes share the cores: OpenMP threads that spin while they wait take the CPU
# from the other process (two copies of CApi.NativeFrames… at once: 15 s passive, 27-29 s spinning).
OMP_WAIT_POLICY=PASSIVE ctest --test-dir build --output-on-failure -j "$jobs" --timeout 900

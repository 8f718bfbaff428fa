#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a bounded time, seeded from the fixtures.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
fixtures=${MICROMOTION_FIXTURES:-../shared/fixtures}
build=build-fuzz
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DMICROMOTION_BUILD_FUZZ=ON -DMICROMOTION_BUILD_TESTS=OFF -DMICROMOTION_BUILD_BENCH=OFF \
  -DMICROMOTION_BUILD_CLI=OFF -DMICROMOTION_WITH_FACE=OFF -DMICROMOTION_NATIVE_ARCH=OFF >/dev/null
cmake --build "$build" --target fuzz_checkpoint fuzz_pickle fuzz_npy fuzz_safetensors

seeds="$build/seeds"
rm -rf "$seeds"
mkdir -p "$seeds/checkpoint" "$seeds/pickle" "$seeds/npy" "$seeds/safetensors"
# Small checkpoints only: the mutator works best on short inputs.
find "$fixtures" -type f \( -name '*.pt' -o -name 'd_latent*' \) -size -2M -exec cp {} "$seeds/checkpoint/" \;
find "$fixtures" -type f -name '*.npy' -size -64k -exec cp {} "$seeds/npy/" \;
# data.pkl of each small checkpoint, for the interpreter alone.
i=0
for f in "$seeds"/checkpoint/*; do
  if command -v python3 >/dev/null; then
    python3 - "$f" "$seeds/pickle/$i.pkl" <<'PY' || true
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = [n for n in z.namelist() if n.endswith('/data.pkl')][0]
open(sys.argv[2], 'wb').write(z.read(name))
PY
  fi
  i=$((i + 1))
done

# A tiny micromotion file in our format: 8-byte header length, JSON header, raw float32 data.
if command -v python3 >/dev/null; then
  python3 - "$seeds/safetensors/seed.safetensors" <<'PY'
import json, struct, sys
data = struct.pack('<6f', 0.5, -1.0, 2.0, 0.0, 1.5, -0.25)
h = json.dumps({"__metadata__": {"name": "seed", "default_strength": "5"},
                "basis": {"dtype": "F32", "shape": [1, 2, 3], "data_offsets": [0, len(data)]}}).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + data)
PY
fi

export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:detect_odr_violation=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/crashes"
for target in checkpoint pickle npy safetensors; do
  echo "fuzz_$target: ${seconds}s"
  "$build/bin/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -timeout=20 \
    -artifact_prefix="$build/crashes/${target}-" -print_final_stats=1 "$seeds/$target" 2>&1 |
    grep -E '^(stat::number_of_executed_runs|stat::new_units_added|INFO: Running with|==[0-9]+==ERROR|SUMMARY)' || true
  if ls "$build/crashes/${target}-"* >/dev/null 2>&1; then
    echo "fuzz_$target found a crash: $(ls "$build/crashes/${target}-"*)" >&2
    exit 1
  fi
done
echo "fuzzing: no crashes"

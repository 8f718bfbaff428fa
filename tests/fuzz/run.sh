#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each, seeded from the fixtures and from crafted
# files for every class of hostile input (make_seeds.py).
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]   bounded run, default 60 s per target (CI)
#   tests/fuzz/run.sh --long                 each target to 1,000,000 executions
#   FUZZ_TARGETS="npy strength" tests/fuzz/run.sh ...   only these targets (runs of
#                                            different targets may share build-fuzz)
# A target that fails to start, exits non-zero (crash, leak, UBSan report, timeout, OOM)
# or leaves an artifact fails the script. Each target's summary line gives executions,
# seconds and coverage (cov: edges, ft: features, from libFuzzer's final stats).
set -euo pipefail
cd "$(dirname "$0")/../.."
long=0
seconds=60
case "${1:-}" in
  --long) long=1 ;;
  "") ;;
  *) seconds=$1 ;;
esac
runs=${FUZZ_RUNS:-1000000}
fixtures=${MICROMOTION_FIXTURES:-../shared/fixtures}
build=build-fuzz
targets=${FUZZ_TARGETS:-checkpoint pickle npy safetensors strength edit_list}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DMICROMOTION_BUILD_FUZZ=ON -DMICROMOTION_BUILD_TESTS=OFF -DMICROMOTION_BUILD_BENCH=OFF \
  -DMICROMOTION_BUILD_CLI=OFF -DMICROMOTION_WITH_FACE=OFF -DMICROMOTION_NATIVE_ARCH=OFF >/dev/null
cmake --build "$build" --target $(for t in $targets; do printf 'fuzz_%s ' "$t"; done)

seeds="$build/seeds"
for t in $targets; do rm -rf "${seeds:?}/$t" "$build/crashes/$t-"* "$build/logs/$t.log"; done
python3 tests/fuzz/make_seeds.py "$seeds"
for t in $targets; do mkdir -p "$seeds/$t"; done
# Edit lists: valid and hostile ones, kept as files (docs/edits.md).
[ -d "$seeds/edit_list" ] && cp tests/fuzz/seeds/edit_list/*.json "$seeds/edit_list/"
# Small checkpoints only (up to -max_len): the mutator works best on short inputs.
find "$fixtures" -type f \( -name '*.pt' -o -name 'd_latent*' \) -size -64k -exec cp {} "$seeds/checkpoint/" \;
find "$fixtures" -type f -name '*.npy' -size -64k -exec cp {} "$seeds/npy/" \;
# data.pkl of each fixture checkpoint, for the interpreter alone.
python3 - "$seeds" <<'PY'
import os, sys, zipfile
seeds = sys.argv[1]
if not os.path.isdir(os.path.join(seeds, "pickle")):
    sys.exit(0)
for f in os.listdir(os.path.join(seeds, "checkpoint")):
    try:
        z = zipfile.ZipFile(os.path.join(seeds, "checkpoint", f))
        name = [n for n in z.namelist() if n.endswith('/data.pkl')][0]
        open(os.path.join(seeds, "pickle", f + ".pkl"), "wb").write(z.read(name))
    except Exception:
        pass  # the crafted archives: duplicate names, several data.pkl
PY

# Leaks are errors too (LibTorch's one known leak is suppressed, see lsan.supp).
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:detect_odr_violation=0
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/crashes" "$build/logs"
failed=""
for target in $targets; do
  if [ "$long" = 1 ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$seconds"); fi
  log="$build/logs/$target.log"
  start=$(date +%s)
  rc=0
  "$build/bin/fuzz_$target" "${limit[@]}" -rss_limit_mb=2048 -max_len=65536 -timeout=20 \
    -artifact_prefix="$build/crashes/${target}-" -print_final_stats=1 "$seeds/$target" >"$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -1)
  final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$final")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$final")
  rate=$(( ${execs:-0} / (elapsed > 0 ? elapsed : 1) ))
  echo "fuzz_$target: execs=${execs:-?} seconds=$elapsed exec/s=$rate cov=${cov:-?} ft=${ft:-?} exit=$rc"
  grep -E '==[0-9]+==ERROR|SUMMARY|runtime error' "$log" | head -5 || true
  if [ "$rc" != 0 ] || [ -z "$execs" ] || ls "$build/crashes/${target}-"* >/dev/null 2>&1; then
    echo "fuzz_$target FAILED (exit $rc; log $log; artifacts: $(ls "$build/crashes/${target}-"* 2>/dev/null | tr '\n' ' '))" >&2
    tail -20 "$log" >&2
    failed="$failed $target"
  fi
done
if [ -n "$failed" ]; then
  echo "fuzzing failed:$failed" >&2
  exit 1
fi
echo "fuzzing: no crashes, leaks or errors"

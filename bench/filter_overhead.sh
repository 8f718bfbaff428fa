#!/usr/bin/env bash
# Throughput of the FFmpeg filter against the engine alone: the same frames (the pan_zoom test
# clip's PNGs, 440x480), models and settings (anchor smile, iters 2).
#   bench/filter_overhead.sh [BUILD_DIR]       FRAMES (default 10), REPS (default 3)
# Engine alone: bench_c_api (mm_process in a loop). Filter: ffmpeg -i %04d.png -vf micromotion
# -f null -, which also decodes the PNGs: that cost counts against the filter. Each side is timed
# for FRAMES and 2*FRAMES frames and the difference taken, so model loading and start-up drop out:
# fps = FRAMES / (t(2F) - t(F)), median over REPS.
set -euo pipefail
build=${1:-build}
frames=${FRAMES:-10}
reps=${REPS:-3}
ffmpeg=${FFMPEG:-$build/ffmpeg-5.1/prefix/bin/ffmpeg}
models=${MM_BENCH_MODELS:-$build/test-models}
data=${MICROMOTION_TEST_DATA:-$HOME/.cache/micromotion/testdata}
[ -x "$ffmpeg" ] || { echo "filter_overhead: no ffmpeg at $ffmpeg (packaging/build-ffmpeg.sh)" >&2; exit 1; }
[ -d "$models" ] || "$build/bin/micromotion" models make-test "$models" >/dev/null
export MM_BENCH_MODELS=$models

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now() { date +%s.%N; }

engine_seconds() {  # frames -> seconds of mm_process for that many frames
  MM_BENCH_FRAMES=$1 "$build/bin/bench_c_api" --benchmark_format=json 2>/dev/null |
    python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"][0]; assert "error_message" not in b, b; print(b["real_time"] / 1000)'
}
filter_seconds() {  # frames, filter prefix -> wall seconds of ffmpeg
  local t0 t1
  t0=$(now)
  "$ffmpeg" -nostdin -v error -framerate 25 -i "$data/clips/pan_zoom/%04d.png" -frames:v "$1" \
    -vf "$2micromotion=anchor=smile:models=$models:iters=2:$3" -f null -
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
pipelines=(engine filter_rgb24 filter_rgb24_async filter_yuv420p)
engine() { engine_seconds "$1"; }
filter_rgb24() { filter_seconds "$1" "format=rgb24," "async=auto"; }         # the default: sync on the CPU
filter_rgb24_async() { filter_seconds "$1" "format=rgb24," "async=1"; }
filter_yuv420p() { filter_seconds "$1" "format=yuv420p," "async=auto"; }    # + the scale filter's RGB-to-YUV

# Repetitions outermost, so a change in the machine's load hits every pipeline alike.
declare -A runs
for _ in $(seq "$reps"); do
  for p in "${pipelines[@]}"; do
    a=$("$p" "$frames")
    b=$("$p" $((2 * frames)))
    runs[$p]+="$(echo "$frames / ($b - $a)" | bc -l) "
  done
done
e=$(printf '%s\n' ${runs[engine]} | median)
echo "| pipeline | fps (median of $reps) | vs engine alone |"
echo "|---|---:|---:|"
for p in "${pipelines[@]}"; do
  f=$(printf '%s\n' ${runs[$p]} | median)
  printf '| %s | %.3f | %.3f |\n' "$p" "$f" "$(echo "$f / $e" | bc -l)"
done

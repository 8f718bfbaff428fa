#!/usr/bin/env bash
# Runs each benchmark of a program in its own process (so peak RSS is its own) and prints
# a markdown table of medians: benchmark, median ms per iteration, images/s, peak RSS.
#   bench/table.sh build/bin/bench_stylegan2 'Synthesis/1024/fp32/b1' 'Synthesis/1024/bf16/b1' ...
# REPS (default 5) repetitions each.
set -euo pipefail
bin=$1
shift
reps=${REPS:-5}
echo "| benchmark | median ms / iteration | images / s | peak RSS MB |"
echo "|---|---:|---:|---:|"
for name in "$@"; do
  "$bin" --benchmark_filter="^${name}(/|$)" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_format=json 2>/dev/null | python3 -c '
import json, sys
runs = json.load(sys.stdin)["benchmarks"]
med = [r for r in runs if r.get("aggregate_name") == "median"][0]
ms = med["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[med["time_unit"]]
print("| %s | %.1f | %.2f | %.0f |" % (sys.argv[1], ms, med.get("items_per_second", 0), med.get("peak_rss_MB", 0)))
' "$name"
done

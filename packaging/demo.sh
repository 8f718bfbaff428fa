#!/usr/bin/env bash
# The main job of this version, from a fresh Debian 12: install what is needed, build,
# make small random-weight test models, and synthesize images with the real loaders and
# generator. Output: out/demo_*.png (random weights draw no real faces: see models/README.md
# for the official weights).
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --target micromotion
build/bin/micromotion models make-test build/test-models
mkdir -p out
build/bin/micromotion generate --model build/test-models/test-stylegan2-1024.pt \
  --sample 4 --seed 1 --truncation 0.7 --out out/demo.png

#!/usr/bin/env bash
# The main job of this version, from a fresh Debian 12: install what is needed, build, make
# small random-weight test models, and render a real face clip with a named micromotion.
#   1. a 2-second clip: a slow zoom over one of dlib's example photos (ffmpeg, H.264);
#   2. `micromotion render` with the paper's published "smile" direction, the strength rising
#      from 0 to 5 over the clip, through the test ReStyle-pSp encoder and generator;
#   3. a contact sheet (frames x strengths -5 .. +5).
# Output: out/demo_in.mp4, out/demo_smile.mp4, out/demo_preview.png, out/demo.png.
# With --ffmpeg: also builds FFmpeg with the filter (packaging/build-ffmpeg.sh, ~10 minutes the
# first time) and runs the README's one-liner: out/demo_aging.mp4.
# Random weights draw no real faces: the edited face region shows the random generator's output,
# composited with the real mask; see models/README.md for the official weights.
set -euo pipefail
cd "$(dirname "$0")/.."
with_ffmpeg=0
[ "${1:-}" = "--ffmpeg" ] && with_ffmpeg=1
bash packaging/install-deps.sh
bash packaging/fetch-test-data.sh   # dlib's example photos (Debian source package), cached
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build --target micromotion
[ -f build/test-models/directions/test-random.safetensors ] || build/bin/micromotion models make-test build/test-models
mkdir -p out
build/bin/micromotion generate --model build/test-models/test-stylegan2-1024.pt \
  --sample 4 --seed 1 --truncation 0.7 --out out/demo.png

photo=${MICROMOTION_TEST_DATA:-$HOME/.cache/micromotion/testdata}/faces/2008_001009.jpg
ffmpeg -nostdin -v error -y -loop 1 -framerate 25 -i "$photo" \
  -vf "scale=720:960,zoompan=z='1+0.004*on':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s=360x480:fps=25" \
  -frames:v 50 -c:v libx264 -crf 18 -pix_fmt yuv420p out/demo_in.mp4

build/bin/micromotion render out/demo_in.mp4 out/demo_smile.mp4 --anchor smile --strength '5*t/2' \
  --models build/test-models
build/bin/micromotion render out/demo_in.mp4 --preview out/demo_preview.png --anchor smile \
  --models build/test-models --frames 50 --iters 2

if [ "$with_ffmpeg" = 1 ]; then
  bash packaging/build-ffmpeg.sh
  MICROMOTION_MODELS=build/test-models build/ffmpeg-5.1/prefix/bin/ffmpeg -nostdin -v error -stats -y \
    -i out/demo_in.mp4 -vf micromotion=anchor=aging out/demo_aging.mp4
fi

#!/usr/bin/env bash
# Offline keyframes: render the pan_zoom clip with keyframe_every K = 1, 2, 4, 8 and print, per K,
# frames per second, the speed-up over K = 1, the PSNR of the face region against the K = 1 output
# (and against the input: how large the edit is) and the jitter `micromotion evaluate` reports
# (docs/performance.md, "Keyframes").
#   bench/keyframes.sh [BUILD_DIR] [MODELS_DIR] [extra render options...]
# MODELS_DIR defaults to BUILD_DIR/test-models (the tiny test models); a directory with the
# official checkpoints gives the real ones (bench_keyframes measures full-size random networks).
set -euo pipefail
build=${1:-build}
models=${2:-$build/test-models}
shift $(( $# > 2 ? 2 : $# ))
mm="$build/bin/micromotion"
data=${MICROMOTION_TEST_DATA:-$HOME/.cache/micromotion/testdata}
clip="$data/clips/pan_zoom"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ffmpeg -v error -y -framerate 25 -i "$clip/%04d.png" -c:v ffv1 "$work/in.mkv"
frames=$(find "$clip" -name '[0-9]*.png' | wc -l)

# The face region: the photo's ground-truth face box (dlib's training.xml) through the clip's
# pan and zoom (motion.json), the union over all frames, grown by 25 %.
crop=$(python3 - "$clip/motion.json" "$data/faces/training.xml" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
m = json.load(open(sys.argv[1]))
src = m["source"].split("/")[-1]
img = next(i for i in ET.parse(sys.argv[2]).getroot().iter("image") if i.get("file") == src)
b = img.find("box")  # the first face is the one the clip centres
l, t, w, h = (float(b.get(k)) for k in ("left", "top", "width", "height"))
sw, sh = m["source_size"]
x0 = y0 = 1e9; x1 = y1 = -1e9
for f in m["frames"]:
    (cw, ch), (ox, oy) = f["scaled"], f["offset"]
    for px, py in ((l, t), (l + w, t + h)):
        X = (px + 0.5) * cw / sw - 0.5 - ox; Y = (py + 0.5) * ch / sh - 0.5 - oy
        x0, y0, x1, y1 = min(x0, X), min(y0, Y), max(x1, X), max(y1, Y)
g = 0.25 * (x1 - x0)
W, H = m["size"]
x0, y0 = max(0, int(x0 - g)), max(0, int(y0 - g))
x1, y1 = min(W, int(x1 + g)), min(H, int(y1 + g))
print(f"{x1 - x0}:{y1 - y0}:{x0}:{y0}")
EOF
)

psnr() {  # average PSNR of the face region of $1 against $2
  ffmpeg -v info -i "$1" -i "$2" -lavfi "[0]crop=$crop[a];[1]crop=$crop[b];[a][b]psnr" -f null - 2>&1 |
    sed -n 's/.* average:\([^ ]*\).*/\1/p' | tail -1
}

echo "face region (w:h:x:y) $crop; models $models; options: --mode delta --dtype fp32 $*"
printf '%-3s %8s %8s %14s %16s %22s\n' K fps speedup "PSNR vs K=1" "PSNR vs input" "jitter (output/input)"
base_fps=
for k in 1 2 4 8; do
  start=$(date +%s.%N)
  "$mm" render -y "$work/in.mkv" "$work/k$k.mkv" --models "$models" --dtype fp32 --mode delta \
    --keyframe-every "$k" "$@" >"$work/render$k.log" 2>&1
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  fps=$(echo "scale=3; $frames / $secs" | bc)
  [ -z "$base_fps" ] && base_fps=$fps
  p=$([ "$k" = 1 ] && echo inf || psnr "$work/k$k.mkv" "$work/k1.mkv")
  "$mm" evaluate "$work/in.mkv" "$work/k$k.mkv" --models "$data/models" --json "$work/eval$k.json" >/dev/null 2>&1 || true
  jitter=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); t=r['tracks'][0]; print(round(t['jitter_ratio'], 3))" "$work/eval$k.json" 2>/dev/null || echo '?')
  printf '%-3s %8s %8s %14s %16s %22s\n' "$k" "$fps" "$(echo "scale=2; $fps / $base_fps" | bc)x" "$p" \
    "$(psnr "$work/k$k.mkv" "$work/in.mkv")" "$jitter"
done

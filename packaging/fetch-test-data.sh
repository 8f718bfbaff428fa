#!/usr/bin/env bash
# Fetches the face test data from Debian's dlib source package and makes the test clips.
#   packaging/fetch-test-data.sh [CACHE_DIR]
# CACHE_DIR defaults to $MICROMOTION_TEST_DATA, else ~/.cache/micromotion/testdata.
# Result (idempotent: finished steps are skipped):
#   faces/*.jpg, faces/{training,testing}_with_face_landmarks.xml   dlib examples/faces
#   johns/<person>/*.jpg                                          dlib examples/johns
#   models/{mmod_human_face_detector,shape_predictor_5_face_landmarks,
#           shape_predictor_68_face_landmarks,dlib_face_recognition_resnet_model_v1}.dat
#   clips/{pan_zoom,two_faces,gaps,two_johns}/NNNN.png + clips/*/motion.json  test clips (see below)
# Needs: apt (deb-src for Debian, added here if missing; needs root then), dpkg-dev, bzip2,
# xz-utils, ffmpeg, python3 (for the clip metadata only).
set -euo pipefail

cache=${1:-${MICROMOTION_TEST_DATA:-$HOME/.cache/micromotion/testdata}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
work="$cache/src"
mkdir -p "$work"

log() { echo "fetch-test-data: $*"; }

# --- 1. dlib's Debian source package --------------------------------------------------------
have_sources() { compgen -G "$work/dlib_*.orig*.tar.*" >/dev/null; }
if ! have_sources; then
  bash "$(dirname "$0")/ensure-deb-src.sh"
  log "downloading dlib's source package into $work"
  (cd "$work" && apt-get source --download-only dlib >/dev/null)
fi

# --- 2. faces, johns, the models ---------------------------------------------------------------
orig=$(ls "$work"/dlib_*.orig.tar.* | head -n1)
if [ ! -f "$cache/faces/testing_with_face_landmarks.xml" ] || [ ! -d "$cache/johns" ]; then
  log "unpacking examples/faces and examples/johns from $(basename "$orig")"
  tmp=$(mktemp -d "$cache/unpack.XXXXXX")
  tar -xf "$orig" -C "$tmp" --wildcards '*/examples/faces/*' '*/examples/johns/*'
  rm -rf "$cache/faces" "$cache/johns"
  mv "$tmp"/*/examples/faces "$cache/faces"
  mv "$tmp"/*/examples/johns "$cache/johns"
  rm -rf "$tmp"
fi

models=(mmod_human_face_detector shape_predictor_5_face_landmarks shape_predictor_68_face_landmarks
        dlib_face_recognition_resnet_model_v1)
need_models=0
for m in "${models[@]}"; do [ -s "$cache/models/$m.dat" ] || need_models=1; done
if [ $need_models -eq 1 ]; then
  # The models ship as a separate orig component tarball (dlib_*.orig-models.tar.*) or inside the
  # main one, depending on the packaging; look in every tarball of the source package.
  mkdir -p "$cache/models"
  for tarball in "$work"/dlib_*.orig*.tar.*; do
    listing=$(tar -tf "$tarball")  # list once: bzip2 tarballs are slow to scan
    for m in "${models[@]}"; do
      [ -s "$cache/models/$m.dat" ] && continue
      member=$(grep -E "(^|/)$m\.dat(\.bz2)?$" <<<"$listing" | head -n1 || true)
      [ -n "$member" ] || continue
      log "extracting $member"
      part="$cache/models/$m.dat.part"
      if [[ "$member" == *.bz2 ]]; then
        tar -xOf "$tarball" "$member" | bunzip2 -c > "$part"
      else
        tar -xOf "$tarball" "$member" > "$part"
      fi
      mv "$part" "$cache/models/$m.dat"
    done
  done
  for m in "${models[@]}"; do
    if [ ! -s "$cache/models/$m.dat" ]; then
      echo "fetch-test-data: $m.dat not found in $(ls "$work"/dlib_*.orig*.tar.* | xargs -n1 basename | tr '\n' ' ')" >&2
      exit 1
    fi
  done
fi

# --- 3. test clips ------------------------------------------------------------------------------
# Each clip is encoded to H.264 (so frames carry real compression noise) and decoded back to a PNG
# sequence that the C++ tests read without a video library, with motion.json describing it.
command -v ffmpeg >/dev/null || { echo "fetch-test-data: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 1; }
clips="$cache/clips"
mkdir -p "$clips"

# encode_decode DIR: DIR/raw/%04d.png -> DIR/clip.mp4 -> DIR/%04d.png (raw/ removed).
encode_decode() {
  local dir=$1
  ffmpeg -nostdin -v error -y -framerate 25 -i "$dir/raw/%04d.png" -c:v libx264 -preset veryfast -crf 18 \
    -pix_fmt yuv420p "$dir/clip.mp4"
  ffmpeg -nostdin -v error -y -i "$dir/clip.mp4" -pix_fmt rgb24 -start_number 0 "$dir/%04d.png"
  rm -rf "$dir/raw"
}

# pan_zoom: one face, 60 frames of 440x480. Frame n (t = n/59) is the photo scaled to W x H with
# W = 2*trunc(360*s/2), H = 2*trunc(480*s/2), s = 1.3 + 0.4 t, then cropped at (X, Y) =
# (trunc(10 + 60 t), trunc(60 + 100 t)). So a photo point p maps to the frame point
# (p + 0.5) * (W/360, H/480) - 0.5 - (X, Y): a known slow zoom and pan. One ffmpeg call per frame
# keeps every frame's geometry exact (filters cannot change their output size mid-stream).
make_pan_zoom() {
  local out="$clips/pan_zoom" src="$cache/faces/2008_001009.jpg"
  [ -f "$out/motion.json" ] && return
  rm -rf "$out"; mkdir -p "$out/raw"
  python3 - "$out" > "$out/geometry.txt" <<'PY2'
import json, math, sys
out = sys.argv[1]
frames = []
for n in range(60):
    t = n / 59
    s = 1.3 + 0.4 * t
    W, H = 2 * math.trunc(360 * s / 2), 2 * math.trunc(480 * s / 2)
    X, Y = math.trunc(10 + 60 * t), math.trunc(60 + 100 * t)
    frames.append({"scaled": [W, H], "offset": [X, Y]})
    print(n, W, H, X, Y)
json.dump({"source": "faces/2008_001009.jpg", "source_size": [360, 480], "size": [440, 480],
           "mapping": "frame = (photo + 0.5) * scaled / source_size - 0.5 - offset",
           "frames": frames}, open(out + "/motion.json.part", "w"), indent=1)
PY2
  while read -r n W H X Y; do
    ffmpeg -nostdin -v error -y -i "$src" -vf "scale=$W:$H:flags=bicubic,crop=440:480:$X:$Y,format=rgb24" \
      "$out/raw/$(printf %04d "$n").png"
  done < "$out/geometry.txt"
  rm -f "$out/geometry.txt"
  encode_decode "$out"
  mv "$out/motion.json.part" "$out/motion.json"
}

# two_faces: two photos side by side (300x360 crops, hstack to 600x360), 40 frames; each crop
# drifts 1 px/frame (the left face moves left, the right face moves left too).
make_two_faces() {
  local out="$clips/two_faces"
  [ -f "$out/motion.json" ] && return
  rm -rf "$out"; mkdir -p "$out/raw"
  ffmpeg -nostdin -v error -y -loop 1 -framerate 25 -i "$cache/faces/2008_001009.jpg" \
    -loop 1 -framerate 25 -i "$cache/faces/2008_001322.jpg" -frames:v 40 \
    -filter_complex "[0:v]crop=w=300:h=360:x='20+n':y=60:exact=1[a];[1:v]crop=w=300:h=360:x='190+n':y=8:exact=1[b];[a][b]hstack=inputs=2,format=rgb24" \
    -start_number 0 "$out/raw/%04d.png"
  encode_decode "$out"
  echo '{"frames": 40, "faces": 2, "size": [600, 360], "left": "faces/2008_001009.jpg", "right": "faces/2008_001322.jpg"}' \
    > "$out/motion.json"
}

# gaps: a face for frames 0-9, a face-free noise field for 10-19, the face again (slightly moved)
# for 20-29.
make_gaps() {
  local out="$clips/gaps"
  [ -f "$out/motion.json" ] && return
  rm -rf "$out"; mkdir -p "$out/raw"
  ffmpeg -nostdin -v error -y -loop 1 -framerate 25 -i "$cache/faces/2008_001009.jpg" -frames:v 10 \
    -vf "crop=300:360:20:60,format=rgb24" -start_number 0 "$out/raw/%04d.png"
  ffmpeg -nostdin -v error -y -f lavfi -i "color=c=0x707880:s=300x360:r=25,noise=alls=40:allf=t,gblur=sigma=3,format=rgb24" \
    -frames:v 10 -start_number 10 "$out/raw/%04d.png"
  ffmpeg -nostdin -v error -y -loop 1 -framerate 25 -i "$cache/faces/2008_001009.jpg" -frames:v 10 \
    -vf "crop=300:360:28:56,format=rgb24" -start_number 20 "$out/raw/%04d.png"
  encode_decode "$out"
  echo '{"frames": 30, "face_frames": [[0, 9], [20, 29]], "empty_frames": [10, 19], "size": [300, 360]}' \
    > "$out/motion.json"
}

# two_johns: two different people side by side, for matching tracks to reference photos. The first
# photo (by sorted name) of johns/John_Salley and of johns/John_Savage, each scaled 2x to 300x300,
# over a flat grey 760x400 background, 40 frames at 25 fps, both at y = 50. Frame n: Salley (left)
# at x = 2n, Savage (right) at x = 460 - 2n: the photos never overlap (at n = 39 the left one ends
# at x = 378, the right one starts at 382). Savage leaves for frames 16-25 (background only there)
# and comes back at 26-39. motion.json names the photos used.
make_two_johns() {
  local out="$clips/two_johns"
  [ -f "$out/motion.json" ] && return
  local left right
  left=$(cd "$cache/johns/John_Salley" && ls -1 -- *.jpg | LC_ALL=C sort | head -n1)
  right=$(cd "$cache/johns/John_Savage" && ls -1 -- *.jpg | LC_ALL=C sort | head -n1)
  rm -rf "$out"; mkdir -p "$out/raw"
  ffmpeg -nostdin -v error -y -f lavfi -i "color=c=0x7c8084:s=760x400:r=25" \
    -loop 1 -framerate 25 -i "$cache/johns/John_Salley/$left" \
    -loop 1 -framerate 25 -i "$cache/johns/John_Savage/$right" -frames:v 40 \
    -filter_complex "[1:v]scale=300:300:flags=bicubic[a];[2:v]scale=300:300:flags=bicubic[b];[0:v][a]overlay=x='2*n':y=50:eval=frame[l];[l][b]overlay=x='460-2*n':y=50:eval=frame:enable='not(between(n,16,25))',format=rgb24" \
    -start_number 0 "$out/raw/%04d.png"
  encode_decode "$out"
  cat > "$out/motion.json" <<JSON
{"frames": 40, "fps": 25, "size": [760, 400], "photo_size": [300, 300], "y": 50,
 "people": [
  {"name": "John_Salley", "photo": "johns/John_Salley/$left", "frames": [[0, 39]], "x": "2*n"},
  {"name": "John_Savage", "photo": "johns/John_Savage/$right", "frames": [[0, 15], [26, 39]], "x": "460-2*n"}]}
JSON
}

make_pan_zoom
make_two_faces
make_gaps
make_two_johns
log "done: $cache"

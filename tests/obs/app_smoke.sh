#!/usr/bin/env bash
# Smoke test with the real OBS Studio app (run under xvfb-run): the plugin installed per user
# (obs-plugin/packaging/install-user.sh) into a private XDG_CONFIG_HOME, a scene collection with
# a media source on the pan_zoom face clip and the Micromotion filter (test models), OBS started
# with --startrecording, stopped once the filter has been editing for a while; then
# `test_obs --gtest_filter=ObsApp.*` checks that the recording has edited frames (face changed,
# the rest as in the clip).
#
#   tests/obs/app_smoke.sh BUILD_DIR TEST_OBS_BINARY
# Environment: MM_OBS_APP_PLUGIN=system uses the installed plugin (the .deb) instead of a
# per-user install; MM_OBS_APP_KEEP=1 keeps the work folder (config, OBS log, recording).
set -euo pipefail

build="$(cd "$1" && pwd)"
test_obs="$2"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data="${MICROMOTION_TEST_DATA:-$HOME/.cache/micromotion/testdata}"
clip="$data/clips/pan_zoom/clip.mp4"
record_seconds="${MM_OBS_APP_RECORD_SECONDS:-15}"

fail() { echo "app_smoke: FAIL: $*" >&2; exit 1; }
[[ -f "$clip" ]] || fail "face test data missing: $clip (run packaging/fetch-test-data.sh)"
command -v obs >/dev/null || fail "the obs-studio package is not installed"
[[ -n "${DISPLAY:-}" ]] || fail "no X display: run under xvfb-run -a"

# The build tree's test models (same directory and atomic creation as the engine tests).
models="$build/test-models"
if [[ ! -f "$models/directions/test-random.safetensors" ]]; then
  tmp="$build/test-models.tmp.$$"
  rm -rf "$tmp"
  "$build/bin/micromotion" models make-test "$tmp" >/dev/null
  mv -T "$tmp" "$models" 2>/dev/null || rm -rf "$tmp"
fi

mkdir -p "$build/test-tmp"
work="$(mktemp -d "$build/test-tmp/obs-app.XXXXXX")"
export XDG_CONFIG_HOME="$work/config"
cfg="$XDG_CONFIG_HOME/obs-studio"
mkdir -p "$cfg/basic/profiles/MM" "$cfg/basic/scenes" "$work/rec"

if [[ "${MM_OBS_APP_PLUGIN:-user}" == "system" ]]; then
  [[ -f /usr/lib/x86_64-linux-gnu/obs-plugins/micromotion.so ]] || fail "the obs-micromotion package is not installed"
else
  "$src/obs-plugin/packaging/install-user.sh" "$build"
fi

# FirstRun/LastVersion: no auto-configuration wizard; ConfirmOnExit: no dialog on SIGINT.
cat > "$cfg/global.ini" <<EOF
[General]
FirstRun=true
LastVersion=486539266
ConfirmOnExit=false
[Basic]
Profile=MM
ProfileDir=MM
SceneCollection=MM
SceneCollectionFile=MM
EOF

cat > "$cfg/basic/profiles/MM/basic.ini" <<EOF
[General]
Name=MM
[Output]
Mode=Simple
[SimpleOutput]
FilePath=$work/rec
RecFormat=mkv
RecFormat2=mkv
RecQuality=HQ
RecEncoder=x264
StreamEncoder=x264
FileNameWithoutSpace=true
[Video]
BaseCX=440
BaseCY=480
OutputCX=440
OutputCY=480
FPSType=1
FPSInt=25
ColorFormat=NV12
ColorSpace=709
ColorRange=Partial
[Audio]
SampleRate=48000
ChannelSetup=Stereo
EOF

cat > "$cfg/basic/scenes/MM.json" <<EOF
{
  "name": "MM",
  "current_scene": "Scene",
  "current_program_scene": "Scene",
  "scene_order": [{"name": "Scene"}],
  "transitions": [],
  "current_transition": "Fade",
  "transition_duration": 300,
  "sources": [
    {
      "id": "scene", "versioned_id": "scene", "name": "Scene",
      "settings": {
        "id_counter": 1,
        "items": [{"name": "Face", "id": 1, "visible": true, "locked": false, "align": 5,
                   "pos": {"x": 0.0, "y": 0.0}, "scale": {"x": 1.0, "y": 1.0}, "rot": 0.0,
                   "bounds_type": 0, "bounds": {"x": 0.0, "y": 0.0}}]
      }
    },
    {
      "id": "ffmpeg_source", "versioned_id": "ffmpeg_source", "name": "Face",
      "settings": {"is_local_file": true, "local_file": "$clip", "looping": true, "hw_decode": false,
                   "restart_on_activate": false, "close_when_inactive": false},
      "filters": [
        {"id": "micromotion_filter", "versioned_id": "micromotion_filter", "name": "Micromotion",
         "enabled": true,
         "settings": {"anchor": "smile", "strength": 5.0, "models_dir": "$models", "hold_last": true}}
      ]
    }
  ]
}
EOF

log="$work/obs.log"
obs --multi --collection MM --profile MM --scene Scene --startrecording --disable-missing-files-check \
  >"$log" 2>&1 &
pid=$!
stop_obs() {
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap stop_obs EXIT

# Wait for the filter's first edited frame (model loading and the first inversion take a while).
for _ in $(seq 1 600); do
  grep -q "\[micromotion\].*first edited frame" "$log" && break
  kill -0 "$pid" 2>/dev/null || { tail -50 "$log"; fail "OBS exited early"; }
  sleep 0.5
done
grep -q "\[micromotion\] filter loaded" "$log" || { tail -80 "$log"; fail "OBS did not load the plugin"; }
grep -q "\[micromotion\].*first edited frame" "$log" || { tail -80 "$log"; fail "no edited frame within 300 s"; }
grep -q -i "recording start\|==== Recording Start" "$log" || { tail -80 "$log"; fail "OBS did not start recording"; }
sleep "$record_seconds"
stop_obs
trap - EXIT
grep "\[micromotion\]" "$log" || true

rec="$(ls "$work"/rec/*.mkv 2>/dev/null | head -1)"
[[ -n "$rec" ]] || { tail -80 "$log"; fail "no recording in $work/rec"; }
echo "app_smoke: recording $rec"
ffmpeg -v error -y -i "$rec" -f rawvideo -pix_fmt rgb24 "$work/rec.rgb"
ffmpeg -v error -y -i "$clip" -f rawvideo -pix_fmt rgb24 "$work/clip.rgb"
MM_OBS_RECORDING="$work/rec.rgb" MM_OBS_CLIP_RAW="$work/clip.rgb" MM_OBS_SIZE="440x480" \
  "$test_obs" --gtest_filter='ObsApp.*'
grep -E "Stopping recording|Recording Stop|Shutting down|Freeing OBS" "$log" | head -5 || true
[[ "${MM_OBS_APP_KEEP:-0}" == 1 ]] && echo "app_smoke: kept $work" || rm -rf "$work"

#!/usr/bin/env bash
# Builds ffmpeg and ffprobe with the micromotion filter from Debian's FFmpeg source package.
#
#   packaging/build-ffmpeg.sh [--version 5.1|7.1] [--prefix DIR] [--check-only] [-- CONFIGURE_ARGS...]
#
#   --version 5.1   (default) Debian 12's FFmpeg 5.1: the binaries users run.
#   --version 7.1   Debian 13's FFmpeg 7.1, fetched from trixie's deb-src into a private apt
#                   state (this system's apt sources are left as they are).
#   --prefix DIR    where bin/ffmpeg and bin/ffprobe go (default: <build>/ffmpeg-<version>/prefix).
#   --check-only    configure and compile libavfilter/vf_micromotion.o only: proves the filter
#                   compiles against that FFmpeg, without building all of it. Any compiler
#                   warning in the filter fails the check.
#   CONFIGURE_ARGS  added to FFmpeg's configure (e.g. --enable-libdav1d).
#
# Needs: a micromotion build in $MICROMOTION_BUILD (default build/, made here when missing),
# dpkg-dev, nasm, pkg-config, ccache (optional, strongly advised: FFmpeg is ~2900 files),
# libx264-dev (optional: H.264 encoding). Sources are cached in $MICROMOTION_CACHE/ffmpeg
# (default ~/.cache/micromotion/ffmpeg); the build tree is reused when its configuration is
# unchanged, so a second run only recompiles what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=5.1
prefix=
check_only=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --check-only) check_only=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-ffmpeg: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$version" in
  5.1) suite=bookworm ;;
  7.1) suite=trixie ;;
  *) echo "build-ffmpeg: --version must be 5.1 or 7.1 (got '$version')" >&2; exit 2 ;;
esac

mmbuild=${MICROMOTION_BUILD:-$root/build}
work="$mmbuild/ffmpeg-$version"
prefix=${prefix:-$work/prefix}
cache=${MICROMOTION_CACHE:-$HOME/.cache/micromotion}/ffmpeg/$suite
jobs=$(nproc)
log() { echo "build-ffmpeg [$version]: $*"; }

# --- 1. libmicromotion and its pkg-config file ---------------------------------------------
if [ ! -f "$mmbuild/lib/pkgconfig/micromotion.pc" ]; then
  log "building libmicromotion in $mmbuild"
  cmake -S "$root" -B "$mmbuild" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
# (Not when CMake runs this script: it has built the library already.)
[ -n "${MICROMOTION_LIB_BUILT:-}" ] || cmake --build "$mmbuild" -j "$jobs" --target micromotion_shared >/dev/null
export PKG_CONFIG_PATH="$mmbuild/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
mmlibdir=$(pkg-config --variable=libdir micromotion)

# --- 2. the source package -------------------------------------------------------------------
mkdir -p "$cache"
if ! ls "$cache"/ffmpeg_*.dsc >/dev/null 2>&1; then
  log "fetching FFmpeg's source package from Debian $suite"
  if [ "$suite" = bookworm ]; then
    bash "$root/packaging/ensure-deb-src.sh"   # apt-get source needs a deb-src entry
    (cd "$cache" && apt-get -o APT::Sandbox::User=root source --download-only ffmpeg >/dev/null 2>&1)
  else
    # A private apt state that knows trixie's sources only.
    state="$cache/apt"
    mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
      > "$state/sources.list"
    apt_opts=(-o APT::Sandbox::User=root -o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache")
    apt-get "${apt_opts[@]}" update -qq
    (cd "$cache" && apt-get "${apt_opts[@]}" source --download-only ffmpeg >/dev/null 2>&1)
  fi
  ls "$cache"/ffmpeg_*.dsc >/dev/null 2>&1 || { echo "build-ffmpeg: could not fetch FFmpeg's source from $suite" >&2; exit 1; }
fi
dsc=$(ls "$cache"/ffmpeg_*.dsc | sort -V | tail -1)
src="$work/src"
stamp="$src/.micromotion-source"
# The unpacked tree is reused while the source package and the registration patch are the same.
source_id="$(basename "$dsc") $(sha256sum < "$root/ffmpeg-filter/register-micromotion.patch" | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$source_id" ]; then
  log "unpacking $(basename "$dsc") (Debian's patches applied)"
  rm -rf "$src"
  mkdir -p "$work"
  dpkg-source --no-check -x "$dsc" "$src" >/dev/null
  # The filter joins libavfilter: its source (linked, so edits rebuild) and the registration
  # in configure, libavfilter/Makefile and libavfilter/allfilters.c.
  patch -d "$src" -p1 --quiet --no-backup-if-mismatch < "$root/ffmpeg-filter/register-micromotion.patch"
  echo "$source_id" > "$stamp"
fi
ln -sf "$root/ffmpeg-filter/vf_micromotion.c" "$src/libavfilter/vf_micromotion.c"

# --- 3. configure (only when the configuration changed) -----------------------------------
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
config=(--prefix="$prefix" --cc="$cc" --enable-gpl --enable-libmicromotion
        --extra-ldflags="-Wl,-rpath,$mmlibdir" --disable-doc --disable-ffplay --disable-debug)
if pkg-config --exists x264; then config+=(--enable-libx264); fi
if [ "$check_only" = 1 ]; then
  # Only what the filter needs: configure's dependency resolution still runs for it.
  config+=(--disable-programs --disable-everything --enable-filter=micromotion)
fi
config+=("${extra[@]}")
want="$(printf '%s\n' "${config[@]}")"
if [ ! -f "$src/ffbuild/config.mak" ] || [ "$(cat "$src/.micromotion-config" 2>/dev/null)" != "$want" ]; then
  log "configure ${config[*]}"
  (cd "$src" && ./configure "${config[@]}" > "$work/configure.log" 2>&1) || {
    tail -20 "$work/configure.log" >&2
    echo "build-ffmpeg: configure failed (log: $work/configure.log, $src/ffbuild/config.log)" >&2
    exit 1
  }
  printf '%s\n' "${config[@]}" > "$src/.micromotion-config"
fi
grep -q '^#define CONFIG_MICROMOTION_FILTER 1' "$src/config_components.h" "$src/config.h" 2>/dev/null || {
  echo "build-ffmpeg: configure did not enable the micromotion filter (see $work/configure.log)" >&2
  exit 1
}

# --- 4. build ------------------------------------------------------------------------------
if [ "$check_only" = 1 ]; then
  rm -f "$src/libavfilter/vf_micromotion.o"
  out=$(make -C "$src" -j "$jobs" libavfilter/vf_micromotion.o V=1 2>&1) || { echo "$out" >&2; exit 1; }
  if grep -q 'warning:' <<<"$out"; then
    echo "$out" | grep -A3 'warning:' >&2
    echo "build-ffmpeg: vf_micromotion.c compiles with warnings against FFmpeg $version" >&2
    exit 1
  fi
  log "vf_micromotion.c compiles cleanly against $(basename "$dsc" .dsc)"
  exit 0
fi
log "make ($jobs jobs; log: $work/make.log)"
make -C "$src" -j "$jobs" ffmpeg ffprobe > "$work/make.log" 2>&1 || {
  grep -B2 -A8 -m3 'error' "$work/make.log" >&2 || tail -30 "$work/make.log" >&2
  echo "build-ffmpeg: make failed (log: $work/make.log)" >&2
  exit 1
}
if grep -q 'vf_micromotion.c.*warning:' "$work/make.log"; then
  grep -A3 'vf_micromotion.c.*warning:' "$work/make.log" >&2
  echo "build-ffmpeg: vf_micromotion.c compiles with warnings" >&2
  exit 1
fi
mkdir -p "$prefix/bin"
install -m 755 "$src/ffmpeg" "$src/ffprobe" "$prefix/bin/"
log "installed $prefix/bin/ffmpeg and ffprobe"
"$prefix/bin/ffmpeg" -hide_banner -h filter=micromotion | sed -n 1,3p  # sed reads it all: head would SIGPIPE ffmpeg once the help passes 4 KiB

#!/usr/bin/env bash
# Installs the Micromotion OBS plugin for the current user only (no root), from a build tree:
#   ${XDG_CONFIG_HOME:-~/.config}/obs-studio/plugins/micromotion/bin/64bit/micromotion.so
#                                                            .../bin/64bit/libmicromotion.so.0
#                                                            .../data/locale/en-US.ini
# OBS 28+ on Linux loads plugins from there. libmicromotion.so.0 goes beside the plugin (the
# plugin looks in its own folder first). LibTorch and dlib come from Debian packages
# (packaging/install-deps.sh).
#
#   obs-plugin/packaging/install-user.sh [BUILD_DIR]          (default: build)
#   obs-plugin/packaging/install-user.sh --uninstall
set -euo pipefail

dest="${XDG_CONFIG_HOME:-$HOME/.config}/obs-studio/plugins/micromotion"
if [[ "${1:-}" == "--uninstall" ]]; then
  rm -rf "$dest"
  echo "removed $dest"
  exit 0
fi
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,13p' "$0"
  exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../../build}"
plugin="$build/obs-plugin/micromotion/bin/64bit/micromotion.so"
data="$build/obs-plugin/micromotion/data"
lib="$build/lib/libmicromotion.so.0"
for f in "$plugin" "$lib" "$data/locale/en-US.ini"; do
  if [[ ! -e "$f" ]]; then
    echo "install-user.sh: $f is missing: configure with -DMICROMOTION_WITH_OBS=ON and build first" >&2
    exit 1
  fi
done

rm -rf "$dest"
mkdir -p "$dest/bin/64bit" "$dest/data"
install -m 0644 "$plugin" "$dest/bin/64bit/micromotion.so"
install -m 0644 "$(readlink -f "$lib")" "$dest/bin/64bit/libmicromotion.so.0"
cp -r "$data/." "$dest/data/"
echo "installed the Micromotion OBS plugin in $dest"

#!/usr/bin/env bash
# Checks the OBS plugin's .deb without installing it: makes it with CPack from a packaging build
# (configured -DMICROMOTION_NATIVE_ARCH=OFF -DCMAKE_INSTALL_PREFIX=/usr), checks its layout,
# dependencies and that the core has no AVX-512 code, then runs the headless edit test on the
# plugin and libmicromotion extracted from the package (under xvfb-run).
#
#   tests/obs/deb_check.sh PACKAGING_BUILD_DIR TEST_OBS_BINARY [--install BUILD_DIR]
# --install (root, a machine that may take packages: CI): instead of the extracted plugin,
# installs the .deb with apt, runs the real OBS app on the installed plugin
# (MM_OBS_APP_PLUGIN=system tests/obs/app_smoke.sh BUILD_DIR, which has the test models), and
# removes the package again.
set -euo pipefail
pkg="$(cd "$1" && pwd)"
test_obs="$2"
install_build=
if [[ "${3:-}" == "--install" ]]; then install_build="$(cd "$4" && pwd)"; fi
fail() { echo "deb_check: FAIL: $*" >&2; exit 1; }

grep -q "MICROMOTION_NATIVE_ARCH:BOOL=OFF" "$pkg/CMakeCache.txt" || fail "$pkg is not configured with -DMICROMOTION_NATIVE_ARCH=OFF"
(cd "$pkg" && cpack -G DEB >/dev/null)
deb="$(ls "$pkg"/obs-micromotion_*_amd64.deb | head -1)"
[[ -f "$deb" ]] || fail "cpack made no .deb"
echo "deb_check: $deb"
dpkg-deb -f "$deb" Package Version Architecture Depends

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
arch=x86_64-linux-gnu
for f in "usr/lib/$arch/obs-plugins/micromotion.so" "usr/lib/$arch/libmicromotion.so.0" \
         "usr/share/obs/obs-plugins/micromotion/locale/en-US.ini" "usr/share/doc/obs-micromotion/obs.md"; do
  [[ -e "$root/$f" ]] || fail "$f is not in the package"
done
dpkg-deb -f "$deb" Depends | grep -q "libobs0" || fail "the package does not depend on libobs0"
# -march=native on this machine would use AVX-512 (zmm registers) in the fused kernels.
zmm=$(objdump -d --no-show-raw-insn "$root/usr/lib/$arch/libmicromotion.so.0" | grep -c "zmm" || true)
[[ "$zmm" == 0 ]] || fail "libmicromotion.so.0 has $zmm AVX-512 instructions: built with -march=native?"

if [[ -n "$install_build" ]]; then
  apt-get install -y -qq "$deb" >/dev/null
  trap 'apt-get purge -y -qq obs-micromotion >/dev/null; rm -rf "$root"' EXIT
  MM_OBS_APP_PLUGIN=system xvfb-run -a -s "-screen 0 1280x720x24" \
    bash "$(dirname "${BASH_SOURCE[0]}")/app_smoke.sh" "$install_build" "$test_obs"
  echo "deb_check: OK (installed with apt, loaded and edited by OBS)"
  exit 0
fi
LD_LIBRARY_PATH="$root/usr/lib/$arch" \
MM_OBS_PLUGIN="$root/usr/lib/$arch/obs-plugins/micromotion.so" \
MM_OBS_PLUGIN_DATA="$root/usr/share/obs/obs-plugins/micromotion" \
  xvfb-run -a -s "-screen 0 1280x720x24" "$test_obs" --gtest_filter=ObsHeadless.EditsFaceOnly
echo "deb_check: OK"

#!/usr/bin/env bash
# Installs everything micromotion needs on Debian 12 from Debian's own archive.
# Idempotent and non-interactive; run as root (or through sudo).
#   packaging/install-deps.sh            core + tests + benchmarks + face front end
#   MICROMOTION_DEPS_EXTRA="..." packaging/install-deps.sh   add more packages
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # clang for the libFuzzer targets (ASan/UBSan runtimes)
  clang libclang-rt-14-dev
  # neural core: LibTorch 1.13 (CPU) and an optimized BLAS that shares OpenMP's
  # thread pool (the pthread OpenBLAS fights OpenMP on small machines)
  libtorch-dev libopenblas-openmp-dev libopenblas0-openmp
  # small libraries the core and the CLI use
  libcli11-dev nlohmann-json3-dev libfmt-dev libpng-dev
  # video decode/encode for `micromotion render` (the CLI only)
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # face front end
  libdlib-dev libdlib-data libjpeg-dev
  # face test data (packaging/fetch-test-data.sh): dlib's source package and the test clips
  dpkg-dev bzip2 xz-utils ffmpeg python3
  # FFmpeg with the filter (packaging/build-ffmpeg.sh): Debian's source package, built here
  nasm patch libx264-dev bc
  # OBS Studio plugin, its headless and app tests (X server in memory, Mesa's software
  # OpenGL: recommends are not installed), the .deb check (objdump)
  libobs-dev obs-studio xvfb xauth libgl1-mesa-dri libegl-mesa0 libx11-dev binutils
  # render farm test (tests/slurm/local-cluster.sh): a one-node Slurm cluster on localhost
  slurmctld slurmd slurm-client munge
)
# shellcheck disable=SC2206
packages+=(${MICROMOTION_DEPS_EXTRA:-})

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's libblas.so.3 / liblapack.so.3 default to netlib's reference code (~30x slower).
# Select OpenBLAS (OpenMP build) for every program, LibTorch included.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  alt="/usr/lib/$arch/openblas-openmp/$lib"
  if [ -e "$alt" ]; then
    update-alternatives --quiet --set "$lib-$arch" "$alt"
  fi
done
echo "install-deps: done (${#missing[@]} packages installed)"

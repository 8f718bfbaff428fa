#!/usr/bin/env bash
# Makes `apt-get source` work for Debian 12's packages: adds Debian's own deb-src entry
# (/etc/apt/sources.list.d/micromotion-deb-src.sources) when the system has none. Needs root
# then; does nothing when an entry exists. Used by fetch-test-data.sh and build-ffmpeg.sh.
set -euo pipefail
if grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ || grep -qs '^deb-src' /etc/apt/sources.list; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-deb-src: no deb-src entry for Debian; run as root once (or add one) so 'apt-get source' works" >&2
  exit 1
fi
echo "ensure-deb-src: adding a deb-src entry (/etc/apt/sources.list.d/micromotion-deb-src.sources)"
cat > /etc/apt/sources.list.d/micromotion-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt-get update -qq

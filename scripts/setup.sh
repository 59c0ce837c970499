#!/usr/bin/env bash
# Installs what Blockwise needs to build, run and test on Debian: system tools (loop devices,
# compressors, filesystem tools, Chromium for the browser tests) and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends \
    util-linux fdisk gdisk dosfstools mtools e2fsprogs btrfs-progs xorriso \
    xz-utils zstd pigz bzip2 lbzip2 unzip zip bmap-tools \
    fuse3 python3 python3-fusepy qemu-utils openssl make g++ \
    chromium fonts-dejavu-core fonts-liberation >/dev/null
fi
# Electron's binary cannot be downloaded everywhere; the app runs in the browser host without it.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
npm ci --no-audit --no-fund
bash scripts/fetch-node22.sh

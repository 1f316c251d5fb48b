#!/usr/bin/env bash
# Installs emotune's build and runtime dependencies from Debian 12 packages.
# libopenblas0-pthread matters: Debian's LibTorch calls the system libblas.so.3, which otherwise is the
# reference BLAS (about 30x slower matrix products on this project's CPUs; docs/benchmarks.md).
# Idempotent: packages already present are not reinstalled and apt is not touched when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libtorch-dev libopencv-dev libsentencepiece-dev sentencepiece libyaml-cpp-dev
  libgtest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libcsv-dev libcpp-httplib-dev libpcre2-dev libutf8proc-dev
  libopenblas0-pthread
  python3-torch python3-yaml python3-numpy python3-opencv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

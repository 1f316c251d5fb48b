#!/usr/bin/env bash
# Downloads (here, on a Debian 12 machine with apt) exactly the .deb files emotune's no-OpenCV build needs on a
# GPU machine that has CUDA LibTorch, CMake and ninja but none of Debian's C++ libraries and no network
# (../shared/device/README.md). scripts/gpu/verify.sh unpacks them with `dpkg -x` and builds against them.
#   scripts/gpu/fetch_debs.sh [DIR]     (default gpu-carry/debs; git-ignored)
# The list is the build's find_package / pkg_check_modules / find_library set (CMakeLists.txt) and the runtime
# libraries those link, minus what every Linux has (libc6, libstdc++6, libgcc-s1, zlib1g).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-gpu-carry/debs}
packages=(
  libyaml-cpp-dev libyaml-cpp0.7                       # configs
  libsentencepiece-dev libsentencepiece0 sentencepiece # tokenizer plugin; spm_train (the tiny bundle)
  libcli11-dev nlohmann-json3-dev                      # header-only
  libgtest-dev googletest                              # tests
  libbenchmark-dev libbenchmark1debian                 # bench/
  libcsv-dev libcsv3                                   # CSV/TSV manifests
  libcpp-httplib-dev libcpp-httplib0.11 libbrotli-dev libbrotli1 zlib1g-dev  # tune-discrete's client
  libssl-dev libssl3                                   # httplib's TLS, base64, the pixel cache's SHA-256
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3      # BPE pre-tokenisation
  libutf8proc-dev libutf8proc2                         # NFC
  libgloo-dev                                          # headers c10d's ProcessGroupGloo.hpp includes (the code is LibTorch's)
  pkgconf-bin libpkgconf3                              # pkg-config itself, which the GPU machine may lack
)
mkdir -p "$dir"
rm -f "$dir"/*.deb
(cd "$dir" && apt-get download "${packages[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
count=$(ls "$dir"/*.deb | wc -l)
if [ "$count" -ne "${#packages[@]}" ]; then
  echo "fetch_debs: expected ${#packages[@]} .deb files in $dir, got $count" >&2
  exit 1
fi
echo "fetch_debs: $count packages, $(du -sh "$dir" | cut -f1) in $dir"

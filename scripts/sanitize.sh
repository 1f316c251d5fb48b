#!/usr/bin/env bash
# Builds emotune and its tests with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/ and runs the
# whole ctest suite there (issue 34). Any memory error, leak or undefined behaviour fails the test it ran in.
#   scripts/sanitize.sh [ctest arguments...]       e.g. scripts/sanitize.sh -R 'Safetensors|Config'
# A full run takes about an hour on 2 cores (docs/reliability.md has the last clean one); CI does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMOTUNE_SANITIZE=ON \
  -DEMOTUNE_BUILD_BENCH=OFF -DEMOTUNE_CUDA=OFF >/dev/null
cmake --build build-asan -j "$(nproc)"
# LibTorch's and OpenCV's own one-time allocations live for the whole process: reported leaks must come from
# emotune, so the suppressions name those libraries only. OMP_WAIT_POLICY as the ordinary tests.
export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitize.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd build-asan
ctest --output-on-failure -j "$(nproc)" --timeout 2400 "$@"

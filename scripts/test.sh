#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (GoogleTest through ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The benchmarks are not tests: the main job's build (scripts/quickstart.sh) and bench/ build them; leaving them
# out here keeps CI's clean build on 2 cores inside its 20 minutes.
EMOTUNE_BUILD_BENCH=OFF scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 900

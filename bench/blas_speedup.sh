#!/usr/bin/env bash
# The same benchmark twice in one run: with Debian's reference BLAS and with OpenBLAS (what scripts/setup.sh
# installs). LibTorch from Debian calls the system libblas.so.3, so the library path alone switches it.
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-BM_Stage2TrainStep/}"
ref=/usr/lib/x86_64-linux-gnu/blas
[ -f "$ref/libblas.so.3" ] || { echo "reference BLAS not installed (apt-get install libblas3)"; exit 1; }
echo "== reference BLAS ($ref)"
LD_LIBRARY_PATH="$ref" build/emotune_bench --benchmark_filter="$filter" --benchmark_min_time=2
echo "== OpenBLAS (system default after scripts/setup.sh)"
build/emotune_bench --benchmark_filter="$filter" --benchmark_min_time=2

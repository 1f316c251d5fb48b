#!/usr/bin/env bash
# The same benchmark twice in one run: with libgomp's default wait policy (idle OpenMP workers spin for a while
# before they sleep) and with OMP_WAIT_POLICY=PASSIVE (they sleep at once), which the emotune binary sets for itself
# (csrc/core/openmp_policy.h). The benchmark binary does not, so the environment alone switches it.
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-BM_Stage1TrainStep|BM_Stage2TrainStep/|BM_EvalRankLabels}"
echo "== libgomp's default wait policy"
env -u OMP_WAIT_POLICY build/emotune_bench --benchmark_filter="$filter" --benchmark_min_time=2
echo "== OMP_WAIT_POLICY=PASSIVE"
OMP_WAIT_POLICY=PASSIVE build/emotune_bench --benchmark_filter="$filter" --benchmark_min_time=2

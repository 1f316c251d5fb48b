#!/usr/bin/env bash
# SEPM's accuracy on the quickstart world's test split (docs/sepm.md, "What was measured"; issue 31): the zero-shot
# tiny VLM (V) and the main job's trained V+S and V+A+S checkpoints, each evaluated with plain label ranking and with
# SEPM (no drop, the paper's drop, the code's switches, and for V+A+S the drop over the aspect tokens too), next to
# the world's Bayes limit. Run the main job first (scripts/quickstart.sh): it writes the world and the checkpoints.
#   bench/sepm_accuracy.sh [RUN_ROOT] [OUT_DIR]      (default runs/quickstart, /tmp/emotune-sepm)
set -euo pipefail
cd "$(dirname "$0")/.."
root="${1:-runs/quickstart}"
out="${2:-/tmp/emotune-sepm}"
mkdir -p "$out"
for part in prompt-v prompt; do
  [ -f "$root/$part/checkpoint.safetensors" ] || { echo "sepm_accuracy: $root/$part/checkpoint.safetensors is missing (run scripts/quickstart.sh)" >&2; exit 2; }
done
paper=(--inference sepm)
nodrop=(--inference sepm --set sepm.beta=0)
code=(--inference sepm --set sepm.beta=0.1 --set sepm.variance=code)
both=(--inference sepm --set sepm.drop_over=visual_and_aspects)
# name | checkpoint ("" = zero-shot) | extra arguments
runs=("V plain||" "V sepm-no-drop||${nodrop[*]}" "V sepm-paper||${paper[*]}" "V sepm-code||${code[*]}"
      "V+S plain|$root/prompt-v/checkpoint.safetensors|" "V+S sepm-no-drop|$root/prompt-v/checkpoint.safetensors|${nodrop[*]}"
      "V+S sepm-paper|$root/prompt-v/checkpoint.safetensors|${paper[*]}" "V+S sepm-code|$root/prompt-v/checkpoint.safetensors|${code[*]}"
      "V+A+S plain|$root/prompt/checkpoint.safetensors|" "V+A+S sepm-no-drop|$root/prompt/checkpoint.safetensors|${nodrop[*]}"
      "V+A+S sepm-paper|$root/prompt/checkpoint.safetensors|${paper[*]}" "V+A+S sepm-code|$root/prompt/checkpoint.safetensors|${code[*]}"
      "V+A+S sepm-paper-aspects-too|$root/prompt/checkpoint.safetensors|${both[*]}")
printf '| model | inference | accuracy (%%) | confident | coarse polarity (%%) | gold among fine options (%%) | seconds |\n|---|---|---|---|---|---|---|\n'
for run in "${runs[@]}"; do
  IFS='|' read -r name checkpoint extra <<< "$run"
  dir="$out/${name// /_}"
  args=(eval -c configs/quickstart.yaml --set eval.out_dir="$dir")
  if [ -n "$checkpoint" ]; then args+=(--checkpoint "$checkpoint"); else args+=(--zero-shot); fi
  # shellcheck disable=SC2206
  [ -n "$extra" ] && args+=($extra)
  start=$(date +%s.%N)
  build/emotune "${args[@]}" > "$dir.log" 2>&1 || { echo "sepm_accuracy: $name failed, see $dir.log" >&2; exit 1; }
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  /usr/bin/python3 - "$dir/metrics.json" "$name" "$seconds" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); s = m.get("sepm")
model, inference = sys.argv[2].split(" ", 1)
cells = [f"{100 * m['accuracy']:.2f}"]
cells += [f"{s['confident']}/{s['images']}", f"{100 * s['coarse_polarity_accuracy']:.1f}", f"{100 * s['gold_among_fine_options']:.1f}"] if s else ["-", "-", "-"]
print(f"| {model} | {inference} | " + " | ".join(cells) + f" | {float(sys.argv[3]):.0f} |")
PY
done
/usr/bin/python3 -c "import json, sys; s = json.load(open(sys.argv[1]))['splits']['test']; print(f\"Bayes limit of the test split (world.json): {100 * s['bayes_accuracy']:.2f} % of {s['images']} images\")" data/generated/world/world.json

#!/usr/bin/env bash
# Sets up, builds and runs emotune's main job on the embedded default: synthesise an affect world, train the
# aspect modules (stage 1) and soft prompts (stage 2), print MASP's Table-2 ablation on its test split, and
# write the report (runs/quickstart/report: curves, confusion matrices, Figure-4 attention).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
EMOTUNE_BUILD_TESTS=OFF scripts/build.sh
world=data/generated/world
# A world from an older emotune (no faces or people drawn) is rendered afresh.
if ! grep -qs '"human_actions"' "$world/world.json"; then
  rm -rf "$world"
  build/emotune synth --out "$world" --images 600 --seed 1
fi
build/emotune ablate --config configs/quickstart.yaml "$@"
build/emotune report runs/quickstart

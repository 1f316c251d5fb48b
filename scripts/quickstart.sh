#!/usr/bin/env bash
# Sets up, builds and runs emotune's main job on the embedded default: synthesise an affect world, train the
# aspect modules (stage 1) and soft prompts (stage 2), print MASP's Table-2 ablation on its test split, and
# write the report (runs/quickstart/report: curves, confusion matrices, Figure-4 attention).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
EMOTUNE_BUILD_TESTS=OFF scripts/build.sh
world=data/generated/world
images=6000
# 6,000 images: on smaller worlds the soft prompt overfits its training split (on 2,000 images it stays 20 points
# under the Bayes limit, on 6,000 14; docs/affect-world.md, "What MASP achieves on it"). A world of another size, or
# from an older emotune (no faces or people drawn), is rendered afresh.
if ! grep -qs "\"images\": $images," "$world/world.json" || ! grep -qs '"human_actions"' "$world/world.json"; then
  rm -rf "$world"
  build/emotune synth --out "$world" --images "$images" --seed 1
fi
build/emotune ablate --config configs/quickstart.yaml "$@"
build/emotune report runs/quickstart

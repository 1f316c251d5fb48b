#!/usr/bin/env bash
# The one script that runs on a GPU machine (docs/gpu.md): builds emotune without OpenCV against the installed
# PyTorch's LibTorch and the carried .debs, runs ctest with the CUDA cases, trains stage 1 and stage 2 and
# evaluates on the carried small world on cuda (fp32 and bf16) and on cpu and compares them, and measures
# stage 2. Every step is timed and logged into OUT (OUT/NN-step.log), so a failure half-way leaves its log;
# a summary table is printed last (OUT/summary.md).
#
#   scripts/gpu/prepare_carry.sh                      # here, first: gpu-carry/ (debs, world, pixel cache)
#   scripts/gpu/verify.sh --rehearse /tmp/rehearsal   # here: the same steps on cpu, tiny sizes, build-rehearse/
#   scripts/gpu/verify.sh "$OUT"                      # there, through the device tool, carrying gpu-carry
#   scripts/gpu/verify.sh --steps ctest,stages OUT    # some steps only (a rerun on a warm machine)
#
# Steps: deps configure build ctest stages distributed bench bench7b (the last not by default: a call of its own, on the
# warm machine the first call built: scripts/gpu/verify.sh --steps bench7b OUT). A step whose prerequisite
# failed is not run (marked so).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

rehearse=0
steps="deps,configure,build,ctest,stages,distributed,bench"
while [ $# -gt 0 ]; do
  case "$1" in
    --rehearse) rehearse=1; shift ;;
    --steps) steps="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "verify.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: scripts/gpu/verify.sh [--rehearse] [--steps a,b] OUT" >&2; exit 2; }
mkdir -p "$1" && out=$(cd "$1" && pwd)
carry=$root/gpu-carry
deps=${EMOTUNE_DEPS:-${TMPDIR:-/tmp}/emotune-deps}
if [ "$rehearse" = 1 ]; then
  device=cpu; jobs=2; build=$root/build-rehearse; python=/usr/bin/python3; torch_prefix=""
else
  device=cuda; jobs=$(nproc); build=$root/build-gpu; python=$(command -v python3)
  torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
fi
emotune=$build/emotune
# The carried tools (pkg-config, spm_train: wrappers written by the deps step) come first.
export PATH="$deps/bin:$PATH"
: > "$out/summary.tsv"
n=0

# step NAME COMMAND...: runs COMMAND with its output in OUT/NN-NAME.log, timed; records the result.
step() {
  local name=$1; shift
  n=$((n + 1))
  local log; log=$(printf '%s/%02d-%s.log' "$out" "$n" "$name")
  echo "== $name ($(date -u +%H:%M:%S)) -> $log"
  local start; start=$(date +%s%N)
  ( set -o pipefail; "$@" ) > "$log" 2>&1
  local rc=$?
  local tenths=$(( ($(date +%s%N) - start) / 100000000 ))
  printf '%s\t%s\t%d.%d\t%s\n' "$name" "$([ $rc = 0 ] && echo ok || echo "FAILED (rc $rc)")" $((tenths / 10)) $((tenths % 10)) \
    "$(tail -n 1 "$log" | cut -c1-150 | tr '|' '/')" >> "$out/summary.tsv"
  tail -n 5 "$log"
  return $rc
}
wanted() { [[ ",$steps," == *",$1,"* ]]; }
passed() { grep -q "^$1	ok" "$out/summary.tsv"; }
skip() { printf '%s\tnot run (%s)\t0\t\n' "$1" "$2" >> "$out/summary.tsv"; }

machine_facts() {
  date -u; uname -a; nproc; free -g | head -2
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())'
  # The committed default bundle was written by Debian's torch 1.13: does this torch load it?
  "$python" -c 'import torch; m = torch.jit.load("models/tiny/vlm.pt"); print("models/tiny/vlm.pt loads in torch", torch.__version__)' ||
    echo "models/tiny/vlm.pt does NOT load in this torch"
  for tool in dpkg ar xz pkg-config node; do printf '%s: %s\n' "$tool" "$(command -v $tool || echo missing)"; done
  cmake --version | head -1; ninja --version; command -v nvcc > /dev/null && nvcc --version | tail -1
  du -sh "$carry"/* 2>/dev/null
}

# The carried .debs unpacked (dpkg -x, or ar + Python's tarfile where dpkg is missing), and wrappers in
# $deps/bin for the carried tools (pkg-config, spm_train) that find their libraries there.
unpack_deb() {
  if command -v dpkg > /dev/null; then dpkg -x "$1" "$deps"; return; fi
  local member; member=$(ar t "$1" | grep '^data.tar') || return 1
  ar p "$1" "$member" | "$python" -c 'import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode="r|*").extractall(sys.argv[1])' "$deps"
}
tool_wrapper() {  # NAME BINARY
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s/usr/lib/x86_64-linux-gnu" exec "%s" "$@"\n' "$deps" "$2" > "$deps/bin/$1"
  chmod +x "$deps/bin/$1"
}
unpack_deps() {
  ls "$carry"/debs/*.deb > /dev/null || { echo "no .debs in $carry/debs: run scripts/gpu/prepare_carry.sh here first"; return 1; }
  rm -rf "$deps" && mkdir -p "$deps/bin"
  for deb in "$carry"/debs/*.deb; do unpack_deb "$deb" || { echo "cannot unpack $deb"; return 1; }; done
  tool_wrapper pkg-config "$deps/usr/bin/pkgconf"
  tool_wrapper spm_train "$deps/usr/bin/spm_train"
  "$deps/bin/pkg-config" --version || return 1
  "$deps/bin/spm_train" --version || { echo "the carried spm_train does not run"; return 1; }
  echo "$(ls "$carry"/debs/*.deb | wc -l) packages unpacked into $deps"
}

# DT_RPATH, not RUNPATH: it also serves the carried libraries' own dependencies (cpp-httplib's brotli, ssl), so
# nothing needs LD_LIBRARY_PATH, which would hand Debian's libssl to the machine's Python too.
rpath_flags=(-DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags -DCMAKE_SHARED_LINKER_FLAGS=-Wl,--disable-new-dtags
             -DCMAKE_MODULE_LINKER_FLAGS=-Wl,--disable-new-dtags)
configure() {
  PKG_CONFIG_LIBDIR="$deps/usr/lib/x86_64-linux-gnu/pkgconfig:$deps/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$deps" \
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEMOTUNE_WITH_OPENCV=OFF \
    -DCMAKE_PREFIX_PATH="${torch_prefix:+$torch_prefix;}$deps/usr" -DPKG_CONFIG_EXECUTABLE="$deps/bin/pkg-config" \
    -DEMOTUNE_PYTHON="$python" "${rpath_flags[@]}" || return 1
  # Every library but LibTorch must come from the carried debs (here the system has them too: a path into /usr
  # would pass the rehearsal and fail there).
  local leaks
  local found leaks
  found=$(grep -E '^((yaml-cpp|GTest|benchmark|CLI11|nlohmann_json)_DIR|CSV_LIBRARY|CSV_INCLUDE_DIR|OPENSSL_CRYPTO_LIBRARY|OPENSSL_INCLUDE_DIR|pkgcfg_lib_[A-Za-z0-9_-]+):(PATH|FILEPATH)=' \
          "$build/CMakeCache.txt")
  echo "$found"
  [ "$(echo "$found" | wc -l)" -ge 14 ] || { echo "expected 14 or more dependency entries in CMakeCache.txt"; return 1; }
  leaks=$(echo "$found" | grep -v "=$deps/")
  [ -z "$leaks" ] || { echo "not from the carried debs:"; echo "$leaks"; return 1; }
  echo "configured $build: every dependency from $deps"
}

# The build, then: no header of a carried library may have come from the system's /usr/include (the rehearsal
# machine has them all; the GPU machine has none).
build_all() {
  cmake --build "$build" -j "$jobs" || return 1
  local leaked
  # ninja's current record of every object's headers (the raw .ninja_deps also keeps superseded records)
  leaked=$(ninja -C "$build" -t deps | sed 's/^ *//' |
           grep -E '^/usr/include/(x86_64-linux-gnu/)?(yaml-cpp|sentencepiece|CLI|nlohmann|gtest|gmock|benchmark|openssl|brotli)/|^/usr/include/(csv|httplib|pcre2|utf8proc|zlib)\.h$' | sort -u)
  [ -z "$leaked" ] || { echo "headers of carried libraries taken from the system:"; echo "$leaked"; return 1; }
  echo "built $build; every carried library's headers from $deps"
}

ctest_all() {
  # The CUDA cases must run, not skip, on the GPU: a skip there is a failure of this step.
  (cd "$build" && ctest -j "$jobs" --timeout 600 --output-on-failure) || return 1
  # The CUDA cases once more in one process, listed: on the GPU machine none may skip.
  "$build/emotune_tests" --gtest_filter='*_cuda:*FusedKernelParity*' > "$out/cuda-cases.log" 2>&1 || return 1
  local ran skipped
  ran=$(grep -c '^\[       OK \]' "$out/cuda-cases.log"); skipped=$(grep -c '^\[  SKIPPED \] .* ([0-9]* ms)$' "$out/cuda-cases.log")
  echo "CUDA cases: $ran passed, $skipped skipped (OUT/cuda-cases.log)"
  [ "$rehearse" = 1 ] || [ "$skipped" = 0 ] || { echo "CUDA cases skipped on the GPU machine"; return 1; }
  echo "ctest passed"
}

# Stage 1, stage 2 and eval of configs/gpu_verify.yaml on one device and precision, into OUT/runs/NAME.
stage_run() {
  local name=$1 dev=$2 precision=$3 runs=$out/runs/$1
  local set=(-c configs/gpu_verify.yaml --set device="$dev" --set precision="$precision")
  [ "$rehearse" = 1 ] && set+=(--set threads=2)
  rm -rf "$runs"
  "$emotune" train-aspects "${set[@]}" --set run_dir="$runs/aspects" &&
  "$emotune" train-prompt "${set[@]}" --set run_dir="$runs/prompt" --set masp.aspects_checkpoint="$runs/aspects/checkpoint.safetensors" &&
  "$emotune" eval "${set[@]}" --set run_dir="$runs/prompt" --set masp.aspects_checkpoint="$runs/aspects/checkpoint.safetensors"
}

stages() {
  [ -f "$carry/world/pixels/index.json" ] || { echo "no carried world: run scripts/gpu/prepare_carry.sh here first"; return 1; }
  local accelerator=cuda
  [ "$rehearse" = 1 ] && accelerator=cpu  # rehearsal: the same comparisons, cpu against cpu
  stage_run cpu-fp32 cpu fp32 && stage_run "$accelerator-fp32" "$accelerator" fp32 && stage_run "$accelerator-bf16" "$accelerator" bf16 || return 1
  # fp32 on another device: the same computation in another order: every step's loss within 1e-3 (relative),
  # accuracy within half a point. bf16: 8 bits of mantissa in the frozen model move the trajectory at every step:
  # the mean relative difference within 5 %, accuracy within 10 points of the ~64 test images (bf16 against fp32
  # on this CPU, the rehearsal: mean 2.0 %, largest step 10.8 %, accuracy 31.3 -> 23.4 %).
  "$python" scripts/gpu/compare_runs.py "$out/runs/cpu-fp32" "$out/runs/$accelerator-fp32" --name "$accelerator-fp32" \
    --loss-tol 1e-3 --loss-stat max --accuracy-tol 0.005 &&
  "$python" scripts/gpu/compare_runs.py "$out/runs/cpu-fp32" "$out/runs/$accelerator-bf16" --name "$accelerator-bf16" \
    --loss-tol 0.05 --loss-stat mean --accuracy-tol 0.10
}

# Data parallel (issue 30, docs/distributed.md): the stages step's stage 2 again under torchrun, one rank with its
# process group named (NCCL on the GPU, Gloo in the rehearsal), so every step's gradient goes through the group's
# all-reduce; a sum over one rank changes nothing: the same losses as the run without a group.
distributed() {
  local dev=cuda backend=nccl
  [ "$rehearse" = 1 ] && dev=cpu backend=gloo
  local plain=$out/runs/$dev-fp32 runs=$out/runs/distributed-$backend
  [ -f "$plain/aspects/checkpoint.safetensors" ] || { echo "needs the stages step's $plain"; return 1; }
  rm -rf "$runs"
  local set=(-c configs/gpu_verify.yaml --set device="$dev" --set precision=fp32 --set distributed.backend="$backend"
             --set distributed.timeout_s=120 --set masp.aspects_checkpoint="$plain/aspects/checkpoint.safetensors")
  [ "$rehearse" = 1 ] && set+=(--set threads=2)
  # --redirects/--tee given: Debian's torchrun (the rehearsal's) cannot parse its default of 0.
  "$python" -m torch.distributed.run --nproc_per_node 1 --master_port 29533 --redirects 2 --tee 2 --no_python \
    "$emotune" train-prompt "${set[@]}" --set run_dir="$runs/prompt" > "$out/distributed-$backend.log" 2>&1 ||
    { tail -20 "$out/distributed-$backend.log"; return 1; }
  grep -q "distributed: rank 0 of 1 (local 0 of 1), $backend" "$out/distributed-$backend.log" ||
    { echo "no $backend process group was made"; tail -5 "$out/distributed-$backend.log"; return 1; }
  "$python" - "$plain/prompt/metrics.jsonl" "$runs/prompt/metrics.jsonl" "$backend" <<'PY'
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p) if '"loss"' in l] for p in sys.argv[1:3])
worst = max(abs(x - y) / max(abs(x), 1e-12) for x, y in zip(a, b)) if a and len(a) == len(b) else float("inf")
print(f"{sys.argv[3]}, one rank: {len(b)} steps, largest relative loss difference to the run without a group {worst:.2g}")
sys.exit(0 if worst <= 1e-5 else 1)
PY
}

bench() {
  # The tiny model's stage-2 step on the carried world (no OpenCV: the benchmark cannot draw its own).
  export EMOTUNE_BENCH_SET="data.manifest=$carry/world/manifest.jsonl;data.pixel_cache=$carry/world/pixels;device=$device"
  [ "$rehearse" = 1 ] || EMOTUNE_BENCH_SET+=";precision=bf16"
  if [ "$rehearse" = 1 ]; then
    "$build/emotune_check_fused" --cases --seed 1 && "$build/emotune_bench" --benchmark_filter='BM_Stage2TrainStep/batch:16' --benchmark_min_time=0.5
  else
    "$build/emotune_check_fused" --cases --seed 1 && "$build/emotune_bench_fused" &&
    "$build/emotune_bench" --benchmark_filter='BM_Stage2TrainStep' --benchmark_min_time=1
  fi
}

# Stage 2 at Qwen2-VL-7B's size (rehearsal: the tiny fixture of the same architecture): a random checkpoint of
# the published config, exported in bf16; emotune's trainer and the eager reference on the same 50 samples in
# the same order (losses at batch 1), then each one's throughput (emotune at its batch); compared last.
bench_7b() {
  local work=${EMOTUNE_BENCH_WORK:-${TMPDIR:-/tmp}/emotune-7b} results=$out/bench7b hf samples=50 batch=8 steps=10
  mkdir -p "$work" "$results"
  if [ "$rehearse" = 1 ]; then
    hf=tests/fixtures/qwen2_vl_square/hf; batch=4; steps=2
  else
    hf=$work/hf
    [ -f "$hf/model.safetensors.index.json" ] || { gunzip -c "$carry/qwen_tokenizer.json.gz" > "$work/tokenizer.json" &&
      "$python" scripts/export/make_random_qwen2_vl.py "$hf" --config 7b --tokenizer "$work/tokenizer.json"; } || return 1
  fi
  "$python" scripts/export/export_qwen2_vl.py "$hf" "$work/bundle" --image-size 448x448 --dtype bf16 || return 1
  local common=(-c configs/gpu_bench_7b.yaml --set bundle="$work/bundle" --set device="$device")
  "$build/emotune_stage2_bench" "${common[@]}" --samples "$samples" --loss-steps 50 --dump "$work/samples.safetensors" \
    --losses "$results/emotune_losses.json" --measure "$results/emotune.json" --batch "$batch" --steps "$steps" || return 1
  "$python" bench/stage2_eager_reference.py --hf-dir "$hf" --samples "$work/samples.safetensors" --steps 50 \
    --device "$device" --out "$results/reference.json" || return 1
  "$python" scripts/gpu/compare_stage2.py "$results" --peak-tflops 800
}

if wanted deps; then step machine machine_facts; step deps unpack_deps; fi
if wanted configure; then
  if [ -x "$deps/bin/pkg-config" ] && { ! wanted deps || passed deps; }; then step configure configure; else skip configure "deps failed"; fi
fi
if wanted build; then
  if [ -f "$build/build.ninja" ] && { ! wanted configure || passed configure; }; then step build build_all
  else skip build "not configured"; fi
fi
built() { [ -x "$emotune" ] && [ -x "$build/emotune_tests" ] && { ! wanted build || passed build; }; }
if wanted ctest; then if built; then step ctest ctest_all; else skip ctest "not built"; fi; fi
if wanted stages; then if built; then step stages stages; else skip stages "not built"; fi; fi
if wanted distributed; then if built; then step distributed distributed; else skip distributed "not built"; fi; fi
if wanted bench; then if built; then step bench bench; else skip bench "not built"; fi; fi
if wanted bench7b; then if built; then step bench7b bench_7b; else skip bench7b "not built"; fi; fi

{
  echo "| step | result | seconds | last line |"
  echo "|---|---|---:|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$out/summary.tsv"
} > "$out/summary.md"
echo
echo "verify.sh $([ "$rehearse" = 1 ] && echo "--rehearse ")on $(hostname): $out"
cat "$out/summary.md"
! grep -q "FAILED\|not run" "$out/summary.tsv"

#!/usr/bin/env bash
# Fuzzes emotune's parsers of untrusted input with libFuzzer (issue 34): safetensors, the YAML config with
# --set, the manifest, bundle.yaml, tokenizer.json, the CSV reader, image headers (tests/fuzz/fuzz_*.cpp).
#   scripts/fuzz.sh [TARGET|all] [SECONDS]      default: all targets, 600 s each, one after another
#   scripts/fuzz.sh --merge TARGET              adds what build-fuzz/corpus/TARGET covers anew to the committed
#                                               corpus tests/fuzz/corpus/TARGET (CI replays it: Fuzz.TARGET)
# Built with clang, AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/. A crash, a leak, an
# exception other than emotune::Error, or an input running over 10 s stops the target and leaves the input in
# build-fuzz/findings/TARGET/: replay it with build-fuzz/fuzz_TARGET FILE, fix, and commit it to the corpus.
# Needs: clang (Debian's clang-14 brings libFuzzer), the packages of scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
merge=0
if [[ "${1:-}" == "--merge" ]]; then merge=1; shift; fi
target="${1:-all}"
seconds="${2:-600}"

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DEMOTUNE_FUZZ=ON -DEMOTUNE_CUDA=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)"

targets=()
if [[ "$target" == "all" ]]; then
  for source in tests/fuzz/fuzz_*.cpp; do
    name="$(basename "$source" .cpp)"
    [[ "$name" == fuzz_support ]] || targets+=("${name#fuzz_}")
  done
else
  [[ -x "build-fuzz/fuzz_$target" ]] || { echo "no fuzz target '$target' (tests/fuzz/fuzz_*.cpp)" >&2; exit 2; }
  targets=("$target")
fi

failed=()
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t" findings="build-fuzz/findings/$t"
  mkdir -p "$work" "$findings"
  if (( merge )); then
    # Edge coverage only (no hit counts): the few inputs that reach some code the committed ones do not.
    "build-fuzz/fuzz_$t" -merge=1 -use_counters=0 "tests/fuzz/corpus/$t" "$work"
    continue
  fi
  echo "== fuzz_$t for ${seconds} s (seeds: tests/fuzz/corpus/$t)"
  # One job on one core; new inputs go to $work, the committed corpus only seeds it.
  if ! "build-fuzz/fuzz_$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 -artifact_prefix="$findings/" \
    >"build-fuzz/fuzz_$t.log" 2>&1; then
    failed+=("$t")
    echo "!! fuzz_$t found a problem: build-fuzz/fuzz_$t.log, input in $findings/"
  fi
  grep -E '^(Done|stat::)' "build-fuzz/fuzz_$t.log" || tail -n 40 "build-fuzz/fuzz_$t.log"
done
if (( ${#failed[@]} )); then
  echo "findings: ${failed[*]}" >&2
  exit 1
fi

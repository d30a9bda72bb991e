#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + ASan + UBSan (-DSURFING_FUZZ=ON) and runs each in turn,
# one at a time, for SECONDS (default 60) or, with RUNS=N, for N executions.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. RUNS=1000000 scripts/fuzz.sh 0 tokenizer
# Each target starts from a copy of its seeds (tests/fuzz/corpus/<name>/); the grown corpus is kept
# in build-fuzz/corpus/<name>/ and crashing inputs go to build-fuzz/artifacts/.
# Environment: MAX_LEN (default 65536), NICE (default 15).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
build=$here/build-fuzz
"$here/scripts/install-deps.sh"
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ CC=clang cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSURFING_FUZZ=ON -DSURFING_BUILD_GUI=OFF -DSURFING_BUILD_BENCH=OFF
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in "$here"/tests/fuzz/fuzz_*.cpp; do
    name=$(basename "$src" .cpp)
    targets+=("${name#fuzz_}")
  done
fi
limit=(-max_total_time="$seconds")
[ -n "${RUNS:-}" ] && limit=(-runs="$RUNS")
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
mkdir -p "$build/artifacts"
for name in "${targets[@]}"; do
  nice -n 10 cmake --build "$build" --target "fuzz_$name"
  corpus=$build/corpus/$name
  rm -rf "$corpus" && mkdir -p "$corpus"
  cp "$here/tests/fuzz/corpus/$name/"* "$corpus/"
  echo "== fuzz_$name ${limit[*]} ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  nice -n "${NICE:-15}" "$build/tests/fuzz/fuzz_$name" "${limit[@]}" -max_len="${MAX_LEN:-65536}" \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" "$corpus"
  echo "== fuzz_$name: corpus $(ls "$corpus" | wc -l) files, $(du -sk "$corpus" | cut -f1) KiB"
done

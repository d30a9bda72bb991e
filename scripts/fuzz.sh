#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + AddressSanitizer and runs each for SECONDS (default 60).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=$here/build-fuzz
"$here/scripts/install-deps.sh"
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ CC=clang cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSURFING_FUZZ=ON -DSURFING_BUILD_GUI=OFF -DSURFING_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address"
fi
for src in "$here"/tests/fuzz/fuzz_*.cpp; do
  name=$(basename "$src" .cpp)
  cmake --build "$build" --target "$name"
  work=$(mktemp -d)
  cp "$here/tests/fuzz/corpus/${name#fuzz_}/"* "$work/"
  echo "== $name for ${seconds}s"
  "$build/tests/fuzz/$name" -max_total_time="$seconds" -max_len=65536 "$work"
  rm -rf "$work"
done

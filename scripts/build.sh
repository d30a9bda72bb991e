#!/usr/bin/env bash
# Configures (once) and builds Surfing into ./build with Ninja and ccache.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${SURFING_BUILD_DIR:-$here/build}
type=${CMAKE_BUILD_TYPE:-RelWithDebInfo}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
        -DSURFING_BUILD_TESTS=ON -DSURFING_BUILD_BENCH=ON "$@"
fi
cmake --build "$build" -j"$(nproc)"

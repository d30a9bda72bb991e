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
# SURFING_WARNINGS_AS_ERRORS=1 (set by .ci/run): any compiler warning fails the build. Checked on
# the build's output rather than with -Werror, so the flags, and with them ccache's hits, stay
# the same as a developer's build (ccache replays the warnings of a cached compile).
if [ "${SURFING_WARNINGS_AS_ERRORS:-0}" = 1 ]; then
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  cmake --build "$build" -j"$(nproc)" 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  if grep -q "warning:" "$log"; then
    echo "build.sh: the build has compiler warnings, which are errors here:" >&2
    grep "warning:" "$log" >&2
    exit 1
  fi
else
  cmake --build "$build" -j"$(nproc)"
fi

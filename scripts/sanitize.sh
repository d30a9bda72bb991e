#!/usr/bin/env bash
# Builds Surfing with a sanitizer into its own directory and runs the tests under it.
# Usage: scripts/sanitize.sh address|thread [ctest args...]
#   address  ASan + UBSan (any finding fails), build-asan/, every test
#   thread   TSan, build-tsan/, every test
# Extra arguments go to ctest, e.g. `scripts/sanitize.sh thread -L 'server|client|s3'` for the
# threaded areas, or `-LE inference` to skip the libtorch tests (the slowest under a sanitizer).
# Environment: SURFING_BUILD_DIR (build directory), JOBS (build and test jobs, default nproc),
# SURFING_BUILD_GUI=ON to build and test the GUI too.
# Reports from every process (tests and the surfing-cli servers they start) are written to
# <build>/sanitizer-logs/ and printed at the end; any report makes the script fail.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-}
case "$kind" in
  address) build=${SURFING_BUILD_DIR:-$here/build-asan} ;;
  thread) build=${SURFING_BUILD_DIR:-$here/build-tsan} ;;
  *) echo "usage: $0 address|thread [ctest args...]" >&2; exit 2 ;;
esac
shift
jobs=${JOBS:-$(nproc)}

"$here/scripts/install-deps.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSURFING_SANITIZE="$kind" \
        -DSURFING_BUILD_TESTS=ON -DSURFING_BUILD_BENCH=OFF -DSURFING_BUILD_GUI="${SURFING_BUILD_GUI:-OFF}"
fi
nice -n 10 cmake --build "$build" -j"$jobs"

supp=$here/tests/sanitizers
logs=$build/sanitizer-logs
rm -rf "$logs" && mkdir -p "$logs"
common="log_path=$logs/report:log_exe_name=1:print_suppressions=0"
export ASAN_OPTIONS="$common:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
export LSAN_OPTIONS="$common:suppressions=$supp/lsan.supp"
export UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
# die_after_fork=0: QProcess starts children with vfork semantics, which TSan mistakes for a
# multi-threaded fork that goes on to start threads.
export TSAN_OPTIONS="$common:second_deadlock_stack=1:ignore_noninstrumented_modules=1:die_after_fork=0:suppressions=$supp/tsan.supp"
export QT_QPA_PLATFORM=offscreen

status=0
(cd "$build" && ctest --output-on-failure -j"$jobs" "$@") || status=$?
reports=("$logs"/report*)
if [ -e "${reports[0]}" ]; then
  for r in "${reports[@]}"; do
    echo "==== $(basename "$r")"
    cat "$r"
  done
  echo "sanitize.sh: ${#reports[@]} sanitizer report(s) in $logs" >&2
  status=1
fi
exit "$status"

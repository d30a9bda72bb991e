#!/bin/sh
# Runs bench_transfer (weight server vs raw TCP over loopback, separate processes) and appends
# the results, with the command, the machine and the date, to docs/benchmarks-transfer.md.
# Usage: bench/run-transfer.sh BUILD_DIR
set -eu
build=${1:?usage: bench/run-transfer.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/docs/benchmarks-transfer.md"
cmd="$build/bench/bench_transfer --cli $build/app/surfing-cli"
table=$($cmd)
{
    [ -s "$out" ] || printf '# Transfer benchmarks\n\nProduced by `bench/run-transfer.sh`; newest run last.\n'
    printf '\n## %s\n\nCommand: `%s`\n\nMachine:\n```\n%s\n```\n\n%s\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "bench/run-transfer.sh BUILD_DIR  ($cmd)" "$(lscpu | head -n 15)" "$table"
} >> "$out"
printf '%s\n' "$table"

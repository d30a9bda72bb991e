#!/bin/sh
# Runs bench_transfer (weight server vs raw TCP over loopback, separate processes) and
# bench_clients (32 clients at once, aggregate throughput and the server's peak RSS, vs 32 raw
# TCP streams) and appends the results, with the commands, the machine, the load and the date,
# to docs/benchmarks-transfer.md.
# Usage: bench/run-transfer.sh BUILD_DIR [bench_clients options, default --clients 32 --cache-mb 128]
set -eu
build=${1:?usage: bench/run-transfer.sh BUILD_DIR [bench_clients options]}
shift
clientsArgs=${*:-"--clients 32 --model-mb 256 --chunk-mb 16 --cache-mb 128"}
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/docs/benchmarks-transfer.md"
load=$(cut -d' ' -f1-3 /proc/loadavg)
cmd="$build/bench/bench_transfer --cli $build/app/surfing-cli"
table=$($cmd)
cmd2="$build/bench/bench_clients --cli $build/app/surfing-cli $clientsArgs"
table2=$($cmd2)
{
    [ -s "$out" ] || printf '# Transfer benchmarks\n\nProduced by `bench/run-transfer.sh`; newest run last.\n'
    printf '\n## %s\n\nCommands: `%s` and `%s`\n\nLoad average before the run: %s\n\nMachine:\n```\n%s\n```\n\n%s\n\n%s\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "bench/run-transfer.sh BUILD_DIR  ($cmd)" "$cmd2" "$load" \
        "$(lscpu | head -n 15)" "$table" "$table2"
} >> "$out"
printf '%s\n\n%s\n' "$table" "$table2"

#!/bin/sh
# Runs bench_transfer (weight server vs raw TCP over loopback, separate processes, interleaved
# fetches) and bench_clients (32 clients at once, aggregate throughput and the server's peak RSS,
# vs 32 raw TCP client threads) RUNS times (default 3), and appends the results, with the
# commands, the machine, the load before each run and the date, to docs/benchmarks-transfer.md.
# The raw TCP baseline is described in bench/benchsupport.h. Run it on a quiet machine: the
# first field of /proc/loadavg should be below 1.0.
# Usage: [RUNS=N] bench/run-transfer.sh BUILD_DIR [bench_clients options]
set -eu
build=${1:?usage: [RUNS=N] bench/run-transfer.sh BUILD_DIR [bench_clients options]}
shift
clientsArgs=${*:-"--clients 32 --model-mb 256 --chunk-mb 16 --cache-mb 128 --blocks 3"}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/docs/benchmarks-transfer.md"
cmd="$build/bench/bench_transfer --cli $build/app/surfing-cli"
cmd2="$build/bench/bench_clients --cli $build/app/surfing-cli $clientsArgs"
results=""
i=1
while [ "$i" -le "$runs" ]; do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    table=$($cmd)
    table2=$($cmd2)
    run=$(printf '### Run %d of %d (%s, load average before: %s)\n\n%s\n\n%s\n' \
        "$i" "$runs" "$(date -u '+%H:%M:%S UTC')" "$load" "$table" "$table2")
    printf '%s\n\n' "$run"
    results="$results$run

"
    i=$((i + 1))
done
{
    [ -s "$out" ] || printf '# Transfer benchmarks\n\nProduced by `bench/run-transfer.sh`; newest run last.\n'
    printf '\n## %s\n\nCommand: `RUNS=%s bench/run-transfer.sh BUILD_DIR`, which runs `%s` and `%s`\n\nMachine:\n```\n%s\n```\n\n%s' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$runs" "$cmd" "$cmd2" "$(lscpu | head -n 15)" "$results"
} >> "$out"

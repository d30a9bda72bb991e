#!/bin/sh
# Mixture-of-experts benchmark: runs bench_moe (bytes per generated token of a generated Qwen3-MoE
# model against a dense LLaMA of the same total size, streamed through the client cache at 25 %,
# 50 % and 110 % of the model) and appends the table, with the command, the machine, the load and
# the date, to docs/benchmarks-moe.md.
# Usage: bench/run-moe.sh BUILD_DIR [WORK_DIR]   (a given WORK_DIR keeps the generated models)
# Environment: TOKENS (default 32), EXPERTS (default 32), TOP_K (default 4).
set -eu
build=${1:?usage: bench/run-moe.sh BUILD_DIR [WORK_DIR]}
here=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-}
out="$here/docs/benchmarks-moe.md"
tokens=${TOKENS:-32}
experts=${EXPERTS:-32}
topk=${TOP_K:-4}
args="--tokens $tokens --experts $experts --top-k $topk"
[ -z "$work" ] || args="$args --work $work"
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)
# shellcheck disable=SC2086
table=$("$build/bench/bench_moe" $args)
{
    printf '\n## Run of %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'Command: `bench/run-moe.sh BUILD_DIR` (`bench_moe %s`), commit %s. Machine: %s, %s cores; load average %s before, %s after.\n\n' \
        "$args" "$(git -C "$here" rev-parse --short HEAD)" "$(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n 1)" \
        "$(nproc)" "$load_before" "$(load)"
    printf '%s\n' "$table"
} >>"$out"
echo "appended to $out"

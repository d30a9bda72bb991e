#!/bin/sh
# Inference benchmarks: runs bench_inference (streamed vs in memory, half cached with and without
# prefetch, a paced server, 2 vs 1 libtorch threads) on stories260K and a generated ~216 MB LLaMA,
# then the peak RSS of `surfing-cli run` on a generated 2.2 GB LLaMA streamed from a server with a
# 256 MB cache. Appends everything, with the command, the machine, the load and the date, to
# docs/benchmarks-inference.md.
# Usage: bench/run-inference.sh BUILD_DIR [WORK_DIR]   (needs ~5 GB free; a given WORK_DIR keeps the
# small chunked models for the next run)
# Environment: REPS (default 5), TOKENS (default 32), SKIP_MEMORY=1, SKIP_SPEED=1.
set -eu
build=${1:?usage: bench/run-inference.sh BUILD_DIR [WORK_DIR]}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${2:-}" ]; then work=$2; own_work=""; else
    work=$(mktemp -d "${TMPDIR:-/tmp}/surfing-bench-inference.XXXXXX"); own_work=1; fi
cli="$build/app/surfing-cli"
bench="$build/bench/bench_inference"
out="$here/docs/benchmarks-inference.md"
reps=${REPS:-5}
tokens=${TOKENS:-32}
mkdir -p "$work"
# The 2 GB model never outlives the script; a work directory it made itself goes too.
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$work"/llama2g "$work"/llama2g.chunks; [ -z "$own_work" ] || rm -rf "$work"' EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }

speed() {
    stories="$here/../shared/models/stories260K"
    if [ -d "$stories" ]; then
        [ -f "$work/stories.chunks/chunk_info.json" ] || "$cli" chunk "$stories" -o "$work/stories.chunks" >/dev/null
        "$bench" --cli "$cli" --model "$work/stories.chunks" --name stories260K --tokens 128 --reps "$reps" --scenarios ab
    fi
    if [ ! -f "$work/llama216.chunks/chunk_info.json" ]; then
        "$cli" make-model --layers 8 --hidden 768 --intermediate 2048 --heads 12 --kv-heads 4 --vocab 8192 \
            -o "$work/llama216" >/dev/null
        "$cli" chunk "$work/llama216" -o "$work/llama216.chunks" >/dev/null
    fi
    "$bench" --cli "$cli" --model "$work/llama216.chunks" --name "generated LLaMA 216 MB" --tokens "$tokens" \
        --reps "$reps" --scenarios abc
}

# Peak RSS of a streamed run against the bound the issue sets: non-layer chunks + cache budget +
# prefetch window (depth x the largest layer) + 200 MB.
memory() {
    cache_mb=256
    depth=2
    "$cli" make-model --layers 20 --hidden 1536 --intermediate 4096 --heads 12 --kv-heads 4 --vocab 32000 \
        -o "$work/llama2g" >/dev/null
    "$cli" chunk "$work/llama2g" -o "$work/llama2g.chunks" >/dev/null
    rm -rf "$work/llama2g"
    manifest="$work/llama2g.chunks/chunk_info.json"
    total=$(jq '[.chunks[].raw_bytes] | add' "$manifest")
    nonlayer=$(jq '[.chunks | to_entries[] | select(.key | startswith("layer_") | not) | .value.raw_bytes] | add' "$manifest")
    layer=$(jq '[.chunks | to_entries[] | select(.key | startswith("layer_")) | .value.raw_bytes] | max' "$manifest")
    "$cli" serve "$work/llama2g.chunks" --host 127.0.0.1 --port 0 --cache-mb 512 >"$work/serve.out" 2>/dev/null &
    server=$!
    tries=0
    while [ ! -s "$work/serve.out" ]; do
        tries=$((tries + 1)); [ $tries -lt 300 ] || { echo "serve did not start" >&2; exit 1; }; sleep 0.2
    done
    url=$(head -n 1 "$work/serve.out")
    run="surfing-cli run --server $url --ids 1,5,9,300 --max-tokens 4 --cache-mb $cache_mb --prefetch $depth --json"
    /usr/bin/time -v "$cli" run --server "$url" --ids 1,5,9,300 --max-tokens 4 --cache-mb $cache_mb --prefetch $depth --json \
        >"$work/run.json" 2>"$work/time.txt"
    kill "$server"
    server=""
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
    awk -v t="$total" -v n="$nonlayer" -v l="$layer" -v c="$cache_mb" -v d="$depth" -v r="$rss_kb" -v cmd="$run" \
        -v s="$(jq -r '.stats | "\(.tokens_per_second) tokens/s, fetched \(.bytes_fetched) bytes, cache_hit_rate \(.cache_hit_rate)"' "$work/run.json")" 'BEGIN {
        mb = 1048576; bound = n + c * mb + d * l + 200 * mb; rss = r * 1024
        printf "### Peak RSS, generated LLaMA of %.0f MiB (f32) streamed from serve\n\n", t / mb
        printf "Command: `%s` under `/usr/bin/time -v`. %s.\n\n", cmd, s
        printf "| non-layer chunks | cache budget | prefetch window (%d x %.0f MiB layer) | + 200 MiB = bound | peak RSS | within |\n", d, l / mb
        printf "|---:|---:|---:|---:|---:|---|\n"
        printf "| %.0f MiB | %d MiB | %.0f MiB | %.0f MiB | %.0f MiB | %s |\n\n", n / mb, c, d * l / mb, bound / mb, rss / mb, rss <= bound ? "yes" : "NO"
    }'
}

cmd="bench/run-inference.sh BUILD_DIR"
load_before=$(load)
body=""
[ -n "${SKIP_SPEED:-}" ] || body=$(speed)
mem=""
[ -n "${SKIP_MEMORY:-}" ] || mem=$(memory)
{
    [ -s "$out" ] || printf '# Inference benchmarks\n\nProduced by `bench/run-inference.sh`; newest run last.\n'
    printf '\n## %s\n\nCommand: `%s` (REPS=%s TOKENS=%s). Load average before: %s, after: %s.\n\nMachine:\n```\n%s\n```\n\n%s\n\n%s\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$cmd" "$reps" "$tokens" "$load_before" "$(load)" "$(lscpu | head -n 15)" "$body" "$mem"
} >> "$out"
printf '%s\n\n%s\n' "$body" "$mem"

#!/bin/sh
# End-to-end figure for the matvec kernels: `surfing-cli run --local` on the 1 GB generated LLaMA
# (make-model --layers 20 --hidden 1024 --intermediate 2816 --heads 16 --kv-heads 4 --vocab 32000)
# chunked as f32, f16 and bf16, 128 prompt ids + 32 generated, with two builds (or two kernel
# settings) interleaved rep by rep. Prints a markdown table of medians: prompt tokens/s (prompt
# ids / time to first token) and generation tokens/s (decode_tokens_per_second from the stats).
# Usage: bench/run-kernels.sh NAME=CLI[:ENV=VALUE] NAME=CLI[:ENV=VALUE] ...
#   e.g. bench/run-kernels.sh before=/old/build/app/surfing-cli after=build/app/surfing-cli
#        bench/run-kernels.sh avx512=build/app/surfing-cli:SURFING_KERNELS=avx512 portable=build/app/surfing-cli:SURFING_KERNELS=portable
# Environment: WORK (default /var/tmp; keeps m1g-{f32,f16,bf16}), REPS (5), TOKENS (32), THREADS (1), DTYPES (f32 f16 bf16).
set -eu
work=${WORK:-/var/tmp}
reps=${REPS:-5}
tokens=${TOKENS:-32}
threads=${THREADS:-1}
dtypes=${DTYPES:-f32 f16 bf16}
[ $# -gt 0 ] || { echo "usage: $0 NAME=CLI[:ENV=VALUE] ..." >&2; exit 2; }
first=${1#*=}; first=${first%%:*}
if [ ! -f "$work/m1g/config.json" ]; then
    "$first" make-model --layers 20 --hidden 1024 --intermediate 2816 --heads 16 --kv-heads 4 --vocab 32000 -o "$work/m1g" >/dev/null
fi
for d in $dtypes; do
    [ -f "$work/m1g-$d/chunk_info.json" ] || "$first" chunk "$work/m1g" -o "$work/m1g-$d" --dtype "$d" >/dev/null
done
ids=$(seq 0 127 | awk '{printf "%s%d", (NR > 1 ? "," : ""), ($1 * 37) % 31000 + 5}')
results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq "$reps"); do
    for d in $dtypes; do
        for spec in "$@"; do
            name=${spec%%=*}; rest=${spec#*=}; cli=${rest%%:*}; env=""
            [ "$rest" = "$cli" ] || env=${rest#*:}
            json=$(env $env SURFING_TORCH_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
                "$cli" run --local "$work/m1g-$d" --ids "$ids" --max-tokens "$tokens" --json)
            echo "$json" | jq -r --arg n "$name" --arg d "$d" \
                '"\($d) \($n) \(128000 / .stats.time_to_first_token_ms) \(.stats.decode_tokens_per_second) \(.ids | map(tostring) | join(","))"' >>"$results"
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| dtype | build | prompt tokens/s (median) | generation tokens/s (median) | all generation reps | same ids |"
echo "|---|---|---:|---:|---|---|"
for d in $dtypes; do
    ref=$(awk -v d="$d" '$1 == d { print $5; exit }' "$results")
    for spec in "$@"; do
        name=${spec%%=*}
        awk -v d="$d" -v n="$name" -v ref="$ref" '$1 == d && $2 == n { p[++k] = $3; g[k] = $4; same = same && ($5 == ref) }
            BEGIN { same = 1 }
            END {
                for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) { if (p[j] < p[i]) { t = p[i]; p[i] = p[j]; p[j] = t } }
                all = ""; for (i = 1; i <= k; i++) all = all sprintf("%s%.2f", (i > 1 ? " " : ""), g[i]);
                for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) { if (g[j] < g[i]) { t = g[i]; g[i] = g[j]; g[j] = t } }
                m = int((k + 1) / 2);
                printf "| %s | %s | %.1f | %.2f | %s | %s |\n", d, n, p[m], g[m], all, (same ? "yes" : "no") }' "$results"
    done
done

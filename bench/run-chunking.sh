#!/usr/bin/env bash
# Chunking throughput: `surfing-cli chunk` (no compression) on a generated ~1.1 GB LLaMA-shaped
# model against `cp -r` of the same files, both with a warm page cache, in the same run.
# The chunker fsyncs every file before it renames the output into place, so `cp` is measured
# both alone and followed by `sync`. Prints a Markdown section for docs/benchmarks.md.
# Usage: bench/run-chunking.sh [WORK_DIR]   (needs ~4 GB free; default: a temp dir under /var/tmp)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cli=${SURFING_CLI:-$here/build/app/surfing-cli}
work=${1:-$(mktemp -d /var/tmp/surfing-bench-chunk.XXXXXX)}
runs=${RUNS:-3}

[ -d "$work/model" ] || "$cli" make-model --layers 20 --hidden 1024 --intermediate 2816 --heads 16 \
    --kv-heads 4 --vocab 32000 -o "$work/model" >/dev/null
bytes=$(du -sb "$work/model" | cut -f1)
cat "$work/model"/* >/dev/null # warm the page cache for both sides

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

cp_times=(); cpsync_times=(); chunk_times=()
for _ in $(seq "$runs"); do
  rm -rf "$work/cp" && sync
  cp_times+=("$(seconds cp -r "$work/model" "$work/cp")")
  rm -rf "$work/cp" && sync
  cpsync_times+=("$(seconds sh -c "cp -r '$work/model' '$work/cp' && sync")")
  rm -rf "$work/cp" "$work/out" && sync
  chunk_times+=("$(seconds "$cli" chunk "$work/model" -o "$work/out")")
  rm -rf "$work/out"
done
"$cli" chunk "$work/model" -o "$work/out" >/dev/null && "$cli" verify "$work/out" >/dev/null

cp_s=$(median "${cp_times[@]}"); cpsync_s=$(median "${cpsync_times[@]}"); chunk_s=$(median "${chunk_times[@]}")
mbps() { echo "scale=0; $bytes / $1 / 1000000" | bc -l; }
echo "### Chunking vs cp ($(date -u +%Y-%m-%d), $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'))"
echo
echo "Command: \`bench/run-chunking.sh\` — a generated LLaMA-shaped model of $((bytes / 1000000)) MB"
echo "(\`surfing-cli make-model --layers 20 --hidden 1024 --intermediate 2816 --heads 16 --kv-heads 4 --vocab 32000\`),"
echo "warm page cache, median of $runs runs, output on the same disk."
echo
echo "| what | seconds | MB/s | vs cp | vs cp + sync |"
echo "|---|---:|---:|---:|---:|"
echo "| cp -r | $cp_s | $(mbps "$cp_s") | 1.00 | |"
echo "| cp -r && sync | $cpsync_s | $(mbps "$cpsync_s") | | 1.00 |"
echo "| surfing-cli chunk (fsync, SHA-256, manifest) | $chunk_s | $(mbps "$chunk_s") | $(echo "scale=2; $cp_s / $chunk_s" | bc -l) | $(echo "scale=2; $cpsync_s / $chunk_s" | bc -l) |"
[ -n "${1:-}" ] || rm -rf "$work"

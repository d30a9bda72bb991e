#!/usr/bin/env bash
# Chunking throughput: `surfing-cli chunk` (no compression) on a generated ~1 GB LLaMA-shaped
# model against `cp -r` of the same files, in the same run, median of RUNS (default 3).
# Pairs of equal durability: `chunk` vs `cp -r` (page cache; atomic against a failed or killed
# run), and `chunk --sync` vs `cp -r && sync` (on disk). Warm page cache, and, when run as root,
# cold too (caches dropped before each run). Prints a Markdown section for docs/benchmarks.md.
# Usage: bench/run-chunking.sh [WORK_DIR]   (needs ~4 GB free; default: a temp dir under /var/tmp)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cli=${SURFING_CLI:-$here/build/app/surfing-cli}
work=${1:-$(mktemp -d /var/tmp/surfing-bench-chunk.XXXXXX)}
runs=${RUNS:-3}
model_args=(--layers 20 --hidden 1024 --intermediate 2816 --heads 16 --kv-heads 4 --vocab 32000)

[ -d "$work/model" ] || "$cli" make-model "${model_args[@]}" -o "$work/model" >/dev/null
bytes=$(du -sb "$work/model" | cut -f1)
can_drop=false; [ -w /proc/sys/vm/drop_caches ] && can_drop=true

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# time_median COLD CMD...: removes the outputs (and syncs, so earlier writeback is not billed to
# the next run), warms or drops the page cache, then times CMD; prints the median seconds.
time_median() {
  local cold=$1; shift
  local times=() t0 t1
  for _ in $(seq "$runs"); do
    rm -rf "$work/out" && sync
    if [ "$cold" = cold ]; then echo 3 > /proc/sys/vm/drop_caches; else cat "$work/model"/* >/dev/null; fi
    t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  rm -rf "$work/out"
  median "${times[@]}"
}
mbps() { echo "scale=0; $bytes / $1 / 1000000" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
row() { printf '| %s | %s | %.3f | %s | %s |\n' "$1" "$2" "$3" "$(mbps "$3")" "$4"; }

echo "### Chunking vs cp ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'))"
echo
echo "Command: \`bench/run-chunking.sh\` — a generated LLaMA-shaped model of $((bytes / 1000000)) MB"
echo "(\`surfing-cli make-model ${model_args[*]}\`), median of $runs runs, output on the same disk"
echo "(load average before: $(cut -d' ' -f1-3 /proc/loadavg))."
echo
echo "| cache | what | seconds | MB/s | chunk vs cp |"
echo "|---|---|---:|---:|---:|"
caches=(warm); $can_drop && caches+=(cold)
for cache in "${caches[@]}"; do
  cp_s=$(time_median "$cache" cp -r "$work/model" "$work/out")
  chunk_s=$(time_median "$cache" "$cli" chunk "$work/model" -o "$work/out")
  cpsync_s=$(time_median "$cache" sh -c "cp -r '$work/model' '$work/out' && sync")
  chunksync_s=$(time_median "$cache" "$cli" chunk --sync "$work/model" -o "$work/out")
  row "$cache" "cp -r" "$cp_s" ""
  row "$cache" "surfing-cli chunk (SHA-256, manifest, atomic rename)" "$chunk_s" "**$(ratio "$cp_s" "$chunk_s")**"
  row "$cache" "cp -r && sync" "$cpsync_s" ""
  row "$cache" "surfing-cli chunk --sync (fsync each file)" "$chunksync_s" "**$(ratio "$cpsync_s" "$chunksync_s")**"
done
# The floor no chunker can go below: SHA-256 of every byte (the manifest needs it), one core.
sha_s=$(time_median warm openssl dgst -sha256 "$work/model/model.safetensors")
row warm "openssl dgst -sha256 of the weights (one core; the hashing any chunker must do)" "$sha_s" ""
"$cli" chunk "$work/model" -o "$work/out" >/dev/null && "$cli" verify "$work/out" >/dev/null && rm -rf "$work/out"
[ -n "${1:-}" ] || rm -rf "$work"

#!/usr/bin/env bash
# Load test of the deployment of docs/deploy.md on this machine: s3rver with a ~200 MB random
# model, 1, 2 and 3 `surfing-cli serve s3://...` replicas behind HAProxy running the shipped
# packaging/haproxy/surfing.cfg, and 8, 32 and 64 concurrent `surfing-cli fetch --all` clients
# through the balancer (each verifies every chunk's SHA-256; nothing is written). Per case:
# aggregate MB/s, p50/p99 chunk latency (request sent to bytes verified, over every chunk of
# every client), each replica's peak RSS (VmHWM) against its cache budget, failed clients and
# server errors (both must be 0), whether every client got every byte, and the sessions clients
# had to open again (0 unless a connection dropped or went silent). The replicas' caches
# are warmed first (one fetch from each), so the figures are for a warm cache.
# Appends the results, with the command, machine, date and load average, to
# docs/benchmarks-scaleout.md.
# Usage: [CLIENTS="8 32 64"] [REPLICAS="1 2 3"] [CACHE_MB=256] [LAYERS=14] [OUT=FILE] bench/run-scaleout.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: bench/run-scaleout.sh BUILD_DIR}
cli=$(cd "$build" && pwd)/app/surfing-cli
here=$(cd "$(dirname "$0")/.." && pwd)
clients_list=${CLIENTS:-"8 32 64"}
replicas_list=${REPLICAS:-"1 2 3"}
cache_mb=${CACHE_MB:-256}
out=${OUT:-"$here/docs/benchmarks-scaleout.md"}
name=run-scaleout
# shellcheck source=bench/scaleout-lib.sh
. "$here/bench/scaleout-lib.sh"

echo "run-scaleout: making and chunking the model in $work" >&2
"$cli" make-model -o "$work/model" --layers "${LAYERS:-14}" --hidden 512 --intermediate 1536 --heads 8 --kv-heads 4 \
    --vocab 8192 >/dev/null
"$cli" chunk "$work/model" -o "$work/chunks" >/dev/null
model_bytes=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(c["stored_bytes"] for c in m["chunks"].values()))' \
    "$work/chunks/chunk_info.json" 2>/dev/null || du -sb "$work/chunks" | cut -f1)
chunk_count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["chunks"]))' "$work/chunks/chunk_info.json")

echo "run-scaleout: starting s3rver and uploading" >&2
start_s3 "$work/chunks"

rows=""
for replicas in $replicas_list; do
    declare -a rport=() hport=() rpid=()
    for i in 1 2 3; do rport[$i]=$(free_port); hport[$i]=$(free_port); done
    for i in $(seq "$replicas"); do
        "$cli" serve s3://surfing/bench --port "${rport[$i]}" --metrics-port "${hport[$i]}" --cache-mb "$cache_mb" \
            >"$work/replica$i.out" 2>"$work/replica$i.err" &
        rpid[$i]=$!
        pids+=($!)
    done
    bport=$(free_port)
    start_haproxy "$bport"
    for i in $(seq "$replicas"); do
        for _ in $(seq 300); do [ "$(http_status "http://127.0.0.1:${hport[$i]}/healthz")" = 200 ] && break; sleep 0.2; done
        # Warm this replica's cache with a fetch of its own.
        "$cli" fetch --all --verify-only --server "ws://127.0.0.1:${rport[$i]}" >/dev/null
    done
    for _ in $(seq 300); do [ "$(http_status "http://127.0.0.1:$bport/healthz")" = 200 ] && break; sleep 0.2; done
    sleep 3 # HAProxy's "rise 2" at 1 s intervals for every replica
    errors_before=0
    for i in $(seq "$replicas"); do
        e=$(curl -s "http://127.0.0.1:${hport[$i]}/metrics" | awk '/^surfing_errors_total/ {s+=$2} END {print s+0}')
        errors_before=$((errors_before + ${e%.*}))
    done
    for clients in $clients_list; do
        load=$(cut -d' ' -f1-3 /proc/loadavg)
        echo "run-scaleout: $replicas replica(s), $clients clients (load $load)" >&2
        rm -rf "$work/stats"; mkdir "$work/stats"
        start=$(date +%s.%N)
        cpids=()
        for c in $(seq "$clients"); do
            "$cli" fetch --all --verify-only --timeout 120 --server "ws://127.0.0.1:$bport" \
                --stats-json "$work/stats/$c.json" >/dev/null 2>"$work/stats/$c.err" &
            cpids+=($!)
        done
        failed=0
        for p in "${cpids[@]}"; do wait "$p" || failed=$((failed + 1)); done
        end=$(date +%s.%N)
        errors_after=0
        rss=""
        for i in $(seq "$replicas"); do
            e=$(curl -s "http://127.0.0.1:${hport[$i]}/metrics" | awk '/^surfing_errors_total/ {s+=$2} END {print s+0}')
            errors_after=$((errors_after + ${e%.*}))
            hwm=$(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/${rpid[$i]}/status")
            rss="$rss${rss:+ / }$hwm"
        done
        row=$(python3 - "$work/stats" "$clients" "$start" "$end" "$model_bytes" "$chunk_count" <<'PY'
import glob, json, sys
d, clients, start, end, model, chunks = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
lat, total, complete, reconnects = [], 0, 0, 0
for f in glob.glob(d + "/*.json"):
    s = json.load(open(f))
    lat += s["chunk_latency_ms"]
    total += s["bytes"]
    complete += s["bytes"] == model and s["chunks"] == chunks
    reconnects += s.get("network", {}).get("reconnects", 0)
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
secs = end - start
print(f"{total / 1e6 / secs:.0f} | {pct(0.50):.0f} | {pct(0.99):.0f} | {secs:.1f} | {complete}/{clients} | {reconnects:.0f}")
PY
)
        rows="$rows| $replicas | $clients | $row | $failed | $((errors_after - errors_before)) | $rss | $load |
"
        errors_before=$errors_after
        printf '%s\n' "$(printf '%s' "$rows" | tail -n 1)" >&2
        if [ "$failed" -gt 0 ]; then cat "$work"/stats/*.err | sort | uniq -c | head -5 >&2; fi
    done
    for i in $(seq "$replicas"); do kill "${rpid[$i]}" 2>/dev/null || true; wait "${rpid[$i]}" 2>/dev/null || true; done
    kill "$hapid" 2>/dev/null || true; wait "$hapid" 2>/dev/null || true
done

{
    [ -s "$out" ] || printf '# Scale-out benchmarks\n\nProduced by `bench/run-scaleout.sh`; newest run last. What the set-up is: docs/deploy.md.\n'
    printf '\n## %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'Command: `CLIENTS="%s" REPLICAS="%s" CACHE_MB=%s bench/run-scaleout.sh BUILD_DIR`. Model: random LLaMA, ' \
        "$clients_list" "$replicas_list" "$cache_mb"
    printf '%s chunks, %s bytes stored; s3rver on loopback; replicas with `--cache-mb %s`, caches warmed first; ' \
        "$chunk_count" "$model_bytes" "$cache_mb"
    printf 'clients `fetch --all --verify-only` through HAProxy (`packaging/haproxy/surfing.cfg`), all started at once.\n\n'
    printf 'Machine:\n```\n%s\n```\n\n' "$(lscpu | head -n 15)"
    printf '| replicas | clients | aggregate MB/s | chunk p50 ms | chunk p99 ms | wall s | clients with every byte verified | client reconnects | failed clients | server errors | peak RSS per replica MiB (cache budget %s) | load average before |\n' "$cache_mb"
    printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n%s' "$rows"
} >>"$out"
echo "run-scaleout: appended to $out" >&2

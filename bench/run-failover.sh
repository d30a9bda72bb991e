#!/usr/bin/env bash
# What a replica killed mid-run costs (issue 15: "100% of runs complete with identical output;
# added time <= 2 s"). The set-up of docs/deploy.md on this machine: s3rver holding a chunked
# model (stories260K by default), 3 `surfing-cli serve s3://...` replicas, HAProxy running the
# shipped packaging/haproxy/surfing.cfg. A 64-token `run --json` (one-chunk client cache, so
# the client fetches all run long) goes
#   - through the balancer (--server ws://haproxy), and
#   - with client-side failover (--server ws://r1,ws://r2,ws://r3),
# each uninterrupted and with one replica SIGKILLed mid-run (when the run has fetched half the
# chunks of an uninterrupted run; behind the balancer, the replica holding the session), REPS
# times, interleaved. The killed replica is started again (and seen up by HAProxy) before the
# next run. Reports per mode the medians of plain and killed runs: wall time, generation time
# (`stats.total_ms`: without the process start, which is the same for both) and the longest the
# computation waited for a chunk (in a killed run: the stall the kill caused, which the machine's
# load blurs much less than a whole run's time); the runs with the reference ids; and from the
# client's log (timestamps) how long after the kill the client noticed it.
# Appends the results, with the command, date and load average, to docs/benchmarks-scaleout.md.
# Usage: [REPS=5] [MODEL=DIR] [SERVER_CACHE_MB=0] [OUT=FILE] [KEEP=1] bench/run-failover.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: bench/run-failover.sh BUILD_DIR}
cli=$(cd "$build" && pwd)/app/surfing-cli
here=$(cd "$(dirname "$0")/.." && pwd)
reps=${REPS:-5}
model=${MODEL:-"$here/../shared/models/stories260K"}
server_cache_mb=${SERVER_CACHE_MB:-0}
out=${OUT:-"$here/docs/benchmarks-scaleout.md"}
[ -d "$model" ] || { echo "run-failover: no model at $model (set MODEL=)" >&2; exit 2; }
name=run-failover
# shellcheck source=bench/scaleout-lib.sh
. "$here/bench/scaleout-lib.sh"
now() { date +%s.%N; }
served() { curl -s --max-time 2 "http://127.0.0.1:$1/metrics" | awk '/^surfing_chunks_served_total/ {s+=$2} END {printf "%d", s}'; }

"$cli" chunk "$model" -o "$work/chunks" >/dev/null
start_s3 "$work/chunks"

declare -a rport=() hport=() rpid=()
start_replica() {
    "$cli" serve s3://surfing/bench --port "${rport[$1]}" --metrics-port "${hport[$1]}" --cache-mb "$server_cache_mb" \
        >>"$work/replica$1.out" 2>>"$work/replica$1.err" &
    rpid[$1]=$!
    pids+=($!)
    for _ in $(seq 300); do [ "$(http_status "http://127.0.0.1:${hport[$1]}/healthz")" = 200 ] && return 0; sleep 0.1; done
    echo "run-failover: replica $1 did not come up" >&2
    exit 1
}
for i in 1 2 3; do rport[$i]=$(free_port); hport[$i]=$(free_port); start_replica "$i"; done
bport=$(free_port)
start_haproxy "$bport"
# HAProxy takes a replica (back) in after "rise 2" checks 1 s apart: wait for the balancer's
# /healthz, then that long.
wait_balancer() {
    for _ in $(seq 300); do [ "$(http_status "http://127.0.0.1:$bport/healthz")" = 200 ] && break; sleep 0.1; done
    sleep 3
}
wait_balancer

ids=$(python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["prompts"][0]["ids"])))' \
    "$model/golden/prompts.json" 2>/dev/null || echo 1,2,3)
run_args=(--json --ids "$ids" --max-tokens 64 --cache-layers 1)
"$cli" run --local "$work/chunks" "${run_args[@]}" >"$work/reference.json"
reference=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ids"])' "$work/reference.json")
balancer="ws://127.0.0.1:$bport"
replicas="ws://127.0.0.1:${rport[1]},ws://127.0.0.1:${rport[2]},ws://127.0.0.1:${rport[3]}"

# Chunks an uninterrupted run fetches (from the replicas' counters), to kill at half of them.
total_served() { echo $(( $(served "${hport[1]}") + $(served "${hport[2]}") + $(served "${hport[3]}") )); }
before=$(total_served)
"$cli" run --server "$balancer" "${run_args[@]}" >/dev/null
per_run=$(( $(total_served) - before ))
kill_at=$(( per_run / 2 ))
echo "run-failover: a run fetches $per_run chunks; killing after $kill_at" >&2

results="$work/results.txt"
: >"$results"
# one_run MODE plain|killed REP: appends a line (see the table's legend below) to $results.
one_run() {
    local mode=$1 kill=$2 rep=$3 server log json victim="" kill_time=""
    [ "$mode" = balancer ] && server=$balancer || server=$replicas
    log="$work/$mode-$kill-$rep.log"
    json="$work/$mode-$kill-$rep.json"
    local b1 b2 b3
    b1=$(served "${hport[1]}"); b2=$(served "${hport[2]}"); b3=$(served "${hport[3]}")
    local start end
    start=$(now)
    QT_MESSAGE_PATTERN='%{time yyyy-MM-ddThh:mm:ss.zzz} %{category} %{message}' \
    QT_LOGGING_RULES='surfing.client.debug=true;surfing.client.pool.debug=true' \
        "$cli" run --server "$server" "${run_args[@]}" >"$json" 2>"$log" &
    local run=$!
    # Uninterrupted runs watch the counters the same way up to the same point (the watching
    # costs CPU), and only the kill is left out.
    while kill -0 "$run" 2>/dev/null; do
        local s1 s2 s3 d1 d2 d3
        s1=$(served "${hport[1]}"); s2=$(served "${hport[2]}"); s3=$(served "${hport[3]}")
        d1=$((s1 - b1)); d2=$((s2 - b2)); d3=$((s3 - b3))
        if [ $((d1 + d2 + d3)) -ge "$kill_at" ]; then
            # The replica that served most of this run (behind the balancer: the session's).
            victim=1
            [ "$d2" -gt "$d1" ] && victim=2
            [ "$d3" -gt "$((victim == 2 ? d2 : d1))" ] && victim=3
            if [ "$kill" = killed ]; then
                kill -KILL "${rpid[$victim]}"
                kill_time=$(now)
            else
                victim=""
            fi
            break
        fi
        sleep 0.02
    done
    wait "$run" || echo "run-failover: $mode $kill rep $rep: the run failed: $(tail -n 3 "$log")" >&2
    end=$(now)
    python3 - "$json" "$reference" "$mode" "$kill" "$rep" "$start" "$end" "${kill_time:-0}" "$log" >>"$results" <<'PY'
import json, sys, datetime
path, reference, mode, kill, rep, start, end, kill_time, log = sys.argv[1:10]
start, end, kill_time = float(start), float(end), float(kill_time)
try:
    doc = json.load(open(path))
except Exception:
    doc = {}
ok = str(doc.get("ids")) == reference
net = doc.get("network", {})
gen_ms = doc.get("stats", {}).get("total_ms", -1)
# The longest the computation waited for a chunk: in a killed run, the stall the kill caused.
max_wait = max((u.get("wait_ns", 0) for u in doc.get("timeline", [])), default=-1e6) / 1e6
# From the client's log: when it noticed the loss (its clock and the kill's agree to a few ms:
# negative is "at once").
noticed = "-"
if kill_time:
    for line in open(log, errors="replace"):
        parts = line.split(" ", 2)
        try:
            t = datetime.datetime.strptime(parts[0], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
        except Exception:
            continue
        if t >= kill_time - 0.5 and ("ended:" in line or "is reconnecting" in line or "moving" in line):
            noticed = f"{max(0.0, t - kill_time) * 1000:.0f}"
            break
print(mode, kill, rep, f"{end - start:.2f}", f"{gen_ms:.0f}", f"{max_wait:.0f}", int(ok), net.get("reconnects", 0),
      net.get("retries", 0), net.get("failovers", 0), net.get("servers_lost", 0),
      f"{kill_time - start:.2f}" if kill_time else "-", noticed)
PY
    tail -n 1 "$results" >&2
    if [ -n "$victim" ]; then
        start_replica "$victim"
        wait_balancer
    fi
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq "$reps"); do
    for mode in balancer client; do
        # Alternate which goes first, so a drift in the machine's load hits both alike.
        if [ $((rep % 2)) = 1 ]; then one_run "$mode" plain "$rep"; one_run "$mode" killed "$rep"
        else one_run "$mode" killed "$rep"; one_run "$mode" plain "$rep"; fi
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

summary=$(python3 - "$results" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
med = lambda xs: statistics.median(xs) if xs else float("nan")
out = []
for mode, label in (("balancer", "through HAProxy"), ("client", "client-side failover (`--server a,b,c`)")):
    plain = [r for r in rows if r[0] == mode and r[1] == "plain"]
    killed = [r for r in rows if r[0] == mode and r[1] == "killed"]
    if not plain or not killed:
        continue
    col = lambda rs, i: [float(r[i]) for r in rs]
    wp, wk = med(col(plain, 3)), med(col(killed, 3))
    gp, gk = med(col(plain, 4)), med(col(killed, 4))
    mp, mk = med(col(plain, 5)), med(col(killed, 5))
    ok = sum(int(r[6]) for r in plain + killed)
    noticed = [float(r[12]) for r in killed if r[12] != "-"]
    out.append(f"| {label} | {len(plain)} / {len(killed)} | {wp:.2f} / {wk:.2f} ({wk - wp:+.2f}) | "
               f"{gp:.0f} / {gk:.0f} ({gk - gp:+.0f}) | {mp:.0f} / {mk:.0f} (killed: {min(col(killed, 5)):.0f}..{max(col(killed, 5)):.0f}) | "
               f"{ok}/{len(plain) + len(killed)} | {med(noticed):.0f} (max {max(noticed) if noticed else float('nan'):.0f}) |")
print("\n".join(out))
PY
)
echo "$summary" >&2
{
    printf '\n## %s: replica killed mid-run (bench/run-failover.sh)\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'Command: `REPS=%s SERVER_CACHE_MB=%s bench/run-failover.sh BUILD_DIR`. Model %s (%s chunks fetched per run, ' \
        "$reps" "$server_cache_mb" "$(basename "$model")" "$per_run"
    printf 'replica SIGKILLed after %s), `run --json --max-tokens 64 --cache-layers 1`; 3 replicas over s3rver with ' "$kill_at"
    printf '`--cache-mb %s`; HAProxy with `packaging/haproxy/surfing.cfg`. Load average before %s, after %s.\n\n' \
        "$server_cache_mb" "$load_before" "$load_after"
    printf '| mode | runs plain / killed | wall s, median plain / killed (added) | generation ms, median plain / killed (added) | longest wait for a chunk ms, median plain / killed | runs with the reference ids | kill to the client noticing, median ms |\n'
    printf '|---|---|---|---|---|---|---|\n%s\n\n' "$summary"
    printf 'Every run (mode, plain/killed, rep, wall s, generation ms, longest wait for a chunk ms, ids ok, reconnects, retries, failovers, servers lost, killed at s, noticed after ms):\n```\n%s\n```\n' \
        "$(cat "$results")"
} >>"$out"
echo "run-failover: appended to $out" >&2

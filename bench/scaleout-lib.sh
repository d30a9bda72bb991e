# Shared by bench/run-scaleout.sh and bench/run-failover.sh (sourced; not run on its own): the
# tools they need, the work directory and its cleanup, free ports, s3rver holding a chunk
# directory, and HAProxy with the shipped configuration in front of replicas 1-3.
# The sourcing script sets `name` (for messages) and `here` (the checkout) first.

haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$haproxy" ] || { echo "$name: haproxy is not installed (scripts/install-deps.sh)" >&2; exit 2; }
command -v node >/dev/null || { echo "$name: node is not installed (scripts/install-deps.sh)" >&2; exit 2; }
[ -d "$here/tests/s3/node_modules/s3rver" ] || { echo "$name: s3rver missing: run scripts/install-deps.sh" >&2; exit 2; }

work=$(mktemp -d "/var/tmp/surfing-${name#run-}.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] && echo "$name: kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }

# start_s3 CHUNKS_DIR: s3rver on a free port with the chunks under s3://surfing/bench, and the
# AWS variables the replicas read.
start_s3() {
    mkfifo "$work/s3.in"
    node "$here/tests/s3/s3server.js" --dir "$work/s3" --bucket surfing <"$work/s3.in" >"$work/s3.out" 2>&1 &
    pids+=($!)
    exec 8>"$work/s3.in"
    for _ in $(seq 100); do grep -q S3RVER_PORT "$work/s3.out" && break; sleep 0.2; done
    s3port=$(sed -n 's/^S3RVER_PORT //p' "$work/s3.out")
    for f in "$1"/*; do
        curl -sf -X PUT --data-binary "@$f" "http://127.0.0.1:$s3port/surfing/bench/$(basename "$f")" >/dev/null
    done
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
    export AWS_ENDPOINT_URL="http://127.0.0.1:$s3port"
}

# start_haproxy PORT: packaging/haproxy/surfing.cfg on PORT in front of replicas 1-3, whose ports
# are in the arrays rport and hport; its pid goes to hapid.
start_haproxy() {
    SURFING_HAPROXY_UNPRIVILEGED=1 SURFING_BIND="127.0.0.1:$1" \
    SURFING_R1_PORT=${rport[1]} SURFING_R1_HEALTH_PORT=${hport[1]} \
    SURFING_R2_PORT=${rport[2]} SURFING_R2_HEALTH_PORT=${hport[2]} \
    SURFING_R3_PORT=${rport[3]} SURFING_R3_HEALTH_PORT=${hport[3]} \
        "$haproxy" -db -f "$here/packaging/haproxy/surfing.cfg" >"$work/haproxy.log" 2>&1 &
    hapid=$!
    pids+=($hapid)
}

#!/bin/sh
# Memory-bounded streaming against the transfer bound (issue 13): the 1 GB LLaMA (make-model
# --layers 20 --hidden 1024 --intermediate 2816 --heads 16 --kv-heads 4 --vocab 32000) in f32,
# bf16 (and q8_0, q4_0 when `chunk --quantize` exists), served over loopback by `surfing-cli
# serve` (unpaced, and paced with --limit-mbps 1000), run with cache budgets, prefetch depths and
# batch sizes one factor at a time, each row beside the raw TCP rate measured right before and
# right after it;
# llama.cpp (mmap) on the same model beside it.
# Appends a section to docs/benchmarks-bounded.md.
# Usage: bench/run-bounded.sh BUILD_DIR [WORK_DIR]   (WORK_DIR default /var/tmp/surfing-peer, the
# directory bench/run-peer.sh keeps its models and llama.cpp in; needs ~3 GB free)
# Environment: TOKENS (default 4: 3 decode steps; auto rows run 32), ROWS=quick (the base row at prefetch 2, auto and 0, auto with
# SURFING_ARRIVING=off (whole chunks only), the two batch-64
# rows where fetching is cheaper than computing, and q8_0 at 256 MiB, where most layers are cached), REPS (default 1; reps go round the rows, and a
# table of medians follows); ROWS=ctier: the compressed cache tier against the same budget all
# decoded, reps interleaved.
set -eu
build=$(cd "${1:?usage: bench/run-bounded.sh BUILD_DIR [WORK_DIR]}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-/var/tmp/surfing-peer}
cli="$build/app/surfing-cli"
out="$here/docs/benchmarks-bounded.md"
mkdir -p "$work"

[ -f "$work/m1g/config.json" ] || "$cli" make-model --layers 20 --hidden 1024 --intermediate 2816 --heads 16 \
    --kv-heads 4 --vocab 32000 -o "$work/m1g" >/dev/null
# Chunks written before a layer's tensors were stored in the order a step reads them (before
# 2026-12-05: alphabetical, the MLP first) load the same but cannot be computed on as they arrive:
# such a directory is made again.
for d in f32 bf16 bf16-zstd q8_0 q4_0; do
    f="$work/m1g.$d/layer_0.safetensors"
    if [ -f "$f" ] && python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
h = json.loads(f.read(n)); h.pop("__metadata__", None)
sys.exit(0 if min(h, key=lambda k: h[k]["data_offsets"][0]).startswith("mlp.") else 1)' "$f"; then
        echo "bench/run-bounded.sh: $work/m1g.$d is in the old tensor order; chunking it again" >&2
        rm -rf "$work/m1g.$d"
    fi
done
for t in f32 bf16; do
    [ -f "$work/m1g.$t/chunk_info.json" ] || "$cli" chunk "$work/m1g" -o "$work/m1g.$t" --dtype "$t" >/dev/null
done
[ -f "$work/m1g.bf16-zstd/chunk_info.json" ] || "$cli" chunk "$work/m1g" -o "$work/m1g.bf16-zstd" --dtype bf16 --compress >/dev/null
quant="--chunks-bf16-zstd $work/m1g.bf16-zstd"
if "$cli" chunk --help | grep -q -- --quantize; then
    for q in q8_0 q4_0; do
        [ -f "$work/m1g.$q/chunk_info.json" ] || "$cli" chunk "$work/m1g" -o "$work/m1g.$q" --quantize "$q" >/dev/null
        quant="$quant --chunks-$q $work/m1g.$q"
    done
fi
# llama.cpp, when bench/run-peer.sh has set it up (and converted the model) in WORK_DIR.
peer=""
if [ -x "$work/llama/llbench" ] && [ -f "$work/llama/libdir" ]; then
    peer="--llbench $work/llama/llbench --llama-libdir $(cat "$work/llama/libdir") --gguf-f32 $work/m1g.f32.gguf --gguf-bf16 $work/m1g.bf16.gguf"
    for q in q8_0 q4_0; do
        if [ -n "$quant" ] && [ -x "$work/llama/llquantize" ] && [ -f "$work/m1g.f32.gguf" ]; then
            [ -f "$work/m1g.$q.gguf" ] || "$work/llama/llquantize" "$work/m1g.f32.gguf" "$work/m1g.$q.gguf" "$q" >/dev/null 2>&1
            peer="$peer --gguf-$q $work/m1g.$q.gguf"
        fi
    done
fi

header=$(cat <<HEADER

## Run of $(date -u '+%Y-%m-%d %H:%M UTC')
Command: \`ROWS=${ROWS:-full} REPS=${REPS:-1} TOKENS=${TOKENS:-4} bench/run-bounded.sh $1\` at $(git -C "$here" rev-parse --short HEAD).
Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GB RAM; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg).
${REPS:-1} rep(s) per row, going round the rows (the machine is shared; see the load column), ${TOKENS:-4} new tokens
per prompt after \`--warmup\`, prompt of 8 ids; tokens/s and bytes/token over the decode steps. Bound = raw TCP
rate (the median of bench_linkrate's fetches just before and just after the row, the fastest of plain and
SO_RCVLOWAT reads, 1 MiB sends read 128 KiB at a time, and the same sent by reference; or the pace) / bytes per token. Fetch hidden = 1 - compute's wait / the time a fetch was in
flight (union of the fetch intervals); fetch / compute = that time / compute time, decode steps only.
Ceiling (unpaced f32 single-prompt rows): bench_ceiling, the same raw TCP fetching the row's layers per token
while the same products run over every layer and the LM head, nothing else (no framing, verification, cache
or event loop), with the raw rate alone interleaved; "ceiling of raw" = its fetch rate / that raw rate (the
most of the bound any client reaches when the two cores also compute), "of ceiling" = the row's fetch rate /
the ceiling's.

HEADER
)
python3 "$here/bench/bounded_bench.py" --cli "$cli" --linkrate "$build/bench/bench_linkrate" \
    --chunks-f32 "$work/m1g.f32" --chunks-bf16 "$work/m1g.bf16" $quant $peer \
    --tokens "${TOKENS:-4}" --rows "${ROWS:-full}" --reps "${REPS:-1}" --out "$out" --header "$header"

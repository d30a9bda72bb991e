#!/bin/sh
# Quantized chunks (issue 13 item 4): accuracy and bytes per token of --quantize q8_0|q4_0 against
# f32, with llama.cpp's own Q8_0 / Q4_0 beside them. Appends a dated run to docs/benchmarks-quant.md.
#   1. stories260K: the golden-prompt figures of tst_quantmodel (max logit difference, greedy
#      agreement); perplexity on bench/data/heldout-stories.txt with bench_perplexity, and with
#      llama.cpp (bench/peer/llperplexity.c) on the very same token ids, for f32, Q8_0, Q4_0 (its
#      default mix) and Q4_0 --pure.
#   2. the 1 GB LLaMA (make-model --layers 20 --hidden 1024 --intermediate 2816 --heads 16
#      --kv-heads 4 --vocab 32000) chunked f32 / q8_0 / q4_0, run --local with --cache-mb 128:
#      bytes fetched per forward pass (stats bytes_fetched / steps) and tokens/s; 3. the same
#      served by `surfing-cli serve` over loopback to `run --server`.
# Usage: bench/run-quant.sh BUILD_DIR [WORK_DIR]   (BUILD_DIR configured with -DSURFING_BUILD_BENCH=ON
# and -DSURFING_BUILD_TESTS=ON; needs ~3 GB in WORK_DIR; llama.cpp from ../shared/peer/setup.sh)
# Environment: PEER_DIR (default /var/tmp/peer, set up when missing), SKIP_BIG=1 (stories260K only),
# GEN (tokens generated in part 2, default 8).
set -eu
build=$(cd "${1:?usage: bench/run-quant.sh BUILD_DIR [WORK_DIR]}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-/var/tmp/surfing-quant}
peer=${PEER_DIR:-/var/tmp/peer}
cli="$build/app/surfing-cli"
ppl="$build/bench/bench_perplexity"
out="$here/docs/benchmarks-quant.md"
python=/usr/bin/python3   # Debian's, with numpy, for hf2gguf.py
stories="$here/../shared/models/stories260K"
text="$here/bench/data/heldout-stories.txt"
mkdir -p "$work"

[ -f "$peer/libdir" ] || bash "$here/../shared/peer/setup.sh" "$peer" >/dev/null
libdir=$(cat "$peer/libdir")
lib=$(cd "$libdir" && ls libllama.v*.so | head -1); ggml=$(cd "$libdir" && ls libggml.v*.so 2>/dev/null | head -1)
for tool in llquantize llperplexity; do
    [ -x "$work/$tool" ] || gcc -O2 -o "$work/$tool" "$here/bench/peer/$tool.c" -I"$peer/llama.cpp/include" \
        -I"$peer/llama.cpp/ggml/include" -L"$libdir" -l:"$lib" ${ggml:+-l:"$ggml"} -l:libggml-base.so -lm -Wl,-rpath,"$libdir"
done

chunks() { [ -f "$2/chunk_info.json" ] || "$cli" chunk "$1" -o "$2" ${3:+--quantize "$3"} >/dev/null; }
json() { $python -c "import json,sys; d=json.loads(sys.stdin.read()); print($1)"; }

{
echo
echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Command: \`bench/run-quant.sh $1\` at $(git -C "$here" rev-parse --short HEAD). Machine: $(nproc) cores,"
echo "$(lscpu | sed -n 's/^Model name: *//p'); kernels: $(grep -o 'avx512f\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')."
echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg). llama.cpp: @node-llama-cpp/linux-x64 3.22.1 (libllama v0.5.0)."
echo
echo "### stories260K: golden prompts (tst_quantmodel)"
echo '```'
(cd "$build" && SURFING_SHARED_MODELS="$here/../shared/models" SURFING_CLI="$cli" ./tests/inference/tst_quantmodel \
    goldenPrompts quantizedChunksAreSmaller 2>&1 | grep -E '^QINFO' | sed 's/^QINFO *: *[^)]*) *//')
echo '```'
} >> "$out"

# Part 1: perplexity, f32 / q8_0 / q4_0 and llama.cpp on the same ids.
chunks "$stories" "$work/s260k.f32"
chunks "$stories" "$work/s260k.q8_0" q8_0
chunks "$stories" "$work/s260k.q4_0" q4_0
"$ppl" "$work/s260k.f32" "$text" --ids-out "$work/heldout.ids" > "$work/ppl.f32.json"
[ -f "$work/s260k.f32.gguf" ] || $python "$here/../shared/peer/hf2gguf.py" "$stories" "$work/s260k.f32.gguf" --type f32 >/dev/null
for t in q8_0 q4_0; do
    "$ppl" "$work/s260k.$t" "$text" --ids-in "$work/heldout.ids" > "$work/ppl.$t.json"
    [ -f "$work/s260k.$t.gguf" ] || LLAMA_LIBDIR=$libdir "$work/llquantize" "$work/s260k.f32.gguf" "$work/s260k.$t.gguf" $t >/dev/null 2>&1
    [ -f "$work/s260k.$t.pure.gguf" ] || LLAMA_LIBDIR=$libdir "$work/llquantize" "$work/s260k.f32.gguf" "$work/s260k.$t.pure.gguf" $t pure >/dev/null 2>&1
done
{
echo
echo "### stories260K: the same blocks as llama.cpp (bench/peer/cmpgguf.py)"
echo '```'
for t in q8_0 q4_0; do $python "$here/bench/peer/cmpgguf.py" "$work/s260k.$t" "$work/s260k.$t.gguf"; done
echo '```'
} >> "$out"
sf32=$(json 'd["perplexity"]' < "$work/ppl.f32.json")
lf32=$(LLAMA_LIBDIR=$libdir "$work/llperplexity" "$work/s260k.f32.gguf" "$work/heldout.ids" | json 'd["perplexity"]')
cell() { $python -c "print('%.4f (%+.2f %%)' % ($1, 100 * ($1 / $2 - 1)))"; }
row() { # label, surfing json or -, llama gguf
    s=-; [ "$2" = - ] || s=$(cell "$(json 'd["perplexity"]' < "$2")" "$sf32")
    l=$(cell "$(LLAMA_LIBDIR=$libdir "$work/llperplexity" "$3" "$work/heldout.ids" | json 'd["perplexity"]')" "$lf32")
    echo "| $1 | $s | $l |"
}
{
echo
echo "### stories260K: perplexity on bench/data/heldout-stories.txt"
echo "Each story scored on its own from BOS; the same ids for both engines (llama.cpp: flash attention off, KV f32, 1 thread)."
echo
echo "$(json 'd["stories"]' < "$work/ppl.f32.json") stories, $(json 'd["tokens_scored"]' < "$work/ppl.f32.json") tokens scored. Perplexity (change against the same engine's f32):"
echo
echo "| dtype | Surfing | llama.cpp |"
echo "|---|---|---|"
row f32 "$work/ppl.f32.json" "$work/s260k.f32.gguf"
row "q8_0 / Q8_0" "$work/ppl.q8_0.json" "$work/s260k.q8_0.gguf"
row "q4_0 / Q4_0 (LM head Q8_0)" "$work/ppl.q4_0.json" "$work/s260k.q4_0.gguf"
row "Q4_0 --pure (LM head Q4_0 too)" - "$work/s260k.q4_0.pure.gguf"
} >> "$out"

# Part 2: bytes per token on the 1 GB model with a 128 MiB cache.
[ -n "${SKIP_BIG:-}" ] && exit 0
[ -f "$work/m1g/config.json" ] || "$cli" make-model --layers 20 --hidden 1024 --intermediate 2816 --heads 16 \
    --kv-heads 4 --vocab 32000 -o "$work/m1g" >/dev/null
ids=$($python -c "print(','.join(str(3 + (i * 7919) % 31997) for i in range(16)))")
{
echo
echo "### 1 GB LLaMA: bytes fetched per token, \`run --local DIR --cache-mb 128 --prefetch 1 --threads 1 --warmup\`"
echo "Prompt 16 ids, ${GEN:-8} generated (greedy). Bytes per step = stats bytes_fetched / steps: a step is one forward pass"
echo "(the prompt, then one per new token); --warmup runs one token first (not counted), so the cache starts as a running"
echo "generation has it. Stored bytes / f32's is what a step moves when the cache keeps nothing."
echo
echo "| dtype | stored model | stored / f32 | bytes per step | per step / f32 | decode tokens/s | load average |"
echo "|---|---|---|---|---|---|---|"
} >> "$out"
f32bytes=
f32stored=
for t in f32 q8_0 q4_0; do
    q=; [ $t = f32 ] || q=$t
    chunks "$work/m1g" "$work/m1g.$t" $q
    stored=$("$cli" inspect "$work/m1g.$t" --json | json 'sum(c["stored_bytes"] for c in d["chunks"])' 2>/dev/null || echo "?")
    r=$("$cli" run --local "$work/m1g.$t" --cache-mb 128 --prefetch 1 --threads 1 --warmup --ids "$ids" --max-tokens "${GEN:-8}" --json)
    per=$(echo "$r" | json 'd["stats"]["bytes_fetched"] / d["stats"]["steps"]')
    tps=$(echo "$r" | json 'round(d["stats"]["decode_tokens_per_second"], 2)')
    [ -n "$f32bytes" ] || { f32bytes=$per; f32stored=$stored; }
    ratio=$($python -c "print(round($per / $f32bytes, 4))"); sratio=$($python -c "print(round($stored / $f32stored, 4))")
    echo "| $t | $stored | $sratio | $(printf '%.0f' "$per") | $ratio | $tps | $(cut -d' ' -f1-3 /proc/loadavg) |" >> "$out"
done

# Part 3: the same, served by `surfing-cli serve` over loopback to `run --server`.
{
echo
echo "Served over loopback (\`serve DIR\` + \`run --server URL\`, same options):"
echo
echo "| dtype | bytes per step | per step / f32 | decode tokens/s | load average |"
echo "|---|---|---|---|---|"
} >> "$out"
f32bytes=
for t in f32 q8_0 q4_0; do
    "$cli" serve "$work/m1g.$t" --host 127.0.0.1 --port 0 > "$work/serve.log" 2>&1 &
    server=$!
    url=
    for _ in $(seq 1 60); do url=$(grep -o 'ws://[^ "]*' "$work/serve.log" | head -1); [ -n "$url" ] && break; sleep 1; done
    r=$("$cli" run --server "$url" --cache-mb 128 --prefetch 1 --threads 1 --warmup --ids "$ids" --max-tokens "${GEN:-8}" --json)
    kill "$server"; wait "$server" 2>/dev/null || true
    per=$(echo "$r" | json 'd["stats"]["bytes_fetched"] / d["stats"]["steps"]')
    tps=$(echo "$r" | json 'round(d["stats"]["decode_tokens_per_second"], 2)')
    [ -n "$f32bytes" ] || f32bytes=$per
    echo "| $t | $(printf '%.0f' "$per") | $($python -c "print(round($per / $f32bytes, 4))") | $tps | $(cut -d' ' -f1-3 /proc/loadavg) |" >> "$out"
done

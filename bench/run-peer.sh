#!/bin/sh
# Surfing against llama.cpp (issue 11): sets up llama.cpp with ../shared/peer/setup.sh, converts the
# models with ../shared/peer/hf2gguf.py (bf16 through llama.cpp's own quantizer), checks that both
# engines give the same greedy ids, then times both rep by rep (stories260K f32; a generated 1 GB
# LLaMA in f32, f16 and bf16; 1 and 2 threads; prompt 128 + 32 generated) and appends medians,
# ratios, peak RSS and the load average to docs/benchmarks-peer.md.
# Usage: bench/run-peer.sh BUILD_DIR [WORK_DIR]     (needs ~6 GB free in WORK_DIR and the npm registry
# the first time; a given WORK_DIR keeps llama.cpp and the models for the next run)
# Environment: REPS (default 5), THREADS (default 1,2), SKIP_BIG=1 (stories260K only).
set -eu
build=$(cd "${1:?usage: bench/run-peer.sh BUILD_DIR [WORK_DIR]}" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-/var/tmp/surfing-peer}
cli="$build/app/surfing-cli"
out="$here/docs/benchmarks-peer.md"
python=/usr/bin/python3   # Debian's, with python3-numpy (scripts/install-deps.sh) for hf2gguf.py
peer="$here/../shared/peer"
mkdir -p "$work"

"$peer/setup.sh" "$work/llama" >/dev/null
libdir=$(cat "$work/llama/libdir")
llbench="$work/llama/llbench"
if [ ! -x "$work/llama/llquantize" ] || [ "$here/bench/peer/llquantize.c" -nt "$work/llama/llquantize" ]; then
    lib=$(cd "$libdir" && ls libllama.v*.so | head -1); ggml=$(cd "$libdir" && ls libggml.v*.so 2>/dev/null | head -1)
    gcc -O2 -o "$work/llama/llquantize" "$here/bench/peer/llquantize.c" -I"$work/llama/llama.cpp/include" \
        -I"$work/llama/llama.cpp/ggml/include" -L"$libdir" -l:"$lib" ${ggml:+-l:"$ggml"} -l:libggml-base.so \
        -Wl,-rpath,"$libdir"
fi

# chunks DIR DTYPE and gguf MODEL OUT TYPE: made once, kept in WORK_DIR.
chunks() { [ -f "$2/chunk_info.json" ] || "$cli" chunk "$1" -o "$2" --dtype "$3" >/dev/null; }
gguf() {
    [ -f "$2" ] && return
    case $3 in
        f32|f16) $python "$peer/hf2gguf.py" "$1" "$2" --type "$3" >/dev/null ;;
        *) gguf "$1" "$2.f32.gguf" f32; "$work/llama/llquantize" "$2.f32.gguf" "$2" "$3" >/dev/null 2>&1 ;;
    esac
}

stories="$here/../shared/models/stories260K"
chunks "$stories" "$work/stories.f32" f32
gguf "$stories" "$work/stories.f32.gguf" f32
cases="[{\"title\": \"stories260K f32\", \"chunks\": \"$work/stories.f32\", \"gguf\": \"$work/stories.f32.gguf\", \"vocab\": 512}"
if [ -z "${SKIP_BIG:-}" ]; then
    [ -f "$work/m1g/config.json" ] || "$cli" make-model --layers 20 --hidden 1024 --intermediate 2816 --heads 16 \
        --kv-heads 4 --vocab 32000 -o "$work/m1g" >/dev/null
    # hf2gguf.py needs a tokenizer to write one; both engines get ids, so stories260K's will do.
    cp "$stories/tokenizer.json" "$stories/tokenizer_config.json" "$work/m1g/"
    for t in f32 f16 bf16; do
        chunks "$work/m1g" "$work/m1g.$t" "$t"
        gguf "$work/m1g" "$work/m1g.$t.gguf" "$t"
        widened=""
        if [ "$t" = bf16 ]; then # llama.cpp's bf16 products round activations to bf16: ids also against its f32 run
            [ -f "$work/m1g.bf16.widened.gguf" ] || "$work/llama/llquantize" "$work/m1g.bf16.gguf" "$work/m1g.bf16.widened.gguf" f32 >/dev/null 2>&1
            widened=", \"gguf_ids\": \"$work/m1g.bf16.widened.gguf\""
        fi
        cases="$cases, {\"title\": \"1 GB LLaMA $t\", \"chunks\": \"$work/m1g.$t\", \"gguf\": \"$work/m1g.$t.gguf\", \"vocab\": 32000$widened}"
    done
fi
echo "$cases]" > "$work/cases.json"

blas=$("$cli" run -v --local "$work/stories.f32" --ids 1,2 --max-tokens 1 2>&1 | sed -n 's/.*surfing.blas: \(BLAS: \)\{0,1\}//p' | head -1)
header=$(cat <<HEADER

## Run of $(date -u '+%Y-%m-%d %H:%M UTC')
Command: \`REPS=${REPS:-5} THREADS=${THREADS:-1,2} bench/run-peer.sh $1\` at $(git -C "$here" rev-parse --short HEAD).
Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ')
Surfing's BLAS: ${blas:-unknown}. llama.cpp: @node-llama-cpp/linux-x64 3.22.1 (no mmap, KV cache f32, flash attention auto; ids compared with it off).
Medians of ${REPS:-5} reps, engines alternating which goes first; prompt 128 ids, 32 generated, greedy.

HEADER
)
$python "$here/bench/peer/peer_bench.py" --cli "$cli" --llbench "$llbench" --llama-libdir "$libdir" \
    --cases "$work/cases.json" --out "$out" --reps "${REPS:-5}" --threads "${THREADS:-1,2}" --header "$header"

#!/bin/sh
# Which BLAS, and which OpenBLAS kernels, run a prompt-sized product fastest on this machine
# (issue 11): the 1 GB model's MLP product (128 x 2816 x 1024) through every Debian BLAS
# installed, and OpenBLAS with its own kernel choice and with OPENBLAS_CORETYPE forced, one
# thread, configurations interleaved round by round. Prints GFLOP/s medians and the load average.
# Usage: bench/run-blas.sh [ROUNDS]        (default 7)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-7}
bin=$(mktemp -d)/sgemm_bench
trap 'rm -rf "$(dirname "$bin")"' EXIT
cc -O2 -o "$bin" "$here/blas/sgemm_bench.c" -L/usr/lib/x86_64-linux-gnu -l:libblas.so.3
lib=/usr/lib/x86_64-linux-gnu
configs=""
for d in blas openblas-pthread blis-pthread; do [ -f "$lib/$d/libblas.so.3" ] && configs="$configs $d"; done
[ -f "$lib/openblas-pthread/libblas.so.3" ] && configs="$configs openblas-pthread:Haswell openblas-pthread:SkylakeX"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
results=$(mktemp)
for r in $(seq "$rounds"); do
    for c in $configs; do
        dir=${c%%:*}; core=${c#*:}; [ "$core" = "$c" ] && core=
        reps=5; [ "$dir" = blas ] && reps=1
        g=$(env LD_LIBRARY_PATH="$lib/$dir" OPENBLAS_NUM_THREADS=1 BLIS_NUM_THREADS=1 \
            ${core:+OPENBLAS_CORETYPE=$core} "$bin" 128 2816 1024 $reps)
        echo "$c $g" >> "$results"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| BLAS (kernels) | GFLOP/s, median of $rounds | min - max |"
echo "|---|---|---|"
for c in $configs; do
    grep "^$c " "$results" | awk '{print $2}' | sort -n | awk -v name="$c" '{v[NR]=$1} END {
        printf "| %s | %.1f | %.1f - %.1f |\n", name, (NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2), v[1], v[NR]}'
done
rm -f "$results"

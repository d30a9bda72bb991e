#!/usr/bin/env python3
"""Surfing against llama.cpp on the same CPU, model, dtype, thread count and token ids.

Run by bench/run-peer.sh, which sets up llama.cpp (../shared/peer/setup.sh), builds llquantize and
passes the paths here. For every case it first checks that both engines produce the same greedy
ids (llama.cpp with flash attention off, see ../shared/peer/README.md), then times both engines
rep by rep, alternating which goes first, and appends medians, ratios, peak RSS and the load
average to the results file (markdown).

Prompt speed = prompt tokens / time to the first new token; generation speed = (N-1) / time of
the remaining single-token steps. Surfing runs with --warmup (every chunk fetched and one token
computed before the timed run), llama.cpp without mmap and with its own warm-up, both in memory.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(command, env=None):
    """Runs a command under /usr/bin/time; returns (stdout, stderr, peak RSS in MiB)."""
    result = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M"] + command, capture_output=True,
                            text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"peer_bench: {' '.join(command[:3])} ... failed ({result.returncode}):\n{result.stderr[-2000:]}")
    rss_kb = 0
    for line in result.stderr.splitlines():
        if line.startswith("MAXRSS_KB="):
            rss_kb = int(line.split("=")[1])
    return result.stdout, result.stderr, rss_kb / 1024.0


def prompt_ids(vocab, count):
    # Fixed, spread over the vocabulary, never the special ids 0..2.
    return [3 + (i * 7919) % (vocab - 3) for i in range(count)]


class Engines:
    def __init__(self, args):
        self.args = args
        self.peer_env = dict(os.environ, LLAMA_LIBDIR=args.llama_libdir)

    def surfing(self, chunks, ids, threads, gen):
        command = [self.args.cli, "run", "--local", chunks, "--ids", ",".join(map(str, ids)),
                   "--max-tokens", str(gen), "--threads", str(threads), "--warmup", "--json"]
        out, _, rss = timed(command)
        stats = json.loads(out)["stats"]
        ids_out = json.loads(out)["ids"]
        prompt_s = stats["time_to_first_token_ms"] / 1000.0
        return {"pp": stats["prompt_tokens"] / prompt_s, "tg": stats["decode_tokens_per_second"],
                "rss": rss, "ids": ids_out[len(ids):] if len(ids_out) > gen else ids_out}

    def llama(self, gguf, ids, threads, gen, flash="auto"):
        command = [self.args.llbench, gguf, "--threads", str(threads), "--ids", ",".join(map(str, ids)),
                   "--gen", str(gen), "--mmap", "0", "--kv", "f32", "--fa", flash, "--warmup", "1", "--reps", "1"]
        out, _, rss = timed(command, self.peer_env)
        line = json.loads(out.strip().splitlines()[-1])
        return {"pp": line["pp_tps"], "tg": line["tg_tps"], "rss": rss, "ids": line["ids"],
                "cpu_lib": line.get("cpu_lib", "")}


def agreeing_prefix(a, b):
    agree = 0
    for x, y in zip(a, b):
        if x != y:
            break
        agree += 1
    return agree


def check_ids(engines, case, ids, gen):
    """Greedy ids of both engines, 1 thread. A case may name `gguf_ids`: the same weights for
    llama.cpp in f32 (its bf16 path rounds activations to bf16, ours keeps them in f32)."""
    ours = engines.surfing(case["chunks"], ids, 1, gen)["ids"]
    theirs = engines.llama(case["gguf"], ids, 1, gen, flash="0")["ids"]
    result = {"same": ours == theirs, "agree": agreeing_prefix(ours, theirs)}
    if case.get("gguf_ids"):
        widened = engines.llama(case["gguf_ids"], ids, 1, gen, flash="0")["ids"]
        result["widened_same"] = ours == widened
        result["widened_agree"] = agreeing_prefix(ours, widened)
    return result


def run_case(engines, case, threads_list, reps, gen, prompt_len):
    ids = prompt_ids(case["vocab"], prompt_len)
    id_check = check_ids(engines, case, ids, gen)
    load_before = load_average()
    samples = {(t, e): [] for t in threads_list for e in ("surfing", "llama")}
    cpu_lib = ""
    for rep in range(reps):
        for threads in threads_list:
            order = ("surfing", "llama") if rep % 2 == 0 else ("llama", "surfing")
            for engine in order:
                if engine == "surfing":
                    samples[(threads, engine)].append(engines.surfing(case["chunks"], ids, threads, gen))
                else:
                    r = engines.llama(case["gguf"], ids, threads, gen)
                    cpu_lib = r["cpu_lib"]
                    samples[(threads, engine)].append(r)
    rows = []
    for threads in threads_list:
        s, l = samples[(threads, "surfing")], samples[(threads, "llama")]
        med = lambda runs, key: statistics.median(r[key] for r in runs)
        rows.append({"threads": threads,
                     "pp": (med(s, "pp"), med(l, "pp")), "tg": (med(s, "tg"), med(l, "tg")),
                     "rss": (max(r["rss"] for r in s), max(r["rss"] for r in l))})
    return {"ids": id_check, "rows": rows, "load": (load_before, load_average()),
            "cpu_lib": cpu_lib}


def markdown(case, result, gen, prompt_len):
    lines = []
    check = result["ids"]
    ids_note = "same greedy ids" if check["same"] else f"**ids differ** after {check['agree']} of {gen} tokens"
    if "widened_same" in check:
        ids_note += "; with these weights widened to f32 llama.cpp gives " + (
            "the same ids" if check["widened_same"] else f"ids that differ after {check['widened_agree']}")
    lines.append(f"### {case['title']} ({ids_note}; load {result['load'][0]} -> {result['load'][1]}; "
                 f"llama.cpp CPU library {result['cpu_lib']})")
    lines.append("")
    lines.append("| threads | prompt tok/s Surfing | llama.cpp | ratio | generation tok/s Surfing | llama.cpp | ratio "
                 "| peak RSS MiB Surfing / llama.cpp |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for row in result["rows"]:
        pp, tg, rss = row["pp"], row["tg"], row["rss"]
        lines.append(f"| {row['threads']} | {pp[0]:.1f} | {pp[1]:.1f} | **{pp[0] / pp[1]:.2f}** | {tg[0]:.1f} | "
                     f"{tg[1]:.1f} | **{tg[0] / tg[1]:.2f}** | {rss[0]:.0f} / {rss[1]:.0f} |")
    lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", required=True)
    parser.add_argument("--llbench", required=True)
    parser.add_argument("--llama-libdir", required=True)
    parser.add_argument("--cases", required=True, help="JSON file: [{title, chunks, gguf, vocab}]")
    parser.add_argument("--out", required=True)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--gen", type=int, default=32)
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--header", default="")
    args = parser.parse_args()
    engines = Engines(args)
    threads_list = [int(t) for t in args.threads.split(",")]
    with open(args.cases) as f:
        cases = json.load(f)
    with open(args.out, "a") as out:
        out.write(args.header.rstrip("\n") + "\n\n")
        out.flush()
        for case in cases:
            started = time.time()
            result = run_case(engines, case, threads_list, args.reps, args.gen, args.prompt)
            text = markdown(case, result, args.gen, args.prompt)
            out.write(text + "\n")
            out.flush()
            print(text, flush=True)
            print(f"({case['title']}: {time.time() - started:.0f} s)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

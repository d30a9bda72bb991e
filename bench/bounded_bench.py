#!/usr/bin/env python3
"""Memory-bounded streaming at the speed of the wire (issue 13): run by bench/run-bounded.sh.

For each row it runs `surfing-cli run --server ws://... --cache-mb B --prefetch D` (or
`--prompts-file` with `--batch N`) on the 1 GB LLaMA against a `surfing-cli serve` over loopback
(unpaced, or paced with `--limit-mbps`), and reports bytes per token, tokens/s, the transfer bound
(raw TCP over loopback measured by bench_linkrate right before and right after the row, pooled
median; or the pace), the fraction of it reached, how much of the fetch time prefetch hid, fetch
time over compute time, and the client's peak RSS against the
memory bound (non-layer weights + cache budget + prefetch window + 200 MiB). llama.cpp (mmap,
page cache warm) runs the same model beside it. Appends a markdown section to the output file.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MIB = 1024 * 1024


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(command, env=None):
    """Runs a command under /usr/bin/time; returns (stdout, peak RSS in MiB)."""
    result = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M"] + command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"bounded_bench: {' '.join(command[:4])} ... failed ({result.returncode}):\n{result.stderr[-3000:]}")
    rss_kb = 0
    for line in result.stderr.splitlines():
        if line.startswith("MAXRSS_KB="):
            rss_kb = int(line.split("=")[1])
    return result.stdout, rss_kb / 1024.0


def prompt_ids(vocab, count, seed):
    return [3 + (seed * 104729 + i * 7919) % (vocab - 3) for i in range(count)]


class Server:
    def __init__(self, cli, chunks, limit_mbps):
        command = [cli, "serve", chunks, "--host", "127.0.0.1", "--port", "0", "--cache-mb", "1400"]
        if limit_mbps:
            command += ["--limit-mbps", str(limit_mbps)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("ws://"):
            sys.exit(f"bounded_bench: serve printed {self.url!r}")

    def stop(self):
        self.process.terminate()
        self.process.wait()


def manifest_sizes(chunks):
    with open(os.path.join(chunks, "chunk_info.json")) as f:
        m = json.load(f)["chunks"]
    layer = max(c["raw_bytes"] for n, c in m.items() if n.startswith("layer_"))
    other = sum(c["raw_bytes"] for n, c in m.items() if not n.startswith("layer_"))
    return layer, other


def union_ns(intervals):
    """Length of the union of [start, end) intervals: the time at least one of them was open."""
    total, end = 0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def decode_events(timeline):
    """The events of the decode steps (the first pass gives each prompt its first token)."""
    first = min((e["step"] for e in timeline), default=0)
    return [e for e in timeline if e["step"] > first]


def fetch_hidden(timeline):
    """Share of the decode steps' fetch time that compute did not wait for. Fetch time is the
    time at least one chunk was in flight (the union of the fetch intervals: with prefetch,
    fetches overlap, and summing them would count the same second of the link twice)."""
    events = decode_events(timeline)
    fetch_ns = union_ns([(e["fetch_start_ns"], e["fetch_end_ns"]) for e in events if e["bytes"] > 0])
    wait_ns = sum(e["wait_ns"] for e in events)
    return 1.0 - wait_ns / fetch_ns if fetch_ns > 0 else float("nan")


def fetch_per_compute(timeline):
    """Fetch time (union, as above) over compute time in the decode steps: <= 1 when prefetch can
    hide all of the fetching."""
    events = decode_events(timeline)
    fetch_ns = union_ns([(e["fetch_start_ns"], e["fetch_end_ns"]) for e in events if e["bytes"] > 0])
    compute_ns = sum(e["compute_end_ns"] - e["compute_start_ns"] for e in events)
    return fetch_ns / compute_ns if compute_ns > 0 else float("nan")


def link_rates(args):
    out = subprocess.run([args.linkrate, "--mb", "45", "--fetches", str(args.link_fetches)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["rates"]


def ceiling(args, row, r):
    """bench_ceiling for an unpaced f32 single-prompt row: raw TCP fetches of the layers this row
    fetched per token plus the same products over every layer and the LM head, nothing else (no
    framing, verification or cache), with the raw rate alone interleaved. Its rate is what any
    client could reach on these two cores; None for other rows."""
    if row["paced"] or row["dtype"] != "f32" or row["batch"] != 1 or r["bpt"] <= 0:
        return None
    chunks = args.chunks["f32"]
    with open(os.path.join(chunks, "chunk_info.json")) as f:
        m = json.load(f)["chunks"]
    layers = sorted((n for n in m if n.startswith("layer_")), key=lambda n: int(n.split("_")[1]))
    head = m.get("lm_head", m.get("embed_tokens", {})).get("raw_bytes", 0)
    layer_file = os.path.join(chunks, m[layers[0]].get("file", layers[0] + ".safetensors"))
    fetched = max(1, min(len(layers), round(r["bpt"] / m[layers[0]]["raw_bytes"])))
    command = [os.path.join(os.path.dirname(args.linkrate), "bench_ceiling"), "--chunk", layer_file, "--layers", str(len(layers)),
               "--fetched", str(fetched), "--resident-mb", str(head // 1000000), "--tokens", str(row_tokens(args, row)),
               "--ahead", str(r["depth"]), "--reps", "3"]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # what surfing-cli sets for run
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


# An adaptive row (`--prefetch auto`) measures its first 11-19 next-token steps at depth 2 and at
# 0 before it keeps one (core/cache/prefetchtuner.h), so it runs at least this many tokens.
AUTO_TOKENS = 32


def window(row):
    """The deepest prefetch window a row may hold (auto: up to 2)."""
    return 2 if row["prefetch"] == "auto" else row["prefetch"]


def row_tokens(args, row):
    return max(args.tokens, AUTO_TOKENS) if row["prefetch"] == "auto" else args.tokens


def median(values):
    v = sorted(values)
    n = len(v)
    return float("nan") if n == 0 else (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2)


def run_row(args, row, server, tmp):
    chunks = args.chunks[row["dtype"]]
    base = [args.cli, "run", "--server", server.url, "--cache-mb", str(row["cache"]), "--prefetch", str(row["prefetch"]),
            "--max-tokens", str(row_tokens(args, row)), "--json", "--warmup"]
    if row.get("ctier"):
        base += ["--compressed-cache-mb", str(row["ctier"])]
    if row["batch"] == 1:
        command = base + ["--ids", ",".join(map(str, prompt_ids(32000, args.prompt, 0)))]
    else:
        path = os.path.join(tmp, f"prompts{row['batch']}.jsonl")
        with open(path, "w") as f:
            for i in range(row["batch"]):
                f.write(json.dumps({"ids": prompt_ids(32000, args.prompt, i)}) + "\n")
        command = base + ["--prompts-file", path, "--batch", str(row["batch"])]
    # SURFING_ARRIVING=off: compute reads whole chunks only (for comparison with reading a
    # re-fetched chunk while it arrives, the default).
    env = dict(os.environ, SURFING_ARRIVING="off") if row.get("arriving") is False else None
    out, rss = timed(command, env)
    doc = json.loads(out)
    # Batch mode prints one timeline per batch (there is one batch here).
    timeline = doc["timeline"] if row["batch"] == 1 else doc["batches"][0].get("timeline", [])
    stats, hidden, ratio = doc["stats"], fetch_hidden(timeline), fetch_per_compute(timeline)
    layer, other = manifest_sizes(chunks)
    bound_mib = (other + row["cache"] * MIB + window(row) * layer) / MIB + 200
    # Compressed chunks (core/client/memoryestimate): + the tier's budget (at most every stored
    # byte) + the received bytes of max(depth, 1) chunks being decoded.
    stored_total, stored_layer = compressed_sizes(chunks)
    bound_mib += (min(row.get("ctier", 0) * MIB, stored_total) + max(window(row), 1) * stored_layer) / MIB
    tiers = doc.get("client_cache", {})
    return {"tps": stats["decode_tokens_per_second"], "bpt": stats["bytes_per_token"],
            "rate": stats["fetch_bytes_per_second"], "depth": stats.get("prefetch_depth", window(row)), "hidden": hidden, "ratio": ratio, "rss": rss, "bound": bound_mib,
            "dhits": tiers.get("decoded", {}).get("hits", float("nan")),
            "chits": tiers.get("compressed", {}).get("hits", float("nan"))}


def compressed_sizes(chunks):
    """Stored bytes of every compressed chunk, and of the largest compressed layer (0, 0 if none)."""
    with open(os.path.join(chunks, "chunk_info.json")) as f:
        m = json.load(f)["chunks"]
    packed = {n: c for n, c in m.items() if c.get("codec", "none") != "none"}
    layers = [c["stored_bytes"] for n, c in packed.items() if n.startswith("layer_")]
    return sum(c["stored_bytes"] for c in packed.values()), max(layers, default=0)


def tier_rows(args):
    """The compressed cache tier against the same total budget all decoded (item 3 of issue 13):
    bf16 --compress chunks, 128 MiB decoded + 128/256 MiB compressed vs 256/384 MiB decoded (and
    uncompressed bf16 chunks at 384 MiB), loopback and paced, reps interleaved."""
    configs = [dict(dtype="bf16-zstd", cache=128, ctier=256), dict(dtype="bf16-zstd", cache=384),
               dict(dtype="bf16-zstd", cache=128, ctier=128), dict(dtype="bf16-zstd", cache=256),
               dict(dtype="bf16", cache=384)]
    if args.tier_set == "pair":  # the tier against the same total all decoded, nothing else
        configs = configs[:2]
    links = {"both": (False, True), "paced": (True,), "loopback": (False,)}[args.tier_links]
    rows = []
    for rep in range(args.reps):
        for paced in links:
            rows += [dict(c, paced=paced, prefetch=2, batch=1, rep=rep) for c in configs]
    return rows


def llama_row(args, dtype):
    gguf = args.gguf.get(dtype)
    if not gguf or not os.path.exists(gguf) or not args.llbench:
        return None
    env = dict(os.environ, LLAMA_LIBDIR=args.llama_libdir)
    command = [args.llbench, gguf, "--threads", "2", "--ids", ",".join(map(str, prompt_ids(32000, args.prompt, 0))),
               "--gen", str(args.tokens), "--mmap", "1", "--kv", "f32", "--warmup", "1", "--reps", "1"]
    out, rss = timed(command, env)
    line = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    return {"tps": line["tg_tps"], "rss": rss}


def measure_row(args, row, servers, tmp):
    """One row: the raw TCP rate just before and just after it (pooled, median: one burst of
    load on the shared machine moves one side only), then the run. Returns (markdown line, figures)."""
    key = (row["dtype"], row["paced"])
    if key not in servers:
        servers[key] = Server(args.cli, args.chunks[row["dtype"]], args.limit_mbps if row["paced"] else 0)
    load = load_average()
    before = link_rates(args)
    r = run_row(args, row, servers[key], tmp)
    after = link_rates(args)
    raw = median(before + after)
    link = min(raw, args.limit_mbps * 125000.0) if row["paced"] else raw
    bound_tps = link / r["bpt"] if r["bpt"] > 0 else float("nan")
    r["of_bound"] = r["tps"] / bound_tps if bound_tps == bound_tps else float("nan")
    r["raw"] = raw
    c = ceiling(args, row, r)
    r["ceiling_of_raw"] = c["ceiling_of_raw"] if c else float("nan")
    r["of_ceiling"] = r["rate"] / c["ceiling_bytes_per_second"] if c else float("nan")
    line = (f"| {row['dtype']} | {row['cache']} | {'paced ' + str(int(args.limit_mbps)) + ' Mbit/s' if row['paced'] else 'loopback'}"
            f" (raw TCP {raw / 1e6:.0f} MB/s; {median(before) / 1e6:.0f} before, {median(after) / 1e6:.0f} after)"
            f" | {prefetch_cell(row, r)} | {row['batch']} | {r['bpt'] / 1e6:.1f} | {fmt(r['tps'], 3)}"
            f" | {r['rate'] / 1e6:.0f} | {fmt(bound_tps, 3)} | {fmt(r['of_bound'])}"
            f" | {fmt(r['ceiling_of_raw'])} | {fmt(r['of_ceiling'])}"
            f" | {fmt(r['hidden'])} | {fmt(r['ratio'])} | {r['rss']:.0f} | {r['bound']:.0f} | {load} |")
    return line, r


def prefetch_cell(row, r):
    """The prefetch column: the depth, or for auto rows the depth the run kept."""
    cell = f"auto (kept {r['depth']})" if row["prefetch"] == "auto" else str(row["prefetch"])
    return cell + (", whole chunks" if row.get("arriving") is False else "")


def fmt(v, digits=2):
    return "n/a" if v != v else f"{v:.{digits}f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cli", required=True)
    p.add_argument("--linkrate", required=True)
    p.add_argument("--chunks-f32", required=True)
    p.add_argument("--chunks-bf16", required=True)
    p.add_argument("--chunks-bf16-zstd")
    p.add_argument("--chunks-q8_0")
    p.add_argument("--chunks-q4_0")
    p.add_argument("--gguf-f32")
    p.add_argument("--gguf-bf16")
    p.add_argument("--gguf-q8_0")
    p.add_argument("--gguf-q4_0")
    p.add_argument("--llbench")
    p.add_argument("--llama-libdir")
    p.add_argument("--tokens", type=int, default=4)
    p.add_argument("--prompt", type=int, default=8)
    p.add_argument("--link-fetches", type=int, default=6)
    p.add_argument("--limit-mbps", type=float, default=1000)
    p.add_argument("--out", required=True)
    p.add_argument("--header", default="")
    p.add_argument("--rows", default="full",
                   help="full | quick (the base row, the batch-64 overlap rows, q8_0 at 256 MiB) | ctier (the compressed cache tier)")
    p.add_argument("--reps", type=int, default=1, help="times each row runs; reps go round the rows")
    p.add_argument("--tier-set", default="full", help="ctier rows: full | pair (128+256 MiB against 384 MiB decoded)")
    p.add_argument("--tier-links", default="both", help="ctier rows: both | paced | loopback")
    args = p.parse_args()
    args.chunks = {"f32": args.chunks_f32, "bf16": args.chunks_bf16, "q8_0": args.chunks_q8_0, "q4_0": args.chunks_q4_0,
                   "bf16-zstd": args.chunks_bf16_zstd}
    args.gguf = {"f32": args.gguf_f32, "bf16": args.gguf_bf16, "q8_0": args.gguf_q8_0, "q4_0": args.gguf_q4_0}

    # One factor at a time around f32 / 256 MiB / unpaced / prefetch 2 / batch 1 (the full
    # product is 72 rows; at ~30 s a row on this machine it would take over half an hour).
    if args.rows == "ctier":
        return tier_main(args)
    base = dict(dtype="f32", cache=256, paced=False, prefetch=2, batch=1)
    # What `run` does by default: the window measured against none (PrefetchTuner).
    adaptive = dict(base, prefetch="auto")
    # Where fetching is cheaper than computing (issue 13: prefetch must hide >= 80 % of the fetch
    # time there): a batch of 64 on loopback computes ~2x longer per layer than the layer takes
    # to arrive; with and without prefetch.
    overlap = [dict(dtype="f32", cache=256, paced=False, prefetch=d, batch=64) for d in (2, 0)]
    rows = [base, adaptive]
    if args.rows == "quick":
        rows += [dict(base, prefetch=0), dict(adaptive, arriving=False)] + overlap
        if args.chunks["q8_0"]:  # most layers cached: the few misses must be fetched far ahead
            rows += [dict(dtype="q8_0", cache=256, paced=False, prefetch=2, batch=1)]
    if args.rows == "full":
        rows += [dict(dtype="f32", cache=c, paced=False, prefetch=2, batch=1) for c in (128, 512)]
        rows += [dict(dtype="f32", cache=256, paced=False, prefetch=d, batch=1) for d in (0, 1)]
        rows += [dict(dtype="f32", cache=256, paced=True, prefetch=d, batch=1) for d in (0, 2)]
        rows += [dict(dtype="f32", cache=256, paced=False, prefetch=2, batch=b) for b in (4, 16)] + overlap
        rows += [dict(dtype="f32", cache=256, paced=True, prefetch=2, batch=16)]
        rows += [dict(dtype="bf16", cache=c, paced=False, prefetch=2, batch=1) for c in (128, 256)]
        rows += [dict(dtype="bf16", cache=256, paced=True, prefetch=2, batch=1)]
        rows += [dict(dtype="bf16", cache=256, paced=False, prefetch=2, batch=16)]
        if args.chunks["bf16-zstd"]:  # chunk --compress: fewer bytes on the wire, decoded at receipt
            rows += [dict(dtype="bf16-zstd", cache=256, paced=p, prefetch=2, batch=1) for p in (False, True)]
        for q in ("q8_0", "q4_0"):
            if args.chunks[q]:
                rows += [dict(dtype=q, cache=256, paced=False, prefetch=2, batch=1),
                         dict(dtype=q, cache=256, paced=True, prefetch=2, batch=1)]
    servers = {}
    if any(row["prefetch"] == "auto" for row in rows):
        args.header += (f"\nRows with prefetch auto run {AUTO_TOKENS} new tokens (or TOKENS if more): the first 11-19 decode "
                        "steps measure depth 2 against 0 in turn (3-5 counted of each), the rest run at the depth kept; tokens/s covers all of them.")
    lines = [args.header, "",
             "| dtype | cache MiB | link | prefetch | batch | bytes/token (MB) | tokens/s | fetch MB/s | bound tokens/s | of bound | ceiling of raw | of ceiling | fetch hidden | fetch / compute | peak RSS MiB | RSS bound MiB | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            # Reps go round the rows (row 1, row 2, ..., row 1, ...), so a burst of load on the
            # shared machine does not land on every rep of one row.
            for rep in range(args.reps):
                for i, row in enumerate(rows):
                    line, r = measure_row(args, row, servers, tmp)
                    print(line, flush=True)
                    lines.append(line)
                    results.setdefault(i, []).append(r)
        finally:
            for s in servers.values():
                s.stop()
    if args.reps > 1:
        # The raw rate swings between the moments rows run (3-5 GB/s here), more than a client
        # does: "pooled" divides the row's median figures by the median raw rate of the whole run.
        pooled_raw = median([r["raw"] for rs in results.values() for r in rs])
        lines += ["", f"Medians over the {args.reps} reps of each row; pooled of bound = median tokens/s x median "
                  f"bytes/token / the median raw rate of all rows ({pooled_raw / 1e6:.0f} MB/s; paced rows: the pace):", "",
                  "| dtype | cache MiB | link | prefetch | batch | tokens/s | of bound | pooled of bound | ceiling of raw | of ceiling | fetch hidden | fetch / compute |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for i, row in enumerate(rows):
            rs = results[i]
            link = min(pooled_raw, args.limit_mbps * 125000.0) if row["paced"] else pooled_raw
            pooled = median([r["tps"] for r in rs]) * median([r["bpt"] for r in rs]) / link
            whole = ", whole chunks" if row.get("arriving") is False else ""
            lines.append(f"| {row['dtype']} | {row['cache']} | {'paced' if row['paced'] else 'loopback'} | {row['prefetch']}{whole} | {row['batch']}"
                         f" | {fmt(median([r['tps'] for r in rs]), 3)} | {fmt(median([r['of_bound'] for r in rs]))}"
                         f" | {fmt(pooled) if pooled > 0 else 'n/a'}"
                         f" | {fmt(median([r['ceiling_of_raw'] for r in rs]))} | {fmt(median([r['of_ceiling'] for r in rs]))}"
                         f" | {fmt(median([r['hidden'] for r in rs]))} | {fmt(median([r['ratio'] for r in rs]))} |")
    if not args.llbench:
        lines += ["", "llama.cpp was not set up in this run's work directory (bench/run-peer.sh BUILD_DIR does that)."]
    else:
        lines += ["", "llama.cpp beside it (mmap, page cache warm, 2 threads, same prompt ids, generation tokens/s):", "",
                  "| dtype | tokens/s | peak RSS MiB | load |", "|---|---|---|---|"]
    for dtype in ("f32", "bf16", "q8_0", "q4_0") if args.llbench else ():
        r = llama_row(args, dtype)
        if r:
            line = f"| {dtype} | {r['tps']:.3f} | {r['rss']:.0f} | {load_average()} |"
            print(line, flush=True)
            lines.append(line)
    with open(args.out, "a") as f:
        f.write("\n".join(lines) + "\n")


def tier_main(args):
    rows = tier_rows(args)
    servers = {}
    lines = [args.header, "",
             "| rep | chunks | decoded MiB | compressed MiB | link | bytes/token (MB) | tokens/s | decoded hits | compressed hits | peak RSS MiB | RSS bound MiB | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for row in rows:
                key = (row["dtype"], row["paced"])
                if key not in servers:
                    servers[key] = Server(args.cli, args.chunks[row["dtype"]], args.limit_mbps if row["paced"] else 0)
                load = load_average()
                r = run_row(args, row, servers[key], tmp)
                link = f"paced {int(args.limit_mbps)} Mbit/s" if row["paced"] else "loopback"
                line = (f"| {row['rep'] + 1} | {row['dtype']} | {row['cache']} | {row.get('ctier', 0)} | {link} | {r['bpt'] / 1e6:.1f}"
                        f" | {fmt(r['tps'], 3)} | {r['dhits']:.0f} | {r['chits']:.0f} | {r['rss']:.0f} | {r['bound']:.0f} | {load} |")
                print(line, flush=True)
                lines.append(line)
                results.setdefault((row["dtype"], row["cache"], row.get("ctier", 0), link), []).append(r)
        finally:
            for s in servers.values():
                s.stop()
    lines += ["", f"Medians over {args.reps} interleaved reps:", "",
              "| chunks | decoded MiB | compressed MiB | link | bytes/token (MB) | tokens/s | peak RSS MiB | RSS bound MiB |",
              "|---|---|---|---|---|---|---|---|"]
    for (dtype, cache, ctier, link), rs in results.items():
        lines.append(f"| {dtype} | {cache} | {ctier} | {link} | {median([r['bpt'] for r in rs]) / 1e6:.1f} | "
                     f"{fmt(median([r['tps'] for r in rs]), 3)} | {median([r['rss'] for r in rs]):.0f} | {rs[0]['bound']:.0f} |")
    print("\n".join(lines[-len(results) - 2:]), flush=True)
    with open(args.out, "a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

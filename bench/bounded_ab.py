#!/usr/bin/env python3
"""A/B of one bench/bounded_bench.py row: two builds (or one build under two environments) run
the same row in alternation (A B B A A B ...), each rep beside the raw TCP rate measured just
before and after it, on a shared machine whose load is printed with every rep. Prints a markdown
table of every rep and the medians.

Usage: bench/bounded_ab.py --a LABEL=BUILD_DIR[,server=BUILD_DIR][,VAR=VALUE...] --b LABEL=BUILD_DIR[,...]
           --chunks DIR [--cache 256] [--prefetch 2] [--batch 1] [--paced] [--reps 4] [--tokens 4]
Example: bench/bounded_ab.py --a before=/tmp/base --b after=build --chunks /var/tmp/surfing-peer/m1g.f32
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bounded_bench as bb  # noqa: E402


def variant(spec):
    label, rest = spec.split("=", 1)
    parts = rest.split(",")
    env = dict(os.environ)
    server = None
    for p in parts[1:]:
        k, v = p.split("=", 1)
        if k == "server":  # the server from another build (A/B of the server side alone)
            server = os.path.join(os.path.abspath(v), "app", "surfing-cli")
        else:
            env[k] = v
    build = os.path.abspath(parts[0])
    return {"label": label, "cli": os.path.join(build, "app", "surfing-cli"), "server": server or os.path.join(build, "app", "surfing-cli"),
            "linkrate": os.path.join(build, "bench", "bench_linkrate"), "env": env, "spec": spec}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--chunks", required=True)
    p.add_argument("--cache", type=int, default=256)
    p.add_argument("--prefetch", default="2", help="a depth, or auto")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--paced", action="store_true")
    p.add_argument("--limit-mbps", type=float, default=1000)
    p.add_argument("--reps", type=int, default=4)
    p.add_argument("--tokens", type=int, default=4)
    p.add_argument("--prompt", type=int, default=8)
    p.add_argument("--link-fetches", type=int, default=6)
    args = p.parse_args()
    variants = [variant(args.a), variant(args.b)]
    prefetch = args.prefetch if args.prefetch == "auto" else int(args.prefetch)
    row = dict(dtype="x", cache=args.cache, paced=args.paced, prefetch=prefetch, batch=args.batch)
    print(f"Row: {os.path.basename(args.chunks)}, --cache-mb {args.cache} --prefetch {args.prefetch} --batch {args.batch}"
          f" {'paced ' + str(args.limit_mbps) + ' Mbit/s' if args.paced else 'loopback'}, {args.tokens} tokens; "
          f"A = {variants[0]['spec']}, B = {variants[1]['spec']}\n")
    print("| rep | variant | tokens/s | fetch MB/s | raw TCP MB/s (before, after) | of bound | fetch hidden | fetch / compute | peak RSS MiB | load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = {v["label"]: [] for v in variants}
    servers = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for rep in range(args.reps):
                order = variants if rep % 2 == 0 else variants[::-1]
                for v in order:
                    a = argparse.Namespace(cli=v["cli"], linkrate=v["linkrate"], tokens=args.tokens, prompt=args.prompt,
                                           link_fetches=args.link_fetches, limit_mbps=args.limit_mbps,
                                           chunks={"x": args.chunks})
                    load = bb.load_average()
                    before = bb.link_rates(a)
                    old_env = dict(os.environ)
                    os.environ.clear()
                    os.environ.update(v["env"])  # the variant's environment, for its server and its client
                    try:
                        if v["label"] not in servers:
                            servers[v["label"]] = bb.Server(v["server"], args.chunks, args.limit_mbps if args.paced else 0)
                        r = bb.run_row(a, row, servers[v["label"]], tmp)
                    finally:
                        os.environ.clear()
                        os.environ.update(old_env)
                    after = bb.link_rates(a)
                    raw = bb.median(before + after)
                    link = min(raw, args.limit_mbps * 125000.0) if args.paced else raw
                    r["of_bound"] = r["tps"] / (link / r["bpt"]) if r["bpt"] > 0 else float("nan")
                    results[v["label"]].append(r)
                    print(f"| {rep + 1} | {v['label']} | {r['tps']:.3f} | {r['rate'] / 1e6:.0f} | {raw / 1e6:.0f} ({bb.median(before) / 1e6:.0f}, "
                          f"{bb.median(after) / 1e6:.0f}) | {bb.fmt(r['of_bound'])} | {bb.fmt(r['hidden'])} | {bb.fmt(r['ratio'])}"
                          f" | {r['rss']:.0f} | {load} |", flush=True)
        finally:
            for s in servers.values():
                s.stop()
    print("\n| variant | median tokens/s | median of bound | median fetch hidden | median fetch / compute |")
    print("|---|---|---|---|---|")
    for v in variants:
        rs = results[v["label"]]
        print(f"| {v['label']} | {bb.median([r['tps'] for r in rs]):.3f} | {bb.fmt(bb.median([r['of_bound'] for r in rs]))}"
              f" | {bb.fmt(bb.median([r['hidden'] for r in rs]))} | {bb.fmt(bb.median([r['ratio'] for r in rs]))} |")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Instructions per request of every bench/run contender, peers included,
counted under callgrind by the marginal method.

instr.py counts cqlpp and the limit client exactly: they zero and dump
callgrind's counters themselves around N requests. The peers (Python, Node.js,
Go) cannot, so each contender runs twice under `valgrind --tool=callgrind`,
with the same warm-up of W requests and then N or 3N more (`--ops W+N`,
`--ops W+3N`: closed loop, --concurrency in flight, prepared single-row reads
or writes, against a 3-node `cqlpp sim` in another process, keys uniform in
100,000 loaded rows as instr.py). One more request costs

    (I(W+3N) - I(W+N)) / 2N

instructions of the whole client process (every thread: the event loop, the
driver's I/O threads, the JIT compiler and the garbage collector): start-up,
imports, connecting, preparing, the warm-up and shutting down are in both runs
and cancel. Each pair is repeated --repeat times; the figure is the mean and
`spread` the largest relative distance of a repeat from it.

The same method on cqlpp and the limit (`--ops` with `--warmup-ops 1`, so their
own zeroing only drops what precedes the first answer, and every dump part is
summed) checks it against their exact count over the same answers (W+N to
W+3N, counted as instr.py counts: `exact_same_answers`).

Allocations: calls to glibc's malloc family. For C++ that is every heap
allocation; CPython (pymalloc), V8 and Go allocate most objects from their own
heaps, so for them it counts only what reaches the C heap.

How each runtime is run:
  - Node.js: `--smc-check=all` (valgrind re-checks every translated block for
    self-modifying code, which V8's JIT writes); node itself runs unchanged
    (JIT on; --jitless would measure another program).
  - Go: GODEBUG=asyncpreemptoff=1. Go's asynchronous preemption (SIGURG sent
    to running goroutines) trips an assertion in callgrind 3.19's signal
    handling (threads.c: vgCallgrind_post_signal); without it goroutines are
    preempted only at function calls, which a request loop that blocks on
    every request does anyway.
  - Python: /usr/bin/python3 (python3-cassandra 3.25, its Cython modules; the
    libev reactor, whose loop runs in a thread of its own, in every mode).

    bench/instr/peers_instr.py --build-dir build/release [--gocql-bin PATH]
        [--contenders python,node,gocql,limit,cqlpp/1thread,...] [--workloads read,write]
        [--repeat 2] [--concurrency 64] [--ports 20000-20999] [--json instr.json] [--keep DIR]

--json adds the figures to that file (instr.py's output) under "marginal".
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS = os.path.join(ROOT, "bench", "peers")
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
from harness import Sim, free_port, last_json  # noqa: E402
from instr import parse_callgrind  # noqa: E402

ROWS = 100000
# (N, W) per contender family: the DataStax Python driver costs ~100 times
# more per request than cqlpp, so it gets fewer requests; each size keeps a
# run under about a minute of callgrind on this machine.
SIZES = {"limit": (20000, 2000), "cqlpp": (20000, 2000), "python/cqlpp": (4000, 1000),
         "python": (600, 300), "node": (4000, 2000), "gocql": (4000, 2000)}
DEFAULT = "limit,cqlpp/1thread,python/threads,python/async,python/asyncio,python/cqlpp,node,gocql"


def sizes(key):
    return SIZES.get(key) or SIZES[key.split("/")[0]]


def command(c, workload, args, hosts, total, window=None):
    """(valgrind argv, argv, env) of contender c issuing `total` requests under
    callgrind; window=(W, N): cqlpp or the limit counting answers W+1..W+N exactly."""
    argv, env = list(c.argv), dict(os.environ)
    while argv and argv[0] == "/usr/bin/env":  # harness form: env VAR=VAL... program
        argv.pop(0)
        while argv and "=" in argv[0] and not argv[0].startswith("/"):
            k, v = argv.pop(0).split("=", 1)
            env[k] = v
    argv += ["--hosts", hosts, "--keyspace", "bench", "--workload", workload, "--concurrency",
             str(args.concurrency), "--rows", str(ROWS)]
    vg = ["valgrind", "--tool=callgrind"]
    if window:
        argv += ["--warmup-ops", str(window[0]), "--ops", str(window[1])]
    elif c.name in ("limit", "cqlpp"):
        # Their own counter requests: zero at the first answer, dump at the last.
        argv += ["--warmup-ops", "1", "--ops", str(total - 1)]
    else:
        argv += ["--ops", str(total)]
    if c.name == "node":
        vg.append("--smc-check=all")
    if c.name == "gocql":
        env["GODEBUG"] = "asyncpreemptoff=1"
    return vg, argv, env


def run_once(c, workload, args, hosts, total, workdir, tag):
    out = os.path.join(workdir, "callgrind.%s.%s.%s.%d.out" % (c.name, c.mode, workload, total))
    for f in glob.glob(out + "*"):
        os.remove(f)
    vg, argv, env = command(c, workload, args, hosts, total)
    t0 = time.monotonic()
    p = subprocess.run(vg + ["--callgrind-out-file=" + out] + argv, capture_output=True, text=True,
                       timeout=3600, cwd=PEERS, env=env)
    rec = last_json(p.stdout)
    want = total - 1 if c.name in ("limit", "cqlpp") else total
    if p.returncode != 0 or rec is None or rec.get("ops") != want or rec.get("errors"):
        raise RuntimeError("%s %s: exit %d, %s; %s" % (c.key, workload, p.returncode, p.stdout.strip()[-300:],
                                                       p.stderr.strip()[-1500:]))
    instructions = allocs = 0
    for f in glob.glob(out + "*"):  # the final dump and, for cqlpp and the limit, their own dump parts
        i, a = parse_callgrind(f)
        instructions, allocs = instructions + i, allocs + a
    print("peers_instr: %-22s %-5s %7d requests: %15d instructions (%s, %.0f s)"
          % (c.key, workload, total, instructions, tag, time.monotonic() - t0), file=sys.stderr, flush=True)
    return instructions, allocs


def measure(c, workload, args, hosts, workdir):
    n, w = sizes(c.key)
    n, w = max(1, int(n * args.scale)), max(1, int(w * args.scale))
    repeats = []
    for r in range(args.repeat):
        i1, a1 = run_once(c, workload, args, hosts, w + n, workdir, "repeat %d, small" % (r + 1))
        i3, a3 = run_once(c, workload, args, hosts, w + 3 * n, workdir, "repeat %d, large" % (r + 1))
        repeats.append({"instructions_per_request": (i3 - i1) / (2.0 * n),
                        "allocations_per_request": (a3 - a1) / (2.0 * n),
                        "instructions": [i1, i3]})
    exact = None
    if c.name in ("limit", "cqlpp"):
        # The check of the method: their own exact count over the same answers
        # (W+N+1 .. W+3N+1 of a run), as instr.py counts (the dump part .1).
        vg, argv, env = command(c, workload, args, hosts, 0, window=(w + n, 2 * n))
        out = os.path.join(workdir, "callgrind.%s.%s.exact.out" % (c.name, workload))
        p = subprocess.run(vg + ["--callgrind-out-file=" + out] + argv, capture_output=True, text=True,
                           timeout=3600, cwd=PEERS, env=env)
        rec = last_json(p.stdout)
        if p.returncode != 0 or rec is None or rec.get("ops") != 2 * n or rec.get("errors"):
            raise RuntimeError("%s %s exact: exit %d; %s" % (c.key, workload, p.returncode, p.stderr.strip()[-1500:]))
        exact = round(parse_callgrind(out + ".1")[0] / (2.0 * n), 1)
    ipr = sum(x["instructions_per_request"] for x in repeats) / len(repeats)
    apr = sum(x["allocations_per_request"] for x in repeats) / len(repeats)
    spread = max(abs(x["instructions_per_request"] / ipr - 1) for x in repeats) if ipr > 0 else None
    return {"instructions_per_request": round(ipr, 1), "allocations_per_request": round(apr, 3),
            "spread": round(spread, 4) if spread is not None else None, "n": n, "warmup": w,
            "exact_same_answers": exact,
            "repeats": [dict(x, instructions_per_request=round(x["instructions_per_request"], 1),
                             allocations_per_request=round(x["allocations_per_request"], 3)) for x in repeats]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--gocql-bin", help="default: BUILD_DIR/bench-gocql/gocql_bench (bench/run builds it)")
    ap.add_argument("--contenders", default=DEFAULT, help="names or name/mode, as bench/run (default: %s)" % DEFAULT)
    ap.add_argument("--workloads", default="read,write")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every N and W (a quick look: 0.25)")
    ap.add_argument("--ports", default="20000-20999")
    ap.add_argument("--json", help="add the figures to this JSON file (instr.py's) under \"marginal\"")
    ap.add_argument("--note", default="", help="stored with the figures (e.g. how they relate to the run)")
    ap.add_argument("--keep", help="keep the callgrind files in this directory")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if not args.gocql_bin:
        args.gocql_bin = os.path.join(args.build_dir, "bench-gocql", "gocql_bench")
    if not shutil.which("valgrind"):
        sys.exit("peers_instr: valgrind is missing")
    ns = argparse.Namespace(build_dir=args.build_dir, gocql_bin=args.gocql_bin, contenders=args.contenders)
    conts = harness.contenders(ns)
    present = [c for c in conts if c.present and (c.only is None or "read" in c.only)]
    skipped = {c.key: c.note for c in conts if not c.present}
    lo, hi = (int(x) for x in args.ports.split("-"))
    cqlpp_tool = os.path.join(args.build_dir, "tools", "cqlpp")
    limit = os.path.join(args.build_dir, "bench", "cqlpp_bench_limit")
    workdir = args.keep or tempfile.mkdtemp(prefix="cqlpp-peers-instr-")
    os.makedirs(workdir, exist_ok=True)
    results, failures = {}, {}
    sim = Sim(cqlpp_tool, free_port(lo, hi), 3, os.path.join(workdir, "sim.log"))
    try:
        load = subprocess.run([limit, "--hosts", sim.hosts, "--keyspace", "bench", "--workload", "load", "--rows",
                               str(ROWS), "--concurrency", "256"], capture_output=True, text=True, timeout=300)
        if load.returncode != 0:
            sys.exit("peers_instr: loading the table failed: " + load.stderr[-2000:])
        for c in present:
            for wl in args.workloads.split(","):
                key = "%s/%s" % (c.key, wl)
                try:
                    results[key] = measure(c, wl, args, sim.hosts, workdir)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    failures[key] = str(e)[-600:]
                    print("peers_instr: %s failed: %s" % (key, failures[key]), file=sys.stderr, flush=True)
    finally:
        sim.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print("peers_instr: marginal instructions per request at %d in flight, under callgrind (whole client process)"
          % args.concurrency)
    print("%-22s %-6s %14s %9s %15s %8s" % ("contender", "work", "instr/request", "spread", "mallocs/request", "N"))
    for key, r in results.items():
        name, wl = key.rsplit("/", 1)
        print("%-22s %-6s %14.0f %8.1f%% %15.2f %8d" % (name, wl, r["instructions_per_request"],
                                                       100 * (r["spread"] or 0), r["allocations_per_request"], r["n"]))
    for key, e in failures.items():
        print("%-22s failed: %s" % (key, e.splitlines()[-1] if e else "?"))

    if args.json:
        doc = {}
        if os.path.exists(args.json):
            with open(args.json) as f:
                doc = json.load(f)
        doc["marginal"] = {"concurrency": args.concurrency, "repeat": args.repeat, "rows": ROWS,
                           "date": time.strftime("%Y-%m-%d", time.gmtime()), "note": args.note,
                           "results": results, "failures": failures, "skipped": skipped}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

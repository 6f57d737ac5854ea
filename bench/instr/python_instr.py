#!/usr/bin/python3
"""Instructions per request of the Python contenders, counted under callgrind.

Wall time on a shared machine is noise; instruction counts are nearly not.
Each contender runs a fixed number of prepared reads (`--ops`, closed loop at
--concurrency in flight) against a 3-node `cqlpp sim` in another process, under
`valgrind --tool=callgrind`, twice: with --small and with --large requests.
The difference of the two totals, divided by the difference of the counts, is
what one more request costs the whole client process (every thread: the loop,
the driver's I/O thread), with interpreter start-up, imports, connecting and
preparing cancelled out.

    bench/instr/python_instr.py --build-dir build/release [--port 19950]
        [--contenders cqlpp,datastax] [--small 3000 --large 13000] [--concurrency 256]
        [--keep DIR]

Contenders: `cqlpp` (bench/peers/cqlpp_python_bench.py, the package in
BUILD_DIR/python) and `datastax` (bench/peers/python_bench.py --mode async, the
best DataStax driver mode; /usr/bin/python3 with python3-cassandra; its counts
default to a fifth of cqlpp's: it costs ~30 times more per request).
Under callgrind the client runs ~50 times slower than the sim answers, so
batches (requests per loop wake-up) are smaller than in a real run: the
figure overweights per-batch costs. Compare builds with the same command.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS = os.path.join(ROOT, "bench", "peers")
sys.path.insert(0, os.path.dirname(HERE))
from harness import Sim, free_port, last_json  # noqa: E402
from instr import parse_callgrind  # noqa: E402


def argv_for(name, args, hosts, ops):
    common = ["--hosts", hosts, "--keyspace", "bench", "--workload", "read", "--concurrency", str(args.concurrency),
              "--rows", str(args.rows), "--ops", str(ops)]
    if name == "cqlpp":
        return (["/usr/bin/python3", os.path.join(PEERS, "cqlpp_python_bench.py")] + common,
                dict(os.environ, PYTHONPATH=os.path.join(os.path.abspath(args.build_dir), "python")))
    return ["/usr/bin/python3", os.path.join(PEERS, "python_bench.py"), "--mode", "async"] + common, None


def run_once(name, args, hosts, ops, workdir):
    out = os.path.join(workdir, "callgrind.%s.%d.out" % (name, ops))
    argv, env = argv_for(name, args, hosts, ops)
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv
    p = subprocess.run(argv, capture_output=True, text=True, timeout=1800, cwd=PEERS, env=env)
    rec = last_json(p.stdout)
    if p.returncode != 0 or rec is None or rec.get("ops") != ops or rec.get("errors"):
        raise RuntimeError("%s failed (%d): %s %s" % (" ".join(argv), p.returncode, p.stdout[-500:], p.stderr[-2000:]))
    return parse_callgrind(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--port", type=int, help="the sim's port (default: a free one in 19900-19999)")
    ap.add_argument("--contenders", default="cqlpp,datastax")
    ap.add_argument("--small", type=int, default=3000)
    ap.add_argument("--large", type=int, default=13000)
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--keep", help="keep the callgrind files in this directory")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    cqlpp = os.path.join(args.build_dir, "tools", "cqlpp")
    limit = os.path.join(args.build_dir, "bench", "cqlpp_bench_limit")
    workdir = args.keep or tempfile.mkdtemp(prefix="python_instr.")
    os.makedirs(workdir, exist_ok=True)
    port = args.port or free_port(19900, 19999)
    sim = Sim(cqlpp, port, 3, os.path.join(workdir, "sim.log"))
    figures = {}
    try:
        p = subprocess.run([limit, "--hosts", sim.hosts, "--keyspace", "bench", "--workload", "load", "--rows",
                            str(args.rows), "--concurrency", "256", "--seconds", "0"], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("loading failed: " + p.stderr[-1000:])
        for name in args.contenders.split(","):
            small, large = args.small, args.large
            if name == "datastax":
                small, large = max(1, small // 5), max(2, large // 5)
            i_small, a_small = run_once(name, args, sim.hosts, small, workdir)
            i_large, a_large = run_once(name, args, sim.hosts, large, workdir)
            n = large - small
            figures[name] = {"instructions_per_request": round((i_large - i_small) / n),
                             "allocations_per_request": round((a_large - a_small) / n, 2),
                             "ops": [small, large], "instructions": [i_small, i_large]}
            print("%-9s %9d instructions/request  %7.2f malloc calls/request  (%d vs %d requests, c=%d)"
                  % (name, figures[name]["instructions_per_request"], figures[name]["allocations_per_request"],
                     large, small, args.concurrency), flush=True)
    finally:
        sim.stop()
    if "cqlpp" in figures and "datastax" in figures:
        r = figures["datastax"]["instructions_per_request"] / max(1, figures["cqlpp"]["instructions_per_request"])
        figures["ratio_datastax_to_cqlpp"] = round(r, 1)
        print("datastax / cqlpp: %.1fx the instructions per request" % r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

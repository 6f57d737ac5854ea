#!/usr/bin/env python3
"""Instructions and heap allocations per request, counted under callgrind.

Timing on a shared machine is noise; instruction counts for a given binary are
nearly not. This runs a fixed workload (N prepared reads, then N writes, at a
fixed number in flight, after a warm-up) with the cqlpp contender and with the
limit client (pre-encoded requests, no driver logic) against a 3-node
`cqlpp sim` in another process, each client under
`valgrind --tool=callgrind`: the clients zero callgrind's counters at the
warm-up's last answer and dump them at the N-th answer after it (bench_common.hpp,
fixed_count), so the dump covers exactly N requests. It prints
instructions and allocations per request for both, and the ratio.

With --check it compares cqlpp's figures with bench/instr/baseline.json and
exits 1 when either rises by more than the baseline's margin: a change that
costs more must update the baseline in the same commit, with a reason.
--update rewrites the baseline from this run (give --reason).

    bench/instr/instr.py --build-dir build/release [--ops 20000] [--concurrency 64]
                         [--check | --update --reason "..."] [--json out.json] [--ports 20000-20999]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from harness import Sim, free_port, last_json  # noqa: E402

BASELINE = os.path.join(HERE, "baseline.json")
# glibc's allocation entry points (callgrind does not replace them; operator
# new calls malloc, so counting these counts each allocation once).
ALLOC_FN = re.compile(r"^(malloc|calloc|realloc|memalign|aligned_alloc|posix_memalign)$")


def parse_callgrind(path):
    """(instructions, allocation calls) collected in a callgrind output file."""
    names = {}
    instructions = None
    allocs = 0
    callee = None
    name_re = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                m = name_re.match(line.rstrip("\n"))
                if m:
                    if m.group(2) is not None:
                        names[m.group(1)] = m.group(2)
                    if line.startswith("cfn="):
                        callee = names.get(m.group(1), "")
                continue
            if line.startswith("calls="):
                if callee is not None and ALLOC_FN.match(callee):
                    allocs += int(line.split()[0][len("calls="):])
                continue
            if line.startswith("summary:"):
                instructions = int(line.split()[1])
    if instructions is None:
        raise RuntimeError("no totals in %s" % path)
    return instructions, allocs


def measure(binary, hosts, workload, ops, concurrency, warmup_ops, workdir):
    out = os.path.join(workdir, "callgrind.%s.%s.out" % (os.path.basename(binary), workload))
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
            binary, "--hosts", hosts, "--keyspace", "bench", "--workload", workload,
            "--concurrency", str(concurrency), "--ops", str(ops), "--warmup-ops", str(warmup_ops)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    rec = last_json(p.stdout)
    if p.returncode != 0 or rec is None:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), p.returncode, p.stderr[-2000:]))
    if rec.get("ops") != ops or rec.get("errors"):
        raise RuntimeError("%s %s: %s answers counted, %s errors (want %d, 0)"
                           % (binary, workload, rec.get("ops"), rec.get("errors"), ops))
    instructions, allocs = parse_callgrind(out + ".1")  # the client's dump: exactly the N measured answers
    return {"instructions_per_request": instructions / ops, "allocations_per_request": allocs / ops}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build/release")
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--warmup-ops", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--check", action="store_true", help="fail when cqlpp's figures exceed the baseline's margin")
    ap.add_argument("--update", action="store_true", help="write this run's figures as the baseline")
    ap.add_argument("--reason", default="", help="why the baseline changes (with --update)")
    ap.add_argument("--json", help="also write this run's figures here")
    ap.add_argument("--ports", default="20000-20999", help="the sim's port is a free one in LO-HI")
    ap.add_argument("--keep", help="copy the callgrind outputs into this directory (for callgrind_annotate)")
    ap.add_argument("--only", choices=("cqlpp", "limit"), help="measure one client (no --check/--update)")
    a = ap.parse_args()
    if a.only and (a.check or a.update):
        sys.exit("instr: --only measures one client; --check and --update need both")
    if a.update and not a.reason:
        ap.error("--update needs --reason")
    bd = os.path.abspath(a.build_dir)
    binaries = {"cqlpp": os.path.join(bd, "bench", "cqlpp_bench"), "limit": os.path.join(bd, "bench", "cqlpp_bench_limit")}
    cqlpp_tool = os.path.join(bd, "tools", "cqlpp")
    for path in list(binaries.values()) + [cqlpp_tool]:
        if not os.access(path, os.X_OK):
            sys.exit("instr: %s is missing (build cqlpp, cqlpp_bench and cqlpp_bench_limit)" % path)

    results = {}
    with tempfile.TemporaryDirectory(prefix="cqlpp-instr-") as work:
        port = free_port(*(int(x) for x in a.ports.split("-")))
        sim = Sim(cqlpp_tool, port, 3, os.path.join(work, "sim.log"))
        try:
            load = subprocess.run([binaries["limit"], "--hosts", sim.hosts, "--keyspace", "bench", "--workload", "load",
                                   "--rows", "100000", "--concurrency", "256"], capture_output=True, text=True, timeout=300)
            if load.returncode != 0:
                sys.exit("instr: loading the table failed: " + load.stderr[-2000:])
            for name, binary in binaries.items():
                if a.only and name != a.only:
                    continue
                for workload in ("read", "write"):
                    results["%s/%s" % (name, workload)] = measure(binary, sim.hosts, workload, a.ops, a.concurrency,
                                                                  a.warmup_ops, work)
        finally:
            sim.stop()
        if a.keep:
            os.makedirs(a.keep, exist_ok=True)
            for f in os.listdir(work):
                if f.startswith("callgrind."):
                    shutil.copy(os.path.join(work, f), a.keep)

    print("instr: %d requests per workload at %d in flight, counted under callgrind (client only)" % (a.ops, a.concurrency))
    print("%-8s %-6s %14s %14s %10s" % ("client", "work", "instr/request", "allocs/request", "x limit"))
    for workload in ("read", "write"):
        lim = results.get("limit/" + workload, {}).get("instructions_per_request")
        for name in ("cqlpp", "limit"):
            r = results.get("%s/%s" % (name, workload))
            if r is None:
                continue
            ratio = "%10.2f" % (r["instructions_per_request"] / lim) if lim else "%10s" % "-"
            print("%-8s %-6s %14.0f %14.2f %s" % (name, workload, r["instructions_per_request"],
                                                 r["allocations_per_request"], ratio))

    if a.json:
        with open(a.json, "w") as f:
            json.dump({"ops": a.ops, "concurrency": a.concurrency, "results": results}, f, indent=2)

    if a.update:
        base = {"ops": a.ops, "concurrency": a.concurrency, "margin": 0.05, "reason": a.reason,
                "cqlpp": {w: results["cqlpp/" + w] for w in ("read", "write")},
                "limit": {w: results["limit/" + w] for w in ("read", "write")}}
        if os.path.exists(BASELINE):
            with open(BASELINE) as f:
                base["margin"] = json.load(f).get("margin", 0.05)
        with open(BASELINE, "w") as f:
            json.dump(base, f, indent=2)
            f.write("\n")
        print("instr: baseline written to %s" % os.path.relpath(BASELINE))

    if a.check:
        with open(BASELINE) as f:
            base = json.load(f)
        margin = base.get("margin", 0.05)
        failed = []
        for w in ("read", "write"):
            for key in ("instructions_per_request", "allocations_per_request"):
                was, now = base["cqlpp"][w][key], results["cqlpp/" + w][key]
                limit = was * (1 + margin) + (0.05 if key == "allocations_per_request" else 0)
                verdict = "ok" if now <= limit else "OVER"
                print("instr: cqlpp %-5s %-24s baseline %10.2f now %10.2f (%+.1f%%) %s"
                      % (w, key, was, now, 100 * (now / was - 1) if was else 0, verdict))
                if now > limit:
                    failed.append("%s %s" % (w, key))
        if failed:
            print("instr: FAILED: %s rose more than %.0f%% over bench/instr/baseline.json; if the cost is deliberate, "
                  "run bench/instr/instr.py --update --reason '...' and commit the baseline with the change"
                  % (", ".join(failed), 100 * margin), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""bench/run's orchestrator (stdlib only): starts `cqlpp sim`, loads the table,
runs every contender present over the workload matrix, and writes
results.jsonl, results.md and gnuplot plots into the output directory.

Each contender is a program with one CLI (see bench/README.md) that prints one
JSON line. The harness runs it as a direct child, samples /proc/PID/status
(threads, RSS over time) while it runs, and takes its peak RSS and total CPU
from os.wait4's rusage, so those figures are measured the same way for C++,
Python, Node.js and Go.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers")

# "fixed": the read workload open loop (--rate R) at each of fixed_rates, at
# most fixed_concurrency in flight, latency from each request's due time.
FULL = dict(rows=1_000_000, seconds=3.0, warmup=0.5, concurrency=[1, 8, 64, 256, 1024],
            workloads=["read", "write", "mix", "scan", "stall", "fixed"], stall_concurrency=64,
            fixed_rates=[1000, 5000, 20000, 50000, 100000], fixed_concurrency=1024)
QUICK = dict(rows=20_000, seconds=1.0, warmup=0.3, concurrency=[1, 64],
             workloads=["read", "mix", "scan", "stall", "fixed"], stall_concurrency=64,
             fixed_rates=[2000], fixed_concurrency=1024)
# In quick mode the fixed-rate experiment runs for these contenders only.
QUICK_FIXED = ("limit/pipelined", "cqlpp/1thread", "python/async", "node/event-loop")
# In quick mode only read runs at every listed concurrency; mix runs at the last one.
QUICK_MIX_ONLY_AT_MAX = True


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- contenders ----------------------------------------------------------------

class Contender:
    def __init__(self, name, mode, argv, stall=True, note=None, only=None):
        self.name, self.mode, self.argv, self.stall, self.note = name, mode, argv, stall, note
        self.only = only  # workloads this contender runs (None: all)

    @property
    def key(self):
        return "%s/%s" % (self.name, self.mode)

    @property
    def present(self):
        return self.argv is not None


def contenders(args):
    b = args.build_dir
    out = []
    limit = os.path.join(b, "bench", "cqlpp_bench_limit")
    out.append(Contender("limit", "pipelined", [limit] if os.access(limit, os.X_OK) else None,
                         note=None if os.access(limit, os.X_OK) else "%s not built" % limit))
    cq = os.path.join(b, "bench", "cqlpp_bench")
    ok = os.access(cq, os.X_OK)
    note = None if ok else "cqlpp contender pending: %s does not exist" % cq
    out.append(Contender("cqlpp", "1thread", [cq, "--threads", "1"] if ok else None, note=note))
    ncpu = os.cpu_count() or 1
    out.append(Contender("cqlpp", "per-core", [cq, "--threads", str(ncpu)] if ok else None, note=note))
    py = "/usr/bin/python3"
    py_ok = subprocess.run([py, "-c", "import cassandra"], capture_output=True).returncode == 0 \
        if os.access(py, os.X_OK) else False
    for mode in ("threads", "async", "asyncio"):
        out.append(Contender("python", mode,
                             [py, os.path.join(PEERS, "python_bench.py"), "--mode", mode] if py_ok else None,
                             stall=(mode == "asyncio"),
                             note=None if py_ok else "/usr/bin/python3 lacks python3-cassandra"))
    # The stall experiment as most asyncio code pages: iterating a ResultSet,
    # whose fetch_next_page() blocks the loop (stall workload only).
    out.append(Contender("python", "asyncio-syncpaging",
                         [py, os.path.join(PEERS, "python_bench.py"), "--mode", "asyncio", "--scan-paging", "sync"]
                         if py_ok else None,
                         stall=True, only=("stall",),
                         note=None if py_ok else "/usr/bin/python3 lacks python3-cassandra"))
    # The cqlpp Python package (python/, built with -DCQLPP_BUILD_PYTHON=ON) on asyncio.
    pkg = os.path.join(b, "python")
    cq_py = os.access(py, os.X_OK) and os.path.exists(os.path.join(pkg, "cqlpp", "__init__.py"))
    out.append(Contender("python", "cqlpp",
                         ["/usr/bin/env", "PYTHONPATH=" + pkg, py, os.path.join(PEERS, "cqlpp_python_bench.py")]
                         if cq_py else None, stall=True, only=("read", "write", "mix", "scan", "stall"),
                         note=None if cq_py else "%s/cqlpp not built (-DCQLPP_BUILD_PYTHON=ON)" % pkg))
    node = shutil.which("node")
    node_ok = node and os.path.isdir(os.path.join(PEERS, "node_modules", "cassandra-driver"))
    out.append(Contender("node", "event-loop", [node, os.path.join(PEERS, "node_bench.js")] if node_ok else None,
                         note=None if node_ok else "node or bench/peers/node_modules missing"))
    go_ok = args.gocql_bin and os.access(args.gocql_bin, os.X_OK)
    for us in (200, 0):
        out.append(Contender("gocql", "coalesce%dus" % us,
                             [args.gocql_bin, "--coalesce-us", str(us)] if go_ok else None,
                             note=None if go_ok else "gocql contender not built (golang-go, golang-github-gocql-gocql-dev)"))
    if args.contenders:
        want = args.contenders.split(",")
        out = [c for c in out if c.name in want or c.key in want]
    return out


# ---- running one child -----------------------------------------------------------

def proc_status(pid):
    threads = rss = hwm = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    threads = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return threads, rss, hwm


def run_child(argv, timeout, cwd=None):
    """Runs argv; returns (exit code, stdout, stderr, rusage, max threads, rss samples)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        max_threads = 0
        max_hwm = 0
        samples = []
        ru = None
        status = 0
        killed = False
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                break
            th, rss, hwm = proc_status(p.pid)
            if th:
                max_threads = max(max_threads, th)
            if hwm:
                max_hwm = max(max_hwm, hwm)
            if rss:
                samples.append((round(time.monotonic() - t0, 3), rss))
            if time.monotonic() - t0 > timeout and not killed:
                os.killpg(p.pid, signal.SIGKILL)
                killed = True
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        so = out.read().decode(errors="replace")
        se = err.read().decode(errors="replace")
        if killed:
            se += "\n(killed after %.0f s)" % timeout
        return p.returncode, so, se, ru, max_threads, samples, max_hwm


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


# ---- the simulated cluster ---------------------------------------------------------

def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def free_port(lo=20000, hi=20999):
    span = hi - lo + 1
    for i in range(span):
        port = lo + ((os.getpid() % 200) * 4 + i) % span
        if not any(port_open("127.0.0.%d" % i, port) for i in (1, 2, 3)):
            try:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in %d-%d" % (lo, hi))


class Sim:
    def __init__(self, cqlpp, port, nodes, logpath):
        self.nodes = nodes
        self.port = port
        self.log = open(logpath, "w")
        self.p = subprocess.Popen([cqlpp, "sim", "--nodes", str(nodes), "--port", str(port)],
                                  stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        for i in range(1, nodes + 1):
            while not port_open("127.0.0.%d" % i, port):
                if self.p.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("cqlpp sim did not start (see %s)" % logpath)
                time.sleep(0.05)

    @property
    def hosts(self):
        return ",".join("127.0.0.%d:%d" % (i, self.port) for i in range(1, self.nodes + 1))

    def cpu_seconds(self):
        try:
            with open("/proc/%d/stat" % self.p.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


# ---- the run -------------------------------------------------------------------

def matrix(args, cfg, conts):
    """(contender, workload, concurrency, rate) in run order; rate 0: closed loop."""
    pts = []
    for w in cfg["workloads"]:
        for c in conts:
            if c.only and w not in c.only:
                continue
            if w == "scan":
                pts.append((c, w, 1, 0))
            elif w == "stall":
                if c.stall:
                    pts.append((c, w, cfg["stall_concurrency"], 0))
            elif w == "fixed":
                if args.quick and not args.contenders and c.key not in QUICK_FIXED:
                    continue
                for rate in cfg["fixed_rates"]:
                    pts.append((c, w, cfg["fixed_concurrency"], rate))
            else:
                levels = cfg["concurrency"]
                if args.quick and w != "read" and QUICK_MIX_ONLY_AT_MAX and not args.concurrency:
                    levels = levels[-1:]
                for n in levels:
                    pts.append((c, w, n, 0))
    return pts


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gib": round(mem_kib / 1048576, 1),
            "kernel": platform.release(), "python": platform.python_version()}


def versions(conts):
    v = {}
    try:
        import cassandra  # noqa: F401  (only for the version string; /usr/bin/python3 runs us)
        v["python-driver"] = cassandra.__version__
    except ImportError:
        pass
    try:
        with open(os.path.join(PEERS, "node_modules", "cassandra-driver", "package.json")) as f:
            v["node-driver"] = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        pass
    node = shutil.which("node")
    if node:
        v["node"] = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    go = shutil.which("go")
    if go:
        v["go"] = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip().replace("go version ", "")
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "golang-github-gocql-gocql-dev"],
                             capture_output=True, text=True).stdout.strip()
        if out:
            v["gocql"] = out
    except OSError:
        pass
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--contenders", help="names or name/mode, comma-separated (default: all present)")
    ap.add_argument("--workloads", help="read,write,mix,scan,stall,fixed")
    ap.add_argument("--rates", help="fixed-rate targets, ops/s, e.g. 1000,5000,20000")
    ap.add_argument("--concurrency", help="e.g. 1,8,64,256,1024")
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--warmup", type=float)
    ap.add_argument("--rows", type=int)
    ap.add_argument("--out", help="output directory (default bench/results/<date>)")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--gocql-bin")
    ap.add_argument("--command", default="bench/run", help="the command line, for the report")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the whole matrix this many times, round after round on the same sim; the report "
                         "shows each point's median over the rounds (and the python/cqlpp vs DataStax ratio per round)")
    ap.add_argument("--ports", default="20000-20999", help="the sim's port is a free one in LO-HI")
    args = ap.parse_args()

    cfg = dict(QUICK if args.quick else FULL)
    if args.workloads:
        cfg["workloads"] = args.workloads.split(",")
    if args.concurrency:
        cfg["concurrency"] = [int(x) for x in args.concurrency.split(",")]
    if args.rates:
        cfg["fixed_rates"] = [int(float(x)) for x in args.rates.split(",")]
    for k in ("seconds", "warmup", "rows"):
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    date = datetime.date.today().isoformat()
    out_dir = args.out or os.path.join(ROOT, "bench", "results", date)
    os.makedirs(out_dir, exist_ok=True)
    cqlpp = os.path.join(args.build_dir, "tools", "cqlpp")
    conts = contenders(args)
    present = [c for c in conts if c.present]
    notes = []
    seen_notes = set()
    for c in conts:
        if not c.present and c.note not in seen_notes:
            seen_notes.add(c.note)
            notes.append("%s: skipped (%s)" % (c.name, c.note))
            log("bench: " + notes[-1])
    limit = next((c for c in present if c.name == "limit"), None)
    if limit is None:
        log("bench: the limit client is needed to load the table")
        return 1

    started = time.monotonic()
    lo, hi = (int(x) for x in args.ports.split("-"))
    port = free_port(lo, hi)
    sim = Sim(cqlpp, port, 3, os.path.join(out_dir, "sim.log"))
    results = []
    failures = []
    try:
        log("bench: cqlpp sim, 3 nodes on 127.0.0.1-3:%d; loading %d rows" % (port, cfg["rows"]))
        rc, so, se, ru, _, _, _ = run_child(limit.argv + ["--hosts", sim.hosts, "--keyspace", "bench", "--workload", "load",
                                                      "--rows", str(cfg["rows"]), "--concurrency", "512",
                                                      "--seconds", "0"], timeout=600)
        load = last_json(so)
        if rc != 0 or not load or load.get("errors"):
            log("bench: loading failed (%d): %s" % (rc, se.strip()))
            return 1
        log("bench: loaded %d rows in %.1f s" % (load["ops"], load["seconds"]))
        pts = matrix(args, cfg, present)
        rounds = max(1, args.rounds)
        log("bench: %d points, %.1f s each%s" % (len(pts), cfg["seconds"], ", %d rounds" % rounds if rounds > 1 else ""))
        # Round after round over the whole matrix: the contenders of one point
        # run minutes apart at most, under the same load of the machine.
        runs = [(rd, p) for rd in range(1, rounds + 1) for p in pts]
        with open(os.path.join(out_dir, "results.jsonl"), "w") as jl:
            for i, (rd, (c, w, n, rate)) in enumerate(runs):
                argv = c.argv + ["--hosts", sim.hosts, "--keyspace", "bench", "--workload", "read" if w == "fixed" else w,
                                 "--concurrency", str(n), "--seconds", str(cfg["seconds"]),
                                 "--warmup", str(cfg["warmup"]), "--rows", str(cfg["rows"])]
                if rate:
                    argv += ["--rate", str(rate)]
                # A scan of a big table by a slow client takes long: allow for it.
                timeout = 120 + cfg["seconds"] * 3 + (cfg["rows"] / 20000 if w == "scan" else 0)
                sim_cpu0 = sim.cpu_seconds()
                rc, so, se, ru, threads, samples, hwm = run_child(argv, timeout, cwd=PEERS)
                sim_cpu1 = sim.cpu_seconds()
                r = last_json(so)
                if rc != 0 or r is None or r.get("ops", 0) <= 0:
                    failures.append({"contender": c.name, "mode": c.mode, "workload": w, "concurrency": n,
                                     "rate": rate, "exit": rc, "stderr": se.strip()[-2000:], "round": rd})
                    log("bench: [%d/%d] %s %s c=%d%s FAILED (exit %d): %s" %
                        (i + 1, len(runs), c.key, w, n, " rate=%d" % rate if rate else "", rc, se.strip()[-500:]))
                    continue
                r["contender"], r["mode"] = c.name, c.mode
                if w == "fixed":
                    # Kept apart from the closed-loop read records by workload.
                    r["workload"], r["fixed_workload"] = "fixed", "read"
                r["self_peak_rss_kib"] = r.get("peak_rss_kib")
                # VmHWM (the peak of the program's own memory since exec), sampled
                # every 20 ms. Not wait4's ru_maxrss: Linux carries the forked
                # harness's RSS over exec into it, which hides clients smaller
                # than the harness (they all read ~14 MiB).
                r["peak_rss_kib"] = hwm or ru.ru_maxrss
                r["wait4_maxrss_kib"] = ru.ru_maxrss
                r["process_cpu_s"] = round(ru.ru_utime + ru.ru_stime, 3)
                r["threads"] = max(threads, r.get("threads") or 0)
                if sim_cpu0 is not None and sim_cpu1 is not None:
                    r["server_cpu_s"] = round(sim_cpu1 - sim_cpu0, 2)
                if w == "scan" and samples:
                    r["rss_samples"] = samples[:: max(1, len(samples) // 50)]
                r["table_rows"] = cfg["rows"]
                r["date"] = date
                r["round"] = rd
                results.append(r)
                jl.write(json.dumps(r) + "\n")
                jl.flush()
                if w == "fixed":
                    log("bench: [%d/%d] %-20s fixed rate %6d: achieved %8.0f ops/s  p99 %9.0f us (service %7.0f us)"
                        "  late starts %d" % (i + 1, len(runs), c.key, rate, r.get("achieved_rate", 0), r["p99_us"],
                                              r.get("service_p99_us", 0), r.get("late_starts", 0)))
                    continue
                loop_max = r.get("ticker_loop_max_ms")
                log("bench: [%d/%d] %-20s %-5s c=%-4d %10.0f ops/s  p99 %8.0f us  rss %6.1f MiB%s" %
                    (i + 1, len(runs), c.key, w, n, r["ops_per_s"], r["p99_us"], r["peak_rss_kib"] / 1024,
                     ("  ticker max %.1f ms (loop %s ms)" % (r["ticker_max_delay_ms"],
                                                             "?" if loop_max is None else "%.1f" % loop_max))
                     if w == "stall" else ""))
    finally:
        sim.stop()

    import report  # bench/report.py
    meta = {"date": date, "machine": machine(), "versions": versions(present), "command": args.command,
            "quick": args.quick, "rounds": max(1, args.rounds),
            "config": {k: cfg[k] for k in ("rows", "seconds", "warmup", "concurrency", "workloads",
                                           "fixed_rates", "fixed_concurrency")},
            "notes": notes, "failures": failures, "wall_s": round(time.monotonic() - started, 1),
            "load": {"rows": load["ops"], "seconds": load["seconds"]}}
    # Issue 16: instructions and allocations per request under callgrind (its
    # own sim; about 10 s for instr.py), shown beside the run's requests per CPU-second.
    if not args.quick and shutil.which("valgrind") and os.access(os.path.join(args.build_dir, "bench", "cqlpp_bench"), os.X_OK):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "instr", "instr.py"), "--build-dir", args.build_dir,
                            "--ports", args.ports, "--json", os.path.join(out_dir, "instr.json")],
                           capture_output=True, text=True)
        if p.returncode != 0:
            notes.append("instr.py failed: " + p.stderr.strip()[-300:])
        # Every contender, the peers too, by the marginal method (two runs of
        # W+N and W+3N requests each; about 25 minutes), into the same file.
        pi = [sys.executable, os.path.join(ROOT, "bench", "instr", "peers_instr.py"), "--build-dir", args.build_dir,
              "--ports", args.ports, "--json", os.path.join(out_dir, "instr.json")]
        if args.gocql_bin:
            pi += ["--gocql-bin", args.gocql_bin]
        if args.contenders:
            pi += ["--contenders", args.contenders]
        p = subprocess.run(pi, capture_output=True, text=True)
        if p.returncode != 0:
            notes.append("peers_instr.py: " + p.stderr.strip()[-300:])
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    report.write_all(out_dir, results, meta)  # the medians over the rounds (report.median_records)
    log("bench: %d figures, %d failures, %.0f s; results in %s" %
        (len(results), len(failures), meta["wall_s"], out_dir))
    # Every present contender must have produced figures.
    # (Only those the matrix gave points: a stall-only contender has none in a --workloads fixed run.)
    scheduled = {c.key for c, _, _, _ in pts}
    missing = [c.key for c in present if c.key in scheduled
               and not any(r["contender"] == c.name and r["mode"] == c.mode for r in results)]
    if failures:
        log("bench: %d point(s) failed (listed in results.md)" % len(failures))
    # The smoke check's verdict, one line: contenders with figures vs without.
    print("bench: %d passed, %d failed" % (len(scheduled) - len(missing), len(missing)), flush=True)
    if missing:
        log("bench: no figures from: %s" % ", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())

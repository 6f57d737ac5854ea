#!/usr/bin/python3
"""bench/run contender: the DataStax Python driver (Debian's python3-cassandra).

Run with /usr/bin/python3 (the driver comes from Debian, not from pip). Three
ways people use the driver:

  --mode threads   a thread pool of synchronous session.execute() calls,
                   one thread per request in flight
  --mode async     session.execute_async() with callbacks, N in flight
  --mode asyncio   N asyncio tasks; each ResponseFuture is bridged to an
                   asyncio.Future with loop.call_soon_threadsafe, the way the
                   async-cassandra wrapper does it

Same CLI and one-line JSON output as every contender: see bench/README.md.
"""
import argparse
import asyncio
import json
import random
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import SimpleStatement

BLOB = b"\xab" * 100


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def percentile(sorted_vals, q):
    if not sorted_vals:
        return 0.0
    i = max(0, min(len(sorted_vals) - 1, int(-(-q * len(sorted_vals) // 1)) - 1))
    return sorted_vals[i]


class Recorder:
    """Latency samples (ns) and counters of the measurement window."""

    def __init__(self):
        self.measuring = False
        self.lat = []
        self.ops = 0
        self.errors = 0
        self.rows = 0
        self.t0 = self.t1 = 0.0
        self.cpu0 = self.cpu1 = 0.0
        self.threads = 0

    def start(self):
        self.lat = []
        self.ops = self.errors = self.rows = 0
        self.cpu0 = cpu_seconds()
        self.t0 = time.perf_counter()
        self.measuring = True

    def stop(self):
        if self.measuring:
            self.measuring = False
            self.t1 = time.perf_counter()
            self.cpu1 = cpu_seconds()
            self.threads = threading.active_count()

    def ok(self, ns, rows=0):
        if self.measuring:
            self.ops += 1
            self.lat.append(ns)
            self.rows += rows

    def err(self):
        if self.measuring:
            self.errors += 1


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", required=True)
    p.add_argument("--keyspace", default="bench")
    # stall: how the scanner pages. "bridge": every page through the
    # call_soon_threadsafe bridge; "sync": ResultSet iteration, whose
    # fetch_next_page() blocks the event loop, as plain driver code does.
    p.add_argument("--scan-paging", choices=["bridge", "sync"], default="bridge")
    p.add_argument("--workload", required=True, choices=["read", "write", "mix", "scan", "stall"])
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--page-size", type=int, default=5000)
    p.add_argument("--mode", default="async", choices=["threads", "async", "asyncio"])
    return p.parse_args()


def connect(args):
    hosts = [h.rsplit(":", 1) for h in args.hosts.split(",")]
    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
                               consistency_level=ConsistencyLevel.ONE, request_timeout=60)
    cluster = Cluster(contact_points=[h for h, _ in hosts], port=int(hosts[0][1]), compression=False,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    session = cluster.connect(args.keyspace)
    return cluster, session


class Workload:
    def __init__(self, session, args):
        self.read = session.prepare("SELECT v FROM kv WHERE k = ?")
        self.write = session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        self.scan = SimpleStatement("SELECT k, v FROM kv", fetch_size=args.page_size)
        self.rows = max(1, args.rows)
        self.kind = args.workload

    def next(self, rnd):
        """The next single-partition statement and its values."""
        k = rnd.randrange(self.rows)
        if self.kind == "write" or (self.kind == "mix" and rnd.random() < 0.1):
            return self.write, (k, BLOB)
        return self.read, (k,)


# ---- mode threads ---------------------------------------------------------------

def run_threads(session, args, w, rec):
    stop = threading.Event()

    def worker(seed):
        rnd = random.Random(seed)
        while not stop.is_set():
            stmt, vals = w.next(rnd)
            t = time.perf_counter_ns()
            try:
                session.execute(stmt, vals)
                rec.ok(time.perf_counter_ns() - t)
            except Exception:  # noqa: BLE001
                rec.err()

    def scanner():
        while True:
            t = time.perf_counter_ns()
            n = 0
            # Synchronous paging: iterating the ResultSet fetches the next page when needed.
            for _ in session.execute(w.scan):
                n += 1
                if n % args.page_size == 0:
                    now = time.perf_counter_ns()
                    rec.ok(now - t, args.page_size)
                    t = now
            if n % args.page_size:
                rec.ok(time.perf_counter_ns() - t, n % args.page_size)
            if time.perf_counter() >= deadline:
                break

    if args.workload == "scan":
        rec.start()
        deadline = rec.t0 + args.seconds
        scanner()
        rec.stop()
        return 1
    n = args.concurrency
    with ThreadPoolExecutor(max_workers=n) as pool:
        futs = [pool.submit(worker, i) for i in range(n)]
        time.sleep(args.warmup)
        rec.start()
        time.sleep(args.seconds)
        rec.stop()
        stop.set()
        for f in futs:
            f.result()
    return n


# ---- mode async (callbacks) -----------------------------------------------------

def run_async(session, args, w, rec):
    done = threading.Event()
    stopping = [False]
    lock = threading.Lock()
    outstanding = [0]
    rnd = random.Random(1)

    def finished_one():
        with lock:
            outstanding[0] -= 1
            if stopping[0] and outstanding[0] == 0:
                done.set()

    def issue():
        if stopping[0]:
            finished_one()
            return
        stmt, vals = w.next(rnd)
        t = time.perf_counter_ns()
        f = session.execute_async(stmt, vals)
        f.add_callbacks(on_ok, on_err, callback_args=(t,), errback_args=(t,))

    def on_ok(_rows, t):
        rec.ok(time.perf_counter_ns() - t)
        issue()

    def on_err(_exc, t):
        rec.err()
        issue()

    if args.workload == "scan":
        state = {}

        def page_ok(rows, rf):
            now = time.perf_counter_ns()
            rec.ok(now - state["t"], len(rows))
            state["t"] = now
            if rf.has_more_pages:
                rf.start_fetching_next_page()
            elif time.perf_counter() >= rec.t0 + args.seconds:
                done.set()
            else:
                start_pass()

        def page_err(exc):
            rec.err()
            print("python: scan failed: %r" % exc, file=sys.stderr)
            done.set()

        def start_pass():
            state["t"] = time.perf_counter_ns()
            rf = session.execute_async(w.scan)
            rf.add_callbacks(page_ok, page_err, callback_args=(rf,))

        rec.start()
        start_pass()
        done.wait()
        rec.stop()
        return 1

    outstanding[0] = args.concurrency
    for _ in range(args.concurrency):
        issue()
    time.sleep(args.warmup)
    rec.start()
    time.sleep(args.seconds)
    rec.stop()
    with lock:
        stopping[0] = True
    done.wait(30)
    return args.concurrency


# ---- mode asyncio (ResponseFuture bridged with call_soon_threadsafe) ------------

def _set_result(fut, value):
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut, exc):
    if not fut.done():
        fut.set_exception(exc)


def bridge(rf, loop):
    """An asyncio.Future for the first page of a ResponseFuture (async-cassandra style)."""
    fut = loop.create_future()
    rf.add_callbacks(lambda rows: loop.call_soon_threadsafe(_set_result, fut, rows),
                     lambda exc: loop.call_soon_threadsafe(_set_exception, fut, exc))
    return fut


class PagedBridge:
    """Page after page of one ResponseFuture as awaitables: the callbacks stay
    registered on the ResponseFuture and fire once per page."""

    def __init__(self, rf, loop):
        self.rf, self.loop = rf, loop
        self.fut = loop.create_future()
        rf.add_callbacks(self._ok, self._err)

    def _ok(self, rows):
        self.loop.call_soon_threadsafe(_set_result, self.fut, rows)

    def _err(self, exc):
        self.loop.call_soon_threadsafe(_set_exception, self.fut, exc)

    async def pages(self):
        while True:
            rows = await self.fut
            yield rows
            if not self.rf.has_more_pages:
                return
            self.fut = self.loop.create_future()
            self.rf.start_fetching_next_page()


async def scan_pass_asyncio(session, w, rec, loop):
    t = time.perf_counter_ns()
    async for rows in PagedBridge(session.execute_async(w.scan), loop).pages():
        now = time.perf_counter_ns()
        rec.ok(now - t, len(rows))
        t = now


async def run_asyncio_main(session, args, w, rec):
    loop = asyncio.get_running_loop()
    stop = [False]
    if args.workload == "scan":
        rec.start()
        while True:
            await scan_pass_asyncio(session, w, rec, loop)
            if time.perf_counter() >= rec.t0 + args.seconds:
                break
        rec.stop()
        return 1, None

    async def worker(seed):
        rnd = random.Random(seed)
        while not stop[0]:
            stmt, vals = w.next(rnd)
            t = time.perf_counter_ns()
            try:
                await bridge(session.execute_async(stmt, vals), loop)
                rec.ok(time.perf_counter_ns() - t)
            except Exception:  # noqa: BLE001
                rec.err()

    ticker_delays = []
    scan_rows = [0]

    async def ticker():
        while not stop[0]:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            late = time.perf_counter() - t - 0.001
            if rec.measuring:
                ticker_delays.append(max(0.0, late))

    async def scanner():
        # Reads and scan pages share one recorder: count scan rows apart.
        while not stop[0]:
            if args.scan_paging == "sync":
                # The first page through the bridge, the rest by iterating the
                # ResultSet: each page boundary blocks the loop for a round trip.
                rf = session.execute_async(w.scan)
                await bridge(rf, loop)
                for i, _ in enumerate(rf.result()):
                    if rec.measuring and i % 1000 == 999:
                        scan_rows[0] += 1000
                    if stop[0]:
                        break
                    if i % 5000 == 4999:
                        await asyncio.sleep(0)  # let the others run between pages
                continue
            async for rows in PagedBridge(session.execute_async(w.scan), loop).pages():
                if rec.measuring:
                    scan_rows[0] += len(rows)
                if stop[0]:
                    break

    tasks = [asyncio.create_task(worker(i)) for i in range(args.concurrency)]
    if args.workload == "stall":
        tasks.append(asyncio.create_task(ticker()))
        tasks.append(asyncio.create_task(scanner()))
    await asyncio.sleep(args.warmup)
    rec.start()
    await asyncio.sleep(args.seconds)
    rec.stop()
    stop[0] = True
    await asyncio.gather(*tasks, return_exceptions=True)
    extra = None
    if args.workload == "stall":
        ticker_delays.sort()
        extra = {"rows": scan_rows[0],
                 "rows_per_s": round(scan_rows[0] / max(rec.t1 - rec.t0, 1e-9), 1),
                 "ticker_max_delay_ms": round(1000 * (ticker_delays[-1] if ticker_delays else 0), 3),
                 "ticker_p99_delay_ms": round(1000 * percentile(ticker_delays, 0.99), 3),
                 "ticks": len(ticker_delays)}
    return args.concurrency, extra


def main():
    args = parse_args()
    if args.workload == "stall" and args.mode != "asyncio":
        print("python: the stall workload needs --mode asyncio (an application event loop)", file=sys.stderr)
        return 2
    cluster, session = connect(args)
    w = Workload(session, args)
    rec = Recorder()
    extra = None
    if args.mode == "threads":
        in_flight = run_threads(session, args, w, rec)
    elif args.mode == "async":
        in_flight = run_async(session, args, w, rec)
    else:
        in_flight, extra = asyncio.run(run_asyncio_main(session, args, w, rec))
    threads = rec.threads
    cluster.shutdown()
    secs = max(rec.t1 - rec.t0, 1e-9)
    cpu = rec.cpu1 - rec.cpu0
    lat = sorted(rec.lat)
    out = {
        "contender": "python", "mode": args.mode, "workload": args.workload,
        "concurrency": in_flight, "ops": rec.ops, "errors": rec.errors, "seconds": round(secs, 3),
        "ops_per_s": round(rec.ops / secs, 1),
        "p50_us": round(percentile(lat, 0.5) / 1000, 1), "p99_us": round(percentile(lat, 0.99) / 1000, 1),
        "p999_us": round(percentile(lat, 0.999) / 1000, 1), "max_us": round((lat[-1] if lat else 0) / 1000, 1),
        "cpu_s": round(cpu, 3), "ops_per_cpu_s": round(rec.ops / cpu, 1) if cpu > 0 else 0,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "threads": threads,
    }
    if args.workload == "scan":
        out["rows"] = rec.rows
        out["rows_per_s"] = round(rec.rows / secs, 1)
    if extra:
        out.update(extra)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

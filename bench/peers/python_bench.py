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

--rate R runs open loop in every mode: request i is due at start + i/R, at
most --concurrency in flight, latency counted from the due time (coordinated
omission corrected); the service time (from the send) is kept apart.

Same CLI and one-line JSON output as every contender: see bench/README.md.
"""
import argparse
import asyncio
import contextlib
import itertools
import json
import os
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

from cassandra_asyncio import Pages, first_page
from runqueue import RunQueueClock

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


class Schedule:
    """Fixed rate: slot i is due at start + i/rate. Workers take the next slot
    when free (itertools.count's next() is atomic under the GIL) and wait for
    its due time; a slot taken late is sent at once. Samples are appended as
    tuples (list.append is atomic) and sorted out at the end."""

    def __init__(self, args):
        self.rate = args.rate
        self.start = time.perf_counter()
        self.measure_from = self.start + args.warmup
        self.end = self.measure_from + args.seconds
        self.slots = itertools.count()
        self.samples = []  # (due, sent, done, ok)
        self.due_slots = int(-(-args.rate * (args.warmup + args.seconds) // 1))  # due before the end

    def claim(self):
        """The next slot's due time, or None when the run is over (slots due
        later, or a backlog left at the end: those are not sent)."""
        due = self.start + next(self.slots) / self.rate
        if due >= self.end or time.perf_counter() >= self.end:
            return None
        return due

    def due_times(self):
        """The due times of the slots this thread takes, each yielded once due."""
        while (due := self.claim()) is not None:
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            yield due

    async def due_times_async(self):
        """due_times() for an asyncio task: the wait gives the loop to the others."""
        while (due := self.claim()) is not None:
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            yield due

    def record(self, due, sent, done, ok):
        self.samples.append((due, sent, done, ok))

    @contextlib.contextmanager
    def timed(self, due):
        """Records the request sent in the with-block: ok, or failed if it raised
        (the exception is swallowed: an error is a figure, not the end of the run)."""
        sent = time.perf_counter()
        try:
            yield
        except Exception:  # noqa: BLE001
            self.record(due, sent, time.perf_counter(), False)
        else:
            self.record(due, sent, time.perf_counter(), True)

    def figures(self, secs):
        # Measured: answered within the window, whenever due (a backlog from
        # the warm-up counts, with its full wait).
        m = [s for s in self.samples if self.measure_from <= s[2] <= self.end]
        ok = [s for s in m if s[3]]
        lat = sorted(s[2] - s[0] for s in ok)
        svc = sorted(s[2] - s[1] for s in ok)
        us = lambda v: round(v * 1e6, 1)  # noqa: E731
        return {"ops": len(ok), "errors": len(m) - len(ok),
                "p50_us": us(percentile(lat, 0.5)), "p99_us": us(percentile(lat, 0.99)),
                "p999_us": us(percentile(lat, 0.999)), "max_us": us(lat[-1] if lat else 0),
                "rate": self.rate, "achieved_rate": round(len(ok) / secs, 1),
                "late_starts": sum(1 for s in m if s[1] - s[0] > 0.001),
                "unissued": max(0, self.due_slots - sum(1 for s in self.samples if s[1] < self.end)),
                "service_p50_us": us(percentile(svc, 0.5)), "service_p99_us": us(percentile(svc, 0.99)),
                "service_p999_us": us(percentile(svc, 0.999))}


def window_thread(sched, rec):
    """Marks the measured window (CPU, elapsed) for the thread-based modes."""
    def run():
        time.sleep(max(0.0, sched.measure_from - time.perf_counter()))
        rec.start()
        time.sleep(max(0.0, sched.end - time.perf_counter()))
        rec.stop()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


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
    p.add_argument("--rate", type=float, default=0, help="fixed rate, requests/s (read/write/mix); 0: closed loop")
    # Not used by bench/run: issue exactly this many requests (all N in flight
    # together take them) and stop, no time window; every request is measured.
    # bench/instr counts instructions per request from two such runs under
    # callgrind (python_instr.py, peers_instr.py).
    p.add_argument("--ops", type=int, default=0)
    a = p.parse_args()
    if a.ops and (a.rate or a.workload not in ("read", "write", "mix")):
        p.error("--ops is for closed loop read/write/mix")
    if a.workload in ("scan", "stall"):
        a.rate = 0
    return a


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
        k = int(rnd.random() * self.rows)  # as cqlpp_python_bench.py: one C call (randrange is Python code)
        if self.kind == "write" or (self.kind == "mix" and rnd.random() < 0.1):
            return self.write, (k, BLOB)
        return self.read, (k,)


# ---- mode threads ---------------------------------------------------------------

def run_threads(session, args, w, rec):
    stop = threading.Event()
    claims = itertools.count()  # --ops: next() is atomic under the GIL

    def worker(seed):
        rnd = random.Random(seed)
        while not stop.is_set():
            if args.ops and next(claims) >= args.ops:
                break
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
    if args.rate > 0:
        sched = Schedule(args)

        def paced(seed):
            rnd = random.Random(seed)
            for due in sched.due_times():
                stmt, vals = w.next(rnd)
                with sched.timed(due):
                    session.execute(stmt, vals)

        win = window_thread(sched, rec)
        with ThreadPoolExecutor(max_workers=n) as pool:
            for f in [pool.submit(paced, i) for i in range(n)]:
                f.result()
        win.join()
        rec.sched = sched
        return n
    if args.ops:
        with ThreadPoolExecutor(max_workers=n) as pool:
            rec.start()
            for f in [pool.submit(worker, i) for i in range(n)]:
                f.result()
            rec.stop()
        return n
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
    budget = [args.ops]  # --ops: requests left to issue

    def finished_one():
        with lock:
            outstanding[0] -= 1
            if (stopping[0] or args.ops) and outstanding[0] == 0:
                done.set()

    def issue():
        if stopping[0]:
            finished_one()
            return
        if args.ops:
            with lock:
                budget[0] -= 1
                left = budget[0]
            if left < 0:
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

    if args.rate > 0:
        # One scheduler (this thread) sends each slot at its due time; a
        # semaphore caps the requests in flight, so a slot waiting for it goes
        # out late and counts from its due time.
        sched = Schedule(args)
        cap = threading.Semaphore(args.concurrency)

        def paced_ok(_rows, due, t):
            sched.record(due, t, time.perf_counter(), True)
            cap.release()

        def paced_err(_exc, due, t):
            sched.record(due, t, time.perf_counter(), False)
            cap.release()

        win = window_thread(sched, rec)
        for due in sched.due_times():
            cap.acquire()
            stmt, vals = w.next(rnd)
            t = time.perf_counter()
            f = session.execute_async(stmt, vals)
            f.add_callbacks(paced_ok, paced_err, callback_args=(due, t), errback_args=(due, t))
        for _ in range(args.concurrency):  # the drain: every request answered
            cap.acquire(timeout=60)
        win.join()
        rec.sched = sched
        return args.concurrency

    outstanding[0] = args.concurrency
    if args.ops:
        rec.start()
        for _ in range(args.concurrency):
            issue()
        done.wait()
        rec.stop()
        return args.concurrency
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

async def scan_pass_asyncio(session, w, rec, loop):
    t = time.perf_counter_ns()
    async for rows in Pages(session.execute_async(w.scan), loop):
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

    sched = Schedule(args) if args.rate > 0 else None

    async def paced(seed):
        rnd = random.Random(seed)
        async for due in sched.due_times_async():
            stmt, vals = w.next(rnd)
            with sched.timed(due):
                await first_page(session.execute_async(stmt, vals), loop)

    if sched:
        tasks = [asyncio.create_task(paced(i)) for i in range(args.concurrency)]
        await asyncio.sleep(max(0.0, sched.measure_from - time.perf_counter()))
        rec.start()
        await asyncio.sleep(max(0.0, sched.end - time.perf_counter()))
        rec.stop()
        await asyncio.gather(*tasks, return_exceptions=True)  # the drain
        rec.sched = sched
        return args.concurrency, None

    claims = itertools.count()  # --ops

    async def worker(seed):
        rnd = random.Random(seed)
        while not stop[0]:
            if args.ops and next(claims) >= args.ops:
                break
            stmt, vals = w.next(rnd)
            t = time.perf_counter_ns()
            try:
                await first_page(session.execute_async(stmt, vals), loop)
                rec.ok(time.perf_counter_ns() - t)
            except Exception:  # noqa: BLE001
                rec.err()

    ticker_delays = []
    loop_delays = []  # lateness minus the run-queue wait over the tick
    scan_rows = [0]
    runq = RunQueueClock()  # on the loop's thread

    async def ticker():
        while not stop[0]:
            w0 = runq.wait_s()
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            late = max(0.0, time.perf_counter() - t - 0.001)
            waited = runq.wait_s() - w0
            if rec.measuring:
                ticker_delays.append(late)
                loop_delays.append(max(0.0, late - waited))

    async def scanner():
        # Reads and scan pages share one recorder: count scan rows apart.
        while not stop[0]:
            if args.scan_paging == "sync":
                # The first page through the bridge, the rest by iterating the
                # ResultSet: each page boundary blocks the loop for a round trip.
                rf = session.execute_async(w.scan)
                await first_page(rf, loop)
                for i, _ in enumerate(rf.result()):
                    if rec.measuring and i % 1000 == 999:
                        scan_rows[0] += 1000
                    if stop[0]:
                        break
                    if i % 5000 == 4999:
                        await asyncio.sleep(0)  # let the others run between pages
                continue
            async for rows in Pages(session.execute_async(w.scan), loop):
                if rec.measuring:
                    scan_rows[0] += len(rows)
                if stop[0]:
                    break

    if args.ops:
        rec.start()
        await asyncio.gather(*[worker(i) for i in range(args.concurrency)])
        rec.stop()
        return args.concurrency, None

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
        loop_delays.sort()
        known = runq.fd is not None
        extra = {"rows": scan_rows[0],
                 "rows_per_s": round(scan_rows[0] / max(rec.t1 - rec.t0, 1e-9), 1),
                 "ticker_max_delay_ms": round(1000 * (ticker_delays[-1] if ticker_delays else 0), 3),
                 "ticker_p99_delay_ms": round(1000 * percentile(ticker_delays, 0.99), 3),
                 "ticks": len(ticker_delays),
                 "ticks_over_2ms": sum(1 for d in ticker_delays if d > 0.002),
                 "ticker_loop_max_ms": round(1000 * (loop_delays[-1] if loop_delays else 0), 3) if known else None,
                 "ticker_loop_p99_ms": round(1000 * percentile(loop_delays, 0.99), 3) if known else None,
                 "loop_ticks_over_2ms": sum(1 for d in loop_delays if d > 0.002) if known else None}
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
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "threads": threads, "rate": 0,
    }
    sched = getattr(rec, "sched", None)
    if sched:
        # Fixed rate: latency from the due time; ops are the measured slots
        # answered; rates over the nominal window (due times span exactly it).
        secs = args.seconds
        out["seconds"] = secs
        out.update(sched.figures(secs))
        out["ops_per_s"] = round(out["ops"] / secs, 1)
        out["ops_per_cpu_s"] = round(out["ops"] / cpu, 1) if cpu > 0 else 0
    if args.workload == "scan":
        out["rows"] = rec.rows
        out["rows_per_s"] = round(rec.rows / secs, 1)
    if extra:
        out.update(extra)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

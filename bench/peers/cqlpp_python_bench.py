#!/usr/bin/env python3
"""bench/run contender python/cqlpp: the cqlpp Python package on asyncio (closed loop).

Same CLI and JSON output as python_bench.py (see bench/README.md). PYTHONPATH
must reach the package (the harness passes $BUILD_DIR/python).
"""
import argparse
import asyncio
import gc
import itertools
import json
import os
import random
import resource
import sys
import time

import cqlpp
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


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--hosts", required=True)
    p.add_argument("--keyspace", default="bench")
    p.add_argument("--workload", required=True, choices=["read", "write", "mix", "scan", "stall"])
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--page-size", type=int, default=5000)
    p.add_argument("--uvloop", action="store_true")
    p.add_argument("--rate", type=float, default=0)
    # Not used by bench/run: moves the objects alive after set-up out of the
    # collector's way (as services do after start-up), so that the stall figure
    # shows what the driver causes rather than CPython's full collections.
    p.add_argument("--gc-freeze", action="store_true")
    # Not used by bench/run: issue exactly this many requests (read/write/mix)
    # and stop, no time window (bench/instr/python_instr.py counts instructions
    # per request from two such runs under callgrind).
    p.add_argument("--ops", type=int, default=0)
    return p.parse_args()


async def run(args):
    hosts = [h.rsplit(":", 1) for h in args.hosts.split(",")]
    out = {}
    async with cqlpp.Cluster([h for h, _ in hosts], port=int(hosts[0][1]), request_timeout=60,
                             consistency="ONE") as cluster:
        session = await cluster.connect(args.keyspace)
        read = await session.prepare("SELECT v FROM kv WHERE k = ?")
        write = await session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        rows = max(1, args.rows)
        if args.gc_freeze:
            gc.collect()
            gc.freeze()
        lat, stop = [], [False]
        counters = {"ops": 0, "errors": 0, "rows": 0, "measuring": False}

        write_share = {"write": 1.0, "mix": 0.1}.get(args.workload, 0.0)

        async def worker(seed, n):
            # The contender's own work per request is kept small: one C call
            # for the key (python_bench.py draws it the same way), locals only.
            # n: requests to issue (--ops), or None until stopped.
            rnd = random.Random(seed).random
            ex = session.execute
            perf = time.perf_counter_ns
            record = lat.append
            for _ in itertools.repeat(None) if n is None else itertools.repeat(None, n):
                if stop[0]:
                    break
                k = int(rnd() * rows)
                if write_share and (write_share >= 1.0 or rnd() < write_share):
                    stmt, vals = write, (k, BLOB)
                else:
                    stmt, vals = read, (k,)
                t = perf()
                try:
                    await ex(stmt, vals)
                    if counters["measuring"]:
                        record(perf() - t)
                        counters["ops"] += 1
                except Exception:  # noqa: BLE001
                    if counters["measuring"]:
                        counters["errors"] += 1

        async def scanner(count_ops):
            while not stop[0]:
                stream = await session.execute_stream("SELECT k, v FROM kv", fetch_size=args.page_size,
                                                      row_factory=cqlpp.tuple_factory)
                t = time.perf_counter_ns()
                async for page in stream.pages():
                    if counters["measuring"]:
                        counters["rows"] += len(page)
                        if count_ops:
                            lat.append(time.perf_counter_ns() - t)
                            counters["ops"] += 1
                    t = time.perf_counter_ns()
                    if stop[0]:
                        break

        delays, loop_delays = [], []
        runq = RunQueueClock()  # on the loop's thread

        async def ticker():
            # The loop's own lateness: the tick's, less the time the thread waited for a CPU.
            while not stop[0]:
                t, w0 = time.perf_counter(), runq.wait_s()
                await asyncio.sleep(0.001)
                if counters["measuring"]:
                    d = max(0.0, time.perf_counter() - t - 0.001)
                    delays.append(d)
                    loop_delays.append(max(0.0, d - (runq.wait_s() - w0)))

        tasks = []
        if args.workload == "scan":
            tasks.append(asyncio.create_task(scanner(True)))
        else:
            c = args.concurrency
            tasks += [asyncio.create_task(worker(i, args.ops // c + (i < args.ops % c) if args.ops else None))
                      for i in range(c)]
        if args.workload == "stall":
            tasks += [asyncio.create_task(ticker()), asyncio.create_task(scanner(False))]
        if args.ops:
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            counters["measuring"] = True
            await asyncio.gather(*tasks, return_exceptions=True)
            counters["measuring"] = False
            cpu1, t1 = cpu_seconds(), time.perf_counter()
        else:
            await asyncio.sleep(args.warmup)
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            counters["measuring"] = True
            await asyncio.sleep(args.seconds)
            counters["measuring"] = False
            cpu1, t1 = cpu_seconds(), time.perf_counter()
        stop[0] = True
        await asyncio.gather(*tasks, return_exceptions=True)
        secs, cpu = t1 - t0, cpu1 - cpu0
        lat.sort()
        ops = counters["ops"]
        out = {
            "contender": "python", "mode": "cqlpp", "workload": args.workload,
            "concurrency": args.concurrency, "ops": ops, "errors": counters["errors"], "seconds": round(secs, 3),
            "ops_per_s": round(ops / secs, 1),
            "p50_us": round(percentile(lat, 0.5) / 1000, 1), "p99_us": round(percentile(lat, 0.99) / 1000, 1),
            "p999_us": round(percentile(lat, 0.999) / 1000, 1), "max_us": round((lat[-1] if lat else 0) / 1000, 1),
            "cpu_s": round(cpu, 3), "ops_per_cpu_s": round(ops / cpu, 1) if cpu > 0 else 0,
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "threads": 2, "rate": 0,
        }
        if args.workload in ("scan", "stall"):
            out["rows"] = counters["rows"]
            out["rows_per_s"] = round(counters["rows"] / secs, 1)
        if args.workload == "stall":
            delays.sort()
            loop_delays.sort()
            known = runq.fd is not None
            out.update({"ticker_max_delay_ms": round(1000 * (delays[-1] if delays else 0), 3),
                        "ticker_loop_max_ms": round(1000 * (loop_delays[-1] if loop_delays else 0), 3) if known else None,
                        "ticker_loop_p99_ms": round(1000 * percentile(loop_delays, 0.99), 3) if known else None,
                        "loop_ticks_over_2ms": sum(1 for d in loop_delays if d > 0.002) if known else None,
                        "ticker_p99_delay_ms": round(1000 * percentile(delays, 0.99), 3),
                        "ticks": len(delays), "ticks_over_2ms": sum(1 for d in delays if d > 0.002)})
    return out


def main():
    args = parse_args()
    if args.rate:
        print("python/cqlpp: fixed rate not implemented", file=sys.stderr)
        return 2
    if args.ops and args.workload not in ("read", "write", "mix"):
        print("python/cqlpp: --ops is for read, write and mix", file=sys.stderr)
        return 2
    if args.uvloop:
        import uvloop
        uvloop.install()
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

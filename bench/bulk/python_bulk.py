#!/usr/bin/python3
"""Token-range count / unload with the DataStax Python driver on asyncio.

The peer that bench/bulk/run.sh compares `cqlpp bulk` with. It follows the
shape of the async-cassandra bulk-operations example: split the Murmur3 ring
into ranges from the driver's token map, run one prepared
    SELECT ... WHERE token(pk) > ? AND token(pk) <= ?
per range, at most --concurrency ranges at a time (asyncio.Semaphore), with
ResponseFuture callbacks bridged to asyncio futures through
loop.call_soon_threadsafe and page after page fetched with
start_fetching_next_page(). Unload writes one CSV file per range with the csv
module. Prints one JSON object: {"tool", "op", "rows", "ranges", "seconds",
"rows_per_second"}.

Run it with Debian's interpreter and driver (python3-cassandra):
    /usr/bin/python3 bench/bulk/python_bulk.py --port 9042 --keyspace ks --table t --op count
"""
import argparse
import asyncio
import csv
import json
import os
import sys
import time

from cassandra.cluster import Cluster
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

# The ResponseFuture -> asyncio bridge is python_bench.py's, in bench/peers.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "peers"))
from cassandra_asyncio import Pages  # noqa: E402

MIN_TOKEN = -(2 ** 63)
MAX_TOKEN = 2 ** 63 - 1


def plan_ranges(ring, splits):
    """(start, end, start_inclusive) covering the whole ring exactly once."""
    tokens = sorted(t.value for t in ring)
    vnodes = []
    if not tokens:
        return [(MIN_TOKEN, MAX_TOKEN, True)]
    # The range that wraps: [MIN, first] and (last, MAX].
    vnodes.append((MIN_TOKEN, tokens[0], True))
    for a, b in zip(tokens, tokens[1:]):
        vnodes.append((a, b, False))
    if tokens[-1] != MAX_TOKEN:
        vnodes.append((tokens[-1], MAX_TOKEN, False))
    pieces = max(splits, len(vnodes))
    total = 2 ** 64
    out = []
    for start, end, incl in vnodes:
        lo = start if incl else start + 1  # first token in the range
        size = end - lo + 1
        n = max(1, round(pieces * size / total))
        prev = lo
        for i in range(1, n + 1):
            hi = lo - 1 + (size * i) // n
            if hi < prev:
                continue
            if prev == MIN_TOKEN:
                out.append((MIN_TOKEN, hi, True))
            else:
                out.append((prev - 1, hi, False))
            prev = hi + 1
    return out


async def run(args):
    cluster = Cluster([args.host], port=args.port,
                      load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
                      executor_threads=2)
    session = cluster.connect()
    session.default_fetch_size = args.page_size
    meta = cluster.metadata
    table = meta.keyspaces[args.keyspace].tables[args.table]
    pk = ", ".join(c.name for c in table.partition_key)
    cols = ", ".join(table.columns.keys())
    ks_t = f"{args.keyspace}.{args.table}"
    if args.op == "count" and args.count_mode == "server":
        what = "count(*)"
    elif args.op == "count":
        what = pk
    else:
        what = cols
    q_excl = session.prepare(f"SELECT {what} FROM {ks_t} WHERE token({pk}) > ? AND token({pk}) <= ?")
    q_incl = session.prepare(f"SELECT {what} FROM {ks_t} WHERE token({pk}) >= ? AND token({pk}) <= ?")
    ranges = plan_ranges(meta.token_map.ring, args.splits or 8 * (os.cpu_count() or 1))
    if args.output:
        os.makedirs(args.output, exist_ok=True)
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(args.concurrency)
    rows_total = 0

    async def one(i, start, end, incl):
        nonlocal rows_total
        async with sem:
            stmt = (q_incl if incl else q_excl).bind((start, end))
            n = 0
            out = None
            writer = None
            if args.op == "unload":
                out = open(os.path.join(args.output, f"range_{i:06d}.csv"), "w", newline="")
                writer = csv.writer(out)
                writer.writerow(list(table.columns.keys()))
            try:
                async for page in Pages(session.execute_async(stmt), loop):
                    if args.op == "count" and args.count_mode == "server":
                        for row in page:
                            n += row[0]
                    elif writer is not None:
                        for row in page:
                            writer.writerow(row)
                            n += 1
                    else:
                        n += len(page)
            finally:
                if out is not None:
                    out.close()
            rows_total += n

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, s, e, inc) for i, (s, e, inc) in enumerate(ranges)))
    seconds = time.perf_counter() - t0
    cluster.shutdown()
    print(json.dumps({"tool": "python-asyncio", "op": args.op if args.op != "count" else f"count-{args.count_mode}",
                      "rows": rows_total, "ranges": len(ranges), "seconds": round(seconds, 3),
                      "rows_per_second": round(rows_total / seconds) if seconds > 0 else 0}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9042)
    p.add_argument("--keyspace", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--op", choices=["count", "unload"], default="count")
    p.add_argument("--count-mode", choices=["server", "rows"], default="server")
    p.add_argument("--splits", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=6)
    p.add_argument("--page-size", type=int, default=5000)
    p.add_argument("--output", default="")
    args = p.parse_args()
    if args.op == "unload" and not args.output:
        p.error("--op unload needs --output")
    asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())

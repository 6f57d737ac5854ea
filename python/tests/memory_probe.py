"""Memory figures of the cqlpp package (used by test_memory.py; also a CLI):

    PYTHONPATH=build/rel/python /usr/bin/python3 python/tests/memory_probe.py \\
        --port 36000 --rows 1000000 --in-flight 10000

(a) per request in flight: Python heap (tracemalloc) and RSS growth with N
    requests submitted and not yet resolved;
(b) RSS every 100,000 rows while streaming a table with execute_stream.
"""
import argparse
import asyncio
import gc
import os
import resource
import tracemalloc

import cqlpp

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


async def fill(s, ks, rows, per_partition=1000, batch=100):
    """`rows` rows into ks.big (k, c) -> v, by unlogged single-partition batches."""
    await s.execute("CREATE TABLE IF NOT EXISTS %s.big (k int, c int, v text, PRIMARY KEY (k, c))" % ks)
    ins = await s.prepare("INSERT INTO %s.big (k, c, v) VALUES (?, ?, ?)" % ks)
    sem = asyncio.Semaphore(64)

    async def one(start):
        b = cqlpp.BatchStatement(cqlpp.BatchType.UNLOGGED)
        for i in range(start, min(rows, start + batch)):
            b.add(ins, (i // per_partition, i % per_partition, "value-%08d" % i))
        async with sem:
            await s.execute(b)

    await asyncio.gather(*[one(i) for i in range(0, rows, batch)])


async def stream_rss(s, ks, rows, every=100_000, fetch_size=5000):
    """RSS (bytes) at the start and after every `every` rows streamed."""
    gc.collect()
    samples = [rss_bytes()]
    n = 0
    stream = await s.execute_stream("SELECT k, c, v FROM %s.big" % ks, fetch_size=fetch_size)
    async for _row in stream:
        n += 1
        if n % every == 0:
            samples.append(rss_bytes())
    assert n == rows, n
    return samples


async def _awaiting(aw):
    return await aw


async def in_flight_cost(s, ps, n):
    """(Python heap bytes, RSS bytes) per request with n requests in flight:
    measured after every task has submitted and before any is resolved (the
    loop has not yet run the bridge's reader callback). execute() of a prepared
    statement sends at once, so the loop iteration that runs the tasks starts
    with the flush: the I/O thread is sending the requests meanwhile, and the
    RSS figure includes the driver's state for those it has sent (before
    execute() returned the request itself, they were all still queued here)."""
    await asyncio.gather(*[s.execute(ps, [i]) for i in range(64)])  # warm: row class, allocator
    gc.collect()
    tracemalloc.start()
    rss0 = rss_bytes()
    h0 = tracemalloc.get_traced_memory()[0]
    # A task per request, as an application has (execute() of a prepared
    # statement is the request itself: ensure_future alone would make none).
    tasks = [asyncio.ensure_future(_awaiting(s.execute(ps, [i]))) for i in range(n)]
    await asyncio.sleep(0)  # every task runs to its await of the request's future
    h1 = tracemalloc.get_traced_memory()[0]
    rss1 = rss_bytes()
    tracemalloc.stop()
    await asyncio.gather(*tasks)
    return (h1 - h0) / n, (rss1 - rss0) / n


async def main(args):
    async with cqlpp.Cluster(["127.0.0.1"], port=args.port) as c:
        s = await c.connect()
        await s.execute("CREATE KEYSPACE IF NOT EXISTS memprobe WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        await s.execute("CREATE TABLE IF NOT EXISTS memprobe.kv (k int PRIMARY KEY, v blob)")
        ps = await s.prepare("SELECT v FROM memprobe.kv WHERE k = ?")
        heap, rss = await in_flight_cost(s, ps, args.in_flight)
        print("in flight: %d requests: %.0f bytes Python heap, %.0f bytes RSS per request" % (args.in_flight, heap, rss))
        await fill(s, "memprobe", args.rows)
        samples = await stream_rss(s, "memprobe", args.rows, every=100_000, fetch_size=args.fetch_size)
        print("streaming %d rows (fetch_size %d): RSS MiB %s; peak RSS %.1f MiB" % (
            args.rows, args.fetch_size, [round(x / 2**20, 1) for x in samples],
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--in-flight", type=int, default=10_000)
    ap.add_argument("--fetch-size", type=int, default=5000)
    asyncio.run(main(ap.parse_args()))

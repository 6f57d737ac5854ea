"""Memory: RSS stays flat while a large table is streamed (pages are dropped as
they are read; at most one is fetched ahead), and what a request in flight costs.

The figures behind these bounds (and the 1,000,000-row run) are in
python/PERFORMANCE.md; python/tests/memory_probe.py prints them."""
from test_core import connect, setup_ks
from memory_probe import fill, stream_rss, in_flight_cost

ROWS = 200_000


async def test_streaming_rss_is_flat(sim):
    c, s = await connect(sim)
    async with c:
        await setup_ks(s, "memks")
        await fill(s, "memks", ROWS)
        samples = await stream_rss(s, "memks", ROWS, every=20_000, fetch_size=2000)
        # After the first pages (allocator and the row class warm), RSS must not
        # grow with the rows read: a leak of one row object each (≥ 56 bytes)
        # would add > 9 MB over the last 180,000 rows.
        growth = max(samples[1:]) - samples[1]
        assert growth < 6 * 2**20, [round(x / 2**20, 1) for x in samples]


async def test_in_flight_request_cost(sim):
    c, s = await connect(sim)
    async with c:
        await setup_ks(s, "memks2")
        await s.execute("CREATE TABLE IF NOT EXISTS memks2.kv (k int PRIMARY KEY, v blob)")
        ps = await s.prepare("SELECT v FROM memks2.kv WHERE k = ?")
        heap, rss = await in_flight_cost(s, ps, 5000)
        # Each request in flight holds a task, its coroutine, a future and the
        # native job: a few kilobytes at most (a thread per request: megabytes).
        assert heap < 4096, heap
        assert rss < 16384, rss

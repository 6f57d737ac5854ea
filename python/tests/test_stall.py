"""The loop is never held for a whole large page: rows are converted in bounded
slices between which other callbacks (here a 1 ms ticker) run."""
import asyncio
import gc
import time
import uuid

import cqlpp

ROWS = 50000  # one page of them: converted in one loop callback, that took 100-200 ms


async def _max_tick_gap(work):
    """Runs `work` beside a 1 ms ticker: (the ticker's longest wait beyond its 1 ms, work's result)."""
    gaps, stop = [], []

    async def ticker():
        while not stop:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            gaps.append(time.perf_counter() - t - 0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    try:
        result = await work()
    finally:
        stop.append(True)
        await task
    return max(gaps), result


async def test_large_page_does_not_stall_the_loop(sim):
    async with cqlpp.Cluster(["127.0.0.1"], port=sim.port) as c:
        s = await c.connect()
        await s.execute("CREATE KEYSPACE IF NOT EXISTS pyks WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        await s.execute("CREATE TABLE IF NOT EXISTS pyks.big (k int, c int, t text, d double, u uuid, "
                        "PRIMARY KEY (k, c))")
        ins = await s.prepare("INSERT INTO pyks.big (k, c, t, d, u) VALUES (1, ?, ?, ?, ?)")
        for i in range(0, ROWS, 2000):
            await asyncio.gather(*(s.execute(ins, (j, "row%d" % j, j / 2, uuid.UUID(int=j)))
                                   for j in range(i, i + 2000)))
        query = "SELECT c, t, d, u FROM pyks.big WHERE k = 1"

        def check(rows, get):
            assert len(rows) == ROWS
            for j in (0, 1, 31, 32, ROWS // 2, ROWS - 1):  # across conversion slices
                assert get(rows[j]) == (j, "row%d" % j, j / 2, uuid.UUID(int=j))

        async def stream_named_tuples():
            stream = await s.execute_stream(query, fetch_size=ROWS)
            check([r async for r in stream], tuple)
            assert stream.pages_fetched == 1

        async def execute_dicts():
            rs = await s.execute(query, page_size=ROWS, row_factory=cqlpp.dict_factory)
            check(rs.current_rows, lambda r: (r["c"], r["t"], r["d"], r["u"]))

        async def user_factory():
            rs = await s.execute(query, page_size=ROWS, row_factory=lambda names, rows: [names] + rows)
            assert rs.current_rows[0] == ("c", "t", "d", "u")
            check(rs.current_rows[1:], tuple)

        # The interpreter's own full collections over the test session's heap are
        # not the driver's doing: keep them out of the figure.
        gc.collect()
        gc.freeze()
        try:
            for work in (stream_named_tuples, execute_dicts, user_factory):
                gap, _ = await _max_tick_gap(work)
                assert gap < 0.050, "%s held the loop for %.1f ms" % (work.__name__, gap * 1000)
        finally:
            gc.unfreeze()

"""The loop is never held for a whole large page: rows are converted in bounded
slices between which other callbacks (here a 1 ms ticker) run."""
import asyncio
import gc
import time
import uuid

import pytest

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


async def _fill_big(s):
    """pyks.big: ROWS rows in partition 1 (made once per sim)."""
    await s.execute("CREATE KEYSPACE IF NOT EXISTS pyks WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    await s.execute("CREATE TABLE IF NOT EXISTS pyks.big (k int, c int, t text, d double, u uuid, "
                    "PRIMARY KEY (k, c))")
    if (await s.execute("SELECT c FROM pyks.big WHERE k = 1 AND c = %d" % (ROWS - 1))).one():
        return
    ins = await s.prepare("INSERT INTO pyks.big (k, c, t, d, u) VALUES (1, ?, ?, ?, ?)")
    for i in range(0, ROWS, 2000):
        await asyncio.gather(*(s.execute(ins, (j, "row%d" % j, j / 2, uuid.UUID(int=j)))
                               for j in range(i, i + 2000)))


async def test_large_page_does_not_stall_the_loop(sim):
    async with cqlpp.Cluster(["127.0.0.1"], port=sim.port) as c:
        s = await c.connect()
        await _fill_big(s)
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


async def test_converting_a_page_does_not_drive_the_collector(sim, monkeypatch):
    # Each young collection moves what is in flight a generation up, and enough
    # of those bring a full collection of the heap (milliseconds on the loop).
    # Rows of plain values cannot form cycles: a page's conversion lets the
    # collector run once after each slice, not once per 700 rows (and a row
    # here is two allocations, the row and its UUID).
    monkeypatch.setattr(cqlpp, "_SLICE", 10.0)  # one slice for the whole page (a stream's, in Python)
    old_slice = cqlpp._cqlpp._set_convert_slice(10.0)  # and execute()'s, which the drain converts
    try:
        await _converting_a_page(sim)
    finally:
        cqlpp._cqlpp._set_convert_slice(old_slice)


async def _converting_a_page(sim):
    async with cqlpp.Cluster(["127.0.0.1"], port=sim.port) as c:
        s = await c.connect()
        await _fill_big(s)
        young = []

        def on_gc(phase, info):
            if phase == "start":
                young.append(info["generation"])

        gc.collect()
        gc.callbacks.append(on_gc)
        try:
            rs = await s.execute("SELECT c, t, d, u FROM pyks.big WHERE k = 1", page_size=ROWS)
        finally:
            gc.callbacks.remove(on_gc)
        assert len(rs.current_rows) == ROWS and rs.current_rows[ROWS - 1].u == uuid.UUID(int=ROWS - 1)
        assert len(young) <= 4, "%d collections while converting %d rows" % (len(young), ROWS)


async def test_a_pending_request_is_not_tracked_by_the_collector(sim):
    # Its job holds it (invisible to the collector): tracked, every young
    # collection would promote the requests in flight towards a full one.
    async with cqlpp.Cluster(["127.0.0.1"], port=sim.port) as c:
        s = await c.connect()
        bridge = cqlpp._bridge_for(asyncio.get_running_loop())
        req = s._engine.execute_simple(s._native, bridge, "SELECT key FROM system.local", None, None)
        assert not gc.is_tracked(req)
        rows = (await req)[0]
        assert rows[0].key == "local"
        assert gc.is_tracked(req)  # done, held by us only: collectable as any object


async def test_the_awaiting_tasks_wakeup_is_not_tracked_while_pending(sim):
    # The Task's wake-up (a fresh object per await) is held by the pending
    # request only: untracked too, until the request is resolved.
    async with cqlpp.Cluster(["127.0.0.1"], port=sim.port) as c:
        s = await c.connect()
        ps = await s.prepare("SELECT key FROM system.local WHERE key = ?")
        await s.execute("UPDATE sim.nodes SET latency_ms = 100 WHERE node = 0")
        try:
            req = s.execute(ps, ["local"])
            task = asyncio.create_task(_await(req))
            await asyncio.sleep(0.02)
            wakeups = [o for o in gc.get_referents(req) if type(o).__name__ == "builtin_function_or_method"]
            assert not gc.is_tracked(req) and wakeups and not gc.is_tracked(wakeups[0])  # neither is collected
            del wakeups
            rs = await task
            assert rs.one().key == "local"
            # a callback someone else holds stays tracked
            req2 = s.execute(ps, ["local"])
            cb = lambda r: None  # noqa: E731
            req2.add_done_callback(cb)
            assert gc.is_tracked(cb)
            await req2
            # a cancelled request hands its callbacks back tracked
            req3 = s.execute(ps, ["local"])
            task3 = asyncio.create_task(_await(req3))
            await asyncio.sleep(0.02)
            task3.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task3
            gc.collect()
        finally:
            await s.execute("UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0")


async def _await(aw):
    return await aw

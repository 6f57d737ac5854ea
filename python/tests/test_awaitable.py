"""The native awaitable (_cqlpp.Request) that each request returns in place of an
asyncio.Future: the Future protocol asyncio relies on, and what the drain does
when it resumes the awaiting tasks itself."""
import asyncio
import contextvars

import pytest

import cqlpp
from cqlpp import _cqlpp
from test_core import connect

QUERY = "SELECT key FROM system.local"


def _request(s, query=QUERY, opts=None):
    """A raw request of the running loop (as Session.execute makes them)."""
    bridge = cqlpp._bridge_for(asyncio.get_running_loop())
    return s._engine.execute_simple(s._native, bridge, query, opts, None)


async def test_request_is_a_future_to_asyncio(sim):
    c, s = await connect(sim)
    async with c:
        req = _request(s)
        assert type(req) is _cqlpp.Request and not isinstance(req, asyncio.Future)
        assert asyncio.isfuture(req) and req.get_loop() is asyncio.get_running_loop()
        assert not req.done()
        with pytest.raises(asyncio.InvalidStateError):
            req.result()
        seen = []
        req.add_done_callback(seen.append)
        removed = []
        req.add_done_callback(removed.append)
        assert req.remove_done_callback(removed.append) == 1
        rows, paging_state, names, coordinator, warnings = await asyncio.wait_for(req, 5)
        assert rows[0].key == "local" and names == ("key",)
        assert req.done() and not req.cancelled() and req.exception() is None
        assert req.result()[0] is rows
        await asyncio.sleep(0)
        assert seen == [req] and removed == []
        # a callback added once done runs on the loop, soon, as a Future's does
        late = []
        req.add_done_callback(late.append)
        assert late == []
        await asyncio.sleep(0)
        assert late == [req]
        # gather takes it as it takes a Future
        (rows2, *_), = await asyncio.gather(_request(s))
        assert rows2[0].key == "local"


async def test_request_failure_and_cancel(sim):
    c, s = await connect(sim)
    async with c:
        req = _request(s, "SELEC 1")
        with pytest.raises(cqlpp.SyntaxException):
            await req
        assert isinstance(req.exception(), cqlpp.SyntaxException)
        with pytest.raises(cqlpp.SyntaxException):
            req.result()

        await s.execute("UPDATE sim.nodes SET latency_ms = 300 WHERE node = 0")
        try:
            req = _request(s)
            called = []
            req.add_done_callback(called.append)
            assert req.cancel("enough") and not req.cancel()
            assert req.cancelled() and req.done()
            with pytest.raises(asyncio.CancelledError, match="enough"):
                req.result()
            assert called == []  # scheduled, not called from inside cancel()
            await asyncio.sleep(0)
            assert called == [req]
            await asyncio.sleep(0.05)
            assert s.metrics()["hosts"][0]["in_flight"] == 0  # the native request is cancelled too
            # wait_for's timeout cancels the awaited request
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(_request(s), 0.05)
            await asyncio.sleep(0.05)
            assert s.metrics()["hosts"][0]["in_flight"] == 0
        finally:
            await s.execute("UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0")


async def test_resumed_task_runs_in_its_own_context(sim):
    # The drain resumes the awaiting task itself: it must do so inside the
    # task's context, as the loop would, or context variables leak across tasks.
    var = contextvars.ContextVar("var", default="unset")
    c, s = await connect(sim)
    async with c:
        async def one(i):
            var.set(i)
            for _ in range(5):
                await s.execute(QUERY)
                assert var.get() == i
            return i

        assert await asyncio.gather(*(one(i) for i in range(64))) == list(range(64))
        assert var.get() == "unset"


async def test_error_in_a_done_callback_goes_to_the_loop_handler(sim):
    c, s = await connect(sim)
    async with c:
        loop = asyncio.get_running_loop()
        reported = []
        loop.set_exception_handler(lambda lp, ctx: reported.append(ctx))
        try:
            req = _request(s)

            def boom(_):
                raise ValueError("from a callback")

            req.add_done_callback(boom)
            await req
            await asyncio.sleep(0)
            assert len(reported) == 1 and isinstance(reported[0]["exception"], ValueError)
            assert (await s.execute(QUERY)).one().key == "local"  # the loop goes on
        finally:
            loop.set_exception_handler(None)


def test_keyboard_interrupt_in_a_resumed_task_propagates(sim):
    # A task that raises KeyboardInterrupt stops run_until_complete, as it does
    # when the loop resumes it; requests finished meanwhile are still delivered.
    cluster = cqlpp.Cluster(["127.0.0.1"], port=sim.port)
    loop = asyncio.new_event_loop()
    try:
        s = loop.run_until_complete(cluster.connect())

        async def interrupted():
            await s.execute(QUERY)
            raise KeyboardInterrupt

        others = [loop.create_task(s.execute(QUERY)) for _ in range(40)]
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(interrupted())
        done = loop.run_until_complete(asyncio.wait_for(asyncio.gather(*others), 5))
        assert all(rs.one().key == "local" for rs in done)
        loop.run_until_complete(cluster.shutdown())
    finally:
        loop.close()


async def test_execute_of_a_prepared_statement_is_the_request(sim):
    # The hot path: no coroutine of its own, the request itself, which asyncio
    # takes as a coroutine (create_task) and as a Future (gather, wait_for).
    c, s = await connect(sim)
    async with c:
        ps = await s.prepare("SELECT key FROM system.local WHERE key = ?")
        aw = s.execute(ps, ["local"])
        assert type(aw) is _cqlpp.Request and asyncio.iscoroutine(aw) and asyncio.isfuture(aw)
        rs = await aw
        assert isinstance(rs, cqlpp.ResultSet) and rs.one().key == "local" and rs.column_names == ("key",)
        assert (await s.execute(ps.bind(["local"]))).one().key == "local"
        assert (await asyncio.create_task(s.execute(ps, ["local"]))).one().key == "local"
        both = await asyncio.gather(s.execute(ps, ["local"]), s.execute(ps, ["local"]))
        assert [rs.one().key for rs in both] == ["local", "local"]
        assert (await asyncio.wait_for(s.execute(ps, ["local"]), 5)).one().key == "local"
        # options, or anything else, take the coroutine
        rs = await s.execute(ps, ["local"], timeout=5)
        assert rs.one().key == "local" and rs._opts["timeout"] == 5
        # an error is raised where it is awaited, not where execute is called
        aw = s.execute(ps, ["local", "extra"])
        with pytest.raises(ValueError, match="bind markers"):
            await aw
        # a closed session: likewise
        s2 = await c.connect()
        await s2.close()
        aw = s2.execute(ps, ["local"])
        with pytest.raises(cqlpp.SessionClosed):
            await aw


async def test_execute_task_cancelled_cancels_the_request(sim):
    c, s = await connect(sim)
    async with c:
        ps = await s.prepare("SELECT key FROM system.local WHERE key = ?")
        await s.execute("UPDATE sim.nodes SET latency_ms = 300 WHERE node = 0")
        try:
            task = asyncio.create_task(s.execute(ps, ["local"]))
            await asyncio.sleep(0.05)
            assert s.metrics()["hosts"][0]["in_flight"] == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            assert s.metrics()["hosts"][0]["in_flight"] == 0
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(s.execute(ps, ["local"]), 0.05)
            await asyncio.sleep(0.05)
            assert s.metrics()["hosts"][0]["in_flight"] == 0
            # closing the awaitable unawaited cancels it too
            aw = s.execute(ps, ["local"])
            aw.close()
            assert aw.cancelled()
            await asyncio.sleep(0.05)
            assert s.metrics()["hosts"][0]["in_flight"] == 0
        finally:
            await s.execute("UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0")

import asyncio
import datetime
import decimal
import ipaddress
import ssl
import threading
import uuid

import pytest

import cqlpp
from cqlpp import Duration


async def connect(sim, **kw):
    c = cqlpp.Cluster(["127.0.0.1"], port=sim.port, **kw)
    return c, await c.connect()


async def setup_ks(s, ks="pyks"):
    await s.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks)


async def test_connect_and_execute(sim):
    async with cqlpp.Cluster(["127.0.0.1"], port=sim.port) as c:
        s = await c.connect()
        rs = await s.execute("SELECT release_version FROM system.local")
        assert rs.one().release_version
        assert s.protocol_version == 5


async def test_protocol_v4_and_compression(sim):
    async with cqlpp.Cluster(["127.0.0.1"], port=sim.port, protocol_version=4, compression=True) as c:
        s = await c.connect()
        assert s.protocol_version == 4
        assert (await s.execute("SELECT key FROM system.local")).one().key == "local"


async def test_auth(auth_sim):
    async with cqlpp.Cluster(["127.0.0.1"], port=auth_sim.port, auth=("alice", "secret")) as c:
        s = await c.connect()
        assert (await s.execute("SELECT key FROM system.local")).one()
    async with cqlpp.Cluster(["127.0.0.1"], port=auth_sim.port,
                             auth_provider=cqlpp.PlainTextAuthProvider("alice", "wrong")) as c:
        with pytest.raises(cqlpp.DriverException) as e:
            await c.connect()
        assert "auth" in str(e.value).lower() or "credential" in str(e.value).lower()


async def test_tls(tls_sim):
    ctx = ssl.create_default_context(cafile=tls_sim.cert)
    async with cqlpp.Cluster(["127.0.0.1"], port=tls_sim.port, ssl_context=ctx) as c:
        s = await c.connect()
        assert (await s.execute("SELECT key FROM system.local")).one().key == "local"
    # an untrusted server is refused
    async with cqlpp.Cluster(["127.0.0.1"], port=tls_sim.port, ssl_options={"ca_certs": "/etc/ssl/certs/ca-certificates.crt"},
                             connect_timeout=3) as c:
        with pytest.raises(cqlpp.DriverException):
            await c.connect()


ALL_TYPES = [
    ("a", "ascii", "abc"),
    ("bi", "bigint", -2**63),
    ("bl", "blob", b"\x00\xffxyz"),
    ("bo", "boolean", True),
    ("de", "decimal", decimal.Decimal("-123456789012345678901234567890.000123")),
    ("db", "double", 1.5e300),
    ("fl", "float", 0.25),
    ("i", "int", -2**31),
    ("ts", "timestamp", datetime.datetime(1969, 7, 20, 20, 17, 40, 123000)),
    ("u", "uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("tx", "text", "héllo ✓"),
    ("vi", "varint", 2**100 + 7),
    ("tu", "timeuuid", uuid.uuid1()),
    ("i4", "inet", ipaddress.ip_address("192.168.1.7")),
    ("i6", "inet", ipaddress.ip_address("2001:db8::ff00:42:8329")),
    ("da", "date", datetime.date(2024, 2, 29)),
    ("ti", "time", datetime.time(23, 59, 58, 999999)),
    ("si", "smallint", -32768),
    ("tn", "tinyint", 127),
    ("du", "duration", Duration(1, 2, 3_000_000_001)),
    ("li", "list<int>", [3, 1, 2]),
    ("se", "set<text>", {"x", "y"}),
    ("ma", "map<text, bigint>", {"a": 1, "b": -2}),
    ("tp", "tuple<int, text, boolean>", (1, None, False)),
    ("ve", "vector<float, 3>", [1.0, -2.5, 0.125]),
    ("vt", "vector<text, 2>", ["a", "bc"]),
    ("nl", "frozen<list<frozen<map<int, text>>>>", [{1: "a"}, {2: "b"}]),
]


async def test_every_type_round_trip(sim):
    c, s = await connect(sim)
    async with c:
        await setup_ks(s)
        cols = ", ".join("%s %s" % (n, t) for n, t, _ in ALL_TYPES)
        await s.execute("CREATE TABLE IF NOT EXISTS pyks.types (k int PRIMARY KEY, %s)" % cols)
        await s.execute("CREATE TYPE IF NOT EXISTS pyks.addr (street text, zip int)")
        await s.execute("CREATE TABLE IF NOT EXISTS pyks.udts (k int PRIMARY KEY, a frozen<addr>)")
        names = [n for n, _, _ in ALL_TYPES]
        q = "INSERT INTO pyks.types (k, %s) VALUES (?, %s)" % (", ".join(names), ", ".join("?" * len(names)))
        await s.execute(q, [1] + [v for _, _, v in ALL_TYPES])
        row = (await s.execute("SELECT * FROM pyks.types WHERE k = ?", [1])).one()
        for n, t, v in ALL_TYPES:
            assert getattr(row, n) == v, (n, t, getattr(row, n), v)
        assert isinstance(row.se, set) and isinstance(row.tp, tuple)
        # nulls and named parameters
        await s.execute("INSERT INTO pyks.types (k, i, tx) VALUES (:k, :i, :tx)", {"k": 2, "i": None, "tx": "t"})
        row = (await s.execute("SELECT i, tx, bi FROM pyks.types WHERE k = %s", (2,))).one()
        assert row.i is None and row.tx == "t" and row.bi is None
        # UDTs: bound from a dict or an object with attributes, read as named tuples
        await s.execute("INSERT INTO pyks.udts (k, a) VALUES (?, ?)", [1, {"street": "Main", "zip": 42}])
        a = (await s.execute("SELECT a FROM pyks.udts WHERE k = 1")).one().a
        assert (a.street, a.zip) == ("Main", 42)
        # aware datetimes are converted to UTC
        tz = datetime.timezone(datetime.timedelta(hours=2))
        await s.execute("INSERT INTO pyks.types (k, ts) VALUES (?, ?)", [3, datetime.datetime(2020, 1, 1, 2, 0, tzinfo=tz)])
        assert (await s.execute("SELECT ts FROM pyks.types WHERE k = 3")).one().ts == datetime.datetime(2020, 1, 1)


async def test_bind_errors(sim):
    c, s = await connect(sim)
    async with c:
        await setup_ks(s)
        await s.execute("CREATE TABLE IF NOT EXISTS pyks.kv (k int PRIMARY KEY, v text)")
        ps = await s.prepare("INSERT INTO pyks.kv (k, v) VALUES (?, ?)")
        with pytest.raises(TypeError, match='"v"'):
            await s.execute(ps, [1, 2])
        with pytest.raises(OverflowError):
            await s.execute(ps, [2**40, "x"])
        with pytest.raises(ValueError, match="2 bind markers"):
            await s.execute(ps, [1])


async def test_row_factories_and_batch(sim):
    c, s = await connect(sim)
    async with c:
        await setup_ks(s)
        await s.execute("CREATE TABLE IF NOT EXISTS pyks.b (k int, c int, v text, PRIMARY KEY (k, c))")
        ps = await s.prepare("INSERT INTO pyks.b (k, c, v) VALUES (?, ?, ?)")
        b = cqlpp.BatchStatement(cqlpp.BatchType.UNLOGGED)
        for i in range(10):
            b.add(ps, (1, i, "v%d" % i))
        b.add("INSERT INTO pyks.b (k, c, v) VALUES (1, 100, 'lit')")
        await s.execute(b)
        rs = await s.execute("SELECT c, v FROM pyks.b WHERE k = 1", row_factory=cqlpp.dict_factory)
        assert len(rs) == 11 and rs[0] == {"c": 0, "v": "v0"}
        rs = await s.execute("SELECT c, v FROM pyks.b WHERE k = 1", row_factory=cqlpp.tuple_factory)
        assert type(rs[0]) is tuple
        rs = await s.execute("SELECT c, v FROM pyks.b WHERE k = 1",
                             row_factory=lambda names, rows: [dict(zip(names, r)) for r in rows][:2])
        assert rs.current_rows == [{"c": 0, "v": "v0"}, {"c": 1, "v": "v1"}]


async def test_paging_stream_and_resume(sim):
    c, s = await connect(sim)
    async with c:
        await setup_ks(s)
        await s.execute("CREATE TABLE IF NOT EXISTS pyks.p (k int, c int, PRIMARY KEY (k, c))")
        ps = await s.prepare("INSERT INTO pyks.p (k, c) VALUES (?, ?)")
        await asyncio.gather(*[s.execute(ps, [7, i]) for i in range(1050)])
        stream = await s.execute_stream("SELECT c FROM pyks.p WHERE k = 7", fetch_size=100)
        seen = [r.c async for r in stream]
        assert seen == list(range(1050))
        assert stream.pages_fetched == 11
        # page by page
        stream = await s.execute_stream("SELECT c FROM pyks.p WHERE k = ?", [7], fetch_size=500)
        sizes = [len(p) async for p in stream.pages()]
        assert sizes == [500, 500, 50]
        # execute(): one page, then resume from its paging state
        rs = await s.execute("SELECT c FROM pyks.p WHERE k = 7", page_size=300)
        assert len(rs) == 300 and rs.has_more_pages
        rs2 = await s.execute("SELECT c FROM pyks.p WHERE k = 7", page_size=300, paging_state=rs.paging_state)
        assert rs2[0].c == 300
        pages = [len(p) async for p in rs.pages()]
        assert pages == [300, 300, 300, 150]
        rows = [r.c async for r in rs]
        assert len(rows) == 1050


async def test_errors_carry_server_fields(sim):
    c, s = await connect(sim)
    async with c:
        await setup_ks(s)
        with pytest.raises(cqlpp.SyntaxException):
            await s.execute("SELEC 1")
        with pytest.raises(cqlpp.InvalidRequest):
            await s.execute("SELECT * FROM pyks.nope")
        with pytest.raises(cqlpp.AlreadyExists) as e:
            await s.execute("CREATE KEYSPACE pyks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        assert e.value.keyspace == "pyks"
        await s.execute("UPDATE sim.nodes SET fail_next = 1, fail_error = 'UNAVAILABLE' WHERE node = 0")
        with pytest.raises(cqlpp.Unavailable) as e:
            await s.execute("SELECT key FROM system.local")
        assert e.value.required_replicas >= 1 and e.value.consistency
        await s.execute("UPDATE sim.nodes SET fail_next = 1, fail_error = 'READ_TIMEOUT' WHERE node = 0")
        with pytest.raises(cqlpp.ReadTimeout) as e:
            await s.execute("SELECT key FROM system.local")
        assert hasattr(e.value, "received_responses")
        await s.execute("UPDATE sim.nodes SET fail_next = 1, fail_error = 'WRITE_TIMEOUT' WHERE node = 0")
        with pytest.raises(cqlpp.WriteTimeout) as e:
            await s.execute("CREATE TABLE IF NOT EXISTS pyks.kv (k int PRIMARY KEY, v text)")
        assert e.value.write_type


async def test_timeout_and_cancellation(sim):
    c, s = await connect(sim)
    async with c:
        await s.execute("UPDATE sim.nodes SET latency_ms = 500 WHERE node = 0")
        try:
            with pytest.raises(cqlpp.OperationTimedOut):
                await s.execute("SELECT key FROM system.local", timeout=0.1)
            task = asyncio.ensure_future(s.execute("SELECT key FROM system.local"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            m = s.metrics()
            assert m["hosts"][0]["in_flight"] == 0  # the cancelled request no longer waits
        finally:
            await s.execute("UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0")
        assert (await s.execute("SELECT key FROM system.local")).one().key == "local"


def _run_in_loop(sim, results, use_uvloop=False):
    async def work():
        async with cqlpp.Cluster(["127.0.0.1"], port=sim.port) as c:
            s = await c.connect()
            rs = await asyncio.gather(*[s.execute("SELECT key FROM system.local") for _ in range(200)])
            return sum(1 for r in rs if r.one().key == "local")
    if use_uvloop:
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        results.append(loop.run_until_complete(work()))
    finally:
        loop.close()


def test_several_loops_in_threads(sim):
    results = []
    threads = [threading.Thread(target=_run_in_loop, args=(sim, results)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [200] * 4


def test_uvloop(sim):
    results = []
    _run_in_loop(sim, results, use_uvloop=True)
    assert results == [200]


def test_shared_session_across_loops(sim):
    """One cluster, sessions used from two loops in turn."""
    cluster = cqlpp.Cluster(["127.0.0.1"], port=sim.port)
    loop1 = asyncio.new_event_loop()
    s = loop1.run_until_complete(cluster.connect())
    loop2 = asyncio.new_event_loop()
    try:
        r = loop2.run_until_complete(s.execute("SELECT key FROM system.local"))
        assert r.one().key == "local"
        loop1.run_until_complete(cluster.shutdown())
    finally:
        loop1.close()
        loop2.close()


def test_close_loop_with_requests_in_flight(sim):
    cluster = cqlpp.Cluster(["127.0.0.1"], port=sim.port)
    loop = asyncio.new_event_loop()
    s = loop.run_until_complete(cluster.connect())
    loop.run_until_complete(s.execute("UPDATE sim.nodes SET latency_ms = 200 WHERE node = 0"))
    for _ in range(50):
        loop.create_task(s.execute("SELECT key FROM system.local"))
    loop.run_until_complete(asyncio.sleep(0.02))
    for t in asyncio.all_tasks(loop):
        t.cancel()
    loop.close()  # requests still in flight
    loop2 = asyncio.new_event_loop()
    try:
        loop2.run_until_complete(s.execute("UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0"))
        assert loop2.run_until_complete(s.execute("SELECT key FROM system.local")).one().key == "local"
        loop2.run_until_complete(cluster.shutdown())
    finally:
        loop2.close()


async def test_metrics_and_metadata(sim3):
    c, s = await connect(sim3)
    async with c:
        await setup_ks(s, "mks")
        await s.execute("CREATE TABLE IF NOT EXISTS mks.t (k int, c int, v text, PRIMARY KEY (k, c))")
        for _ in range(3):
            await s.execute("SELECT key FROM system.local")
        m = s.metrics()
        assert m["requests"] >= 3 and m["latency"]["count"] >= 3
        assert len(m["hosts"]) == 3
        await asyncio.sleep(0.5)  # schema refresh after the event
        md = s.metadata
        assert len(md.hosts) == 3 and {h["address"] for h in md.hosts} == {"127.0.0.1", "127.0.0.2", "127.0.0.3"}
        assert len(md.token_ring) == 3 * 16
        t = md.table("mks", "t")
        assert t["partition_key"] == ["k"] and t["clustering_key"] == ["c"]
        reps = md.get_replicas("mks", cqlpp.token_of(b"\x00\x00\x00\x01"))
        assert len(reps) == 1


async def test_bulk_operations(sim3, tmp_path):
    c, s = await connect(sim3)
    async with c:
        await setup_ks(s, "bks")
        await s.execute("CREATE TABLE IF NOT EXISTS bks.t (k int PRIMARY KEY, v text)")
        ps = await s.prepare("INSERT INTO bks.t (k, v) VALUES (?, ?)")
        await asyncio.gather(*[s.execute(ps, [i, "v%d" % i]) for i in range(2000)])
        progress = []
        r = await s.count("bks", "t", progress=progress.append, progress_interval=0.01)
        assert r["rows"] == 2000
        assert progress and progress[-1]["final"]
        ck = await s.checksum("bks", "t")
        out = tmp_path / "out"
        u = await s.unload("bks", "t", out)
        assert u["rows"] == 2000 and u["checksum"] == ck["checksum"]
        await s.execute("CREATE TABLE IF NOT EXISTS bks.t2 (k int PRIMARY KEY, v text)")
        ld = await s.load("bks", "t2", out, run_dir=tmp_path / "run")
        assert ld["rows"] == 2000
        assert (await s.checksum("bks", "t2"))["checksum"] == ck["checksum"]


async def test_compat_names(sim):
    from cqlpp.compat import AsyncCluster, StreamConfig
    async with AsyncCluster(["127.0.0.1"], port=sim.port) as cluster:
        session = await cluster.connect()
        rs = await session.execute("SELECT key FROM system.local")
        assert rs.one().key == "local"
        stream = await session.execute_stream("SELECT key FROM system.local", stream_config=StreamConfig(fetch_size=10))
        assert [r.key async for r in stream] == ["local"]


async def test_requests_queued_in_one_iteration_start_before_close(sim):
    # Requests of one loop iteration are handed to the I/O thread together by a
    # flush the loop runs next; a close made in the same iteration must not
    # overtake them (they complete, as requests in flight do).
    c, s = await connect(sim)
    async with c:
        tasks = [asyncio.ensure_future(s.execute("SELECT release_version FROM system.local")) for _ in range(8)]
        await asyncio.sleep(0)  # every task has queued its request; the flush has not run yet
        await s.close()
        for rs in await asyncio.wait_for(asyncio.gather(*tasks), 5):
            assert rs.one() is not None


async def test_request_queued_when_the_engine_stops_fails(sim):
    c, s = await connect(sim)
    task = asyncio.ensure_future(s.execute("SELECT release_version FROM system.local"))
    await asyncio.sleep(0)  # queued, not yet flushed
    c._engine.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        await asyncio.wait_for(task, 5)
    c._engine = None
    c._sessions.clear()

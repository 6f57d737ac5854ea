"""cqlpp: an asyncio driver for Apache Cassandra on the cqlpp native core.

    async with Cluster(["127.0.0.1"]) as cluster:
        session = await cluster.connect("ks")
        ps = await session.prepare("SELECT * FROM t WHERE k = ?")
        rs = await session.execute(ps, [42])
        async for row in await session.execute_stream("SELECT * FROM t", fetch_size=1000):
            ...
"""
import asyncio
import collections
import decimal
import functools
import ipaddress
import re
import time
import uuid

from . import _cqlpp
from .errors import *  # noqa: F401,F403
from .errors import _make_error, DriverException

__all__ = ["Cluster", "Session", "PreparedStatement", "BoundStatement", "SimpleStatement", "BatchStatement",
           "BatchType", "ConsistencyLevel", "Duration", "PlainTextAuthProvider", "ResultSet", "AsyncResultStream",
           "dict_factory", "tuple_factory", "named_tuple_factory", "UNSET_VALUE", "token_of"]


class Duration(collections.namedtuple("Duration", "months days nanoseconds")):
    """CQL duration (as cassandra.util.Duration)."""
    __slots__ = ()

    def __new__(cls, months=0, days=0, nanoseconds=0):
        return super().__new__(cls, months, days, nanoseconds)


class _Unset:
    __slots__ = ()

    def __repr__(self):
        return "UNSET_VALUE"


UNSET_VALUE = _Unset()


def named_tuple_factory(colnames, rows):
    """Rows as named tuples (the default; applied natively)."""
    return rows


def dict_factory(colnames, rows):
    """Rows as dicts (applied natively)."""
    return rows


def tuple_factory(colnames, rows):
    """Rows as plain tuples (applied natively)."""
    return rows


@functools.lru_cache(maxsize=1024)
def _row_class(names):
    try:
        return collections.namedtuple("Row", names)
    except ValueError:  # names that are not identifiers
        return collections.namedtuple("Row", names, rename=True)


@functools.lru_cache(maxsize=1024)
def _udt_class(keyspace, name, fields):
    cls = collections.namedtuple(re.sub(r"\W", "_", name) or "UDT", fields, rename=True)
    return cls


_cqlpp._setup({
    "uuid": uuid.UUID, "decimal": decimal.Decimal, "ip_address": ipaddress.ip_address, "duration": Duration,
    "udt_class": _udt_class, "unset": UNSET_VALUE, "make_error": _make_error, "row_class": _row_class,
    "dict_factory": dict_factory, "tuple_factory": tuple_factory, "named_tuple_factory": named_tuple_factory,
})

token_of = _cqlpp.token_of


class ConsistencyLevel:
    ANY = 0x0000
    ONE = 0x0001
    TWO = 0x0002
    THREE = 0x0003
    QUORUM = 0x0004
    ALL = 0x0005
    LOCAL_QUORUM = 0x0006
    EACH_QUORUM = 0x0007
    SERIAL = 0x0008
    LOCAL_SERIAL = 0x0009
    LOCAL_ONE = 0x000A


def _cl(v):
    if v is None or isinstance(v, int):
        return v
    return getattr(ConsistencyLevel, str(v).upper())


class BatchType:
    LOGGED = 0
    UNLOGGED = 1
    COUNTER = 2


class PlainTextAuthProvider:
    def __init__(self, username, password):
        self.username = username
        self.password = password


# ---- loop integration ----------------------------------------------------------------
# One Bridge (eventfd + completion stack) per asyncio loop.
_bridges = {}


def _bridge_for(loop):
    b = _bridges.get(loop)
    if b is not None:
        return b
    for other in [l for l in _bridges if l.is_closed()]:  # loops closed since: drop their queues
        _bridges.pop(other).close()
    b = _cqlpp.Bridge()
    b.set_loop(loop, b.flush)  # requests of one loop iteration start together
    try:
        loop.add_reader(b.fileno(), b.drain)
    except NotImplementedError:  # no add_reader: one call_soon_threadsafe per batch
        b.set_wake(lambda: loop.call_soon_threadsafe(b.drain))
    _bridges[loop] = b
    return b


_PendingRows = _cqlpp.PendingRows
_execute_bound = _cqlpp._execute_bound
_execute_simple = _cqlpp._execute_simple
_get_running_loop = asyncio.get_running_loop
_SLICE = 0.0005  # seconds of row conversion (or row iteration) per loop callback
_clock = time.perf_counter


async def _rows(rows):
    """A page's rows as a list. The drain that resolved the request converts a
    small page whole; a large one arrives as PendingRows and is converted here a
    slice at a time, yielding to the loop in between so that it never stalls."""
    if type(rows) is not _PendingRows:
        return rows
    while True:
        out = rows.convert(_SLICE)
        if out is not None:
            return out
        await asyncio.sleep(0)


# ---- statements -------------------------------------------------------------------------

class SimpleStatement:
    def __init__(self, query_string, consistency_level=None, fetch_size=None, serial_consistency_level=None,
                 timeout=None, is_idempotent=None):
        self.query_string = query_string
        self.consistency_level = consistency_level
        self.serial_consistency_level = serial_consistency_level
        self.fetch_size = fetch_size
        self.timeout = timeout
        self.is_idempotent = is_idempotent


class PreparedStatement:
    timeout = None  # (as BoundStatement) read by Session.execute like SimpleStatement's

    def __init__(self, native, session):
        self._native = native
        self._session = session
        self.query_string = native.query
        self.keyspace = native.keyspace
        self.consistency_level = None
        self.serial_consistency_level = None
        self.fetch_size = None
        self.is_idempotent = None

    @property
    def column_metadata(self):
        return list(zip(self._native.marker_names, self._native.marker_types))

    @property
    def result_columns(self):
        return self._native.result_columns

    def bind(self, values=None):
        return BoundStatement(self, values)


class BoundStatement:
    timeout = None

    def __init__(self, prepared_statement, values=None):
        self.prepared_statement = prepared_statement
        self.values = values
        self.consistency_level = prepared_statement.consistency_level
        self.serial_consistency_level = prepared_statement.serial_consistency_level
        self.fetch_size = prepared_statement.fetch_size
        self.is_idempotent = prepared_statement.is_idempotent

    def bind(self, values):
        self.values = values
        return self


class BatchStatement:
    def __init__(self, batch_type=BatchType.LOGGED, consistency_level=None, serial_consistency_level=None):
        self.batch_type = batch_type
        self.consistency_level = consistency_level
        self.serial_consistency_level = serial_consistency_level
        self._entries = []

    def add(self, statement, parameters=None):
        self._entries.append((statement, parameters))
        return self

    def add_all(self, statements, parameters):
        for s, p in zip(statements, parameters):
            self.add(s, p)
        return self

    def clear(self):
        self._entries.clear()

    def __len__(self):
        return len(self._entries)


_PCT = re.compile(r"%\((\w+)\)s|%s")


def _to_markers(query):
    """DataStax-style %s / %(name)s placeholders become ? / :name (outside quotes)."""
    if "%" not in query:
        return query
    out, i, quote = [], 0, None
    while i < len(query):
        c = query[i]
        if quote:
            out.append(c)
            if c == quote:
                quote = None
            i += 1
            continue
        if c in "'\"":
            quote = c
            out.append(c)
            i += 1
            continue
        m = _PCT.match(query, i)
        if m:
            out.append(":" + m.group(1) if m.group(1) else "?")
            i = m.end()
            continue
        out.append(c)
        i += 1
    return "".join(out)


# ---- results --------------------------------------------------------------------------------

class ResultSet(_cqlpp.ResultBase):
    """One page of rows; iterate it, or `async for page in rs.pages()` for the rest."""

    # One is made per request, by the native drain that resolves it: its fields
    # (_session, _statement, _parameters, _opts, _factory, current_rows,
    # paging_state, column_names, coordinator, warnings) are ResultBase's, in
    # that order as constructor arguments; _opts is the keyword arguments of
    # the next page's execute, as a dict or None.
    __slots__ = ()

    @property
    def has_more_pages(self):
        return self.paging_state is not None

    def __iter__(self):
        return iter(self.current_rows)

    def __len__(self):
        return len(self.current_rows)

    def __getitem__(self, i):
        return self.current_rows[i]

    def one(self):
        return self.current_rows[0] if self.current_rows else None

    def all(self):
        return list(self.current_rows)

    @property
    def was_applied(self):
        r = self.one()
        if r is None:
            return True
        if isinstance(r, dict):
            return r.get("[applied]", True)
        return r[0] if self.column_names and self.column_names[0] == "[applied]" else True

    async def pages(self):
        """This page, then every following one (fetched with the paging state)."""
        rs = self
        yield rs.current_rows
        while rs.paging_state is not None:
            rs = await self._session.execute(self._statement, self._parameters, paging_state=rs.paging_state,
                                             row_factory=self._factory, **(self._opts or {}))
            yield rs.current_rows

    async def __aiter__(self):
        async for page in self.pages():
            resumed = _clock()
            for i, row in enumerate(page):
                if not i & 63 and i and _clock() - resumed >= _SLICE:
                    await asyncio.sleep(0)  # as AsyncResultStream.__anext__
                    resumed = _clock()
                yield row


_cqlpp._set_result_class(ResultSet)


class AsyncResultStream:
    """Rows of a query page by page; the driver fetches the next page while this one is read."""

    def __init__(self, session, native, factory):
        self._session = session
        self._native = native
        self._factory = factory
        self._rows = []
        self._i = 0
        self._done = False
        self._resumed = _clock()  # when this stream's consumer last got the loop back
        self.paging_state = None
        self.pages_fetched = 0

    async def _fetch(self):
        # The engine's calls return a native awaitable (_cqlpp.Request): awaited
        # as a Future is, resolved by the loop's Bridge, and cancelling the
        # awaiting task cancels the request.
        bridge = _bridge_for(asyncio.get_running_loop())
        rows, done, ps = await self._session._engine.next_page(self._native, bridge, self._factory)
        rows = await _rows(rows)
        self._done = done
        self.paging_state = ps
        if rows or not done:
            self.pages_fetched += 1
        return rows

    def __aiter__(self):
        return self

    async def __anext__(self):
        i = self._i
        if i >= len(self._rows):
            while self._i >= len(self._rows):
                if self._done:
                    raise StopAsyncIteration
                self._rows = await self._fetch()
                self._i = 0
            self._resumed = _clock()
        elif not i & 63 and _clock() - self._resumed >= _SLICE:
            # Rows at hand never suspend: without this, `async for` over a page
            # would hold the loop for the whole page.
            await asyncio.sleep(0)
            self._resumed = _clock()
        r = self._rows[self._i]
        self._i += 1
        return r

    async def pages(self):
        """The remaining rows, one list per page."""
        if self._i < len(self._rows):
            rest = self._rows[self._i:]
            self._i = len(self._rows)
            yield rest
        while not self._done:
            rows = await self._fetch()
            if rows:
                yield rows

    async def close(self):
        self._done = True

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


# ---- session and cluster ---------------------------------------------------------------------

def _opts(consistency, serial_consistency, page_size, paging_state, timeout, idempotent, timestamp):
    if (consistency is None and serial_consistency is None and page_size is None and paging_state is None
            and timeout is None and idempotent is None and timestamp is None):
        return None
    return (_cl(consistency), _cl(serial_consistency), page_size, paging_state, timeout, idempotent, timestamp)


class Session:
    def __init__(self, cluster, native):
        self.cluster = cluster
        self._engine = cluster._engine
        self._native = native
        self._prepared = {}
        self.row_factory = named_tuple_factory
        self.default_timeout = None
        self.default_consistency_level = None
        self.default_fetch_size = None
        self._closed = False
        self._loop = None  # the loop of the last request, and its Bridge
        self._bridge = None

    @property
    def keyspace(self):
        return self._native.keyspace

    @property
    def protocol_version(self):
        return self._native.protocol_version

    async def prepare(self, query, keyspace=None):
        if isinstance(query, SimpleStatement):
            query = query.query_string
        query = _to_markers(query)
        key = (query, keyspace or "")
        p = self._prepared.get(key)
        if p is not None:
            return p
        native = await self._engine.prepare(self._native, _bridge_for(asyncio.get_running_loop()), query, keyspace or "")
        p = PreparedStatement(native, self)
        if len(self._prepared) > 4096:
            self._prepared.clear()
        self._prepared[key] = p
        return p

    async def _resolve(self, query, parameters):
        """(native statement or query text, values, statement object for options)."""
        if isinstance(query, BoundStatement):
            return query.prepared_statement._native, query.values if parameters is None else parameters, query
        if isinstance(query, PreparedStatement):
            return query._native, parameters, query
        stmt = None
        if isinstance(query, SimpleStatement):
            stmt = query
            query = query.query_string
        if parameters is not None and len(parameters) > 0:
            p = await self.prepare(query)  # typed binding needs the markers' types
            return p._native, parameters, stmt
        return query, None, stmt

    def _options(self, stmt, consistency, serial_consistency, page_size, paging_state, timeout, idempotent, timestamp):
        if stmt is not None:
            consistency = consistency if consistency is not None else stmt.consistency_level
            serial_consistency = serial_consistency if serial_consistency is not None else stmt.serial_consistency_level
            page_size = page_size if page_size is not None else stmt.fetch_size
            idempotent = idempotent if idempotent is not None else stmt.is_idempotent
            if timeout is None:
                timeout = getattr(stmt, "timeout", None)
        if consistency is None:
            consistency = self.default_consistency_level
        if page_size is None:
            page_size = self.default_fetch_size
        if timeout is None:
            timeout = self.default_timeout
        return _opts(consistency, serial_consistency, page_size, paging_state, timeout, idempotent, timestamp)

    def execute(self, query, parameters=None, timeout=None, consistency=None, page_size=None,
                paging_state=None, serial_consistency=None, idempotent=None, timestamp=None, row_factory=None):
        """`rs = await session.execute(...)`: the ResultSet of a statement.

        What it returns is awaitable once, and asyncio takes it as a coroutine
        (create_task, gather, wait_for). A prepared or bound statement with no
        options (the hot path, see python/PERFORMANCE.md) starts at once, with
        one native call and no coroutine of its own: the awaitable is the
        request itself, and it is cancelled with the awaiting task. Anything
        else (or an error, raised where it is awaited) goes through _execute.
        """
        tq = type(query)
        if ((tq is PreparedStatement or tq is BoundStatement) and timeout is None and consistency is None
                and page_size is None and paging_state is None and serial_consistency is None
                and idempotent is None and timestamp is None and not self._closed
                and self.default_consistency_level is None and self.default_fetch_size is None
                and self.default_timeout is None and query.consistency_level is None
                and query.serial_consistency_level is None and query.fetch_size is None
                and query.is_idempotent is None and query.timeout is None):
            try:
                loop = _get_running_loop()
                bridge = self._bridge if loop is self._loop else self._bridge_of(loop)
                if tq is PreparedStatement:
                    native, values = query._native, parameters
                else:
                    native, values = query.prepared_statement._native, query.values if parameters is None else parameters
                return _execute_bound(self._native, bridge, native, values, None, row_factory or self.row_factory,
                                      self, query, parameters, None)
            except Exception:  # noqa: BLE001  (_execute raises it again, where it is awaited)
                pass
        return self._execute(query, parameters, timeout, consistency, page_size, paging_state, serial_consistency,
                             idempotent, timestamp, row_factory)

    async def _execute(self, query, parameters=None, timeout=None, consistency=None, page_size=None,
                       paging_state=None, serial_consistency=None, idempotent=None, timestamp=None,
                       row_factory=None):
        if self._closed:
            raise SessionClosed("session is closed")
        loop = _get_running_loop()
        bridge = self._bridge if loop is self._loop else self._bridge_of(loop)
        factory = row_factory or self.row_factory
        tq = type(query)
        if tq is PreparedStatement:
            native, values, stmt = query._native, parameters, query
        elif tq is BoundStatement:
            native, values, stmt = query.prepared_statement._native, query.values if parameters is None else parameters, query
        elif isinstance(query, BatchStatement):
            return await self._execute_batch(loop, query, timeout, consistency, serial_consistency, idempotent, timestamp)
        else:
            native, values, stmt = await self._resolve(query, parameters)
        if (timeout is None and consistency is None and page_size is None and paging_state is None
                and serial_consistency is None and idempotent is None and timestamp is None
                and self.default_consistency_level is None and self.default_fetch_size is None
                and self.default_timeout is None
                and (stmt is None or (stmt.consistency_level is None and stmt.serial_consistency_level is None
                                      and stmt.fetch_size is None and stmt.is_idempotent is None
                                      and stmt.timeout is None))):
            opts = kw = None
        else:
            opts = self._options(stmt, consistency, serial_consistency, page_size, paging_state, timeout, idempotent,
                                 timestamp)
            # The next page's execute keywords (ResultSet.pages).
            kw = dict(timeout=timeout, consistency=consistency, page_size=page_size,
                      serial_consistency=serial_consistency, idempotent=idempotent)
        # One native call (no pybind11 dispatch); the Request resolves to the
        # ResultSet itself. Cancelling this task cancels the request.
        # (A large page's rows are converted by the drain, a slice per loop
        # callback, before the request resolves: the ResultSet is whole.)
        if type(native) is str:
            return await _execute_simple(self._native, bridge, native, opts, factory, self, query, parameters, kw)
        return await _execute_bound(self._native, bridge, native, values, opts, factory, self, query, parameters, kw)

    def _bridge_of(self, loop):
        self._bridge = _bridge_for(loop)
        self._loop = loop
        return self._bridge

    async def _execute_batch(self, loop, batch, timeout, consistency, serial_consistency, idempotent, timestamp):
        entries = []
        for stmt, params in batch._entries:
            native, values, _ = await self._resolve(stmt, params)
            entries.append((native, values))
        opts = _opts(_cl(consistency if consistency is not None else batch.consistency_level),
                     serial_consistency if serial_consistency is not None else batch.serial_consistency_level,
                     None, None, timeout if timeout is not None else self.default_timeout, idempotent, timestamp)
        rows, ps, names, coordinator, warnings = await self._engine.execute_batch(
            self._native, _bridge_for(loop), batch.batch_type, entries, opts)
        rows = await _rows(rows)
        return ResultSet(self, batch, None, None, None, rows, ps, names, coordinator, warnings)

    async def execute_stream(self, query, parameters=None, fetch_size=None, timeout=None, consistency=None,
                             paging_state=None, row_factory=None):
        """Every row of a query, page by page, one page fetched ahead. The first page is read before returning."""
        native, values, stmt = await self._resolve(query, parameters)
        opts = self._options(stmt, consistency, None, fetch_size, paging_state, timeout, None, None)
        h = self._engine.open_stream(self._native, native, values, opts)
        s = AsyncResultStream(self, h, row_factory or self.row_factory)
        s._rows = await s._fetch()
        return s

    async def close(self):
        if self._closed:
            return
        self._closed = True
        await self._engine.close_session(self._native, _bridge_for(asyncio.get_running_loop()))

    shutdown = close

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    def metrics(self):
        return self._engine.metrics(self._native)

    @property
    def metadata(self):
        return Metadata(self._engine.metadata(self._native), self)

    # bulk operations on the native engine
    async def _bulk(self, op, keyspace, table, progress=None, concurrency=0, page_size=5000, splits=0,
                    server_side_count=True, format="csv", output_dir=None, inputs=(), run_dir=None,
                    resume=False, consistency=None, progress_interval=1.0):
        o = dict(keyspace=keyspace, table=table, concurrency=concurrency, page_size=page_size, splits=splits,
                 server_side_count=server_side_count, format=format,
                 output_dir=None if output_dir is None else str(output_dir),
                 inputs=[str(i) for i in inputs], run_dir=None if run_dir is None else str(run_dir),
                 resume=resume, consistency=_cl(consistency), progress_interval=progress_interval)
        return await self._engine.bulk(self._native, _bridge_for(asyncio.get_running_loop()), op, o, progress)

    async def count(self, keyspace, table, **kw):
        return await self._bulk("count", keyspace, table, **kw)

    async def unload(self, keyspace, table, output_dir, **kw):
        return await self._bulk("unload", keyspace, table, output_dir=output_dir, **kw)

    async def load(self, keyspace, table, inputs, **kw):
        if isinstance(inputs, (str, bytes)) or hasattr(inputs, "__fspath__"):
            inputs = [inputs]
        return await self._bulk("load", keyspace, table, inputs=inputs, **kw)

    async def checksum(self, keyspace, table, **kw):
        return await self._bulk("checksum", keyspace, table, **kw)


class Metadata:
    """A snapshot of the cluster as the driver knows it."""

    def __init__(self, d, session):
        self._d = d
        self._session = session
        self.cluster_name = d.get("cluster_name")
        self.partitioner = d.get("partitioner")
        self.hosts = d.get("hosts", [])
        self.keyspaces = d.get("keyspaces", {})
        self.token_ring = d.get("ring", [])

    def all_hosts(self):
        return self.hosts

    def table(self, keyspace, table):
        return self.keyspaces.get(keyspace, {}).get("tables", {}).get(table)

    def get_replicas(self, keyspace, token):
        return self._session._engine.replicas(self._session._native, keyspace, token)


class Cluster:
    """Contact points and settings; `async with Cluster([...]) as cluster: session = await cluster.connect()`."""

    def __init__(self, contact_points=("127.0.0.1",), port=9042, protocol_version=None, compression=False,
                 auth=None, auth_provider=None, ssl_context=None, ssl_options=None, connect_timeout=5.0,
                 request_timeout=12.0, consistency=None, page_size=5000, connections_per_host=1,
                 fetch_schema=True):
        self.contact_points = [contact_points] if isinstance(contact_points, str) else list(contact_points)
        self.port = port
        self.protocol_version = protocol_version
        self.compression = bool(compression) and compression != "none"
        auth = auth or auth_provider
        if isinstance(auth, PlainTextAuthProvider):
            auth = (auth.username, auth.password)
        self.auth = auth
        self._tls = self._tls_config(ssl_context, ssl_options)
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.consistency = consistency
        self.page_size = page_size
        self.connections_per_host = connections_per_host
        self.fetch_schema = fetch_schema
        self._engine = None
        self._sessions = []
        self._tmp = None

    def _tls_config(self, ctx, opts):
        if ctx is None and opts is None:
            return None
        opts = dict(opts or {})
        tls = dict(ca_file=opts.get("ca_certs", ""), cert_file=opts.get("certfile", ""),
                   key_file=opts.get("keyfile", ""), check_hostname=opts.get("check_hostname", True),
                   server_name=opts.get("server_hostname", ""))
        if ctx is not None:
            import ssl
            import tempfile
            tls["check_hostname"] = ctx.check_hostname
            ders = ctx.get_ca_certs(binary_form=True)
            if ders and not tls["ca_file"]:
                # The native TLS stack reads trust anchors from a file: write the context's.
                f = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)
                f.write("".join(ssl.DER_cert_to_PEM_cert(d) for d in ders))
                f.close()
                self._tmp = f.name
                tls["ca_file"] = f.name
        return tls

    async def connect(self, keyspace=None):
        if self._engine is None:
            self._engine = _cqlpp.Engine()
        req = self._engine.connect(_bridge_for(asyncio.get_running_loop()), dict(
            contact_points=self.contact_points, port=self.port, keyspace=keyspace,
            protocol_version=self.protocol_version, compression=self.compression,
            username=self.auth[0] if self.auth else None, password=self.auth[1] if self.auth else None,
            tls=self._tls, connect_timeout=self.connect_timeout, request_timeout=self.request_timeout,
            consistency=_cl(self.consistency), page_size=self.page_size,
            connections_per_host=self.connections_per_host, fetch_schema=self.fetch_schema))
        native = await req
        s = Session(self, native)
        self._sessions.append(s)
        return s

    async def shutdown(self):
        for s in self._sessions:
            try:
                await s.close()
            except DriverException:
                pass
        self._sessions.clear()
        if self._engine is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._engine.shutdown)
            self._engine = None
        if self._tmp:
            import os
            os.unlink(self._tmp)
            self._tmp = None

    close = shutdown

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.shutdown()

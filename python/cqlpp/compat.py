"""async-cassandra's names on cqlpp, so its users switch by changing imports:

    from cqlpp.compat import AsyncCluster, AsyncCassandraSession
"""
from . import (BatchStatement, BatchType, Cluster, ConsistencyLevel, PlainTextAuthProvider, ResultSet,
               Session, SimpleStatement, dict_factory)
from .errors import DriverException, NoHostAvailable, OperationTimedOut

__all__ = ["AsyncCluster", "AsyncCassandraSession", "AsyncResultSet", "AsyncStreamingResultSet", "StreamConfig",
           "AsyncCassandraError", "ConnectionError", "QueryError", "BatchStatement", "BatchType", "ConsistencyLevel",
           "PlainTextAuthProvider", "SimpleStatement", "dict_factory", "NoHostAvailable", "OperationTimedOut"]

AsyncCassandraError = DriverException
ConnectionError = NoHostAvailable  # noqa: A001
QueryError = DriverException
AsyncResultSet = ResultSet


class StreamConfig:
    def __init__(self, fetch_size=1000, max_pages=None, page_callback=None, timeout_seconds=None):
        self.fetch_size = fetch_size
        self.max_pages = max_pages
        self.page_callback = page_callback
        self.timeout_seconds = timeout_seconds


class AsyncStreamingResultSet:
    def __init__(self, stream, config):
        self._stream = stream
        self._config = config
        self.page_number = 0

    def __aiter__(self):
        return self._rows()

    async def _rows(self):
        async for page in self.pages():
            for row in page:
                yield row

    async def pages(self):
        async for page in self._stream.pages():
            self.page_number += 1
            if self._config.page_callback:
                self._config.page_callback(self.page_number, len(page))
            yield page
            if self._config.max_pages and self.page_number >= self._config.max_pages:
                break

    async def close(self):
        await self._stream.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


class AsyncCassandraSession:
    def __init__(self, session):
        self._session = session

    @property
    def keyspace(self):
        return self._session.keyspace

    async def execute(self, query, parameters=None, timeout=None, **kw):
        return await self._session.execute(query, parameters, timeout=timeout, **kw)

    async def execute_batch(self, batch, timeout=None):
        return await self._session.execute(batch, timeout=timeout)

    async def execute_stream(self, query, parameters=None, stream_config=None, **kw):
        cfg = stream_config or StreamConfig()
        s = await self._session.execute_stream(query, parameters, fetch_size=cfg.fetch_size,
                                               timeout=cfg.timeout_seconds, **kw)
        return AsyncStreamingResultSet(s, cfg)

    async def prepare(self, query, custom_payload=None):
        return await self._session.prepare(query)

    async def set_keyspace(self, keyspace):
        await self._session.execute("USE " + keyspace)

    async def close(self):
        await self._session.close()

    @property
    def is_closed(self):
        return self._session._closed

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


class AsyncCluster:
    def __init__(self, contact_points=None, port=9042, auth_provider=None, protocol_version=None, **kw):
        kw.pop("executor_threads", None)
        kw.pop("load_balancing_policy", None)
        kw.pop("reconnection_policy", None)
        kw.pop("retry_policy", None)
        self._cluster = Cluster(contact_points or ["127.0.0.1"], port=port, auth_provider=auth_provider,
                                protocol_version=protocol_version, **kw)

    @classmethod
    def create_with_auth(cls, contact_points, username, password, **kw):
        return cls(contact_points, auth_provider=PlainTextAuthProvider(username, password), **kw)

    async def connect(self, keyspace=None, timeout=None):
        return AsyncCassandraSession(await self._cluster.connect(keyspace))

    async def shutdown(self):
        await self._cluster.shutdown()

    close = shutdown

    @property
    def metadata(self):
        return self._cluster._sessions[0].metadata if self._cluster._sessions else None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.shutdown()

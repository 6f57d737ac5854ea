"""The comparison backend of the load test (APP_DRIVER=datastax): the DataStax
Python driver bridged to asyncio the way async-cassandra does it, one
loop.call_soon_threadsafe per request from the driver's I/O thread, blocking
calls (connect, prepare, shutdown) in the default executor. Only what app.py's
CRUD endpoints use; not part of the cqlpp package."""
import asyncio

from cassandra.cluster import Cluster as _Cluster
from cassandra.query import BatchStatement as _Batch


class _Result:
    def __init__(self, rows):
        self.current_rows = rows

    def one(self):
        return self.current_rows[0] if self.current_rows else None

    def __iter__(self):
        return iter(self.current_rows)

    async def __aiter__(self):
        for r in self.current_rows:
            yield r


class Session:
    def __init__(self, session):
        self._s = session

    def execute(self, query, parameters=None, timeout=None):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        rf = self._s.execute_async(query, parameters, timeout=timeout or 10.0)

        def ok(rows):
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(_Result(rows)))

        def err(e):
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_exception(e))

        rf.add_callbacks(ok, err)
        return fut

    async def prepare(self, query):
        return await asyncio.get_running_loop().run_in_executor(None, self._s.prepare, query)


class Cluster:
    def __init__(self, hosts, port=9042):
        self._c = _Cluster(hosts, port=port, protocol_version=5)

    async def connect(self):
        return Session(await asyncio.get_running_loop().run_in_executor(None, self._c.connect))

    async def shutdown(self):
        await asyncio.get_running_loop().run_in_executor(None, self._c.shutdown)


BatchStatement = _Batch

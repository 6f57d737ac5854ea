"""The DataStax Python driver's ResponseFuture bridged to asyncio, shared by
bench/peers/python_bench.py and bench/bulk/python_bulk.py so that both measure
the same bridge (the async-cassandra wrapper's way).

The driver calls back on its own event-loop thread; loop.call_soon_threadsafe
hands each result to the asyncio loop, whose futures are not thread-safe.
"""


def _set_result(fut, value):
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut, exc):
    if not fut.done():
        fut.set_exception(exc)


def first_page(rf, loop):
    """An asyncio.Future for the first page of a ResponseFuture."""
    fut = loop.create_future()
    rf.add_callbacks(lambda rows: loop.call_soon_threadsafe(_set_result, fut, rows),
                     lambda exc: loop.call_soon_threadsafe(_set_exception, fut, exc))
    return fut


class Pages:
    """Page after page of one ResponseFuture: `async for rows in Pages(rf, loop)`.
    The callbacks stay registered on the ResponseFuture and fire once per page;
    the next page is asked for only when the caller comes back for it."""

    def __init__(self, rf, loop):
        self.rf, self.loop = rf, loop
        self.fut = loop.create_future()
        rf.add_callbacks(self._ok, self._err)

    def _ok(self, rows):
        self.loop.call_soon_threadsafe(_set_result, self.fut, rows)

    def _err(self, exc):
        self.loop.call_soon_threadsafe(_set_exception, self.fut, exc)

    async def __aiter__(self):
        while True:
            rows = await self.fut
            yield rows
            if not self.rf.has_more_pages:
                return
            self.fut = self.loop.create_future()
            self.rf.start_fetching_next_page()

"""Helpers to drive `cqlpp sim` through CQL: node states, fault injection, counters."""
import time

from cassandra.policies import HostDistance, LoadBalancingPolicy


class Sim:
    """The simulator's `sim` keyspace, always reached through one execution profile
    (pinned to a node that never gets injected faults: fail_next counts any QUERY,
    including these)."""

    def __init__(self, session, profile):
        self.session = session
        self.profile = profile

    def _execute(self, q):
        return self.session.execute(q, execution_profile=self.profile)

    def nodes(self):
        """{address: row} of sim.nodes (node, address, port, datacenter, rack, state, ...)."""
        return {r.address: r for r in self._execute("SELECT * FROM sim.nodes")}

    def node_ids(self):
        """{address: node id}."""
        return {addr: r.node for addr, r in self.nodes().items()}

    def counters(self):
        """{(node, name): value} of sim.counters."""
        return {(r.node, r.name): r.value for r in self._execute("SELECT node, name, value FROM sim.counters")}

    def set_node(self, node, **settings):
        """UPDATE sim.nodes SET k = v, ... WHERE node = N."""
        parts = []
        for k, v in settings.items():
            parts.append("%s = %s" % (k, ("'%s'" % v) if isinstance(v, str) else int(v)))
        self._execute("UPDATE sim.nodes SET %s WHERE node = %d" % (", ".join(parts), node))


def delta(before, after, node, name):
    return after.get((node, name), 0) - before.get((node, name), 0)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


class FixedOrderPolicy(LoadBalancingPolicy):
    """Query plan: exactly the given addresses, in this order (no rotation)."""

    def __init__(self, addresses):
        LoadBalancingPolicy.__init__(self)
        self._addresses = list(addresses)
        self._hosts = {}

    def populate(self, cluster, hosts):
        for h in hosts:
            self._hosts[h.address] = h

    def distance(self, host):
        return HostDistance.LOCAL if host.address in self._addresses else HostDistance.IGNORED

    def make_query_plan(self, working_keyspace=None, query=None):
        for a in self._addresses:
            h = self._hosts.get(a)
            if h is not None and h.is_up is not False:
                yield h

    def on_up(self, host):
        self._hosts[host.address] = host

    def on_down(self, host):
        pass

    def on_add(self, host):
        self._hosts[host.address] = host

    def on_remove(self, host):
        self._hosts.pop(host.address, None)


def run_concurrently(session, statement, params_list, concurrency=64, **kwargs):
    """Executes statement once per params with up to `concurrency` requests in flight.
    Returns the list of results (or raises the first error)."""
    results = [None] * len(params_list)
    pending = []
    for i, params in enumerate(params_list):
        pending.append((i, session.execute_async(statement, params, **kwargs)))
        if len(pending) >= concurrency:
            j, f = pending.pop(0)
            results[j] = f.result()
    for j, f in pending:
        results[j] = f.result()
    return results

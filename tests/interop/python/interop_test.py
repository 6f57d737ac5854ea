#!/usr/bin/python3
"""The DataStax Python driver (Debian python3-cassandra 3.25) against `cqlpp sim`.

Each invocation runs one mode against a simulator that run_python.sh started:

  main     every CQL type, NULLs, batches, paging, errors, metadata (per protocol/compression)
  tokens   token and replica agreement with the driver's token map (4 nodes)
  dcs      the same for NetworkTopologyStrategy over two datacenters with racks
  auth     PasswordAuthenticator: good and bad credentials
  v4only   a v4-only cluster: the driver downgrades
  nolz4    a cluster without LZ4: the driver falls back to no compression
  topology nodes join and leave at run time (NEW_NODE / REMOVED_NODE), system_views.clients,
           custom payload echo

It prints one line per check and 'INTEROP-TOTALS <passed> <failed>' at the end.
"""
import argparse
import datetime
import ipaddress
import logging
import os
import struct
import sys
import time
import uuid
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cassandra import (AlreadyExists, AuthenticationFailed, ConsistencyLevel, ReadTimeout,  # noqa: E402
                       Unavailable, WriteTimeout)
from cassandra.auth import PlainTextAuthProvider  # noqa: E402
from cassandra.cluster import (EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile,  # noqa: E402
                               NoHostAvailable)
from cassandra.policies import (ConstantReconnectionPolicy, DCAwareRoundRobinPolicy,  # noqa: E402
                                FallthroughRetryPolicy, RetryPolicy, TokenAwarePolicy,
                                WhiteListRoundRobinPolicy, WriteType)
from cassandra.protocol import (InvalidRequest, IsBootstrappingErrorMessage,  # noqa: E402
                                OverloadedErrorMessage, ServerError, SyntaxException)
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, SimpleStatement  # noqa: E402
from cassandra.util import Date, Duration, OrderedMap, OrderedMapSerializedKey, Time, sortedset  # noqa: E402

import harness  # noqa: E402
import simctl  # noqa: E402
from harness import check, eq, raises  # noqa: E402

# The driver logs retries and reconnections at WARNING; keep the output about the checks.
logging.basicConfig(level=getattr(logging, os.environ.get("INTEROP_LOG", "CRITICAL")),
                    format="%(asctime)s %(threadName)s %(name)s %(message)s")


# ---------------------------------------------------------------------------
# Connecting

def make_cluster(args, protocol_version=None, compression=None, lb=None, auth=None, **kw):
    profile = ExecutionProfile(load_balancing_policy=lb or TokenAwarePolicy(DCAwareRoundRobinPolicy()),
                               request_timeout=20)
    opts = dict(contact_points=args.contact_points, port=args.port,
                execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                schema_metadata_enabled=True, token_metadata_enabled=True,
                reconnection_policy=ConstantReconnectionPolicy(0.5, max_attempts=None),
                connect_timeout=10, control_connection_timeout=10)
    if protocol_version is not None:
        opts["protocol_version"] = protocol_version
    if compression is not None:
        opts["compression"] = compression
    if auth is not None:
        opts["auth_provider"] = auth
    opts.update(kw)
    return Cluster(**opts)


def connections_of(cluster, session):
    conns = [cluster.control_connection._connection]
    for pool in session.get_pools():
        conns.extend(pool.get_connections())
    return [c for c in conns if c is not None]


def control_host(cluster):
    return cluster.control_connection._connection.endpoint.address


# ---------------------------------------------------------------------------
# Value normalisation: compare what we wrote with what the driver decoded.

class Address(object):
    """Mapped to the UDT `address` with cluster.register_user_type."""

    def __init__(self, street=None, zip=None, tags=None):
        self.street = street
        self.zip = zip
        self.tags = tags

    def __repr__(self):
        return "Address(%r, %r, %r)" % (self.street, self.zip, self.tags)


def norm(v):
    if v is None:
        return None
    if isinstance(v, Date):
        return ("date", v.days_from_epoch)
    if isinstance(v, datetime.datetime):
        return ("ts", v.replace(tzinfo=None))
    if isinstance(v, datetime.date):
        return ("date", Date(v).days_from_epoch)
    if isinstance(v, Time):
        return ("time", v.nanosecond_time)
    if isinstance(v, datetime.time):
        return ("time", Time(v).nanosecond_time)
    if isinstance(v, (OrderedMapSerializedKey, OrderedMap, dict)):
        return ("map", sorted(((norm(k), norm(x)) for k, x in v.items()), key=repr))
    if isinstance(v, (sortedset, set, frozenset)):
        return ("set", sorted((norm(x) for x in v), key=repr))
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, Address):
        return ("udt", norm(v.street), norm(v.zip), norm(v.tags))
    if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(v)
    if isinstance(v, bytearray):
        return bytes(v)
    return v


COLUMNS = [  # name, CQL type
    ("a", "ascii"), ("b", "bigint"), ("bl", "blob"), ("bo", "boolean"), ("d", "date"), ("de", "decimal"),
    ("db", "double"), ("du", "duration"), ("f", "float"), ("i4", "inet"), ("i6", "inet"), ("i", "int"),
    ("si", "smallint"), ("t", "text"), ("tm", "time"), ("ts", "timestamp"), ("tu", "timeuuid"),
    ("ti", "tinyint"), ("u", "uuid"), ("vi", "varint"),
    ("l", "list<int>"), ("s", "set<text>"), ("m", "map<text, int>"),
    ("fl", "frozen<list<frozen<map<int, text>>>>"), ("fs", "frozen<set<frozen<list<int>>>>"),
    ("fm", "map<text, frozen<set<bigint>>>"), ("tup", "tuple<int, text, double>"),
    ("nt", "frozen<tuple<int, frozen<list<text>>>>"), ("addr", "frozen<address>"),
    ("addrs", "list<frozen<address>>"), ("mu", "map<frozen<address>, int>"),
]
NAMES = [c for c, _ in COLUMNS]


def full_values():
    return {
        "a": "ascii text ~", "b": -9223372036854775808, "bl": b"\x00\x01\xfe\xff", "bo": True,
        "d": datetime.date(2024, 2, 29), "de": Decimal("-12345.678901234567890123"),
        "db": 3.141592653589793, "du": Duration(14, 3, 3723000000123), "f": 1.5,
        "i4": "192.168.1.10", "i6": "2001:db8::ff00:42:8329", "i": -2147483648, "si": -32768,
        "t": "unicode \u2713 \u30c6\u30ad\u30b9\u30c8 'quoted'", "tm": datetime.time(23, 59, 59, 999999),
        "ts": datetime.datetime(2024, 5, 6, 7, 8, 9, 123000), "tu": uuid.uuid1(), "ti": -128,
        "u": uuid.uuid4(), "vi": -(2 ** 100) + 7,
        "l": [3, 1, 2, 1], "s": {"b", "a", "c"}, "m": {"x": 1, "y": -2},
        "fl": [{1: "one", 2: "two"}, {3: "three"}], "fs": sortedset([[1, 2], [3]]),
        "fm": {"p": {1, 2, 3}, "q": {-5}}, "tup": (7, "seven", 7.5), "nt": (1, ["a", "b"]),
        "addr": Address("Main St", 12345, {"home", "work"}),
        "addrs": [Address("A", 1, None), Address("B", 2, {"x"})],
        "mu": {Address("K", 9, None): 99},
    }


def edge_values():
    """Extremes, empty (not null) strings and blobs, special floats."""
    return {
        "a": "", "b": 9223372036854775807, "bl": b"", "bo": False, "d": datetime.date(1970, 1, 1),
        "de": Decimal("0"), "db": float("-inf"), "du": Duration(0, 0, 0), "f": float("inf"),
        "i4": "0.0.0.0", "i6": "::1", "i": 2147483647, "si": 32767, "t": "", "tm": datetime.time(0, 0),
        "ts": datetime.datetime(1969, 12, 31, 23, 59, 59, 999000), "tu": uuid.uuid1(), "ti": 127,
        "u": uuid.UUID(int=0), "vi": 0, "l": [0], "s": {""}, "m": {"": 0}, "fl": [{}], "fs": sortedset([[]]),
        "fm": {"": set()}, "tup": (None, None, None), "nt": (0, []), "addr": Address(None, None, None),
        "addrs": [Address("", 0, set())], "mu": {Address("", 0, None): 0},
    }


def compare_row(row, want, what):
    for name in NAMES:
        got = getattr(row, name)
        eq(norm(got), norm(want.get(name)), "%s column %s" % (what, name))


# ---------------------------------------------------------------------------
# main mode

class Main:
    def __init__(self, args, suite):
        self.args = args
        self.s = suite
        self.pv = args.protocol
        self.lz4 = args.compression == "lz4"
        self.ks = "interop_py_v%d_%s" % (self.pv, "lz4" if self.lz4 else "plain")

    def run(self):
        s = self.s
        s.setup("connect", self.connect)
        s.run("negotiated protocol version and compression", self.negotiated)
        s.run("metadata: every node up with its datacenter and rack", self.hosts)
        s.setup("schema: keyspace, UDT and tables", self.schema)
        s.run("metadata: token map built from the ring", self.token_map)
        s.run("metadata: tables, columns and UDT as created", self.schema_metadata)
        s.run("types: simple statement round trip", self.types_simple)
        s.run("types: prepared statement round trip", self.types_prepared)
        s.run("types: edge values (extremes, empty, infinities) simple and prepared", self.types_edge)
        s.run("types: NaN double and float", self.types_nan)
        s.run("types: NULL in every column (simple and prepared)", self.types_null)
        s.run("types: empty collections read back as null", self.empty_collections)
        s.run("types: unset value leaves the column untouched", self.unset_value)
        s.run("types: SELECT * column order (key first, others alphabetical)", self.select_star_order)
        s.run("types: date as days-since-epoch integer (cassandra.util.Date)", self.date_ext)
        s.run("types: vector<float, 3> (raw bytes; driver 3.25 has no vector codec)", self.vector)
        s.run("counter: increments, decrements, prepared", self.counters)
        s.run("counter: INSERT refused", self.counter_insert_refused)
        s.run("batch: LOGGED with prepared and simple children", self.batch_logged)
        s.run("batch: UNLOGGED with prepared children", self.batch_unlogged)
        s.run("batch: COUNTER", self.batch_counter)
        s.run("batch: counter update in a LOGGED batch refused", self.batch_counter_in_logged)
        s.run("lightweight transaction: INSERT IF NOT EXISTS", self.lwt)
        s.run("keyspace: connect(keyspace) uses USE", self.use_keyspace)
        s.run("prepared: named markers, USING TTL/TIMESTAMP, IN ?, LIMIT ? (metadata names)", self.markers)
        s.run("timestamps: the driver's client-side timestamp becomes WRITETIME", self.client_timestamps)
        if self.pv >= 5:
            s.run("keyspace: v5 per-request keyspace on QUERY and PREPARE", self.keyspace_flag)
            s.run("prepared: new result metadata after ALTER TABLE (v5 metadata id)", self.metadata_changed)
        before_paging = s.broken  # a failed paging setup only stops the paging checks
        s.setup("paging: insert 10,000 rows", self.paging_insert)
        s.run("paging: 10,000 rows, fetch_size 100, in token order", self.paging_all)
        s.run("paging: resume from paging_state", self.paging_resume)
        s.run("paging: prepared statement, automatic paging", self.paging_prepared)
        s.run("paging: one partition by clustering, ASC and DESC", self.paging_clustering)
        s.run("aggregate: SELECT COUNT(*)", self.count_all)
        s.run("aggregate: min/max/sum/avg names and types, GROUP BY, warnings", self.aggregates)
        s.run("functions: CAST, toJson, toDate, blob conversions (column names)", self.functions)
        s.run("json: INSERT JSON literal and JSON ?, unknown column refused", self.insert_json)
        s.run("index: CREATE INDEX serves = without ALLOW FILTERING, DROP INDEX", self.indexes)
        s.run("vector: SAI index (warning) and ORDER BY v ANN OF [...] LIMIT n", self.vector_search)
        s.broken = before_paging
        s.run("tracing: execute(trace=True) then get_query_trace() (simple and prepared)", self.tracing)
        s.run("compression: a compressible 240 kB value on the wire, both ways", self.wire_compression)
        s.run("heartbeat: idle connections get OPTIONS answered and stay open", self.heartbeat)
        s.run("error: SyntaxException", self.err_syntax)
        s.run("error: InvalidRequest (unconfigured table)", self.err_unconfigured)
        s.run("error: InvalidRequest (unknown keyspace)", self.err_no_keyspace)
        s.run("error: InvalidRequest (bad value type)", self.err_bad_type)
        s.run("error: InvalidRequest (list literal for a tuple column)", self.err_tuple_as_list)
        s.run("error: InvalidRequest (missing partition key)", self.err_missing_key)
        s.run("error: AlreadyExists (table and keyspace)", self.err_already_exists)
        s.run("error: injected ReadTimeout", self.err_read_timeout)
        s.run("error: injected WriteTimeout (SIMPLE and BATCH)", self.err_write_timeout)
        s.run("error: injected Unavailable", self.err_injected_unavailable)
        s.run("error: injected OVERLOADED", self.err_overloaded)
        s.run("error: injected IS_BOOTSTRAPPING", self.err_bootstrapping)
        s.run("error: injected SERVER_ERROR", self.err_server_error)
        s.run("retry: default policy retries OVERLOADED on the next host", self.retry_next_host)
        s.run("priming: sim.primes rows, an error with fields, a prepared prime; sim.activity", self.priming)
        s.run("error: Unavailable with a node down (RF=3, CL=ALL)", self.err_unavailable_node_down)
        s.run("prepared: re-prepared after a node restart (UNPREPARED)", self.reprepare)
        s.run("shutdown", self.shutdown, needs_setup=False)

    # -- connection --

    def connect(self):
        # reprepare_on_up=False: a restarted node answers UNPREPARED, and the driver re-prepares.
        self.cluster = make_cluster(self.args, protocol_version=self.pv,
                                    compression="lz4" if self.lz4 else False, reprepare_on_up=False,
                                    idle_heartbeat_interval=1)
        self.cluster.add_execution_profile(
            "noretry", ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
                                        retry_policy=FallthroughRetryPolicy(), request_timeout=20))
        self.session = self.cluster.connect()
        self.session.encoder.mapping[tuple] = self.session.encoder.cql_encode_tuple
        # sim.* statements go to the control connection's node; faults go to the others.
        ctl = control_host(self.cluster)
        self.cluster.add_execution_profile("sim", ExecutionProfile(
            load_balancing_policy=WhiteListRoundRobinPolicy([ctl]), request_timeout=20))
        self.sim = simctl.Sim(self.session, "sim")
        self.ids = self.sim.node_ids()
        eq(len(self.ids), self.args.nodes, "rows of sim.nodes")
        self.target = sorted(a for a in self.ids if a != ctl)[0]
        self.other = sorted(a for a in self.ids if a not in (ctl, self.target))[0]
        self.cluster.add_execution_profile(
            "target_noretry", ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([self.target]),
                                               retry_policy=FallthroughRetryPolicy(), request_timeout=20))
        self.cluster.add_execution_profile(
            "target_then_other", ExecutionProfile(
                load_balancing_policy=simctl.FixedOrderPolicy([self.target, self.other]),
                retry_policy=RetryPolicy(), request_timeout=20))

    def negotiated(self):
        eq(self.cluster.protocol_version, self.pv, "cluster.protocol_version")
        conns = connections_of(self.cluster, self.session)
        check(len(conns) >= self.args.nodes, "expected a connection per node, have %d" % len(conns))
        for c in conns:
            eq(c.protocol_version, self.pv, "protocol version of connection to %s" % c.endpoint)
            eq(c._compression_type, "lz4" if self.lz4 else None, "compression of connection to %s" % c.endpoint)
            if self.pv >= 5:
                check(c._is_checksumming_enabled, "v5 framing (checksummed segments) on %s" % c.endpoint)

    def hosts(self):
        rows = self.sim.nodes()
        hosts = self.cluster.metadata.all_hosts()
        eq(sorted(h.address for h in hosts), sorted(rows), "host addresses")
        for h in hosts:
            r = rows[h.address]
            check(h.is_up, "host %s is up" % h.address)
            eq(h.datacenter, r.datacenter, "datacenter of %s" % h.address)
            eq(h.rack, r.rack, "rack of %s" % h.address)
            check(h.host_id is not None, "host_id of %s" % h.address)
            check(h.release_version, "release_version of %s" % h.address)
            eq(h.endpoint.port, self.args.port, "port of %s" % h.address)

    def schema(self):
        x = self.session.execute
        x("DROP KEYSPACE IF EXISTS %s" % self.ks)
        x("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}" % self.ks)
        x("CREATE TYPE %s.address (street text, zip int, tags frozen<set<text>>)" % self.ks)
        cols = ", ".join("%s %s" % c for c in COLUMNS)
        x("CREATE TABLE %s.all_types (k int PRIMARY KEY, %s)" % (self.ks, cols))
        x("CREATE TABLE %s.kv (k text PRIMARY KEY, v int)" % self.ks)
        x("CREATE TABLE %s.cnt (k text PRIMARY KEY, c1 counter, c2 counter)" % self.ks)
        x("CREATE TABLE %s.paged (k int PRIMARY KEY, v text)" % self.ks)
        x("CREATE TABLE %s.wide (p int, c int, v text, PRIMARY KEY (p, c))" % self.ks)
        x("CREATE TABLE %s.vec (k int PRIMARY KEY, v vector<float, 3>)" % self.ks)
        self.cluster.register_user_type(self.ks, "address", Address)
        check(self.cluster.control_connection.wait_for_schema_agreement(wait_time=10), "schema agreement")

    def token_map(self):
        tm = self.cluster.metadata.token_map
        check(tm is not None, "token_map is built")
        owners = {}
        for t in tm.ring:
            h = tm.token_to_host_owner[t]
            owners[h.address] = owners.get(h.address, 0) + 1
        eq(sorted(owners), sorted(self.ids), "hosts owning tokens")
        for a, n in owners.items():
            eq(n, self.args.num_tokens, "vnodes of %s" % a)
        eq(len(set(tm.ring)), len(tm.ring), "distinct ring tokens")
        # Replica sets for RF=3 on 3 nodes: every node.
        rk = struct.pack(">i", 42)
        eq(len(self.cluster.metadata.get_replicas(self.ks, rk)), min(3, self.args.nodes), "replicas of a key")

    def schema_metadata(self):
        km = self.cluster.metadata.keyspaces.get(self.ks)
        check(km is not None, "keyspace %s in metadata" % self.ks)
        eq(km.replication_strategy.replication_factor, 3, "replication factor")
        t = km.tables.get("all_types")
        check(t is not None, "table all_types in metadata")
        eq([c.name for c in t.partition_key], ["k"], "partition key")
        want = {"k": "int"}
        want.update(dict(COLUMNS))
        want["tup"] = "frozen<tuple<int, text, double>>"  # tuples are always frozen (Cassandra 3.0+)
        got = {name: c.cql_type for name, c in t.columns.items()}
        eq(got, want, "column types")
        w = km.tables["wide"]
        eq([c.name for c in w.clustering_key], ["c"], "clustering key of wide")
        ut = km.user_types.get("address")
        check(ut is not None, "UDT address in metadata")
        eq(list(ut.field_names), ["street", "zip", "tags"], "UDT field names")
        eq(list(ut.field_types), ["text", "int", "frozen<set<text>>"], "UDT field types")
        check("CREATE TABLE %s.all_types" % self.ks in t.export_as_string(), "export_as_string")

    # -- types --

    def _insert_simple(self, k, values):
        cols = ["k"] + NAMES
        q = "INSERT INTO %s.all_types (%s) VALUES (%s)" % (self.ks, ", ".join(cols), ", ".join(["%s"] * len(cols)))
        self.session.execute(q, [k] + [values.get(n) for n in NAMES])

    def _insert_prepared(self, k, values):
        cols = ["k"] + NAMES
        ps = self.session.prepare("INSERT INTO %s.all_types (%s) VALUES (%s)"
                                  % (self.ks, ", ".join(cols), ", ".join(["?"] * len(cols))))
        self.session.execute(ps, [k] + [values.get(n) for n in NAMES])

    def _read(self, k, prepared):
        if prepared:
            ps = self.session.prepare("SELECT * FROM %s.all_types WHERE k = ?" % self.ks)
            rows = list(self.session.execute(ps, [k]))
        else:
            rows = list(self.session.execute("SELECT * FROM %s.all_types WHERE k = %%s" % self.ks, [k]))
        eq(len(rows), 1, "rows for k=%d" % k)
        return rows[0]

    def types_simple(self):
        v = full_values()
        self._insert_simple(1, v)
        compare_row(self._read(1, prepared=False), v, "simple write, simple read")
        compare_row(self._read(1, prepared=True), v, "simple write, prepared read")

    def types_prepared(self):
        v = full_values()
        self._insert_prepared(2, v)
        compare_row(self._read(2, prepared=True), v, "prepared write, prepared read")
        compare_row(self._read(2, prepared=False), v, "prepared write, simple read")

    def types_edge(self):
        v = edge_values()
        self._insert_simple(3, v)
        compare_row(self._read(3, prepared=True), v, "edge values, simple write")
        self._insert_prepared(4, v)
        compare_row(self._read(4, prepared=False), v, "edge values, prepared write")

    def types_nan(self):
        ps = self.session.prepare("INSERT INTO %s.all_types (k, db, f) VALUES (?, ?, ?)" % self.ks)
        self.session.execute(ps, [5, float("nan"), float("nan")])
        self.session.execute("INSERT INTO %s.all_types (k, db, f) VALUES (6, NaN, -Infinity)" % self.ks)
        r5 = self._read(5, prepared=True)
        check(r5.db != r5.db and r5.f != r5.f, "NaN read back, got %r %r" % (r5.db, r5.f))
        r6 = self._read(6, prepared=False)
        check(r6.db != r6.db, "NaN literal read back, got %r" % r6.db)
        eq(r6.f, float("-inf"), "-Infinity literal")

    def types_null(self):
        self._insert_simple(10, {})
        compare_row(self._read(10, prepared=True), {}, "all NULL, simple")
        self._insert_prepared(11, {})
        compare_row(self._read(11, prepared=False), {}, "all NULL, prepared")
        # NULL over a value deletes it.
        self._insert_prepared(12, full_values())
        ps = self.session.prepare("UPDATE %s.all_types SET t = ?, l = ? WHERE k = ?" % self.ks)
        self.session.execute(ps, [None, None, 12])
        r = self._read(12, prepared=True)
        eq(r.t, None, "t after SET t = null")
        eq(r.l, None, "l after SET l = null")
        eq(r.i, -2147483648, "i untouched")

    def empty_collections(self):
        ps = self.session.prepare("INSERT INTO %s.all_types (k, l, s, m) VALUES (?, ?, ?, ?)" % self.ks)
        self.session.execute(ps, [13, [], set(), {}])
        self.session.execute("INSERT INTO %s.all_types (k, l, s, m) VALUES (14, [], {}, {})" % self.ks)
        for k in (13, 14):
            r = self._read(k, prepared=True)
            eq((r.l, r.s, r.m), (None, None, None), "empty collections of k=%d" % k)

    def unset_value(self):
        ps = self.session.prepare("INSERT INTO %s.all_types (k, t, i) VALUES (?, ?, ?)" % self.ks)
        self.session.execute(ps, [15, "kept", 1])
        self.session.execute(ps, [15, UNSET_VALUE, 2])
        r = self._read(15, prepared=True)
        eq((r.t, r.i), ("kept", 2), "t stays after an unset bind")

    def select_star_order(self):
        rs = self.session.execute("SELECT * FROM %s.all_types WHERE k = 1" % self.ks)
        eq(list(rs.column_names), ["k"] + sorted(NAMES), "SELECT * columns")

    def date_ext(self):
        self.session.execute("INSERT INTO %s.all_types (k, d) VALUES (%%s, %%s)" % self.ks,
                             [16, Date(datetime.date(1900, 1, 1))])
        eq(norm(self._read(16, prepared=True).d), norm(datetime.date(1900, 1, 1)), "date from integer literal")
        self.session.execute("INSERT INTO %s.all_types (k, d) VALUES (17, '-0001-01-01')" % self.ks)
        # Year 0 is before datetime.MINYEAR: the driver keeps days since epoch.
        d = self._read(17, prepared=False).d
        eq(d.days_from_epoch, -719893, "days of -0001-01-01")

    def vector(self):
        self.session.execute("INSERT INTO %s.vec (k, v) VALUES (1, [1.5, -2.0, 3.25])" % self.ks)
        rows = list(self.session.execute("SELECT v FROM %s.vec WHERE k = 1" % self.ks))
        eq(len(rows), 1, "rows")
        raw = rows[0].v
        check(isinstance(raw, (bytes, bytearray)), "driver 3.25 hands the vector over as bytes, got %r" % (raw,))
        eq(struct.unpack(">3f", raw), (1.5, -2.0, 3.25), "vector elements (12 bytes, no per-element length)")
        ps = self.session.prepare("INSERT INTO %s.vec (k, v) VALUES (?, ?)" % self.ks)
        self.session.execute(ps, [2, struct.pack(">3f", 0.5, 0.25, -8.0)])
        raw = list(self.session.execute("SELECT v FROM %s.vec WHERE k = 2" % self.ks))[0].v
        eq(struct.unpack(">3f", raw), (0.5, 0.25, -8.0), "prepared vector")

    # -- counters --

    def counters(self):
        x = self.session.execute
        x("UPDATE %s.cnt SET c1 = c1 + 5, c2 = c2 - 3 WHERE k = 'a'" % self.ks)
        x("UPDATE %s.cnt SET c1 = c1 + 5, c2 = c2 - 3 WHERE k = 'a'" % self.ks)
        ps = self.session.prepare("UPDATE %s.cnt SET c1 = c1 + ? WHERE k = ?" % self.ks)
        self.session.execute(ps, [-12, "a"])
        self.session.execute(ps, [7, "b"])
        rows = {r.k: (r.c1, r.c2) for r in x("SELECT k, c1, c2 FROM %s.cnt" % self.ks)}
        eq(rows, {"a": (-2, -6), "b": (7, None)}, "counters")

    def aggregates(self):
        x = self.session.execute
        rs = x("SELECT p, max(c), min(c), sum(c), avg(c), count(v), count(*) FROM %s.wide WHERE p = 1" % self.ks)
        eq(rs.column_names, ["p", "system.max(c)", "system.min(c)", "system.sum(c)", "system.avg(c)",
                             "system.count(v)", "count"], "aggregate column names")
        eq([t.typename for t in rs.column_types], ["int", "int", "int", "int", "int", "bigint", "bigint"], "aggregate types")
        rows = list(rs)
        eq(len(rows), 1, "one aggregate row")
        check(rows[0][6] >= 1, "count(*) counts the partition's rows")
        eq(rs.response_future.warnings, None, "no warning with the partition key")
        rs = x("SELECT max(c) FROM %s.wide" % self.ks)
        eq(rs.response_future.warnings, ["Aggregation query used without partition key"], "aggregation warning")
        rs = x("SELECT p, count(*) FROM %s.wide WHERE p IN (1, 2) GROUP BY p" % self.ks)
        eq(rs.response_future.warnings, ["Aggregation query used on multiple partition keys (IN restriction)"], "IN warning")
        eq(rs.column_names, ["p", "count"], "GROUP BY column names")
        ps = [r.p for r in rs]
        eq(ps, sorted(ps), "IN partitions in key order")
        check(1 in ps, "partition 1 grouped")
        e = raises(InvalidRequest, x, "SELECT * FROM %s.wide GROUP BY v" % self.ks)
        check("Group by is currently only supported on the columns of the PRIMARY KEY, got v" in str(e), str(e))

    def functions(self):
        x = self.session.execute
        x("INSERT INTO %s.kv (k, v) VALUES ('fn', 7)" % self.ks)
        rs = x("SELECT CAST(v AS text), toJson(v), blobAsInt(intAsBlob(v)), toDate(currentTimestamp()) "
               "FROM %s.kv WHERE k = 'fn'" % self.ks)
        eq(rs.column_names, ["cast(v as text)", "system.tojson(v)", "system.blobasint(system.intasblob(v))",
                             "system.todate(system.currenttimestamp())"], "function column names")
        r = rs.one()
        eq((r[0], r[1], r[2]), ("7", "7", 7), "function values")

    def insert_json(self):
        x = self.session.execute
        x("INSERT INTO %s.kv JSON '{\"k\": \"json-1\", \"v\": 41}'" % self.ks)
        ps = self.session.prepare("INSERT INTO %s.kv JSON ?" % self.ks)
        self.session.execute(ps, ['{"k": "json-2", "v": "42"}'])
        eq(self._kv(["json-1", "json-2"]), {"json-1": 41, "json-2": 42}, "rows written from JSON")
        e = raises(InvalidRequest, x, "INSERT INTO %s.kv JSON '{\"k\": \"j\", \"nope\": 1}'" % self.ks)
        check("JSON values map contains unrecognized column: nope" in str(e), str(e))

    def indexes(self):
        x = self.session.execute
        x("INSERT INTO %s.kv (k, v) VALUES ('indexed', 4141)" % self.ks)
        e = raises(InvalidRequest, x, "SELECT k FROM %s.kv WHERE v = 4141" % self.ks)
        check("use ALLOW FILTERING" in str(e), str(e))
        x("CREATE INDEX kv_v ON %s.kv (v)" % self.ks)
        eq([r.k for r in x("SELECT k FROM %s.kv WHERE v = 4141" % self.ks)], ["indexed"], "indexed query")
        rows = list(x("SELECT index_name, kind, options FROM system_schema.indexes WHERE keyspace_name = %s", [self.ks]))
        eq([(r.index_name, r.kind, dict(r.options)) for r in rows], [("kv_v", "COMPOSITES", {"target": "v"})], "system_schema.indexes")
        x("DROP INDEX %s.kv_v" % self.ks)
        raises(InvalidRequest, x, "SELECT k FROM %s.kv WHERE v = 4141" % self.ks)

    def vector_search(self):
        x = self.session.execute
        rs = x("CREATE INDEX vec_v ON %s.vec (v) USING 'sai'" % self.ks)
        warnings = rs.response_future.warnings or []
        check(len(warnings) == 1 and warnings[0].startswith("SAI ANN indexes on vector columns are experimental"), repr(warnings))
        rows = list(x("SELECT k FROM %s.vec ORDER BY v ANN OF [0.5, 0.25, -7.0] LIMIT 2" % self.ks))
        eq([r.k for r in rows], [2, 1], "nearest row first")
        e = raises(InvalidRequest, x, "SELECT k FROM %s.vec ORDER BY v ANN OF [0.5, 0.25, -7.0]" % self.ks)
        check("requires a LIMIT" in str(e), str(e))
        x("DROP INDEX %s.vec_v" % self.ks)

    def counter_insert_refused(self):
        raises(InvalidRequest, self.session.execute, "INSERT INTO %s.cnt (k, c1) VALUES ('z', 1)" % self.ks)

    # -- batches --

    def _kv(self, keys):
        ps = self.session.prepare("SELECT k, v FROM %s.kv WHERE k = ?" % self.ks)
        out = {}
        for k in keys:
            for r in self.session.execute(ps, [k]):
                out[r.k] = r.v
        return out

    def batch_logged(self):
        ps = self.session.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % self.ks)
        b = BatchStatement(batch_type=BatchType.LOGGED)
        for i in range(5):
            b.add(ps, ("logged-%d" % i, i))
        b.add(SimpleStatement("INSERT INTO %s.kv (k, v) VALUES (%%s, %%s)" % self.ks), ("logged-simple", 99))
        b.add(SimpleStatement("DELETE FROM %s.kv WHERE k = 'logged-0'" % self.ks))
        self.session.execute(b)
        keys = ["logged-%d" % i for i in range(5)] + ["logged-simple"]
        want = {"logged-%d" % i: i for i in range(1, 5)}
        want["logged-simple"] = 99
        eq(self._kv(keys), want, "rows written by the LOGGED batch")

    def batch_unlogged(self):
        ps = self.session.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % self.ks)
        up = self.session.prepare("UPDATE %s.kv SET v = ? WHERE k = ?" % self.ks)
        b = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=ConsistencyLevel.QUORUM)
        for i in range(20):
            b.add(ps, ("unlogged-%d" % i, i))
        b.add(up, (1000, "unlogged-3"))
        self.session.execute(b)
        want = {"unlogged-%d" % i: i for i in range(20)}
        want["unlogged-3"] = 1000
        eq(self._kv(list(want)), want, "rows written by the UNLOGGED batch")

    def batch_counter(self):
        ps = self.session.prepare("UPDATE %s.cnt SET c2 = c2 + ? WHERE k = ?" % self.ks)
        b = BatchStatement(batch_type=BatchType.COUNTER)
        b.add(ps, (10, "batch"))
        b.add(ps, (5, "batch"))
        b.add(ps, (1, "batch2"))
        self.session.execute(b)
        rows = {r.k: r.c2 for r in self.session.execute("SELECT k, c2 FROM %s.cnt WHERE k IN ('batch', 'batch2')"
                                                          % self.ks)}
        eq(rows, {"batch": 15, "batch2": 1}, "counter batch")

    def batch_counter_in_logged(self):
        ps = self.session.prepare("UPDATE %s.cnt SET c2 = c2 + ? WHERE k = ?" % self.ks)
        b = BatchStatement(batch_type=BatchType.LOGGED)
        b.add(ps, (1, "never"))
        raises(InvalidRequest, self.session.execute, b)

    def lwt(self):
        q = "INSERT INTO %s.kv (k, v) VALUES ('lwt', %%s) IF NOT EXISTS" % self.ks
        rs = self.session.execute(q, [1])
        check(rs.was_applied, "first INSERT IF NOT EXISTS applied")
        rs = self.session.execute(q, [2])
        check(not rs.was_applied, "second INSERT IF NOT EXISTS not applied")
        eq(rs.one().v, 1, "existing value returned with [applied] = false")

    def use_keyspace(self):
        s2 = self.cluster.connect(self.ks)
        try:
            s2.execute("INSERT INTO kv (k, v) VALUES ('use', 1)")
            eq(s2.execute("SELECT v FROM kv WHERE k = 'use'").one().v, 1, "unqualified read")
            ps = s2.prepare("SELECT v FROM kv WHERE k = ?")
            eq(s2.execute(ps, ["use"]).one().v, 1, "unqualified prepared read")
        finally:
            s2.shutdown()

    def markers(self):
        ps = self.session.prepare("INSERT INTO %s.kv (k, v) VALUES (:k, :v) USING TTL :ttl AND TIMESTAMP :ts" % self.ks)
        eq([c.name for c in ps.column_metadata], ["k", "v", "ttl", "ts"], "named bind markers")
        eq(ps.routing_key_indexes, [0], "routing key indexes")
        self.session.execute(ps, {"k": "markers", "v": 7, "ttl": 1000, "ts": 1234567})
        r = self.session.execute("SELECT v, TTL(v), WRITETIME(v) FROM %s.kv WHERE k = 'markers'" % self.ks).one()
        eq(tuple(r), (7, 1000, 1234567), "v, ttl, writetime")
        eq(list(self.session.execute("SELECT k, TTL(v), WRITETIME(v) FROM %s.kv WHERE k = 'markers'"
                                     % self.ks).column_names), ["k", "ttl(v)", "writetime(v)"], "selector names")
        ps = self.session.prepare("UPDATE %s.kv USING TTL ? AND TIMESTAMP ? SET v = ? WHERE k = ?" % self.ks)
        eq([c.name for c in ps.column_metadata], ["[ttl]", "[timestamp]", "v", "k"], "anonymous marker names")
        eq(ps.routing_key_indexes, [3], "routing key indexes")
        ps = self.session.prepare("SELECT k FROM %s.kv WHERE k IN ? LIMIT ?" % self.ks)
        eq([c.name for c in ps.column_metadata], ["in(k)", "[limit]"], "IN ? and LIMIT ? marker names")
        for k, v in (("in-a", 1), ("in-b", 2), ("in-c", 3)):
            self.session.execute("INSERT INTO %s.kv (k, v) VALUES (%%s, %%s)" % self.ks, (k, v))
        eq(sorted(r.k for r in self.session.execute(ps, [["in-a", "in-c", "in-x"], 10])), ["in-a", "in-c"], "IN ?")
        eq(len(list(self.session.execute(ps, [["in-a", "in-b", "in-c"], 2]))), 2, "LIMIT ?")

    def client_timestamps(self):
        gen = self.cluster.timestamp_generator
        try:
            self.cluster.timestamp_generator = lambda: 5000
            self.session.execute("INSERT INTO %s.kv (k, v) VALUES ('ts', 1)" % self.ks)
            self.cluster.timestamp_generator = lambda: 4000  # older: loses
            ps = self.session.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % self.ks)
            self.session.execute(ps, ["ts", 2])
        finally:
            self.cluster.timestamp_generator = gen
        eq(tuple(self.session.execute("SELECT v, WRITETIME(v) FROM %s.kv WHERE k = 'ts'" % self.ks).one()),
           (1, 5000), "value and writetime")
        b = BatchStatement(batch_type=BatchType.UNLOGGED)
        b.add(SimpleStatement("INSERT INTO %s.kv (k, v) VALUES ('ts', 3)" % self.ks))
        gen = self.cluster.timestamp_generator
        try:
            self.cluster.timestamp_generator = lambda: 6000
            self.session.execute(b)
        finally:
            self.cluster.timestamp_generator = gen
        eq(tuple(self.session.execute("SELECT v, WRITETIME(v) FROM %s.kv WHERE k = 'ts'" % self.ks).one()),
           (3, 6000), "batch timestamp")

    def keyspace_flag(self):
        self.session.execute("INSERT INTO %s.kv (k, v) VALUES ('ksflag', 1)" % self.ks)
        stmt = SimpleStatement("SELECT v FROM kv WHERE k = 'ksflag'", keyspace=self.ks)
        eq(self.session.execute(stmt).one().v, 1, "unqualified QUERY with the keyspace flag")
        ps = self.session.prepare("SELECT v FROM kv WHERE k = ?", keyspace=self.ks)
        eq(self.session.execute(ps, ["ksflag"]).one().v, 1, "unqualified PREPARE with the keyspace flag")
        eq(ps.keyspace, self.ks, "prepared statement keyspace")

    def metadata_changed(self):
        x = self.session.execute
        x("CREATE TABLE %s.evolving (k int PRIMARY KEY, a int)" % self.ks)
        x("INSERT INTO %s.evolving (k, a) VALUES (1, 10)" % self.ks)
        ps = self.session.prepare("SELECT * FROM %s.evolving WHERE k = ?" % self.ks)
        eq(list(self.session.execute(ps, [1]).one()), [1, 10], "row before ALTER")
        x("ALTER TABLE %s.evolving ADD b text" % self.ks)
        x("UPDATE %s.evolving SET b = 'new' WHERE k = 1" % self.ks)
        rs = self.session.execute(ps, [1])
        eq(list(rs.column_names), ["k", "a", "b"], "columns after ALTER (METADATA_CHANGED)")
        eq(list(rs.one()), [1, 10, "new"], "row after ALTER")

    # -- paging --

    def paging_insert(self):
        ps = self.session.prepare("INSERT INTO %s.paged (k, v) VALUES (?, ?)" % self.ks)
        simctl.run_concurrently(self.session, ps, [(i, "v%d" % i) for i in range(10000)], concurrency=100)
        ps = self.session.prepare("INSERT INTO %s.wide (p, c, v) VALUES (?, ?, ?)" % self.ks)
        simctl.run_concurrently(self.session, ps, [(1, i, "c%d" % i) for i in range(1000)], concurrency=100)

    def _pages(self, rs):
        pages = [list(rs.current_rows)]
        states = [rs.paging_state]
        while rs.has_more_pages:
            rs.fetch_next_page()
            pages.append(list(rs.current_rows))
            states.append(rs.paging_state)
        return pages, states

    def paging_all(self):
        stmt = SimpleStatement("SELECT k, token(k) FROM %s.paged" % self.ks, fetch_size=100)
        pages, states = self._pages(self.session.execute(stmt))
        sizes = [len(p) for p in pages]
        # Cassandra may end with one empty page when the last page came out exactly full.
        if sizes and sizes[-1] == 0:
            sizes.pop()
        eq(sizes, [100] * 100, "page sizes")
        rows = [r for p in pages for r in p]
        keys = [r[0] for r in rows]
        eq(len(set(keys)), 10000, "distinct keys")
        eq(set(keys), set(range(10000)), "keys")
        tokens = [r[1] for r in rows]
        check(all(a < b for a, b in zip(tokens, tokens[1:])), "rows in ascending token order")
        tc = self.cluster.metadata.token_map.token_class
        for r in rows[:500]:
            eq(tc.from_key(struct.pack(">i", r[0])).value, r[1], "driver token of k=%d" % r[0])
        self.paged_pages, self.paged_states = pages, states

    def paging_resume(self):
        stmt = SimpleStatement("SELECT k, token(k) FROM %s.paged" % self.ks, fetch_size=100)
        first = self.session.execute(stmt)
        ps = first.paging_state
        check(ps, "paging_state after the first page")
        nxt = self.session.execute(stmt, paging_state=ps)
        eq([tuple(r) for r in nxt.current_rows], [tuple(r) for r in self.paged_pages[1]], "page 2 resumed")
        # Resume deep: from the state saved after page 50.
        mid = self.session.execute(stmt, paging_state=self.paged_states[49])
        eq([tuple(r) for r in mid.current_rows], [tuple(r) for r in self.paged_pages[50]], "page 51 resumed")
        # A prepared statement resumes from its own paging state.
        pst = self.session.prepare("SELECT k FROM %s.paged" % self.ks)
        pst.fetch_size = 100
        r1 = self.session.execute(pst)
        r2 = self.session.execute(pst, paging_state=r1.paging_state)
        eq([r.k for r in r2.current_rows], [r[0] for r in self.paged_pages[1]], "prepared page 2 resumed")

    def paging_prepared(self):
        pst = self.session.prepare("SELECT k, v FROM %s.paged" % self.ks)
        pst.fetch_size = 100
        seen = set()
        n = 0
        for r in self.session.execute(pst):
            n += 1
            seen.add(r.k)
            eq(r.v, "v%d" % r.k, "value of k=%d" % r.k)
        eq((n, len(seen)), (10000, 10000), "rows and distinct keys")

    def paging_clustering(self):
        for order, want in (("ASC", list(range(1000))), ("DESC", list(range(999, -1, -1)))):
            stmt = SimpleStatement("SELECT c, v FROM %s.wide WHERE p = 1 ORDER BY c %s" % (self.ks, order),
                                   fetch_size=100)
            pages, _ = self._pages(self.session.execute(stmt))
            got = [r.c for p in pages for r in p]
            eq(got, want, "clustering order %s" % order)
            check(max(len(p) for p in pages) <= 100, "pages of at most 100 rows")
            check(len([p for p in pages if p]) == 10, "10 non-empty pages, got %d" % len(pages))
        stmt = SimpleStatement("SELECT c FROM %s.wide WHERE p = 1 AND c >= 250 AND c < 750" % self.ks,
                               fetch_size=64)
        eq([r.c for r in self.session.execute(stmt)], list(range(250, 750)), "clustering slice, paged")

    def tracing(self):
        hosts = set(str(h.address) for h in self.cluster.metadata.all_hosts())
        q = "SELECT k FROM %s.all_types WHERE k = 1" % self.ks
        rs = self.session.execute(q, trace=True)
        trace = rs.get_query_trace(max_wait_sec=5)
        check(trace is not None and trace.trace_id is not None, "no trace for a traced query")
        eq(trace.request_type, "Execute CQL3 query", "sessions.request")
        eq(trace.parameters.get("query"), q, "sessions.parameters['query']")
        check(str(trace.coordinator) in hosts, "coordinator %r is not a node" % trace.coordinator)
        eq(str(trace.client), "127.0.0.1", "sessions.client")
        check(trace.duration is not None and trace.duration.total_seconds() > 0, "duration %r" % trace.duration)
        check(len(trace.events) >= 3, "only %d events" % len(trace.events))
        eq(trace.events[0].description, "Parsing " + q, "first event")
        check(any(e.description == "Executing single-partition query on all_types" for e in trace.events),
              "no read event in %r" % [e.description for e in trace.events])
        for e in trace.events:
            check(str(e.source) in hosts, "event source %r is not a node" % e.source)
        elapsed = [e.source_elapsed.total_seconds() for e in trace.events]
        eq(elapsed, sorted(elapsed), "events in time order")
        ps = self.session.prepare("SELECT k FROM %s.all_types WHERE k = ?" % self.ks)
        rs = self.session.execute(ps, [1], trace=True)
        trace2 = rs.get_query_trace(max_wait_sec=5)
        check(trace2.trace_id != trace.trace_id, "same trace id twice")
        eq(trace2.request_type, "Execute CQL3 prepared query", "sessions.request (prepared)")
        eq(trace2.parameters.get("query"), ps.query_string, "sessions.parameters['query'] (prepared)")
        check(len(trace2.events) >= 2, "only %d events (prepared)" % len(trace2.events))
        # Untraced requests carry no trace.
        rs = self.session.execute(q)
        check(not rs.response_future._query_traces, "an untraced query has a trace")

    def count_all(self):
        eq(self.session.execute("SELECT COUNT(*) FROM %s.paged" % self.ks).one()[0], 10000, "COUNT(*)")

    def wire_compression(self):
        # A big compressible text value, written and read back through the target node:
        # its byte counters show whether LZ4 is on the wire both ways.
        big = "cqlpp " * 40000  # 240 kB
        ins = self.session.prepare("INSERT INTO %s.all_types (k, t) VALUES (?, ?)" % self.ks)
        sel = self.session.prepare("SELECT t FROM %s.all_types WHERE k = ?" % self.ks)
        node = self.ids[self.target]
        before = self.sim.counters()
        self.session.execute(ins, [100, big], execution_profile="target_noretry")
        mid = self.sim.counters()
        got = self.session.execute(sel, [100], execution_profile="target_noretry").one().t
        after = self.sim.counters()
        eq(got, big, "big value read back")
        sent = simctl.delta(before, mid, node, "bytes_in")
        received = simctl.delta(mid, after, node, "bytes_out")
        if self.lz4:
            check(sent < 20000 and received < 20000,
                  "lz4: %d bytes in, %d bytes out for a 240 kB value" % (sent, received))
        else:
            check(sent > 240000 and received > 240000,
                  "no compression: %d bytes in, %d bytes out for a 240 kB value" % (sent, received))

    def heartbeat(self):
        before = self.sim.counters()
        time.sleep(2.5)
        after = self.sim.counters()
        for addr, node in self.ids.items():
            check(simctl.delta(before, after, node, "requests_OPTIONS") >= 1, "heartbeat OPTIONS to %s" % addr)
            eq(simctl.delta(before, after, node, "connections_total"), 0, "new connections to %s" % addr)
        eq(self.session.execute("SELECT v FROM %s.kv WHERE k = 'logged-1'" % self.ks).one().v, 1, "query afterwards")

    # -- errors --

    def err_syntax(self):
        e = raises(SyntaxException, self.session.execute, "SELEC * FROM %s.kv" % self.ks)
        eq(e.code, 0x2000, "error code")

    def err_unconfigured(self):
        e = raises(InvalidRequest, self.session.execute, "SELECT * FROM %s.nope" % self.ks)
        check("unconfigured table nope" in str(e), "message: %s" % e)
        e = raises(InvalidRequest, self.session.prepare, "SELECT * FROM %s.nope WHERE k = ?" % self.ks)
        check("unconfigured table nope" in str(e), "prepare message: %s" % e)

    def err_no_keyspace(self):
        e = raises(InvalidRequest, self.session.execute, "SELECT * FROM no_such_ks.t")
        check("no_such_ks" in str(e), "message: %s" % e)

    def err_bad_type(self):
        raises(InvalidRequest, self.session.execute,
               "INSERT INTO %s.kv (k, v) VALUES ('bad', 'not an int')" % self.ks)
        raises(InvalidRequest, self.session.execute, "INSERT INTO %s.kv (k, v) VALUES (1, 1)" % self.ks)
        raises(InvalidRequest, self.session.execute, "SELECT * FROM %s.kv WHERE k = 'a' AND nope = 1" % self.ks)

    def err_tuple_as_list(self):
        raises(InvalidRequest, self.session.execute,
               "INSERT INTO %s.all_types (k, tup) VALUES (1, [1, 'a', 2.0])" % self.ks)

    def err_missing_key(self):
        raises(InvalidRequest, self.session.execute, "INSERT INTO %s.kv (v) VALUES (1)" % self.ks)
        raises(InvalidRequest, self.session.execute, "SELECT * FROM %s.wide WHERE c = 1" % self.ks)

    def err_already_exists(self):
        e = raises(AlreadyExists, self.session.execute, "CREATE TABLE %s.kv (k text PRIMARY KEY)" % self.ks)
        eq((e.keyspace, e.table), (self.ks, "kv"), "AlreadyExists keyspace/table")
        e = raises(AlreadyExists, self.session.execute,
                   "CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
                   % self.ks)
        eq(e.keyspace, self.ks, "AlreadyExists keyspace")
        check(not e.table, "no table for a keyspace: %r" % e.table)
        self.session.execute("CREATE TABLE IF NOT EXISTS %s.kv (k text PRIMARY KEY)" % self.ks)

    def _inject(self, error, count=1, addr=None):
        self.sim.set_node(self.ids[addr or self.target], fail_next=count, fail_error=error)

    def _injected_count(self, addr=None):
        return self.sim.counters()[(self.ids[addr or self.target], "errors_injected")]

    def _expect_injected(self, error, exc, stmt, params=None):
        n0 = self._injected_count()
        self._inject(error)
        e = raises(exc, self.session.execute, stmt, params, execution_profile="target_noretry")
        eq(self._injected_count() - n0, 1, "errors_injected on the target")
        return e

    def err_read_timeout(self):
        e = self._expect_injected("READ_TIMEOUT", ReadTimeout, "SELECT * FROM %s.kv WHERE k = 'x'" % self.ks)
        eq(e.consistency, ConsistencyLevel.LOCAL_ONE, "consistency")
        eq((e.received_responses, e.required_responses, e.data_retrieved), (0, 1, False), "read timeout info")
        # Default retry policy: not enough responses, so it rethrows.
        self._inject("READ_TIMEOUT")
        ps = self.session.prepare("SELECT * FROM %s.kv WHERE k = ?" % self.ks)
        e = raises(ReadTimeout, self.session.execute, ps, ["x"], execution_profile="target_then_other")

    def err_write_timeout(self):
        e = self._expect_injected("WRITE_TIMEOUT", WriteTimeout, "INSERT INTO %s.kv (k, v) VALUES ('w', 1)" % self.ks)
        eq(e.write_type, WriteType.SIMPLE, "write type")
        eq((e.received_responses, e.required_responses), (0, 1), "write timeout info")
        ps = self.session.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % self.ks)
        b = BatchStatement(batch_type=BatchType.LOGGED)
        b.add(ps, ("wb", 1))
        e = self._expect_injected("WRITE_TIMEOUT", WriteTimeout, b)
        eq(e.write_type, WriteType.BATCH, "write type of a batch")

    def err_injected_unavailable(self):
        e = self._expect_injected("UNAVAILABLE", Unavailable, "SELECT * FROM %s.kv WHERE k = 'x'" % self.ks)
        eq(e.consistency, ConsistencyLevel.LOCAL_ONE, "consistency")

    def err_overloaded(self):
        e = self._expect_injected("OVERLOADED", OverloadedErrorMessage, "SELECT * FROM %s.kv WHERE k = 'x'" % self.ks)
        eq(e.code, 0x1001, "code")

    def err_bootstrapping(self):
        e = self._expect_injected("IS_BOOTSTRAPPING", IsBootstrappingErrorMessage,
                                  "SELECT * FROM %s.kv WHERE k = 'x'" % self.ks)
        eq(e.code, 0x1002, "code")

    def err_server_error(self):
        e = self._expect_injected("SERVER_ERROR", ServerError, "SELECT * FROM %s.kv WHERE k = 'x'" % self.ks)
        eq(e.code, 0x0000, "code")

    def retry_next_host(self):
        self.session.execute("INSERT INTO %s.kv (k, v) VALUES ('retry', 5)" % self.ks)
        n0 = self._injected_count()
        before = self.sim.counters()
        self._inject("OVERLOADED")
        rs = self.session.execute("SELECT v FROM %s.kv WHERE k = 'retry'" % self.ks,
                                  execution_profile="target_then_other")
        eq(rs.one().v, 5, "value after the retry")
        eq(self._injected_count() - n0, 1, "errors_injected on the first host")
        eq([str(h.endpoint.address) for h in [rs.response_future.attempted_hosts[-1]]], [self.other],
           "host that answered")
        after = self.sim.counters()
        check(simctl.delta(before, after, self.ids[self.other], "requests_QUERY") >= 1, "query reached the other host")
        # Every host in the plan overloaded: NoHostAvailable naming each.
        self._inject("OVERLOADED")
        self._inject("OVERLOADED", addr=self.other)
        e = raises(NoHostAvailable, self.session.execute, "SELECT v FROM %s.kv WHERE k = 'retry'" % self.ks,
                   execution_profile="target_then_other")
        kinds = sorted(type(x).__name__ for x in e.errors.values())
        eq(kinds, ["OverloadedErrorMessage"] * 2, "errors per host")

    def priming(self):
        # Canned answers through CQL, as a Python test suite would set them up;
        # the driver writes the literals (rows are lists of CQL literals).
        q = "SELECT name, qty FROM %s.primed WHERE id = 1" % self.ks  # no such table: only the prime answers
        q_err = "SELECT name FROM %s.primed WHERE id = 2" % self.ks
        q_prep = "SELECT name FROM %s.primed WHERE id = ?" % self.ks
        ex = self.session.execute
        try:
            ex("UPDATE sim.settings SET value = 100 WHERE name = 'activity_log'")
            ex("INSERT INTO sim.primes (query, columns, rows) VALUES (%s, %s, %s)",
               (q, ["name text", "qty int"], [["'apple'", "3"], ["'pear'", "null"]]))
            eq([(r.name, r.qty) for r in ex(q)], [("apple", 3), ("pear", None)], "primed rows")
            ex("INSERT INTO sim.primes (query, error, required, alive, error_consistency) "
               "VALUES (%s, 'UNAVAILABLE', 3, 1, 'QUORUM')", (q_err,))
            e = raises(Unavailable, ex, q_err, execution_profile="target_noretry")
            eq((e.consistency, e.required_replicas, e.alive_replicas), (ConsistencyLevel.QUORUM, 3, 1),
               "unavailable fields")
            # PREPARE of a primed text the engine cannot prepare: metadata from the rule.
            ex("INSERT INTO sim.primes (query, params, columns, rows) VALUES (%s, ['id int'], ['name text'], %s)",
               (q_prep, [["'seven'"]]))
            ps = self.session.prepare(q_prep)
            eq(ex(ps, [7]).one().name, "seven", "primed prepared statement")
            log = list(ex("SELECT op, query, values, primed FROM sim.activity"))
            eq(sorted((r.op, r.primed) for r in log if r.query == q), [("QUERY", True)], "activity: the primed query")
            eq([list(r.values or []) for r in log if r.op == "EXECUTE" and r.query == q_prep], [["7"]],
               "activity: EXECUTE with its bound value")
        finally:
            ex("TRUNCATE sim.primes")
            ex("TRUNCATE sim.activity")
            ex("UPDATE sim.settings SET value = 0 WHERE name = 'activity_log'")

    def _host(self, addr):
        return [h for h in self.cluster.metadata.all_hosts() if h.address == addr][0]

    def _stop_target(self):
        """Stops the target node and waits until the driver has it down.

        The simulator pushes STATUS_CHANGE DOWN in the same instant it closes the
        node's connections; the driver ignores a DOWN event while it still holds an
        open pool connection to the host, so a request to the host may be needed
        for it to notice the closed socket (real Cassandra's DOWN comes from gossip
        seconds after the connections died)."""
        self.sim.set_node(self.ids[self.target], state="down")
        simctl.wait_for(lambda: self.sim.nodes()[self.target].state == "down", 10, "sim node down")
        host = self._host(self.target)

        def driver_sees_down():
            if host.is_up:
                try:
                    self.session.execute("SELECT key FROM system.local", execution_profile="target_noretry")
                except Exception:  # noqa: BLE001 -- the point is to hit the closed connection
                    pass
            return not host.is_up

        simctl.wait_for(driver_sees_down, 15, "driver to mark %s down" % self.target)

    def _start_target(self):
        self.sim.set_node(self.ids[self.target], state="up")
        host = self._host(self.target)
        simctl.wait_for(lambda: host.is_up and any(p.host.address == self.target and p.get_connections()
                                                   for p in self.session.get_pools()), 30,
                        "driver to reconnect to %s" % self.target)

    def err_unavailable_node_down(self):
        self.session.execute("INSERT INTO %s.kv (k, v) VALUES ('avail', 1)" % self.ks)
        try:
            self._stop_target()
            stmt = SimpleStatement("INSERT INTO %s.kv (k, v) VALUES ('avail', 2)" % self.ks,
                                   consistency_level=ConsistencyLevel.ALL)
            e = raises(Unavailable, self.session.execute, stmt, execution_profile="noretry")
            eq(e.consistency, ConsistencyLevel.ALL, "consistency")
            eq((e.required_replicas, e.alive_replicas), (3, 2), "required/alive replicas")
            check("Cannot achieve consistency level ALL" in str(e), "message: %s" % e)
            # The default retry policy tries the next host once, then gives up the same way.
            raises(Unavailable, self.session.execute, stmt)
            read = SimpleStatement("SELECT v FROM %s.kv WHERE k = 'avail'" % self.ks,
                                   consistency_level=ConsistencyLevel.ALL)
            raises(Unavailable, self.session.execute, read, execution_profile="noretry")
            # QUORUM still works with 2 of 3 replicas.
            q = SimpleStatement("SELECT v FROM %s.kv WHERE k = 'avail'" % self.ks,
                                consistency_level=ConsistencyLevel.QUORUM)
            eq(self.session.execute(q).one().v, 1, "QUORUM read with a node down")
        finally:
            self._start_target()
        stmt = SimpleStatement("SELECT v FROM %s.kv WHERE k = 'avail'" % self.ks,
                               consistency_level=ConsistencyLevel.ALL)
        eq(self.session.execute(stmt, execution_profile="noretry").one().v, 1, "CL=ALL after the node is back")

    def reprepare(self):
        # A restarted node forgets its prepared statements; reprepare_on_up is off,
        # so the driver meets UNPREPARED and prepares again on that node.
        ps = self.session.prepare("SELECT v FROM %s.kv WHERE k = ?" % self.ks)
        node = self.ids[self.target]
        try:
            self._stop_target()
        finally:
            self._start_target()
        before = self.sim.counters()
        eq(self.session.execute(ps, ["avail"], execution_profile="target_noretry").one().v, 1, "re-prepared read")
        after = self.sim.counters()
        eq(simctl.delta(before, after, node, "requests_PREPARE"), 1, "PREPARE sent again to the restarted node")
        eq(simctl.delta(before, after, node, "requests_EXECUTE"), 2, "EXECUTE (UNPREPARED, then again)")

    def shutdown(self):
        if getattr(self, "cluster", None) is not None:
            self.cluster.shutdown()


# ---------------------------------------------------------------------------
# tokens / dcs modes: the driver's token map and replica placement against the simulator's

class Tokens:
    def __init__(self, args, suite, keyspaces, local_dc=None):
        self.args = args
        self.s = suite
        self.keyspaces = keyspaces  # [(name, replication map literal, replicas per key)]
        self.local_dc = local_dc

    def run(self):
        s = self.s
        s.setup("connect", self.connect)
        s.run("metadata: every node up with its datacenter and rack", self.hosts)
        s.setup("schema and 1,000 keys per table", self.schema)
        for ks, _, rf in self.keyspaces:
            s.run("%s: driver token == token(k) for 1,000 text keys" % ks, self.token_agreement, ks, "t")
            s.run("%s: driver token == token(a, b) for 1,000 composite keys" % ks, self.token_agreement, ks, "c")
            s.run("%s: token-aware reads and writes never reach a non-replica" % ks, self.token_aware, ks, rf)
            s.run("%s: get_replicas() == the simulator's replicas for 1,000 keys" % ks, self.replicas, ks, rf)
        if self.local_dc:
            s.run("%s: LOCAL_QUORUM / EACH_QUORUM / QUORUM / ALL with a %s node down"
                  % (self.keyspaces[0][0], self.local_dc), self.dc_availability, self.keyspaces[0][0])
        s.run("shutdown", self.shutdown, needs_setup=False)

    def dc_availability(self, ks):
        """NetworkTopologyStrategy {dc1: 2, dc2: 2}, coordinator in dc1, one dc1 node down."""
        ctl = control_host(self.cluster)
        md = self.cluster.metadata
        rows = self.sim.nodes()
        sel = self.session.prepare("SELECT v FROM %s.t WHERE k = ?" % ks)
        reps = {k: {h.address for h in md.get_replicas(ks, sel.bind((k,)).routing_key)} for k in self.keys}
        # A dc1 node (not the coordinator) that replicates some keys and not others
        # (with racks, NTS may put every key on a rack's only node).
        for down in sorted(a for a, r in rows.items() if r.datacenter == self.local_dc and a != ctl):
            hit = next((k for k in self.keys if down in reps[k]), None)
            miss = next((k for k in self.keys if down not in reps[k]), None)
            if hit and miss:
                break
        check(hit and miss, "a %s node that replicates some keys and not others" % self.local_dc)
        self.cluster.add_execution_profile("via_ctl", ExecutionProfile(
            load_balancing_policy=WhiteListRoundRobinPolicy([ctl]), retry_policy=FallthroughRetryPolicy(),
            request_timeout=20))
        ins = self.session.prepare("INSERT INTO %s.t (k, v) VALUES (?, ?)" % ks)

        def write(k, level):
            ins.consistency_level = level
            return self.session.execute(ins, (k, 1), execution_profile="via_ctl")

        self.sim.set_node(self.ids[down], state="down")
        try:
            simctl.wait_for(lambda: self.sim.nodes()[down].state == "down", 10, "sim node down")
            for level, required, alive in ((ConsistencyLevel.LOCAL_QUORUM, 2, 1),
                                           (ConsistencyLevel.EACH_QUORUM, 2, 1),
                                           (ConsistencyLevel.ALL, 4, 3)):
                e = raises(Unavailable, write, hit, level)
                eq((e.consistency, e.required_replicas, e.alive_replicas), (level, required, alive),
                   "Unavailable at %s (consistency, required, alive)" % ConsistencyLevel.value_to_name[level])
            for level in (ConsistencyLevel.QUORUM, ConsistencyLevel.LOCAL_ONE, ConsistencyLevel.ONE,
                          ConsistencyLevel.TWO, ConsistencyLevel.THREE):
                write(hit, level)
            for level in (ConsistencyLevel.LOCAL_QUORUM, ConsistencyLevel.EACH_QUORUM, ConsistencyLevel.ALL):
                write(miss, level)
        finally:
            self.sim.set_node(self.ids[down], state="up")
        simctl.wait_for(lambda: self.sim.nodes()[down].state == "up", 10, "sim node up")

    def connect(self):
        lb = TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=self.local_dc))
        self.cluster = make_cluster(self.args, protocol_version=self.args.protocol, lb=lb)
        self.session = self.cluster.connect()
        self.cluster.add_execution_profile("sim", ExecutionProfile(
            load_balancing_policy=WhiteListRoundRobinPolicy([control_host(self.cluster)]), request_timeout=20))
        self.sim = simctl.Sim(self.session, "sim")
        self.ids = self.sim.node_ids()
        eq(len(self.ids), self.args.nodes, "rows of sim.nodes")
        self.keys = ["key-%d" % i + "x" * (i % 23) for i in range(1000)]
        self.ckeys = [(i * 7919 - 5000, "c%d" % i) for i in range(1000)]
        for addr in self.ids:
            self.cluster.add_execution_profile(
                "only_" + addr, ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([addr]),
                                                 consistency_level=ConsistencyLevel.ONE,
                                                 retry_policy=FallthroughRetryPolicy(), request_timeout=20))

    def hosts(self):
        rows = self.sim.nodes()
        for h in self.cluster.metadata.all_hosts():
            r = rows[h.address]
            if self.local_dc and h.datacenter != self.local_dc:
                # DCAwareRoundRobinPolicy ignores remote hosts: no pool, state unknown.
                check(h.is_up is not False, "remote host %s not down" % h.address)
            else:
                check(h.is_up, "host %s is up" % h.address)
            eq((h.datacenter, h.rack), (r.datacenter, r.rack), "datacenter/rack of %s" % h.address)
        eq(len(self.cluster.metadata.all_hosts()), self.args.nodes, "hosts")

    def schema(self):
        x = self.session.execute
        for ks, repl, _ in self.keyspaces:
            x("DROP KEYSPACE IF EXISTS %s" % ks)
            x("CREATE KEYSPACE %s WITH replication = %s" % (ks, repl))
            x("CREATE TABLE %s.t (k text PRIMARY KEY, v int)" % ks)
            x("CREATE TABLE %s.c (a int, b text, v int, PRIMARY KEY ((a, b)))" % ks)
            ins = self.session.prepare("INSERT INTO %s.t (k, v) VALUES (?, ?)" % ks)
            simctl.run_concurrently(self.session, ins, [(k, i) for i, k in enumerate(self.keys)])
            ins = self.session.prepare("INSERT INTO %s.c (a, b, v) VALUES (?, ?, ?)" % ks)
            simctl.run_concurrently(self.session, ins, [(a, b, i) for i, (a, b) in enumerate(self.ckeys)])
        check(self.cluster.control_connection.wait_for_schema_agreement(wait_time=10), "schema agreement")
        # Token map replica sets are computed per keyspace once metadata has it.
        self.cluster.refresh_schema_metadata()
        for ks, _, _ in self.keyspaces:
            check(ks in self.cluster.metadata.keyspaces, "keyspace %s in metadata" % ks)

    def _table(self, ks, table):
        if table == "t":
            sel = self.session.prepare("SELECT token(k) FROM %s.t WHERE k = ?" % ks)
            return sel, [(k,) for k in self.keys]
        sel = self.session.prepare("SELECT token(a, b) FROM %s.c WHERE a = ? AND b = ?" % ks)
        return sel, list(self.ckeys)

    def token_agreement(self, ks, table):
        sel, params = self._table(ks, table)
        tc = self.cluster.metadata.token_map.token_class
        results = simctl.run_concurrently(self.session, sel, params)
        bad = []
        for p, rs in zip(params, results):
            rows = list(rs)
            got = rows[0][0] if rows else None
            want = tc.from_key(sel.bind(p).routing_key).value
            if got != want:
                bad.append((p, want, got))
        eq(bad[:5], [], "keys whose driver token differs from the simulator's (key, driver, sim); %d in all"
           % len(bad))

    def token_aware(self, ks, rf):
        read = self.session.prepare("SELECT v FROM %s.t WHERE k = ?" % ks)
        write = self.session.prepare("UPDATE %s.c SET v = ? WHERE a = ? AND b = ?" % ks)
        before = self.sim.counters()
        simctl.run_concurrently(self.session, read, [(k,) for k in self.keys])
        simctl.run_concurrently(self.session, write, [(i, a, b) for i, (a, b) in enumerate(self.ckeys)])
        after = self.sim.counters()
        non = {a: simctl.delta(before, after, n, "non_replica_requests") for a, n in self.ids.items()}
        rep = {a: simctl.delta(before, after, n, "replica_requests") for a, n in self.ids.items()}
        eq(non, {a: 0 for a in self.ids}, "non_replica_requests per node")
        eq(sum(rep.values()), 2000, "replica_requests in all (1,000 reads + 1,000 writes)")

    def replicas(self, ks, rf):
        md = self.cluster.metadata
        sel = self.session.prepare("SELECT v FROM %s.t WHERE k = ?" % ks)
        routing = {k: sel.bind((k,)).routing_key for k in self.keys}
        driver = {k: {h.address for h in md.get_replicas(ks, rk)} for k, rk in routing.items()}
        sizes = {len(v) for v in driver.values()}
        eq(sizes, {rf}, "replicas per key in the driver's token map")
        problems = []
        for addr, node in sorted(self.ids.items()):
            mine = [k for k in self.keys if addr in driver[k]]
            others = [k for k in self.keys if addr not in driver[k]]
            prof = "only_" + addr
            for group, want_rep in ((mine, True), (others, False)):
                before = self.sim.counters()
                simctl.run_concurrently(self.session, sel, [(k,) for k in group], execution_profile=prof)
                after = self.sim.counters()
                rep = simctl.delta(before, after, node, "replica_requests")
                non = simctl.delta(before, after, node, "non_replica_requests")
                want = (len(group), 0) if want_rep else (0, len(group))
                if (rep, non) != want:
                    problems.append("%s: %d keys the driver calls %s: sim counted replica=%d non_replica=%d"
                                    % (addr, len(group), "replicas" if want_rep else "non-replicas", rep, non))
        if problems:
            # Find a few individual keys for the report.
            examples = self._disagreeing_keys(ks, sel, driver)
            raise harness.CheckFailed("; ".join(problems) + "; e.g. " + "; ".join(examples))

    def _disagreeing_keys(self, ks, sel, driver, limit=3):
        out = []
        for k in self.keys:
            sim_reps = set()
            for addr, node in self.ids.items():
                before = self.sim.counters()
                self.session.execute(sel, (k,), execution_profile="only_" + addr)
                after = self.sim.counters()
                if simctl.delta(before, after, node, "replica_requests") == 1:
                    sim_reps.add(addr)
            if sim_reps != driver[k]:
                out.append("key %r: driver %s, sim %s" % (k, sorted(driver[k]), sorted(sim_reps)))
                if len(out) >= limit:
                    break
        return out

    def shutdown(self):
        if getattr(self, "cluster", None) is not None:
            self.cluster.shutdown()


# ---------------------------------------------------------------------------
# small modes

def run_auth(args, suite):
    user, password = args.user.split(":", 1)

    def good():
        c = make_cluster(args, protocol_version=args.protocol, auth=PlainTextAuthProvider(user, password))
        try:
            s = c.connect()
            eq(s.execute("SELECT release_version FROM system.local").one() is not None, True, "system.local row")
            s.execute("CREATE KEYSPACE IF NOT EXISTS interop_auth WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            s.execute("CREATE TABLE IF NOT EXISTS interop_auth.kv (k int PRIMARY KEY, v int)")
            s.execute("INSERT INTO interop_auth.kv (k, v) VALUES (1, 2)")
            eq(s.execute("SELECT v FROM interop_auth.kv WHERE k = 1").one().v, 2, "value")
            check(all(h.is_up for h in c.metadata.all_hosts()), "every host up")
        finally:
            c.shutdown()

    def bad(provider, what):
        c = make_cluster(args, protocol_version=args.protocol, auth=provider)
        try:
            e = raises(NoHostAvailable, c.connect)
            errs = list(e.errors.values())
            check(errs and all(isinstance(x, AuthenticationFailed) for x in errs),
                  "%s: AuthenticationFailed per host, got %r" % (what, e.errors))
            return errs[0]
        finally:
            c.shutdown()

    suite.run("auth: good credentials connect and query", good)
    def wrong_password():
        e = bad(PlainTextAuthProvider(user, password + "x"), "wrong password")
        check("Provided username %s and/or password are incorrect" % user in str(e), "message: %s" % e)

    suite.run("auth: wrong password -> AuthenticationFailed", wrong_password)
    suite.run("auth: unknown user -> AuthenticationFailed",
              lambda: bad(PlainTextAuthProvider("nobody", password), "unknown user"))
    suite.run("auth: no credentials -> AuthenticationFailed",
              lambda: bad(None, "no credentials"))


def run_v4only(args, suite):
    def explicit_v4():
        c = make_cluster(args, protocol_version=4)
        try:
            s = c.connect()
            eq(c.protocol_version, 4, "protocol version")
            eq(s.execute("SELECT cluster_name FROM system.local").one() is not None, True, "query")
        finally:
            c.shutdown()

    def explicit_v5_refused():
        c = make_cluster(args, protocol_version=5)
        try:
            raises(NoHostAvailable, c.connect)
        finally:
            c.shutdown()

    suite.run("v4-only: explicit protocol_version=4 connects", explicit_v4)
    args.protocol = 4
    run_negotiate(args, suite)
    suite.run("v4-only: explicit protocol_version=5 cannot connect", explicit_v5_refused)


def run_nolz4(args, suite):
    def fallback(pv, compression):
        c = make_cluster(args, protocol_version=pv, compression=compression)
        try:
            s = c.connect()
            for conn in connections_of(c, s):
                eq(conn._compression_type, None, "compression with a server that offers none")
            eq(s.execute("SELECT cluster_name FROM system.local").one() is not None, True, "query")
        finally:
            c.shutdown()

    for pv in (5, 4):
        for comp in (True, "lz4"):
            suite.run("no-lz4: v%d with compression=%r connects uncompressed" % (pv, comp), fallback, pv, comp)


def run_negotiate(args, suite):
    """No protocol_version given: the driver starts above v5 (DSE_V2) and steps down on
    'Invalid or unsupported protocol version' errors until the server accepts."""
    def negotiate(want):
        c = make_cluster(args)
        try:
            s = c.connect()
            eq(c.protocol_version, want, "negotiated protocol version")
            eq(s.execute("SELECT cluster_name FROM system.local").one() is not None, True, "query")
        finally:
            c.shutdown()

    suite.run("negotiation: no protocol_version given -> v%d" % args.protocol, negotiate, args.protocol)


def run_topology(args, suite):
    """A node joins (INSERT INTO sim.nodes) and one is decommissioned (DELETE FROM
    sim.nodes): the driver follows the TOPOLOGY_CHANGE events; its connections show
    in system_views.clients; custom payloads come back when the sim echoes them."""
    import cassandra
    state = {}

    def connect():
        # The driver waits a random part of this window before it refreshes on an event.
        c = make_cluster(args, protocol_version=args.protocol, topology_event_refresh_window=0.2)
        state["cluster"], state["session"] = c, c.connect()
        state["sim"] = simctl.Sim(state["session"], EXEC_PROFILE_DEFAULT)
        eq(len(c.metadata.all_hosts()), args.nodes, "hosts before")
        s = state["session"]
        s.execute("CREATE KEYSPACE IF NOT EXISTS interop_topo WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 2}")
        s.execute("CREATE TABLE IF NOT EXISTS interop_topo.kv (k int PRIMARY KEY, v int)")
        ins = s.prepare("INSERT INTO interop_topo.kv (k, v) VALUES (?, ?)")
        for k in range(100):
            s.execute(ins, [k, k])

    def addresses():
        return sorted(str(h.address) for h in state["cluster"].metadata.all_hosts())

    def clients():
        rows = list(state["session"].execute(
            "SELECT address, driver_name, driver_version, protocol_version, connection_stage, request_count, "
            "username FROM system_views.clients"))
        check(len(rows) >= 1, "no rows in system_views.clients")
        for r in rows:
            eq(r.driver_name, "DataStax Python Driver", "driver_name")
            eq(r.driver_version, cassandra.__version__, "driver_version")
            eq(r.protocol_version, args.protocol, "protocol_version")
            eq(r.connection_stage, "ready", "connection_stage")
            eq(r.username, "anonymous", "username")
            check(r.request_count >= 1, "request_count %r" % r.request_count)

    def new_node():
        new = "127.0.0.%d" % (args.nodes + 1)
        state["sim"]._execute("INSERT INTO sim.nodes (node) VALUES (%d)" % args.nodes)
        simctl.wait_for(lambda: new in addresses(), 10, "NEW_NODE: %s in the driver's hosts" % new)
        host = state["cluster"].metadata.get_host(new)
        simctl.wait_for(lambda: host.is_up and state["session"].get_pool_state().get(host) is not None, 10,
                        "a pool to %s" % new)
        s = state["session"]
        sel = s.prepare("SELECT v FROM interop_topo.kv WHERE k = ?")
        served = 0
        for k in range(100):
            rs = s.execute(sel, [k])
            eq(rs.one().v, k, "row %d after the join" % k)
            served += str(rs.response_future.coordinator_host.address) == new
        check(served > 0, "no request reached the new node %s" % new)

    def removed_node():
        gone = "127.0.0.2"
        state["sim"]._execute("DELETE FROM sim.nodes WHERE node = 1")
        simctl.wait_for(lambda: gone not in addresses(), 10, "REMOVED_NODE: %s out of the driver's hosts" % gone)
        eq(len(addresses()), args.nodes, "hosts after one joined and one left")
        s = state["session"]
        sel = s.prepare("SELECT v FROM interop_topo.kv WHERE k = ?")
        for k in range(100):
            eq(s.execute(sel, [k]).one().v, k, "row %d after the decommission" % k)

    def payload():
        s = state["session"]
        rs = s.execute("SELECT key FROM system.local", custom_payload={"k": b"v"})
        check(not rs.response_future.custom_payload, "Cassandra ignores custom payloads by default")
        for node in state["sim"].node_ids().values():
            state["sim"]._execute("UPDATE sim.nodes SET echo_payload = true WHERE node = %d" % node)
        rs = s.execute("SELECT key FROM system.local", custom_payload={"k": b"v", "empty": b""})
        eq(rs.response_future.custom_payload, {"k": b"v", "empty": b""}, "echoed payload")

    suite.setup("topology: connect, 100 rows at RF 2", connect)
    suite.run("system_views.clients: the driver's connections (name, version, protocol, ready)", clients)
    suite.run("topology: INSERT INTO sim.nodes -> NEW_NODE, a pool, requests, every row", new_node)
    suite.run("topology: DELETE FROM sim.nodes -> REMOVED_NODE, every row still there", removed_node)
    suite.run("custom payload: ignored by default, echoed when sim.nodes.echo_payload", payload)
    suite.run("shutdown", lambda: state["cluster"].shutdown(), needs_setup=False)


# ---------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True, choices=["main", "tokens", "dcs", "auth", "v4only", "nolz4",
                                                           "negotiate", "topology"])
    p.add_argument("--contact-points", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--num-tokens", type=int, default=16)
    p.add_argument("--protocol", type=int, default=5)
    p.add_argument("--compression", default="lz4", choices=["lz4", "none"])
    p.add_argument("--user", default="cassandra:cassandra")
    p.add_argument("--tag", default=None)
    p.add_argument("--only", default=None, help="run only the checks whose name contains this")
    args = p.parse_args()
    args.contact_points = args.contact_points.split(",")

    suite = harness.Suite(args.tag or args.mode, args.only)
    if args.mode == "main":
        Main(args, suite).run()
    elif args.mode == "tokens":
        Tokens(args, suite, [
            ("interop_py_rf1", "{'class': 'SimpleStrategy', 'replication_factor': 1}", 1),
            ("interop_py_rf2", "{'class': 'SimpleStrategy', 'replication_factor': 2}", 2),
            ("interop_py_nts", "{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}", 3),
        ]).run()
    elif args.mode == "dcs":
        Tokens(args, suite, [
            ("interop_py_dcs", "{'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 2}", 4),
        ], local_dc="dc1").run()
    elif args.mode == "auth":
        run_auth(args, suite)
    elif args.mode == "v4only":
        run_v4only(args, suite)
    elif args.mode == "nolz4":
        run_nolz4(args, suite)
    elif args.mode == "negotiate":
        run_negotiate(args, suite)
    elif args.mode == "topology":
        run_topology(args, suite)
    harness.exit_with(suite)


if __name__ == "__main__":
    main()

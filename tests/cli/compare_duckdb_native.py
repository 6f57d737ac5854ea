"""The Cassandra side of test_parquet_duckdb.sh (files DuckDB wrote from its own
types, loaded by `cqlpp bulk load --format parquet`).

usage: compare_duckdb_native.py create PORT SPEC_JSON
       compare_duckdb_native.py compare PORT SPEC_JSON EXPECTED_JSONL
create: keyspace ks, UDT ks.pt, table ks.n with the CQL type of each column of
SPEC (tests/parquet_interop/duckdb_native.mjs), key k.
compare: reads ks.n with the DataStax driver and compares every value with the
text DuckDB gave for it (EXPECTED), one canonical form per kind of column:
float bits, decimals with their scale, timestamps floored to milliseconds,
times in nanoseconds, collections as JSON (a set sorted and deduplicated, an
empty collection is null in Cassandra). Prints "compared R rows x C columns" or
the first mismatches and exits 1.
"""
import decimal
import json
import math
import struct
import sys

import cassandra.cqltypes as cqltypes
from cassandra.cluster import Cluster
from cassandra.protocol import _ProtocolHandler

# Raw numbers instead of datetime/Date/Time objects: the extremes are outside
# Python's datetime range. The pure-Python protocol handler uses these classes.
cqltypes.DateType.deserialize = staticmethod(lambda b, pv: cqltypes.int64_unpack(b))
cqltypes.SimpleDateType.deserialize = staticmethod(lambda b, pv: cqltypes.uint32_unpack(b) - 2**31)
cqltypes.TimeType.deserialize = staticmethod(lambda b, pv: cqltypes.int64_unpack(b))


def connect(port):
    cluster = Cluster(["127.0.0.1"], port=port, protocol_version=4)
    session = cluster.connect()
    session.client_protocol_handler = _ProtocolHandler
    return cluster, session


def float_key(x):
    x = float(x)
    return "nan" if math.isnan(x) else struct.pack(">d", x).hex()


def norm_json(v):
    """Driver collections (sortedset, OrderedMap, tuples, UDT rows) as JSON-like values."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)) and hasattr(v, "_fields"):
        return {f: norm_json(getattr(v, f)) for f in v._fields}
    if isinstance(v, (list, tuple)) or type(v).__name__ == "SortedSet":
        return [norm_json(x) for x in v]
    if hasattr(v, "items"):
        return {str(k): norm_json(x) for k, x in v.items()}
    return v


def duck_value(kind, s):
    if s is None:
        return None
    if kind == "int":
        return int(s)
    if kind == "float":
        return float_key(s)
    if kind == "bool":
        return s == "true"
    if kind in ("text", "hex"):
        return s
    if kind == "time_us":
        return int(s) * 1000
    if kind in ("ts_us", "ts_ms", "ts_ns"):
        div = {"ts_us": 1000, "ts_ms": 1, "ts_ns": 1000000}[kind]
        return int(s) // div  # floor: what the loader does with sub-millisecond parts
    if kind == "dec":
        return decimal.Decimal(s).as_tuple()
    if kind == "interval":
        months, days, micros = json.loads(s)
        if months is None:
            return None
        return [months, days, micros * 1000]  # Parquet INTERVAL holds milliseconds: use whole ones
    v = json.loads(s)
    if kind == "set":
        v = sorted(set(v))
    elif kind == "tuple":
        v = list(v.values())
    if kind != "tuple" and kind != "udt" and not v:
        return None
    return v


def driver_value(kind, v):
    if v is None:
        return None
    if kind == "float":
        return float_key(v)
    if kind == "hex":
        return bytes(v).hex()
    if kind == "text":
        return str(v)
    if kind == "dec":
        return v.as_tuple()
    if kind == "interval":
        return [v.months, v.days, v.nanoseconds]
    if kind in ("list", "set", "map", "tuple", "udt"):
        return norm_json(v)
    return v


def main():
    mode, port, spec = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3]))
    cluster, session = connect(port)
    if mode == "create":
        session.execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TYPE ks.pt (x double, y text)")
        cols = ", ".join('"%s" %s' % (c["name"], c["cql"]) for c in spec)
        session.execute("CREATE TABLE ks.n (%s, PRIMARY KEY (k))" % cols)
        cluster.shutdown()
        return
    kinds = {c["name"]: c["kind"] for c in spec}
    want = {}
    with open(sys.argv[4]) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                want[int(r["k"])] = {n: duck_value(kinds[n], r[n]) for n in kinds}
    got = {}
    for row in session.execute("SELECT * FROM ks.n"):
        r = row._asdict()
        got[r["k"]] = {n: driver_value(kinds[n], r[n]) for n in kinds}
    cluster.shutdown()
    bad = []
    if set(got) != set(want):
        bad.append("keys: %d rows in DuckDB, %d in the table, %d in common" % (len(want), len(got), len(set(got) & set(want))))
    compared = 0
    for k in sorted(set(got) & set(want)):
        for n, kind in kinds.items():
            if got[k][n] != want[k][n]:
                bad.append("k=%d %s (%s): DuckDB %r, table %r" % (k, n, kind, want[k][n], got[k][n]))
            compared += 1
    if bad:
        print("\n".join(["FAIL: " + b for b in bad[:15]] + ["(%d mismatches)" % len(bad)]))
        sys.exit(1)
    print("compared %d rows x %d columns (%d values)" % (len(want), len(kinds), compared))


main()

"""Compares, value by value, the rows DuckDB read from unloaded Parquet files
(tests/parquet_interop/duckdb_values.mjs output, JSON lines) with the rows the
DataStax Python driver reads from the table: both sides are reduced to one
canonical form per CQL type (integers, exact floats, decimals with their scale,
microseconds, hex...) and every column of every row must be equal.

usage: compare_values.py PORT KEYSPACE TABLE DUCKDB_JSONL [--time-micros]
--time-micros: the files hold times in microseconds (Iceberg); the driver's
nanoseconds are truncated to compare. Prints "compared R rows x C columns" or
the first mismatches, and exits 1 on any.
"""
import calendar
import decimal
import json
import struct
import sys

from cassandra.cluster import Cluster


def parse_type(t):
    """'frozen<map<text, int>>' -> ('map', [('text', []), ('int', [])])."""
    t = t.strip()
    if "<" not in t:
        return (t, [])
    name, inner = t[: t.index("<")].strip(), t[t.index("<") + 1 : t.rindex(">")]
    args, depth, cur = [], 0, ""
    for ch in inner:
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += ch
    args.append(cur)
    if name == "frozen":
        return parse_type(args[0])
    return (name, [parse_type(a) for a in args if not a.strip().isdigit()])


def exact_float(x):
    return repr(float(x))


def norm_nested(t, v):
    """A value inside a collection, from DuckDB's to_json or the driver, in one form."""
    if v is None:
        return None
    name, args = t
    if name in ("list", "set", "vector"):
        return [norm_nested(args[0], x) for x in v]
    if name == "map":
        items = v.items() if hasattr(v, "items") else v
        return sorted([norm_nested(args[0], k), norm_nested(args[1], x)] for k, x in items)
    if name == "tuple":
        vals = [v.get("_%d" % (i + 1)) for i in range(len(args))] if isinstance(v, dict) else list(v)
        return [norm_nested(a, x) for a, x in zip(args, vals)]
    if name in ("float", "double"):
        return exact_float(v)
    if name in ("int", "bigint", "smallint", "tinyint", "varint"):
        return int(v)
    return str(v)


def norm_duck(t, s, time_micros):
    if s is None:
        return None
    name = t[0]
    if name in ("list", "set", "vector", "map", "tuple", "duration"):
        v = json.loads(s)
        if name == "duration":
            return [int(v["months"]), int(v["days"]), int(v["nanos"])]
        return norm_nested(t, v)
    if name in ("int", "bigint", "smallint", "tinyint", "counter", "varint"):
        return int(decimal.Decimal(s))
    if name in ("float", "double"):
        return exact_float(s)
    if name == "decimal":
        return decimal.Decimal(s).as_tuple()
    if name == "timestamp":
        return int(s)
    if name == "time":
        hms, _, frac = s.partition(".")
        h, m, sec = (int(x) for x in hms.split(":"))
        return ((h * 60 + m) * 60 + sec) * 10**9 + int((frac + "000000000")[:9])
    if name in ("blob", "uuid", "timeuuid"):
        return s.lower()
    if name == "boolean":
        return s.lower()
    return s


def norm_driver(t, v, time_micros):
    if v is None:
        return None
    name = t[0]
    if name == "duration":
        return [v.months, v.days, v.nanoseconds]
    if name == "vector" and isinstance(v, (bytes, bytearray)):
        # Debian's driver (3.25) predates vector: it hands over the value's bytes, big-endian floats.
        if t[1][0][0] != "float":
            raise SystemExit("vector<%s> is not decoded here" % t[1][0][0])
        v = struct.unpack(">%df" % (len(v) // 4), v)
    if name in ("list", "set", "vector", "map", "tuple"):
        return norm_nested(t, v)
    if name in ("int", "bigint", "smallint", "tinyint", "counter", "varint"):
        return int(v)
    if name in ("float", "double"):
        return exact_float(v)
    if name == "decimal":
        return v.as_tuple()
    if name == "timestamp":  # a naive UTC datetime (microseconds hold the milliseconds)
        return (calendar.timegm(v.utctimetuple()) * 1000 + v.microsecond // 1000) * 1000
    if name == "time":
        ns = v.nanosecond_time
        return ns - ns % 1000 if time_micros else ns
    if name == "blob":
        return bytes(v).hex()
    if name in ("uuid", "timeuuid"):
        return str(v)
    if name == "boolean":
        return "true" if v else "false"
    if name == "date":
        return str(v)
    return str(v)


def main():
    port, ks, table, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    time_micros = "--time-micros" in sys.argv[5:]
    cluster = Cluster(["127.0.0.1"], port=port, protocol_version=4)
    session = cluster.connect()
    meta = cluster.metadata.keyspaces[ks].tables[table]
    types = {n: parse_type(c.cql_type) for n, c in meta.columns.items()}
    keys = [c.name for c in meta.primary_key]
    want = {}
    for row in session.execute("SELECT * FROM %s.%s" % (ks, table)):
        r = row._asdict()
        v = {n: norm_driver(types[n], r[n], time_micros) for n in types}
        want[tuple(repr(v[k]) for k in keys)] = v
    cluster.shutdown()
    got = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                got[tuple(repr(norm_duck(types[k], r[k], time_micros)) for k in keys)] = r
    bad = []
    if set(got) != set(want):
        bad.append("keys: %d rows from DuckDB, %d from the driver, %d in common"
                   % (len(got), len(want), len(set(got) & set(want))))
    compared = 0
    for key in sorted(set(got) & set(want)):
        for n, t in types.items():
            if n not in got[key]:
                bad.append("%s: no column %s in DuckDB's row" % (key, n))
                continue
            g = norm_duck(t, got[key][n], time_micros)
            if g != want[key][n]:
                bad.append("%s %s (%s): DuckDB %r, driver %r" % (key, n, t[0], g, want[key][n]))
            compared += 1
    if bad:
        print("\n".join(["FAIL: " + b for b in bad[:10]] + ["(%d mismatches)" % len(bad)]))
        sys.exit(1)
    print("compared %d rows x %d columns (%d values)" % (len(want), len(types), compared))


main()

#!/usr/bin/env bash
# `cqlpp bulk load --format parquet` of files DuckDB writes from its own types
# (tests/parquet_interop/duckdb_native.mjs: TINYINT..UBIGINT, FLOAT, DOUBLE, VARCHAR,
# BLOB, UUID, DATE, TIME, TIMESTAMP in s/ms/us/ns and WITH TIME ZONE, DECIMAL in
# INT32/INT64/FIXED_LEN_BYTE_ARRAY, INTERVAL, LIST, MAP, STRUCT as tuple and UDT;
# extremes, nulls, special floats), with each compression, by DuckDB's V1 writer
# and its V2 one (data pages v2, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
# BYTE_STREAM_SPLIT, RLE_DICTIONARY): each file loads into a 3-node `cqlpp sim`
# and every value the Python driver reads equals what DuckDB holds
# (tests/cli/compare_duckdb_native.py). Skips (77) without python3-cassandra or
# npm registry access. Ports from CQLPP_TEST_PORT_BASE (default 25000) + 0..999.
set -u
CQLPP=${1:?usage: test_parquet_duckdb.sh path/to/cqlpp}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK_NAME=parquet_duckdb
# shellcheck source=alltypes_lib.sh
source "$HERE/alltypes_lib.sh"
if ! (cd "$HERE/../parquet_interop" && timeout 300 npm install --no-audit --no-fund >"$WORK/npm.log" 2>&1); then
  echo "SKIP: npm registry unreachable: $(tail -2 "$WORK/npm.log")"; exit 77
fi
if node "$HERE/../parquet_interop/duckdb_native.mjs" "$WORK/duck" >"$WORK/duck.out" 2>&1; then ok; else
  bad "duckdb: $(cat "$WORK/duck.out")"; exit 1; fi
grep '^encodings' "$WORK/duck.out"
# The V2 files must hold the encodings this test is about (a DuckDB that stops
# writing one would silently stop testing its decoder).
for e in BYTE_STREAM_SPLIT DELTA_BINARY_PACKED DELTA_LENGTH_BYTE_ARRAY RLE_DICTIONARY; do
  grep -q "^encodings v2_zstd: .*$e" "$WORK/duck.out" && ok || bad "DuckDB's V2 file has no $e"
done

start_alltypes_sim parquet_duckdb "${CQLPP_TEST_PORT_BASE:-25000}"
"$PY" "$HERE/compare_duckdb_native.py" create "$SIM_PORT" "$WORK/duck/spec.json" >"$WORK/create.out" 2>&1 && ok ||
  { bad "schema: $(cat "$WORK/create.out")"; exit 1; }
for v in v1_zstd v1_snappy v1_uncompressed v2_zstd v2_snappy v2_uncompressed; do
  cql "TRUNCATE ks.n"
  run load_$v bulk load "${CONN[@]}" -k ks -t n --format parquet --input "$WORK/duck/$v/x.parquet"
  expect_rc load_$v 0 || continue
  if "$PY" "$HERE/compare_duckdb_native.py" compare "$SIM_PORT" "$WORK/duck/spec.json" "$WORK/duck/expected.jsonl" \
       >"$WORK/cmp_$v.out" 2>&1; then ok; else bad "$v values: $(cat "$WORK/cmp_$v.out")"; fi
  grep -q "^compared 160 rows x 33 columns (5280 values)$" "$WORK/cmp_$v.out" && ok || bad "$v compared: $(cat "$WORK/cmp_$v.out")"
done
echo "test_parquet_duckdb: $oks ok, $fails failed"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# `cqlpp bulk unload/load --format parquet` on a 3-node `cqlpp sim` (ports
# 23000-23999, CQLPP_TEST_PORT_BASE moves them): every CQL type, unload -> truncate -> load gives the original
# checksum for each compression; DuckDB (npm @duckdb/node-api, a reader we did
# not write) reads every column of the files and every value equals the Python
# driver's reading of the table, and files DuckDB rewrites load back to the
# same checksum. Skips (77) without python3-cassandra, or the
# DuckDB part without npm registry access.
set -u
CQLPP=${1:?usage: test_parquet.sh path/to/cqlpp}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
fails=0; oks=0
ok() { oks=$((oks + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
if ! "$PY" -c 'import cassandra' 2>/dev/null; then echo "SKIP: python3-cassandra missing"; exit 77; fi

WORK=$(mktemp -d /tmp/cqlpp_cli_parquet.XXXXXX)
# shellcheck source=alltypes_lib.sh
source "$HERE/alltypes_lib.sh"
start_alltypes_sim parquet "${CQLPP_TEST_PORT_BASE:-23000}"
load_alltypes 12:34:56.123456789

reload_check() {  # reload_check NAME DIR: truncate, load DIR as parquet, checksum must be $SUM
  cql "TRUNCATE ks.t"
  run "$1" bulk load "${CONN[@]}" -k ks -t t --format parquet --input "$2"
  expect_rc "$1" 0 && { grep -qF "checksum: $SUM" "$WORK/$1.out" && ok || bad "$1: $(cat "$WORK/$1.out" "$WORK/$1.err")"; }
  run "$1_sum" bulk checksum "${CONN[@]}" -k ks -t t
  grep -qF "checksum: $SUM rows: 300" "$WORK/$1_sum.out" && ok || bad "$1 table checksum: $(cat "$WORK/$1_sum.out")"
}

for comp in zstd snappy none; do
  run unload_$comp bulk unload "${CONN[@]}" -k ks -t t --format parquet --compression $comp --row-group-rows 7 \
    --output "$WORK/pq_$comp"
  expect_rc unload_$comp 0 && { grep -qF "checksum: $SUM" "$WORK/unload_$comp.out" && ok || bad "unload $comp: $(cat "$WORK/unload_$comp.out")"; }
  reload_check reload_$comp "$WORK/pq_$comp"
done

# Interrupted unload (--max-ranges), resumed: the same files' content (checksum) as one run.
run part bulk unload "${CONN[@]}" -k ks -t t --format parquet --splits 30 --max-ranges 5 --output "$WORK/pq_part"
expect_rc part 1
run rest bulk unload "${CONN[@]}" -k ks -t t --format parquet --splits 30 --resume "$WORK/pq_part" --output "$WORK/pq_part"
expect_rc rest 0 && { grep -qF "checksum: $SUM" "$WORK/rest.out" && ok || bad "resumed unload: $(cat "$WORK/rest.out")"; }
[ -z "$(find "$WORK/pq_part" -name '*.part')" ] && ok || bad "part files left"
reload_check reload_resumed "$WORK/pq_part"

# Readers we did not write: DuckDB.
if ! (cd "$HERE/../parquet_interop" && timeout 300 npm install --no-audit --no-fund >"$WORK/npm.log" 2>&1); then
  echo "SKIP (DuckDB part): npm registry unreachable: $(tail -2 "$WORK/npm.log")"
else
  if node "$HERE/../parquet_interop/duckdb_check.mjs" "$WORK/pq_zstd" "$WORK/duck" >"$WORK/duck.out" 2>&1; then ok; else
    bad "duckdb: $(cat "$WORK/duck.out")"; fi
  grep -q "^rows 300$" "$WORK/duck.out" && ok || bad "duckdb rows: $(cat "$WORK/duck.out")"
  # Every value of every column as DuckDB reads it from the files, against the Python driver's reading of the table.
  if node "$HERE/../parquet_interop/duckdb_values.mjs" "$WORK/pq_zstd/*.parquet" >"$WORK/values.jsonl" 2>"$WORK/values.err" &&
     "$PY" "$HERE/compare_values.py" "$SIM_PORT" ks t "$WORK/values.jsonl" >"$WORK/cmp.out" 2>&1; then ok; else
    bad "values: $(cat "$WORK/values.err" "$WORK/cmp.out")"; fi
  grep -q "^compared 300 rows x 24 columns (7200 values)$" "$WORK/cmp.out" && ok || bad "values compared: $(cat "$WORK/cmp.out")"
  for comp in zstd snappy uncompressed; do
    [ -f "$WORK/duck/$comp/x.parquet" ] || { bad "duckdb wrote no $comp file"; continue; }
    reload_check duck_$comp "$WORK/duck/$comp"
  done
fi
echo "test_parquet: $oks ok, $fails failed"
[ "$fails" -eq 0 ]

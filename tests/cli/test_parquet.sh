#!/usr/bin/env bash
# `cqlpp bulk unload/load --format parquet` on a 3-node `cqlpp sim` (ports
# 23000-23999, CQLPP_TEST_PORT_BASE moves them): every CQL type, unload -> truncate -> load gives the original
# checksum for each compression; DuckDB (npm @duckdb/node-api, a reader we did
# not write) reads every column of the files and every value equals the Python
# driver's reading of the table, and files DuckDB rewrites load back to the
# same checksum; --row-group-bytes bounds the row groups (their sizes in the
# footers, as DuckDB reads them); counters unload as INT64 and load by
# increments; bad records of a Parquet load as CSV's; --varint-as string keeps
# varints wider than DECIMAL(38). Skips (77) without python3-cassandra, or the
# DuckDB part without npm registry access.
set -u
CQLPP=${1:?usage: test_parquet.sh path/to/cqlpp}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK_NAME=parquet
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

# Inserts the server fails (a primed INVALID for every INSERT into ks.t): each
# row goes to bad_records.jsonl with the data it had in its file, exactly. For
# Parquet that is the row as JSON, which must be the JSON unload's line of that
# row (every type), line break included; for CSV, the input line as written.
run js_all bulk unload "${CONN[@]}" -k ks -t t --format json --output "$WORK/js_all"
expect_rc js_all 0
cql "TRUNCATE ks.t;
     INSERT INTO sim.primes (query, match, error, message) VALUES ('INSERT INTO ks.t (', 'prefix', 'INVALID', 'primed insert failure')"
bad_data_check() {  # bad_data_check NAME RUNDIR EXPECTED_LINES_FILE ROWS [nl]: the bad records' data are those
  # ROWS lines (with their line break: nl), each once
  "$PY" - "$2/bad_records.jsonl" "$3" "$4" "${5:-}" <<'PYEOF' >"$WORK/$1_cmp.out" 2>&1 && ok || bad "$1 bad records: $(cat "$WORK/$1_cmp.out")"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
want = sorted(l if sys.argv[4] else l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8", newline="") if l.strip())
rows = int(sys.argv[3])
if len(got) != rows or len(want) != rows:
    sys.exit(f"{len(got)} bad records, {len(want)} expected lines ({rows} each expected)")
for r in got:
    if "primed insert failure" not in r["reason"] or "data_hex" in r:
        sys.exit(f"unexpected record: {r}")
data = sorted(r["data"] for r in got)
if data != want:
    diff = [(a, b) for a, b in zip(data, want) if a != b][:3]
    sys.exit(f"data differ: {diff}")
PYEOF
}
run fail_pq bulk load "${CONN[@]}" -k ks -t t --format parquet --input "$WORK/pq_zstd" --max-errors 1000 --resume "$WORK/fail_pq"
expect_rc fail_pq 1
cat "$WORK"/js_all/range_*.json >"$WORK/js_all.jsonl"
bad_data_check fail_pq "$WORK/fail_pq" "$WORK/js_all.jsonl" 300 nl
run fail_csv bulk load "${CONN[@]}" -k ks -t t --input "$WORK/rows.csv" --max-errors 1000 --resume "$WORK/fail_csv"
expect_rc fail_csv 1
tail -n +2 "$WORK/rows.csv" >"$WORK/rows_nohdr.csv"
bad_data_check fail_csv "$WORK/fail_csv" "$WORK/rows_nohdr.csv" 300
# The same where rows share partitions, so a failed write is a batch of several rows.
cql "CREATE TABLE ks.bp (k int, c int, v text, PRIMARY KEY (k, c))"
"$PY" -c '
print("k,c,v")
for i in range(40): print("%d,%d,%s" % (i // 8, i % 8, "\"v, %d\"" % i if i % 3 else "w" * i))' >"$WORK/bp.csv"
run bp_load bulk load "${CONN[@]}" -k ks -t bp --input "$WORK/bp.csv"
expect_rc bp_load 0
run bp_js bulk unload "${CONN[@]}" -k ks -t bp --format json --output "$WORK/bp_js"
run bp_pq bulk unload "${CONN[@]}" -k ks -t bp --format parquet --output "$WORK/bp_pq"
cat "$WORK"/bp_js/range_*.json >"$WORK/bp_js.jsonl"
tail -n +2 "$WORK/bp.csv" >"$WORK/bp_nohdr.csv"
cql "TRUNCATE ks.bp;
     INSERT INTO sim.primes (query, match, error, message) VALUES ('INSERT INTO ks.bp (', 'prefix', 'INVALID', 'primed insert failure')"
run bp_fail_pq bulk load "${CONN[@]}" -k ks -t bp --format parquet --input "$WORK/bp_pq" --resume "$WORK/bp_fail_pq"
expect_rc bp_fail_pq 1
bad_data_check bp_fail_pq "$WORK/bp_fail_pq" "$WORK/bp_js.jsonl" 40 nl
run bp_fail_csv bulk load "${CONN[@]}" -k ks -t bp --input "$WORK/bp.csv" --resume "$WORK/bp_fail_csv"
expect_rc bp_fail_csv 1
bad_data_check bp_fail_csv "$WORK/bp_fail_csv" "$WORK/bp_nohdr.csv" 40
cql "TRUNCATE sim.primes"
reload_check reload_after_fail "$WORK/pq_zstd"

# Interrupted unload (--max-ranges), resumed: the same files' content (checksum) as one run.
run part bulk unload "${CONN[@]}" -k ks -t t --format parquet --splits 30 --max-ranges 5 --output "$WORK/pq_part"
expect_rc part 1
run rest bulk unload "${CONN[@]}" -k ks -t t --format parquet --splits 30 --resume "$WORK/pq_part" --output "$WORK/pq_part"
expect_rc rest 0 && { grep -qF "checksum: $SUM" "$WORK/rest.out" && ok || bad "resumed unload: $(cat "$WORK/rest.out")"; }
[ -z "$(find "$WORK/pq_part" -name '*.part')" ] && ok || bad "part files left"
reload_check reload_resumed "$WORK/pq_part"

# Readers we did not write: DuckDB.
DUCK=""
if ! (cd "$HERE/../parquet_interop" && timeout 300 npm install --no-audit --no-fund >"$WORK/npm.log" 2>&1); then
  echo "SKIP (DuckDB parts): npm registry unreachable: $(tail -2 "$WORK/npm.log")"
else
  DUCK=1
fi
duck() { node "$HERE/../parquet_interop/duckdb_query.mjs" "$1"; }  # duck SQL: rows as tab-separated text

# --row-group-bytes: a table of 2,000 rows of ~110 bytes (k, a 100-byte blob)
# unloaded with 2KiB row groups: ~18 rows a group (not one group a file),
# each group's size in the footer (DuckDB's parquet_metadata) about the limit,
# and the files load back to the table's checksum.
cql "CREATE TABLE ks.rg (k bigint PRIMARY KEY, v blob)"
"$PY" -c '
print("k,v")
for i in range(2000): print("%d,0x%02x%s" % (i * 4611686018427387 - 4611686018427387904, i % 256, "ab" * 99))' >"$WORK/rg.csv"
run rg_load bulk load "${CONN[@]}" -k ks -t rg --input "$WORK/rg.csv"
expect_rc rg_load 0
RGSUM=$(sed -n 's/^checksum: \([0-9a-f]*\)$/\1/p' "$WORK/rg_load.out")
[ ${#RGSUM} -eq 48 ] && ok || bad "rg load checksum: $(cat "$WORK/rg_load.out")"
run rg_unload bulk unload "${CONN[@]}" -k ks -t rg --format parquet --row-group-bytes 2KiB --output "$WORK/pq_rg"
expect_rc rg_unload 0 && { grep -qF "checksum: $RGSUM" "$WORK/rg_unload.out" && ok || bad "rg unload: $(cat "$WORK/rg_unload.out")"; }
cql "TRUNCATE ks.rg"
run rg_reload bulk load "${CONN[@]}" -k ks -t rg --format parquet --input "$WORK/pq_rg"
expect_rc rg_reload 0 && { grep -qF "checksum: $RGSUM" "$WORK/rg_reload.out" && ok || bad "rg reload: $(cat "$WORK/rg_reload.out")"; }
if [ -n "$DUCK" ]; then
  # groups, files, largest group's bytes (uncompressed, as the footer says), most rows in a group
  duck "SELECT count(*), count(DISTINCT file_name), max(row_group_bytes), max(row_group_num_rows), sum(row_group_num_rows)
        FROM (SELECT DISTINCT file_name, row_group_id, row_group_bytes, row_group_num_rows
              FROM parquet_metadata('$WORK/pq_rg/*.parquet'))" >"$WORK/rg_meta.out" 2>&1
  read -r groups files maxbytes maxrows total <"$WORK/rg_meta.out"
  if [ "${total:-0}" = 2000 ] && [ "$groups" -ge 100 ] && [ "$groups" -gt $((files * 3)) ] &&
     [ "$maxbytes" -le $((2048 + 512)) ] && [ "$maxrows" -le 25 ]; then ok; else
    bad "rg row groups (groups files maxbytes maxrows rows): $(cat "$WORK/rg_meta.out")"; fi
fi
# Sizes outside 1KiB..1GiB or not sizes: one clear error, nothing written.
for v in 0 1023 2GiB 12XB -5 ""; do
  run rg_bad bulk unload "${CONN[@]}" -k ks -t rg --format parquet --row-group-bytes "$v" --output "$WORK/pq_rg_bad"
  expect_rc rg_bad 1 && { grep -qF -- "--row-group-bytes: expected a size from 1024 to 1073741824 bytes" "$WORK/rg_bad.err" &&
    [ "$(wc -l <"$WORK/rg_bad.err")" -eq 1 ] && ok || bad "rg_bad '$v': $(cat "$WORK/rg_bad.err")"; }
  [ -e "$WORK/pq_rg_bad" ] && bad "rg_bad '$v' wrote $WORK/pq_rg_bad" || ok
done
# Bad records in a Parquet load, as in a CSV load: a file (DuckDB's) whose
# values do not fit ks.br - text that is not an int, an int64 outside int, a
# null key - loads its good rows, names each bad row (1-based row of the file)
# and its reason in bad_records.jsonl, and exits 1; past --max-errors the run stops.
if [ -n "$DUCK" ]; then
  cql "CREATE TABLE ks.br (k bigint PRIMARY KEY, v int, w int)"
  duck "COPY (SELECT * FROM (VALUES (1::BIGINT, '5', 1::BIGINT), (2, 'abc', 2), (3, '7', 3000000000),
        (NULL, '8', 4), (5, '9', 5)) t(k, v, w)) TO '$WORK/br.parquet' (FORMAT parquet)" >"$WORK/br_duck.out" 2>&1 ||
    bad "duckdb br.parquet: $(cat "$WORK/br_duck.out")"
  run br bulk load "${CONN[@]}" -k ks -t br --format parquet --input "$WORK/br.parquet" --resume "$WORK/brrun"
  expect_rc br 1
  [ "$(wc -l <"$WORK/brrun/bad_records.jsonl" 2>/dev/null)" = 3 ] && ok || bad "br: 3 bad records expected: $(cat "$WORK/brrun/bad_records.jsonl")"
  for pat in '"line":2,.*abc' '"line":3,.*3000000000.*does not fit int' '"line":4,.*Invalid'; do
    grep -q "$pat" "$WORK/brrun/bad_records.jsonl" && ok || bad "br: no '$pat' in $(cat "$WORK/brrun/bad_records.jsonl")"
  done
  # Each record's data is the row with the file's value (not the null it failed
  # to convert to), as CSV's is the input line: fix it and reload it.
  for pat in '"line":2,.*"data":"{\\"k\\":2,\\"v\\":\\"abc\\",\\"w\\":2}' \
             '"line":3,.*"data":"{\\"k\\":3,\\"v\\":7,\\"w\\":3000000000}' \
             '"line":4,.*"data":"{\\"k\\":null,\\"v\\":8,\\"w\\":4}'; do
    grep -q "$pat" "$WORK/brrun/bad_records.jsonl" && ok || bad "br data: no '$pat' in $(cat "$WORK/brrun/bad_records.jsonl")"
  done
  # Bytes that are not text show as 0x hex.
  duck "COPY (SELECT 6::BIGINT AS k, '\\xAA\\x01'::BLOB AS v) TO '$WORK/br_blob.parquet' (FORMAT parquet)" >"$WORK/br_duck2.out" 2>&1 ||
    bad "duckdb br_blob.parquet: $(cat "$WORK/br_duck2.out")"
  run br_blob bulk load "${CONN[@]}" -k ks -t br --format parquet --input "$WORK/br_blob.parquet" --resume "$WORK/brrun_blob"
  expect_rc br_blob 1
  grep -q '"line":1,.*"data":"{\\"k\\":6,\\"v\\":\\"0xaa01\\",\\"w\\":null}' "$WORK/brrun_blob/bad_records.jsonl" 2>/dev/null && ok ||
    bad "br blob data: $(cat "$WORK/br_blob.err" "$WORK/brrun_blob/bad_records.jsonl")"
  grep -q "rejected records in $WORK/brrun/bad_records.jsonl" "$WORK/br.err" && ok || bad "br: $(cat "$WORK/br.err")"
  run br_sum bulk checksum "${CONN[@]}" -k ks -t br
  grep -q "rows: 2$" "$WORK/br_sum.out" && ok || bad "br: 2 good rows expected: $(cat "$WORK/br_sum.out")"
  cql "TRUNCATE ks.br"
  run br_max bulk load "${CONN[@]}" -k ks -t br --format parquet --input "$WORK/br.parquet" --max-errors 1 --resume "$WORK/brrun2"
  expect_rc br_max 1 && { grep -q "max-errors\|error budget\|too many" "$WORK/br_max.err" && ok || bad "br_max: $(cat "$WORK/br_max.err")"; }
fi

run rg_mib bulk unload "${CONN[@]}" -k ks -t rg --format parquet --row-group-bytes 64MiB --output "$WORK/pq_rg_mib"
expect_rc rg_mib 0 && { grep -qF "checksum: $RGSUM" "$WORK/rg_mib.out" && ok || bad "rg 64MiB: $(cat "$WORK/rg_mib.out")"; }

# counter -> Parquet INT64 (DuckDB: BIGINT) with the exact values (a null: a
# counter column never incremented in its row); the load increments
# (UPDATE ... SET n = n + ?) so the files load back into the truncated table
# with its checksum, and a second load of them adds the values again.
cql "CREATE TABLE ks.ctr (k int, c int, n counter, m counter, PRIMARY KEY (k, c));
     UPDATE ks.ctr SET n = n + 1099511627776, m = m + 1 WHERE k = 1 AND c = 0;
     UPDATE ks.ctr SET n = n - 5, m = m + 2 WHERE k = 2 AND c = 0;
     UPDATE ks.ctr SET n = n + 7 WHERE k = 3 AND c = 1;
     UPDATE ks.ctr SET n = n - 4611686018427387903, m = m + 0 WHERE k = 4 AND c = 2"
run ctr_sum bulk checksum "${CONN[@]}" -k ks -t ctr
CSUM=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 4$/\1/p' "$WORK/ctr_sum.out")
[ ${#CSUM} -eq 48 ] && ok || bad "ctr checksum: $(cat "$WORK/ctr_sum.out")"
run ctr_unload bulk unload "${CONN[@]}" -k ks -t ctr --format parquet --output "$WORK/pq_ctr"
expect_rc ctr_unload 0 && { grep -qF "checksum: $CSUM" "$WORK/ctr_unload.out" && ok || bad "ctr unload: $(cat "$WORK/ctr_unload.out")"; }
if [ -n "$DUCK" ]; then
  duck "SELECT typeof(n), typeof(m), k, c, n, m FROM read_parquet('$WORK/pq_ctr/*.parquet') ORDER BY k" >"$WORK/ctr_duck.out" 2>&1
  printf 'BIGINT\tBIGINT\t%s\n' '1	0	1099511627776	1' '2	0	-5	2' '3	1	7	NULL' '4	2	-4611686018427387903	0' >"$WORK/ctr_expect"
  diff "$WORK/ctr_expect" "$WORK/ctr_duck.out" >/dev/null && ok || bad "ctr duckdb: $(cat "$WORK/ctr_duck.out")"
fi
cql "TRUNCATE ks.ctr"
run ctr_load bulk load "${CONN[@]}" -k ks -t ctr --format parquet --input "$WORK/pq_ctr"
expect_rc ctr_load 0 && { grep -qF "checksum: $CSUM" "$WORK/ctr_load.out" && ok || bad "ctr load: $(cat "$WORK/ctr_load.out")"; }
run ctr_sum2 bulk checksum "${CONN[@]}" -k ks -t ctr
grep -qF "checksum: $CSUM rows: 4" "$WORK/ctr_sum2.out" && ok || bad "ctr reloaded: $(cat "$WORK/ctr_sum2.out")"
run ctr_load2 bulk load "${CONN[@]}" -k ks -t ctr --format parquet --input "$WORK/pq_ctr"
expect_rc ctr_load2 0
"$PY" - "$SIM_PORT" >"$WORK/ctr_twice.out" 2>&1 <<'PYEOF'
import sys
from cassandra.cluster import Cluster
c = Cluster(["127.0.0.1"], port=int(sys.argv[1]), protocol_version=4)
print(sorted((r.k, r.n, r.m) for r in c.connect().execute("SELECT k, n, m FROM ks.ctr")))
c.shutdown()
PYEOF
grep -qF "[(1, 2199023255552, 2), (2, -10, 4), (3, 14, None), (4, -9223372036854775806, 0)]" "$WORK/ctr_twice.out" && ok ||
  bad "ctr loaded twice: $(cat "$WORK/ctr_twice.out")"

# varint wider than DECIMAL(38, 0): the default unload (--varint-as decimal)
# rejects its row as a bad record; --varint-as string writes every varint as
# STRING (decimal digits) and a 60-digit value loads back exactly.
V60=123456789012345678901234567890123456789012345678901234567890
cql "CREATE TABLE ks.vi (k int PRIMARY KEY, v varint);
     INSERT INTO ks.vi (k, v) VALUES (1, $V60); INSERT INTO ks.vi (k, v) VALUES (2, -42);
     INSERT INTO ks.vi (k, v) VALUES (3, -$V60); INSERT INTO ks.vi (k) VALUES (4)"
run vi_sum bulk checksum "${CONN[@]}" -k ks -t vi
VSUM=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 4$/\1/p' "$WORK/vi_sum.out")
[ ${#VSUM} -eq 48 ] && ok || bad "vi checksum: $(cat "$WORK/vi_sum.out")"
run vi_dec bulk unload "${CONN[@]}" -k ks -t vi --format parquet --output "$WORK/pq_vi_dec"
# exit 1 as a load with bad records; the summary counts (and sums) the 2 rows the files have
expect_rc vi_dec 1 && { grep -qF "unload: 2 rows" "$WORK/vi_dec.out" && ! grep -qF "checksum: $VSUM" "$WORK/vi_dec.out" && ok ||
  bad "vi decimal summary: $(cat "$WORK/vi_dec.out")"; }
grep -q "resume" "$WORK/vi_dec.err" && bad "vi decimal: a resume does not retry rows of done ranges: $(cat "$WORK/vi_dec.err")" || ok
[ "$(grep -c 'more than 38 digits' "$WORK/pq_vi_dec/bad_records.jsonl" 2>/dev/null)" = 2 ] && ok ||
  bad "vi decimal: 2 bad records expected: $(cat "$WORK/vi_dec.err" "$WORK/pq_vi_dec/bad_records.jsonl")"
run vi_str bulk unload "${CONN[@]}" -k ks -t vi --format parquet --varint-as string --output "$WORK/pq_vi"
expect_rc vi_str 0 && { grep -qF "checksum: $VSUM" "$WORK/vi_str.out" && ok || bad "vi string: $(cat "$WORK/vi_str.out")"; }
if [ -n "$DUCK" ]; then
  duck "SELECT typeof(v), k, v FROM read_parquet('$WORK/pq_vi/*.parquet') ORDER BY k" >"$WORK/vi_duck.out" 2>&1
  printf 'VARCHAR\t%s\n' "1	$V60" '2	-42' "3	-$V60" '4	NULL' >"$WORK/vi_expect"
  diff "$WORK/vi_expect" "$WORK/vi_duck.out" >/dev/null && ok || bad "vi duckdb: $(cat "$WORK/vi_duck.out")"
fi
cql "TRUNCATE ks.vi"
run vi_load bulk load "${CONN[@]}" -k ks -t vi --format parquet --input "$WORK/pq_vi"
expect_rc vi_load 0 && { grep -qF "checksum: $VSUM" "$WORK/vi_load.out" && ok || bad "vi load: $(cat "$WORK/vi_load.out")"; }
run vi_sum2 bulk checksum "${CONN[@]}" -k ks -t vi
grep -qF "checksum: $VSUM rows: 4" "$WORK/vi_sum2.out" && ok || bad "vi reloaded: $(cat "$WORK/vi_sum2.out")"
run vi_bad bulk unload "${CONN[@]}" -k ks -t vi --format parquet --varint-as text --output "$WORK/pq_vi_bad"
expect_rc vi_bad 1 && { grep -qF -- "--varint-as: expected decimal or string, got 'text'" "$WORK/vi_bad.err" && ok || bad "vi_bad: $(cat "$WORK/vi_bad.err")"; }
run vi_ice bulk unload "${CONN[@]}" -k ks -t vi --format iceberg --warehouse "$WORK/wh" --varint-as decimal
expect_rc vi_ice 1 && { grep -qF -- "--varint-as decimal: Iceberg data files keep varint as string" "$WORK/vi_ice.err" && ok || bad "vi_ice: $(cat "$WORK/vi_ice.err")"; }

if [ -n "$DUCK" ]; then
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

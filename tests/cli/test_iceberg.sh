#!/usr/bin/env bash
# `cqlpp bulk unload/load --format iceberg` on a 3-node `cqlpp sim` (ports
# 24000-24999, CQLPP_TEST_PORT_BASE moves them): every CQL type round trips
# through an Iceberg v2 table to the original checksum; two append snapshots
# then --snapshot-id / --as-of the first restores the first; overwrite; a
# column added gets a new field id; then readers we did not write (avsc for
# the Avro manifests, DuckDB for the data files) check the table. Skips (77)
# without python3-cassandra, the Node part without npm registry access.
set -u
CQLPP=${1:?usage: test_iceberg.sh path/to/cqlpp}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK_NAME=iceberg
# shellcheck source=alltypes_lib.sh
source "$HERE/alltypes_lib.sh"
start_alltypes_sim iceberg "${CQLPP_TEST_PORT_BASE:-24000}"
# As in test_parquet.sh, but times in whole microseconds: Iceberg's time is
# microseconds, nanoseconds are truncated (docs/iceberg.md).
load_alltypes 12:34:56.123456


W=$WORK/warehouse
T=$W/ns/all
# 1. Every type: unload to an Iceberg table, truncate, load it back: the same checksum.
run ice bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --namespace ns --table-name all --row-group-rows 7
expect_rc ice 0 && { grep -qF "checksum: $SUM" "$WORK/ice.out" && ok || bad "iceberg unload: $(cat "$WORK/ice.out")"; }
grep -q "^iceberg: .* snapshot [0-9]* (sequence 1, v1.metadata.json, schema 0): .* table .* 300 rows$" "$WORK/ice.out" && ok || bad "commit line: $(cat "$WORK/ice.out")"
[ "$(cat "$T/metadata/version-hint.text")" = 1 ] && ok || bad "version hint"
cql "TRUNCATE ks.t"
run ice_load bulk load "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --namespace ns --table-name all
expect_rc ice_load 0 && { grep -qF "checksum: $SUM" "$WORK/ice_load.out" && ok || bad "iceberg load: $(cat "$WORK/ice_load.out" "$WORK/ice_load.err")"; }
run ice_sum bulk checksum "${CONN[@]}" -k ks -t t
grep -qF "checksum: $SUM rows: 300" "$WORK/ice_sum.out" && ok || bad "table checksum after iceberg load: $(cat "$WORK/ice_sum.out")"

# An interrupted unload commits nothing; resumed (--resume its data directory) it commits every range once.
run part bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name resumed --splits 30 --max-ranges 5
expect_rc part 1
[ ! -e "$W/ks/resumed/metadata" ] && ok || bad "an interrupted unload committed"
PART=$(sed -n 's/.*(run again with --resume \(.*\) to finish and commit)$/\1/p' "$WORK/part.err")
[ -d "$PART" ] && ok || bad "no resume hint: $(cat "$WORK/part.err")"
run rest bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name resumed --splits 30 --resume "$PART"
expect_rc rest 0 && { grep -qF "checksum: $SUM" "$WORK/rest.out" && ok || bad "resumed unload: $(cat "$WORK/rest.out")"; }
grep -q "table .* 300 rows$" "$WORK/rest.out" && ok || bad "resumed commit: $(cat "$WORK/rest.out")"
cql "TRUNCATE ks.t"
run res_load bulk load "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name resumed
expect_rc res_load 0
run res_sum bulk checksum "${CONN[@]}" -k ks -t t
grep -qF "checksum: $SUM rows: 300" "$WORK/res_sum.out" && ok || bad "table checksum after resumed load: $(cat "$WORK/res_sum.out")"

# 2. Time travel: two append snapshots, then the first by --snapshot-id and by --as-of.
cql "CREATE TABLE ks.s (k int PRIMARY KEY, v text)"
for i in $(seq 1 20); do echo "$i,v$i"; done | sed '1i k,v' > "$WORK/s1.csv"
run s1 bulk load "${CONN[@]}" -k ks -t s --input "$WORK/s1.csv"; expect_rc s1 0
run s1sum bulk checksum "${CONN[@]}" -k ks -t s; S1=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 20$/\1/p' "$WORK/s1sum.out")
run u1 bulk unload "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" --splits 4; expect_rc u1 0
sleep 0.01
for i in $(seq 21 30); do echo "$i,w$i"; done | sed '1i k,v' > "$WORK/s2.csv"
run s2 bulk load "${CONN[@]}" -k ks -t s --input "$WORK/s2.csv"; expect_rc s2 0
run s2sum bulk checksum "${CONN[@]}" -k ks -t s; S2=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 30$/\1/p' "$WORK/s2sum.out")
run u2 bulk unload "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" --splits 4; expect_rc u2 0
grep -q "sequence 2, v2.metadata.json.* table .* 50 rows$" "$WORK/u2.out" && ok || bad "append keeps the first snapshot's files: $(cat "$WORK/u2.out")"
run info bulk iceberg-info "$W/ks/s"; expect_rc info 0
SNAP1=$(sed -n 's/^  \([0-9]*\)  .*  append  added 20 records.*/\1/p' "$WORK/info.out")
TS1=$(sed -n 's/^  [0-9]*  [^ ]* (\([0-9]*\))  append  added 20 records.*/\1/p' "$WORK/info.out")
ISO1=$(sed -n 's/^  [0-9]*  \([^ ]*\) ([0-9]*)  append  added 20 records.*/\1/p' "$WORK/info.out")
[ -n "$SNAP1" ] && [ -n "$TS1" ] && grep -q "added 30 records, total 50 records in" "$WORK/info.out" && ok || bad "iceberg-info: $(cat "$WORK/info.out")"
load_s() {  # load_s NAME EXPECTED_SUM ROWS ARGS...: truncate ks.s, load the snapshot, compare
  local name=$1 want=$2 rows=$3; shift 3
  cql "TRUNCATE ks.s"
  run "$name" bulk load "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" "$@"
  expect_rc "$name" 0
  run "${name}_sum" bulk checksum "${CONN[@]}" -k ks -t s
  grep -qF "checksum: $want rows: $rows" "$WORK/${name}_sum.out" && ok || bad "$name: $(cat "$WORK/${name}_sum.out" "$WORK/$name.err")"
}
load_s by_id "$S1" 20 --snapshot-id "$SNAP1"
load_s by_ms "$S1" 20 --as-of "$TS1"
load_s by_iso "$S1" 20 --as-of "$ISO1"
load_s current "$S2" 30
run too_early bulk load "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" --as-of 1000
expect_rc too_early 1

# 3. Overwrite: the new snapshot holds only its own files.
run ow bulk unload "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" --mode overwrite; expect_rc ow 0
grep -q "table .* 30 rows$" "$WORK/ow.out" && ok || bad "overwrite: $(cat "$WORK/ow.out")"

# 4. Schema evolution: a column added gets a new field id; the others keep theirs.
cql "ALTER TABLE ks.s ADD x int; INSERT INTO ks.s (k, v, x) VALUES (99, 'z', 7)"
run evo bulk unload "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W"; expect_rc evo 0
grep -q "schema 1)" "$WORK/evo.out" && ok || bad "evolution: $(cat "$WORK/evo.out")"
run evo_sum bulk checksum "${CONN[@]}" -k ks -t s; S3=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 31$/\1/p' "$WORK/evo_sum.out")
load_s evolved "$S3" 31
cql "DELETE FROM ks.s WHERE k = 99"
run s2x bulk checksum "${CONN[@]}" -k ks -t s; S2X=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 30$/\1/p' "$WORK/s2x.out")
load_s before_evolution "$S2X" 30 --snapshot-id "$(sed -n 's/^iceberg: .* snapshot \([0-9]*\) .*/\1/p' "$WORK/ow.out")"

# 5. Partitioned: one data file per partition value per range, load reads them all.
run parted bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --namespace ns --table-name parted \
  --partition-by 'bucket(4, k), day(ts)' --splits 6 --compression snappy
expect_rc parted 0 && { grep -qF "checksum: $SUM" "$WORK/parted.out" && ok || bad "partitioned unload: $(cat "$WORK/parted.out")"; }
grep -q "table .* 300 rows$" "$WORK/parted.out" && ok || bad "partitioned commit: $(cat "$WORK/parted.out")"
grep -q '"partition-specs":\[{"spec-id":0,"fields":\[{"name":"k_bucket","transform":"bucket\[4\]","source-id":1,"field-id":1000},{"name":"ts_day","transform":"day","source-id":[0-9]*,"field-id":1001}\]}\]' \
  "$W/ns/parted/metadata/v1.metadata.json" && ok || bad "partition spec: $(grep -o '"partition-specs":[^]]*]' "$W/ns/parted/metadata/v1.metadata.json")"
ls "$W"/ns/parted/data/unload-*/range_*.p1.parquet >/dev/null 2>&1 && ok || bad "no per-partition files"
cql "TRUNCATE ks.t"
# NaNs (nan_value_counts, checked against DuckDB in part 7) and an identity partition with nulls.
cql "CREATE TABLE ks.fl (k int PRIMARY KEY, f float, d double, p int)"
{ echo k,f,d,p; for i in $(seq 1 40); do
    echo "$i,$( [ $((i % 3)) = 0 ] && echo NaN || echo "$i.5"),$( [ $((i % 4)) = 0 ] && echo NaN || echo "-$i.25"),$( [ $((i % 5)) = 0 ] || echo $((i % 4)))"
  done; } > "$WORK/fl.csv"
run fl_load bulk load "${CONN[@]}" -k ks -t fl --input "$WORK/fl.csv"; expect_rc fl_load 0
run fl bulk unload "${CONN[@]}" -k ks -t fl --format iceberg --warehouse "$W" --namespace ns --table-name fl \
  --partition-by 'identity(p)' --splits 3
expect_rc fl 0
run parted_load bulk load "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --namespace ns --table-name parted
expect_rc parted_load 0
run parted_sum bulk checksum "${CONN[@]}" -k ks -t t
grep -qF "checksum: $SUM rows: 300" "$WORK/parted_sum.out" && ok || bad "checksum after partitioned load: $(cat "$WORK/parted_sum.out")"
run toomany bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name toomany \
  --partition-by 'k' --splits 2 --max-open-partitions 3
expect_rc toomany 1 && { grep -q "more than 3 partition values" "$WORK/toomany.err" && ok || bad "cap: $(cat "$WORK/toomany.err")"; }
[ ! -e "$W/ks/toomany/metadata" ] && ok || bad "over the cap committed"
run badspec bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name badspec --partition-by 'day(t)'
expect_rc badspec 1 && { grep -q -- "--partition-by: day() needs a timestamp or date column" "$WORK/badspec.err" && ok || bad "bad spec: $(cat "$WORK/badspec.err")"; }

# truncate[W] of negative ints and bigints and of multibyte text, hour/month/year of times before 1970 (not on the hour):
# part 7 has DuckDB recompute every file's partition values and checks one row's tuple exactly.
cql "CREATE TABLE ks.tr (k int PRIMARY KEY, n bigint, s text, ts timestamp)"
{ echo k,n,s,ts; for i in $(seq 1 40); do
    case $((i % 4)) in 0) s="tëxt$i" ;; 1) s="€uro$i" ;; 2) s="日本語$i" ;; *) s="😀$i" ;; esac
    echo "$((i * 7 - 150)),$((i * 123457 - 2500000)),$s,$(( (i * 5 - 100) * 3600000 + i * 60000 ))"
  done; } > "$WORK/tr.csv"
run tr_load bulk load "${CONN[@]}" -k ks -t tr --input "$WORK/tr.csv"; expect_rc tr_load 0
run tr bulk unload "${CONN[@]}" -k ks -t tr --format iceberg --warehouse "$W" --namespace ns --table-name tr \
  --partition-by 'truncate(25, k), truncate(1000000, n), truncate(2, s), hour(ts), month(ts), year(ts)' --splits 3
expect_rc tr 0
grep -q '"fields":\[{"name":"k_trunc","transform":"truncate\[25\]","source-id":1,"field-id":1000},{"name":"n_trunc","transform":"truncate\[1000000\]","source-id":2,"field-id":1001},{"name":"s_trunc","transform":"truncate\[2\]","source-id":3,"field-id":1002},{"name":"ts_hour","transform":"hour","source-id":4,"field-id":1003},{"name":"ts_month","transform":"month","source-id":4,"field-id":1004},{"name":"ts_year","transform":"year","source-id":4,"field-id":1005}\]' \
  "$W/ns/tr/metadata/v1.metadata.json" && ok || bad "truncate spec: $(grep -o '"partition-specs":[^]]*]' "$W/ns/tr/metadata/v1.metadata.json")"
run badtr bulk unload "${CONN[@]}" -k ks -t tr --format iceberg --warehouse "$W" --table-name badtr --partition-by 'truncate(4, ts)'
expect_rc badtr 1 && { grep -q -- "--partition-by: truncate of a timestamp column is not supported" "$WORK/badtr.err" && ok || bad "bad truncate: $(cat "$WORK/badtr.err")"; }

# 6. Workers: 3 shares staged, one commit = one snapshot with the table's rows and checksum.
for i in 1 2 3; do
  run "w$i" bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name workers --worker "$i/3" --job j1
  expect_rc "w$i" 0
done
[ ! -e "$W/ks/workers/metadata" ] && ok || bad "a worker committed by itself"
run w1_again bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name workers --worker 1/3 --job j1
expect_rc w1_again 0 && { grep -q "already finished" "$WORK/w1_again.out" && ok || bad "finished worker again: $(cat "$WORK/w1_again.out")"; }
run wc bulk commit --format iceberg --warehouse "$W" -k ks --table-name workers --workers 3 --job j1
expect_rc wc 0 && { grep -q "snapshot [0-9]* (sequence 1, v1.metadata.json) from 3 worker(s): .* 300 rows, checksum $SUM; table .* 300 rows$" "$WORK/wc.out" && ok || bad "commit: $(cat "$WORK/wc.out")"; }
run wc_again bulk commit --format iceberg --warehouse "$W" -k ks --table-name workers --workers 3 --job j1
expect_rc wc_again 1
# A commit that stopped between the table's commit and _COMMITTED: the table knows the job (its snapshot
# summary); run again, it adds nothing, says so and writes _COMMITTED.
rm -f "$W/ks/workers/data/job-j1/_COMMITTED"
run wc_repair bulk commit --format iceberg --warehouse "$W" -k ks --table-name workers --workers 3 --job j1
expect_rc wc_repair 1 && { grep -q "already committed (snapshot [0-9]* of the table)" "$WORK/wc_repair.err" && ok || bad "commit again: $(cat "$WORK/wc_repair.err")"; }
[ -s "$W/ks/workers/data/job-j1/_COMMITTED" ] && [ "$(ls "$W/ks/workers/metadata/" | grep -c '^v[0-9]*\.metadata\.json$')" = 1 ] && ok ||
  bad "after commit again: $(ls "$W/ks/workers/data/job-j1" "$W/ks/workers/metadata")"
cql "TRUNCATE ks.t"
run w_load bulk load "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name workers
expect_rc w_load 0
run w_sum bulk checksum "${CONN[@]}" -k ks -t t
grep -qF "checksum: $SUM rows: 300" "$WORK/w_sum.out" && ok || bad "checksum after worker load: $(cat "$WORK/w_sum.out")"
# A worker missing: an error naming it, nothing committed.
for i in 1 3; do run "m$i" bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name missing --worker "$i/3"; done
run mc bulk commit --format iceberg --warehouse "$W" -k ks --table-name missing --workers 3
expect_rc mc 1 && { grep -q "worker 2/3 is missing" "$WORK/mc.err" && ok || bad "missing worker: $(cat "$WORK/mc.err")"; }
[ ! -e "$W/ks/missing/metadata" ] && ok || bad "commit with a worker missing committed"
# An incomplete worker (interrupted): not finished, nothing committed.
run m2 bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name missing --worker 2/3 --splits 30 --max-ranges 2
expect_rc m2 1
run mc2 bulk commit --format iceberg --warehouse "$W" -k ks --table-name missing --workers 3
expect_rc mc2 1 && { grep -q "worker 2/3 has not finished" "$WORK/mc2.err" && ok || bad "incomplete worker: $(cat "$WORK/mc2.err")"; }
# Run again, the worker resumes its staging directory; then the commit succeeds.
run m2b bulk unload "${CONN[@]}" -k ks -t t --format iceberg --warehouse "$W" --table-name missing --worker 2/3 --splits 30
expect_rc m2b 0
run mc3 bulk commit --format iceberg --warehouse "$W" -k ks --table-name missing --workers 3
expect_rc mc3 0 && { grep -q "300 rows, checksum $SUM;" "$WORK/mc3.out" && ok || bad "commit after resume: $(cat "$WORK/mc3.out")"; }
# Parquet: workers write DIR/worker-I-of-N, the commit marks the dataset complete.
DS=$WORK/ds
run p1 bulk unload "${CONN[@]}" -k ks -t t --format parquet --output "$DS/worker-1-of-2" --worker 1/2; expect_rc p1 0
run pc_missing bulk commit --format parquet --output "$DS" --workers 2
expect_rc pc_missing 1
[ ! -e "$DS/_SUCCESS" ] && ok || bad "_SUCCESS with a worker missing"
run p2 bulk unload "${CONN[@]}" -k ks -t t --format parquet --output "$DS/worker-2-of-2" --worker 2/2; expect_rc p2 0
run pc bulk commit --format parquet --output "$DS" --workers 2
expect_rc pc 0
[ -e "$DS/_SUCCESS" ] && grep -q "\"rows\":300,\"checksum\":\"$SUM\"" "$DS/_summary.json" && ok || bad "parquet dataset: $(cat "$WORK/pc.out" "$DS/_summary.json")"
# A Parquet worker run twice at once (its retry and a second copy, as a scheduler may): the worker's lock makes
# one wait for the other, which resumes the journal; the waiter then finds every range done. Without the lock
# both would redo the missing ranges, and the commit would refuse a journal listing them twice.
DL=$WORK/ds_lock
run pl1 bulk unload "${CONN[@]}" -k ks -t t --format parquet --output "$DL/worker-1-of-2" --worker 1/2 --splits 30 --max-ranges 2
expect_rc pl1 1
cql "UPDATE sim.nodes SET latency_ms = 20 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 20 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 20 WHERE node = 2"
pids=()
for i in a b; do
  run "pl1$i" bulk unload "${CONN[@]}" -k ks -t t --format parquet --output "$DL/worker-1-of-2" --worker 1/2 --splits 30 \
    --resume "$DL/worker-1-of-2" & pids+=($!)
done
rcs=""
for p in "${pids[@]}"; do wait "$p"; rcs="$rcs$?"; done
cql "UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 0 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 0 WHERE node = 2"
[ "$rcs" = 00 ] && ok || bad "two runs of parquet worker 1/2: exits $rcs: $(cat "$WORK"/pl1a.err "$WORK"/pl1b.err)"
[ "$(grep -l "^cqlpp: worker 1/2 (parquet) is running in another process (.*/worker.lock is locked): waiting for it to end$" \
     "$WORK/pl1a.err" "$WORK/pl1b.err" | wc -l)" = 1 ] && ok || bad "no run of parquet worker 1/2 waited: $(cat "$WORK"/pl1a.err "$WORK"/pl1b.err)"
run pl2 bulk unload "${CONN[@]}" -k ks -t t --format parquet --output "$DL/worker-2-of-2" --worker 2/2 --splits 30; expect_rc pl2 0
run plc bulk commit --format parquet --output "$DL" --workers 2
expect_rc plc 0 && { grep -q "\"rows\":300,\"checksum\":\"$SUM\"" "$DL/_summary.json" && ok || bad "locked parquet dataset: $(cat "$WORK/plc.out" "$DL/_summary.json")"; }

# `cqlpp iceberg ls|snapshots|schema`: what the unloads above wrote, as tables and --json, against their own output.
jcheck() {  # jcheck NAME PYTHON_EXPR_ON_j...: the --json output NAME.out parsed as j; each expression must hold
  local name=$1; shift
  if "$PY" - "$WORK/$name.out" "$@" >"$WORK/$name.chk" 2>&1 <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
def ids(t):  # field ids of an Iceberg type in pre-order, as the spec nests them
    if not isinstance(t, dict): return []
    if t.get('type') == 'struct': return [x for f in t['fields'] for x in [f['id']] + ids(f['type'])]
    if t.get('type') == 'list': return [t['element-id']] + ids(t['element'])
    if t.get('type') == 'map': return [t['key-id'], t['value-id']] + ids(t['key']) + ids(t['value'])
    return []
bad = [e for e in sys.argv[2:] if not eval(e)]
print("\n".join("not: " + e for e in bad))
sys.exit(1 if bad else 0)
PYEOF
  then ok; else bad "$name: $(cat "$WORK/$name.chk") in $(head -c 3000 "$WORK/$name.out")"; fi
}
id_of() { sed -n 's/^iceberg: .* snapshot \([0-9]*\) .*/\1/p' "$WORK/$1.out"; }
files_of() { sed -n 's/^iceberg: .*; table \([0-9]*\) file(s), .*/\1/p' "$WORK/$1.out"; }
U1=$(id_of u1); U2=$(id_of u2); OW=$(id_of ow); EVO=$(id_of evo); ICE=$(id_of ice)
run ls_json iceberg ls "$W" --json; expect_rc ls_json 0
jcheck ls_json "sorted(j['namespaces']) == ['ks', 'ns']" \
  "[(t['namespace'], t['table']) for t in j['tables']] == [('ks', 'missing'), ('ks', 'resumed'), ('ks', 's'), ('ks', 'workers'), ('ns', 'all'), ('ns', 'fl'), ('ns', 'parted'), ('ns', 'tr')]" \
  "[(t['current_snapshot_id'], t['rows'], t['files'], t['snapshots']) for t in j['tables'] if t['table'] == 'all'] == [($ICE, 300, $(files_of ice), 1)]" \
  "[(t['current_snapshot_id'], t['rows'], t['files'], t['snapshots']) for t in j['tables'] if t['table'] == 's'] == [($EVO, 61, $(files_of evo), 4)]" \
  "[(t['rows'], t['files']) for t in j['tables'] if t['table'] == 'tr'] == [(40, $(files_of tr))]"
run ls iceberg ls "$W"; expect_rc ls 0
grep -Eq "^ +ns \| +all \| +$ICE \| +1 \| +300 \| +$(files_of ice) \| +v2 \| 20[0-9-]+T[0-9:.]+Z$" "$WORK/ls.out" &&
  grep -q "^(8 tables in 2 namespaces)$" "$WORK/ls.out" && ok || bad "ls: $(cat "$WORK/ls.out")"
run ls_one iceberg ls "$W/ns/all" --json; expect_rc ls_one 0
jcheck ls_one "len(j['tables']) == 1 and j['tables'][0]['rows'] == 300"
run snaps_json iceberg snapshots "$W" ks.s --json; expect_rc snaps_json 0
jcheck snaps_json "j['current_snapshot_id'] == $EVO" \
  "[s['snapshot_id'] for s in j['snapshots']] == [$U1, $U2, $OW, $EVO]" \
  "[s['parent_snapshot_id'] for s in j['snapshots']] == [None, $U1, $U2, $OW]" \
  "[s['operation'] for s in j['snapshots']] == ['append', 'append', 'overwrite', 'append']" \
  "[(s['summary']['added-records'], s['summary']['total-records']) for s in j['snapshots']] == [('20', '20'), ('30', '50'), ('30', '30'), ('31', '61')]" \
  "[s['schema_id'] for s in j['snapshots']] == [0, 0, 0, 1]" \
  "all(s['timestamp'].endswith('Z') and s['sequence_number'] == i + 1 for i, s in enumerate(j['snapshots']))"
run snaps iceberg snapshots "$W/ks/s"; expect_rc snaps 0
grep -Eq "^ +$U2 \| +$U1 \| +2 \| 20[0-9T:.-]+Z \| +append \| +30 \| +[0-9]+ \| +50 \| +[0-9]+ \| +0 \| +$" "$WORK/snaps.out" &&
  grep -Eq "^ +$EVO \| +$OW \| .* \| +1 \| +\*$" "$WORK/snaps.out" && grep -q "^(4 snapshots; current: $EVO)$" "$WORK/snaps.out" &&
  ok || bad "snapshots: $(cat "$WORK/snaps.out")"
run schema_json iceberg schema "$W/ks/s" --json; expect_rc schema_json 0
jcheck schema_json "j['schema_id'] == 1 and j['current_schema_id'] == 1" \
  "[(f['id'], f['name'], f['type'], f['required']) for f in j['fields']] == [(1, 'k', 'int', False), (2, 'v', 'string', False), (3, 'x', 'int', False)]" \
  "j['sort_orders'] == [{'order-id': 0, 'fields': []}] and j['default_sort_order_id'] == 0"
run schema_old iceberg schema "$W" ks.s --snapshot-id "$U1" --json; expect_rc schema_old 0
jcheck schema_old "j['schema_id'] == 0 and [f['name'] for f in j['fields']] == ['k', 'v']"
# Every field id of the all-types table, nested ones included, as the metadata file has them.
run schema_all iceberg schema "$W/ns/all" --json; expect_rc schema_all 0
jcheck schema_all "[f['id'] for f in j['fields']] == ids(json.load(open('$W/ns/all/metadata/v1.metadata.json'))['schemas'][0])" \
  "('du.months', 'int', True) in [(f['name'], f['type'], f['required']) for f in j['fields']]" \
  "('m', 'map<string, int>') in [(f['name'], f['type']) for f in j['fields']] and len(j['fields']) > 24"
run schema_tr iceberg schema "$W" ns.tr; expect_rc schema_tr 0
grep -Eq "^ +1001 \| +n_trunc \| +truncate\[1000000\] \| +2 \| +n$" "$WORK/schema_tr.out" &&
  grep -q "^partition spec 0 (default):$" "$WORK/schema_tr.out" && grep -q "^sort order 0 (default): unsorted$" "$WORK/schema_tr.out" &&
  grep -Eq "^ +4 \| +ts \| +timestamptz \| +optional$" "$WORK/schema_tr.out" && ok || bad "schema: $(cat "$WORK/schema_tr.out")"
# Bad input: one line on stderr, exit 1.
one_error() {  # one_error NAME PATTERN
  expect_rc "$1" 1 && { [ "$(wc -l < "$WORK/$1.err")" = 1 ] && grep -q "$2" "$WORK/$1.err" && ok || bad "$1: $(cat "$WORK/$1.err")"; }
}
run e_missing iceberg ls "$WORK/nowhere"; one_error e_missing "nowhere: no such directory"
run e_snap iceberg schema "$W/ks/s" --snapshot-id 12345; one_error e_snap "no snapshot 12345"
run e_notable iceberg snapshots "$W"; one_error e_notable "not an Iceberg table"
cp -r "$W/ns/fl" "$WORK/corrupt"
head -c 100 "$W/ns/fl/metadata/v1.metadata.json" > "$WORK/corrupt/metadata/v1.metadata.json"
run e_corrupt iceberg snapshots "$WORK/corrupt"; one_error e_corrupt "v1.metadata.json: not a JSON object"
run e_corrupt_ls iceberg ls "$WORK/corrupt"; one_error e_corrupt_ls "v1.metadata.json: not a JSON object"
# A summary without the optional totals (other writers may leave them out): ls counts the manifests' files.
cp -r "$W/ns/fl" "$WORK/nosum"
sed -i -E 's/"total-(records|data-files)":"[0-9]+",?//g' "$WORK/nosum/metadata/v1.metadata.json"
run nosum iceberg ls "$WORK/nosum" --json; expect_rc nosum 0
! grep -q total-records "$WORK/nosum/metadata/v1.metadata.json" && ok || bad "nosum: totals still there"
jcheck nosum "[(t['rows'], t['files']) for t in j['tables']] == [(40, $(files_of fl))]"
run info_still bulk iceberg-info "$W/ks/s"; expect_rc info_still 0
grep -q "^  $U1  20.*Z ([0-9]*)  append  added 20 records" "$WORK/info_still.out" && ok || bad "iceberg-info: $(cat "$WORK/info_still.out")"

# 7. Readers we did not write: metadata and Avro manifests (avsc), data files (DuckDB).
if ! (cd "$HERE/../parquet_interop" && timeout 300 npm install --no-audit --no-fund >"$WORK/npm.log" 2>&1); then
  echo "SKIP (Node part): npm registry unreachable: $(tail -2 "$WORK/npm.log")"
else
  if node "$HERE/../parquet_interop/iceberg_check.mjs" "$T" >"$WORK/chk.out" 2>&1; then ok; else bad "iceberg_check all: $(cat "$WORK/chk.out")"; fi
  grep -q "^rows 300$" "$WORK/chk.out" && ok || bad "duckdb rows (all): $(cat "$WORK/chk.out")"
  # Every value of the all-types table's data files (one snapshot) as DuckDB reads them, against the Python driver.
  if node "$HERE/../parquet_interop/duckdb_values.mjs" "$T/data/unload-*/*.parquet" >"$WORK/values.jsonl" 2>"$WORK/values.err" &&
     "$PY" "$HERE/compare_values.py" "$SIM_PORT" ks t "$WORK/values.jsonl" --time-micros >"$WORK/cmp.out" 2>&1; then ok; else
    bad "values: $(cat "$WORK/values.err" "$WORK/cmp.out")"; fi
  grep -q "^compared 300 rows x 24 columns (7200 values)$" "$WORK/cmp.out" && ok || bad "values compared: $(cat "$WORK/cmp.out")"
  if node "$HERE/../parquet_interop/iceberg_check.mjs" "$W/ks/s" >"$WORK/chk_s.out" 2>&1; then ok; else bad "iceberg_check s: $(cat "$WORK/chk_s.out")"; fi
  # overwrite (30 rows) + the evolved unload (31) appended
  grep -q "^rows 61$" "$WORK/chk_s.out" && ok || bad "duckdb rows (s): $(cat "$WORK/chk_s.out")"
  grep -q "^schemas 2$" "$WORK/chk_s.out" && ok || bad "schemas: $(cat "$WORK/chk_s.out")"
  grep -q "^ids k=1,v=2 | k=1,v=2,x=3$" "$WORK/chk_s.out" && ok || bad "field ids: $(cat "$WORK/chk_s.out")"
  # Partition values and column metrics against DuckDB's reading of each file.
  grep -q "^metrics checked [1-9]" "$WORK/chk.out" && ok || bad "metrics (all): $(cat "$WORK/chk.out")"
  if node "$HERE/../parquet_interop/iceberg_check.mjs" "$W/ns/parted" >"$WORK/chk_p.out" 2>&1; then ok; else bad "iceberg_check parted: $(cat "$WORK/chk_p.out")"; fi
  grep -q "^rows 300$" "$WORK/chk_p.out" && ok || bad "duckdb rows (parted): $(cat "$WORK/chk_p.out")"
  grep -q "^partition values checked [1-9]" "$WORK/chk_p.out" && ok || bad "partition values: $(cat "$WORK/chk_p.out")"
  grep -q "^hyparquet files [1-9]" "$WORK/chk_p.out" && ok || bad "hyparquet (snappy files): $(cat "$WORK/chk_p.out")"
  grep -q "^partition summaries checked [1-9]" "$WORK/chk_p.out" && ok || bad "partition summaries: $(cat "$WORK/chk_p.out")"
  if node "$HERE/../parquet_interop/iceberg_check.mjs" "$W/ns/fl" >"$WORK/chk_fl.out" 2>&1; then ok; else bad "iceberg_check fl: $(cat "$WORK/chk_fl.out")"; fi
  grep -q "^rows 40$" "$WORK/chk_fl.out" && ok || bad "duckdb rows (fl): $(cat "$WORK/chk_fl.out")"
  grep -q "^nan counts checked [1-9]" "$WORK/chk_fl.out" && ok || bad "nan_value_counts: $(cat "$WORK/chk_fl.out")"
  grep -q "^partition summaries checked [1-9]" "$WORK/chk_fl.out" && ok || bad "partition summaries (fl): $(cat "$WORK/chk_fl.out")"
  # truncate and hour: DuckDB's values for every file; k = -143 (row 1) exactly: -150, -3000000, "€u",
  # and -95 hours (-94 h 59 min: floor, not truncation towards zero), December 1969 (month -1, year -1).
  if PRINT_PARTITIONS=1 MAX_FILES=0 node "$HERE/../parquet_interop/iceberg_check.mjs" "$W/ns/tr" >"$WORK/chk_tr.out" 2>&1; then ok; else bad "iceberg_check tr: $(cat "$WORK/chk_tr.out")"; fi
  grep -q "^rows 40$" "$WORK/chk_tr.out" && ok || bad "duckdb rows (tr): $(cat "$WORK/chk_tr.out")"
  [ "$(sed -n 's/^partition values checked //p' "$WORK/chk_tr.out")" = $(( 6 * $(files_of tr) )) ] && ok || bad "truncate partition values: $(cat "$WORK/chk_tr.out")"
  grep -qx "partition k_trunc=-150,n_trunc=-3000000,s_trunc=€u,ts_hour=-95,ts_month=-1,ts_year=-1" "$WORK/chk_tr.out" && ok || bad "row 1's partition: $(grep ^partition "$WORK/chk_tr.out")"
  grep -qx "partition k_trunc=125,n_trunc=2000000,s_trunc=të,ts_hour=100,ts_month=0,ts_year=0" "$WORK/chk_tr.out" && ok || bad "row 40's partition: $(grep ^partition "$WORK/chk_tr.out")"
fi
echo "test_iceberg: $oks ok, $fails failed"
[ "$fails" -eq 0 ]

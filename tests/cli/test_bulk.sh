#!/usr/bin/env bash
# `cqlpp bulk` driven as a user would drive it, against a `cqlpp sim` started
# here on a free port (22000-22999): count (both modes, JSON summary),
# checksum, unload -> truncate -> load (CSV and JSON), resume after
# --max-ranges and after SIGTERM, --worker shares merged, bad records, errors.
# The schema and the first rows are written with Debian's Python driver
# (/usr/bin/python3, python3-cassandra). Usage: test_bulk.sh path/to/cqlpp
set -u
CQLPP="$1"
PY=/usr/bin/python3
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

if ! "$PY" -c 'import cassandra' 2>/dev/null; then
  echo "test_bulk: $PY has no cassandra module (apt-get install python3-cassandra)" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/cqlpp_cli_bulk.XXXXXX)
SIM_LOG_DIR=$WORK
sim_pid=""
# shellcheck source=../interop/sim_lib.sh
source "$(dirname "$0")/../interop/sim_lib.sh"
cleanup() { stop_sim; rm -rf "$WORK"; }
trap cleanup EXIT

SIM_PORT=""
for _ in $(seq 1 50); do
  p=$((${CQLPP_TEST_PORT_BASE:-22000} + RANDOM % ${CQLPP_TEST_PORT_SPAN:-1000}))
  if ! port_open 127.0.0.1 "$p" && ! port_open 127.0.0.2 "$p" && ! port_open 127.0.0.3 "$p"; then SIM_PORT=$p; break; fi
done
[ -n "$SIM_PORT" ] || { echo "test_bulk: no free port" >&2; exit 1; }
start_sim bulk 3 --nodes 3 --num-tokens 8 >/dev/null || exit 1

CONN=(--hosts 127.0.0.1 --port "$SIM_PORT" --progress none)

cql() {  # cql "STATEMENT; STATEMENT; ..." (split on ';')
  "$PY" - "$SIM_PORT" "$1" <<'EOF'
import sys
from cassandra.cluster import Cluster
port, text = int(sys.argv[1]), sys.argv[2]
c = Cluster(["127.0.0.1"], port=port, protocol_version=4)
s = c.connect()
for q in [q.strip() for q in text.split(";") if q.strip()]:
    s.execute(q)
c.shutdown()
EOF
}

cql "CREATE KEYSPACE ks1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
     CREATE KEYSPACE ks3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3};
     CREATE TABLE ks1.t (k int, c int, v text, m map<text, int>, PRIMARY KEY (k, c));
     CREATE TABLE ks3.t (k int, c int, v text, m map<text, int>, PRIMARY KEY (k, c))" || { bad "schema"; exit 1; }

# 3,000 rows (1,000 partitions x 3) from a generated CSV, with awkward text.
{
  echo 'k,c,v,m'
  for k in $(seq 0 999); do
    for c in 0 1 2; do
      echo "$k,$c,\"text, \"\"$k\"\"\",\"{\"\"a\"\": $c}\""
    done
  done
} > "$WORK/rows.csv"

run() {  # run NAME ARGS...: stdout to $WORK/NAME.out, stderr to $WORK/NAME.err, status in $rc
  local name=$1; shift
  "$CQLPP" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; rc=$?
}
expect_rc() {  # expect_rc NAME WANT
  if [ "$rc" -ne "$2" ]; then bad "$1: exit $rc, expected $2: $(cat "$WORK/$1.err")"; return 1; fi
  ok
}
expect_in() {  # expect_in NAME FILE NEEDLE
  if grep -qF -- "$3" "$2"; then ok; else bad "$1: '$3' not in $(basename "$2"):"$'\n'"$(cat "$2")"; fi
}

for ks in ks1 ks3; do
  run load_$ks bulk load "${CONN[@]}" -k $ks -t t --input "$WORK/rows.csv" --resume "$WORK/load_$ks"
  expect_rc load_$ks 0 && expect_in load_$ks "$WORK/load_$ks.out" "load: 3,000 rows"
  run count_$ks bulk count "${CONN[@]}" -k $ks -t t
  expect_rc count_$ks 0 && expect_in count_$ks "$WORK/count_$ks.out" "count: 3,000 rows"
  run rows_$ks bulk count "${CONN[@]}" -k $ks -t t --count-mode rows --page-size 100 --splits 50
  expect_rc rows_$ks 0 && expect_in rows_$ks "$WORK/rows_$ks.out" "count: 3,000 rows"
done

# Per-host counts add up; JSON summary for machines.
run json bulk count "${CONN[@]}" -k ks1 -t t --json-summary
expect_rc json 0
if "$PY" - "$WORK/json.out" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
j = json.loads(lines[0])
assert j["ok"] is True and j["rows"] == 3000 and j["operation"] == "count", j
assert sum(j["per_host"].values()) == 3000 and len(j["per_host"]) == 3, j
EOF
then ok; else bad "json summary: $(cat "$WORK/json.out")"; fi

# Checksums: the same rows in two keyspaces have the same checksum.
run sum1 bulk checksum "${CONN[@]}" -k ks1 -t t
expect_rc sum1 0
run sum3 bulk checksum "${CONN[@]}" -k ks3 -t t --splits 7
expect_rc sum3 0
SUM=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 3000$/\1/p' "$WORK/sum1.out")
if [ ${#SUM} -eq 48 ] && [ "$(cat "$WORK/sum1.out")" = "$(cat "$WORK/sum3.out")" ]; then ok; else
  bad "checksums: $(cat "$WORK/sum1.out") vs $(cat "$WORK/sum3.out")"; fi

# unload -> truncate -> load, CSV and JSON: the checksum comes back.
for fmt in csv json; do
  run unload_$fmt bulk unload "${CONN[@]}" -k ks1 -t t --format $fmt --output "$WORK/out_$fmt"
  expect_rc unload_$fmt 0 && expect_in unload_$fmt "$WORK/unload_$fmt.out" "checksum: $SUM"
  n=$(find "$WORK/out_$fmt" -name "range_*.$fmt" | wc -l)
  if [ "$n" -ge 24 ]; then ok; else bad "unload $fmt wrote $n files"; fi
  cql "TRUNCATE ks1.t"
  run empty_$fmt bulk count "${CONN[@]}" -k ks1 -t t
  expect_in empty_$fmt "$WORK/empty_$fmt.out" "count: 0 rows"
  run reload_$fmt bulk load "${CONN[@]}" -k ks1 -t t --format $fmt --input "$WORK/out_$fmt"
  expect_rc reload_$fmt 0 && expect_in reload_$fmt "$WORK/reload_$fmt.out" "checksum: $SUM"
  run resum_$fmt bulk checksum "${CONN[@]}" -k ks1 -t t
  expect_in resum_$fmt "$WORK/resum_$fmt.out" "checksum: $SUM rows: 3000"
done

# Unloading into a directory that holds a journal needs --resume.
run again bulk unload "${CONN[@]}" -k ks1 -t t --output "$WORK/out_csv"
expect_rc again 1 && expect_in again "$WORK/again.err" "journal_exists"
[ "$(wc -l < "$WORK/again.err")" -eq 1 ] && ok || bad "again: one error line expected"

# Interrupted by --max-ranges, then resumed: the same total, nothing twice.
run part bulk count "${CONN[@]}" -k ks3 -t t --splits 30 --max-ranges 4 --resume "$WORK/cnt"
expect_rc part 1 && expect_in part "$WORK/part.err" "interrupted"
run rest bulk count "${CONN[@]}" -k ks3 -t t --splits 30 --resume "$WORK/cnt"
expect_rc rest 0 && expect_in rest "$WORK/rest.out" "count: 3,000 rows" && expect_in rest "$WORK/rest.out" "(4 resumed)"

# Killed (SIGTERM) mid-run, then resumed. 2 ms per request and one row per
# page make the unload take ~6 s, so the signal lands in the middle.
cql "UPDATE sim.nodes SET latency_ms = 2 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 2 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 2 WHERE node = 2"
"$CQLPP" bulk unload --hosts 127.0.0.1 --port "$SIM_PORT" --progress lines --progress-interval 0.2 \
  -k ks3 -t t --page-size 1 --concurrency 1 --splits 60 --output "$WORK/killed" \
  >"$WORK/killed.out" 2>"$WORK/killed.err" &
kpid=$!
sleep 1
kill -TERM $kpid 2>/dev/null
wait $kpid; krc=$?
cql "UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 0 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 0 WHERE node = 2"
rc=$krc; expect_rc killed 1 && expect_in killed "$WORK/killed.err" "interrupted"
# The last progress line says so too, not "done".
expect_in killed "$WORK/killed.err" "interrupted after"
grep -q "done in" "$WORK/killed.err" && bad "killed: progress says done: $(cat "$WORK/killed.err")" || ok
n=$(find "$WORK/killed" -name 'range_*.csv' | wc -l)
if [ "$n" -gt 0 ] && [ "$n" -lt 60 ]; then ok; else bad "killed: $n range files after SIGTERM"; fi
ls "$WORK/killed"/*.part >/dev/null 2>&1 && bad "killed: .part files left" || ok
run resumed bulk unload "${CONN[@]}" -k ks3 -t t --splits 60 --output "$WORK/killed" --resume "$WORK/killed"
expect_rc resumed 0 && expect_in resumed "$WORK/resumed.out" "checksum: $SUM"

# Worker shares: disjoint, merged into the whole table.
for i in 1 2 3; do
  run w$i bulk checksum "${CONN[@]}" -k ks3 -t t --worker $i/3 --splits $((4 + i)) --resume "$WORK/w$i"
  expect_rc w$i 0
done
run merge bulk merge "$WORK/w1" "$WORK/w2" "$WORK/w3"
expect_rc merge 0 && expect_in merge "$WORK/merge.out" "checksum: $SUM" && expect_in merge "$WORK/merge.out" "3,000 rows"
run merge2 bulk merge "$WORK/w1" "$WORK/w3"
expect_rc merge2 1 && expect_in merge2 "$WORK/merge2.err" "incomplete"
# One share run twice at once (a scheduler's retry beside the first try): the
# worker's lock on its directory makes one wait for the other, which finds the
# share done; the merge counts each row once.
run wl bulk checksum "${CONN[@]}" -k ks3 -t t --worker 1/3 --splits 5 --max-ranges 1 --resume "$WORK/wl"
expect_rc wl 1
cql "UPDATE sim.nodes SET latency_ms = 20 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 20 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 20 WHERE node = 2"
wl_pids=()
for i in a b; do
  run "wl$i" bulk checksum "${CONN[@]}" -k ks3 -t t --worker 1/3 --splits 5 --page-size 20 --resume "$WORK/wl" & wl_pids+=($!)
done
wl_rcs=""
for p in "${wl_pids[@]}"; do wait "$p"; wl_rcs="$wl_rcs$?"; done
cql "UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 0 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 0 WHERE node = 2"
[ "$wl_rcs" = 00 ] && ok || bad "two runs of checksum worker 1/3: exits $wl_rcs: $(cat "$WORK"/wla.err "$WORK"/wlb.err)"
[ "$(grep -l "^cqlpp: worker 1/3 (checksum) is running in another process (.*/worker.lock is locked): waiting for it to end$" \
     "$WORK/wla.err" "$WORK/wlb.err" | wc -l)" = 1 ] && ok || bad "no run of checksum worker 1/3 waited: $(cat "$WORK"/wla.err "$WORK"/wlb.err)"
run mergel bulk merge "$WORK/wl" "$WORK/w2" "$WORK/w3"
expect_rc mergel 0 && expect_in mergel "$WORK/mergel.out" "checksum: $SUM" && expect_in mergel "$WORK/mergel.out" "3,000 rows"

# Bad records: the file says which and why; the run says it had errors.
printf 'k,c,v\n5000,0,ok\n5001,zero,bad\n5002,0,ok\n' > "$WORK/bad.csv"
run badload bulk load "${CONN[@]}" -k ks1 -t t --input "$WORK/bad.csv" --resume "$WORK/badrun"
expect_rc badload 1
expect_in badload "$WORK/badrun/bad_records.jsonl" '"line":3'
expect_in badload "$WORK/badrun/bad_records.jsonl" '5001,zero,bad'
run after_bad bulk count "${CONN[@]}" -k ks1 -t t
expect_in after_bad "$WORK/after_bad.out" "count: 3,002 rows"

# Progress: plain lines when stderr is not a terminal.
run prog bulk count --hosts 127.0.0.1 --port "$SIM_PORT" -k ks3 -t t --count-mode rows --page-size 10 --progress lines --progress-interval 0.01
expect_rc prog 0 && expect_in prog "$WORK/prog.err" "rows/s" && expect_in prog "$WORK/prog.err" "done in"

# A record the server rejects as INVALID (a null key) is not retried.
printf 'k,c,v\n,0,nullkey\n6000,0,ok\n' > "$WORK/nullkey.csv"
run nullkey bulk load "${CONN[@]}" -k ks1 -t t --input "$WORK/nullkey.csv" --max-retries 5 --resume "$WORK/nullrun"
expect_rc nullkey 1 && expect_in nullkey "$WORK/nullkey.out" "retries: 0"
expect_in nullkey "$WORK/nullrun/bad_records.jsonl" ',0,nullkey'
expect_in nullkey "$WORK/nullrun/bad_records.jsonl" 'Invalid'

# Without --resume, rejects still go to a file, and the error names it; a clean run leaves none.
mkdir -p "$WORK/tmp"
printf 'k,c,v\n7000,0,ok\n7001,zero,bad\n' > "$WORK/bad2.csv"
TMPDIR="$WORK/tmp" run norun bulk load "${CONN[@]}" -k ks1 -t t --input "$WORK/bad2.csv"
expect_rc norun 1 && expect_in norun "$WORK/norun.err" "rejected records in $WORK/tmp/cqlpp-load-"
badfile=$(sed -n 's/.*rejected records in \([^;]*bad_records\.jsonl\).*/\1/p' "$WORK/norun.err")
if [ -n "$badfile" ] && grep -qF '7001,zero,bad' "$badfile"; then ok; else bad "norun: no bad-records file '$badfile'"; fi
grep -qi "see the bad-records file" "$WORK/norun.err" && bad "norun: vague message" || ok
rm -rf "$WORK/tmp"/*
printf 'k,c,v\n7002,0,ok\n' > "$WORK/good2.csv"
TMPDIR="$WORK/tmp" run clean bulk load "${CONN[@]}" -k ks1 -t t --input "$WORK/good2.csv"
expect_rc clean 0
[ -z "$(ls -A "$WORK/tmp")" ] && ok || bad "clean load left $(ls "$WORK/tmp")"

# A load interrupted twice (--max-records) then resumed prints the whole job's
# checksum, equal to the table's; so does merge of its run directory.
cql "CREATE TABLE ks1.r (k int, c int, v text, m map<text, int>, PRIMARY KEY (k, c))"
run lr1 bulk load "${CONN[@]}" -k ks1 -t r --input "$WORK/rows.csv" --max-records 1000 --resume "$WORK/lr"
expect_rc lr1 1 && expect_in lr1 "$WORK/lr1.err" "interrupted"
run lr2 bulk load "${CONN[@]}" -k ks1 -t r --input "$WORK/rows.csv" --max-records 1000 --resume "$WORK/lr"
expect_rc lr2 1
run lr3 bulk load "${CONN[@]}" -k ks1 -t r --input "$WORK/rows.csv" --resume "$WORK/lr"
expect_rc lr3 0 && expect_in lr3 "$WORK/lr3.out" "load: 3,000 rows" && expect_in lr3 "$WORK/lr3.out" "checksum: $SUM"
run lrsum bulk checksum "${CONN[@]}" -k ks1 -t r
expect_in lrsum "$WORK/lrsum.out" "checksum: $SUM rows: 3000"
run lrmerge bulk merge "$WORK/lr"
expect_rc lrmerge 0 && expect_in lrmerge "$WORK/lrmerge.out" "checksum: $SUM"

# Errors: one line each, and no summary of a run that never started.
run e1 bulk count "${CONN[@]}" -k ks1 -t nope
expect_rc e1 1 && expect_in e1 "$WORK/e1.err" "no table ks1.nope"
[ -s "$WORK/e1.out" ] && bad "e1: summary printed before the error: $(cat "$WORK/e1.out")" || ok
run e5 bulk load "${CONN[@]}" -k ks1 -t nope --input "$WORK/bad.csv"
expect_rc e5 1 && expect_in e5 "$WORK/e5.err" "no table ks1.nope"
[ -s "$WORK/e5.out" ] && bad "e5: summary printed before the error: $(cat "$WORK/e5.out")" || ok
run e2 bulk count "${CONN[@]}" -k ks1 -t t --worker 4/3
expect_rc e2 1 && expect_in e2 "$WORK/e2.err" "--worker"
run e3 bulk count "${CONN[@]}" -k ks1 -t t --where-token-range 5
expect_rc e3 1 && expect_in e3 "$WORK/e3.err" "--where-token-range"

# --where-token-range A:A is empty, as `token(k) > A AND token(k) <= A` is in CQL:
# nothing counted, summed or unloaded (not the whole table, not an error).
for mode in server rows; do
  run empty_$mode bulk count "${CONN[@]}" -k ks1 -t t --where-token-range 1:1 --count-mode $mode
  expect_rc empty_$mode 0 && expect_in empty_$mode "$WORK/empty_$mode.out" "count: 0 rows"
done
run empty_sum bulk checksum "${CONN[@]}" -k ks1 -t t --where-token-range 1:1
expect_rc empty_sum 0 && expect_in empty_sum "$WORK/empty_sum.out" "rows: 0"
run empty_unload bulk unload "${CONN[@]}" -k ks1 -t t --where-token-range 1:1 --output "$WORK/empty_unload"
expect_rc empty_unload 0 && expect_in empty_unload "$WORK/empty_unload.out" "unload: 0 rows"
n=$(find "$WORK/empty_unload" -name 'range_*' | wc -l)
[ "$n" -eq 0 ] && ok || bad "empty_unload: $n range files"
run empty_merge bulk merge "$WORK/empty_unload" --where-token-range 1:1
expect_rc empty_merge 0 && expect_in empty_merge "$WORK/empty_merge.out" "0 rows"
run e4 bulk count --hosts 127.0.0.1 --port 1 --progress none -k ks1 -t t
expect_rc e4 1 && expect_in e4 "$WORK/e4.err" "cannot connect"

# SIGINT while every request hangs (connecting, reading metadata or counting):
# the tool still leaves within seconds and says it was interrupted. Last: the
# sim stays this slow (the answer to the UPDATE itself is 20 s late, not awaited).
"$PY" - "$SIM_PORT" <<'EOF2'
import os, sys, time
from cassandra.cluster import Cluster
s = Cluster(["127.0.0.1"], port=int(sys.argv[1]), protocol_version=4).connect()
for n in (0, 1, 2):
    s.execute_async("UPDATE sim.nodes SET latency_ms = 20000 WHERE node = %d" % n)
time.sleep(1)
os._exit(0)
EOF2
for delay in 0.3 1.5; do
  start=$(date +%s)
  timeout 60 "$CQLPP" bulk count "${CONN[@]}" -k ks1 -t t >"$WORK/hang.out" 2>"$WORK/hang.err" &
  hpid=$!
  sleep $delay
  kill -INT $hpid 2>/dev/null
  wait $hpid; rc=$?
  took=$(( $(date +%s) - start ))
  expect_rc hang 1 && expect_in hang "$WORK/hang.err" "interrupted"
  [ "$took" -le 8 ] && ok || bad "hang: SIGINT after ${delay}s took ${took}s to stop"
done

echo "test_bulk: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# Concurrent Iceberg commits from separate processes on one local warehouse,
# against a 3-node `cqlpp sim` (ports 26000-26999, CQLPP_TEST_PORT_BASE moves
# them): appending unloads racing to create and extend one table, then
# `bulk commit`s of different jobs racing (and the same job three times). Every
# process succeeds with its own snapshot or fails with exit 1 and one clear
# error; the table then lists exactly the successful snapshots, one linear
# parent chain with sequence numbers 1..K, metadata versions v1..vK, and its
# current snapshot holds every row of every one. Then two unloads adding
# different columns race: one wins, the other fails cleanly. Skips (77) without
# python3-cassandra.
set -u
CQLPP=${1:?usage: test_iceberg_concurrent.sh path/to/cqlpp}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK_NAME=iceconc
# shellcheck source=alltypes_lib.sh
source "$HERE/alltypes_lib.sh"
start_alltypes_sim iceconc "${CQLPP_TEST_PORT_BASE:-26000}"
cql "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
     CREATE TABLE ks.s (k int PRIMARY KEY, v text)"
{ echo k,v; for i in $(seq 1 20); do echo "$i,v$i"; done; } > "$WORK/s.csv"
run load bulk load "${CONN[@]}" -k ks -t s --input "$WORK/s.csv"; expect_rc load 0
W=$WORK/wh

# in_parallel PREFIX COUNT CQLPP_ARGS...: COUNT processes of the same command at once; PREFIX<i>.out/.err/.rc
in_parallel() {
  local prefix=$1 count=$2 i
  shift 2
  local pids=()
  for i in $(seq 1 "$count"); do
    ( "$CQLPP" "$@" >"$WORK/$prefix$i.out" 2>"$WORK/$prefix$i.err"; echo $? >"$WORK/$prefix$i.rc" ) &
    pids+=($!)
  done
  wait "${pids[@]}"
}

# check_table NAME TABLE_DIR ROWS_PER_SNAPSHOT PREFIX COUNT: the processes PREFIX1..COUNT against the table's
# metadata. Every process exited 0 (its snapshot id in its output) or 1 (one error line; then WANT_ERROR must
# match it); the table's snapshots are exactly the successful ones, in one chain.
check_table() {
  local name=$1 dir=$2 per=$3 prefix=$4 count=$5
  run "$name" iceberg snapshots "$dir" --json; expect_rc "$name" 0
  if "$PY" - "$WORK" "$dir" "$per" "$prefix" "$count" "${WANT_ERROR:-}" >"$WORK/$name.chk" 2>&1 <<'PYEOF'
import json, os, re, sys
work, d, per, prefix, count, want_error = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
problems = []
won = set()
for i in range(1, count + 1):
    rc = open(f"{work}/{prefix}{i}.rc").read().strip()
    out, err = open(f"{work}/{prefix}{i}.out").read(), open(f"{work}/{prefix}{i}.err").read()
    if rc == "0":
        m = re.search(r"^iceberg: .* snapshot (\d+) \(sequence", out, re.M)
        if not m: problems.append(f"process {i}: no snapshot in {out!r}")
        else: won.add(int(m.group(1)))
    elif rc == "1":
        if len(err.strip().splitlines()) != 1 or not want_error or not re.search(want_error, err):
            problems.append(f"process {i}: exit 1 without one clear error: {err!r}")
    else:
        problems.append(f"process {i}: exit {rc}: {err!r}")
j = json.load(open(os.environ["SNAPS_JSON"]))
s = j["snapshots"]
ids = [x["snapshot_id"] for x in s]
if set(ids) != won or len(ids) != len(won):
    problems.append(f"snapshots {ids} != the successful processes' {sorted(won)}")
if [x["parent_snapshot_id"] for x in s] != [None] + ids[:-1]:
    problems.append(f"parent chain broken: {[(x['snapshot_id'], x['parent_snapshot_id']) for x in s]}")
if [x["sequence_number"] for x in s] != list(range(1, len(s) + 1)):
    problems.append(f"sequence numbers {[x['sequence_number'] for x in s]}")
if s and j["current_snapshot_id"] != ids[-1]:
    problems.append(f"current {j['current_snapshot_id']} is not the chain's last {ids[-1]}")
if [x["summary"]["total-records"] for x in s] != [str(per * (n + 1)) for n in range(len(s))]:
    problems.append(f"total-records {[x['summary']['total-records'] for x in s]}")
names = sorted(os.listdir(f"{d}/metadata"))
versions = sorted(int(n[1:-len(".metadata.json")]) for n in names if re.fullmatch(r"v\d+\.metadata\.json", n))
if versions != list(range(1, len(s) + 1)):
    problems.append(f"metadata versions {versions} for {len(s)} snapshots")
if [n for n in names if n.endswith(".tmp")]:
    problems.append(f"temporary files left: {[n for n in names if n.endswith('.tmp')]}")
retried = sum(1 for x in s if not re.search(r"/snap-\d+-1-[^/]*\.avro$", x.get("manifest_list", "/snap-0-1-x.avro")))
print("\n".join(problems) if problems else f"{len(won)} snapshots, {retried} committed after a conflict")
sys.exit(1 if problems else 0)
PYEOF
  then ok; echo "$name: $(cat "$WORK/$name.chk")"; else bad "$name: $(cat "$WORK/$name.chk")"; fi
}
# SNAPS_JSON: the `iceberg snapshots --json` output check_table reads.
check() { SNAPS_JSON=$WORK/$1.out check_table "$@"; }

# rows_through NAME TABLE_DIR: the rows the current snapshot's data files hold, loaded (not the summary's count)
rows_through() {
  run "$1" bulk load "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" --namespace ks --table-name "$2" --json-summary
  expect_rc "$1" 0
  "$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["rows"])' "$WORK/$1.out"
}

# 1. Six appending unloads at once into a table that does not exist yet: all six snapshots land.
in_parallel u 6 bulk unload "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" --table-name appends --splits 3
WANT_ERROR="commit_conflict" check snaps_a "$W/ks/appends" 20 u 6
n=0; for i in $(seq 1 6); do [ "$(cat "$WORK/u$i.rc")" = 0 ] && n=$((n + 1)); done
[ "$n" = 6 ] && ok || bad "appends: $n of 6 succeeded: $(cat "$WORK"/u*.err)"
[ "$(rows_through rows_a appends)" = 120 ] && ok || bad "rows through the current snapshot: $(cat "$WORK/rows_a.out" "$WORK/rows_a.err")"

# 2. Five jobs of two workers each, then their five commits at once, and two more commits of job 1 among them:
# each job makes exactly one snapshot, the two extra commits of job 1 fail as already committed.
pids=()
for jb in 1 2 3 4 5; do
  ( for i in 1 2; do
      "$CQLPP" bulk unload "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" --table-name jobs --worker "$i/2" \
        --job "j$jb" --splits 4 >"$WORK/w$jb-$i.out" 2>&1 || echo "worker $i/2 of j$jb failed" >>"$WORK/workers.err"
    done ) &
  pids+=($!)
done
wait "${pids[@]}"  # not a bare wait: the simulator runs in the background too
[ ! -s "$WORK/workers.err" ] && ok || bad "workers: $(cat "$WORK/workers.err")"
COMMIT=(bulk commit --format iceberg --warehouse "$W" -k ks --table-name jobs --workers 2)
pids=()
for i in 1 2 3 4 5 6 7; do
  jb=$(( i <= 5 ? i : 1 ))
  ( "$CQLPP" "${COMMIT[@]}" --job "j$jb" >"$WORK/c$i.out" 2>"$WORK/c$i.err"; echo $? >"$WORK/c$i.rc" ) &
  pids+=($!)
done
wait "${pids[@]}"
WANT_ERROR="job 'j1' is already committed" check snaps_b "$W/ks/jobs" 20 c 7
won=""; for i in 1 2 3 4 5 6 7; do [ "$(cat "$WORK/c$i.rc")" = 0 ] && won="$won $i"; done
case "$won" in " 1 2 3 4 5" | " 2 3 4 5 6" | " 2 3 4 5 7") ok ;; *) bad "commits that succeeded:$won" ;; esac
"$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["snapshots"]; sys.exit(sorted(x["summary"]["cqlpp.job"] for x in s) != ["job-j%d" % i for i in range(1, 6)])' \
  "$WORK/snaps_b.out" && ok || bad "one snapshot per job: $(cat "$WORK/snaps_b.out")"
[ "$(rows_through rows_b jobs)" = 100 ] && ok || bad "rows through the current snapshot: $(cat "$WORK/rows_b.out" "$WORK/rows_b.err")"

# 3. Two unloads that each add a column (x, y) to a table, both planned on its first version (slow nodes keep them
# running together): one commits, the other exits 1 with commit_conflict (two columns must not share a field id),
# naming its directory, and commits nothing.
cql "CREATE TABLE ks.sx (k int PRIMARY KEY, v text, x int); CREATE TABLE ks.sy (k int PRIMARY KEY, v text, y int)"
for t in sx sy; do run "load_$t" bulk load "${CONN[@]}" -k ks -t "$t" --input "$WORK/s.csv"; expect_rc "load_$t" 0; done
run e1 bulk unload "${CONN[@]}" -k ks -t s --format iceberg --warehouse "$W" --table-name evolve --splits 3; echo "$rc" >"$WORK/e1.rc"
cql "UPDATE sim.nodes SET latency_ms = 100 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 100 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 100 WHERE node = 2"
pids=()
for i in 2 3; do
  t=$([ $i = 2 ] && echo sx || echo sy)
  ( "$CQLPP" bulk unload "${CONN[@]}" -k ks -t "$t" --format iceberg --warehouse "$W" --namespace ks --table-name evolve \
      --splits 3 >"$WORK/e$i.out" 2>"$WORK/e$i.err"; echo $? >"$WORK/e$i.rc" ) &
  pids+=($!)
done
wait "${pids[@]}"
cql "UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 0 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 0 WHERE node = 2"
WANT_ERROR="commit failed \(commit_conflict\): the table's schema changed since the unload started; unload again; nothing committed \(its files in /.* are not in the table\)$" \
  check snaps_e "$W/ks/evolve" 20 e 3
[ "$(cat "$WORK/e1.rc" "$WORK/e2.rc" "$WORK/e3.rc" | sort | tr -d '\n')" = 001 ] && ok ||
  bad "schema race: exits $(cat "$WORK"/e?.rc | tr '\n' ' '): $(cat "$WORK/e2.err" "$WORK/e3.err")"

echo "test_iceberg_concurrent: $oks ok, $fails failed"
[ "$fails" -eq 0 ]

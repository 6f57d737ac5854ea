#!/usr/bin/env bash
# docker/k8s/bulk-unload-job.yaml run for real: its documents parsed and
# checked (k8s_recipe.py), then its containers' commands executed literally
# against a 3-node `cqlpp sim` (ports 25000-25999, CQLPP_TEST_PORT_BASE moves
# them): one process per JOB_COMPLETION_INDEX in parallel, one index failing
# mid-way and retried, then the commit Job's command; the snapshot must hold
# exactly the table (rows and checksum, and loaded back). Again with a pod
# killed (SIGKILL) in the middle of its share and retried, twice at once (one
# run resumes, the other waits for its lock and finds it done). Then the plain shell
# loop and the GNU parallel command of docs/iceberg.md ("On a scheduler"), as
# written there, each with a worker failing once (the loop run again, parallel's
# --retries). Skips (77) without python3-cassandra or python3-yaml; the GNU
# parallel part without GNU parallel.
set -u
CQLPP=${1:?usage: test_k8s_recipe.sh path/to/cqlpp}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
YAML=$ROOT/docker/k8s/bulk-unload-job.yaml
if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then echo "SKIP: python3-yaml missing"; exit 77; fi
WORK_NAME=k8s
# shellcheck source=alltypes_lib.sh
source "$HERE/alltypes_lib.sh"
start_alltypes_sim k8s "${CQLPP_TEST_PORT_BASE:-25000}"

# 1. The manifest's structure.
if "$PY" "$HERE/k8s_recipe.py" check "$YAML" >"$WORK/check.out" 2>&1; then ok; else bad "manifest: $(cat "$WORK/check.out")"; fi
grep -qx '[0-9]*' "$WORK/check.out" || { echo "test_k8s_recipe: the manifest does not check"; exit 1; }

# The table the ConfigMap names (keyspace ks, table events, partitioned by day(ts)): 240 rows over 10 days.
read -r KS TB JOB < <("$PY" -c 'import yaml,sys
d = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ConfigMap"][0]["data"]
print(d["KEYSPACE"], d["TABLE"], d["JOB"])' "$YAML")
cql "CREATE KEYSPACE $KS WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
     CREATE TABLE $KS.$TB (k bigint, c int, ts timestamp, v text, PRIMARY KEY (k, c));
     CREATE TABLE $KS.copy (k bigint, c int, ts timestamp, v text, PRIMARY KEY (k, c))"
{ echo k,c,ts,v; for i in $(seq 0 239); do
    echo "$(( i * 38430716820228232 - 4611686018427387904 )),$((i % 3)),$(( 1764547200000 + i * 3600000 )),v$i"
  done; } > "$WORK/events.csv"
run load bulk load "${CONN[@]}" -k "$KS" -t "$TB" --input "$WORK/events.csv"; expect_rc load 0
run sum bulk checksum "${CONN[@]}" -k "$KS" -t "$TB"
SUM=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 240$/\1/p' "$WORK/sum.out")
[ ${#SUM} -eq 48 ] && ok || { bad "checksum: $(cat "$WORK/sum.out")"; exit 1; }

# `cqlpp` on the pods' PATH. The shim makes the first attempt of index $FAIL_INDEX stop after one range
# (--max-ranges 1, exit 1), as a pod that died mid-way; every other run is the real binary, unchanged.
mkdir -p "$WORK/bin"
cat > "$WORK/bin/cqlpp" <<EOF
#!/bin/sh
[ -z "\${PIDFILE:-}" ] || echo \$\$ > "\$PIDFILE"  # exec keeps the pid: the pod's cqlpp process
if [ "\${JOB_COMPLETION_INDEX:-}" = "\${FAIL_INDEX:-none}" ] && [ ! -e "$WORK/failed-once" ]; then
  : > "$WORK/failed-once"; exec "$CQLPP" "\$@" --max-ranges 1
fi
# The same for the worker whose --worker is \$FAIL_WORKER (the scheduler-less recipes).
for a in "\$@"; do
  if [ "\$a" = "\${FAIL_WORKER:-none}" ] && [ ! -e "$WORK/failed-worker" ]; then
    : > "$WORK/failed-worker"; exec "$CQLPP" "\$@" --max-ranges 1
  fi
done
exec "$CQLPP" "\$@"
EOF
chmod +x "$WORK/bin/cqlpp"
export PATH="$WORK/bin:$PATH"

# 2. The Indexed Job, WORKERS=3, one pod per index at once; index 1 fails once.
WH=$WORK/warehouse
N=3
pod() {  # pod ROLE NAME [INDEX [K=V...]]: the Job's container command as Kubernetes runs it, output in NAME.out/.err
  local role=$1 name=$2 sets=() kv
  shift 2
  for kv in "${@:2}"; do sets+=(--set "$kv"); done
  "$PY" "$HERE/k8s_recipe.py" run "$YAML" "$role" --mount "$WH" ${1:+--index "$1"} \
    --set "CASSANDRA_HOSTS=127.0.0.1:$SIM_PORT" --set "WORKERS=$N" --set FAIL_INDEX=1 "${sets[@]}" \
    >"$WORK/$name.out" 2>"$WORK/$name.err"
}
pids=()
for i in $(seq 0 $((N - 1))); do pod unload "pod$i" "$i" & pids+=($!); done
for i in $(seq 0 $((N - 1))); do wait "${pids[$i]}"; echo $? > "$WORK/pod$i.rc"; done
for i in 0 2; do [ "$(cat "$WORK/pod$i.rc")" = 0 ] && ok || bad "pod $i: exit $(cat "$WORK/pod$i.rc"): $(cat "$WORK/pod$i.err")"; done
[ "$(cat "$WORK/pod1.rc")" = 1 ] && [ -e "$WORK/failed-once" ] && ok || bad "pod 1 should have failed: $(cat "$WORK/pod1.out" "$WORK/pod1.err")"
# Its hint is the scheduler's retry (the same command), not --resume (refused with --worker).
grep -q "run the same command again to resume it" "$WORK/pod1.err" && ok || bad "pod 1's hint: $(cat "$WORK/pod1.err")"
JOBDIR=$WH/$KS/$TB/data/job-$JOB
[ -s "$JOBDIR/worker-2-of-3/journal.jsonl" ] && [ ! -e "$JOBDIR/worker-2-of-3/worker.json" ] && ok ||
  bad "the failed pod left no journal (or finished): $(ls -R "$JOBDIR")"
# The commit Job before the retried pod finished: refused, nothing committed.
pod commit early
[ $? = 1 ] && grep -q "worker 2/3 has not finished" "$WORK/early.err" && [ ! -e "$WH/$KS/$TB/metadata" ] && ok ||
  bad "commit with a worker unfinished: $(cat "$WORK/early.out" "$WORK/early.err")"
# Kubernetes retries index 1: the same command resumes the worker's journal.
pod unload retry 1
[ $? = 0 ] && ok || bad "retried pod 1: $(cat "$WORK/retry.err")"
# A pod of a finished index run again (a node lost after it succeeded): nothing to do, success.
pod unload again 0
[ $? = 0 ] && grep -q "already finished" "$WORK/again.out" && ok || bad "pod 0 again: $(cat "$WORK/again.out" "$WORK/again.err")"
pod commit commit
[ $? = 0 ] && ok || bad "commit Job: $(cat "$WORK/commit.err")"
grep -q "snapshot [0-9]* (sequence 1, v1.metadata.json) from 3 worker(s): .* 240 rows, checksum $SUM; table .* 240 rows$" "$WORK/commit.out" &&
  ok || bad "commit: $(cat "$WORK/commit.out" "$WORK/commit.err")"
# The snapshot holds exactly the table: loaded into an empty table of the same schema, the same checksum.
run snaps iceberg snapshots "$WH" "$KS.$TB" --json; expect_rc snaps 0
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); s=j["snapshots"]; sys.exit(not (len(s) == 1 and s[0]["summary"]["total-records"] == "240" and s[0]["summary"]["cqlpp.job"] == "job-" + sys.argv[2]))' \
  "$WORK/snaps.out" "$JOB" && ok || bad "snapshots: $(cat "$WORK/snaps.out")"
run back bulk load "${CONN[@]}" -k "$KS" -t copy --format iceberg --warehouse "$WH" --namespace "$KS" --table-name "$TB"; expect_rc back 0
run back_sum bulk checksum "${CONN[@]}" -k "$KS" -t copy
grep -qF "checksum: $SUM rows: 240" "$WORK/back_sum.out" && ok || bad "loaded back: $(cat "$WORK/back_sum.out" "$WORK/back.err")"
# The commit Job retried (it has a backoffLimit): refused, still one snapshot.
pod commit commit2
[ $? = 1 ] && grep -q "already committed" "$WORK/commit2.err" && [ ! -e "$WH/$KS/$TB/metadata/v2.metadata.json" ] && ok ||
  bad "commit again: $(cat "$WORK/commit2.out" "$WORK/commit2.err")"

# A pod killed outright (SIGKILL: evicted, OOM-killed, its node lost) in the middle of its share, its
# retry resuming whatever the journal kept: the job still commits every row exactly once. The nodes answer
# slowly meanwhile, so that the kill lands mid-way.
WH=$WORK/wh-kill
cql "UPDATE sim.nodes SET latency_ms = 100 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 100 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 100 WHERE node = 2"
pod unload killed 2 "PIDFILE=$WORK/killed.pid" 2>/dev/null &  # (its shell would report the kill)
podpid=$!
KJOB=$WH/$KS/$TB/data/job-$JOB/worker-3-of-3
for _ in $(seq 1 500); do
  [ "$(cat "$KJOB/journal.jsonl" 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.01
done
kill -KILL "$(cat "$WORK/killed.pid")"
wait "$podpid"
[ $? = 137 ] && [ ! -e "$KJOB/worker.json" ] && ok || bad "the pod was not killed mid-way: $(cat "$WORK/killed.out")"
# The retries, and with them a second pod of index 2 at once (Kubernetes may run two pods of one index): one of
# the two resumes the journal, the other waits for it (the worker's lock) and then finds it finished.
pids=()
for i in 0 1 2 2b; do pod unload "kpod$i" "${i%b}" FAIL_INDEX=none & pids+=($!); done
rcs=""
for p in "${pids[@]}"; do wait "$p"; rcs="$rcs$?"; done
cql "UPDATE sim.nodes SET latency_ms = 0 WHERE node = 0; UPDATE sim.nodes SET latency_ms = 0 WHERE node = 1;
     UPDATE sim.nodes SET latency_ms = 0 WHERE node = 2"
[ "$rcs" = 0000 ] && ok || bad "pods after the kill: exits $rcs: $(cat "$WORK"/kpod*.err)"
if grep -q "is running in another process" "$WORK/kpod2.err"; then won=2b; lost=2; else won=2; lost=2b; fi
grep -q "ranges ([1-9][0-9]* resumed)$" "$WORK/kpod$won.out" && ok || bad "the retried pod did not resume: $(cat "$WORK/kpod$won.out")"
grep -q "^cqlpp: worker 3/3 of job '$JOB' is running in another process (.*/worker.lock is locked): waiting for it to end$" \
  "$WORK/kpod$lost.err" && grep -q "already finished" "$WORK/kpod$lost.out" && ok ||
  bad "the second pod of index 2: $(cat "$WORK/kpod$lost.out" "$WORK/kpod$lost.err")"
pod commit kcommit
[ $? = 0 ] && grep -q "from 3 worker(s): .* 240 rows, checksum $SUM; table .* 240 rows$" "$WORK/kcommit.out" && ok ||
  bad "commit after a killed pod: $(cat "$WORK/kcommit.out" "$WORK/kcommit.err")"

# 3. The plain shell loop of docs/iceberg.md, as written there, with the same variables.
sed -n '/^<!-- tested by tests\/cli\/test_k8s_recipe.sh -->$/,/^```$/p' "$ROOT/docs/iceberg.md" | sed '1,2d;$d' > "$WORK/loop.sh"
grep -q "bulk commit" "$WORK/loop.sh" && ok || bad "no shell loop in docs/iceberg.md: $(cat "$WORK/loop.sh")"
cql "TRUNCATE $KS.copy"
loop() {  # loop NAME: the docs' shell loop, 4 workers, worker 2/4 failing at its first run
  env -i PATH="$PATH" HOME="${HOME:-/}" CASSANDRA_HOSTS="127.0.0.1:$SIM_PORT" KEYSPACE="$KS" TABLE="$TB" WORKERS=4 JOB=loop1 \
    PARTITION_BY="day(ts)" WAREHOUSE="$WORK/wh2" FAIL_WORKER=2/4 /bin/sh "$WORK/loop.sh" >"$WORK/$1.out" 2>"$WORK/$1.err"
}
# A worker failed: the loop fails and commits nothing; run again, it resumes that worker and commits.
loop loop0
[ $? != 0 ] && [ -e "$WORK/failed-worker" ] && [ ! -e "$WORK/wh2/$KS/$TB/metadata" ] && ok ||
  bad "shell loop with a worker failing: $(cat "$WORK/loop0.out" "$WORK/loop0.err")"
loop loop
[ $? = 0 ] && grep -q "from 4 worker(s): .* 240 rows, checksum $SUM; table .* 240 rows$" "$WORK/loop.out" && ok ||
  bad "shell loop: $(cat "$WORK/loop.out" "$WORK/loop.err")"
run back2 bulk load "${CONN[@]}" -k "$KS" -t copy --format iceberg --warehouse "$WORK/wh2" --namespace "$KS" --table-name "$TB"
expect_rc back2 0
run back2_sum bulk checksum "${CONN[@]}" -k "$KS" -t copy
grep -qF "checksum: $SUM rows: 240" "$WORK/back2_sum.out" && ok || bad "shell loop, loaded back: $(cat "$WORK/back2_sum.out")"

# The GNU parallel variant of the same section, where GNU parallel is installed.
if parallel --version 2>/dev/null | grep -q "GNU parallel"; then
  sed -n '/^<!-- tested by tests\/cli\/test_k8s_recipe.sh: parallel -->$/,/^```$/p' "$ROOT/docs/iceberg.md" | sed '1,2d;$d' > "$WORK/par.sh"
  grep -q "^parallel " "$WORK/par.sh" && ok || bad "no GNU parallel block in docs/iceberg.md: $(cat "$WORK/par.sh")"
  # Worker 2/3 fails at its first run: parallel's --retries runs it again, it resumes.
  rm -f "$WORK/failed-worker"
  env -i PATH="$PATH" HOME="$WORK" CASSANDRA_HOSTS="127.0.0.1:$SIM_PORT" KEYSPACE="$KS" TABLE="$TB" WORKERS=3 JOB=par1 \
    PARTITION_BY="day(ts)" WAREHOUSE="$WORK/wh3" FAIL_WORKER=2/3 /bin/sh "$WORK/par.sh" >"$WORK/par.out" 2>"$WORK/par.err"
  [ $? = 0 ] && [ -e "$WORK/failed-worker" ] && grep -q "from 3 worker(s): .* 240 rows, checksum $SUM; table .* 240 rows$" "$WORK/par.out" && ok ||
    bad "GNU parallel: $(cat "$WORK/par.out" "$WORK/par.err")"
else
  echo "SKIP (GNU parallel part): no GNU parallel"
fi

echo "test_k8s_recipe: $oks ok, $fails failed"
[ "$fails" -eq 0 ]

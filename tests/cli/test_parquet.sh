#!/usr/bin/env bash
# `cqlpp bulk unload/load --format parquet` on a 3-node `cqlpp sim` (ports
# 23000-23999): every CQL type, unload -> truncate -> load gives the original
# checksum for each compression; DuckDB (npm @duckdb/node-api, a reader we did
# not write) reads every column of the files, and files DuckDB rewrites load
# back to the same checksum. Skips (77) without python3-cassandra, or the
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
SIM_LOG_DIR=$WORK
sim_pid=""
# shellcheck source=../interop/sim_lib.sh
source "$HERE/../interop/sim_lib.sh"
cleanup() { stop_sim; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
SIM_PORT=""
for _ in $(seq 1 50); do
  p=$((23000 + RANDOM % 1000))
  if ! port_open 127.0.0.1 "$p" && ! port_open 127.0.0.2 "$p" && ! port_open 127.0.0.3 "$p"; then SIM_PORT=$p; break; fi
done
[ -n "$SIM_PORT" ] || { echo "test_parquet: no free port" >&2; exit 1; }
start_sim parquet 3 --nodes 3 --num-tokens 8 >/dev/null || exit 1
CONN=(--hosts 127.0.0.1 --port "$SIM_PORT" --progress none)
cql() {
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
run() { local name=$1; shift; "$CQLPP" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; rc=$?; }
expect_rc() { if [ "$rc" -ne "$2" ]; then bad "$1: exit $rc, expected $2: $(cat "$WORK/$1.err")"; return 1; fi; ok; }

cql "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
     CREATE TABLE ks.t (k bigint, c int, ti tinyint, si smallint, f float, d double, b boolean, t text, a ascii,
       bl blob, u uuid, tu timeuuid, ts timestamp, dt date, tm time, dec decimal, vi varint, ip inet, du duration,
       l list<int>, s set<text>, m map<text, int>, tup frozen<tuple<int, text>>, v vector<float, 3>,
       PRIMARY KEY (k, c))" || { bad schema; exit 1; }
# Rows with extreme tokens (k = min/max bigint hash anywhere) and extreme values.
{
  echo 'k,c,ti,si,f,d,b,t,a,bl,u,tu,ts,dt,tm,dec,vi,ip,du,l,s,m,tup,v'
  for i in $(seq 0 299); do
    k=$(( i * 30748686693451 - 4611686018427387904 ))
    if [ $((i % 11)) -eq 5 ]; then echo "$k,$i,,,,,,,,,,,,,,,,,,,,,,"; continue; fi
    echo "$k,$i,$(( i % 2 ? -128 : 127 )),$(( i - 150 )),$i.5,1e$(( i % 300 )),$(( i % 2 ? 1 : 0 )) ,\"tëxt $((i % 5))\",asc$i,0x0a0b$(printf %02x $((i % 256))),123e4567-e89b-12d3-a456-4266141$(printf %05d $i),d2177dd0-eaa2-11de-a572-001b779c76e3,$(( i * 86400000 - 86400000 * 100 )),2020-01-$(printf %02d $(( i % 28 + 1 ))),12:34:56.123456789,$i.10,-$i$i$i$i,10.0.$((i % 256)).1,1d2h$(( i ))ms,\"[1, $i]\",\"[\"\"x\"\", \"\"y$i\"\"]\",\"{\"\"a\"\": $i}\",\"[$i, \"\"z\"\"]\",\"[1.5, -2, $i]\""
  done
} | sed 's/ ,/,/; s/,1 ,/,true,/' | sed 's/,\([01]\),"t/,\1,"t/' > "$WORK/rows.csv"
sed -i -E 's/^([^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*),1,/\1,true,/; s/^([^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*),0,/\1,false,/' "$WORK/rows.csv"
run load0 bulk load "${CONN[@]}" -k ks -t t --input "$WORK/rows.csv"
expect_rc load0 0
run sum bulk checksum "${CONN[@]}" -k ks -t t
expect_rc sum 0
SUM=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 300$/\1/p' "$WORK/sum.out")
[ ${#SUM} -eq 48 ] && ok || bad "checksum of 300 rows: $(cat "$WORK/sum.out")"

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
  for comp in zstd snappy uncompressed; do
    [ -f "$WORK/duck/$comp/x.parquet" ] || { bad "duckdb wrote no $comp file"; continue; }
    reload_check duck_$comp "$WORK/duck/$comp"
  done
fi
echo "test_parquet: $oks ok, $fails failed"
[ "$fails" -eq 0 ]

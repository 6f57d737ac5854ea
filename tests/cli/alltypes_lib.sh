# Shared by test_parquet.sh and test_iceberg.sh (sourced): a 3-node `cqlpp sim`
# on a free port, the helpers both use, and a table of every CQL type loaded
# with 300 rows whose checksum is left in SUM.
# The sourcing script sets CQLPP, HERE and WORK_NAME; this sets PY, ok and bad
# (counted in oks and fails), WORK (a new /tmp/cqlpp_cli_WORK_NAME.XXXXXX), and
# skips (77) without python3-cassandra.
PY=/usr/bin/python3
fails=0; oks=0
ok() { oks=$((oks + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
if ! "$PY" -c 'import cassandra' 2>/dev/null; then echo "SKIP: python3-cassandra missing"; exit 77; fi
WORK=$(mktemp -d "/tmp/cqlpp_cli_${WORK_NAME:?}.XXXXXX")
SIM_LOG_DIR=$WORK
sim_pid=""
# shellcheck source=../interop/sim_lib.sh
source "$HERE/../interop/sim_lib.sh"
cleanup() { stop_sim; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

# CQLPP_TEST_PORT_SPAN (default 1000): ports are drawn from PORT_BASE .. PORT_BASE + span - 1.
start_alltypes_sim() {  # start_alltypes_sim NAME PORT_BASE: SIM_PORT and CONN set, or exit 1
  SIM_PORT=""
  for _ in $(seq 1 50); do
    p=$(( $2 + RANDOM % ${CQLPP_TEST_PORT_SPAN:-1000}))
    if ! port_open 127.0.0.1 "$p" && ! port_open 127.0.0.2 "$p" && ! port_open 127.0.0.3 "$p"; then SIM_PORT=$p; break; fi
  done
  [ -n "$SIM_PORT" ] || { echo "$1: no free port" >&2; exit 1; }
  start_sim "$1" 3 --nodes 3 --num-tokens 8 >/dev/null || exit 1
  CONN=(--hosts 127.0.0.1 --port "$SIM_PORT" --progress none)
}

cql() {
  "$PY" - "$SIM_PORT" "$1" <<'PYEOF'
import sys
from cassandra.cluster import Cluster
port, text = int(sys.argv[1]), sys.argv[2]
c = Cluster(["127.0.0.1"], port=port, protocol_version=4)
s = c.connect()
for q in [q.strip() for q in text.split(";") if q.strip()]:
    s.execute(q)
c.shutdown()
PYEOF
}
run() { local name=$1; shift; "$CQLPP" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; rc=$?; }
expect_rc() { if [ "$rc" -ne "$2" ]; then bad "$1: exit $rc, expected $2: $(cat "$WORK/$1.err")"; return 1; fi; ok; }

# load_alltypes TIME: ks.t with every type, 300 rows (extreme tokens: k spans
# the bigint range; extreme values; every 11th row all nulls) whose time
# column is TIME; their checksum in SUM.
load_alltypes() {
  local tm=$1
  cql "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
       CREATE TABLE ks.t (k bigint, c int, ti tinyint, si smallint, f float, d double, b boolean, t text, a ascii,
         bl blob, u uuid, tu timeuuid, ts timestamp, dt date, tm time, dec decimal, vi varint, ip inet, du duration,
         l list<int>, s set<text>, m map<text, int>, tup frozen<tuple<int, text>>, v vector<float, 3>,
         PRIMARY KEY (k, c))" || { bad schema; exit 1; }
  {
    echo 'k,c,ti,si,f,d,b,t,a,bl,u,tu,ts,dt,tm,dec,vi,ip,du,l,s,m,tup,v'
    for i in $(seq 0 299); do
      k=$(( i * 30748686693451 - 4611686018427387904 ))
      if [ $((i % 11)) -eq 5 ]; then echo "$k,$i,,,,,,,,,,,,,,,,,,,,,,"; continue; fi
      echo "$k,$i,$(( i % 2 ? -128 : 127 )),$(( i - 150 )),$i.5,1e$(( i % 300 )),$(( i % 2 ? 1 : 0 )) ,\"tëxt $((i % 5))\",asc$i,0x0a0b$(printf %02x $((i % 256))),123e4567-e89b-12d3-a456-4266141$(printf %05d $i),d2177dd0-eaa2-11de-a572-001b779c76e3,$(( i * 86400000 - 86400000 * 100 )),2020-01-$(printf %02d $(( i % 28 + 1 ))),$tm,$i.10,-$i$i$i$i,10.0.$((i % 256)).1,1d2h$(( i ))ms,\"[1, $i]\",\"[\"\"x\"\", \"\"y$i\"\"]\",\"{\"\"a\"\": $i}\",\"[$i, \"\"z\"\"]\",\"[1.5, -2, $i]\""
    done
  } | sed 's/ ,/,/; s/,1 ,/,true,/' | sed 's/,\([01]\),"t/,\1,"t/' > "$WORK/rows.csv"
  sed -i -E 's/^([^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*),1,/\1,true,/; s/^([^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*),0,/\1,false,/' "$WORK/rows.csv"
  run load0 bulk load "${CONN[@]}" -k ks -t t --input "$WORK/rows.csv"
  expect_rc load0 0
  run sum bulk checksum "${CONN[@]}" -k ks -t t
  expect_rc sum 0
  SUM=$(sed -n 's/^checksum: \([0-9a-f]*\) rows: 300$/\1/p' "$WORK/sum.out")
  [ ${#SUM} -eq 48 ] && ok || bad "checksum of 300 rows: $(cat "$WORK/sum.out")"
}

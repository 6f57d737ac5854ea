#!/usr/bin/env bash
# Client instructions per row of the unloads bench/bulk/run.sh times, counted
# under callgrind (valgrind): CSV, Parquet (zstd) and Iceberg, on the same
# 3-node `cqlpp sim` and table as run.sh (ROWS rows, default 200,000); then of
# loads of the CSV and the Parquet files those unloads wrote, each into the
# table truncated. Counts do not depend on the machine's load, where run.sh's
# rows/s do.
#
#   bench/bulk/instr.sh                     # build in build/release, port 22600
#   ROWS=100000 PORT=19790 CQLPP=/path/to/cqlpp bench/bulk/instr.sh
#   MODES="load_csv load_parquet" bench/bulk/instr.sh   # some of: csv parquet iceberg load_csv load_parquet
#
# Prints per format the instructions of the whole client and of each thread
# (the unload's I/O thread reads pages and shreds rows; Parquet and Iceberg
# also have an encoder thread that builds dictionaries and statistics,
# compresses and writes), each per row. Startup (connecting, schema) is
# included: a few million instructions.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROWS=${ROWS:-200000}
PORT=${PORT:-22600}
CQLPP=${CQLPP:-$ROOT/build/release/tools/cqlpp}
PY=/usr/bin/python3
command -v valgrind >/dev/null || { echo "instr.sh: needs valgrind" >&2; exit 1; }
"$PY" -c 'import cassandra' || { echo "instr.sh: needs python3-cassandra for $PY" >&2; exit 1; }

WORK=${WORK:-$(mktemp -d /tmp/cqlpp_bulk_instr.XXXXXX)}
mkdir -p "$WORK"
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
"$CQLPP" sim --nodes 3 --port "$PORT" --num-tokens 16 --threads 1 >"$WORK/sim.log" 2>&1 &
sim_pid=$!
for i in 1 2 3; do
  for _ in $(seq 1 100); do port_open "127.0.0.$i" "$PORT" && break; sleep 0.1; done
done
"$PY" - "$PORT" <<'EOF'
import sys
from cassandra.cluster import Cluster
c = Cluster(["127.0.0.1"], port=int(sys.argv[1]))
s = c.connect()
s.execute("CREATE KEYSPACE bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
s.execute("CREATE TABLE bench.rows (k int, c int, v text, n bigint, PRIMARY KEY (k, c))")
c.shutdown()
EOF
awk -v n="$ROWS" 'BEGIN { print "k,c,v,n"; for (i = 0; i < n; i++) printf "%d,%d,value-%08d,%d\n", int(i / 10), i % 10, i, i * 7 }' \
  > "$WORK/rows.csv"
CONN=(--hosts 127.0.0.1 --port "$PORT" --progress none --json-summary)
"$CQLPP" bulk load "${CONN[@]}" -k bench -t rows --input "$WORK/rows.csv" >"$WORK/load.out"

COMMON=(--splits "${SPLITS:-64}" --concurrency "${CONCURRENCY:-6}" --page-size "${PAGE_SIZE:-5000}")
echo "client instructions per row (callgrind), unload (csv, parquet, iceberg) or load (load_*) of $ROWS rows; threads in order of creation"
printf '%-10s %14s %10s   %s\n' format instructions "per row" "per thread (per row)"
unload_args() {  # unload_args FORMAT: the unload's output options, in the array extra
  case $1 in
    csv) extra=(--output "$WORK/o_csv") ;;
    parquet) extra=(--output "$WORK/o_parquet" --format parquet --compression zstd) ;;
    iceberg) extra=(--format iceberg --warehouse "$WORK/wh" --table-name rows) ;;
  esac
}
for fmt in ${MODES:-csv parquet iceberg load_csv load_parquet}; do
  case $fmt in
    csv | parquet | iceberg)
      unload_args $fmt
      op=unload cmd=(bulk unload "${CONN[@]}" -k bench -t rows "${COMMON[@]}" "${extra[@]}") ;;
    load_csv | load_parquet)
      src=${fmt#load_}
      # The unload's files (made here, not counted, when that unload was not measured).
      if [ ! -d "$WORK/o_$src" ]; then
        unload_args "$src"
        "$CQLPP" bulk unload "${CONN[@]}" -k bench -t rows "${COMMON[@]}" "${extra[@]}" >/dev/null
      fi
      "$PY" - "$PORT" <<'EOF'
import sys
from cassandra.cluster import Cluster
c = Cluster(["127.0.0.1"], port=int(sys.argv[1]))
c.connect().execute("TRUNCATE bench.rows")
c.shutdown()
EOF
      op=load cmd=(bulk load "${CONN[@]}" -k bench -t rows --input "$WORK/o_$src")
      [ "$src" = parquet ] && cmd+=(--format parquet) ;;
    *) echo "instr.sh: unknown mode $fmt" >&2; exit 1 ;;
  esac
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.$fmt" \
    "$CQLPP" "${cmd[@]}" >"$WORK/$fmt.out" 2>"$WORK/$fmt.err" || {
    echo "instr.sh: $fmt $op failed:" >&2; cat "$WORK/$fmt.err" >&2; exit 1; }
  "$PY" - "$WORK" "$fmt" "$ROWS" <<'EOF'
import glob, json, sys
work, fmt, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = json.loads(open(f"{work}/{fmt}.out").read().splitlines()[-1])["rows"]
if seen != rows:
    sys.exit(f"instr.sh: {fmt}: {seen} rows, expected {rows}")
threads = []
for path in sorted(glob.glob(f"{work}/cg.{fmt}-*")):
    for line in open(path):
        if line.startswith("summary:"):
            threads.append(int(line.split()[1]))
total = sum(threads)
# Threads under 1% of the total (the resolver's and such) are left out of the list.
shown = ", ".join(f"{t / 1e6:.0f} M ({t / rows:,.0f})" for t in threads if t >= total / 100)
print(f"{fmt:<10} {total / 1e6:12.0f} M {total / rows:10,.0f}   {shown}")
EOF
done

#!/usr/bin/env bash
# Bulk benchmark: `cqlpp bulk count` and `cqlpp bulk unload` against the same
# jobs done by the DataStax Python driver on asyncio (bench/bulk/python_bulk.py,
# Debian's /usr/bin/python3 + python3-cassandra), on one 3-node `cqlpp sim`
# holding ROWS rows loaded with `cqlpp bulk load` from a generated CSV.
#
#   bench/bulk/run.sh                       # 1,000,000 rows, build in build/release
#   ROWS=200000 BUILD_DIR=/tmp/b bench/bulk/run.sh
#   CQLPP=/path/to/cqlpp PORT=22500 bench/bulk/run.sh
#   PYTHON=0 bench/bulk/run.sh              # skip the Python jobs (formats only)
#
# Then the output formats, each against the CSV unload of the same run: unload
# to Parquet (zstd), to an Iceberg table, and the two-step path without them
# (the CSV unload, then DuckDB converting the CSV files to zstd Parquet: node
# tests/parquet_interop/csv_to_parquet.mjs, needs `npm install` there):
# rows/s, output MB/s, peak RSS, bytes of data files, and each as a ratio to
# the CSV unload.
#
# Prints, per job: rows, seconds, rows/s and peak RSS (/usr/bin/time -v) of
# each tool, and cqlpp's rows/s as a multiple of Python's. Both tools use the
# same split count, concurrency and page size. Files go to WORK (default a
# temporary directory, removed at the end unless KEEP=1).
#
# Wall-clock rows/s move with the machine's load; bench/bulk/instr.sh counts
# the same unloads' client instructions per row (callgrind), which do not.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROWS=${ROWS:-1000000}
PORT=${PORT:-22500}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
PY=/usr/bin/python3
SPLITS=${SPLITS:-64}
CONCURRENCY=${CONCURRENCY:-6}
PAGE_SIZE=${PAGE_SIZE:-5000}
SIM_THREADS=${SIM_THREADS:-1}

if [ -z "${CQLPP:-}" ]; then
  CQLPP=$BUILD_DIR/tools/cqlpp
  if [ ! -x "$CQLPP" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD_DIR" -j2 --target cqlpp
  fi
fi
"$PY" -c 'import cassandra' || { echo "run.sh: needs python3-cassandra for $PY" >&2; exit 1; }

WORK=${WORK:-$(mktemp -d /tmp/cqlpp_bulk_bench.XXXXXX)}
mkdir -p "$WORK"
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
"$CQLPP" sim --nodes 3 --port "$PORT" --num-tokens 16 --threads "$SIM_THREADS" >"$WORK/sim.log" 2>&1 &
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

# ROWS rows: ROWS/10 partitions of 10 rows, ~40 bytes each.
awk -v n="$ROWS" 'BEGIN { print "k,c,v,n"; for (i = 0; i < n; i++) printf "%d,%d,value-%08d,%d\n", int(i / 10), i % 10, i, i * 7 }' \
  > "$WORK/rows.csv"

# measure NAME CMD...: runs CMD under /usr/bin/time -v; stdout to NAME.out, rusage to NAME.time.
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
    echo "run.sh: $name failed:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
}
rss_mib() { awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/$1.time"; }
field() { "$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' "$WORK/$1.out" "$2"; }

CONN=(--hosts 127.0.0.1 --port "$PORT" --progress none --json-summary)
measure load "$CQLPP" bulk load "${CONN[@]}" -k bench -t rows --input "$WORK/rows.csv"
echo "loaded $(field load rows) rows in $(field load elapsed_seconds) s ($(field load rows_per_second) rows/s) with cqlpp bulk load"

COMMON=(--splits "$SPLITS" --concurrency "$CONCURRENCY" --page-size "$PAGE_SIZE")
PYCOMMON=(--port "$PORT" --keyspace bench --table rows --splits "$SPLITS" --concurrency "$CONCURRENCY" --page-size "$PAGE_SIZE")
PYTHON=${PYTHON:-1}
if [ "$PYTHON" = 1 ]; then
measure cq_count "$CQLPP" bulk count "${CONN[@]}" -k bench -t rows "${COMMON[@]}"
measure py_count "$PY" "$ROOT/bench/bulk/python_bulk.py" "${PYCOMMON[@]}" --op count
measure cq_rows "$CQLPP" bulk count "${CONN[@]}" -k bench -t rows "${COMMON[@]}" --count-mode rows
measure py_rows "$PY" "$ROOT/bench/bulk/python_bulk.py" "${PYCOMMON[@]}" --op count --count-mode rows
measure cq_unload "$CQLPP" bulk unload "${CONN[@]}" -k bench -t rows "${COMMON[@]}" --output "$WORK/cq_out"
measure py_unload "$PY" "$ROOT/bench/bulk/python_bulk.py" "${PYCOMMON[@]}" --op unload --output "$WORK/py_out"

echo
echo "bulk benchmark: $ROWS rows, 3-node cqlpp sim (RF 1, 16 vnodes/node, $SIM_THREADS I/O thread), splits $SPLITS, concurrency $CONCURRENCY, page size $PAGE_SIZE, $(nproc) cores"
printf '%-28s %10s %9s %12s %9s\n' job rows seconds rows/s "RSS MiB"
row() {  # row LABEL NAME (cqlpp JSON summary or python JSON)
  local rows secs rate
  rows=$(field "$2" rows)
  if grep -q '"tool"' "$WORK/$2.out"; then secs=$(field "$2" seconds); rate=$(field "$2" rows_per_second)
  else secs=$(field "$2" elapsed_seconds); rate=$(field "$2" rows_per_second); fi
  printf '%-28s %10s %9.3f %12s %9s\n' "$1" "$rows" "$secs" "$rate" "$(rss_mib "$2")"
  echo "$rate" > "$WORK/$2.rate"
}
row "count count(*)  cqlpp" cq_count
row "count count(*)  python" py_count
row "count rows      cqlpp" cq_rows
row "count rows      python" py_rows
row "unload CSV      cqlpp" cq_unload
row "unload CSV      python" py_unload
ratio() { "$PY" -c 'import sys; a, b = float(open(sys.argv[1]).read()), float(open(sys.argv[2]).read()); print(f"{a / b:.1f}x" if b else "n/a")' "$WORK/$1.rate" "$WORK/$2.rate"; }
echo "cqlpp / python rows/s: count(*) $(ratio cq_count py_count), count rows $(ratio cq_rows py_rows), unload $(ratio cq_unload py_unload)"
for j in count rows unload; do
  [ "$(field cq_$j rows)" = "$ROWS" ] || { echo "run.sh: cqlpp $j saw $(field cq_$j rows) rows, expected $ROWS" >&2; exit 1; }
  [ "$(field py_$j rows)" = "$ROWS" ] || { echo "run.sh: python $j saw $(field py_$j rows) rows, expected $ROWS" >&2; exit 1; }
done
fi

# ---- Output formats, against the CSV unload of this run ----
measure f_csv "$CQLPP" bulk unload "${CONN[@]}" -k bench -t rows "${COMMON[@]}" --output "$WORK/f_csv"
measure f_parquet "$CQLPP" bulk unload "${CONN[@]}" -k bench -t rows "${COMMON[@]}" --output "$WORK/f_parquet" \
  --format parquet --compression zstd
measure f_iceberg "$CQLPP" bulk unload "${CONN[@]}" -k bench -t rows "${COMMON[@]}" --format iceberg \
  --warehouse "$WORK/wh" --table-name rows
INTEROP=$ROOT/tests/parquet_interop
have_duckdb=0
if [ -d "$INTEROP/node_modules/@duckdb" ] || (cd "$INTEROP" && timeout 300 npm install --no-audit --no-fund >/dev/null 2>&1); then
  measure f_duckdb node "$INTEROP/csv_to_parquet.mjs" "$WORK/f_csv/*.csv" "$WORK/duckdb.parquet"
  have_duckdb=1
fi
data_bytes() { find "$@" -type f \( -name '*.csv' -o -name '*.parquet' \) -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
secs_of() { field "$1" "$( [ "$1" = f_duckdb ] && echo seconds || echo elapsed_seconds)"; }
echo
echo "output formats: $ROWS rows, same sim and settings"
printf '%-32s %9s %11s %8s %9s %12s   %s\n' job seconds rows/s MB/s "RSS MiB" "data bytes" "vs CSV unload (rows/s, RSS, size)"
csv_secs=$(secs_of f_csv); csv_rss=$(rss_mib f_csv); csv_bytes=$(data_bytes "$WORK/f_csv")
fmt_row() {  # fmt_row LABEL SECONDS RSS BYTES
  "$PY" - "$@" "$ROWS" "$csv_secs" "$csv_rss" "$csv_bytes" <<'PYEOF'
import sys
label, secs, rss, size, rows, csv_secs, csv_rss, csv_size = sys.argv[1], *map(float, sys.argv[2:])
rate = rows / secs
print(f"{label:<32} {secs:9.3f} {rate:11.0f} {size / 1e6 / secs:8.1f} {rss:9.1f} {int(size):12d}   "
      f"{(rows / secs) / (rows / csv_secs):.2f}x, {rss / csv_rss:.2f}x, {size / csv_size:.2f}x")
PYEOF
}
fmt_row "unload CSV" "$csv_secs" "$csv_rss" "$csv_bytes"
fmt_row "unload Parquet zstd" "$(secs_of f_parquet)" "$(rss_mib f_parquet)" "$(data_bytes "$WORK/f_parquet")"
fmt_row "unload Iceberg (zstd Parquet)" "$(secs_of f_iceberg)" "$(rss_mib f_iceberg)" "$(data_bytes "$WORK/wh")"
if [ "$have_duckdb" = 1 ]; then
  fmt_row "DuckDB CSV -> Parquet alone" "$(secs_of f_duckdb)" "$(rss_mib f_duckdb)" "$(data_bytes "$WORK/duckdb.parquet")"
  two=$("$PY" -c 'import sys; print(float(sys.argv[1]) + float(sys.argv[2]))' "$csv_secs" "$(secs_of f_duckdb)")
  two_rss=$("$PY" -c 'import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))' "$csv_rss" "$(rss_mib f_duckdb)")
  fmt_row "two-step CSV unload + DuckDB" "$two" "$two_rss" "$(data_bytes "$WORK/duckdb.parquet")"
  [ "$(field f_duckdb rows)" = "$ROWS" ] || { echo "run.sh: DuckDB read back $(field f_duckdb rows) rows" >&2; exit 1; }
else
  echo "(DuckDB two-step skipped: no @duckdb/node-api in $INTEROP)"
fi
for j in f_csv f_parquet f_iceberg; do
  [ "$(field $j rows)" = "$ROWS" ] || { echo "run.sh: $j saw $(field $j rows) rows, expected $ROWS" >&2; exit 1; }
done

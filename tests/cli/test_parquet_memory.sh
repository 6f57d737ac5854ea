#!/usr/bin/env bash
# `cqlpp bulk unload --format parquet` keeps memory bounded by a row group,
# not by the file: a 1-node `cqlpp sim` (one token: the table is one or two
# files) holds N and 10N rows of 1 KB random blobs; the unload of 10N rows
# (10x the bytes in one file) must peak at most 1.5x the resident memory of
# the unload of N (peak RSS of the child, from getrusage). Both unloads give
# the table's checksum. Ports: CQLPP_TEST_PORT_BASE (default 23000) + 0..999.
# Skips (77) without python3.
set -u
CQLPP=${1:?usage: test_parquet_memory.sh path/to/cqlpp}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
N=${CQLPP_PQMEM_ROWS:-5000}
fails=0; oks=0
ok() { oks=$((oks + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
[ -x "$PY" ] || { echo "SKIP: no python3"; exit 77; }

WORK=$(mktemp -d /tmp/cqlpp_cli_pqmem.XXXXXX)
SIM_LOG_DIR=$WORK
# shellcheck source=../interop/sim_lib.sh
source "$HERE/../interop/sim_lib.sh"
cleanup() { stop_sim; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
SIM_PORT=""
for _ in $(seq 1 50); do
  p=$(( ${CQLPP_TEST_PORT_BASE:-23000} + RANDOM % ${CQLPP_TEST_PORT_SPAN:-1000} ))
  port_open 127.0.0.1 "$p" || { SIM_PORT=$p; break; }
done
[ -n "$SIM_PORT" ] || { echo "no free port" >&2; exit 1; }
start_sim pqmem 1 --nodes 1 --num-tokens 1 >/dev/null || exit 1
CONN=(--hosts 127.0.0.1 --port "$SIM_PORT" --progress none)
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
run() { local name=$1; shift; "$CQLPP" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; rc=$?; }
expect_rc() { if [ "$rc" -ne "$2" ]; then bad "$1: exit $rc, expected $2: $(cat "$WORK/$1.err")"; return 1; fi; ok; }
# peak_rss NAME ARGS...: runs cqlpp ARGS (output in NAME.out/.err), rc set, its peak RSS (KiB) in RSS.
peak_rss() {
  local name=$1; shift
  RSS=$("$PY" -c '
import resource, subprocess, sys
with open(sys.argv[1] + ".out", "wb") as o, open(sys.argv[1] + ".err", "wb") as e:
    rc = subprocess.call(sys.argv[2:], stdout=o, stderr=e)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$WORK/$name" "$CQLPP" "$@")
  rc=${RSS% *}; RSS=${RSS#* }
}

# rows.csv: N rows in partitions of 100 (loads in batches), each with 1,000 random bytes (zstd cannot shrink them).
make_rows() {  # make_rows COUNT FILE
  "$PY" -c '
import os, sys
n = int(sys.argv[1])
with open(sys.argv[2], "w") as f:
    f.write("p,c,v\n")
    for i in range(n): f.write("%d,%d,0x%s\n" % (i // 100, i % 100, os.urandom(1000).hex()))' "$1" "$2"
}

"$CQLPP" exec --hosts "127.0.0.1:$SIM_PORT" \
  -e "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" >/dev/null 2>"$WORK/ks.err" ||
  { bad "keyspace: $(cat "$WORK/ks.err")"; exit 1; }
declare -A PEAK
for scale in 1 10; do
  rows=$((N * scale))
  t=t$scale
  "$CQLPP" exec --hosts "127.0.0.1:$SIM_PORT" -e "CREATE TABLE ks.$t (p int, c int, v blob, PRIMARY KEY (p, c))" \
    >/dev/null 2>"$WORK/t.err" || { bad "table: $(cat "$WORK/t.err")"; exit 1; }
  make_rows "$rows" "$WORK/rows$scale.csv"
  run load$scale bulk load "${CONN[@]}" -k ks -t $t --input "$WORK/rows$scale.csv"
  expect_rc load$scale 0 || exit 1
  rm -f "$WORK/rows$scale.csv"
  sum=$(sed -n 's/^checksum: \([0-9a-f]*\)$/\1/p' "$WORK/load$scale.out")
  peak_rss unload$scale bulk unload "${CONN[@]}" -k ks -t $t --format parquet --row-group-bytes 1MiB --page-size 500 \
    --splits 1 --output "$WORK/pq$scale"
  expect_rc unload$scale 0 && { grep -qF "checksum: $sum" "$WORK/unload$scale.out" && grep -qF "unload: $(commas "$rows") rows" "$WORK/unload$scale.out" &&
    ok || bad "unload $rows rows: $(cat "$WORK/unload$scale.out")"; }
  PEAK[$scale]=$RSS
  echo "unload of $rows rows ($(du -sh "$WORK/pq$scale" | cut -f1)): peak RSS ${RSS} KiB"
  rm -rf "$WORK/pq$scale"
done
if [ $((PEAK[10] * 2)) -le $((PEAK[1] * 3)) ]; then ok; else
  bad "peak RSS of 10x the rows: ${PEAK[10]} KiB, more than 1.5x ${PEAK[1]} KiB"; fi
echo "test_parquet_memory: $oks ok, $fails failed"
[ "$fails" -eq 0 ]

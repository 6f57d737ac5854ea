#!/usr/bin/env bash
# Interop: the DataStax Python driver (Debian python3-cassandra 3.25) against `cqlpp sim`.
# Usage: tests/interop/run_python.sh PATH/TO/cqlpp
# Environment: INTEROP_PY_PORT (default 19142), INTEROP_LOG=DEBUG for driver logs.
# Runs several simulators one after another on 127.0.0.x:PORT and prints
# 'N passed, N failed' last; exits non-zero when anything failed.
set -uo pipefail

CQLPP=${1:?usage: $0 PATH/TO/cqlpp}
CQLPP=$(cd "$(dirname "$CQLPP")" && pwd)/$(basename "$CQLPP")
here=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=${INTEROP_PY_PORT:-19142}
SIM_LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cqlpp-interop-py.XXXXXX")
# Debian's interpreter: the driver comes from python3-cassandra, not from pip.
PY=/usr/bin/python3
. "$here/sim_lib.sh"

trap 'stop_sim' EXIT
trap 'exit 130' INT TERM

if ! "$PY" -c 'import cassandra, lz4' 2>/dev/null; then
  echo "interop: $PY lacks the cassandra driver or lz4 (apt-get install python3-cassandra python3-lz4," \
       "or scripts/setup.sh test)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

start=$SECONDS
suite() {  # suite NAME ARGS...: one run of interop_test.py
  local name=$1
  shift
  local log="$SIM_LOG_DIR/py-$name.log"
  timeout 240 "$PY" "$here/python/interop_test.py" --port "$SIM_PORT" --tag "$name" "$@" >"$log" 2>&1
  local rc=$?
  grep -vE '^INTEROP-TOTALS' "$log"
  record "$log" "$rc"
}

if start_sim main 3 --nodes 3; then
  for pv in 5 4; do
    for comp in lz4 none; do
      suite "v$pv-$comp" --mode main --nodes 3 --protocol "$pv" --compression "$comp"
    done
  done
  suite negotiate --mode negotiate --nodes 3 --protocol 5
else
  total_failed=$((total_failed + 1))
fi

if start_sim tokens 4 --nodes 4 --racks 2; then
  suite tokens --mode tokens --nodes 4
else
  total_failed=$((total_failed + 1))
fi

if start_sim dcs 6 --dcs dc1:3,dc2:3 --racks 2; then
  suite dcs --mode dcs --nodes 6
else
  total_failed=$((total_failed + 1))
fi

if start_sim topology 3 --nodes 3; then
  suite topology --mode topology --nodes 3 --protocol 5
else
  total_failed=$((total_failed + 1))
fi

if start_sim auth 2 --nodes 2 --user cassandra:s3cret --user reader:pw; then
  suite auth-v5 --mode auth --nodes 2 --protocol 5 --user cassandra:s3cret
  suite auth-v4 --mode auth --nodes 2 --protocol 4 --user reader:pw
else
  total_failed=$((total_failed + 1))
fi

if start_sim v4only 1 --nodes 1 --v4-only; then
  suite v4only --mode v4only --nodes 1
else
  total_failed=$((total_failed + 1))
fi

if start_sim nolz4 1 --nodes 1 --no-lz4; then
  suite nolz4 --mode nolz4 --nodes 1
else
  total_failed=$((total_failed + 1))
fi

stop_sim
echo "interop python: $((SECONDS - start))s, logs in $SIM_LOG_DIR"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

#!/usr/bin/env bash
# Interop: the DataStax Node.js driver (npm cassandra-driver, protocol v4) against `cqlpp sim`.
# Usage: tests/interop/run_node.sh PATH/TO/cqlpp
# Environment: INTEROP_NODE_PORT (default 19242).
# Installs the driver from package-lock.json (npm ci) when node_modules is missing,
# runs several simulators one after another on 127.0.0.x:PORT and prints
# 'N passed, N failed' last; exits non-zero when anything failed.
set -uo pipefail

CQLPP=${1:?usage: $0 PATH/TO/cqlpp}
CQLPP=$(cd "$(dirname "$CQLPP")" && pwd)/$(basename "$CQLPP")
here=$(cd "$(dirname "$0")" && pwd)
SIM_PORT=${INTEROP_NODE_PORT:-19242}
SIM_LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cqlpp-interop-node.XXXXXX")
. "$here/sim_lib.sh"

trap 'stop_sim' EXIT
trap 'exit 130' INT TERM

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "interop: node and npm are needed (apt-get install nodejs npm, or scripts/setup.sh test)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

nodedir="$here/node"
if [ ! -d "$nodedir/node_modules/cassandra-driver" ]; then
  echo "== npm ci in $nodedir"
  if ! (cd "$nodedir" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "interop: npm ci failed" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

start=$SECONDS
suite() {  # suite NAME MODE NODES [VAR=VALUE...]: one node --test run
  local name=$1 mode=$2 nodes=$3
  shift 3
  local tap="$SIM_LOG_DIR/node-$name.tap"
  (cd "$nodedir" && env INTEROP_MODE="$mode" INTEROP_PORT="$SIM_PORT" INTEROP_NODES="$nodes" "$@" \
     timeout 240 node --test --test-reporter=spec --test-reporter-destination=stdout \
       --test-reporter=tap --test-reporter-destination="$tap" interop.test.js)
  local rc=$?
  local p f t
  p=$(grep -E '^# pass [0-9]+$' "$tap" 2>/dev/null | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+$' "$tap" 2>/dev/null | tail -1 | awk '{print $3}')
  if [ -z "$p" ] || [ -z "$f" ]; then
    echo "interop: node --test ($name) exited ($rc) without a summary" >&2
    total_failed=$((total_failed + 1))
    return
  fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1  # a crash outside any test
  # todo tests (known simulator gaps) run and report but count neither way.
  t=$(grep -E '^# todo [0-9]+$' "$tap" 2>/dev/null | tail -1 | awk '{print $3}')
  local todo=""
  [ -n "$t" ] && [ "$t" -gt 0 ] && todo=", $t todo"
  echo "[$name] $p passed, $f failed$todo"
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
}

if start_sim main 3 --nodes 3; then
  suite main main 3
  suite negotiate negotiate 3
else
  total_failed=$((total_failed + 1))
fi

if start_sim tokens 4 --nodes 4 --racks 2; then
  suite tokens tokens 4
else
  total_failed=$((total_failed + 1))
fi

# A fresh simulator: features leaves the topology as it is, topology changes it.
if start_sim topology 3 --nodes 3; then
  suite features features 3
  suite topology topology 3
else
  total_failed=$((total_failed + 1))
fi

if start_sim auth 2 --nodes 2 --user cassandra:s3cret; then
  suite auth auth 2 INTEROP_USER=cassandra:s3cret
else
  total_failed=$((total_failed + 1))
fi

if start_sim v4only 1 --nodes 1 --v4-only; then
  suite v4only-negotiate negotiate 1
else
  total_failed=$((total_failed + 1))
fi

stop_sim
echo "interop node: $((SECONDS - start))s, logs in $SIM_LOG_DIR"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

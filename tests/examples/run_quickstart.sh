#!/usr/bin/env bash
# The quickstart example, run against `cqlpp sim` as scripts/demo.sh runs it:
# it must succeed and route every single-partition request to its replica.
# Usage: run_quickstart.sh PATH/TO/cqlpp PATH/TO/cqlpp_quickstart
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CQLPP=$1
QUICKSTART=$2
SIM_PORT=${SIM_PORT:-19342}
SIM_LOG_DIR=$(mktemp -d)
source "$here/../interop/sim_lib.sh"
trap 'stop_sim; rm -rf "$SIM_LOG_DIR"' EXIT
start_sim quickstart 3
out=$("$QUICKSTART" "127.0.0.1:$SIM_PORT")
echo "$out"
fail=0
grep -q "wrote 20000 rows" <<<"$out" || { echo "FAIL: writes"; fail=1; }
grep -q "paged through 20000 rows in 20 pages" <<<"$out" || { echo "FAIL: paging"; fail=1; }
grep -q "non_replica_requests = 0" <<<"$out" || { echo "FAIL: no routing counters"; fail=1; }
if grep -E "non_replica_requests = [1-9]" <<<"$out"; then echo "FAIL: a request reached a non-replica"; fail=1; fi
exit $fail

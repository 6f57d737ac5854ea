#!/usr/bin/env bash
# The fault suite at load (issue 11), long version: the driver test "[faults]"
# for SECONDS (default 60) of mixed load through the scripted fault schedule,
# printing its figures. Builds the release driver tests if needed.
# Environment: SECONDS_OF_LOAD (default 60), BUILD_DIR (default build/release),
# and the suite's own CQLPP_FAULT_* variables (see tests/driver/test_fault_suite.cpp).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${BUILD_DIR:-build/release}"
seconds="${SECONDS_OF_LOAD:-60}"
if [ ! -x "$build/tests/cqlpp_driver_tests" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCQLPP_WERROR=ON -DCQLPP_BUILD_TESTS=ON -DCQLPP_BUILD_CORE_TESTS=ON >/dev/null
  cmake --build "$build" --target cqlpp_driver_tests
fi
# Hard bound: the load plus drain, healing, read-back and close.
status=0
CQLPP_FAULT_SECONDS="$seconds" timeout "$((seconds + 180))" \
  "$build/tests/cqlpp_driver_tests" "[faults]" || status=$?
if [ "$status" -eq 124 ]; then echo "fault suite: hung past its hard bound" >&2; fi
exit "$status"

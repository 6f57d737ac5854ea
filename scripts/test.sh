#!/usr/bin/env bash
# Sets up, builds and runs every test: unit + CLI tests (warnings as errors),
# the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
# and each fuzz target for a short while.
# Environment: FUZZ_SECONDS (default 20 per target), JOBS (default: nproc).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh test

jobs="${JOBS:-$(nproc)}"
fuzz_seconds="${FUZZ_SECONDS:-20}"

echo "== build (warnings as errors)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCQLPP_WERROR=ON >/dev/null
cmake --build build/release -j "$jobs"

echo "== benchmark smoke runs"
./build/release/bench/cqlpp_micro_bench --benchmark_min_time=0.01 >/dev/null
./build/release/bench/cqlpp_sim_bench --seconds 1 --port 19990

echo "== build with ASan + UBSan"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCQLPP_WERROR=ON -DCQLPP_SANITIZE=ON \
      -DCQLPP_BUILD_BENCH=OFF >/dev/null
cmake --build build/asan -j "$jobs"

echo "== fuzz targets (libFuzzer, clang-14)"
CC=clang-14 CXX=clang++-14 cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCQLPP_BUILD_FUZZ=ON -DCQLPP_BUILD_TESTS=OFF -DCQLPP_BUILD_BENCH=OFF -DCQLPP_BUILD_TOOLS=OFF >/dev/null
cmake --build build/fuzz -j "$jobs"
for target in build/fuzz/tests/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name="$(basename "$target")"
  corpus="build/fuzz/corpus/$name"
  mkdir -p "$corpus"
  python3 tests/fuzz/make_seeds.py "$name" "$corpus"
  echo "-- $name: ${fuzz_seconds}s"
  log="build/fuzz/$name.log"
  if ! "$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    tail -50 "$log" >&2
    echo "fuzz target $name failed" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units" "$log" || true
done

echo "== unit, transport and driver tests under ASan + UBSan"
# The driver's coroutines are where lifetime bugs would hide: run them here too.
for t in cqlpp_unit_tests cqlpp_transport_tests cqlpp_driver_tests; do
  echo "-- $t"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "./build/asan/tests/$t" >"build/asan/$t.log" 2>&1; then
    tail -100 "build/asan/$t.log" >&2
    echo "$t failed under ASan + UBSan" >&2
    exit 1
  fi
  tail -1 "build/asan/$t.log"
done

echo "== tests"
ctest --test-dir build/release --output-on-failure

echo "== instructions and allocations per request (callgrind; fails over bench/instr/baseline.json + margin)"
python3 bench/instr/instr.py --build-dir build/release --check

echo "== benchmark suite, quick mode"
BUILD_DIR=build/release bash bench/run --quick --out build/bench-quick

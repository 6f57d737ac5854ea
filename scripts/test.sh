#!/usr/bin/env bash
# Sets up, builds and runs every test: an optimised build with warnings as
# errors (tools, sim, bulk, Python, examples, benchmarks), the codec, transport
# and driver tests under AddressSanitizer + UndefinedBehaviorSanitizer, each
# fuzz target for a short while, then ctest, the callgrind guard and bench/run --quick.
# Environment: FUZZ_SECONDS (default 20 per target), JOBS (default: nproc).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Line tables only (-g1): the same code as -g, about a third less compile time
# for the coroutine-heavy files; demo.sh and test.sh must agree to share objects.
relflags="-O2 -g1 -DNDEBUG"
# Packages first: setup installs ccache, and the launcher must be the same in
# every configure of build/release, or the second one rebuilds everything.
bash scripts/setup.sh test
# ccache, when installed, makes rebuilds in a fresh clone cheap (paths relative to the clone).
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true \
         CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
fi

jobs="${JOBS:-$(nproc)}"
# Each section header carries the seconds since this script started, so a CI log
# shows where the time goes.
section() { echo "== $* [${SECONDS}s]"; }
fuzz_seconds="${FUZZ_SECONDS:-20}"

section "build (warnings as errors)"
# Every option is given, so whatever configured build/release before (scripts/demo.sh
# turns tests and benchmarks off) this configure gets the same result.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$relflags" -DCQLPP_WERROR=ON -DCQLPP_SANITIZE=OFF \
      -DCQLPP_BUILD_FUZZ=OFF -DCQLPP_BUILD_TOOLS=ON -DCQLPP_BUILD_EXAMPLES=ON -DCQLPP_BUILD_PYTHON=ON \
      -DCQLPP_BUILD_TESTS=ON -DCQLPP_BUILD_CORE_TESTS=OFF -DCQLPP_BUILD_BENCH=ON >/dev/null
cmake --build build/release -j "$jobs"

section "benchmark smoke runs"
# Debian's libbenchmark 1.7.1 is itself compiled without NDEBUG and says so
# ("Library was built as DEBUG") whatever our build type: keep its context in a log.
if ! ./build/release/bench/cqlpp_micro_bench --benchmark_min_time=0.01 >build/release/micro_bench.log 2>&1; then
  tail -50 build/release/micro_bench.log >&2
  echo "cqlpp_micro_bench failed" >&2
  exit 1
fi
echo "cqlpp_micro_bench: $(grep -cE '^BM_' build/release/micro_bench.log) benchmarks ran"
./build/release/bench/cqlpp_sim_bench --seconds 1 --port 19990

section "build with ASan + UBSan"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCQLPP_WERROR=ON -DCQLPP_SANITIZE=ON \
      -DCQLPP_BUILD_TESTS=ON -DCQLPP_BUILD_CORE_TESTS=ON -DCQLPP_BUILD_BENCH=OFF >/dev/null
# Only what runs under the sanitizers below: the sim, bulk, CLI and example
# targets are exercised by the release build's ctest.
cmake --build build/asan -j "$jobs" --target cqlpp_unit_tests cqlpp_transport_tests cqlpp_driver_tests

section "fuzz targets (libFuzzer, clang-14)"
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

section "unit, transport and driver tests under ASan + UBSan"
# The driver's coroutines are where lifetime bugs would hide: run them here too.
for t in cqlpp_unit_tests cqlpp_transport_tests cqlpp_driver_tests; do
  echo "-- $t"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "./build/asan/tests/$t" >"build/asan/$t.log" 2>&1; then
    tail -100 "build/asan/$t.log" >&2
    echo "$t failed under ASan + UBSan" >&2
    exit 1
  fi
  # Catch2 ends with a blank line: print its summary line.
  echo "$t: $(grep -E '^(All tests passed|test cases:)' "build/asan/$t.log" | tail -1)"
done

# The fault suite ran above on v5 without compression, its session on the
# test's thread; the same faults again over v4 framing with LZ4, and with each
# session on two I/O threads of its own (shards, hand-offs) with LZ4 on v5.
for variant in "4 1 0" "5 1 2"; do
  read -r fault_protocol fault_lz4 fault_threads <<<"$variant"
  log="build/asan/faults_v${fault_protocol}_lz4${fault_lz4}_threads${fault_threads}.log"
  echo "-- fault suite: protocol v$fault_protocol, lz4 $fault_lz4, $fault_threads I/O threads"
  if ! CQLPP_FAULT_PROTOCOL="$fault_protocol" CQLPP_FAULT_LZ4="$fault_lz4" CQLPP_FAULT_IO_THREADS="$fault_threads" \
       ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       ./build/asan/tests/cqlpp_driver_tests "[faults]" >"$log" 2>&1; then
    tail -100 "$log" >&2
    echo "the fault suite (v$fault_protocol, lz4 $fault_lz4, $fault_threads I/O threads) failed under ASan + UBSan" >&2
    exit 1
  fi
  grep -E '^(All tests passed|test cases:)' "$log" | tail -1
done

section "one session shared by application threads, under ThreadSanitizer"
# Only the libraries under it and the example: the cluster is the optimised
# build's simulator, in its own process.
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
      -DCQLPP_WERROR=ON -DCQLPP_SANITIZE_THREAD=ON -DCQLPP_BUILD_TESTS=OFF -DCQLPP_BUILD_BENCH=OFF -DCQLPP_BUILD_TOOLS=OFF \
      -DCQLPP_BUILD_PYTHON=OFF -DCQLPP_BUILD_SIM=OFF -DCQLPP_BUILD_EXAMPLES=ON -DCQLPP_INSTALL=OFF >/dev/null
cmake --build build/tsan -j "$jobs" --target cqlpp_shared_session
tsan_port=19960
./build/release/tools/cqlpp sim --nodes 3 --port "$tsan_port" >build/tsan/sim.log 2>&1 &
tsan_sim=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$tsan_port") 2>/dev/null && break; sleep 0.1; done
tsan_rc=0
for mode in shards strand io_threads; do
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" timeout 600 \
    ./build/tsan/examples/cqlpp_shared_session "127.0.0.1:$tsan_port" 4 1500 "$mode" \
    >"build/tsan/shared_session_$mode.log" 2>&1 || { tsan_rc=$?; break; }
  grep '^shared_session:' "build/tsan/shared_session_$mode.log"
done
kill "$tsan_sim" 2>/dev/null; wait "$tsan_sim" 2>/dev/null || true
if [ "$tsan_rc" -ne 0 ]; then
  tail -80 "build/tsan/shared_session_$mode.log" >&2
  echo "cqlpp_shared_session ($mode) failed under ThreadSanitizer (exit $tsan_rc)" >&2
  exit 1
fi

section "tests"
# A test without its own TIMEOUT gets 600 s, not ctest's 1500; stdin is closed so
# nothing can wait on a terminal that CI does not have.
ctest --test-dir build/release --output-on-failure --timeout 600 </dev/null

section "instructions and allocations per request (callgrind; fails over bench/instr/baseline.json + margin)"
python3 bench/instr/instr.py --build-dir build/release --check

section "benchmark suite, quick mode"
BUILD_DIR=build/release bash bench/run --quick --out build/bench-quick
section "done"

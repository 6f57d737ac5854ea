#!/usr/bin/env bash
# The main job, for a newcomer: installs what is missing, builds cqlpp, starts
# the embedded simulated cluster (3 nodes on 127.0.0.1-3), drives it with the
# cqlpp driver (examples/quickstart.cpp) and with a real third-party driver,
# then shows the codec at work through `cqlpp wire`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Line tables only (-g1): the same code as -g, about a third less compile time
# for the coroutine-heavy files; demo.sh and test.sh must agree to share objects.
relflags="-O2 -g1 -DNDEBUG"
# Packages first: setup installs ccache, and the launcher must be the same in
# every configure of build/release, or the second one rebuilds everything.
bash scripts/setup.sh demo
# ccache, when installed, makes rebuilds in a fresh clone cheap (paths relative to the clone).
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true \
         CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
fi
# Every option is given, so whatever configured build/release before (scripts/test.sh
# turns tests and benchmarks on) this configure gets the same result; the compile
# flags match scripts/test.sh's, so the two share their objects.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$relflags" -DCQLPP_WERROR=ON -DCQLPP_SANITIZE=OFF \
      -DCQLPP_BUILD_FUZZ=OFF -DCQLPP_BUILD_TOOLS=ON -DCQLPP_BUILD_EXAMPLES=ON -DCQLPP_BUILD_PYTHON=ON \
      -DCQLPP_BUILD_TESTS=OFF -DCQLPP_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target cqlpp cqlpp_quickstart cqlpp_python -j "$(nproc)"
# .ci/run checks that the two README commands work in either order with this.
[ "${1:-}" = "--build-only" ] && exit 0
cqlpp=build/release/tools/cqlpp
port="${CQLPP_DEMO_PORT:-19042}"

echo "== cqlpp sim --nodes 3 --port $port"
"$cqlpp" sim --nodes 3 --port "$port" &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null; wait $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

echo
echo "== the cqlpp driver (examples/quickstart.cpp) against the simulated cluster"
build/release/examples/cqlpp_quickstart "127.0.0.1:$port"

echo
echo "== the DataStax Python driver against the simulated cluster"
/usr/bin/python3 examples/python_against_sim.py "$port"

# Prints an argument so that it can be pasted into a shell as it is.
shell_quote() {
  case "$1" in
    *[!A-Za-z0-9_./:=,+@%-]* | '') case "$1" in
        *"'"*) local s="${1//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//\$/\\\$}"; s="${s//\`/\\\`}"; printf '"%s"' "$s" ;;
        *) printf "'%s'" "$1" ;;
      esac ;;
    *) printf '%s' "$1" ;;
  esac
}
run() {
  echo
  printf '$ cqlpp'
  for a in "$@"; do printf ' %s' "$(shell_quote "$a")"; done
  echo
  "$cqlpp" "$@"
}
echo
echo "== the protocol layer through the cqlpp tool"
run token --types text "'hello'"
run token --types int,text 42 "'user-42'"
run wire encode-value --type "map<text, frozen<list<int>>>" "{'a': [1, 2], 'b': []}"
run wire decode-value --type "tuple<int, double, text>" 0000000400000001ffffffff0000000161
run wire encode-value --type "vector<float, 3>" "[0.5, -1, 3.25]"
run wire decode-value --type decimal 0000000527e41b3246bec9b16e398115
# A v5 QUERY envelope inside a self-contained segment (CRC24 header, CRC32 payload).
run wire decode-segment 22000209c2350500000107000000190000000653454c45435400000000018000036b73310000007b0ce2cba7
# A RESULT Rows envelope with a paging state.
run wire decode-envelope 85000001080000005700000002000000030000000200000004cafebabe00036b733100067461626c65310004636f6c3100090004636f6c32000d0000000200000004000000010000000568656c6c6f000000040000000200000005776f726c64

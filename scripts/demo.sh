#!/usr/bin/env bash
# The main job, for a newcomer: installs what is missing, builds cqlpp and
# shows the protocol layer at work through the `cqlpp` tool.
# (Once the simulated cluster lands, this starts it and runs the driver against it.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh build
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCQLPP_BUILD_TESTS=OFF -DCQLPP_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target cqlpp -j "$(nproc)"
cqlpp=build/release/tools/cqlpp

run() { echo; echo "\$ cqlpp $*"; "$cqlpp" "$@"; }
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

#!/usr/bin/env bash
# Installs cqlpp (component dev) from a build tree into a temporary prefix,
# builds tests/cmake_consumer out of tree with find_package(cqlpp) and again
# with pkg-config, and runs both against a `cqlpp sim` this script starts and
# against an in-process cqlpp::sim node (on a given port, and on a free one,
# primed with an answer the driver must get). Ports 26042-26043.
# With --deb: builds the Debian packages with CPack instead, unpacks them
# (dpkg -x, nothing is installed on the system) and uses that tree, and the
# packaged cqlpp tool for the simulator.
# Usage: run.sh BUILD_DIR PATH/TO/cqlpp [--deb]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build=$(cd "$1" && pwd)
CQLPP=$2
work=$(mktemp -d)
SIM_LOG_DIR=$work
if [ "${3:-}" = "--deb" ]; then SIM_PORT=${SIM_PORT:-26045}; else SIM_PORT=${SIM_PORT:-26042}; fi
source "$here/../interop/sim_lib.sh"
trap 'stop_sim; rm -rf "$work"' EXIT
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

if [ "${3:-}" = "--deb" ]; then
  (cd "$work" && cpack -G DEB -B "$work/deb" --config "$build/CPackConfig.cmake" >"$work/cpack.log") \
    || { cat "$work/cpack.log"; exit 1; }
  for deb in "$work"/deb/libcqlpp-dev_*.deb "$work"/deb/cqlpp_*.deb; do
    echo "== $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
    dpkg -x "$deb" "$work/root"
  done
  prefix="$work/root/usr"
  for f in bin/cqlpp lib/cmake/cqlpp/cqlppConfig.cmake lib/pkgconfig/cqlpp.pc lib/libcqlpp_driver.a \
           include/cqlpp/driver/session.hpp include/cqlpp/sim/cluster.hpp; do
    [ -e "$prefix/$f" ] || { echo "FAIL: $f is not in the packages"; exit 1; }
  done
  CQLPP="$prefix/bin/cqlpp"
else
  prefix="$work/prefix"
  cmake --install "$build" --prefix "$prefix" --component dev >/dev/null
fi
echo "== installed: $(cd "$prefix" && find . -type f | grep -vc include/) files outside include/"

echo "== find_package consumer"
cmake -S "$here" -B "$work/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      "${launcher[@]}" >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/cmake" >"$work/build.log" || { cat "$work/build.log"; exit 1; }

echo "== pkg-config consumer"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pc_cxx=(g++)
command -v ccache >/dev/null && pc_cxx=(ccache g++)
# shellcheck disable=SC2046
"${pc_cxx[@]}" -O2 -Wall "$here/consumer.cpp" -o "$work/consumer_pc" $(pkg-config --cflags --libs cqlpp cqlpp-sim)

start_sim consumer 1 --nodes 1
"$work/cmake/consumer" "127.0.0.1:$SIM_PORT"
"$work/consumer_pc" "127.0.0.1:$SIM_PORT"
"$work/cmake/consumer" --in-process $((SIM_PORT + 1))
"$work/consumer_pc" --in-process 0
echo "== consumers OK"

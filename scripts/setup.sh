#!/usr/bin/env bash
# Installs the Debian packages cqlpp needs, only those that are missing.
# Usage: scripts/setup.sh [build|demo|test|bench|python|all]   (default: build)
set -euo pipefail

build_pkgs=(build-essential cmake ninja-build ccache pkg-config libasio-dev libssl-dev liblz4-dev
            libxxhash-dev zlib1g-dev libsnappy-dev libzstd-dev libspdlog-dev libcli11-dev libedit-dev nlohmann-json3-dev)
test_pkgs=(catch2 libbenchmark-dev clang-14 libclang-rt-14-dev python3-cassandra python3-lz4 valgrind
           python3-yaml parallel)  # the Kubernetes recipe test: YAML, GNU parallel (docs/iceberg.md)
# The cqlpp Python package (python/) and its tests, the FastAPI example.
python_pkgs=(python3-dev pybind11-dev python3-pybind11 python3-pip python3-setuptools python3-pytest
             python3-pytest-asyncio python3-uvloop python3-fastapi python3-uvicorn python3-httpx openssl)
demo_pkgs=(python3-cassandra python3-lz4)
# bench/run: the peer drivers (Python, Node.js, gocql built offline) and gnuplot.
# npm only when no npm is on PATH (a nodejs build that bundles npm conflicts with Debian's npm).
bench_pkgs=(python3-cassandra python3-lz4 nodejs golang-go golang-github-gocql-gocql-dev gnuplot-nox)
command -v npm >/dev/null || bench_pkgs+=(npm)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  demo) want+=("${demo_pkgs[@]}" "${python_pkgs[@]}") ;;
  bench) want+=("${bench_pkgs[@]}") ;;
  python) want+=("${python_pkgs[@]}") ;;
  test|all) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}" "${python_pkgs[@]}") ;;
  *) echo "usage: $0 [build|demo|test|bench|python|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

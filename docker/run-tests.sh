#!/usr/bin/env bash
# Runs cqlpp's real-cluster integration tests against the compose cluster
# (or any cluster: set CQLPP_CONTACT_POINTS=host:port[,host:port...] yourself).
# Needs Docker with the compose plugin unless CQLPP_CONTACT_POINTS is set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ -z "${CQLPP_CONTACT_POINTS:-}" ]; then
  docker compose -f docker/docker-compose.yml up -d
  echo "waiting for 3 healthy nodes..."
  for _ in $(seq 1 90); do
    n=$(docker compose -f docker/docker-compose.yml ps --format '{{.Health}}' | grep -c healthy || true)
    [ "$n" -ge 3 ] && break
    sleep 10
  done
  # The containers' own addresses, so system.peers entries are reachable.
  ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' cqlpp-cassandra1)
  export CQLPP_CONTACT_POINTS="$ip:9042"
fi
bash scripts/setup.sh test
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCQLPP_BUILD_TESTS=ON -DCQLPP_BUILD_CORE_TESTS=ON >/dev/null
cmake --build build/release --target cqlpp_driver_tests -j "$(nproc)"
echo "== real-cluster tests against $CQLPP_CONTACT_POINTS"
./build/release/tests/cqlpp_driver_tests "[real]"

# Shared by run_python.sh and run_node.sh (sourced): start and stop `cqlpp sim`
# in the background, one at a time, and add up the suites' pass/fail counts.
#
# The caller sets CQLPP (path to the cqlpp binary), SIM_PORT and SIM_LOG_DIR.

sim_pid=""
total_passed=0
total_failed=0

# 0 when something accepts TCP connections on $1:$2.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

stop_sim() {
  if [ -n "$sim_pid" ]; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$sim_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
    sim_pid=""
  fi
}

# start_sim NAME NODES [cqlpp sim options...]: serves NODES nodes on
# 127.0.0.1..NODES:$SIM_PORT and returns once every one accepts connections.
start_sim() {
  local name=$1 nodes=$2
  shift 2
  stop_sim
  # A previous simulator on this port must be gone before we bind it again.
  for _ in $(seq 1 100); do
    port_open 127.0.0.1 "$SIM_PORT" || break
    sleep 0.1
  done
  local log="$SIM_LOG_DIR/sim-$name.log"
  "$CQLPP" sim --port "$SIM_PORT" "$@" >"$log" 2>&1 &
  sim_pid=$!
  local i
  for i in $(seq 1 "$nodes"); do
    local ok=""
    for _ in $(seq 1 150); do
      if port_open "127.0.0.$i" "$SIM_PORT"; then ok=1; break; fi
      if ! kill -0 "$sim_pid" 2>/dev/null; then break; fi
      sleep 0.1
    done
    if [ -z "$ok" ]; then
      echo "interop: cqlpp sim ($name) did not start on 127.0.0.$i:$SIM_PORT:" >&2
      cat "$log" >&2
      stop_sim
      return 1
    fi
  done
  echo "== cqlpp sim ($name): $* on port $SIM_PORT"
}

# record LOGFILE STATUS: adds the 'INTEROP-TOTALS P F' line of a suite's output
# to the totals; a suite that died without printing it counts as one failure.
record() {
  local line
  line=$(grep -E '^INTEROP-TOTALS [0-9]+ [0-9]+$' "$1" | tail -1)
  if [ -z "$line" ]; then
    echo "interop: the suite exited ($2) without reporting its totals" >&2
    total_failed=$((total_failed + 1))
    return
  fi
  set -- $line
  total_passed=$((total_passed + $2))
  total_failed=$((total_failed + $3))
}

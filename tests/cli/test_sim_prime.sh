#!/usr/bin/env bash
# `cqlpp sim` as a test fixture for any language: rules from --prime FILE.json
# and from CQL (sim.primes through `cqlpp exec`) answer with their rows, error
# or delay; the activity log (--activity-log, sim.settings) shows what came in.
# Usage: test_sim_prime.sh path/to/cqlpp   (ports 19700-19799)
set -euo pipefail
CQLPP="$1"
pass=0
fail=0
work=$(mktemp -d)
sim_pid=""

stop() {
  if [ -n "$1" ]; then
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$sim_pid"
  rm -rf "$work"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((19700 + RANDOM % 100))
    if ! port_open 127.0.0.1 "$p" && ! port_open 127.0.0.2 "$p"; then echo "$p"; return; fi
  done
  echo "no free port in 19700-19799" >&2
  return 1
}
wait_up() {  # PID PORT LOG
  local i
  for i in 1 2; do
    for _ in $(seq 1 150); do
      port_open "127.0.0.$i" "$2" && continue 2
      kill -0 "$1" 2>/dev/null || break
      sleep 0.1
    done
    echo "cqlpp sim did not start on 127.0.0.$i:$2:" >&2; cat "$3" >&2; exit 1
  done
}

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# check NAME EXPECTED ACTUAL
check() { if [ "$2" == "$3" ]; then ok; else bad "$1"$'\n'"--- expected:"$'\n'"$2"$'\n'"--- got:"$'\n'"$3"; fi; }
# contains NAME NEEDLE HAYSTACK
contains() { case "$3" in *"$2"*) ok ;; *) bad "$1: lacks '$2':"$'\n'"$3" ;; esac; }

cat >"$work/rules.json" <<'JSON'
[
  {"query": "SELECT name, qty FROM shop.items WHERE id = 1",
   "columns": ["name text", "qty int"], "rows": [["'apple'", 3], ["'pear'", null]]},
  {"query": "SELECT name FROM shop.items WHERE id = ", "match": "prefix",
   "error": "READ_TIMEOUT", "received": 1, "block_for": 2, "message": "primed timeout"}
]
JSON

PORT=$(free_port)
"$CQLPP" sim --nodes 2 --port "$PORT" --prime "$work/rules.json" --activity-log 100 >"$work/sim.log" 2>&1 &
sim_pid=$!
wait_up "$sim_pid" "$PORT" "$work/sim.log"
contains "banner" "2 primed rule(s)" "$(cat "$work/sim.log")"
X=("$CQLPP" exec --hosts "127.0.0.1:$PORT")

# --- rules from --prime: rows (no schema needed) and an error
check "primed rows" 'name,qty
apple,3
pear,' "$("${X[@]}" --format csv -e "SELECT name, qty FROM shop.items WHERE id = 1" 2>&1)"
rc=0
out="$("${X[@]}" -e "SELECT name FROM shop.items WHERE id = 2" 2>&1)" || rc=$?
if [ $rc -eq 0 ]; then bad "primed error: exec should fail"; else ok; fi
contains "primed error" "READ_TIMEOUT" "$out"
contains "primed error message" "primed timeout" "$out"

# --- rules from CQL: a delay (rows after 600 ms), listed by SELECT, removed by TRUNCATE
"${X[@]}" -e "INSERT INTO sim.primes (query, columns, rows, delay_ms) VALUES ('SELECT v FROM slow.t', ['v int'], [['42']], 600)"
start=$(date +%s%N)
out="$("${X[@]}" --format csv -e "SELECT v FROM slow.t" 2>&1)"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "delayed rows" $'v\n42' "$out"
if [ "$elapsed_ms" -ge 600 ]; then ok; else bad "delay: answered after ${elapsed_ms} ms, primed 600"; fi
"${X[@]}" -e "INSERT INTO sim.primes JSON '{\"query\": \"UPDATE shop.items SET qty = 0 WHERE id = 1\", \"error\": \"WRITE_TIMEOUT\", \"write_type\": \"CAS\", \"times\": 1}'"
out="$("${X[@]}" --format csv -e "SELECT query, then, times, left FROM sim.primes" 2>&1 | sort)"
check "sim.primes lists the rules" '"SELECT name FROM shop.items WHERE id = ",error,0,0
"SELECT name, qty FROM shop.items WHERE id = 1",rows,0,0
SELECT v FROM slow.t,rows,0,0
UPDATE shop.items SET qty = 0 WHERE id = 1,error,1,1
query,then,times,left' "$out"
rc=0
out="$("${X[@]}" -e "UPDATE shop.items SET qty = 0 WHERE id = 1" 2>&1)" || rc=$?
contains "primed write timeout (CQL JSON)" "WRITE_TIMEOUT" "$out"
# One-shot: gone, so the engine answers (no keyspace shop).
out="$("${X[@]}" -e "UPDATE shop.items SET qty = 0 WHERE id = 1" 2>&1)" || true
contains "one-shot used up" "Keyspace 'shop' does not exist" "$out"

rc=0
out="$("${X[@]}" -e "INSERT INTO sim.primes (query, error) VALUES ('q', 'NOPE')" 2>&1)" || rc=$?
if [ $rc -ne 0 ]; then ok; else bad "bad rule accepted"; fi
contains "bad rule refused" "unknown error code 'NOPE'" "$out"

# --- the activity log: what each node received; primed requests marked
# (each exec also reads system tables as it connects: left out here)
out="$("${X[@]}" --format csv -e "SELECT op, query, consistency, primed FROM sim.activity" 2>&1 | grep -v 'FROM system')"
contains "activity: primed rows" "QUERY,\"SELECT name, qty FROM shop.items WHERE id = 1\",ONE,true" "$out"
contains "activity: delayed" "QUERY,SELECT v FROM slow.t,ONE,true" "$out"
contains "activity: engine" "QUERY,UPDATE shop.items SET qty = 0 WHERE id = 1,ONE,false" "$out"
check "activity_log setting" $'value\n100' "$("${X[@]}" --format csv -e "SELECT value FROM sim.settings WHERE name = 'activity_log'" 2>&1)"
"${X[@]}" -e "TRUNCATE sim.activity" -e "UPDATE sim.settings SET value = 0 WHERE name = 'activity_log'"
check "activity cleared and off" $'count\n0' "$("${X[@]}" --format csv -e "SELECT count(*) FROM sim.activity" 2>/dev/null)"

"${X[@]}" -e "TRUNCATE sim.primes"
check "primes cleared" $'count\n0' "$("${X[@]}" --format csv -e "SELECT count(*) FROM sim.primes" 2>/dev/null)"
stop "$sim_pid"
sim_pid=""

# --- a malformed --prime file: the sim refuses to start, saying where
echo '[{"query": "q"}, {"query": "r", "colums": ["a int"]}]' >"$work/bad.json"
rc=0
out="$("$CQLPP" sim --nodes 1 --port "$(free_port)" --prime "$work/bad.json" 2>&1)" || rc=$?
if [ $rc -ne 0 ]; then ok; else bad "bad --prime file accepted"; fi
contains "bad --prime file" "rule 1: unknown field 'colums'" "$out"
contains "help footer" "INSERT INTO sim.primes" "$("$CQLPP" sim --help 2>&1)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

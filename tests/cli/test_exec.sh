#!/usr/bin/env bash
# `cqlpp exec` and `cqlpp shell` against a 3-node `cqlpp sim` started here:
# exact output in every format, paging, scripts, errors, v4, LZ4, piped shell.
# Usage: test_exec.sh path/to/cqlpp
set -euo pipefail
CQLPP="$1"
pass=0
fail=0
work=$(mktemp -d)
sim_pid=""

tls_pid=""

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
  stop "$tls_pid"
  rm -rf "$work"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# A free port in 23000-23999 (or CQLPP_TEST_PORT_BASE + 0..999) on the three loopback addresses.
PORT_BASE=${CQLPP_TEST_PORT_BASE:-23000}
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((PORT_BASE + RANDOM % 1000))
    if ! port_open 127.0.0.1 "$p" && ! port_open 127.0.0.2 "$p" && ! port_open 127.0.0.3 "$p"; then echo "$p"; return; fi
  done
  echo "no free port in $PORT_BASE-$((PORT_BASE + 999))" >&2
  return 1
}

# wait_up PID PORT NODES LOG: until every node accepts connections.
wait_up() {
  local i up
  for i in $(seq 1 "$3"); do
    up=""
    for _ in $(seq 1 150); do
      if port_open "127.0.0.$i" "$2"; then up=1; break; fi
      kill -0 "$1" 2>/dev/null || break
      sleep 0.1
    done
    if [ -z "$up" ]; then echo "cqlpp sim did not start on 127.0.0.$i:$2:" >&2; cat "$4" >&2; exit 1; fi
  done
}

PORT=$(free_port)
"$CQLPP" sim --nodes 3 --port "$PORT" >"$work/sim.log" 2>&1 &
sim_pid=$!
wait_up "$sim_pid" "$PORT" 3 "$work/sim.log"

HOSTS="127.0.0.1:$PORT"
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect_out NAME EXPECTED ARGS...: exit 0, stdout exactly EXPECTED, stderr empty.
expect_out() {
  local name="$1" expected="$2"; shift 2
  local out rc=0
  out="$("$CQLPP" "$@" 2>"$work/err")" || rc=$?
  if [ $rc -ne 0 ]; then bad "$name: exited $rc: $(cat "$work/err")"; return; fi
  if [ -s "$work/err" ]; then bad "$name: unexpected stderr: $(cat "$work/err")"; return; fi
  if [ "$out" != "$expected" ]; then bad "$name"$'\n'"--- expected:"$'\n'"$expected"$'\n'"--- got:"$'\n'"$out"; return; fi
  ok
}
# expect_contains NAME NEEDLE ARGS...: exit 0 and NEEDLE in stdout.
expect_contains() {
  local name="$1" needle="$2"; shift 2
  local out rc=0
  out="$("$CQLPP" "$@" 2>"$work/err")" || rc=$?
  if [ $rc -ne 0 ]; then bad "$name: exited $rc: $(cat "$work/err")"; return; fi
  case "$out" in *"$needle"*) ok ;; *) bad "$name: output lacks '$needle':"$'\n'"$out" ;; esac
}
# expect_fail NAME NEEDLE ARGS...: non-zero exit, exactly one stderr line containing NEEDLE.
expect_fail() {
  local name="$1" needle="$2"; shift 2
  local err rc=0 lines
  "$CQLPP" "$@" >/dev/null 2>"$work/err" || rc=$?
  err="$(cat "$work/err")"
  lines=$(printf '%s' "$err" | grep -c '' || true)
  if [ $rc -eq 0 ]; then bad "$name: should fail"; return; fi
  if [ "$lines" -ne 1 ]; then bad "$name: should print one error line, printed $lines:"$'\n'"$err"; return; fi
  case "$err" in *"$needle"*) ok ;; *) bad "$name: error lacks '$needle': $err" ;; esac
}

X=("$CQLPP" exec --hosts "$HOSTS")

# --- schema and data (DDL/DML print nothing)
expect_out "create" "" exec --hosts "$HOSTS" \
  -e "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}" \
  -e "CREATE TABLE ks.t (k int, c int, v text, PRIMARY KEY (k, c))"
expect_out "insert" "" exec --hosts "$HOSTS" \
  -e "INSERT INTO ks.t (k, c, v) VALUES (1, 1, 'one')" \
  -e "INSERT INTO ks.t (k, c, v) VALUES (1, 2, 'two, \"2\"')" \
  -e "INSERT INTO ks.t (k, c) VALUES (1, 3)"

# --- formats
expect_out "table" "
 c | v
---+----------
 1 |      one
 2 | two, \"2\"
 3 |     null

(3 rows)" exec --hosts "$HOSTS" -e "SELECT c, v FROM ks.t WHERE k = 1"
expect_out "csv" 'c,v
1,one
2,"two, ""2"""
3,' exec --hosts "$HOSTS" --format csv -e "SELECT c, v FROM ks.t WHERE k = 1"
expect_out "json" '{"c": 1, "v": "one"}
{"c": 2, "v": "two, \"2\""}
{"c": 3, "v": null}' exec --hosts "$HOSTS" --format json -e "SELECT c, v FROM ks.t WHERE k = 1"
expect_out "empty result" "
 c | v
---+---

(0 rows)" exec --hosts "$HOSTS" -e "SELECT c, v FROM ks.t WHERE k = 42"

# --- values of many types, as cqlsh prints them
expect_out "types ddl" "" exec --hosts "$HOSTS" \
  -e "CREATE TABLE ks.types (k int PRIMARY KEY, b boolean, d double, big bigint, l list<int>, m map<text, int>, ts timestamp, u uuid, x blob)" \
  -e "INSERT INTO ks.types (k, b, d, big, l, m, ts, u, x) VALUES (1, true, 2.5, -9000000000, [1, 2], {'a': 1}, '2024-01-02 03:04:05+0000', 6ab09bec-e68e-48d9-a5f8-97e6fb4c9b47, 0xcafe)"
expect_out "types table" "
 k | b    | d   | big         | l      | m        | ts                              | u                                    | x
---+------+-----+-------------+--------+----------+---------------------------------+--------------------------------------+--------
 1 | true | 2.5 | -9000000000 | [1, 2] | {'a': 1} | 2024-01-02 03:04:05.000000+0000 | 6ab09bec-e68e-48d9-a5f8-97e6fb4c9b47 | 0xcafe

(1 rows)" exec --hosts "$HOSTS" -e "SELECT k, b, d, big, l, m, ts, u, x FROM ks.types WHERE k = 1"
expect_out "types json" '{"k": 1, "b": true, "d": 2.5, "big": -9000000000, "l": "[1, 2]", "m": "{'"'"'a'"'"': 1}", "ts": "2024-01-02 03:04:05.000000+0000", "u": "6ab09bec-e68e-48d9-a5f8-97e6fb4c9b47", "x": "0xcafe"}' \
  exec --hosts "$HOSTS" --format json -e "SELECT k, b, d, big, l, m, ts, u, x FROM ks.types WHERE k = 1"

# --- paging: more rows than a page, every one printed
ins=()
for i in $(seq 1 25); do ins+=(-e "INSERT INTO ks.t (k, c, v) VALUES (2, $i, 'v$i')"); done
expect_out "paging insert" "" exec --hosts "$HOSTS" "${ins[@]}"
expected_csv="c,v"
for i in $(seq 1 25); do expected_csv+=$'\n'"$i,v$i"; done
expect_out "paging csv" "$expected_csv" exec --hosts "$HOSTS" --page-size 7 --format csv -e "SELECT c, v FROM ks.t WHERE k = 2"
expect_contains "paging table" "(25 rows)" exec --hosts "$HOSTS" --page-size 4 -e "SELECT c, v FROM ks.t WHERE k = 2"
expect_contains "paging table aligned across pages" "  9 |  v9
 10 | v10" exec --hosts "$HOSTS" --page-size 4 -e "SELECT c, v FROM ks.t WHERE k = 2"

# --- -f FILE: several statements, comments, quotes and $$ strings with ';' inside
cat >"$work/script.cql" <<'EOF'
-- a comment; with a semicolon
CREATE TABLE ks.f (k int PRIMARY KEY, v text);  // another; comment
/* block; comment
   over lines; */
INSERT INTO ks.f (k, v) VALUES (1, 'a;b');
INSERT INTO ks.f (k, v) VALUES (2, $$it's; dollar$$);
INSERT INTO ks.f (k, v)
  VALUES (3, 'it''s -- not a comment');
SELECT k, v FROM ks.f WHERE k = 1;
SELECT k, v FROM ks.f WHERE k = 2;
SELECT v FROM ks.f WHERE k = 3
EOF
expect_out "file" 'k,v
1,a;b
k,v
2,it'"'"'s; dollar
v
it'"'"'s -- not a comment' exec --hosts "$HOSTS" --format csv -f "$work/script.cql"
expect_out "file from stdin" 'v
a;b' exec --hosts "$HOSTS" --format csv -f - <<<"SELECT v FROM ks.f WHERE k = 1;"

# --- USE, and -k
expect_out "use" 'v
one' exec --hosts "$HOSTS" --format csv -e "USE ks" -e "SELECT v FROM t WHERE k = 1 AND c = 1"
expect_out "keyspace option csv" 'v
one' exec --hosts "$HOSTS" --format csv -k ks -e "SELECT v FROM t WHERE k = 1 AND c = 1"

# --- errors: one line on stderr, non-zero exit
expect_fail "unconfigured table" "cqlpp: error: INVALID from 127.0.0." exec --hosts "$HOSTS" -e "SELECT * FROM ks.nope"
expect_fail "unconfigured table message" "unconfigured table nope" exec --hosts "$HOSTS" -e "SELECT * FROM ks.nope"
expect_fail "syntax error" "SYNTAX_ERROR" exec --hosts "$HOSTS" -e "SELEC * FROM ks.t"
expect_fail "stops at the first error" "unconfigured table nope" exec --hosts "$HOSTS" \
  -e "SELECT * FROM ks.nope" -e "INSERT INTO ks.f (k, v) VALUES (99, 'should not run')"
expect_out "nothing ran after the error" "
 k | v
---+---

(0 rows)" exec --hosts "$HOSTS" -e "SELECT k, v FROM ks.f WHERE k = 99"
expect_fail "use unknown keyspace" "Keyspace 'nokeyspace' does not exist" exec --hosts "$HOSTS" -e "USE nokeyspace"
expect_fail "-k unknown keyspace" "cqlpp: error: Keyspace 'nope' does not exist" exec --hosts "$HOSTS" -k nope -e "SELECT * FROM t"
expect_fail "missing file" "cannot read" exec --hosts "$HOSTS" -f "$work/none.cql"
expect_fail "no statement" "-e" exec --hosts "$HOSTS"
expect_fail "bad format" "--format" exec --hosts "$HOSTS" --format xml -e "SELECT * FROM ks.t"
expect_fail "bad consistency" "unknown consistency level" exec --hosts "$HOSTS" --consistency MOST -e "SELECT * FROM ks.t"
expect_fail "unterminated quote" "unterminated" exec --hosts "$HOSTS" -e "SELECT 'oops FROM ks.t"
closed=$((PORT + 1))
port_open 127.0.0.1 "$closed" && closed=$((PORT + 2))
expect_fail "connection refused" "cannot connect to 127.0.0.1:$closed" exec --hosts "127.0.0.1:$closed" --timeout 2000 -e "SELECT * FROM ks.t"

# --- protocol v4, LZ4, consistency
expect_out "v4" 'c,v
1,one' exec --hosts "$HOSTS" --protocol 4 --format csv -e "SELECT c, v FROM ks.t WHERE k = 1 AND c = 1"
out="$("$CQLPP" exec --hosts "$HOSTS" --protocol 4 --verbose -e "SELECT c FROM ks.t WHERE k = 1 AND c = 1" 2>&1 >/dev/null)" || true
case "$out" in *"(protocol v4)"*) ok ;; *) bad "v4 verbose: $out" ;; esac
out="$("$CQLPP" exec --hosts "$HOSTS" --verbose -e "SELECT c FROM ks.t WHERE k = 1 AND c = 1" 2>&1 >/dev/null)" || true
case "$out" in *"(protocol v5)"*) ok ;; *) bad "v5 verbose: $out" ;; esac
expect_out "v4 paging" "$expected_csv" exec --hosts "$HOSTS" --protocol 4 --page-size 6 --format csv -e "SELECT c, v FROM ks.t WHERE k = 2"
expect_out "lz4" "$expected_csv" exec --hosts "$HOSTS" --compression lz4 --page-size 5 --format csv -e "SELECT c, v FROM ks.t WHERE k = 2"
expect_out "lz4 v4" "$expected_csv" exec --hosts "$HOSTS" --protocol 4 --compression lz4 --format csv -e "SELECT c, v FROM ks.t WHERE k = 2"
expect_out "consistency" 'v
one' exec --hosts "$HOSTS,127.0.0.2:$PORT" --consistency QUORUM --format csv -e "SELECT v FROM ks.t WHERE k = 1 AND c = 1"

# --- shell fed through a pipe
shell_out="$("$CQLPP" shell --hosts "$HOSTS" 2>"$work/err" <<'EOF'
DESCRIBE KEYSPACES
DESCRIBE TABLE ks.t
CONSISTENCY
CONSISTENCY QUORUM
CONSISTENCY
USE ks;
SELECT c, v
  FROM t
  WHERE k = 1;  -- two lines, a comment
PAGING 3
EXPAND ON
SELECT c, v FROM t WHERE k = 1 AND c = 1;
EXPAND OFF
SELECT * FROM nope;
EXIT
SELECT 'not reached' FROM t;
EOF
)" && rc=0 || rc=$?
check_shell() {
  case "$shell_out" in *"$1"*) ok ;; *) bad "shell: output lacks '$1':"$'\n'"$shell_out" ;; esac
}
check_shell "ks  "
check_shell "system"
check_shell "CREATE TABLE ks.t (
    k int,
    c int,
    v text,
    PRIMARY KEY (k, c)
) WITH CLUSTERING ORDER BY (c ASC)
    AND additional_write_policy = '99p'"
check_shell "
    AND speculative_retry = '99p';"
check_shell "Current consistency level is ONE."
check_shell "Consistency level set to QUORUM."
check_shell "Current consistency level is QUORUM."
check_shell "
 c | v
---+----------
 1 |      one
 2 | two, \"2\"
 3 |     null

(3 rows)"
check_shell "Page size: 3"
check_shell "@ Row 1
---+-----
 c | 1
 v | one"
case "$shell_out" in *"not reached"*) bad "shell: ran past EXIT" ;; *) ok ;; esac
if [ "$rc" -ne 0 ] && grep -q "unconfigured table nope" "$work/err"; then ok; else bad "shell: status $rc, stderr: $(cat "$work/err")"; fi

# The shell's DESCRIBE KEYSPACE and a bare name, HELP, and a statement spanning pipes without ';' at EOF.
expect_contains "shell describe keyspace" "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '2'};" \
  shell --hosts "$HOSTS" <<<"DESCRIBE KEYSPACE ks"
expect_contains "shell help" "DESCRIBE KEYSPACES" shell --hosts "$HOSTS" <<<"HELP"
expect_contains "shell last statement without ;" "(1 rows)" shell --hosts "$HOSTS" -k ks <<<"SELECT * FROM t WHERE k = 1 AND c = 1"
expect_contains "shell command then statement on one line" "(1 rows)" shell --hosts "$HOSTS" \
  <<<"DESCRIBE KEYSPACES; SELECT * FROM ks.t WHERE k = 1 AND c = 1;"
expect_contains "shell describe tables" "f  t  types" shell --hosts "$HOSTS" -k ks <<<"DESCRIBE TABLES"

# The shell reads input on its own thread: while it waits for a line, its
# connections keep sending heartbeats (OPTIONS) to the sim.
mkfifo "$work/shell_in"
"$CQLPP" shell --hosts "$HOSTS" --heartbeat 100 --format csv <"$work/shell_in" >"$work/shell_idle" 2>&1 &
shell_pid=$!
exec 3>"$work/shell_in"
count_options="SELECT value FROM sim.counters WHERE node = 1 AND name = 'requests_OPTIONS';"
echo "$count_options" >&3
sleep 1.5
echo "$count_options" >&3
echo "EXIT" >&3
exec 3>&-
wait "$shell_pid" && rc=0 || rc=$?
mapfile -t counts < <(grep -E '^[0-9]+$' "$work/shell_idle")
if [ "$rc" -eq 0 ] && [ "${#counts[@]}" -eq 2 ] && [ $((counts[1] - counts[0])) -ge 5 ]; then ok; else
  bad "shell idle heartbeats: status $rc, OPTIONS counts ${counts[*]:-none}: $(cat "$work/shell_idle")"
fi

# --- TLS and PasswordAuthenticator (a second, 1-node sim)
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other.example" \
    -keyout "$work/other-key.pem" -out "$work/other.pem" >/dev/null 2>&1
  TLS_PORT=$(free_port)
  while [ "$TLS_PORT" = "$PORT" ]; do TLS_PORT=$(free_port); done
  "$CQLPP" sim --nodes 1 --port "$TLS_PORT" --user cassandra:secret \
    --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/sim-tls.log" 2>&1 &
  tls_pid=$!
  wait_up "$tls_pid" "$TLS_PORT" 1 "$work/sim-tls.log"
  T=(--hosts "127.0.0.1:$TLS_PORT" --timeout 3000)
  expect_out "tls + auth" 'k
7' exec "${T[@]}" --tls-ca "$work/cert.pem" -u cassandra -p secret --format csv \
    -e "CREATE KEYSPACE s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" \
    -e "CREATE TABLE s.t (k int PRIMARY KEY)" -e "INSERT INTO s.t (k) VALUES (7)" -e "SELECT k FROM s.t"
  expect_fail "tls wrong password" "cannot connect to 127.0.0.1:$TLS_PORT" \
    exec "${T[@]}" --tls-ca "$work/cert.pem" -u cassandra -p wrong -e "SELECT k FROM s.t"
  expect_fail "tls untrusted certificate" "cannot connect to 127.0.0.1:$TLS_PORT" \
    exec "${T[@]}" --tls-ca "$work/other.pem" -u cassandra -p secret -e "SELECT k FROM s.t"
  expect_fail "password without user" "--user" exec "${T[@]}" -p secret -e "SELECT k FROM s.t"
  expect_contains "shell over tls" "(1 rows)" shell "${T[@]}" --tls --tls-ca "$work/cert.pem" -u cassandra -p secret \
    <<<"SELECT k FROM s.t;"
else
  echo "note: openssl not found, TLS checks skipped"
fi

# --- BEGIN BATCH ... APPLY BATCH is one statement (cqlsh), in -e, -f and the shell
expect_out "batch ddl" "" exec --hosts "$HOSTS" -e "CREATE TABLE ks.b (id int PRIMARY KEY, v text)"
expect_out "batch -e" "" exec --hosts "$HOSTS" \
  -e "BEGIN BATCH INSERT INTO ks.b (id, v) VALUES (1, 'a'); INSERT INTO ks.b (id, v) VALUES (2, 'b;c'); APPLY BATCH"
printf 'begin unlogged batch\n  INSERT INTO ks.b (id, v) VALUES (3, $$x;y$$); -- a; comment\n  INSERT INTO ks.b (id, v) VALUES (4, \x27d\x27);\napply   batch;\n' >"$work/batch.cql"
expect_out "batch -f" "" exec --hosts "$HOSTS" -f "$work/batch.cql"
printf 'BEGIN BATCH\nINSERT INTO ks.b (id, v) VALUES (5, \x27e\x27);\nAPPLY BATCH;\n' >"$work/batch2.cql"
if "$CQLPP" shell --hosts "$HOSTS" <"$work/batch2.cql" >/dev/null 2>"$work/err"; then ok; else bad "batch in the shell: $(cat "$work/err")"; fi
out="$("$CQLPP" exec --hosts "$HOSTS" --format csv -e "SELECT count(*) FROM ks.b")"
[ "$(printf '%s' "$out" | tail -1)" = "5" ] && ok || bad "batch rows: $out"

# --- SHOW VERSION / SHOW HOST, as cqlsh (not sent to the server as CQL)
expect_out "show version" "[cqlpp 0.1.0 | Cassandra 5.0.2 | CQL spec 3.4.7 | Native protocol v5]" exec --hosts "$HOSTS" -e "SHOW VERSION"
expect_out "show host" "Connected to cqlpp-sim at $HOSTS." exec --hosts "$HOSTS" -e "SHOW HOST"
expect_fail "show bogus" "SHOW takes VERSION or HOST" exec --hosts "$HOSTS" -e "SHOW bogus"

# --- TRACING ON|OFF as cqlsh: the result, then its trace (system_traces) as a table
"$CQLPP" exec --hosts "$HOSTS" -e "TRACING ON" -e "SELECT c, v FROM ks.t WHERE k = 1 AND c = 1" -e "TRACING" \
  -e "TRACING OFF" -e "SELECT c FROM ks.t WHERE k = 1 AND c = 1" >"$work/trace.out" 2>"$work/err" \
  || bad "tracing: $(cat "$work/err")"
if python3 - "$work/trace.out" <<'PYEOF'
import re, sys
out = open(sys.argv[1]).read()
lines = out.split("\n")
assert out.startswith("Now Tracing is enabled\n"), out
assert out.count("Tracing session: ") == 1, "one traced statement: " + out
at = out.index("Tracing session: ")
assert out.index("(1 rows)") < at, "the result comes first"
i = next(n for n, l in enumerate(lines) if l.startswith("Tracing session: "))
assert re.fullmatch(r"Tracing session: [0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", lines[i]), lines[i]
assert lines[i + 1] == "", lines[i + 1]
assert re.fullmatch(r" activity +\| timestamp +\| source +\| source_elapsed \| client", lines[i + 2]), lines[i + 2]
assert re.fullmatch(r"-+\+-+\+-+\+-+\+-+", lines[i + 3]), lines[i + 3]
rows = []
for l in lines[i + 4:]:
    if not l:
        break
    rows.append([c.strip() for c in l.split(" | ")])
ts = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?"
assert rows[0][0] == "Execute CQL3 query" and rows[0][2:] == ["127.0.0.1", "0", "127.0.0.1"], rows[0]
assert rows[1][0].startswith("Parsing SELECT c, v FROM ks.t WHERE k = 1 AND c = 1 ["), rows[1]
assert any(r[0].startswith("Executing single-partition query on t [") for r in rows), rows
assert rows[-1][0] == "Request complete" and int(rows[-1][3]) > 0, rows[-1]
for r in rows:
    assert len(r) == 5 and re.fullmatch(ts, r[1]) and r[2].startswith("127.0.0.") and r[4] == "127.0.0.1", r
assert "Tracing is currently enabled. Use TRACING OFF to disable\nDisabled Tracing.\n" in out, out
assert out.rstrip().endswith("(1 rows)"), "untraced after OFF: " + out
PYEOF
then ok; else bad "tracing output: $(cat "$work/trace.out")"; fi
expect_contains "tracing in the shell" "Request complete" shell --hosts "$HOSTS" <<<"TRACING ON
SELECT c FROM ks.t WHERE k = 1 AND c = 1;"
# With --format json the rows stay alone on stdout; the trace goes to stderr.
"$CQLPP" exec --hosts "$HOSTS" --format json -e "TRACING ON" -e "SELECT c FROM ks.t WHERE k = 1 AND c = 1" \
  >"$work/trace.json" 2>"$work/trace.err" || bad "tracing json: $(cat "$work/trace.err")"
grep -q "Tracing session" "$work/trace.json" && bad "tracing json: trace on stdout: $(cat "$work/trace.json")" || ok
grep -qx '{"c": 1}' "$work/trace.json" && grep -q "Request complete" "$work/trace.err" && ok \
  || bad "tracing json: stdout $(cat "$work/trace.json") stderr $(cat "$work/trace.err")"
expect_fail "tracing bogus" "TRACING takes ON or OFF" exec --hosts "$HOSTS" -e "TRACING maybe"
# ... and so do the switches' acknowledgements: stdout is only the rows.
"$CQLPP" exec --hosts "$HOSTS" --format csv -e "CONSISTENCY ONE" -e "PAGING 10" -e "EXPAND OFF" -e "TRACING OFF" \
  -e "SELECT c FROM ks.t WHERE k = 1 AND c = 1" >"$work/sw.csv" 2>"$work/sw.err" || bad "switches csv: $(cat "$work/sw.err")"
[ "$(cat "$work/sw.csv")" = "$(printf 'c\n1')" ] && grep -q "Consistency level set to ONE" "$work/sw.err" && ok \
  || bad "switches csv: stdout $(cat "$work/sw.csv") stderr $(cat "$work/sw.err")"

# --- COPY TO / FROM (cqlsh's syntax: positional columns, HEADER default false), SOURCE, CAPTURE
expect_out "copy ddl" "" exec --hosts "$HOSTS" \
  -e "CREATE TABLE ks.cp (k int, c int, v text, l list<int>, PRIMARY KEY (k, c))" \
  -e "CREATE TABLE ks.cp2 (k int, c int, v text, l list<int>, PRIMARY KEY (k, c))" \
  -e "INSERT INTO ks.cp (k, c, v, l) VALUES (1, 1, 'a,b \"q\"', [1, 2])" \
  -e "INSERT INTO ks.cp (k, c, v) VALUES (1, 2, 'line
break')" -e "INSERT INTO ks.cp (k, c, v, l) VALUES (2, 1, '', [3])"
"$CQLPP" exec --hosts "$HOSTS" -e "COPY ks.cp TO '$work/cp.csv' WITH HEADER = true" >"$work/copy.out" 2>"$work/err" \
  || bad "copy to: $(cat "$work/err")"
grep -q "^3 rows exported to 1 files in " "$work/copy.out" && ok || bad "copy to summary: $(cat "$work/copy.out")"
[ "$(head -1 "$work/cp.csv")" = "k,c,l,v" ] && [ "$(grep -c . "$work/cp.csv")" -ge 4 ] && ok \
  || bad "copy to file: $(cat "$work/cp.csv")"
"$CQLPP" exec --hosts "$HOSTS" -e "COPY ks.cp2 FROM '$work/cp.csv' WITH HEADER = true" >"$work/copy.out" 2>"$work/err" \
  || bad "copy from: $(cat "$work/err")"
grep -q "^3 rows imported from 1 files in .* (0 skipped)" "$work/copy.out" && ok || bad "copy from summary: $(cat "$work/copy.out")"
a=$("$CQLPP" exec --hosts "$HOSTS" --format json -e "SELECT * FROM ks.cp")
b=$("$CQLPP" exec --hosts "$HOSTS" --format json -e "SELECT * FROM ks.cp2")
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "copy round trip: $a vs $b"
# A column list, another delimiter, no header, STDOUT; then FROM with that list.
# (the summary goes to stderr then: stdout is the data)
out=$("$CQLPP" exec --hosts "$HOSTS" -k ks -e "COPY cp (k, c, v) TO STDOUT WITH DELIMITER = '|'" 2>"$work/err") || bad "copy to stdout: $(cat "$work/err")"
[ "$out" = '1|1|"a,b ""q"""
1|2|"line
break"
2|1|""' ] && grep -q "3 rows exported" "$work/err" && ok || bad "copy to stdout: $out"
printf '7|1|seven\n7|2|\n' >"$work/in.psv"
expect_contains "copy from column list" "2 rows imported" exec --hosts "$HOSTS" -e "COPY ks.cp2 (k, c, v) FROM '$work/in.psv' WITH DELIMITER = '|'"
expect_out "copy from column list rows" "k,c,v,l
7,1,seven,
7,2,," exec --hosts "$HOSTS" --format csv -e "SELECT k, c, v, l FROM ks.cp2 WHERE k = 7"
printf 'x,1,bad\n' >"$work/bad.csv"
expect_fail "copy from bad value" "rows were not imported" exec --hosts "$HOSTS" -e "COPY ks.cp2 (k, c, v) FROM '$work/bad.csv'"
bad_file=$(grep -o '/[^ ]*/bad_records.jsonl' "$work/err" || true)
[ -n "$bad_file" ] && grep -q '"x' "$bad_file" && ok || bad "copy from bad value: no reason file: $(cat "$work/err")"
[ -n "$bad_file" ] && rm -rf "$(dirname "$(dirname "$bad_file")")"
expect_fail "copy unknown column" "has no column 'nope'" exec --hosts "$HOSTS" -e "COPY ks.cp (k, nope) TO '$work/x.csv'"
expect_fail "copy unknown table" "does not exist" exec --hosts "$HOSTS" -e "COPY ks.nope TO '$work/x.csv'"
expect_fail "copy unknown option" "unrecognized option 'FOO'" exec --hosts "$HOSTS" -e "COPY ks.cp TO '$work/x.csv' WITH foo = 1"
expect_fail "copy no keyspace" "no keyspace given" exec --hosts "$HOSTS" -e "COPY cp TO '$work/x.csv'"
# SOURCE runs a file's statements; an error names the file and statement.
printf "USE ks;\nSELECT v FROM cp WHERE k = 2 AND c = 1;\n" >"$work/src.cql"
expect_contains "source" "(1 rows)" shell --hosts "$HOSTS" <<<"SOURCE '$work/src.cql'"
printf "SELECT * FROM ks.nope;\n" >"$work/src_bad.cql"
expect_fail "source error" "src_bad.cql, statement 1" exec --hosts "$HOSTS" -e "SOURCE '$work/src_bad.cql'"
# CAPTURE: query results go to the file, not the screen, until CAPTURE OFF.
"$CQLPP" shell --hosts "$HOSTS" >"$work/cap.out" 2>"$work/err" <<CAPEOF || bad "capture: $(cat "$work/err")"
CAPTURE '$work/cap.txt'
SELECT v FROM ks.cp WHERE k = 1 AND c = 1;
CAPTURE OFF
SELECT c FROM ks.cp WHERE k = 2;
CAPEOF
grep -q 'a,b "q"' "$work/cap.txt" && ! grep -q 'a,b "q"' "$work/cap.out" && grep -q "Stopped capture" "$work/cap.out" \
  && grep -q "(1 rows)" "$work/cap.out" && ok || bad "capture: file $(cat "$work/cap.txt") screen $(cat "$work/cap.out")"

# --- the shell on a terminal (pty): Ctrl-D with an unfinished statement discards it
if command -v python3 >/dev/null; then
  printf 'wait cqlpp>\nsend INSERT INTO ks.b (id, v) VALUES (99, \x27unfinished\x27)\nwait ...\neof\n' >"$work/pty1"
  if timeout 60 python3 "$(dirname "$0")/pty_shell.py" "$CQLPP" "$HOSTS" "$work/hist" "$work/pty1" >"$work/pty1.out" 2>&1; then
    ok
  else
    bad "pty shell Ctrl-D: $(cat "$work/pty1.out")"
  fi
  out="$("$CQLPP" exec --hosts "$HOSTS" --format csv -e "SELECT count(*) FROM ks.b WHERE id = 99")"
  [ "$(printf '%s' "$out" | tail -1)" = "0" ] && ok || bad "Ctrl-D ran the unfinished statement: $out"
fi

# --- table output: widths by display width (CJK counts 2), control characters escaped as cqlsh does
expect_out "wide ddl" "" exec --hosts "$HOSTS" -e "CREATE TABLE ks.w (k int, c int, v text, PRIMARY KEY (k, c))" \
  -e "INSERT INTO ks.w (k, c, v) VALUES (1, 1, '日本語')" -e "INSERT INTO ks.w (k, c, v) VALUES (1, 2, 'ab')" \
  -e "INSERT INTO ks.w (k, c, v) VALUES (1, 3, 'a
b	c\d')"
expect_out "wide table" '
 v
------------
     日本語
         ab
 a\nb\tc\\d

(3 rows)' exec --hosts "$HOSTS" -e "SELECT v FROM ks.w WHERE k = 1"
expect_out "newline kept in csv" 'v
"a
b	c\d"' exec --hosts "$HOSTS" --format csv -e "SELECT v FROM ks.w WHERE k = 1 AND c = 3"

# --- DESCRIBE rebuilds a schema: user types in dependency order, clustering order, table options
expect_out "describe ddl" "" exec --hosts "$HOSTS" \
  -e "CREATE KEYSPACE dk WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" \
  -e "CREATE TYPE dk.zip (code text)" -e "CREATE TYPE dk.addr (street text, zip frozen<zip>)" \
  -e "CREATE TABLE dk.people (id int, at timestamp, n int, home frozen<addr>, PRIMARY KEY (id, at, n)) WITH CLUSTERING ORDER BY (at DESC, n ASC) AND comment = 'who''s here' AND gc_grace_seconds = 3600 AND default_time_to_live = 86400 AND compaction = {'class': 'LeveledCompactionStrategy', 'sstable_size_in_mb': '160'}" \
  -e "CREATE TABLE dk.plain (id int PRIMARY KEY, v text, t text) WITH caching = {'keys': 'NONE', 'rows_per_partition': 'ALL'}" \
  -e "CREATE INDEX ON dk.plain (v)" \
  -e "CREATE CUSTOM INDEX plain_t ON dk.plain (t) USING 'sai' WITH OPTIONS = {'case_sensitive': 'false'}"
"$CQLPP" exec --hosts "$HOSTS" -e "DESCRIBE KEYSPACE dk" >"$work/dk1.cql" 2>"$work/err" || bad "describe keyspace dk: $(cat "$work/err")"
grep -q "CLUSTERING ORDER BY (at DESC, n ASC)" "$work/dk1.cql" && ok || bad "describe: no clustering order: $(cat "$work/dk1.cql")"
for opt in "    AND comment = 'who''s here'" "    AND gc_grace_seconds = 3600" "    AND default_time_to_live = 86400" \
           "    AND compaction = {'class': 'LeveledCompactionStrategy', 'sstable_size_in_mb': '160'}" \
           ") WITH additional_write_policy = '99p'" "    AND caching = {'keys': 'NONE', 'rows_per_partition': 'ALL'}"; do
  grep -qxF "$opt" "$work/dk1.cql" && ok || bad "describe: no '$opt' in: $(cat "$work/dk1.cql")"
done
for idx in "CREATE INDEX plain_v_idx ON dk.plain (v);" \
           "CREATE CUSTOM INDEX plain_t ON dk.plain (t) USING 'org.apache.cassandra.index.sai.StorageAttachedIndex' WITH OPTIONS = {'case_sensitive': 'false'};"; do
  grep -qxF "$idx" "$work/dk1.cql" && ok || bad "describe: no index '$idx' in: $(cat "$work/dk1.cql")"
done
expect_contains "describe table with index" "CREATE INDEX plain_v_idx ON dk.plain (v);" exec --hosts "$HOSTS" -e "DESCRIBE TABLE dk.plain"
# Doubles as Cassandra's DESCRIBE prints them (Java's Double.toString).
grep -qxF "    AND crc_check_chance = 1.0" "$work/dk1.cql" && ok || bad "describe: crc_check_chance not 1.0: $(grep crc "$work/dk1.cql")"
grep -q "read_repair_chance" "$work/dk1.cql" && bad "describe: an option Cassandra 4+ refuses: $(cat "$work/dk1.cql")" || ok
zip_line=$(grep -n "CREATE TYPE dk.zip" "$work/dk1.cql" | cut -d: -f1 || true)
addr_line=$(grep -n "CREATE TYPE dk.addr" "$work/dk1.cql" | cut -d: -f1 || true)
[ -n "$zip_line" ] && [ -n "$addr_line" ] && [ "$zip_line" -lt "$addr_line" ] && ok || bad "describe: types missing or out of order: $(cat "$work/dk1.cql")"
expect_out "describe type" '
CREATE TYPE dk.addr (
    street text,
    zip frozen<zip>
);' exec --hosts "$HOSTS" -k dk -e "DESCRIBE TYPE addr"
expect_out "drop dk" "" exec --hosts "$HOSTS" -e "DROP TABLE dk.people" -e "DROP TABLE dk.plain" -e "DROP TYPE dk.addr" -e "DROP TYPE dk.zip" -e "DROP KEYSPACE dk"
if "$CQLPP" exec --hosts "$HOSTS" -f "$work/dk1.cql" >/dev/null 2>"$work/err"; then ok; else bad "describe output does not run: $(cat "$work/err")"; fi
"$CQLPP" exec --hosts "$HOSTS" -e "DESCRIBE KEYSPACE dk" >"$work/dk2.cql" 2>&1 || true
cmp -s "$work/dk1.cql" "$work/dk2.cql" && ok || bad "schema not rebuilt the same: $(diff "$work/dk1.cql" "$work/dk2.cql")"
"$CQLPP" exec --hosts "$HOSTS" -e "DESCRIBE SCHEMA" >"$work/schema.cql" 2>&1 || true
grep -q "CREATE TYPE dk.zip" "$work/schema.cql" && ok || bad "describe schema lacks dk: $(cat "$work/schema.cql")"
grep -qE "CREATE (KEYSPACE|TABLE) (system|sim)" "$work/schema.cql" && bad "describe schema has system keyspaces" || ok

# --- the shell on a terminal: Ctrl-C cancels the line being typed, then a running
# query, and the shell goes on; the history is written as statements are entered.
if command -v python3 >/dev/null; then
  cat >"$work/pty2" <<EOF
wait cqlpp>
send INSERT INTO ks.b (id, v) VALUES (98, 'typed')
wait ...
intr
wait cqlpp>
send ;
send SELECT id FROM ks.b WHERE id = 5;
wait (1 rows)
run kill -STOP $sim_pid
send SELECT id FROM ks.b WHERE id = 4;
intr
wait cancelled
wait cqlpp>
run kill -CONT $sim_pid
send SELECT id FROM ks.b WHERE id = 3;
wait (1 rows)
kill
EOF
  timeout 60 python3 "$(dirname "$0")/pty_shell.py" "$CQLPP" "$HOSTS" "$work/hist2" "$work/pty2" >"$work/pty2.out" 2>&1 || true
  kill -CONT "$sim_pid" 2>/dev/null || true
  grep -q "pty_shell: timed out" "$work/pty2.out" && bad "pty Ctrl-C: $(cat "$work/pty2.out")" || ok
  out="$("$CQLPP" exec --hosts "$HOSTS" --format csv -e "SELECT count(*) FROM ks.b WHERE id = 98")"
  [ "$(printf '%s' "$out" | tail -1)" = "0" ] && ok || bad "Ctrl-C ran the cancelled line: $out"
  # libedit's history file encodes blanks (\040): look for the words.
  grep -q "id.*=.*3;" "$work/hist2" 2>/dev/null && ok || bad "history not saved as it goes: $(cat "$work/hist2" 2>&1)"
  grep -q "typed" "$work/hist2" 2>/dev/null && bad "cancelled line in the history" || ok
fi

# --- PAGING N on a terminal pauses after each page with ---MORE--- (cqlsh):
# Enter shows the next page, q or Ctrl-C ends the result there.
if command -v python3 >/dev/null; then
  cat >"$work/pty3" <<'EOF'
wait cqlpp>
send PAGING 10
wait Page size: 10
send SELECT c, v FROM ks.t WHERE k = 2;
wait ---MORE---
send 
wait ---MORE---
send q
wait (20 rows)
send SELECT c, v FROM ks.t WHERE k = 2;
wait ---MORE---
intr
wait (10 rows)
send SELECT c, v FROM ks.t WHERE k = 2 AND c < 5;
wait (4 rows)
send EXIT
EOF
  if timeout 60 python3 "$(dirname "$0")/pty_shell.py" "$CQLPP" "$HOSTS" "$work/hist3" "$work/pty3" >"$work/pty3.out" 2>&1 &&
     python3 - "$work/pty3.out" <<'PYEOF'
import sys
out = open(sys.argv[1]).read().replace("\r\n", "\n")
first = out.index("---MORE---")
assert out.index(" 10 | v10") < first < out.index(" 11 | v11"), "one page, then ---MORE---"
# Each page is a table of its own (cqlsh on a terminal).
assert out.count(" c  | v\n----+-----\n") == 3, out
assert " 21 | v21" not in out, "q stopped the result"
assert out.count("---MORE---") == 3, out
# A single page does not pause.
assert out[out.index("c < 5"):].count("---MORE---") == 0, out
PYEOF
  then ok; else bad "pty paging: $(cat "$work/pty3.out")"; fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

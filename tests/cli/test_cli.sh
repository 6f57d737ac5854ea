#!/usr/bin/env bash
# Drives the cqlpp tool as a user would: expected output, exit status, and
# one clear error line on bad input. Usage: test_cli.sh path/to/cqlpp
set -u
CQLPP="$1"
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect_out EXPECTED ARGS...: exit 0 and stdout exactly EXPECTED.
expect_out() {
  local expected="$1"; shift
  local out rc
  out="$("$CQLPP" "$@" 2>/tmp/cqlpp_cli_err)"; rc=$?
  if [ $rc -ne 0 ]; then bad "cqlpp $* exited $rc: $(cat /tmp/cqlpp_cli_err)"; return; fi
  if [ "$out" != "$expected" ]; then bad "cqlpp $*"$'\n'"  expected: $expected"$'\n'"  got:      $out"; return; fi
  ok
}
# expect_contains NEEDLE ARGS...: exit 0 and NEEDLE somewhere in stdout.
expect_contains() {
  local needle="$1"; shift
  local out rc
  out="$("$CQLPP" "$@" 2>/tmp/cqlpp_cli_err)"; rc=$?
  if [ $rc -ne 0 ]; then bad "cqlpp $* exited $rc: $(cat /tmp/cqlpp_cli_err)"; return; fi
  case "$out" in *"$needle"*) ok ;; *) bad "cqlpp $*: output lacks '$needle':"$'\n'"$out" ;; esac
}
# expect_fail NEEDLE ARGS...: non-zero exit, exactly one stderr line containing NEEDLE.
expect_fail() {
  local needle="$1"; shift
  local err rc lines
  "$CQLPP" "$@" >/dev/null 2>/tmp/cqlpp_cli_err; rc=$?
  err="$(cat /tmp/cqlpp_cli_err)"
  lines=$(printf '%s' "$err" | grep -c '')
  if [ $rc -eq 0 ]; then bad "cqlpp $* should fail"; return; fi
  if [ "$lines" -ne 1 ]; then bad "cqlpp $* should print one error line, printed $lines:"$'\n'"$err"; return; fi
  case "$err" in *"$needle"*) ok ;; *) bad "cqlpp $*: error lacks '$needle': $err" ;; esac
}

# --- token: values from the Murmur3 golden vectors (Cassandra / gocql test suites)
expect_out "-3758069500696749310" token --types text "'hello'"
expect_out "-6017608668500074083" token --types text "'test'"
expect_out "-567416363967733925" token --types int 123456789
expect_out "5616923877423390342" token --types bigint 123456789
expect_out "8849112093580131862" token --types boolean true
expect_out "6739078495667776670" token --types uuid d8775a70-6ea4-11e4-9fa7-0db22d2a6140
expect_out "4466051201071860026" token --types boolean,int,text false 123456789 "'xyz'"
expect_out "4466051201071860026" token --hex 000100000004075bcd1500000378797a00
expect_out "-9223372036854775808" token --hex ""
expect_out "-9223372036854775808" token --types text "''"
expect_fail "2 type(s) but 1 value(s)" token --types int,text 1
expect_fail "cannot read" token --types int "'x'"
expect_fail "not a hex digit 'z' at position 1" token --hex zz
# A bracketed value is one argument (CLI11 splits '[1, 2]' unless told not to).
expect_out "-7321538233726735308" token --types "frozen<list<int>>" "[1, 2]"
expect_out "$("$CQLPP" token --hex 0000000200000004000000010000000400000002)" token --types "frozen<list<int>>" "[1, 2]"
expect_out "$("$CQLPP" token --hex 001400000002000000040000000100000004000000020000040000000300)" token --types "frozen<list<int>>,int" "[1, 2]" 3
expect_out "$("$CQLPP" token --hex fffffffb)" token --types int -5
expect_fail "give --types" token
expect_fail "unknown type 'nope'" token --types nope 1
expect_fail "unknown type 'nope'" token --types "list<nope>" "[1]"
expect_fail "unknown option --bogus" token --types int 1 --bogus
expect_fail "odd number of hex digits (3)" token --hex abc
expect_fail "text literals are quoted" token --types text hello
deep="$(printf 'frozen<list<%.0s' $(seq 3000))int$(printf '>>%.0s' $(seq 3000))"
expect_fail "nested too deeply" token --types "$deep" 1
err_len=$("$CQLPP" token --types "$deep" 1 2>&1 | wc -c)
if [ "$err_len" -lt 300 ]; then ok; else bad "a too deep type is echoed back ($err_len bytes of error)"; fi

# --- encode-value / decode-value: spec examples and vectors
expect_out "0080" wire encode-value --type varint 128
expect_out "ff7fffffff" wire encode-value --type varint -2147483649
expect_out "00000013d5073b2014a291" wire encode-value --type decimal -0.0012095473475870063
expect_out "80000000" wire encode-value --type date "'1970-01-01'"
expect_out "020406" wire encode-value --type duration 1mo2d3ns
expect_out "7f000001" wire encode-value --type inet "'127.0.0.1'"
expect_out "3f80000040200000" wire encode-value --type "vector<float, 2>" "[1.0, 2.5]"
expect_out "0161026263" wire encode-value --type "vector<text, 2>" "['a', 'bc']"
expect_out "0000000400000001ffffffff0000000161" wire encode-value --type "tuple<int, double, text>" "(1, null, 'a')"
expect_out "128" wire decode-value --type varint 0080
expect_out "'1970-01-01'" wire decode-value --type date 80000000
# A null element inside a collection is legal [bytes]: decoded as null (Java/Node drivers do).
expect_out "[null, 0x0002]" wire decode-value --type "list<blob>" 00000002ffffffff000000020002
expect_out "{'a': null}" wire decode-value --type "map<text,text>" 000000010000000161ffffffff
expect_out "'hello'" wire decode-value --type text 68656c6c6f
expect_out "{'a': [1, 2]}" wire decode-value --type "map<text, frozen<list<int>>>" 000000010000000161000000140000000200000004000000010000000400000002
expect_fail "bad_value_size" wire decode-value --type int 0001
expect_fail "malformed type 'list<nosuchtype'" wire decode-value --type "list<nosuchtype" 00
expect_fail "not a hex digit 'x'" wire decode-value --type int xyz
expect_fail "cannot read" wire encode-value --type tinyint 300

# --- decode-envelope / decode-segment
expect_contains "opcode=OPTIONS" wire decode-envelope 050000000500000000
expect_contains "CQL_VERSION" wire decode-envelope 0500000001000000160001000b43514c5f56455253494f4e0005332e302e30
rows=85000001080000005700000002000000030000000200000004cafebabe00036b733100067461626c65310004636f6c3100090004636f6c32000d0000000200000004000000010000000568656c6c6f000000040000000200000005776f726c64
expect_contains "[1] col1=2, col2='world'" wire decode-envelope "$rows"
expect_contains "now_in_seconds: 123" wire decode-segment 22000209c2350500000107000000190000000653454c45435400000000018000036b73310000007b0ce2cba7
expect_contains "compressed 26 -> 100 bytes" wire decode-segment --lz4 1a00c800043ac7d71f0001003a000200000200e000000000000000000000000000003e5270e4
expect_contains "not self-contained" wire decode-segment 0100006f8715010b2b9bba
expect_fail "bad_header_crc" wire decode-segment 04000202f9f2000000011fd6022d
expect_fail "bad_payload_crc" wire decode-segment 04000201f9f2000000011fd6022e
expect_fail "incomplete" wire decode-segment 22000209c235050000
expect_fail "incomplete envelope" wire decode-envelope 0500000005000000
expect_fail "bad_version" wire decode-envelope 070000000500000000
expect_fail "run with --help" wire no-such-command
expect_contains "decode-segment" wire --help
expect_contains "INSERT INTO sim.nodes (node) VALUES (3)" sim --help
expect_contains "DELETE FROM sim.nodes WHERE node = 1" sim --help

# --- option values: one short message, no 300-digit range, nothing accepted silently
expect_fail "--page-size: must be >= 1, not 0" exec --page-size 0 -e "SELECT 1"
expect_fail "--timeout: must be >= 1, not 0" exec --timeout 0 -e "SELECT 1"
expect_fail "--heartbeat: must be >= 0, not -1" exec --heartbeat -1 -e "SELECT 1"
expect_fail "--page-size: must be >= 1, not 0" bulk count -k ks -t t --page-size 0
expect_fail "--page-size: must be >= 1, not -5" bulk count -k ks -t t --page-size -5
expect_fail "--max-retries: must be >= 0, not -1" bulk count -k ks -t t --max-retries -1
expect_fail "--progress: bogus not in" bulk count -k ks -t t --progress bogus
expect_fail "--splits: must be <= 1000000, not 100000000" bulk count -k ks -t t --splits 100000000
expect_fail "--splits: must be >= 0, not -1" bulk count -k ks -t t --splits -1
expect_fail "--batch-rows: must be >= 1, not 0" bulk load -k ks -t t --input x --batch-rows 0
# sim: nothing absurd accepted (each fails before binding any port)
expect_fail "--racks: must be >= 1, not 0" sim --racks 0
expect_fail "--threads: must be >= 1, not 0" sim --threads 0
expect_fail "--threads: must be <= 256, not 100000" sim --threads 100000
expect_fail "--nodes: must be >= 1, not 0" sim --nodes 0
expect_fail "--nodes: must be <= 250, not 1000" sim --nodes 1000
expect_fail "--num-tokens: must be >= 1, not 0" sim --num-tokens 0
expect_fail "--num-tokens: must be <= 4096, not 100000" sim --num-tokens 100000
expect_fail "--racks: must be <= 250, not 251" sim --racks 251
expect_fail "--port: must be <= 65535, not 70000" sim --port 70000
expect_fail "--port: must be >= 0, not -1" sim --port -1
expect_fail "--non-replica-delay-us: must be >= 0, not -1" sim --non-replica-delay-us -1
expect_fail "--dcs: at most 250 nodes in all" sim --dcs a:200,b:200
expect_fail "--dcs: expected NAME:NODES" sim --dcs a:3x
expect_fail "--base-port: 3 nodes from port 65534 go past 65535" sim --base-port 65534
# sim --port 0: each node gets a free port, printed in the banner; exec reaches
# the cluster through the printed contact points. Bounded: the sim is killed here.
sim_out="$(mktemp)"
"$CQLPP" sim --nodes 2 --port 0 >"$sim_out" 2>&1 </dev/null &
sim_pid=$!
contact=""
for _ in $(seq 100); do
  contact="$(sed -n 's/^contact points: //p' "$sim_out")"
  [ -n "$contact" ] && break
  sleep 0.1
done
case "$contact" in
  127.0.0.1:[1-9]*,127.0.0.2:[1-9]*) ok ;;
  *) bad "sim --port 0 printed no free ports: $(cat "$sim_out")" ;;
esac
if [ -n "$contact" ]; then
  expect_contains "release_version" exec --hosts "$contact" --format csv -e "SELECT release_version FROM system.local" </dev/null
fi
kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null
rm -f "$sim_out"
# exec -f with a directory: an error, not a silent success
expect_fail "cannot read .: is a directory" exec -f .

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# cli_errors: every bad input to `chorus` gets a specific error.
#   - bad command lines exit 2 with a one-line reason and the usage;
#   - a runtime failure (cannot bind) exits 1 with a clear message;
#   - in --json mode, bad commands give error events with specific codes and
#     wording, and the node keeps running and exits 0 at end of input.
# Exit 0 pass, 1 fail. Run from the repository root (make test does).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh

T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-cli.XXXXXX") || exit 1
trap 'grp_kill; rm -rf "$T"' EXIT
[ -x "$CHORUS" ] || { echo "cli_errors: $CHORUS not built (run make)"; exit 1; }
failures=0
checks=0

bad() { failures=$((failures + 1)); echo "FAIL: $*"; }

# expect_exit CODE "REASON TEXT" ARGS...: run chorus ARGS with stdin closed.
expect_exit() {
  want=$1 reason=$2; shift 2
  checks=$((checks + 1))
  "$CHORUS" "$@" </dev/null >"$T/out" 2>"$T/err"
  got=$?
  if [ "$got" -ne "$want" ]; then
    bad "chorus $*: exit $got, expected $want ($(head -1 "$T/err"))"
  elif ! grep -q -F -- "$reason" "$T/err" "$T/out"; then
    bad "chorus $*: message lacks '$reason': $(head -1 "$T/err")"
  elif [ "$want" -eq 2 ] && ! grep -q "^usage: chorus" "$T/err"; then
    bad "chorus $*: no usage text on stderr"
  fi
}

L=127.0.0.1:1
# --- command line: exit 2 with usage -------------------------------------
expect_exit 2 "missing command"
expect_exit 2 "unknown command 'frobnicate'" frobnicate
expect_exit 2 "unknown option '--bogus'" server --bogus
expect_exit 0 "usage: chorus COMMAND" --help
expect_exit 0 "usage: chorus peer" peer --help
expect_exit 2 "missing --name" peer
expect_exit 2 "missing --listen" peer --name alice
expect_exit 2 "unknown option '--bogus'" peer --name alice --listen $L --bogus
expect_exit 2 "option --name needs a value" peer --name
expect_exit 2 "unexpected argument 'stray'" peer --name alice --listen $L stray
expect_exit 2 "bad --name 'al ice'" peer --name "al ice" --listen $L
expect_exit 2 "port must be a number from 1 to 65535" peer --name alice --listen 127.0.0.1:99999
expect_exit 2 "port must be a number from 1 to 65535" peer --name alice --listen 127.0.0.1:0
expect_exit 2 "port must be a number from 1 to 65535" peer --name alice --listen 127.0.0.1:http
expect_exit 2 "expected HOST:PORT" peer --name alice --listen 127.0.0.1
expect_exit 2 "in brackets" peer --name alice --listen ::1:9000
expect_exit 2 "missing ']'" peer --name alice --listen "[::1:9000"
expect_exit 2 "cannot resolve" peer --name alice --listen $L --peer bob@no-such-host.invalid:9000
expect_exit 2 "expected NAME@HOST:PORT" peer --name alice --listen $L --peer bob127.0.0.1:9000
expect_exit 2 "missing host" peer --name alice --listen $L --peer bob@:9000
expect_exit 2 "duplicate member name 'bob'" peer --name alice --listen $L \
  --peer bob@127.0.0.1:2 --peer bob@127.0.0.1:3
expect_exit 2 "duplicate member name 'alice' (that is you)" peer --name alice --listen $L \
  --peer alice@127.0.0.1:2
expect_exit 2 "too many members: at most 10" peer --name m0 --listen $L \
  --peer m1@127.0.0.1:2 --peer m2@127.0.0.1:3 --peer m3@127.0.0.1:4 --peer m4@127.0.0.1:5 \
  --peer m5@127.0.0.1:6 --peer m6@127.0.0.1:7 --peer m7@127.0.0.1:8 --peer m8@127.0.0.1:9 \
  --peer m9@127.0.0.1:10 --peer m10@127.0.0.1:11
expect_exit 2 "bad --max-msg '70000'" peer --name alice --listen $L --max-msg 70000
expect_exit 2 "bad --drop '1.5'" peer --name alice --listen $L --drop 1.5
expect_exit 2 "bad --dup 'lots'" peer --name alice --listen $L --dup lots
expect_exit 2 "bad --order 'random'" peer --name alice --listen $L --order random
expect_exit 2 "bad --fd 'slow': expected default, fast or off" peer --name alice --listen $L --fd slow
expect_exit 2 "bad --epoch '0'" peer --name alice --listen $L --epoch 0
expect_exit 2 "bad --log-level 'loud'" peer --name alice --listen $L --log-level loud
expect_exit 2 "--server and --peer exclude each other" peer --name alice --listen $L \
  --server 127.0.0.1:2 --peer bob@127.0.0.1:3
expect_exit 2 "--room needs --server" peer --name alice --listen $L --room lobby
expect_exit 2 "too many servers: at most 4" peer --name alice --listen $L \
  --server 127.0.0.1:2,127.0.0.1:3,127.0.0.1:4,127.0.0.1:5,127.0.0.1:6
expect_exit 2 "bad --room 'a b'" peer --name alice --listen $L --server 127.0.0.1:2 --room "a b"
# --- runtime failures: exit 1 with the reason --------------------------------
expect_exit 1 "cannot open --log" peer --name alice --listen $L --log "$T/no/such/dir/x.log"
FREE=127.0.0.1:$(( 20000 + ($$ * 17) % 30000 ))
expect_exit 1 "cannot read --password-file" peer --name alice --listen $FREE \
  --server 127.0.0.1:2 --password-file "$T/no-such-file"
mkdir -p "$T/pd-bad"
printf 'garbage' >"$T/pd-bad/peer.snap"
expect_exit 1 "not a chorus peer's data file" peer --name alice --listen $FREE --data "$T/pd-bad"
# --data keeps the last epoch: a later boot's is above it, whatever the clock.
epoch_of() { sed -n 's/.*"event":"ready".*"epoch":\([0-9]*\).*/\1/p' "$T/out"; }
checks=$((checks + 1))
"$CHORUS" peer --name alice --listen $FREE --data "$T/pd" --epoch 4000000000 --json \
  --grace-ms 0 </dev/null >"$T/out" 2>"$T/err" && [ "$(epoch_of)" = 4000000000 ] &&
  "$CHORUS" peer --name alice --listen $FREE --data "$T/pd" --json --grace-ms 0 </dev/null \
    >"$T/out" 2>"$T/err" && [ "$(epoch_of)" = 4000000001 ] ||
  bad "--data did not carry the epoch over: $(cat "$T/out" "$T/err" | head -2)"
# --- runtime failure: exit 1 ---------------------------------------------
# 192.0.2.1 (TEST-NET-1) is never a local address: bind must fail.
expect_exit 1 "cannot bind '192.0.2.1:9000'" peer --name alice --listen 192.0.2.1:9000

# --- JSON mode: errors as events -----------------------------------------
# bob is never started: messages to him queue up (and his window fills).
long=$(awk 'BEGIN { for (i = 0; i < 5000; i++) printf "x" }')
small=$(awk 'BEGIN { for (i = 0; i < 64; i++) print "/msg bob window filler " i }')
{
  echo "/msg zed hello"
  printf 'bad \377\376 bytes\n'
  echo "$long"
  echo "/msg bob"
  echo "/msg alice talking to myself"
  echo "/frobnicate now"
  echo "/who"
  echo "/stats"
  echo "$small"
  echo "/msg bob one too many"
  echo "/quit"
} >"$T/cmds"

json_run() {
  port=$(( 20000 + ($$ * 13 + $1) % 30000 ))
  shift
  "$CHORUS" peer --name alice --listen 127.0.0.1:$port --peer bob@127.0.0.1:$((port + 1)) \
    --json --grace-ms 200 "$@" <"$T/cmds" >"$T/json" 2>"$T/jerr"
}
rc=1
for attempt in 1 2 3 4 5; do
  json_run $((attempt * 101)) && { rc=0; break; }
  grep -q "cannot bind" "$T/jerr" || break
done
checks=$((checks + 1))
[ $rc -eq 0 ] || bad "json run exited $rc: $(cat "$T/jerr")"

expect_json() {
  checks=$((checks + 1))
  grep -q -F -- "$1" "$T/json" || bad "json: no line with $1"
}
expect_json '{"event":"ready","name":"alice","epoch":'
expect_json '{"event":"error","code":"CHORUS_ERR_UNKNOWN_USER","message":"unknown user '"'zed'"'"}'
expect_json '{"event":"error","code":"CHORUS_ERR_BAD_UTF8","message":"text is not valid UTF-8"}'
expect_json '{"event":"error","code":"CHORUS_ERR_MSG_TOO_LONG","message":"message is 5000 bytes, the limit is 4096"}'
expect_json '{"event":"error","code":"CLI_USAGE","message":"usage: /msg USER TEXT"}'
expect_json '{"event":"error","code":"CHORUS_ERR_SELF","message":"cannot send a private message to yourself"}'
expect_json '{"event":"error","code":"CLI_UNKNOWN_COMMAND","message":"unknown command '"'/frobnicate'"' (try /help)"}'
expect_json '{"event":"who","members":[{"name":"alice",'
expect_json '"name":"bob","addr":"127.0.0.1:'
expect_json '{"event":"stats","name":"alice",'
expect_json '{"event":"sent","kind":"private","to":"bob","id":1,"text":"window filler 0"}'
expect_json '{"event":"error","code":"CHORUS_ERR_WINDOW_FULL","message":"send window to bob is full, try again"}'
expect_json '{"event":"warning","code":"CLI_UNACKED",'
checks=$((checks + 1))
[ "$(tail -1 "$T/json")" = '{"event":"bye"}' ] || bad "json: last line is not bye: $(tail -1 "$T/json")"
checks=$((checks + 1))
n=$(grep -c '"event":"sent"' "$T/json")
[ "$n" -eq 64 ] || bad "json: $n messages accepted to offline bob, expected the window of 64"
checks=$((checks + 1))
if grep -q '"event":"error"' "$T/json" && ! awk 'index($0, "\"event\":\"error\"") { if (!match($0, /"message":"[^"]+"}$/)) exit 1 }' "$T/json"; then
  bad "json: an error event without a message"
fi

# --max-msg is the limit that is enforced and reported.
printf '12345678901\n' >"$T/cmds"
rc=1
for attempt in 1 2 3 4 5; do
  json_run $((attempt * 211)) --max-msg 10 && { rc=0; break; }
  grep -q "cannot bind" "$T/jerr" || break
done
checks=$((checks + 1))
[ $rc -eq 0 ] || bad "json run (--max-msg 10) exited $rc: $(cat "$T/jerr")"
expect_json '{"event":"error","code":"CHORUS_ERR_MSG_TOO_LONG","message":"message is 11 bytes, the limit is 10"}'

# Junk datagrams are dropped and counted by reason (not a crash): a text
# that is not chorus (bad magic) and one above the 1200-byte limit. Sent
# with bash's /dev/udp when bash exists. Then SIGTERM (SIGINT alike) leaves
# cleanly: bye and exit 0 while the input is still open.
HAVE_BASH=0
command -v bash >/dev/null 2>&1 && HAVE_BASH=1
mkfifo "$T/in"
junk_counted() {
  printf '/stats\n' >&7
  grep '"event":"stats"' "$T/sig" | tail -1 | grep -q '"rx_bad_magic":[1-9]' &&
    grep '"event":"stats"' "$T/sig" | tail -1 | grep -q '"rx_too_big":[1-9]'
}
sig_run() {
  "$CHORUS" peer --name alice --listen 127.0.0.1:$1 --json <"$T/in" >"$T/sig" 2>&1 &
  pid=$!
  exec 7>"$T/in"
  wait_until 10 ready
  if [ $HAVE_BASH = 1 ] && kill -0 $pid 2>/dev/null; then
    bash -c 'printf "not a chorus datagram" >/dev/udp/127.0.0.1/$1
             head -c 1500 /dev/zero | tr "\0" x >/dev/udp/127.0.0.1/$1' bash "$1"
    checks=$((checks + 1))
    wait_until 10 junk_counted || bad "junk datagrams not counted: $(grep stats "$T/sig" | tail -1)"
  fi
  kill -TERM $pid 2>/dev/null
  wait_until 10 eval '! kill -0 $pid 2>/dev/null'
  wait $pid
  rc=$?
  exec 7>&-
}
ready() { grep -q '"event":"ready"' "$T/sig" || ! kill -0 $pid 2>/dev/null; }
for attempt in 1 2 3 4 5; do
  sig_run $(( 20000 + ($$ * 17 + attempt * 307) % 30000 ))
  grep -q "cannot bind" "$T/sig" || break
done
checks=$((checks + 1))
if [ $rc -ne 0 ] || [ "$(tail -1 "$T/sig")" != '{"event":"bye"}' ]; then
  bad "SIGTERM: exit $rc, last line $(tail -1 "$T/sig")"
fi

# A member that left: bob quits; alice sees the view change, /who reports
# bob as left, and a private message to him gets a specific error.
leave_run() {
  GRP_BASE=$1
  GRP_DIR=$T/leave
  GRP_NAMES="alice bob"
  mkdir -p "$GRP_DIR"
  grp_launch alice --fd fast
  grp_launch bob --fd fast
  wait_until 10 grp_settled
}
bob_gone() { grep -q '"event":"view","view":2,"reason":"leave","member":"bob"' "$T/leave/alice.out"; }
who_done() { grep -q '"event":"who"' "$T/leave/alice.out"; }
for attempt in 1 2 3 4 5; do
  leave_run $(( 20000 + ($$ * 19 + attempt * 401) % 30000 ))
  grp_has_ready alice && grp_has_ready bob && break
  grp_kill
done
checks=$((checks + 1))
grp_send bob "/quit"
if wait_until 10 bob_gone; then
  grp_send alice "/msg bob are you still there" "/who"
  wait_until 10 who_done
  A=$T/leave/alice.out
  for want in '{"event":"error","code":"CHORUS_ERR_UNKNOWN_USER","message":"cannot send to bob: bob left the room (view 2)"}' \
              '"name":"bob","addr":"127.0.0.1:' '"state":"left","removed_in_view":2}' \
              '"name":"alice","addr":"127.0.0.1:' '"self":true,"contacted":true,"state":"in_view"}' \
              '],"view":2}'; do
    checks=$((checks + 1))
    grep -q -F -- "$want" "$A" || bad "leave: alice's transcript lacks $want"
  done
else
  bad "leave: alice did not see bob leave: $(cat "$T/leave/alice.out")"
fi
grp_close alice bob
grp_wait_exit 15 || bad "leave: a peer did not exit with status 0"
grp_kill

# The same in the human format: the view change and /who read as text.
human_run() {
  p=$1
  mkfifo "$T/h_alice.in"
  "$CHORUS" peer --name alice --listen 127.0.0.1:$p --peer bob@127.0.0.1:$((p + 1)) --fd fast \
    <"$T/h_alice.in" >"$T/h_alice.out" 2>&1 &
  hpid=$!
  exec 8>"$T/h_alice.in"
  printf 'hello\n/quit\n' | "$CHORUS" peer --name bob --listen 127.0.0.1:$((p + 1)) \
    --peer alice@127.0.0.1:$p --fd fast >"$T/h_bob.out" 2>&1
}
h_left() { grep -q -x -F -- "-- bob left (view 2: alice)" "$T/h_alice.out"; }
h_who() { grep -q -F -- " left (removed in view 2)" "$T/h_alice.out"; }
for attempt in 1 2 3 4 5; do
  rm -f "$T/h_alice.in"
  human_run $(( 20000 + ($$ * 23 + attempt * 503) % 30000 ))
  grep -q "cannot bind" "$T/h_alice.out" "$T/h_bob.out" || break
  exec 8>&-
  wait $hpid
done
checks=$((checks + 1))
if wait_until 10 h_left; then
  printf '/who\n' >&8
  checks=$((checks + 1))
  wait_until 10 h_who || bad "human: /who does not show bob as left: $(cat "$T/h_alice.out")"
else
  bad "human: no '-- bob left (view 2: alice)' line: $(cat "$T/h_alice.out")"
fi
exec 8>&-
wait $hpid

if [ $failures -eq 0 ]; then
  echo "cli_errors: PASS ($checks checks)"
  exit 0
fi
echo "cli_errors: FAIL ($failures of $checks checks failed)"
exit 1

#!/bin/sh
# server_basic: the real `chorus server` over loopback UDP, driven by
# tests/integration/srvclient.c (built here with the Makefile's flags):
#   - sign-up, duplicate sign-up, bad name, login, wrong password, unknown
#     user, lock-out and its end, list with wildcards, rooms (create, join,
#     list, members with peer addresses), the 11th join gets "room full",
#     delete, another protocol version, no session;
#   - kill -9, restart: every acknowledged change is still there (accounts,
#     rooms, members), deletions stay deleted; restored members and idle
#     sessions expire after one lease;
#   - kill -9 in the middle of a stream of sign-ups: every acknowledged
#     sign-up survives;
#   - 30 % datagram loss at the client: every request executed exactly once;
#   - junk datagrams are counted, a corrupt or truncated snapshot stops the
#     server with a clear error (exit 1), a data directory in use is
#     refused, SIGTERM and SIGINT exit 0, a bad --cluster use exits 2.
# Exit 0 pass, 1 fail. Run from the repository root (make test does).
# Waits for conditions under deadlines, never fixed sleeps.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh

T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-server.XXXXXX") || exit 1
SRV_PID=
SC_PID=
cleanup() {
  [ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null
  [ -n "$SC_PID" ] && kill -9 "$SC_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
[ -x "$CHORUS" ] || { echo "server_basic: $CHORUS not built (run make)"; exit 1; }
failures=0
checks=0
bad() { failures=$((failures + 1)); echo "FAIL: $*"; }

# ---- the client ----------------------------------------------------------
. tests/integration/lib/srvclient.sh
srvclient_build "$T/srvclient" || { echo "server_basic: cannot build srvclient"; exit 1; }

# ---- the server ------------------------------------------------------------
PORT=
srv_ready() { grep -q "listening on" "$T/srv.log" 2>/dev/null || ! kill -0 "$SRV_PID" 2>/dev/null; }

# srv_launch ARGS...: start on $PORT with the data directory $T/data.
srv_launch() {
  rm -f "$T/srv.log" # else srv_ready may read the last run's "listening on"
  "$CHORUS" server --listen "127.0.0.1:$PORT" --data "$T/data" --iterations 1000 "$@" \
    >"$T/srv.log" 2>"$T/srv.err" &
  SRV_PID=$!
  wait_until 20 srv_ready
  kill -0 "$SRV_PID" 2>/dev/null
}

# srv_start ARGS...: pick a free port (retrying when it is taken) and start.
srv_start() {
  for attempt in 1 2 3 4 5 6; do
    PORT=$(( 20000 + ($$ * 7 + attempt * 1031) % 30000 ))
    srv_launch "$@" && return 0
    wait "$SRV_PID" 2>/dev/null
    grep -q "cannot bind" "$T/srv.err" || break
  done
  echo "server_basic: the server did not start: $(cat "$T/srv.err")"
  exit 1
}

# srv_stop SIGNAL: stop it, wait, return its exit status.
srv_stop() {
  kill "-$1" "$SRV_PID" 2>/dev/null
  wait "$SRV_PID"
  _rc=$?
  SRV_PID=
  return $_rc
}

# sc CMD...: one srvclient process, one command per argument.
sc() { printf '%s\n' "$@" | "$T/srvclient" --server "127.0.0.1:$PORT" --timeout-ms 5000; }

# expect "WHAT" "EXPECTED LINES" "ACTUAL LINES"
expect() {
  checks=$((checks + 1))
  [ "$2" = "$3" ] || bad "$1: expected
$2
got
$3"
}

# ---- accounts, lock-out, listing, rooms ------------------------------------
srv_start --lockout-s 1
out=$(sc "signup alice pw-a" "signup alice other" "signup bad*name x" "login alice wrong" \
  "login nobody x" "login alice pw-a 127.0.0.1:9001" "signup bob pw-b" "signup alan pw" \
  "signup carol pw-c" "users alice a*" "users alice ?ob" "users alice *" "create alice lobby" \
  "create alice lobby" "join alice lobby" "rooms alice" "join alice nowhere" "badversion 2" \
  "keepalive nobody")
expect "accounts and rooms" "OK
ERR CHORUS_SRV_NAME_TAKEN name taken detail=0
ERR CHORUS_SRV_BAD_NAME bad name: use 1-31 of A-Z a-z 0-9 _ . - detail=0
ERR CHORUS_SRV_WRONG_PASSWORD wrong password detail=0
ERR CHORUS_SRV_UNKNOWN_USER unknown user detail=0
OK lease=30000 room=-
OK
OK
OK
OK total=2 alan alice*
OK total=1 bob
OK total=4 alan alice* bob carol
OK
ERR CHORUS_SRV_ROOM_EXISTS room already exists detail=0
OK room=lobby count=1 alice@127.0.0.1:9001*
OK total=1 lobby:1
ERR CHORUS_SRV_NO_SUCH_ROOM no such room detail=0
ERR CHORUS_SRV_BAD_VERSION unsupported protocol version detail=1
ERR CHORUS_SRV_NOT_LOGGED_IN not logged in (no session, or it expired) detail=0" "$out"

# Ten members; the 11th join is refused. Everybody keeps its session (one
# client process), alice is already in.
cmds=
want=
members="alice@127.0.0.1:9001*"
for i in 1 2 3 4 5 6 7 8 9 10; do
  u=$(printf 'u%02d' "$i")
  cmds="$cmds
signup $u pw
login $u pw 127.0.0.1:$((9100 + i))
join $u lobby"
  members="$members $u@127.0.0.1:$((9100 + i))*"
  if [ "$i" -le 9 ]; then
    want="$want
OK
OK lease=30000 room=-
OK room=lobby count=$((i + 1)) $members"
  else
    want="$want
OK
OK lease=30000 room=-
ERR CHORUS_SRV_ROOM_FULL room full detail=10"
  fi
done
out=$(printf '%s\n' "$cmds" | sed '/^$/d' | "$T/srvclient" --server "127.0.0.1:$PORT" --timeout-ms 5000)
expect "ten members, the 11th is refused" "$(printf '%s\n' "$want" | sed '/^$/d')" "$out"

# Lock-out after 5 wrong passwords; the right one is refused until it ends.
out=$(sc "signup dave pw-d" "login dave x1" "login dave x2" "login dave x3" "login dave x4" \
  "login dave x5" "login dave pw-d")
expect "lock-out" "OK
ERR CHORUS_SRV_WRONG_PASSWORD wrong password detail=0
ERR CHORUS_SRV_WRONG_PASSWORD wrong password detail=0
ERR CHORUS_SRV_WRONG_PASSWORD wrong password detail=0
ERR CHORUS_SRV_WRONG_PASSWORD wrong password detail=0" "$(echo "$out" | head -5)"
checks=$((checks + 1))
echo "$out" | sed -n 6,7p | grep -c "^ERR CHORUS_SRV_LOCKED_OUT too many failed logins" |
  grep -q '^2$' || bad "lock-out: $(echo "$out" | sed -n 6,7p)"
dave_back() { sc "login dave pw-d" | grep -q '^OK'; }
checks=$((checks + 1))
wait_until 15 dave_back || bad "dave is still locked out"

# Delete: only with the right password.
out=$(sc "login carol pw-c" "delete carol nope" "delete carol pw-c" "login carol pw-c")
expect "delete" "OK lease=30000 room=-
ERR CHORUS_SRV_WRONG_PASSWORD wrong password detail=0
OK
ERR CHORUS_SRV_UNKNOWN_USER unknown user detail=0" "$out"
for w in "signup alice" "login alice" "login-failed dave (wrong password, 1 in a row)" \
  "locked-out dave for 1.0 s" "room-create lobby by alice" "join u09 lobby (10 in the room)" \
  "delete carol"; do
  checks=$((checks + 1))
  grep -q "^server: $w" "$T/srv.log" || bad "log lacks 'server: $w'"
done
checks=$((checks + 1))
grep -q -e "pw-a" -e "pw-c" "$T/srv.log" "$T/srv.err" && bad "a password appears in the log"

# ---- kill -9 and restart: every acknowledged change survives ---------------
cp "$T/data/server.snap" "$T/good.snap"
srv_stop KILL
srv_launch --lease-s 1 || { echo "server_basic: restart failed: $(cat "$T/srv.err")"; exit 1; }
checks=$((checks + 1))
grep -q "loaded .*: 14 accounts, 1 rooms" "$T/srv.log" || bad "restart: $(head -2 "$T/srv.log")"
out=$(sc "signup alice again" "login carol pw-c" "login alice pw-a 127.0.0.1:9001" "rooms alice" \
  "users alice u1*")
expect "after kill -9" "ERR CHORUS_SRV_NAME_TAKEN name taken detail=0
ERR CHORUS_SRV_UNKNOWN_USER unknown user detail=0
OK lease=1000 room=lobby
OK total=1 lobby:10
OK total=1 u10" "$out"
# restored members (no session) keep their place for one lease, then leave
out=$(sc "signup eve pw-e" "login eve pw-e" "members eve lobby")
checks=$((checks + 1))
echo "$out" | tail -1 | grep -q "^OK room=lobby count=10 alice@127.0.0.1:9001\* u01@127.0.0.1:9101 " ||
  bad "restored members: $out"
lobby_empty() { sc "login eve pw-e" "members eve lobby" | tail -1 | grep -q "count=0$"; }
checks=$((checks + 1))
wait_until 15 lobby_empty || bad "restored members did not expire: $(sc "login eve pw-e" "members eve lobby")"
checks=$((checks + 1))
grep -q "^server: expired alice (session lease ran out)" "$T/srv.log" || bad "no expiry of alice in the log"
checks=$((checks + 1))
grep -q "^server: leave u05 lobby" "$T/srv.log" || bad "no leave of restored u05 in the log"

# ---- kill -9 during a stream of sign-ups -----------------------------------
i=1
: >"$T/stream.in"
while [ $i -le 400 ]; do echo "signup s$i pw" >>"$T/stream.in"; i=$((i + 1)); done
"$T/srvclient" --server "127.0.0.1:$PORT" --timeout-ms 1000 <"$T/stream.in" >"$T/stream.out" &
SC_PID=$!
some_acked() { [ "$(grep -c '^OK' "$T/stream.out")" -ge 40 ] || ! kill -0 "$SC_PID" 2>/dev/null; }
wait_until 60 some_acked
srv_stop KILL
kill -9 "$SC_PID" 2>/dev/null
wait "$SC_PID" 2>/dev/null
SC_PID=
acked=$(awk '$1 == "OK" { print "login s" NR " pw" }' "$T/stream.out")
n_acked=$(echo "$acked" | grep -c login)
srv_launch || { echo "server_basic: restart failed: $(cat "$T/srv.err")"; exit 1; }
checks=$((checks + 1))
[ "$n_acked" -ge 40 ] || bad "only $n_acked sign-ups acknowledged before the kill"
n_ok=$(echo "$acked" | "$T/srvclient" --server "127.0.0.1:$PORT" --timeout-ms 5000 | grep -c '^OK')
checks=$((checks + 1))
[ "$n_ok" -eq "$n_acked" ] || bad "kill -9: $n_acked sign-ups acknowledged, $n_ok survived"

# ---- datagram loss: retransmissions, each request executed once ------------
: >"$T/lossy.in"
i=1
while [ $i -le 30 ]; do echo "signup l$i pw" >>"$T/lossy.in"; i=$((i + 1)); done
echo "login l1 pw" >>"$T/lossy.in"
echo "users l1 l*" >>"$T/lossy.in"
out=$("$T/srvclient" --server "127.0.0.1:$PORT" --timeout-ms 30000 --loss 0.3 --seed 5 <"$T/lossy.in")
checks=$((checks + 1))
[ "$(echo "$out" | grep -c '^OK$')" -eq 30 ] || bad "lossy sign-ups: $(echo "$out" | grep -v '^OK$')"
checks=$((checks + 1))
echo "$out" | tail -1 | grep -q "^OK total=30 " || bad "lossy listing: $(echo "$out" | tail -1)"

# ---- bad input, bad data, signals -------------------------------------------
if command -v bash >/dev/null 2>&1; then
  bash -c 'printf "not a chorus datagram" >/dev/udp/127.0.0.1/$1
           head -c 1500 /dev/zero | tr "\0" x >/dev/udp/127.0.0.1/$1' bash "$PORT"
fi
expect "still serving after junk" "OK lease=30000 room=-" "$(sc "login alice pw-a")"
srv_stop TERM
rc=$?
checks=$((checks + 1))
[ $rc -eq 0 ] || bad "SIGTERM: exit $rc"
checks=$((checks + 1))
grep -q "^server: stopped: .* requests" "$T/srv.log" || bad "no stop line: $(tail -1 "$T/srv.log")"
if command -v bash >/dev/null 2>&1; then
  checks=$((checks + 1))
  grep -q "^server: stopped: .*, [1-9][0-9]* rejected" "$T/srv.log" || bad "junk not counted: $(tail -1 "$T/srv.log")"
fi

# SIGINT, and a data directory in use by another server
srv_launch || { echo "server_basic: restart failed"; exit 1; }
"$CHORUS" server --listen "127.0.0.1:$((PORT + 1))" --data "$T/data" >"$T/second.out" 2>"$T/second.err"
rc=$?
checks=$((checks + 1))
[ $rc -eq 1 ] && grep -q "in use by another chorus server" "$T/second.err" ||
  bad "second server on the same data: exit $rc, $(cat "$T/second.err")"
srv_stop INT
rc=$?
checks=$((checks + 1))
[ $rc -eq 0 ] || bad "SIGINT: exit $rc"

# corrupt and truncated snapshots stop the server at start (exit 1)
cp "$T/good.snap" "$T/data/server.snap"
printf 'Z' | dd of="$T/data/server.snap" bs=1 seek=100 conv=notrunc 2>/dev/null
"$CHORUS" server --listen "127.0.0.1:$PORT" --data "$T/data" >"$T/c.out" 2>"$T/c.err"
rc=$?
checks=$((checks + 1))
[ $rc -eq 1 ] && grep -q "corrupt data directory .*checksum mismatch" "$T/c.err" ||
  bad "corrupt snapshot: exit $rc, $(cat "$T/c.err")"
head -c 200 "$T/good.snap" >"$T/data/server.snap"
"$CHORUS" server --listen "127.0.0.1:$PORT" --data "$T/data" >"$T/c.out" 2>"$T/c.err"
rc=$?
checks=$((checks + 1))
[ $rc -eq 1 ] && grep -q "truncated" "$T/c.err" || bad "truncated snapshot: exit $rc, $(cat "$T/c.err")"
printf 'hello' >"$T/data/server.snap"
"$CHORUS" server --listen "127.0.0.1:$PORT" --data "$T/data" >"$T/c.out" 2>"$T/c.err"
rc=$?
checks=$((checks + 1))
[ $rc -eq 1 ] && grep -q "not a chorus server snapshot" "$T/c.err" || bad "foreign file: exit $rc, $(cat "$T/c.err")"

# command line and --cluster
printf '# replicas\ns1 127.0.0.1 7700 7800 30\ns2 127.0.0.1 7701 7801 20\n' >"$T/cluster"
printf 's1 127.0.0.1 7700 7800 30\ns2 127.0.0.1 7700 7801 20\n' >"$T/cluster.bad"
expect_exit() {
  want=$1 text=$2; shift 2
  "$CHORUS" server "$@" </dev/null >"$T/x.out" 2>"$T/x.err"
  got=$?
  checks=$((checks + 1))
  if [ $got -ne "$want" ] || ! grep -q -F -- "$text" "$T/x.out" "$T/x.err"; then
    bad "chorus server $*: exit $got (want $want), $(head -1 "$T/x.err")"
  fi
}
expect_exit 0 "usage: chorus server" --help
expect_exit 2 "unknown option '--bogus'" --bogus
expect_exit 2 "bad --iterations '0'" --iterations 0
expect_exit 2 "port must be a number from 1 to 65535" --listen 127.0.0.1:0
expect_exit 2 "--cluster needs --data DIR" --cluster "$T/cluster" --id s2
expect_exit 2 "line 2: duplicate address" --cluster "$T/cluster.bad" --id s1
expect_exit 2 "--id 's9' is not in cluster file" --cluster "$T/cluster" --id s9
expect_exit 2 "--cluster needs --id" --cluster "$T/cluster"
expect_exit 1 "cannot bind '192.0.2.1:7700'" --listen 192.0.2.1:7700

if [ $failures -eq 0 ]; then
  echo "server_basic: PASS ($checks checks)"
  exit 0
fi
echo "server_basic: FAIL ($failures of $checks checks failed)"
exit 1

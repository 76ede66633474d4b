#!/bin/sh
# valgrind_server_peers: a chorus server and three `chorus peer --server` on
# loopback; alice runs under valgrind memcheck through the server paths:
# login, join, the watcher naming newcomers, /rooms, /users, a private
# message to an offline user (stored on the server) and to an unknown one,
# /history, /join to another room and back, /leave, and the exit. Passes if alice
# exits 0 (memcheck found no error and no definite/indirect leak), the
# offline message reaches its user at login, and the transcripts check.
# Called by tests/run_all.sh in its valgrind section. Exit 0 pass, 1 fail.
set -u
cd "$(dirname "$0")/../../.." || exit 1
. tests/integration/lib/peers.sh
. tests/integration/lib/server.sh

command -v valgrind >/dev/null 2>&1 || { echo "valgrind_server_peers: valgrind not installed"; exit 1; }
[ -x "$CHORUS" ] || { echo "valgrind_server_peers: $CHORUS not built (run make)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-vgsrv.XXXXXX") || exit 1
zoe_hold=
trap 'grp_kill; srv_kill; [ -n "$zoe_hold" ] && kill "$zoe_hold" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
GRP_READY_TIMEOUT=60
GRP_WRAP_NAME=alice
GRP_WRAP_CMD="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --log-file=$T/valgrind.log"
ok=1
bad() { echo "valgrind_server_peers: FAIL: $*"; ok=0; }

srv_start "$T/server" || exit 1
mkdir -p "$T/g"
echo "vg password" >"$T/g/pw"
# zoe has an account and is in no room: she gets alice's message later.
# (Her first login, with no input, only creates the account.)
ZOE_PORT=$(( 20000 + ($$ * 31) % 30000 ))
"$CHORUS" peer --name zoe --listen "127.0.0.1:$ZOE_PORT" --server "$GRP_SERVER" \
  --password-file "$T/g/pw" --room elsewhere </dev/null >"$T/zoe0.out" 2>&1
grp_start "$T/g" "alice bob carol" --fd fast || exit 1
wait_until 60 grp_all_in_view 3 || bad "the three did not join one view"
has() { grep -q -F -- "$2" "$GRP_DIR/$1.out"; }
grp_send alice "hello from valgrind" "/rooms" "/users *" "/msg zoe waits for you" "/msg nobody hi"
wait_until 60 has alice '"what":"stored"' || bad "alice's message for zoe was not stored"
wait_until 60 has alice '"event":"users"' || bad "no /users answer"
wait_until 60 has carol '"text":"hello from valgrind"}' || bad "carol did not hear alice"
grp_send bob "bob was here"
wait_until 60 has alice '"text":"bob was here"}' || bad "alice did not hear bob"
grp_send alice "/history 2"
wait_until 60 has alice '"event":"recent_end","count":2}' || bad "no /history answer"
grep '"event":"recent"' "$GRP_DIR/alice.out" | tail -1 | grep -q '"text":"bob was here"' ||
  bad "/history does not end with bob's message"
grp_send alice "/join other" "/leave" "/join lobby"
joined_again() { [ "$(grep -c '"what":"join"' "$GRP_DIR/alice.out")" -ge 3 ]; }
wait_until 60 joined_again || bad "alice did not come back to lobby"
wait_until 60 grp_all_in_view 3 || bad "alice was not admitted again"
grp_close alice bob carol
grp_wait_exit 90 || ok=0
mkfifo "$T/zoe.in"
"$CHORUS" peer --name zoe --listen "127.0.0.1:$ZOE_PORT" --server "$GRP_SERVER" \
  --password-file "$T/g/pw" --room elsewhere --json <"$T/zoe.in" >"$T/zoe.out" 2>&1 &
zoe=$!
sleep 100000 >"$T/zoe.in" &
zoe_hold=$!
wait_until 30 grep -q '"offline":true' "$T/zoe.out" || bad "zoe did not get alice's offline message"
kill "$zoe_hold" 2>/dev/null
wait "$zoe" 2>/dev/null || bad "zoe exited with status $?"
if [ -s "$T/valgrind.log" ]; then
  echo "valgrind_server_peers: memcheck reported:"
  cat "$T/valgrind.log"
  ok=0
fi
if [ $ok = 1 ]; then
  echo "valgrind_server_peers: PASS (alice under memcheck: no errors, no leaks)"
  exit 0
fi
KEEP=1
echo "valgrind_server_peers: FAIL (files kept in $T)"
exit 1

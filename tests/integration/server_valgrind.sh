#!/bin/sh
# server_valgrind: `chorus server` under valgrind memcheck (zero errors,
# zero definite or indirect leaks): a short session of every request kind,
# malformed datagrams, a restart that loads the snapshot, a refused corrupt
# snapshot, and a SIGTERM stop. Skipped (exit 0, with a message) when
# valgrind is not installed. Exit 0 pass, 1 fail. Run from the repository
# root. Waits for conditions under deadlines, never fixed sleeps.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh

if ! command -v valgrind >/dev/null 2>&1; then
  echo "server_valgrind: SKIP (valgrind is not installed)"
  exit 0
fi
[ -x "$CHORUS" ] || { echo "server_valgrind: $CHORUS not built (run make)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-srvvg.XXXXXX") || exit 1
SRV_PID=
trap '[ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null; rm -rf "$T"' EXIT
VG="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect"
failures=0
checks=0
bad() { failures=$((failures + 1)); echo "FAIL: $*"; }

. tests/integration/lib/srvclient.sh
srvclient_build "$T/srvclient" || { echo "server_valgrind: cannot build srvclient"; exit 1; }

PORT=
srv_ready() { grep -q "listening on" "$T/srv.log" 2>/dev/null || ! kill -0 "$SRV_PID" 2>/dev/null; }
srv_start() {
  for attempt in 1 2 3 4 5 6; do
    PORT=$(( 20000 + ($$ * 11 + attempt * 1709) % 30000 ))
    rm -f "$T/srv.log" # else srv_ready may read the last run's "listening on"
    # shellcheck disable=SC2086
    $VG "$CHORUS" server --listen "127.0.0.1:$PORT" --data "$T/data" --iterations 100 \
      >"$T/srv.log" 2>"$T/srv.err" &
    SRV_PID=$!
    wait_until 60 srv_ready
    kill -0 "$SRV_PID" 2>/dev/null && return 0
    wait "$SRV_PID" 2>/dev/null
    grep -q "cannot bind" "$T/srv.err" || break
  done
  echo "server_valgrind: the server did not start: $(cat "$T/srv.err")"
  exit 1
}
srv_stop() {
  kill -TERM "$SRV_PID"
  wait "$SRV_PID"
  rc=$?
  SRV_PID=
  checks=$((checks + 1))
  [ $rc -eq 0 ] || bad "$1: exit $rc under valgrind: $(tail -20 "$T/srv.err")"
}
sc() { printf '%s\n' "$@" | "$T/srvclient" --server "127.0.0.1:$PORT" --timeout-ms 20000; }

srv_start
out=$(sc "signup alice pw" "signup alice pw2" "login alice bad" "login alice pw 127.0.0.1:9001" \
  "signup bob pw" "login bob pw 127.0.0.1:9002" "create alice lobby" "join alice lobby" \
  "join bob kitchen create" "join bob lobby" "members alice lobby" "rooms alice" "users alice *" \
  "setaddr bob 127.0.0.1:9003" "keepalive alice" "leave bob" "logout bob" "delete alice bad" \
  "badversion 3" "keepalive nobody")
checks=$((checks + 1))
[ "$(echo "$out" | grep -c '^OK')" -eq 15 ] || bad "session: $out"
if command -v bash >/dev/null 2>&1; then
  bash -c 'printf "junk" >/dev/udp/127.0.0.1/$1
           head -c 1500 /dev/zero | tr "\0" x >/dev/udp/127.0.0.1/$1
           printf "CS\001\177\000\000\000\001" >/dev/udp/127.0.0.1/$1' bash "$PORT"
fi
checks=$((checks + 1))
sc "login alice pw" | grep -q '^OK' || bad "not serving after junk"
srv_stop "first run"

srv_start
checks=$((checks + 1))
grep -q "loaded .*: 2 accounts, 2 rooms" "$T/srv.log" || bad "restart: $(cat "$T/srv.log")"
out=$(sc "login alice pw" "delete alice pw" "login bob pw" "rooms bob")
checks=$((checks + 1))
[ "$out" = "OK lease=30000 room=lobby
OK
OK lease=30000 room=-
OK total=2 kitchen:0 lobby:0" ] || bad "after restart: $out"
srv_stop "second run"

printf 'Z' | dd of="$T/data/server.snap" bs=1 seek=40 conv=notrunc 2>/dev/null
# shellcheck disable=SC2086
$VG "$CHORUS" server --listen "127.0.0.1:$PORT" --data "$T/data" >"$T/c.out" 2>"$T/c.err"
rc=$?
checks=$((checks + 1))
[ $rc -eq 1 ] && grep -q "corrupt data directory" "$T/c.err" &&
  ! grep -q -e "definitely lost" -e "Invalid" "$T/c.err" || bad "corrupt snapshot: exit $rc, $(cat "$T/c.err")"

if [ $failures -eq 0 ]; then
  echo "server_valgrind: PASS ($checks checks)"
  exit 0
fi
echo "server_valgrind: FAIL ($failures of $checks checks failed)"
exit 1

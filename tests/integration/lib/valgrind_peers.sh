#!/bin/sh
# valgrind_peers: three real peers on loopback with 10 % injected loss; alice
# runs under valgrind memcheck. carol is killed (kill -9) and the failure
# detector (default profile) removes her; alice and bob then exchange room
# and private messages, alice tries a private message to carol (refused:
# she is out of the view) and asks /who and /stats, then both close stdin
# (the leave-and-exit path). Passes if alice exits 0 (so memcheck found no
# error and no definite/indirect leak) and the transcripts check.
# Called by tests/run_all.sh in its valgrind section (not an ordinary
# integration step, hence its place in lib/). Exit 0 pass, 1 fail.
set -u
cd "$(dirname "$0")/../../.." || exit 1
. tests/integration/lib/peers.sh

command -v valgrind >/dev/null 2>&1 || { echo "valgrind_peers: valgrind not installed"; exit 1; }
[ -x "$CHORUS" ] || { echo "valgrind_peers: $CHORUS not built (run make)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-vgpeers.XXXXXX") || exit 1
trap 'grp_kill; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
GRP_READY_TIMEOUT=60
GRP_WRAP_NAME=alice
GRP_WRAP_CMD="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --log-file=$T/valgrind.log"

grp_start "$T" "alice bob carol" --drop 0.1 --dup 0.05 --delay-ms 3 || exit 1
command -v ps >/dev/null 2>&1 && echo "valgrind_peers: alice runs as $(ps -p "$(cat "$T/alice.pid")" -o comm=)"
ok=1
carol_up() { for n in alice bob; do grep -q '"peer_up","name":"carol"' "$T/$n.out" || return 1; done; }
carol_gone() {
  for n in alice bob; do grep -q '"event":"view",.*"reason":"crash","member":"carol"' "$T/$n.out" || return 1; done
}
wait_until 60 carol_up || { echo "valgrind_peers: carol was never contacted"; ok=0; }
grp_crash carol
wait_until 60 carol_gone || { echo "valgrind_peers: carol's crash was not detected"; ok=0; }
for n in alice bob; do
  other=bob; [ $n = bob ] && other=alice
  awk -v me=$n -v o=$other 'BEGIN { for (k = 1; k <= 10; k++) { print "room " me " " k
      if (k % 3 == 0) print "/msg " o " private " me " " k }
    print "/who"; print "/stats"; print "/msg zed nobody"; print "/msg carol gone" }' >"$T/$n.cmds"
  grp_send_file $n "$T/$n.cmds" || exit 1
done
# 20 room messages (own included) and 3 private ones each.
done2() {
  for n in alice bob; do [ "$(grp_count $n '"event":"msg"')" -ge 23 ] || return 1; done
}
wait_until 120 done2 || { echo "valgrind_peers: not all messages delivered"; ok=0; }
grp_close alice bob
grp_wait_exit 60 || ok=0
grep -q '"message":"cannot send to carol: carol crashed and was removed from the room' "$T/alice.out" ||
  { echo "valgrind_peers: no specific error for a message to carol"; ok=0; }
awk -v need_bye=1 -v allow_errors=1 -v crashed=carol -f tests/integration/lib/check.awk "$T"/*.out || ok=0
if [ -s "$T/valgrind.log" ]; then
  echo "valgrind_peers: memcheck reported:"
  cat "$T/valgrind.log"
  ok=0
fi
if [ $ok = 1 ]; then
  echo "valgrind_peers: PASS (alice under memcheck: no errors, no leaks)"
  exit 0
fi
KEEP=1
echo "valgrind_peers: FAIL (files kept in $T)"
exit 1

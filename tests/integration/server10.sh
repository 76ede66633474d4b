#!/bin/sh
# server10: a real `chorus server` and ten real `chorus peer --server` on
# loopback, the peers finding each other through the server (--fd fast):
#
#   1. the ten log in (accounts created on first use), join room "lobby"
#      one after the other and each is admitted by a view change; they chat;
#   2. dave is killed with kill -9: every survivor removes him within
#      DETECT_BOUND_MS; the others chat while he is away;
#   3. dave restarts (same name and port, a new epoch): the server still
#      holds his seat, the group admits him, and he catches up every room
#      message he missed, marked as history, then chats live;
#   4. an eleventh peer (zoe) is refused with "room full" and exits 1;
#   5. the server is stopped: every peer warns that no server answers and
#      the ten keep chatting; a newcomer's login fails with "no server
#      answers" (exit 1);
#   6. the server comes back on the same data: every peer registers again
#      by itself; they chat once more and close their input;
#   7. alice's three private messages to zoe (who has an account but is in
#      no room), stored before the server stopped, reach zoe when she logs
#      in later: each once, in order.
#
# Checked besides: every round reaches every member (FIFO, the last of each
# sender implies the others); the nine peers that stayed up delivered the
# same room messages in one order, nothing lost or duplicated
# (tests/integration/lib/check.awk, dave's messages excluded as he has two
# transcripts); no other view change than dave's crash and joins; every
# peer exits 0. Waits are on conditions with deadlines, never fixed sleeps.
# Exit 0 pass, 1 fail. Run from the repository root (make test does).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh
. tests/integration/lib/rounds.sh
. tests/integration/lib/server.sh

TEST_NAME=server10
DETECT_BOUND_MS=${DETECT_BOUND_MS:-5000}
STEP=${STEP:-30}
ROUND_MSGS=3
T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-server10.XXXXXX") || exit 1
trap 'grp_kill; srv_kill; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

[ -x "$CHORUS" ] || { echo "server10: $CHORUS not built (run make)"; exit 1; }
ALL=$(grp_names "${N:-10}")
ok=1
bad() { echo "server10: FAIL: $*"; ok=0; }

# ---- the server -------------------------------------------------------------
srv_start "$T" || exit 1
mkdir -p "$T/g"
echo "correct horse" >"$T/g/pw"

# ---- helpers ----------------------------------------------------------------
grp_opts() { echo "--seed $(echo "$ALL" | tr ' ' '\n' | grep -n -x "$1" | cut -d: -f1)"; }
all_have() {   # all_have PATTERN: every current member printed it
  for n in $GRP_NAMES; do grep -q -F -- "$1" "$GRP_DIR/$n.out" || return 1; done
}

start=$(now_s)
grp_start "$T/g" "$ALL" --fd fast --block || exit 1
echo "server10: server on $GRP_SERVER, 10 peers up on 127.0.0.1:$GRP_BASE.."
wait_until "$STEP" grp_all_in_view "${N:-10}" || bad "the ten did not all reach a view of 10"
TAG=hello round

# ---- kill -9 and restart ------------------------------------------------------
grp_crash dave
kill_ms=$GRP_CRASH_MS
wait_until "$STEP" all_saw crash dave || bad "not every survivor removed dave within $STEP s"
record_detection dave "$kill_ms"
TAG=away round
away=$(grep -c '"event":"msg","kind":"room".*"text":"away ' "$GRP_DIR/alice.out")
mv "$GRP_DIR/dave.out" "$T/dave-boot1.out"
GRP_NAMES="$GRP_NAMES dave"
# Its old port, or (if another program took it meanwhile) a spare one: the
# server tells the others where it listens now.
for spare in 0 11 12 13; do
  port=$(grp_port dave)
  [ $spare = 0 ] || port=$((GRP_BASE + spare))
  grp_launch dave --fd fast --block --seed 4 --listen "127.0.0.1:$port"
  wait_until "$STEP" eval 'grp_has_ready dave || ! grp_alive dave'
  grp_has_ready dave && break
  grep -q "cannot bind" "$GRP_DIR/dave.err" || break
  kill "$(cat "$GRP_DIR/dave.hold")" 2>/dev/null
done
grp_has_ready dave || bad "dave did not restart: $(cat "$GRP_DIR/dave.err")"
wait_until "$STEP" all_saw join dave || bad "not every member admitted dave again"
caught_up() { [ "$(grep '"history":true' "$GRP_DIR/dave.out" | grep -c '"text":"away ')" -eq "$away" ]; }
wait_until "$STEP" caught_up ||
  bad "dave caught up $(grep '"history":true' "$GRP_DIR/dave.out" | grep -c '"text":"away ') of $away messages sent while he was away"
grep -q '"event":"history","state":"begin"' "$GRP_DIR/dave.out" || bad "dave's history is not marked"
TAG=dave-back round

# ---- an eleventh peer ---------------------------------------------------------
zoe_port=$((GRP_BASE + 14))
"$CHORUS" peer --name zoe --listen "127.0.0.1:$zoe_port" --server "$GRP_SERVER" \
  --password-file "$T/g/pw" --json </dev/null >"$T/zoe.out" 2>"$T/zoe.err"
zoe_rc=$?
[ $zoe_rc -eq 1 ] && grep -q "room full" "$T/zoe.out" ||
  bad "zoe: exit $zoe_rc, expected 1 with 'room full': $(cat "$T/zoe.out" "$T/zoe.err")"

# ---- offline messages: zoe has an account but is in no room ------------------------
grp_send alice "/msg zoe offline one" "/msg zoe offline two" "/msg zoe offline three"
stored() { [ "$(grep -c '"what":"stored"' "$GRP_DIR/alice.out")" -ge 3 ]; }
wait_until "$STEP" stored || bad "alice's three messages for zoe were not stored"

# ---- the server goes away, and comes back ---------------------------------------
kill -TERM "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
SRV_PID=
wait_until "$STEP" all_have '"code":"CHORUS_SRV_UNREACHABLE"' ||
  bad "not every peer noticed that no server answers"
TAG=no-server round
# A newcomer cannot join while no server answers, and says so.
"$CHORUS" peer --name zoe --listen "127.0.0.1:$zoe_port" --server "$GRP_SERVER" \
  --password-file "$T/g/pw" </dev/null >"$T/zoe2.out" 2>"$T/zoe2.err"
zoe_rc=$?
[ $zoe_rc -eq 1 ] && grep -q "no server answers" "$T/zoe2.err" ||
  bad "zoe with no server: exit $zoe_rc, expected 1 with 'no server answers': $(cat "$T/zoe2.err")"
srv_launch "$SRV_PORT" || bad "the server did not restart on port $SRV_PORT"
wait_until "$STEP" all_have '"what":"reregistered"' ||
  bad "not every peer registered again with the restarted server"
TAG=server-back round

# zoe logs in to another room: the three messages, stored before the server
# restarted, arrive once each and in order.
mkfifo "$T/zoe.in"
"$CHORUS" peer --name zoe --listen "127.0.0.1:$zoe_port" --server "$GRP_SERVER" \
  --password-file "$T/g/pw" --room elsewhere --json <"$T/zoe.in" >"$T/zoe3.out" 2>"$T/zoe3.err" &
zoe_pid=$!
sleep 100000 >"$T/zoe.in" &
zoe_hold=$!
offline_in() { [ "$(grep -c '"offline":true' "$T/zoe3.out")" -ge 3 ]; }
wait_until "$STEP" offline_in || bad "zoe did not get her three offline messages"
kill "$zoe_hold"
wait "$zoe_pid" || bad "zoe exited with status $?"
got=$(grep '"offline":true' "$T/zoe3.out" | sed 's/.*"text":"\([^"]*\)".*/\1/' | tr '\n' ';')
[ "$got" = "offline one;offline two;offline three;" ] ||
  bad "zoe's offline messages: '$got', expected each once, in order"

# ---- the end --------------------------------------------------------------------
expect_views() {   # expect_views NAME "reason member;..."
  got=$(views_of "$1" | grep -v '^join ' | tr '\n' ';')
  [ "$got" = "$2" ] || bad "$1: view changes '$got', expected '$2' (a false removal?)"
}
# /stats ends the part of each transcript whose views are compared: the
# leaves when every input closes at once are a race of who sees whose first.
for n in $GRP_NAMES; do grp_send "$n" /stats; done
all_stats() { for n in $GRP_NAMES; do [ -n "$(stat_of "$n" view)" ] || return 1; done; }
wait_until "$STEP" all_stats || bad "not every peer answered /stats"
VIEWS_UNTIL=stats
for n in $GRP_NAMES; do
  [ "$n" = dave ] || expect_views "$n" "crash dave;"
done
grp_close $GRP_NAMES
grp_wait_exit 40 || bad "not every peer exited cleanly with status 0"

if [ -s "$T/detect.log" ]; then
  awk '{ print $3 }' "$T/detect.log" | quantiles "crash detection (kill to view event)"
else
  bad "no detection time measured"
fi
stayed=
for n in $ALL; do [ "$n" = dave ] || stayed="$stayed $GRP_DIR/$n.out"; done
# shellcheck disable=SC2086
awk -v need_bye=1 -v same_order=1 -v ignore=dave \
  -f tests/integration/lib/check.awk $stayed || ok=0
if [ $ok = 1 ]; then
  echo "server10: PASS in $(( $(now_s) - start )) s"
  exit 0
fi
KEEP=1
echo "server10: FAIL (transcripts kept in $T)"
exit 1

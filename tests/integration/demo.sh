#!/bin/sh
# demo (make demo): a `chorus server` and ten real `chorus peer` processes
# on loopback. The peers log in (accounts are created on first use), join
# the room "lobby" and find each other through the server; every peer drops
# 20 % of its outgoing datagrams (plus 5 % duplicates and 0-5 ms of delay,
# which reorders). A short scripted conversation (room lines and
# private messages, each line sent once the previous one arrived), then a
# burst where everyone talks at once. Prints every transcript, checks them
# (nothing lost, no duplicates, FIFO, one room order) and ends with PASS or
# FAIL. Run from the repository root after make.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh
. tests/integration/lib/server.sh

T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-demo.XXXXXX") || exit 1
trap 'grp_kill; srv_kill; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
[ -x "$CHORUS" ] || { echo "demo: $CHORUS not built (run make)"; exit 1; }
NAMES=$(grp_names 10)
STEP_TIMEOUT=20

start=$(now_s)
srv_start "$T/server" || { echo "demo: FAIL"; exit 1; }
echo "demo: server on $GRP_SERVER; starting 10 peers on loopback with 20% loss, 5% duplication, 0-5 ms delay"
mkdir -p "$T/g"
echo "demo password" >"$T/g/pw"
grp_start "$T/g" "$NAMES" --drop 0.2 --dup 0.05 --delay-ms 5 || { echo "demo: FAIL"; exit 1; }
wait_until $STEP_TIMEOUT grp_all_in_view 10 ||
  { echo "demo: FAIL: the ten did not join one view"; exit 1; }
echo "demo: all 10 joined room lobby through the server in $(( $(now_s) - start )) s"

# delivered_everywhere TEXT: every peer shows room message TEXT.
delivered_everywhere() {
  for n in $NAMES; do grep -q -F "\"text\":\"$1\"" "$GRP_DIR/$n.out" || return 1; done
}
delivered_to() { grep -q -F "\"kind\":\"private\",\"from\":\"$2\"" "$GRP_DIR/$1.out" &&
                 grep -q -F "\"text\":\"$3\"" "$GRP_DIR/$1.out"; }

ok=1
say() {   # say NAME TEXT: a room line, then wait until everyone has it
  grp_send "$1" "$2" || ok=0
  wait_until $STEP_TIMEOUT delivered_everywhere "$2" || { echo "demo: '$2' not delivered"; ok=0; }
}
whisper() {   # whisper FROM TO TEXT
  grp_send "$1" "/msg $2 $3" || ok=0
  wait_until $STEP_TIMEOUT delivered_to "$2" "$1" "$3" || { echo "demo: '$3' not delivered"; ok=0; }
}

say alice "hi everyone, is the room working?"
say bob "loud and clear, alice"
say carol "same here: a fifth of my packets are dropped, and nothing is missing"
whisper dave erin "erin, lunch at noon?"
whisper erin dave "yes, 12:30 at the usual place"
say frank "how do we all see the same order?"
say grace "one member sequences the room messages; everyone delivers in that order"
say heidi "so every transcript reads the same, line for line"
whisper ivan judy "you are quiet today"
whisper judy ivan "just reading the transcripts"
# Everyone at once: the order is decided by the protocol, not by this script.
for n in $NAMES; do grp_send "$n" "$n says hello at the same time as everybody else" || ok=0; done
burst_done() {
  for n in $NAMES; do
    # Deliveries only: the sender's own "sent" event carries the text too.
    [ "$(grep -F '"event":"msg"' "$GRP_DIR/$n.out" | grep -c -F 'says hello at the same time')" \
      -ge 10 ] || return 1
  done
}
wait_until $STEP_TIMEOUT burst_done || { echo "demo: the burst was not fully delivered"; ok=0; }
say judy "bye all, see you tomorrow"

grp_close $NAMES
grp_wait_exit 30 || ok=0

for n in $NAMES; do awk -f tests/integration/lib/render.awk "$GRP_DIR/$n.out"; echo; done
awk -v need_bye=1 -v same_order=1 -f tests/integration/lib/check.awk "$GRP_DIR"/*.out || ok=0
if [ $ok = 1 ]; then
  echo "demo: PASS (10 peers, 20% loss, $(( $(now_s) - start )) s)"
  exit 0
fi
KEEP=1
echo "demo: FAIL (transcripts kept in $T)"
exit 1

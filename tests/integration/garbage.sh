#!/bin/sh
# garbage: a live peer under malformed input. Two real `chorus peer --json`
# processes (alice, bob) chat on loopback; a third socket (the sender built
# from tests/integration/lib/garbage.c with the project's warning flags)
# sends alice random bytes, truncated headers and frames, oversized
# datagrams (1201, 1500, 9000 bytes), wrong magic, wrong versions (0, 2,
# 255), reserved flags, epoch 0, unknown frame types, an ACK of frames never
# sent, unknown sender ids, stale epochs of bob, DATA for another incarnation
# of alice, and replays of bob's already-delivered DATA frames (built by hand
# from docs/PROTOCOL.md), while the two keep chatting. Then it checks:
#   * alice's /stats counters grew by exactly the number of datagrams sent
#     for each reason (rx_truncated, rx_bad_magic, rx_bad_version,
#     rx_bad_frame, rx_too_big, rx_unknown_sender, rx_stale_epoch,
#     rx_wrong_dest) and the link from bob counted the replays (dup_frames,
#     out_of_window);
#   * every message between alice and bob was delivered once, in FIFO order,
#     in one room order, with nothing forged delivered (check.awk);
#   * both peers exit cleanly.
# Exit 0 pass, 1 fail. POSIX sh; run from anywhere (make test runs it).
# Environment: CHORUS (default ./chorus), CC (default cc), KEEP=1 keeps the
# transcripts.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh

CC=${CC:-cc}
ROOM_MSGS=${ROOM_MSGS:-30}
DEADLINE=${DEADLINE:-15}
T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-garbage.XXXXXX") || exit 1
trap 'grp_kill; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

fail() { echo "garbage: FAIL: $*"; KEEP=1; echo "garbage: transcripts kept in $T"; exit 1; }

[ -x "$CHORUS" ] || { echo "garbage: $CHORUS not built (run make)"; exit 1; }
# shellcheck disable=SC2086  # CC may carry options
$CC -std=c11 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -O2 \
  -o "$T/garbage" tests/integration/lib/garbage.c ||
  { echo "garbage: cannot build tests/integration/lib/garbage.c with $CC"; exit 1; }

start=$(now_s)
grp_start "$T" "alice bob" || exit 1
PORT_A=$(grp_port alice)

# epoch NAME: the epoch in NAME's ready event.
epoch() { sed -n 's/^{"event":"ready".*"epoch":\([0-9]*\).*/\1/p' "$T/$1.out" | head -n 1; }
EA=$(epoch alice)
EB=$(epoch bob)
if [ -z "$EA" ] || [ -z "$EB" ]; then fail "no epoch in the ready events"; fi

msgs() { grp_count "$1" '"event":"msg"'; }
# delivered NAME N: NAME delivered at least N messages.
delivered() { [ "$(msgs "$1")" -ge "$2" ]; }
both_delivered() { delivered alice "$1" && delivered bob "$2"; }

# Phase 1: enough traffic that bob's frames 0..2 to alice are delivered, so
# replays of them are duplicates (and so alice knows bob's epoch).
grp_send alice "room alice warmup 1" "/msg bob dm alice->bob warmup 1" || exit 1
grp_send bob "room bob warmup 1" "room bob warmup 2" "room bob warmup 3" \
  "/msg alice dm bob->alice warmup 1" "/msg alice dm bob->alice warmup 2" || exit 1
# alice: 1 + 3 room, 2 private; bob: 1 + 3 room, 1 private.
wait_until "$DEADLINE" both_delivered 6 5 || fail "warm-up messages not delivered within $DEADLINE s"

# stats NAME: ask NAME for /stats and print the new stats line (deadline).
stats_lines() { grp_count "$1" '"event":"stats"'; }
stats_more() { [ "$(stats_lines "$1")" -gt "$2" ]; }
# (Its own deadline loop: wait_until keeps its deadline in a global, and
# `reached` below, which calls this, runs under wait_until.)
stats() {
  _st_n=$(stats_lines "$1")
  grp_send "$1" /stats || return 1
  _st_end=$(( $(now_s) + 5 ))
  while ! stats_more "$1" "$_st_n"; do
    [ "$(now_s)" -ge "$_st_end" ] && return 1
    nap
  done
  grep -F '"event":"stats"' "$T/$1.out" | tail -n 1
}
# field LINE KEY: the number after "KEY": in LINE.
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p"; }

BASE=$(stats alice) || fail "alice did not answer /stats"

# Phase 2: both chat while the garbage arrives.
awk -v m="$ROOM_MSGS" 'BEGIN { for (k = 1; k <= m; k++) {
  printf "room alice %d\n", k; if (k % 3 == 0) printf "/msg bob dm alice->bob %d\n", k } }' >"$T/alice.cmds"
awk -v m="$ROOM_MSGS" 'BEGIN { for (k = 1; k <= m; k++) {
  printf "room bob %d\n", k; if (k % 3 == 0) printf "/msg alice dm bob->alice %d\n", k } }' >"$T/bob.cmds"
grp_send_file alice "$T/alice.cmds" || exit 1
grp_send_file bob "$T/bob.cmds" || exit 1

"$T/garbage" 127.0.0.1 "$PORT_A" alice "$EA" bob "$EB" 7 >"$T/expect" ||
  fail "the garbage sender failed"
echo "garbage: sent $(sed -n 's/^sent //p' "$T/expect") malformed or replayed datagrams to alice (epoch $EA), bob's epoch $EB"

# Expected deliveries: warm-up (6 at alice, 5 at bob) plus phase 2: both
# peers' room messages everywhere and the other's private messages.
priv=$((ROOM_MSGS / 3))
want_a=$((6 + 2 * ROOM_MSGS + priv))
want_b=$((5 + 2 * ROOM_MSGS + priv))
wait_until "$DEADLINE" both_delivered "$want_a" "$want_b" ||
  echo "garbage: not all delivered within $DEADLINE s: alice $(msgs alice) of $want_a, bob $(msgs bob) of $want_b"

grp_alive alice || fail "alice died under garbage (see $T/alice.err)"

# Counters: poll /stats until every expected increase is there (deadline),
# then require them exact.
reached() {
  NOW=$(stats alice) || return 1
  while read -r how key n; do
    [ "$how" = sent ] && continue
    got=$(( $(field "$NOW" "$key") - $(field "$BASE" "$key") ))
    [ "$got" -ge "$n" ] || return 1
  done <"$T/expect"
  return 0
}
NOW=
wait_until 10 reached || echo "garbage: counters did not all reach their expected values within 10 s"
[ -n "$NOW" ] || fail "no /stats answer from alice"

verdict=0
printf '  %-18s %8s %8s\n' counter expected counted
while read -r how key n; do
  [ "$how" = sent ] && continue
  b=$(field "$BASE" "$key")
  a=$(field "$NOW" "$key")
  if [ -z "$a" ] || [ -z "$b" ]; then
    echo "garbage: FAIL: /stats has no counter $key"; verdict=1; continue
  fi
  got=$((a - b))
  mark=ok
  if [ "$how" = expect ] && [ "$got" -ne "$n" ]; then mark=WRONG; verdict=1; fi
  if [ "$how" = atleast ] && [ "$got" -lt "$n" ]; then mark=WRONG; verdict=1; fi
  [ "$how" = atleast ] && n=">=$n"
  printf '  %-18s %8s %8s  %s\n' "$key" "$n" "$got" "$mark"
done <"$T/expect"
[ $verdict = 0 ] || echo "garbage: FAIL: a reject counter is wrong"

grp_send bob /stats
grp_close alice bob
exit_ok=1
grp_wait_exit 20 || exit_ok=0

awk -v need_bye=1 -v same_order=1 -f tests/integration/lib/check.awk "$T"/alice.out "$T"/bob.out || verdict=1
[ $exit_ok = 1 ] || { echo "garbage: FAIL: a peer did not exit cleanly with status 0"; verdict=1; }
if [ $verdict = 0 ]; then
  echo "garbage: PASS in $(( $(now_s) - start )) s"
else
  KEEP=1
  echo "garbage: FAIL (transcripts kept in $T)"
fi
exit $verdict

#!/bin/sh
# peers10: ten real `chorus peer` processes on loopback, each dropping 20 %
# of its outgoing datagrams (plus some duplication and delay/reordering).
# Every peer broadcasts ROOM_MSGS room messages (default order: total) and
# sends PRIV_MSGS private messages to each of three others, interleaved. Then
# every transcript is checked: nothing lost, no duplicates, FIFO per sender,
# byte-identical text, and one room order in every transcript. The failure
# detector runs with its default profile: at 20 % loss nobody may be removed,
# so no peer may print a view event during the run (the leaves at the end,
# when every input closes, are the only view changes).
# Exit 0 pass, 1 fail. Run from the repository root (make test does).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh

N=${N:-10}
ROOM_MSGS=${ROOM_MSGS:-20}
PRIV_MSGS=2
DEADLINE=${DEADLINE:-120}
T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-peers10.XXXXXX") || exit 1
trap 'grp_kill; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

[ -x "$CHORUS" ] || { echo "peers10: $CHORUS not built (run make)"; exit 1; }
NAMES=$(grp_names "$N")

# Per-peer seed, so a failing run can be replayed with the same fault draws.
grp_opts() { echo "--seed $(echo "$NAMES" | tr ' ' '\n' | grep -n "^$1\$" | cut -d: -f1)"; }

# The private-message targets of peer number i (0-based): i+1, i+3, i+7 mod N.
targets() {
  echo "$NAMES" | awk -v i="$1" -v n="$N" '{
    split($0, a, " "); seen[i] = 1
    for (d = 1; d <= 7; d += 2) { if (d == 5) continue; t = (i + d) % n
      if (!(t in seen)) { seen[t] = 1; printf "%s ", a[t + 1] } } }'
}

# commands for peer i: room lines with privates interleaved; some texts
# carry quotes, backslashes, UTF-8 and a tab to exercise JSON escaping.
make_cmds() {
  awk -v me="$1" -v m="$ROOM_MSGS" -v p="$PRIV_MSGS" -v tg="$2" 'BEGIN {
    nt = split(tg, t, " ")
    for (k = 1; k <= m; k++) {
      if (k % 7 == 0) printf "room %s %d \"quoted\" back\\slash h\303\251llo \342\202\254\tend\n", me, k
      else printf "room %s %d\n", me, k
      if (k <= p) for (j = 1; j <= nt; j++) printf "/msg %s dm %s->%s %d\n", t[j], me, t[j], k
    } }'
}

start=$(now_s)
grp_start "$T" "$NAMES" --drop 0.2 --dup 0.05 --delay-ms 5 || exit 1
echo "peers10: $N peers up on 127.0.0.1:$GRP_BASE.., 20% loss, 5% dup, 0-5 ms delay"

i=0
for n in $NAMES; do
  make_cmds "$n" "$(targets $i)" >"$T/$n.cmds"
  i=$((i + 1))
done
for n in $NAMES; do grp_send_file "$n" "$T/$n.cmds" || exit 1; done

# Expected deliveries at each peer: every peer's room messages (its own
# included) plus the private messages addressed to it.
expect() {
  priv=$(cat "$T"/*.cmds | grep -c "^/msg $1 " || true)
  echo $(( N * ROOM_MSGS + priv ))
}
all_delivered() {
  for n in $NAMES; do
    [ "$(grp_count "$n" '"event":"msg"')" -ge "$(expect "$n")" ] || return 1
  done
  return 0
}
if ! wait_until "$DEADLINE" all_delivered; then
  echo "peers10: FAIL: not all messages delivered within $DEADLINE s:"
  for n in $NAMES; do echo "  $n: $(grp_count "$n" '"event":"msg"') of $(expect "$n")"; done
fi

# No view change while everyone is up: any is a false removal.
false_views=0
for n in $NAMES; do
  if grep -q '"event":"view"' "$T/$n.out"; then
    echo "peers10: FAIL: false removal at $n (seeds: --seed = position in: $NAMES):"
    grep '"event":"view"' "$T/$n.out" | sed 's/^/  /'
    false_views=1
  fi
done

# Counters into the transcripts (kept on failure, for diagnosis); they also
# end the part of each transcript whose view changes check.awk compares.
for n in $NAMES; do grp_send "$n" /stats; done
all_stats() { for n in $NAMES; do [ "$(grp_count "$n" '"event":"stats"')" -ge 1 ] || return 1; done; }
wait_until 30 all_stats || echo "peers10: not every peer answered /stats"
grp_close $NAMES
exit_ok=1
grp_wait_exit 30 || exit_ok=0

verdict=0
awk -v need_bye=1 -v same_order=1 -v same_views=1 -v views_until=stats \
  -f tests/integration/lib/check.awk \
  "$T"/*.out || verdict=1
[ $false_views = 0 ] || verdict=1
[ $exit_ok = 1 ] || { echo "peers10: FAIL: not every peer exited cleanly with status 0"; verdict=1; }
if [ $verdict = 0 ]; then
  echo "peers10: PASS in $(( $(now_s) - start )) s"
else
  KEEP=1
  echo "peers10: FAIL (transcripts kept in $T)"
fi
exit $verdict

# Chat rounds, view checks and detection times for the integration tests
# with many peers (crash10, server10). Sourced after peers.sh. The caller
# sets STEP (seconds per waiting step), ROUND_MSGS (room messages per
# member per round), DETECT_BOUND_MS, T (its temporary directory) and
# defines bad MESSAGE (records a failure).

# has NAME TEXT: NAME delivered a message with exactly this text.
has() { grep -q -F "\"text\":\"$2\"}" "$GRP_DIR/$1.out"; }

# round TAG: every current member sends ROUND_MSGS room messages and one
# private message to the next member; waits until every member has them all
# (FIFO: a sender's last message implies the earlier ones).
round() {
  set -- $GRP_NAMES
  first=$1
  for n in "$@"; do
    shift
    to=${1:-$first}
    k=1
    while [ $k -le $ROUND_MSGS ]; do
      grp_send "$n" "$TAG $n $k" || bad "cannot write to $n"
      k=$((k + 1))
    done
    grp_send "$n" "/msg $to $TAG dm $n to $to" || bad "cannot write to $n"
  done
  wait_until "$STEP" round_done || bad "round '$TAG': not delivered within $STEP s"
}
round_done() {
  for r in $GRP_NAMES; do
    for s in $GRP_NAMES; do has "$r" "$TAG $s $ROUND_MSGS" || return 1; done
  done
  set -- $GRP_NAMES
  first=$1
  for n in "$@"; do
    shift
    has "${1:-$first}" "$TAG dm $n to ${1:-$first}" || return 1
  done
}

# views_of NAME: "reason member" of each view event NAME printed before its
# own leave, one per line.
views_of() {
  awk -v stop="\"event\":\"${VIEWS_UNTIL:-leaving}\"" 'index($0, "\"event\":\"leaving\"") || index($0, stop) { exit }
       index($0, "\"event\":\"view\"") {
         r = $0; sub(/.*"reason":"/, "", r); sub(/".*/, "", r)
         m = $0; sub(/.*"member":"/, "", m); sub(/".*/, "", m)
         print r " " m }' "$GRP_DIR/$1.out"
}
# saw NAME REASON MEMBER: NAME printed that view change.
saw() { views_of "$1" | grep -q -x -F "$2 $3"; }
all_saw() {
  _as_r=$1 _as_m=$2
  for n in $GRP_NAMES; do saw "$n" "$_as_r" "$_as_m" || return 1; done
}

# Detection times of one crash ("victim survivor ms"), appended to
# $T/detect.log.
record_detection() {   # record_detection VICTIM KILL_MS
  for n in $GRP_NAMES; do
    at=$(grep '"event":"view"' "$GRP_DIR/$n.out" | grep -F "\"member\":\"$1\"" |
         grep -E '"reason":"(crash|partition)"' | head -1 |
         sed 's/.*"time_ms":\([0-9]*\).*/\1/')
    [ -n "$at" ] || continue
    d=$((at - $2))
    echo "$1 $n $d" >>"$T/detect.log"
    [ "$d" -le "$DETECT_BOUND_MS" ] || bad "$n removed $1 after $d ms (bound $DETECT_BOUND_MS ms)"
  done
}

# stat_of NAME KEY: KEY's value in NAME's last stats event ("" if none).
stat_of() {
  grep '"event":"stats"' "$GRP_DIR/$1.out" | tail -1 | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
# quantiles WHAT: "N removals: p50 X ms, max Y ms" of the numbers on stdin.
quantiles() {
  sort -n | awk -v test="${TEST_NAME:-test}" -v what="$1" '{ v[NR] = $1 }
    END { if (NR) printf "%s: %s: %d removals, p50 %d ms, max %d ms\n", test, what, NR,
                         v[int((NR + 1) / 2)], v[NR] }'
}

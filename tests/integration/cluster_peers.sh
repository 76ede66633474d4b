#!/bin/sh
# cluster_peers: `chorus peer --server` against a real three-replica
# cluster on loopback. Three peers log in with the list of all three
# replicas and chat; the leader is killed with kill -9; every peer moves to
# the new leader by itself and registers again (sessions are not
# replicated), the three keep chatting, and a fourth peer joins the room
# through the new leader. Waits are on conditions with deadlines.
# Exit 0 pass, 1 fail. Run from the repository root (make test does).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh
. tests/integration/lib/server.sh

T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-clpeers.XXXXXX") || exit 1
PIDS=
trap 'grp_kill; for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
[ -x "$CHORUS" ] || { echo "cluster_peers: $CHORUS not built (run make)"; exit 1; }
ok=1
bad() { echo "cluster_peers: FAIL: $*"; ok=0; }
STEP=${STEP:-30}

BASE=$(( 30000 + ($$ % 300) * 7 ))
{
  echo "# id host client_port peer_port priority"
  echo "s1 127.0.0.1 $BASE $((BASE + 3)) 10"
  echo "s2 127.0.0.1 $((BASE + 1)) $((BASE + 4)) 20"
  echo "s3 127.0.0.1 $((BASE + 2)) $((BASE + 5)) 30"
} >"$T/cluster"
for id in s1 s2 s3; do
  "$CHORUS" server --cluster "$T/cluster" --id "$id" --data "$T/$id" --iterations 1000 \
    >>"$T/$id.log" 2>&1 &
  eval "PID_$id=$!"
  PIDS="$PIDS $!"
done
wait_until 20 grep -q "(serving" "$T/s3.log" || { echo "cluster_peers: FAIL: no leader"; exit 1; }
GRP_SERVER="127.0.0.1:$BASE,127.0.0.1:$((BASE + 1)),127.0.0.1:$((BASE + 2))"
mkdir -p "$T/g"
echo "cluster password" >"$T/g/pw"

start=$(now_s)
grp_start "$T/g" "alice bob carol" --fd fast || exit 1
wait_until "$STEP" grp_all_in_view 3 || bad "the three did not join one view"
delivered() { grep -q -F "\"text\":\"$1\"}" "$GRP_DIR/$2.out"; }
grp_send alice "before the leader dies"
wait_until "$STEP" delivered "before the leader dies" carol || bad "no chat before the kill"

# shellcheck disable=SC2154  # PID_s3 is set by eval above
kill -9 "$PID_s3"
kill_s=$(now_s)
all_reregistered() {
  for n in $GRP_NAMES; do grep -q '"what":"reregistered"' "$GRP_DIR/$n.out" || return 1; done
}
wait_until "$STEP" all_reregistered || bad "not every peer registered with the new leader"
echo "cluster_peers: every peer registered with the new leader $(( $(now_s) - kill_s )) s after the kill"
grp_send bob "after the leader died"
wait_until "$STEP" delivered "after the leader died" alice || bad "no chat after the kill"

GRP_NAMES="$GRP_NAMES dave"
grp_launch dave --fd fast
wait_until "$STEP" grp_all_in_view 4 || bad "dave did not join through the new leader"
grp_send dave "dave via the new leader"
for n in alice bob carol; do
  wait_until "$STEP" delivered "dave via the new leader" "$n" || bad "$n did not hear dave"
done

grp_close $GRP_NAMES
grp_wait_exit 30 || bad "not every peer exited cleanly"
awk -v need_bye=1 -v same_order=1 -f tests/integration/lib/check.awk "$GRP_DIR"/*.out || ok=0
if [ $ok = 1 ]; then
  echo "cluster_peers: PASS in $(( $(now_s) - start )) s"
  exit 0
fi
KEEP=1
echo "cluster_peers: FAIL (files kept in $T)"
exit 1

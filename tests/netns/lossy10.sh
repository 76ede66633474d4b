#!/bin/sh
# lossy10: a `chorus server` and ten `chorus peer --json` processes on a
# real (virtual) network with real packet loss, not the peers' own --drop
# injection.
#
# Topology: a hub network namespace holding a Linux bridge, ten peer
# namespaces and one server namespace, each joined to the bridge by a veth
# pair and given its own address: peers 10.77.0.1 .. 10.77.0.10, the server
# 10.77.0.100 (/24; the addresses exist only inside these namespaces,
# nothing is routed out of them). In every peer namespace an nftables rule
# drops LOSS % (default 20) of the UDP datagrams it sends (`numgen random
# mod 100 < LOSS drop` on the output hook), so every path between two peers
# loses about LOSS % in each direction, and so do the peers' requests to
# the server. The peers log in to the server, join one room and find each
# other through it (--server); the test waits until all ten share a view.
#
# Workload (as tests/integration/peers10.sh): every peer broadcasts
# ROOM_MSGS room messages (default order: total) and sends private messages
# to three others, interleaved; after an idle period (with failure
# detection) each broadcasts 5 more. Then every transcript is checked with
# tests/integration/lib/check.awk: nothing lost, no duplicates, FIFO per
# sender, byte-identical text, one room order everywhere; every peer exits
# cleanly. When the binary has failure detection (--fd), it runs with
# LOSSY_FD (default: the CLI's default profile) and the test also requires
# that no member is removed while all ten are alive (no false removal
# under loss; the joins at the start are view changes too, and allowed).
#
#   tests/netns/lossy10.sh [--optional]
#
# Needs root, `ip netns` (iproute2), bridges and veth in the kernel, and nft
# (apt-get install nftables). Without them it prints why and exits 1, or 0
# with SKIP when called with --optional. Namespaces are removed on exit, on
# failure and on Ctrl-C (trap). Every wait has a deadline; no fixed sleeps.
# Environment: CHORUS (default ./chorus), N (peers, 2..10, default 10),
# LOSS (percent, default 20), ROOM_MSGS (default 20), DEADLINE (seconds for
# delivery, default 180), LOSSY_FD, KEEP=1 keeps the transcripts. POSIX sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh

optional=0
case ${1:-} in
  --optional) optional=1 ;;
  "") ;;
  *) echo "usage: tests/netns/lossy10.sh [--optional]"; exit 2 ;;
esac

N=${N:-10}
LOSS=${LOSS:-20}
ROOM_MSGS=${ROOM_MSGS:-20}
PRIV_MSGS=2
DEADLINE=${DEADLINE:-180}
PORT=7777
NET=10.77.0
P=chorus$$ # namespace name prefix, unique per run
HUB=$P-hub
CREATED=   # namespaces to delete on exit

cannot() {
  echo "lossy10: cannot run: $*"
  if [ $optional = 1 ]; then echo "SKIP lossy10 ($*)"; exit 0; fi
  exit 1
}

[ "$(id -u)" = 0 ] || cannot "needs root (network namespaces and nftables)"
command -v ip >/dev/null 2>&1 || cannot "no ip command (apt-get install iproute2)"
command -v nft >/dev/null 2>&1 || cannot "no nft command (apt-get install nftables)"
[ -x "$CHORUS" ] || { echo "lossy10: $CHORUS not built (run make)"; exit 1; }
case $N in [2-9] | 10) ;; *) echo "lossy10: N must be 2..10"; exit 2 ;; esac

T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-lossy10.XXXXXX") || exit 1
SRV_PID=
cleanup() {
  grp_kill
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  for ns in $CREATED; do ip netns del "$ns" 2>/dev/null; done
  [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the network --------------------------------------------------------
# ns_add NAME: create a namespace (remembered for cleanup) with lo up.
ns_add() {
  ip netns add "$1" 2>"$T/ip.err" || return 1
  CREATED="$CREATED $1"
  ip -n "$1" link set lo up
}

ns_add "$HUB" || cannot "ip netns add failed: $(cat "$T/ip.err") (needs CAP_SYS_ADMIN; in a container, run it privileged)"
ip -n "$HUB" link add br0 type bridge 2>"$T/ip.err" ||
  cannot "cannot create a bridge: $(cat "$T/ip.err")"
ip -n "$HUB" link set br0 up

NAMES=$(grp_names "$N")
i=0
for n in $NAMES; do
  i=$((i + 1))
  ns=$P-$i
  ns_add "$ns" || { echo "lossy10: FAIL: ip netns add $ns: $(cat "$T/ip.err")"; exit 1; }
  # Both ends are created inside namespaces, so no interface name is ever
  # taken in the caller's namespace.
  ip -n "$HUB" link add "v$i" type veth peer name eth0 netns "$ns" 2>"$T/ip.err" ||
    cannot "cannot create a veth pair: $(cat "$T/ip.err")"
  ip -n "$HUB" link set "v$i" master br0
  ip -n "$HUB" link set "v$i" up
  ip -n "$ns" addr add "$NET.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip netns exec "$ns" nft -f - 2>"$T/nft.err" <<EOF || cannot "nft failed in $ns: $(cat "$T/nft.err")"
table inet chorus_loss {
  chain out {
    type filter hook output priority 0; policy accept;
    meta l4proto udp counter
    meta l4proto udp numgen random mod 100 < $LOSS counter drop
  }
}
EOF
done

# The server's namespace: no loss of its own (the peers' side drops).
SRV_NS=$P-srv
SRV=$NET.100:7700
ns_add "$SRV_NS" || { echo "lossy10: FAIL: ip netns add $SRV_NS: $(cat "$T/ip.err")"; exit 1; }
ip -n "$HUB" link add vs type veth peer name eth0 netns "$SRV_NS" 2>"$T/ip.err" ||
  cannot "cannot create a veth pair: $(cat "$T/ip.err")"
ip -n "$HUB" link set vs master br0
ip -n "$HUB" link set vs up
ip -n "$SRV_NS" addr add "$NET.100/24" dev eth0
ip -n "$SRV_NS" link set eth0 up

links_up() {
  _lu_i=0
  for _lu_n in $NAMES; do
    _lu_i=$((_lu_i + 1))
    ip -n "$P-$_lu_i" -o link show eth0 | grep -q 'state UP' || return 1
  done
  return 0
}
wait_until 15 links_up || { echo "lossy10: FAIL: the veth links did not come up within 15 s"; exit 1; }

# ---- the peers (files as in lib/peers.sh, so its helpers apply) --------
GRP_DIR=$T
GRP_NAMES=$NAMES
FD_OPT=
FD_ON=
QUIET_S=${QUIET_S:-8}
if "$CHORUS" peer --help 2>&1 | grep -q -e '--fd'; then
  [ -n "${LOSSY_FD:-}" ] && FD_OPT="--fd $LOSSY_FD"
  FD_ON=${LOSSY_FD:-default}
  FD_NOTE="failure detection: $FD_ON"
else
  FD_NOTE="no failure detection in this build"
fi

addr_of() { # the address of peer NAME
  _ao_i=0
  for _ao_n in $NAMES; do
    _ao_i=$((_ao_i + 1))
    [ "$_ao_n" = "$1" ] && { echo "$NET.$_ao_i"; return 0; }
  done
  return 1
}

launch() { # launch NAME NUMBER
  args="--name $1 --listen $(addr_of "$1"):$PORT --json --seed $2 $FD_OPT"
  args="$args --server $SRV --password-file $T/pw"
  mkfifo "$T/$1.in"
  # shellcheck disable=SC2086  # the option list is split on purpose
  ip netns exec "$P-$2" "$CHORUS" peer $args <"$T/$1.in" >"$T/$1.out" 2>"$T/$1.err" &
  echo $! >"$T/$1.pid"
  sleep 100000 >"$T/$1.in" &
  echo $! >"$T/$1.hold"
}

start=$(now_s)
echo "lossy pw" >"$T/pw"
ip netns exec "$SRV_NS" "$CHORUS" server --listen "$SRV" --data "$T/srv" --iterations 1000 \
  >"$T/srv.log" 2>"$T/srv.err" &
SRV_PID=$!
srv_ready() { grep -q "listening on" "$T/srv.log" 2>/dev/null || ! kill -0 "$SRV_PID" 2>/dev/null; }
wait_until 20 srv_ready && kill -0 "$SRV_PID" 2>/dev/null ||
  { echo "lossy10: FAIL: the server did not start: $(cat "$T/srv.err")"; exit 1; }
i=0
for n in $NAMES; do
  i=$((i + 1))
  launch "$n" $i
done
if ! wait_until 20 grp_settled; then
  echo "lossy10: FAIL: peers did not start within 20 s"; exit 1
fi
for n in $NAMES; do
  grp_has_ready "$n" || { echo "lossy10: FAIL: $n did not start:"; cat "$T/$n.err"; exit 1; }
done
# members NAME: the member count of NAME's last view event (0 if none).
members() {
  grep '"event":"view"' "$T/$1.out" 2>/dev/null | tail -1 |
    sed -n 's/.*"members":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' | grep -c .
}
all_joined() { for n in $NAMES; do [ "$(members "$n")" -eq "$N" ] || return 1; done; }
wait_until "$DEADLINE" all_joined || { echo "lossy10: FAIL: the peers did not all join one view"; exit 1; }
echo "lossy10: server on $SRV and $N peers on $NET.1..$NET.$N:$PORT in $((N + 1)) namespaces" \
  "on a bridge, all in one view after $(( $(now_s) - start )) s;" \
  "nftables drops $LOSS % of each peer's outgoing UDP; $FD_NOTE"

# ---- the workload (as peers10.sh) ----------------------------------------
targets() { # the private-message targets of peer number $1 (0-based)
  echo "$NAMES" | awk -v i="$1" -v n="$N" '{
    split($0, a, " "); seen[i] = 1
    for (d = 1; d <= 7; d += 2) { if (d == 5) continue; t = (i + d) % n
      if (!(t in seen)) { seen[t] = 1; printf "%s ", a[t + 1] } } }'
}
make_cmds() { # make_cmds NAME TARGETS FIRST LAST
  awk -v me="$1" -v a="$3" -v m="$4" -v p="$PRIV_MSGS" -v tg="$2" 'BEGIN {
    nt = split(tg, t, " ")
    for (k = a; k <= m; k++) {
      if (k % 7 == 0) printf "room %s %d \"quoted\" h\303\251llo \342\202\254\tend\n", me, k
      else printf "room %s %d\n", me, k
      if (k <= p) for (j = 1; j <= nt; j++) printf "/msg %s dm %s->%s %d\n", t[j], me, t[j], k
    } }'
}
# round R FIRST LAST: every peer sends its room messages FIRST..LAST (and
# its private ones among the first PRIV_MSGS); ROUND_MSGS counts them all.
ROUND_MSGS=0
round() {
  _r_i=0
  for _r_n in $NAMES; do
    make_cmds "$_r_n" "$(targets $_r_i)" "$2" "$3" >"$T/$_r_n.cmds$1"
    _r_i=$((_r_i + 1))
  done
  ROUND_MSGS=$3
  for _r_n in $NAMES; do grp_send_file "$_r_n" "$T/$_r_n.cmds$1" || exit 1; done
}
expect() {
  priv=$(cat "$T"/*.cmds* | grep -c "^/msg $1 " || true)
  echo $(( N * ROUND_MSGS + priv ))
}
all_delivered() {
  for n in $NAMES; do
    [ "$(grp_count "$n" '"event":"msg"')" -ge "$(expect "$n")" ] || return 1
  done
  return 0
}
verdict=0
delivery() { # delivery WHAT: wait for every expected delivery (deadline)
  if ! wait_until "$DEADLINE" all_delivered; then
    echo "lossy10: FAIL: not all messages of $1 delivered within $DEADLINE s:"
    for n in $NAMES; do echo "  $n: $(grp_count "$n" '"event":"msg"') of $(expect "$n")"; done
    verdict=1
  fi
}
removals() { cat "$T"/*.out | grep '"event":"view"' | grep -v '"reason":"join"'; }
saw_view() { [ -n "$(removals)" ]; }

round 1 1 "$ROOM_MSGS"
delivery "round 1"
delivered_s=$(( $(now_s) - start ))
# With failure detection on, watch an idle group (heartbeats only, still at
# LOSS %) for longer than the default profile's detection time: any view
# change while all ten are alive is a false removal. This is an observation
# window that ends early on the first view change, not a wait for progress.
if [ -n "$FD_ON" ] && [ "$FD_ON" != off ]; then
  echo "lossy10: watching the idle group for ${QUIET_S} s (false removals under loss)"
  wait_until "$QUIET_S" saw_view
fi
round 2 "$((ROOM_MSGS + 1))" "$((ROOM_MSGS + 5))"
delivery "round 2 (after the idle period)"

# No view change while all are alive: a removal now would be a false one.
views=$(removals | grep -c . || true)
if [ "$views" -ne 0 ]; then
  echo "lossy10: FAIL: $views removals while every peer was alive (false removal):"
  removals | head -n 5 | sed 's/^/  | /'
  verdict=1
fi

# The loss that really happened, from the nftables counters.
sent=0 dropped=0
i=0
for n in $NAMES; do
  i=$((i + 1))
  c=$(ip netns exec "$P-$i" nft list chain inet chorus_loss out 2>/dev/null |
      sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | tr '\n' ' ')
  set -- $c
  sent=$((sent + ${1:-0}))
  dropped=$((dropped + ${2:-0}))
done
[ "$sent" -gt 0 ] && echo "lossy10: nftables dropped $dropped of $sent UDP datagrams" \
  "($((dropped * 100 / sent)) %); round 1 delivered after $delivered_s s"

for n in $NAMES; do grp_send "$n" /stats; done
grp_close $NAMES
exit_ok=1
grp_wait_exit 60 || exit_ok=0

awk -v need_bye=1 -v same_order=1 -f tests/integration/lib/check.awk "$T"/*.out || verdict=1
[ $exit_ok = 1 ] || { echo "lossy10: FAIL: not every peer exited cleanly with status 0"; verdict=1; }
if [ $verdict = 0 ]; then
  echo "lossy10: PASS in $(( $(now_s) - start )) s"
else
  KEEP=1
  echo "lossy10: FAIL (transcripts kept in $T)"
fi
exit $verdict

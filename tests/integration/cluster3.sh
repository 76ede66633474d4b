#!/bin/sh
# cluster3: a real three-replica `chorus server --cluster` on loopback
# (ports 41000-41999), driven by tests/integration/srvclient.c:
#   - the replica of highest priority is elected and serves;
#   - a stream of sign-ups and offline-message stores runs through a client
#     that knows all three servers; the leader is killed with kill -9 in the
#     middle of it; the failover (kill to a new leader serving) is measured;
#   - the killed replica restarts from its data directory, catches up and,
#     having the highest priority, leads again;
#   - every acknowledged sign-up can log in; every acknowledged offline
#     message is fetched exactly once, each sender's in order, and nothing
#     is fetched twice; after the ack the mailbox is empty.
# Exit 0 pass, 1 fail. Run from the repository root. Waits for conditions
# under deadlines, never fixed sleeps.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/peers.sh
. tests/integration/lib/srvclient.sh

T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-cluster3.XXXXXX") || exit 1
PIDS=
cleanup() {
  for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
[ -x "$CHORUS" ] || { echo "cluster3: $CHORUS not built (run make)"; exit 1; }
srvclient_build "$T/sc" || { echo "cluster3: cannot build srvclient"; exit 1; }
failures=0
bad() { failures=$((failures + 1)); echo "FAIL: $*"; }

# Ports: six in 41000-41999, spread by pid so parallel runs rarely clash.
BASE=$(( 41000 + ($$ % 160) * 6 ))
{
  echo "# id host client_port peer_port priority"
  echo "s1 127.0.0.1 $BASE $((BASE + 3)) 10"
  echo "s2 127.0.0.1 $((BASE + 1)) $((BASE + 4)) 20"
  echo "s3 127.0.0.1 $((BASE + 2)) $((BASE + 5)) 30"
} >"$T/cluster"
SERVERS="127.0.0.1:$BASE,127.0.0.1:$((BASE + 1)),127.0.0.1:$((BASE + 2))"

start() { # start ID
  "$CHORUS" server --cluster "$T/cluster" --id "$1" --data "$T/$1" --iterations 1000 \
    >>"$T/$1.log" 2>&1 &
  eval "PID_$1=$!"
  PIDS="$PIDS $!"
}
serving() { grep -q "(serving" "$T/$1.log" 2>/dev/null; }
serving_after() { # serving_after ID LINES: a serving line after line LINES
  tail -n +"$(( $2 + 1 ))" "$T/$1.log" 2>/dev/null | grep -q "(serving"
}

for id in s1 s2 s3; do start "$id"; done
wait_until 20 serving s3 || bad "s3 (highest priority) never served"

# ---- the workload, with a kill -9 of the leader in the middle ------------
N=40
{
  echo "signup rcpt pw"
  echo "signup snd pw"
  k=1
  while [ $k -le $N ]; do
    echo "signup u$k pw"
    echo "login snd pw"
    echo "store snd rcpt 1 $k m$k"
    k=$((k + 1))
  done
} >"$T/work.in"
"$T/sc" --server "$SERVERS" --timeout-ms 15000 <"$T/work.in" >"$T/work.out" 2>&1 &
SC=$!
PIDS="$PIDS $SC"
results() { [ "$(wc -l <"$T/work.out")" -ge "$1" ]; }
wait_until 30 results 40 || bad "the workload did not get going"
s2_lines=$(wc -l <"$T/s2.log")
t_kill=$(now_ms)
kill -9 "$PID_s3"
wait_until 10 serving_after s2 "$s2_lines" || bad "s2 did not take over"
t_serve=$(now_ms)
FAILOVER_MS=$((t_serve - t_kill))
wait "$SC"
[ "$(wc -l <"$T/work.out")" -eq "$(wc -l <"$T/work.in")" ] || bad "the client did not answer every command"

# Acknowledged sign-ups and stores (line i of the output answers line i).
paste -d '|' "$T/work.in" "$T/work.out" >"$T/work.both"
grep '^signup u[0-9]* pw|OK' "$T/work.both" | sed 's/^signup \(u[0-9]*\) .*/\1/' >"$T/acked.users"
grep '^store snd rcpt 1 [0-9]* m[0-9]*|OK' "$T/work.both" | awk '{print $5}' >"$T/acked.msgs"
errs=$(grep -c '|ERR' "$T/work.both")
[ "$(wc -l <"$T/acked.users")" -ge $((N / 2)) ] || bad "too few sign-ups acknowledged ($(wc -l <"$T/acked.users") of $N)"

# ---- the old leader returns, catches up and leads again -----------------
s3_lines=$(wc -l <"$T/s3.log")
start s3
wait_until 20 serving_after s3 "$s3_lines" || bad "s3 did not lead again after its restart"

# ---- every acknowledged write is there ------------------------------------
{
  while read -r u; do echo "login $u pw"; done <"$T/acked.users"
  echo "login rcpt pw"
  echo "fetch rcpt"
} >"$T/check.in"
"$T/sc" --server "$SERVERS" --timeout-ms 15000 <"$T/check.in" >"$T/check.out" 2>&1
lost=$(head -n "$(wc -l <"$T/acked.users")" "$T/check.out" | grep -vc '^OK')
[ "$lost" -eq 0 ] || bad "$lost acknowledged sign-ups cannot log in"

# Fetch until the mailbox is empty, acknowledging each batch.
: >"$T/fetched"
round=0
while [ $round -lt 20 ]; do
  round=$((round + 1))
  line=$(printf 'login rcpt pw\nfetch rcpt\n' | "$T/sc" --server "$SERVERS" --timeout-ms 15000 | tail -1)
  case $line in OK\ waiting=*) ;; *) bad "fetch failed: $line"; break ;; esac
  echo "$line" | tr ' ' '\n' | grep ':snd:' >>"$T/fetched"
  upto=$(echo "$line" | tr ' ' '\n' | grep ':snd:' | tail -1 | cut -d: -f1)
  [ -z "$upto" ] && break
  printf 'login rcpt pw\nack rcpt %s\n' "$upto" | "$T/sc" --server "$SERVERS" --timeout-ms 15000 >/dev/null
done
cut -d: -f4 "$T/fetched" >"$T/fetched.ids"
dups=$(sort -n "$T/fetched.ids" | uniq -d | wc -l)
[ "$dups" -eq 0 ] || bad "$dups offline messages fetched twice"
sort -n -c "$T/fetched.ids" 2>/dev/null || bad "offline messages out of FIFO order: $(tr '\n' ' ' <"$T/fetched.ids")"
missing=0
while read -r id; do grep -qx "$id" "$T/fetched.ids" || missing=$((missing + 1)); done <"$T/acked.msgs"
[ "$missing" -eq 0 ] || bad "$missing acknowledged offline messages never fetched"
last=$(printf 'login rcpt pw\nfetch rcpt\n' | "$T/sc" --server "$SERVERS" --timeout-ms 15000 | tail -1)
[ "$last" = "OK waiting=0" ] || bad "mailbox not empty after the acks: $last"

echo "cluster3: $(wc -l <"$T/acked.users")/$N sign-ups and $(wc -l <"$T/acked.msgs")/$N stores acknowledged ($errs refused or unanswered around the kill), $(wc -l <"$T/fetched.ids") fetched; failover (kill -9 of the leader to a new leader serving): ${FAILOVER_MS} ms"
if [ $failures -eq 0 ]; then
  echo "cluster3: PASS"
  exit 0
fi
for id in s1 s2 s3; do echo "--- $id.log"; tail -20 "$T/$id.log"; done
echo "cluster3: FAIL ($failures)"
exit 1

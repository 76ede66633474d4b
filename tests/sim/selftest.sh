#!/bin/sh
# Self-test of `chorus sim`: proves the checker catches each kind of bug
# end to end (a deliberately corrupted, duplicated, reordered or lost
# delivery, a room delivery swapped across senders (causal, total order), a
# safe delivery before every member reported holding it, a survivor
# missing a crashed sender's message that others delivered (agreement), a
# view change reported with a wrong member set (view_agreement, also with
# partitions), a removal of a node that is up (false_removal, also with
# partitions), a restarted node that joins without the last message of its
# history (catch_up) and two merge deliveries after a partition swapped
# (merge_order) must each fail the
# run with the right property, exit 1 and print a replay command that
# reproduces it), that an exhausted limit is an explicit error, and that
# bad usage exits 2 with a one-line reason and the usage.
# The checker's properties are also unit-tested on hand-made events in
# tests/unit/test_sim_check.c. Exit 0 if all hold, 1 otherwise.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
chorus=${CHORUS:-$root/chorus}
if [ ! -x "$chorus" ]; then
  echo "selftest: $chorus is not built (run make)"
  exit 1
fi
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
  failed=$((failed + 1))
  echo "selftest FAILED: $*"
}

# expect_fail KIND PROPERTY_REGEX ARGS...: the run must exit 1, name the
# property, and its replay command must reproduce the same output.
expect_fail() {
  kind=$1 want=$2
  shift 2
  out=$("$chorus" sim "$@")
  rc=$?
  prop=$(printf '%s\n' "$out" | sed -n 's/^violation: \([a-z_]*\) .*/\1/p')
  replay=$(printf '%s\n' "$out" | sed -n 's/^replay: \.\/chorus //p')
  if [ "$rc" = 1 ] && printf '%s\n' "$prop" | grep -Eq "^($want)\$"; then ok
  else bad "$kind: want exit 1 and '$want', got exit $rc: $out"; return; fi
  # shellcheck disable=SC2086
  again=$("$chorus" $replay)
  if [ "$again" = "$out" ]; then ok; else bad "$kind: replay '$replay' differs"; fi
}

expect_fail corrupt integrity --seed 3 --mutate corrupt --duration 2
expect_fail duplicate exactly_once --seed 4 --mutate duplicate --duration 2 --loss 0.2
# In fifo order a held-back or lost delivery can only break fifo (or, if it
# was the last, liveness); in stronger orders the order checks may see it
# first, since the receiver then lacks a message others depend on.
expect_fail reorder fifo --seed 5 --mutate reorder --duration 2 --dup 0.2 --order fifo
expect_fail lose 'fifo|liveness' --seed 6 --mutate lose --duration 2 --reorder 0.2 --order fifo
expect_fail reorder-total 'fifo|causal|total_order' --seed 7 --mutate reorder --duration 2
expect_fail lose-causal 'fifo|causal|liveness' --seed 8 --mutate lose --duration 2 --order causal
# Exactly the property each was made for (these seeds are chosen so that the
# swapped deliveries are causally related, resp. concurrent).
expect_fail causal causal --seed 8 --mutate causal --duration 2 --order causal --rate 5
expect_fail total total_order --seed 9 --mutate total --duration 2 --rate 200 --delay 10:50
expect_fail total-mixed 'total_order|causal' --seed 9 --mutate total --duration 2 --rate 200 --delay 10:50 --order mixed
expect_fail safe safe --seed 10 --mutate safe --duration 2 --order safe
expect_fail agreement agreement --seed 13 --mutate agreement --duration 4 --order fifo --crashes 1 --crash-mode mid-send --loss 0.2
# Membership, with the peers' own failure detector (the first view change
# of the last node, a survivor, is misreported; a live node is reported
# removed; a restarted node misses the last message of its history).
expect_fail view view_agreement --seed 4 --mutate view --duration 3 --order fifo --fd fast --crashes 1 --crash-victim sequencer
expect_fail false-removal false_removal --seed 4 --mutate false-removal --duration 3 --order fifo --fd fast
expect_fail catch-up catch_up --seed 5 --mutate catch-up --duration 3 --order fifo --fd fast --crashes 1 --crash-victim sequencer --restarts 1 --downtime 3000:4000
# Partitions: two merge deliveries swapped (merge_order), a wrong member set
# in a run whose sides go separate ways (view_agreement), and a removal of a
# live node outside any partition's window (false_removal).
expect_fail merge merge_order --seed 2 --mutate merge --partitions 1 --fd fast --history 1000 --rate 200 --delay 10:50 --duration 5
expect_fail view-partition view_agreement --seed 2 --mutate view --partitions 1 --fd fast --history 1000
expect_fail false-removal-partition false_removal --seed 4 --mutate false-removal --duration 3 --order fifo --fd fast --partitions 1

# An exhausted network pool is an explicit runtime error, not silent loss.
out=$("$chorus" sim --seed 1 --nodes 10 --rate 500 --pool 50)
rc=$?
if [ "$rc" = 1 ] && printf '%s\n' "$out" | grep -q "network pool exhausted"; then ok
else bad "pool exhaustion: exit $rc: $out"; fi

# Bad usage: exit 2, a one-line reason naming the problem, then the usage.
for args in "--bogus" "--seed" "--seed x" "--seed -3" "--seeds 9..3" "--seeds 3" \
            "--loss 1.5" "--dup -0.1" "--reorder nan" "--delay 10:1" "--delay 5" \
            "--nodes 11" "--nodes 1" "--rate 0" "--duration 0" "--mutate nope" \
            "--seed 1 --seeds 1..2" "--pool 0" "--order chaos" "--private 2" \
            "--crashes 4 --nodes 5" "--crashes 1 --nodes 2" "--crashes x" \
            "--crash-mode sometimes" "--crash-victim n3" "--detect 9:1" "--swarm 3" \
            "--fd slow" "--fd" "--restarts 2 --crashes 1" "--restarts 9" \
            "--downtime 9:1" "--downtime 5" "--history 10001" "--detect-bound x" \
            "--keep-going 3"; do
  # shellcheck disable=SC2086
  err=$("$chorus" sim $args 2>&1 >/dev/null)
  rc=$?
  first=$(printf '%s\n' "$err" | head -n 1)
  if [ "$rc" = 2 ] && printf '%s\n' "$first" | grep -q "^chorus sim: " &&
     printf '%s\n' "$err" | grep -q "^usage: chorus sim"; then ok
  else bad "'$args': want exit 2 with reason and usage, got exit $rc: $first"; fi
done

if "$chorus" sim --help | grep -q "^usage: chorus sim"; then ok; else bad "--help"; fi

echo "selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/sh
# Determinism of `chorus sim`: the same seed and arguments give the same
# summary line, trace hash and byte-identical trace, every run (mixed
# orders, crashes, the peers' failure detector, restarts and swarm runs
# included); writing the trace does not
# change the hash; a seed run inside --seeds A..B equals the same seed run
# alone (no state leaks between seeds); a swarm seed equals the explicit
# options it prints; and changing the seed or any argument changes the hash.
# Exit 0 if all hold, 1 otherwise.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
chorus=${CHORUS:-$root/chorus}
if [ ! -x "$chorus" ]; then
  echo "determinism: $chorus is not built (run make)"
  exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chorus-det.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() {
  failed=$((failed + 1))
  echo "determinism FAILED: $*"
}

# The summary line of one run (first line of output).
line() { "$chorus" sim "$@" | head -n 1; }
hash_of() { line "$@" | sed -n 's/.* hash=\([0-9a-f]*\) .*/\1/p'; }

for args in "--seed 7" \
            "--seed 11 --loss 0.3 --dup 0.2 --reorder 0.3" \
            "--seed 12 --nodes 10 --duration 3 --rate 200 --loss 0.2 --dup 0.2 --reorder 0.2" \
            "--seed 13 --nodes 2 --rate 500 --duration 2 --loss 0.3 --delay 0:0" \
            "--seed 14 --nodes 6 --order mixed --crashes 2 --loss 0.1 --dup 0.1 --reorder 0.1" \
            "--seed 15 --nodes 4 --crashes 1 --crash-mode mid-output --crash-victim sequencer" \
            "--seed 16 --swarm" \
            "--seed 17 --fd fast --crashes 1 --loss 0.1 --order fifo" \
            "--seed 18 --fd default --nodes 4 --duration 4 --loss 0.2" \
            "--seed 19 --fd fast --crashes 2 --restarts 2 --downtime 500:5000 --order fifo --loss 0.05" \
            "--seed 20 --crashes 1 --restarts 1 --history 10 --order fifo" \
            "--seed 21 --fd fast --partitions 2 --history 1000 --order mixed --crashes 1" \
            "--seed 22 --partitions 3 --loss 0.1"; do
  # shellcheck disable=SC2086
  a=$(line $args --trace "$tmp/a.trace")
  # shellcheck disable=SC2086
  b=$(line $args --trace "$tmp/b.trace")
  # shellcheck disable=SC2086
  c=$(line $args)
  if [ -n "$a" ] && [ "$a" = "$b" ]; then ok; else bad "two runs of '$args' differ: '$a' vs '$b'"; fi
  if cmp -s "$tmp/a.trace" "$tmp/b.trace" && [ -s "$tmp/a.trace" ]; then ok
  else bad "traces of '$args' differ"; fi
  if [ "$a" = "$c" ]; then ok; else bad "writing the trace changed '$args': '$a' vs '$c'"; fi
done

# A seed inside a range equals the seed alone.
inrange=$("$chorus" sim --seeds 20..22 --loss 0.2 --dup 0.1 --reorder 0.2 | sed -n 2p)
alone=$(line --seed 21 --loss 0.2 --dup 0.1 --reorder 0.2)
if [ -n "$alone" ] && [ "$inrange" = "$alone" ]; then ok
else bad "seed 21 in 20..22 '$inrange' differs from alone '$alone'"; fi

# The same with the detector and restarts (no state leaks between seeds).
r="--fd fast --crashes 1 --restarts 1 --order fifo --downtime 3000:8000 --loss 0.05"
# shellcheck disable=SC2086
inrange=$("$chorus" sim --seeds 20..22 $r | sed -n 2p)
# shellcheck disable=SC2086
alone=$(line --seed 21 $r)
if [ -n "$alone" ] && [ "$inrange" = "$alone" ]; then ok
else bad "seed 21 in 20..22 '$inrange' differs from alone '$alone' ($r)"; fi

# A swarm seed is the same run as the explicit options it prints.
for seed in 3 4 5; do
  sw=$(hash_of --seed $seed --swarm)
  opts=$("$chorus" sim --seed $seed --swarm | head -n 1 | sed -n 's/.* swarm\[\([^]]*\)\].*/\1/p')
  # shellcheck disable=SC2086
  ex=$(hash_of --seed $seed $opts)
  if [ -n "$sw" ] && [ "$sw" = "$ex" ]; then ok
  else bad "swarm seed $seed ($sw) differs from '--seed $seed $opts' ($ex)"; fi
done

# Every input matters.
base=$(hash_of --seed 5 --loss 0.3)
for other in "--seed 6 --loss 0.3" "--seed 5 --loss 0.31" "--seed 5 --loss 0.3 --dup 0.01" \
             "--seed 5 --loss 0.3 --reorder 0.01" "--seed 5 --loss 0.3 --delay 1:11" \
             "--seed 5 --loss 0.3 --nodes 4" "--seed 5 --loss 0.3 --rate 51" \
             "--seed 5 --loss 0.3 --duration 9" "--seed 5 --loss 0.3 --order mixed" \
             "--seed 5 --loss 0.3 --private 0.1" "--seed 5 --loss 0.3 --crashes 1" \
             "--seed 5 --loss 0.3 --swarm" "--seed 5 --loss 0.3 --fd fast" \
             "--seed 5 --loss 0.3 --fd default" "--seed 5 --loss 0.3 --crashes 1 --restarts 1" \
             "--seed 5 --loss 0.3 --crashes 1 --restarts 1 --downtime 500:900" \
             "--seed 5 --loss 0.3 --crashes 1 --restarts 1 --history 5" \
             "--seed 5 --loss 0.3 --partitions 1"; do
  # shellcheck disable=SC2086
  h=$(hash_of $other)
  if [ -n "$h" ] && [ "$h" != "$base" ]; then ok; else bad "'$other' has the hash of '--seed 5 --loss 0.3' ($h)"; fi
done

# The new options change nothing when left at their defaults: the hash of a
# run that names them equals the one that does not.
for args in "--seed 5 --loss 0.3 --crashes 1" "--seed 6 --order mixed --crashes 2 --nodes 6"; do
  # shellcheck disable=SC2086
  plain=$(hash_of $args)
  # shellcheck disable=SC2086
  named=$(hash_of $args --fd off --restarts 0 --history 100 --downtime 500:8000 --partitions 0)
  if [ -n "$plain" ] && [ "$plain" = "$named" ]; then ok
  else bad "'$args' with the default membership options named: $named vs $plain"; fi
done

echo "determinism: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/sh
# Valgrind memcheck over the simulator: runs with every fault kind, every
# room order (mixed too), crashes of every mode (a crashed node's core is
# freed mid-run), the peers' failure detector, restarts (a new core for a
# crashed node, catch-up), a swarm run, runs that end in a violation, one
# that ends in an exhausted limit, bad usage, and the simulator's unit tests. Any memcheck error or
# definite/indirect leak fails (memcheck's exit code 99 keeps it apart from
# chorus's own codes). A protocol violation (exit 1) in the long runs is the
# sweep's business, not this script's: there exit 0 and 1 are both fine.
# Exit 0 if clean, 1 otherwise; skipped (exit 0) if valgrind is missing.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
chorus=${CHORUS:-$root/chorus}
if ! command -v valgrind > /dev/null 2>&1; then
  echo "sim valgrind: valgrind not installed, skipped"
  exit 0
fi
if [ ! -x "$chorus" ]; then
  echo "sim valgrind: $chorus is not built (run make)"
  exit 1
fi
passed=0 failed=0
# vg WANT COMMAND...: WANT is a grep -E pattern for the exit code.
vg() {
  want=$1
  shift
  valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect "$@" > /dev/null 2> "${TMPDIR:-/tmp}/chorus-vg.$$"
  rc=$?
  if printf '%s\n' "$rc" | grep -Eqx "$want"; then passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "sim valgrind FAILED (exit $rc, want $want): $*"
    cat "${TMPDIR:-/tmp}/chorus-vg.$$"
  fi
  rm -f "${TMPDIR:-/tmp}/chorus-vg.$$"
}

vg '0|1' "$chorus" sim --seeds 1..3 --loss 0.3 --dup 0.2 --reorder 0.3
vg '0|1' "$chorus" sim --seed 4 --nodes 10 --duration 2 --rate 200 --loss 0.2 --dup 0.1 --reorder 0.2
vg '0|1' "$chorus" sim --seed 5 --nodes 2 --rate 500 --duration 2 --loss 0.3 --order fifo
vg '0|1' "$chorus" sim --seed 6 --nodes 4 --duration 2 --loss 0.1 --dup 0.1 --order causal
vg '0|1' "$chorus" sim --seed 7 --nodes 3 --duration 2 --rate 100 --loss 0.1 --order safe
vg '0|1' "$chorus" sim --seed 10 --nodes 5 --duration 3 --order mixed --crashes 2 --loss 0.1 --dup 0.1 --reorder 0.1
vg '0|1' "$chorus" sim --seed 11 --nodes 4 --duration 3 --crashes 1 --crash-mode mid-output --crash-victim sequencer
vg '0|1' "$chorus" sim --seed 12 --nodes 4 --duration 3 --crashes 2 --crash-mode mid-send --order safe
vg '0|1' "$chorus" sim --seeds 13..14 --swarm --duration 2
vg '0|1' "$chorus" sim --seed 15 --nodes 5 --duration 3 --fd fast --crashes 1 --loss 0.1
vg '0|1' "$chorus" sim --seed 16 --nodes 4 --duration 4 --fd fast --crashes 2 --restarts 2 --downtime 500:3000 --order mixed --loss 0.1
vg '0|1' "$chorus" sim --seed 17 --nodes 4 --duration 3 --crashes 1 --restarts 1 --history 5 --order fifo
vg 1 "$chorus" sim --seed 5 --mutate catch-up --duration 3 --order fifo --fd fast --crashes 1 --crash-victim sequencer --restarts 1 --downtime 3000:4000
vg 1 "$chorus" sim --seed 8 --duration 1 --mutate reorder
vg 1 "$chorus" sim --seed 13 --mutate agreement --duration 4 --order fifo --crashes 1 --crash-mode mid-send --loss 0.2
vg 1 "$chorus" sim --seed 9 --nodes 10 --rate 500 --pool 50
vg 2 "$chorus" sim --loss 2
# The unit tests of the build that made $chorus (make B=DIR BIN=DIR/chorus),
# else of the default build.
units=$(dirname "$chorus")
[ -x "$units/test_sim_run" ] || units=$root/build
for t in "$units"/test_sim_*; do
  [ -x "$t" ] && vg 0 "$t"
done
echo "sim valgrind: $passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/sh
# Simulation sweep (make test): 1000 seeds of `chorus sim` in several
# sub-sweeps that mix node counts, load, delays, every room order (fifo,
# causal, total, safe) and every network fault the simulator has (loss up to
# 0.3 and a total blackout, duplication, reordering). Sub-sweeps run in
# parallel (SIM_JOBS, default 2); each stops at its first failing seed and
# prints the property, the first offending event and the replay command.
# Exit 0 if every seed passed, 1 otherwise.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
chorus=${CHORUS:-$root/chorus}
jobs=${SIM_JOBS:-2}
if [ ! -x "$chorus" ]; then
  echo "sweep: $chorus is not built (run make)"
  exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chorus-sweep.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# name | seeds | arguments (room order: total unless given)
cat > "$tmp/plan" <<'PLAN'
lossy5|1..300|--loss 0.3 --dup 0.2 --reorder 0.3
ten-causal|1001..1100|--nodes 10 --duration 5 --loss 0.2 --dup 0.1 --reorder 0.2 --order causal
pressure2-fifo|2001..2150|--nodes 2 --rate 400 --duration 5 --loss 0.3 --dup 0.1 --reorder 0.2 --order fifo
chaos3|3001..3150|--nodes 3 --delay 0:50 --loss 0.1 --dup 0.5 --reorder 0.5
wan6-safe|4001..4100|--nodes 6 --rate 30 --duration 5 --delay 5:100 --loss 0.15 --dup 0.05 --reorder 0.1 --order safe
blackout|5001..5100|--loss 1 --duration 1 --rate 20
ties-safe|6001..6100|--nodes 4 --delay 0:1 --loss 0.05 --dup 0.05 --order safe
PLAN

# Runs one sub-sweep; its output goes to $tmp/NAME.out, its status to .rc.
run_one() {
  name=$1 seeds=$2
  shift 2
  # shellcheck disable=SC2068
  "$chorus" sim --seeds "$seeds" --quiet $@ > "$tmp/$name.out" 2>&1
  echo $? > "$tmp/$name.rc"
}

running=0
while IFS='|' read -r name seeds args; do
  run_one "$name" "$seeds" $args &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait
    running=0
  fi
done < "$tmp/plan"
wait

passed=0 failed=0 status=0
while IFS='|' read -r name seeds args; do
  out="$tmp/$name.out"
  rc=$(cat "$tmp/$name.rc" 2>/dev/null || echo 1)
  last=$(tail -n 1 "$out")
  p=$(printf '%s\n' "$last" | sed -n 's/.* passed=\([0-9]*\) .*/\1/p')
  f=$(printf '%s\n' "$last" | sed -n 's/.* failed=\([0-9]*\) .*/\1/p')
  if [ "$rc" != 0 ] || [ -z "$p" ]; then
    status=1
    echo "sweep $name FAILED: chorus sim --seeds $seeds $args"
    cat "$out"
  fi
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-1}))
  echo "sweep $name: $last"
done < "$tmp/plan"
echo "sweep: $passed passed, $failed failed"
[ "$status" = 0 ] && [ "$failed" = 0 ]

#!/bin/sh
# The `make test` runner. Runs every step, prints one line per step (PASS or
# FAIL, with the tail of its output on failure) and ends with the line
# "N passed, N failed"; exits 1 if any step failed.
#
# Steps, in order:
#   unit         every build/test_* binary
#   sim          every tests/sim/*.sh
#   integration  every tests/integration/*.sh except demo.sh (make demo)
#   valgrind     memcheck over every unit binary, one `chorus sim` run and
#                a two-peer exchange (tests/integration/lib/valgrind_peers.sh),
#                a peer through a server (lib/valgrind_server_peers.sh);
#                skipped with a message only when valgrind is not installed
#
# Environment: STEP_TIMEOUT (seconds per step, default 900, applied when
# timeout(1) exists), KEEP_LOGS=1 keeps the per-step logs.
set -u
cd "$(dirname "$0")/.." || exit 1

STEP_TIMEOUT=${STEP_TIMEOUT:-900}
VALGRIND="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect"
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/chorus-test.XXXXXX") || exit 1
[ -n "${KEEP_LOGS:-}" ] || trap 'rm -rf "$LOGS"' EXIT
passed=0
failed=0
steps=0
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout $STEP_TIMEOUT"

# step NAME COMMAND...: run one step, record and print its verdict.
step() {
  name=$1; shift
  steps=$((steps + 1))
  log="$LOGS/$steps.log"
  t0=$(date +%s)
  # shellcheck disable=SC2086  # $TIMEOUT is empty or "timeout N"
  $TIMEOUT "$@" >"$log" 2>&1 </dev/null
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    printf 'PASS  %-44s %4ss\n' "$name" "$secs"
  else
    failed=$((failed + 1))
    why="exit $rc"
    [ $rc -eq 124 ] && [ -n "$TIMEOUT" ] && why="timed out after ${STEP_TIMEOUT}s"
    printf 'FAIL  %-44s %4ss  (%s)\n' "$name" "$secs" "$why"
    tail -n 30 "$log" | sed 's/^/      | /'
  fi
}

if [ ! -x ./chorus ]; then
  echo "run_all: ./chorus is not built; run make test (or make first)"
  echo "0 passed, 1 failed"
  exit 1
fi

units=
for t in build/test_*; do
  [ -f "$t" ] && [ -x "$t" ] && units="$units $t"
done

echo "== unit tests"
for t in $units; do step "unit $(basename "$t")" "$t"; done
step "fuzz corpora and past crashers (replay)" make -s fuzz-replay

echo "== simulation"
for s in tests/sim/*.sh; do
  [ -f "$s" ] && step "sim $(basename "$s" .sh)" sh "$s"
done

echo "== integration (real processes on loopback)"
for s in tests/integration/*.sh; do
  [ -f "$s" ] || continue
  [ "$(basename "$s")" = demo.sh ] && continue
  step "integration $(basename "$s" .sh)" sh "$s"
done

echo "== valgrind memcheck"
if command -v valgrind >/dev/null 2>&1; then
  for t in $units; do
    # shellcheck disable=SC2086
    step "valgrind $(basename "$t")" $VALGRIND "$t"
  done
  # shellcheck disable=SC2086
  step "valgrind chorus sim --seed 1" $VALGRIND ./chorus sim --seed 1 --duration 5 \
    --loss 0.1 --dup 0.05 --reorder 0.1
  step "valgrind chorus peer (2 peers)" sh tests/integration/lib/valgrind_peers.sh
  step "valgrind chorus peer --server" sh tests/integration/lib/valgrind_server_peers.sh
else
  echo "SKIP  valgrind steps: valgrind is not installed (apt-get install valgrind)"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

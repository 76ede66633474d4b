#!/bin/sh
# ThreadSanitizer check of the platform layer: builds chorus and the platform
# unit test with -fsanitize=thread (clang preferred) into build/tsan/, runs
# the unit test, then the 10-peer loopback test, the crash and leave test
# (view changes, graceful leave) and the CLI error test with the sanitized
# binary. Any TSan report fails. Exit 0 clean, 1 otherwise.
# Suggested Makefile target:  tsan: ; tests/integration/lib/tsan.sh
set -u
cd "$(dirname "$0")/../../.." || exit 1
CC=${TSAN_CC:-}
if [ -z "$CC" ]; then
  if command -v clang >/dev/null 2>&1; then CC=clang; else CC=cc; fi
fi
FLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -g -O1 -fsanitize=thread"
OUT=build/tsan
mkdir -p "$OUT"
# shellcheck disable=SC2086
$CC $FLAGS -Icore -Iplatform -Isim -o "$OUT/chorus" core/*.c platform/*.c sim/*.c cli/*.c -lpthread ||
  { echo "tsan: build failed"; exit 1; }
# shellcheck disable=SC2086
$CC $FLAGS -Icore -Itests/unit -o "$OUT/test_platform" tests/unit/test_platform.c core/*.c \
  -lpthread || { echo "tsan: build failed"; exit 1; }

LOG=$(mktemp -d "${TMPDIR:-/tmp}/chorus-tsan.XXXXXX") || exit 1
trap 'rm -rf "$LOG"' EXIT
# Every sanitized process writes its reports to its own file here.
TSAN_OPTIONS="log_path=$LOG/report halt_on_error=0"
export TSAN_OPTIONS
ok=1
"$OUT/test_platform" >"$LOG/unit.out" 2>&1 || { echo "tsan: test_platform failed"; ok=0; }
CHORUS=$OUT/chorus DEADLINE=300 sh tests/integration/peers10.sh || ok=0
# Detection is timed against the design, not TSan's slowdown: a wider bound.
CHORUS=$OUT/chorus DETECT_BOUND_MS=8000 sh tests/integration/crash10.sh || ok=0
CHORUS=$OUT/chorus sh tests/integration/cli_errors.sh || ok=0
# The peers' server watcher and session threads, and the server failing over.
CHORUS=$OUT/chorus DETECT_BOUND_MS=8000 sh tests/integration/server10.sh || ok=0
CHORUS=$OUT/chorus sh tests/integration/cluster_peers.sh || ok=0
if ls "$LOG"/report* >/dev/null 2>&1; then
  echo "tsan: ThreadSanitizer reports:"
  cat "$LOG"/report*
  ok=0
fi
if [ $ok = 1 ]; then
  echo "tsan: PASS (no data race reported)"
  exit 0
fi
echo "tsan: FAIL"
exit 1

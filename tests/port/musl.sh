#!/bin/sh
# musl: a fully static chorus built with musl libc (musl-gcc), with the
# project's warning flags (-std=c11 -Wall -Wextra -Wpedantic -Werror
# -D_POSIX_C_SOURCE=200809L, from the Makefile) plus -static. Checks:
#   1. file(1) and ldd(1) call the binary (and the unit tests) static;
#   2. every unit test, built with musl too, passes;
#   3. `chorus sim --seed 1` and the other cases of tests/port/lib.sh give
#      the same trace hash (and the same summary line, and for two cases the
#      same trace bytes) as the native glibc build of the same tree;
#   4. three static musl peers chat on loopback with 10 % injected loss and
#      every transcript passes tests/integration/lib/check.awk.
#
#   tests/port/musl.sh [--optional]
#
# Without musl-gcc it says how to get it (apt-get install musl-tools) and
# exits 1, or 0 with SKIP when called with --optional. Builds go to
# build-port/musl and build-port/native (PORT_NATIVE_DIR). POSIX sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/port/lib.sh
. tests/integration/lib/peers.sh

optional=0
case ${1:-} in
  --optional) optional=1 ;;
  "") ;;
  *) echo "usage: tests/port/musl.sh [--optional]"; exit 2 ;;
esac

MUSL_CC=${MUSL_CC:-musl-gcc}
if ! command -v "$MUSL_CC" >/dev/null 2>&1; then
  echo "musl: $MUSL_CC is not installed; on Debian or Ubuntu: apt-get install musl-tools"
  if [ $optional = 1 ]; then echo "SKIP musl (no musl-gcc)"; exit 0; fi
  exit 1
fi

DIR=${PORT_MUSL_DIR:-build-port/musl}
T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-musl.XXXXXX") || exit 1
trap 'grp_kill; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
start=$(now_s)
verdict=0

port_build_native || exit 1
port_build "$DIR" "$MUSL_CC" LDLIBS="-static -lpthread" || exit 1

echo "== static?"
for f in "$DIR/chorus" "$DIR/test_wire"; do port_check_static "$f" || verdict=1; done

echo "== unit tests (musl, static)"
port_units musl "$DIR" || verdict=1

echo "== chorus sim: musl vs native glibc"
"$DIR/chorus" sim --seed 1 || true
port_compare_sims musl "$DIR/chorus" || verdict=1

echo "== three static musl peers on loopback, 10 % loss"
port_chat "$T" "$DIR/chorus" "alice bob carol" || { verdict=1; KEEP=1; echo "musl: transcripts kept in $T"; }

if [ $verdict = 0 ]; then
  echo "musl: PASS in $(( $(now_s) - start )) s"
else
  echo "musl: FAIL"
fi
exit $verdict

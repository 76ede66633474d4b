#!/bin/sh
# s390x: chorus on a big-endian host. Cross-compiles chorus and the unit
# tests for s390x (IBM Z, big-endian, 64-bit) with s390x-linux-gnu-gcc,
# statically, with the project's warning flags (from the Makefile, -Werror
# included), and runs them under qemu user-mode emulation:
#   1. every unit test but test_platform (qemu-user does not carry the
#      UDP GSO/GRO control messages its offload tests need; set
#      PORT_SKIP_UNITS= to run it anyway);
#   2. `chorus sim` for the cases of tests/port/lib.sh (seeds 1..8 with
#      several fault mixes and orders, plus newer options when the simulator
#      has them), printing the s390x and x86-64 trace hashes side by side;
#      two traces are compared byte for byte and a 100-seed sweep line by
#      line; any difference fails;
#   3. a mixed-endian group on loopback: alice runs the native x86-64
#      binary, bob and carol the s390x one under qemu, with 10 % injected
#      loss; every transcript passes tests/integration/lib/check.awk. This
#      checks the wire format between hosts of different byte order.
#
#   tests/port/s390x.sh [--optional]
#
# Needs s390x-linux-gnu-gcc (apt-get install gcc-s390x-linux-gnu, which
# brings libc6-dev-s390x-cross) and qemu-s390x-static (apt-get install
# qemu-user-static) or qemu-s390x (apt-get install qemu-user). Without them
# it says so and exits 1, or 0 with SKIP when called with --optional.
# Builds go to build-port/s390x and build-port/native. POSIX sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/port/lib.sh
. tests/integration/lib/peers.sh

optional=0
case ${1:-} in
  --optional) optional=1 ;;
  "") ;;
  *) echo "usage: tests/port/s390x.sh [--optional]"; exit 2 ;;
esac

XCC=${S390X_CC:-s390x-linux-gnu-gcc}
QEMU=${QEMU_S390X:-}
if [ -z "$QEMU" ]; then
  for q in qemu-s390x-static qemu-s390x; do
    command -v "$q" >/dev/null 2>&1 && { QEMU=$q; break; }
  done
fi
missing=
command -v "$XCC" >/dev/null 2>&1 || missing="$missing gcc-s390x-linux-gnu"
if [ -z "$QEMU" ] || ! command -v "$QEMU" >/dev/null 2>&1; then
  missing="$missing qemu-user-static(or qemu-user)"
fi
if [ -n "$missing" ]; then
  echo "s390x: the cross tools are missing:$missing"
  echo "s390x: on Debian or Ubuntu: apt-get install gcc-s390x-linux-gnu qemu-user-static"
  if [ $optional = 1 ]; then echo "SKIP s390x (no cross compiler or qemu)"; exit 0; fi
  exit 1
fi

DIR=${PORT_S390X_DIR:-build-port/s390x}
T=$(mktemp -d "${TMPDIR:-/tmp}/chorus-s390x.XXXXXX") || exit 1
trap 'grp_kill; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
start=$(now_s)
verdict=0

port_build_native || exit 1
port_build "$DIR" "$XCC" LDLIBS="-static -lpthread" || exit 1
port_check_static "$DIR/chorus" || verdict=1
case $(file -b "$DIR/chorus" 2>/dev/null) in
  *MSB*S/390* | "") ;;
  *) echo "s390x: FAIL: $DIR/chorus is not a big-endian s390x executable"; exit 1 ;;
esac
echo "s390x: running under $QEMU ($("$QEMU" --version 2>/dev/null | head -n 1))"
# Prove the emulated host really is big-endian: a one-line check built with
# the same cross compiler.
printf '#include <stdio.h>\nint main(void){unsigned x=1;return *(unsigned char*)&x==0?0:1;}\n' >"$T/be.c"
if "$XCC" -static -o "$T/be" "$T/be.c" 2>/dev/null && "$QEMU" "$T/be"; then
  echo "s390x: the emulated host is big-endian"
else
  echo "s390x: FAIL: the emulated host does not look big-endian"; verdict=1
fi

echo "== unit tests (s390x, under qemu)"
# test_platform's UDP segmentation offload tests (GSO/GRO) fail under
# qemu-user, which does not carry the UDP_SEGMENT and UDP_GRO control
# messages faithfully to and from the host kernel: skipped unless asked for
# (PORT_SKIP_UNITS= runs it). The wire itself is checked below, between an
# x86-64 peer and two emulated ones.
PORT_SKIP_UNITS=${PORT_SKIP_UNITS-test_platform}
port_units s390x "$DIR" "$QEMU" || verdict=1

echo "== chorus sim: s390x vs x86-64"
port_compare_sims s390x "$QEMU" "$DIR/chorus" || verdict=1

echo "== mixed-endian group: alice x86-64, bob and carol s390x (qemu), 10 % loss"
# A wrapper that peers.sh starts as $CHORUS: it picks the binary by --name
# (argument 3: `peer --name NAME ...`) and execs it, so the pid peers.sh
# records is the peer's own.
cat >"$T/chorus-mixed" <<EOF
#!/bin/sh
case \$3 in
  alice) exec "$PWD/$PORT_NATIVE" "\$@" ;;
  *) exec "$QEMU" "$PWD/$DIR/chorus" "\$@" ;;
esac
EOF
chmod +x "$T/chorus-mixed"
mkdir -p "$T/chat"
port_chat "$T/chat" "$T/chorus-mixed" "alice bob carol" || { verdict=1; KEEP=1; echo "s390x: transcripts kept in $T/chat"; }

if [ $verdict = 0 ]; then
  echo "s390x: PASS in $(( $(now_s) - start )) s"
else
  echo "s390x: FAIL"
fi
exit $verdict

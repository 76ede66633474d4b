#!/bin/sh
# Build and run tests/bench/bench_link.c: chorus between two real peers on
# loopback beside the raw UDP rate, in one run. Run from the repository root
# after `make` (it needs build/libchorus.a). Arguments go to bench_link
# (--messages N, --size BYTES). The lead can replace the build line with a
# Makefile rule:
#   $(B)/bench_link: tests/bench/bench_link.c $(PLATFORM_OBJ) $(B)/libchorus.a
set -eu
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
[ -f build/libchorus.a ] || make lib
$CC -O2 -g -std=c11 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L \
  -Icore -Iplatform -o build/bench_link tests/bench/bench_link.c platform/*.c \
  build/libchorus.a -lpthread
exec build/bench_link "$@"

#!/bin/sh
# The benchmark is `make bench` (tests/bench/bench.c); this wrapper stays for
# old habits. Arguments go to bench (see its header), e.g. --quick.
set -eu
cd "$(dirname "$0")/../.."
exec make bench BENCH_ARGS="$*"

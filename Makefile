# chorus: one Makefile, no other build system (SPEC section 2).
#   make            build ./chorus and build/libchorus.a (core only)
#   make demo       10 real peers on loopback with injected loss, transcripts checked
#   make test       unit tests, simulation sweep, integration tests, valgrind
#   make CC=clang   the same with clang

CC      ?= cc
OPT     ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Werror
CFLAGS  += $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -Icore
LDLIBS  += -lpthread
B       ?= build
BIN     ?= chorus

CORE_SRC := $(sort $(wildcard core/*.c))
APP_SRC  := $(sort $(wildcard platform/*.c sim/*.c cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/%)
HDRS     := $(wildcard core/*.h platform/*.h sim/*.h cli/*.h tests/unit/*.h)

.PHONY: all lib units test demo clean
all: $(BIN) lib units

lib: $(B)/libchorus.a

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iplatform -Isim -c $< -o $@

$(B)/libchorus.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(APP_OBJ) $(B)/libchorus.a
	$(CC) $(CFLAGS) -o $@ $(APP_OBJ) $(B)/libchorus.a $(LDLIBS)

units: $(UNIT_BIN)

$(B)/test_%: tests/unit/test_%.c $(B)/libchorus.a $(HDRS)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libchorus.a $(LDLIBS)

# The store's unit test includes platform/store.c and platform/fio.c.
$(B)/test_store: tests/unit/test_store.c platform/store.c platform/fio.c $(B)/libchorus.a $(HDRS)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libchorus.a $(LDLIBS)

# The write-ahead log's unit test includes platform/wal.c and platform/fio.c.
$(B)/test_wal: tests/unit/test_wal.c platform/wal.c platform/fio.c $(B)/libchorus.a $(HDRS)
	$(CC) $(CFLAGS) -Itests/unit -Iplatform -o $@ $< $(B)/libchorus.a $(LDLIBS)

# The platform's unit test includes the platform/*.c and cli/*.c files it tests.
$(B)/test_platform: tests/unit/test_platform.c $(wildcard platform/*.c cli/*.c) $(B)/libchorus.a $(HDRS)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libchorus.a $(LDLIBS)

# Simulator unit tests include the sim/*.c files they test.
$(B)/test_sim_%: tests/unit/test_sim_%.c $(wildcard sim/*.c) $(B)/libchorus.a $(HDRS)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libchorus.a $(LDLIBS)

test: all
	tests/run_all.sh

demo: chorus
	tests/integration/demo.sh

clean:
	rm -rf $(B) $(BIN)

# ---- fuzzing (libFuzzer, clang) and corpus replay (any compiler) ----------
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FB := $(B)/fuzz

.PHONY: fuzz fuzz-replay
$(FB)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(B)/libchorus.a $(HDRS)
	@mkdir -p $(FB)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(B)/libchorus.a

# The command-line target also needs the CLI parsers it fuzzes.
FUZZ_CLI_SRC := cli/peer_args.c cli/args.c cli/line.c
$(FB)/replay_cmdline: tests/fuzz/fuzz_cmdline.c tests/fuzz/replay.c $(FUZZ_CLI_SRC) $(B)/libchorus.a $(HDRS)
	@mkdir -p $(FB)
	$(CC) $(CFLAGS) -Icli -o $@ tests/fuzz/fuzz_cmdline.c tests/fuzz/replay.c $(FUZZ_CLI_SRC) $(B)/libchorus.a

# Replays every corpus file and every past crasher (tests/fuzz/crashers/T).
fuzz-replay: $(FUZZ_TARGETS:%=$(FB)/replay_%)
	@for t in $(FUZZ_TARGETS); do \
	  dirs=tests/fuzz/corpus/$$t; [ -d tests/fuzz/crashers/$$t ] && dirs="$$dirs tests/fuzz/crashers/$$t"; \
	  printf '%s: ' $$t; $(FB)/replay_$$t $$dirs || exit 1; done

# Runs each target for FUZZ_SECONDS with clang's libFuzzer, ASan and UBSan.
fuzz:
	@command -v clang >/dev/null || { echo "fuzz: clang is not installed"; exit 1; }
	@mkdir -p $(FB)/work
	@for t in $(FUZZ_TARGETS); do \
	  extra=; [ $$t = cmdline ] && extra="-Icli $(FUZZ_CLI_SRC)"; \
	  clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -std=c11 -D_POSIX_C_SOURCE=200809L -Icore -o $(FB)/fuzz_$$t tests/fuzz/fuzz_$$t.c $(CORE_SRC) $$extra || exit 1; \
	  mkdir -p $(FB)/work/$$t; echo "fuzz_$$t ($(FUZZ_SECONDS) s):"; \
	  $(FB)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FB)/work/$$t- $(FB)/work/$$t tests/fuzz/corpus/$$t 2>&1 | \
	    grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|SUMMARY' ; \
	done

# ---- sanitizers -------------------------------------------------------------
.PHONY: asan tsan bench
# ThreadSanitizer over the threaded platform layer: its unit test, then 10
# real peers and the CLI error test with the sanitized binary.
tsan:
	tests/integration/lib/tsan.sh

# Raw UDP loopback baselines beside chorus, measured in the same run; writes
# docs/BENCHMARKS.md and docs/bench.svg (BENCH_ARGS=--quick for a short try).
BENCH_SRC := $(sort $(wildcard tests/bench/*.c))
PLAT_OBJ  := $(patsubst %.c,$(B)/%.o,$(wildcard platform/*.c))
$(B)/bench: $(BENCH_SRC) $(wildcard tests/bench/*.h) $(PLAT_OBJ) $(B)/libchorus.a $(HDRS)
	$(CC) $(CFLAGS) -Iplatform -Itests/bench -o $@ $(BENCH_SRC) $(PLAT_OBJ) $(B)/libchorus.a $(LDLIBS)

bench: $(BIN) $(B)/bench
	$(B)/bench --chorus ./$(BIN) $(BENCH_ARGS)
SAN_OPT := -O1 -g -fno-omit-frame-pointer

# ASan + UBSan, no recovery: unit tests and a simulation sweep.
asan:
	$(MAKE) B=build/asan BIN=build/asan/chorus \
	  OPT="$(SAN_OPT) -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  LDLIBS="-lpthread -fsanitize=address,undefined" all
	@set -e; for t in build/asan/test_*; do echo "asan: $$t"; $$t >/dev/null; done
	build/asan/chorus sim --seeds 1..200 --loss 0.3 --dup 0.2 --reorder 0.3 --quiet
	build/asan/chorus sim --seeds 1..100 --order safe --loss 0.1 --quiet

# ---- portability and real-network checks (not part of make test) --------
.PHONY: port-musl port-s390x netns
# Static musl build: static check, unit tests, sim hashes vs native glibc.
port-musl:
	sh tests/port/musl.sh
# Big-endian: static s390x cross build under qemu-user; hashes vs x86-64.
port-s390x:
	sh tests/port/s390x.sh
# 10 peers in network namespaces with nftables packet loss (needs root).
netns: $(BIN)
	CHORUS=$(abspath $(BIN)) sh tests/netns/lossy10.sh

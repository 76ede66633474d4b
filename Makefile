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
B       := build

CORE_SRC := $(sort $(wildcard core/*.c))
APP_SRC  := $(sort $(wildcard platform/*.c sim/*.c cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/%)
HDRS     := $(wildcard core/*.h platform/*.h sim/*.h cli/*.h tests/unit/*.h)

.PHONY: all lib units test demo clean
all: chorus lib units

lib: $(B)/libchorus.a

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iplatform -Isim -c $< -o $@

$(B)/libchorus.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

chorus: $(APP_OBJ) $(B)/libchorus.a
	$(CC) $(CFLAGS) -o $@ $(APP_OBJ) $(B)/libchorus.a $(LDLIBS)

units: $(UNIT_BIN)

$(B)/test_%: tests/unit/test_%.c $(B)/libchorus.a $(HDRS)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libchorus.a $(LDLIBS)

# Simulator unit tests include the sim/*.c files they test.
$(B)/test_sim_%: tests/unit/test_sim_%.c $(wildcard sim/*.c) $(B)/libchorus.a $(HDRS)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libchorus.a $(LDLIBS)

test: all
	tests/run_all.sh

demo: chorus
	tests/integration/demo.sh

clean:
	rm -rf $(B) chorus

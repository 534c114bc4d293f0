# SPDX-License-Identifier: GPL-2.0
# The one entry point: deps, all, test, demo, bench, install, clean.
# Everything built goes to $(BUILD), which git ignores.

BUILD      ?= build
PREFIX     ?= /usr/local
DESTDIR    ?=
CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

PKGS       := libbpf libxdp check
CFLAGS     ?= -O2 -g
CFLAGS     += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
              -Iinclude -Iuser -I$(BUILD) \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS_BPF := $(shell pkg-config --libs libxdp libbpf 2>/dev/null || echo -lxdp -lbpf -lelf -lz)
LDLIBS_CHK := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Iinclude -Ibpf -I$(BUILD)

BPF_SRCS   := $(wildcard bpf/*.h) bpf/sharenat.bpf.c include/sharenat.h
USER_LIB   := user/parse.c user/error.c user/pins.c user/tc.c user/netlink.c \
              user/vec.c user/netdev.c user/map_iter.c user/xdp.c \
              user/security_group.c \
              user/attachment.c user/function.c user/sandbox.c user/flows.c \
              user/device.c \
              user/counters.c user/counter_slots.c user/latency.c user/apply.c \
              user/apply_parse.c user/apply_state.c user/apply_plan.c \
              user/apply_run.c user/apply_write.c
USER_CLI   := user/main.c user/cli.c user/output.c user/bench_attach.c
USER_HDRS  := $(wildcard user/*.h) include/sharenat.h include/libsharenat.h
LIB_OBJS   := $(USER_LIB:user/%.c=$(BUILD)/%.o)
CLI_OBJS   := $(USER_CLI:user/%.c=$(BUILD)/%.o)
TEST_SRCS  := $(wildcard tests/unit/*.c)
TEST_OBJS  := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%.o)

.PHONY: all deps test unit-test e2e-test demo bench install clean

all: $(BUILD)/sharenat $(BUILD)/unit-tests

deps:
	@tools/deps.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp
	mv $@.tmp $@

$(BUILD)/sharenat.bpf.o: $(BPF_SRCS) $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c bpf/sharenat.bpf.c -o $@

$(BUILD)/sharenat.skel.h: $(BUILD)/sharenat.bpf.o
	$(BPFTOOL) gen skeleton $< name sharenat_bpf > $@.tmp
	mv $@.tmp $@

$(BUILD)/%.o: user/%.c $(USER_HDRS) $(BUILD)/sharenat.skel.h
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libsharenat.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/sharenat: $(CLI_OBJS) $(BUILD)/libsharenat.a
	$(CC) $(CFLAGS) $^ $(LDLIBS_BPF) -o $@

$(BUILD)/tests/%.o: tests/unit/%.c $(wildcard tests/unit/*.h) $(USER_HDRS) $(BUILD)/sharenat.skel.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/unit-tests: $(TEST_OBJS) $(BUILD)/libsharenat.a
	$(CC) $(CFLAGS) $^ $(LDLIBS_CHK) $(LDLIBS_BPF) -lm -lpthread -lrt -lsubunit -o $@

# The README's test command: installs what is missing, builds, runs the
# unit tests (Check, BPF_PROG_TEST_RUN) and the netns end-to-end tests,
# then prints one closing count.
test: deps
	@$(MAKE) --no-print-directory all
	@tools/run-tests.sh $(BUILD)

unit-test: all
	$(BUILD)/unit-tests

e2e-test: all
	tests/e2e/run.sh $(BUILD)/sharenat

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh $(BUILD)/sharenat

# Benchmarks (root, a few minutes; never part of `make test`): one table of
# sharenat beside its baselines, see docs/performance.md.
bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/sharenat $(BUILD)/libsharenat.a
	@$(MAKE) --no-print-directory -f tools/bench/bench.mk BUILD=$(BUILD)
	@tools/bench/run.sh $(BUILD)

install: $(BUILD)/sharenat
	install -D -m 0755 $(BUILD)/sharenat $(DESTDIR)$(PREFIX)/sbin/sharenat
	install -D -m 0644 docs/sharenat.8 $(DESTDIR)$(PREFIX)/share/man/man8/sharenat.8
	install -D -m 0644 include/sharenat.h $(DESTDIR)$(PREFIX)/include/sharenat/sharenat.h
	install -D -m 0644 include/libsharenat.h $(DESTDIR)$(PREFIX)/include/sharenat/libsharenat.h
	install -D -m 0644 $(BUILD)/libsharenat.a $(DESTDIR)$(PREFIX)/lib/libsharenat.a

clean:
	rm -rf $(BUILD)

# ---- fuzzing, sanitizers, soak (tests/fuzz/, tools/soak.sh) ----
# make fuzz: the fast path under random and mutated frames (FUZZ_CASES,
# FUZZ_SEED); make fuzz-parsers: libFuzzer on the CLI's parsers, each for
# FUZZ_SECONDS; make sanitize: the library, CLI and unit tests built with
# ASan+UBSan in $(SAN_BUILD) and run, then the CLI under valgrind; make
# soak: churn sandboxes under traffic for SOAK_SECONDS.
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_SRCS   := tests/fuzz/fastpath.c tests/fuzz/world.c tests/fuzz/gen.c \
               tests/fuzz/check.c
FUZZ_OBJS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%.o)
FUZZ_CASES  ?= 1000000

.PHONY: fuzz fuzz-build

$(FUZZ_DIR)/probe.bpf.o: tests/fuzz/probe.bpf.c tests/fuzz/probe.h include/sharenat.h $(BUILD)/vmlinux.h
	@mkdir -p $(FUZZ_DIR)
	$(CLANG) $(BPF_CFLAGS) -Itests/fuzz -c $< -o $@

$(FUZZ_DIR)/probe.skel.h: $(FUZZ_DIR)/probe.bpf.o
	$(BPFTOOL) gen skeleton $< name fuzz_probe > $@.tmp
	mv $@.tmp $@

$(FUZZ_DIR)/%.o: tests/fuzz/%.c tests/fuzz/fastpath.h tests/fuzz/probe.h $(FUZZ_DIR)/probe.skel.h $(wildcard tests/unit/*.h) $(USER_HDRS) $(BUILD)/sharenat.skel.h
	$(CC) $(CFLAGS) -Itests/unit -Itests/fuzz -I$(FUZZ_DIR) -c $< -o $@

$(FUZZ_DIR)/fastpath: $(FUZZ_OBJS) $(BUILD)/tests/packet.o $(BUILD)/tests/bpf_fixture.o $(BUILD)/libsharenat.a
	$(CC) $(CFLAGS) $^ $(LDLIBS_CHK) $(LDLIBS_BPF) -lm -lpthread -lrt -lsubunit -o $@

fuzz-build: $(FUZZ_DIR)/fastpath

fuzz: $(FUZZ_DIR)/fastpath
	FUZZ_CASES=$(FUZZ_CASES) $(FUZZ_DIR)/fastpath

# libFuzzer: the parsers of user/parse.c one binary each, and the file
# parser of `sharenat apply`; the library is built again, instrumented.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_LCFLAGS := $(filter-out -Werror -O2,$(CFLAGS)) -O1 $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link
FUZZ_PARSERS := ipv4 cidr port_range name mac subnet_ref sg_rule count mapping
FUZZ_TARGETS := $(FUZZ_PARSERS:%=parse_%) \
                $(if $(wildcard user/apply.c),config_apply)

.PHONY: fuzz-parsers

$(FUZZ_DIR)/lib/%.o: user/%.c $(USER_HDRS) $(BUILD)/sharenat.skel.h
	@mkdir -p $(FUZZ_DIR)/lib
	$(FUZZ_CC) $(FUZZ_LCFLAGS) -c $< -o $@

$(FUZZ_DIR)/parse_%: tests/fuzz/fuzz_parse.c $(FUZZ_DIR)/lib/parse.o $(FUZZ_DIR)/lib/error.o
	$(FUZZ_CC) $(FUZZ_LCFLAGS) -fsanitize=fuzzer -DFUZZ_TARGET=fuzz_$* $^ -o $@

$(FUZZ_DIR)/config_apply: tests/fuzz/fuzz_apply.c $(USER_LIB:user/%.c=$(FUZZ_DIR)/lib/%.o)
	$(FUZZ_CC) $(FUZZ_LCFLAGS) -fsanitize=fuzzer $^ $(LDLIBS_BPF) -o $@

fuzz-parsers: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
	@tests/fuzz/run-parsers.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ASan+UBSan: library, CLI and unit tests in a build of their own, then the
# unit tests (one process, so LeakSanitizer sees every test); and the CLI
# under valgrind through a sandbox's life in a netns topology.
SAN_BUILD  ?= $(BUILD)/sanitize
SAN_CC     ?= clang

.PHONY: sanitize sanitize-unit valgrind-cli

sanitize-unit:
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CC="$(SAN_CC) $(FUZZ_SAN)" \
		$(SAN_BUILD)/sharenat $(SAN_BUILD)/unit-tests
	@tests/fuzz/sanitize-unit.sh $(SAN_BUILD)/unit-tests

valgrind-cli: $(BUILD)/sharenat
	@tests/fuzz/valgrind-cli.sh $(BUILD)/sharenat

sanitize: sanitize-unit valgrind-cli

# Sandboxes added and removed under traffic for SOAK_SECONDS, then nothing
# of them may be left and no packet or connection lost (tools/soak.sh).
SOAK_SECONDS ?= 120

.PHONY: soak

soak: $(BUILD)/sharenat
	SOAK_SECONDS=$(SOAK_SECONDS) tools/soak.sh $(BUILD)/sharenat
	tools/exhaustion.sh $(BUILD)/sharenat

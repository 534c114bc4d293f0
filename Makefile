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
USER_LIB   := user/parse.c user/error.c user/pins.c user/tc.c user/netdev.c \
              user/map_iter.c user/xdp.c user/security_group.c \
              user/attachment.c user/function.c user/sandbox.c user/flows.c \
              user/counters.c
USER_CLI   := user/main.c user/cli.c user/output.c
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

install: $(BUILD)/sharenat
	install -D -m 0755 $(BUILD)/sharenat $(DESTDIR)$(PREFIX)/sbin/sharenat
	install -D -m 0644 docs/sharenat.8 $(DESTDIR)$(PREFIX)/share/man/man8/sharenat.8
	install -D -m 0644 include/sharenat.h $(DESTDIR)$(PREFIX)/include/sharenat/sharenat.h
	install -D -m 0644 include/libsharenat.h $(DESTDIR)$(PREFIX)/include/sharenat/libsharenat.h
	install -D -m 0644 $(BUILD)/libsharenat.a $(DESTDIR)$(PREFIX)/lib/libsharenat.a

clean:
	rm -rf $(BUILD)

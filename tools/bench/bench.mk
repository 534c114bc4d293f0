# SPDX-License-Identifier: GPL-2.0
# Builds sharenat-bench into $(BUILD)/bench; run from the top directory by
# `make bench` (make -f tools/bench/bench.mk BUILD=...). It links sharenat's
# own skeleton and library from $(BUILD), which the top Makefile builds.

BUILD      ?= build
CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
OUT        := $(BUILD)/bench

CFLAGS     ?= -O2 -g
CFLAGS     += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
              -Iinclude -Iuser -I$(BUILD) -I$(OUT) -Itools/bench \
              $(shell pkg-config --cflags libbpf libxdp 2>/dev/null)
LDLIBS     := $(shell pkg-config --libs libxdp libbpf 2>/dev/null || echo -lxdp -lbpf -lelf -lz)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -I$(BUILD)

SRCS       := main.c prog.c traffic.c crr.c attach.c
OBJS       := $(SRCS:%.c=$(OUT)/%.o)

all: $(OUT)/sharenat-bench $(OUT)/bench.bpf.o

$(OUT)/bench.bpf.o: tools/bench/bench.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench.skel.h: $(OUT)/bench.bpf.o
	$(BPFTOOL) gen skeleton $< name bench_bpf > $@.tmp
	mv $@.tmp $@

$(OUT)/%.o: tools/bench/%.c tools/bench/bench.h $(OUT)/bench.skel.h \
            $(BUILD)/sharenat.skel.h include/sharenat.h include/libsharenat.h
	$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/sharenat-bench: $(OBJS) $(BUILD)/libsharenat.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

.PHONY: all

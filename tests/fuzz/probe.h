/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fuzzer's probe (probe.bpf.c): one BPF_PROG_TEST_RUN of a syscall
 * program reads, in the kernel, everything a fuzz case may change: every
 * counter summed over CPUs, the per-function counters of the fuzzer's
 * functions, the ports_in_use of its sandboxes, and how many entries the
 * state maps hold (bpf_map_sum_elem_count, O(1)). It shares the maps of
 * the skeleton under test (bpf_map__reuse_fd), so it reads exactly what
 * the programs wrote, and it is not the NAT's code reading its own state.
 */
#ifndef SHARENAT_FUZZ_PROBE_H
#define SHARENAT_FUZZ_PROBE_H

#include "sharenat.h"

#define PROBE_MAX_SANDBOXES 16
#define PROBE_MAX_FUNCTIONS 8
#define PROBE_MAX_CPUS 512

struct probe_snapshot {
	__u64 counters[COUNTER_MAX];
	__u64 functions[PROBE_MAX_FUNCTIONS][FUNCTION_COUNTER_MAX];
	__u32 ports_in_use[PROBE_MAX_SANDBOXES];
	__u32 sandbox_found[PROBE_MAX_SANDBOXES];
	__s64 flows;
	__s64 mappings;
	__s64 ports;
	__s64 replies;
	__s64 fragments;
	__s64 sandboxes;
};

#endif

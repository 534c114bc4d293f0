// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's probe: see probe.h. Its maps are bpf/maps.h's own; the
 * loader unpins each and points it at the map of the skeleton under test
 * before loading.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "probe.h"

extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

/* Set by the loader before loading: constants to the verifier, so the
 * loops below are as short as the machine and the world are. */
const volatile __u32 nr_cpus = 1;
const volatile __u32 sandbox_count;
const volatile __be32 sandbox_addrs[PROBE_MAX_SANDBOXES];
const volatile __u32 function_count;
const volatile __u32 probe_function_ids[PROBE_MAX_FUNCTIONS];

struct probe_snapshot snapshot;

SEC("syscall")
int probe(void *ctx)
{
	__u32 i, j, cpu;

	(void)ctx;
	for (i = 0; i < COUNTER_MAX; i++) {
		__u64 sum = 0;

		for (cpu = 0; cpu < PROBE_MAX_CPUS && cpu < nr_cpus; cpu++) {
			__u32 key = i;
			__u64 *value = bpf_map_lookup_percpu_elem(&counters,
								  &key, cpu);

			if (value)
				sum += *value;
		}
		snapshot.counters[i] = sum;
	}
	for (i = 0; i < PROBE_MAX_FUNCTIONS; i++) {
		__u64 sums[FUNCTION_COUNTER_MAX] = {};

		if (i >= function_count)
			break;
		for (cpu = 0; cpu < PROBE_MAX_CPUS && cpu < nr_cpus; cpu++) {
			__u32 key = probe_function_ids[i];
			struct function_counters *value =
				bpf_map_lookup_percpu_elem(&function_counters,
							   &key, cpu);

			if (!value)
				continue;
			for (j = 0; j < FUNCTION_COUNTER_MAX; j++)
				sums[j] += value->values[j];
		}
		for (j = 0; j < FUNCTION_COUNTER_MAX; j++)
			snapshot.functions[i][j] = sums[j];
	}
	for (i = 0; i < PROBE_MAX_SANDBOXES; i++) {
		__be32 key;
		struct sandbox *sbx;

		if (i >= sandbox_count)
			break;
		key = sandbox_addrs[i];
		sbx = bpf_map_lookup_elem(&sandboxes, &key);
		snapshot.sandbox_found[i] = sbx ? 1 : 0;
		snapshot.ports_in_use[i] = sbx ? sbx->ports_in_use : 0;
	}
	snapshot.flows = bpf_map_sum_elem_count((const struct bpf_map *)&flows);
	snapshot.mappings =
		bpf_map_sum_elem_count((const struct bpf_map *)&mappings);
	snapshot.ports = bpf_map_sum_elem_count((const struct bpf_map *)&ports);
	snapshot.replies =
		bpf_map_sum_elem_count((const struct bpf_map *)&replies);
	snapshot.fragments =
		bpf_map_sum_elem_count((const struct bpf_map *)&fragments);
	snapshot.sandboxes =
		bpf_map_sum_elem_count((const struct bpf_map *)&sandboxes);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

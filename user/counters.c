// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.h"
#include "state.h"

#define COUNTER_NAME(name, text) [COUNTER_##name] = text,
static const char *const counter_names[COUNTER_MAX] = {
	SHARENAT_COUNTERS(COUNTER_NAME)
};
#undef COUNTER_NAME

#define FUNCTION_COUNTER_NAME(name, text) [FUNCTION_##name] = text,
static const char *const function_counter_names[FUNCTION_COUNTER_MAX] = {
	SHARENAT_FUNCTION_COUNTERS(FUNCTION_COUNTER_NAME)
};
#undef FUNCTION_COUNTER_NAME

const char *sharenat_counter_name(enum counter which)
{
	return which < COUNTER_MAX ? counter_names[which] : "unknown";
}

const char *sharenat_function_counter_name(enum function_counter which)
{
	return which < FUNCTION_COUNTER_MAX ? function_counter_names[which] :
					      "unknown";
}

const char *sharenat_tcp_state_name(enum flow_tcp_state state)
{
	switch (state) {
	case TCP_STATE_OPENING:
		return "opening";
	case TCP_STATE_ESTABLISHED:
		return "established";
	case TCP_STATE_CLOSING:
		return "closing";
	case TCP_STATE_CLOSED:
		return "closed";
	default:
		return "-";
	}
}

int sharenat_read_counters(struct sharenat *sn, __u64 values[COUNTER_MAX],
			   struct sharenat_error *err)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 *per_cpu;
	__u32 key;
	int cpu;

	if (cpus <= 0)
		return fail_errno(err, "stats", cpus, "cannot count CPUs");
	per_cpu = calloc((size_t)cpus, sizeof(*per_cpu));
	if (!per_cpu)
		return fail_errno(err, "stats", ENOMEM, "out of memory");
	for (key = 0; key < COUNTER_MAX; key++) {
		values[key] = 0;
		if (bpf_map_lookup_elem(sn->counters_fd, &key, per_cpu)) {
			free(per_cpu);
			return fail_errno(err, "stats", errno,
					  "cannot read counter %s",
					  counter_names[key]);
		}
		for (cpu = 0; cpu < cpus; cpu++)
			values[key] += per_cpu[cpu];
	}
	free(per_cpu);
	return 0;
}

int sharenat_read_function_counters(struct sharenat *sn, __u32 function_id,
				    struct function_counters *out,
				    struct sharenat_error *err)
{
	int cpus = libbpf_num_possible_cpus();
	struct function_counters *per_cpu;
	int cpu, i;

	if (cpus <= 0)
		return fail_errno(err, "stats", cpus, "cannot count CPUs");
	per_cpu = calloc((size_t)cpus, sizeof(*per_cpu));
	if (!per_cpu)
		return fail_errno(err, "stats", ENOMEM, "out of memory");
	if (bpf_map_lookup_elem(sn->function_counters_fd, &function_id,
				per_cpu)) {
		free(per_cpu);
		return fail_errno(err, "stats", errno, "cannot read the "
				  "counters of function %u", function_id);
	}
	memset(out, 0, sizeof(*out));
	for (cpu = 0; cpu < cpus; cpu++)
		for (i = 0; i < FUNCTION_COUNTER_MAX; i++)
			out->values[i] += per_cpu[cpu].values[i];
	free(per_cpu);
	return 0;
}

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

/* Sum a per-CPU map's value of `words` 64-bit counters over the CPUs.
 * 0, -ENOENT when there is no such entry, or another -errno. */
static int sum_per_cpu(int map_fd, const void *key, __u64 *out, size_t words)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 *per_cpu;
	size_t i;
	int cpu;

	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	per_cpu = calloc((size_t)cpus * words, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, key, per_cpu)) {
		int saved = -errno;

		free(per_cpu);
		return saved;
	}
	memset(out, 0, words * sizeof(*out));
	for (cpu = 0; cpu < cpus; cpu++)
		for (i = 0; i < words; i++)
			out[i] += per_cpu[(size_t)cpu * words + i];
	free(per_cpu);
	return 0;
}

int sharenat_read_counters(struct sharenat *sn, __u64 values[COUNTER_MAX],
			   struct sharenat_error *err)
{
	__u32 key;
	int rc;

	for (key = 0; key < COUNTER_MAX; key++) {
		rc = sum_per_cpu(sn->counters_fd, &key, &values[key], 1);
		if (rc)
			return fail_errno(err, "stats", rc,
					  "cannot read counter %s",
					  counter_names[key]);
	}
	return 0;
}

int sharenat_read_function_counters(struct sharenat *sn, __u32 function_id,
				    struct function_counters *out,
				    struct sharenat_error *err)
{
	int rc = sum_per_cpu(sn->function_counters_fd, &function_id,
			     out->values, FUNCTION_COUNTER_MAX);

	if (rc)
		return fail_errno(err, "stats", rc, "cannot read the "
				  "counters of function %u", function_id);
	return 0;
}

int sharenat_read_traffic(struct sharenat *sn, bool sandbox, __u32 slot,
			  struct traffic_counters *out,
			  struct sharenat_error *err)
{
	int fd = sandbox ? sn->sandbox_counters_fd :
			   sn->attachment_counters_fd;
	int rc = sum_per_cpu(fd, &slot, (__u64 *)out,
			     sizeof(*out) / sizeof(__u64));

	if (rc)
		return fail_errno(err, "stats", rc, "cannot read the traffic "
				  "counters of %s", sandbox ? "a sandbox" :
				  "an attachment");
	return 0;
}

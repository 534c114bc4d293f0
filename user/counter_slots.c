// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "counter_slots.h"
#include "libsharenat.h"

static __u64 *slot_words(struct counter_slots *slots, bool sandbox,
			 __u32 *count)
{
	*count = sandbox ? SHARENAT_MAX_SANDBOXES : SHARENAT_MAX_ATTACHMENTS;
	return sandbox ? slots->sandboxes : slots->attachments;
}

static void slot_mark(__u64 *words, __u32 count, __u32 slot)
{
	if (slot < count)
		words[slot / 64] |= 1ull << (slot % 64);
}

/* Zero a slot's counters on every CPU. */
static int slot_zero(struct sharenat *sn, bool sandbox, __u32 slot)
{
	int fd = sandbox ? sn->sandbox_counters_fd : sn->attachment_counters_fd;
	int cpus = libbpf_num_possible_cpus();
	struct traffic_counters *zero;
	int rc = 0;

	if (cpus <= 0)
		return cpus ? cpus : -EINVAL;
	zero = calloc((size_t)cpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &slot, zero, BPF_ANY))
		rc = -errno;
	free(zero);
	return rc;
}

int counter_slot_take(struct sharenat *sn, bool sandbox, __u32 *slot,
		      const char *what, struct sharenat_error *err)
{
	struct counter_slots slots;
	__u32 zero = 0, count, i;
	__u64 *words;
	int rc;

	if (bpf_map_lookup_elem(sn->counter_slots_fd, &zero, &slots))
		return fail_errno(err, what, errno,
				  "cannot read the counter slots");
	words = slot_words(&slots, sandbox, &count);
	for (i = 0; i < count; i++)
		if (!(words[i / 64] & (1ull << (i % 64))))
			break;
	if (i == count)
		return fail(err, what, "no free traffic counter slot: %u %s "
			    "at most", count,
			    sandbox ? "sandboxes" : "attachments");
	rc = slot_zero(sn, sandbox, i);
	if (rc)
		return fail_errno(err, what, -rc,
				  "cannot zero traffic counter slot %u", i);
	slot_mark(words, count, i);
	if (bpf_map_update_elem(sn->counter_slots_fd, &zero, &slots, BPF_ANY))
		return fail_errno(err, what, errno,
				  "cannot write the counter slots");
	*slot = i;
	return 0;
}

void counter_slot_give(struct sharenat *sn, bool sandbox, __u32 slot)
{
	struct counter_slots slots;
	__u32 zero = 0, count;
	__u64 *words;

	if (bpf_map_lookup_elem(sn->counter_slots_fd, &zero, &slots))
		return;
	words = slot_words(&slots, sandbox, &count);
	if (slot >= count)
		return;
	words[slot / 64] &= ~(1ull << (slot % 64));
	bpf_map_update_elem(sn->counter_slots_fd, &zero, &slots, BPF_ANY);
}

static int mark_sandbox(const struct sandbox *sbx, void *ctx)
{
	struct counter_slots *slots = ctx;

	slot_mark(slots->sandboxes, SHARENAT_MAX_SANDBOXES, sbx->counter_slot);
	return 0;
}

static int mark_attachment(const struct attachment *att, void *ctx)
{
	struct counter_slots *slots = ctx;

	slot_mark(slots->attachments, SHARENAT_MAX_ATTACHMENTS,
		  att->counter_slot);
	return 0;
}

int counter_slots_rebuild(struct sharenat *sn)
{
	struct counter_slots slots;
	__u32 zero = 0;

	memset(&slots, 0, sizeof(slots));
	sharenat_for_each_sandbox(sn, mark_sandbox, &slots);
	sharenat_for_each_attachment(sn, mark_attachment, &slots);
	if (bpf_map_update_elem(sn->counter_slots_fd, &zero, &slots, BPF_ANY))
		return -errno;
	return 0;
}

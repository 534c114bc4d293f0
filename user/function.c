// SPDX-License-Identifier: GPL-2.0
/*
 * Functions: a tenant's code identity with its (subnet, attachment) pairs.
 * The programs know a function by id; names live in `function_ids`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.h"
#include "map_iter.h"
#include "netdev.h"
#include "parse.h"
#include "state.h"

#define WHAT_ADD "function add"
#define WHAT_DEL "function del"

struct subnet_match {
	const struct sharenat_subnet_ref *ref;
	int wanted_ifindex;		/* -1: any device */
	__u32 found[2];
	unsigned int count;
};

static int match_attachment(const struct attachment *att, void *ctx)
{
	struct subnet_match *match = ctx;

	if (att->subnet_addr != match->ref->subnet_addr ||
	    att->subnet_mask != match->ref->subnet_mask)
		return 0;
	if (match->wanted_ifindex >= 0 &&
	    att->ifindex != (__u32)match->wanted_ifindex)
		return 0;
	if (match->count < 2)
		match->found[match->count] = att->ifindex;
	match->count++;
	return 0;
}

/* The one attachment a subnet reference names. */
static int resolve_subnet(struct sharenat *sn,
			  const struct sharenat_subnet_ref *ref,
			  struct function_subnet *out,
			  struct sharenat_error *err)
{
	struct subnet_match match = { .ref = ref, .wanted_ifindex = -1 };
	char text[INET_ADDRSTRLEN], dev_a[IF_NAMESIZE], dev_b[IF_NAMESIZE];
	unsigned int len = mask_prefix_len(ref->subnet_mask);

	format_ipv4(ref->subnet_addr, text);
	if (ref->dev) {
		match.wanted_ifindex = netdev_ifindex(sn, ref->dev, WHAT_ADD, err);
		if (match.wanted_ifindex < 0)
			return -1;
	}
	sharenat_for_each_attachment(sn, match_attachment, &match);
	if (match.count == 0)
		return fail(err, WHAT_ADD, "no attachment has subnet %s/%u%s%s",
			    text, len, ref->dev ? " on " : "",
			    ref->dev ? ref->dev : "");
	if (match.count > 1)
		return fail(err, WHAT_ADD, "subnet %s/%u is attached on %s and "
			    "%s: name one as %s/%u@DEV", text, len,
			    if_indextoname(match.found[0], dev_a) ?: "?",
			    if_indextoname(match.found[1], dev_b) ?: "?",
			    text, len);
	out->subnet_addr = ref->subnet_addr;
	out->subnet_mask = ref->subnet_mask;
	out->attachment = match.found[0];
	return 0;
}

static bool subnets_overlap(const struct function_subnet *a,
			    const struct function_subnet *b)
{
	__be32 mask = a->subnet_mask & b->subnet_mask;

	return (a->subnet_addr & mask) == (b->subnet_addr & mask);
}

/* The smallest free function id: ids index the per-CPU array
 * `function_counters`, so they stay below SHARENAT_MAX_FUNCTIONS. */
static int free_function_id(struct sharenat *sn, __u32 *id)
{
	struct function fn;

	for (*id = 1; *id < SHARENAT_MAX_FUNCTIONS; (*id)++)
		if (bpf_map_lookup_elem(sn->functions_fd, id, &fn))
			return 0;
	return -1;
}

/* A reused id starts from zero counters. */
static int zero_function_counters(struct sharenat *sn, __u32 id)
{
	int cpus = libbpf_num_possible_cpus();
	struct function_counters *zeros;
	int rc;

	if (cpus <= 0)
		return -1;
	zeros = calloc((size_t)cpus, sizeof(*zeros));
	if (!zeros)
		return -1;
	rc = bpf_map_update_elem(sn->function_counters_fd, &id, zeros,
				 BPF_ANY);
	free(zeros);
	return rc;
}

int sharenat_function_add(struct sharenat *sn,
			  const struct sharenat_function_spec *spec,
			  struct sharenat_error *err)
{
	struct function fn = { 0 };
	struct name_key name = { 0 };
	unsigned int i, j;
	__u32 id;

	if (parse_name(spec->name, WHAT_ADD, err))
		return -1;
	if (spec->subnet_count == 0)
		return fail(err, WHAT_ADD, "at least one --subnet is needed");
	if (spec->subnet_count > SHARENAT_MAX_FUNCTION_SUBNETS)
		return fail(err, WHAT_ADD, "at most %d --subnet per function",
			    SHARENAT_MAX_FUNCTION_SUBNETS);
	strncpy(name.name, spec->name, sizeof(name.name) - 1);
	if (!bpf_map_lookup_elem(sn->function_ids_fd, &name, &id))
		return fail(err, WHAT_ADD, "function %s exists already",
			    spec->name);

	for (i = 0; i < spec->subnet_count; i++) {
		if (resolve_subnet(sn, &spec->subnets[i], &fn.subnets[i], err))
			return -1;
		for (j = 0; j < i; j++)
			if (subnets_overlap(&fn.subnets[i], &fn.subnets[j]))
				return fail(err, WHAT_ADD, "--subnet %u and "
					    "--subnet %u overlap: the "
					    "destination could not choose",
					    j + 1, i + 1);
	}
	fn.subnet_count = spec->subnet_count;
	memcpy(fn.name, name.name, sizeof(fn.name));
	fn.port_quota = spec->port_quota ? spec->port_quota :
					   SHARENAT_DEFAULT_PORT_QUOTA;
	if (spec->security_group) {
		struct name_key group = { 0 };

		if (parse_name(spec->security_group, WHAT_ADD, err))
			return -1;
		strncpy(group.name, spec->security_group,
			sizeof(group.name) - 1);
		if (bpf_map_lookup_elem(sn->security_group_ids_fd, &group,
					&fn.security_group))
			return fail(err, WHAT_ADD, "security group %s does not "
				    "exist", spec->security_group);
	}

	if (free_function_id(sn, &id))
		return fail(err, WHAT_ADD, "all %d function ids are in use",
			    SHARENAT_MAX_FUNCTIONS - 1);
	fn.id = id;
	if (zero_function_counters(sn, id))
		return fail_errno(err, WHAT_ADD, errno,
				  "cannot reset the counters of function %s",
				  spec->name);
	if (bpf_map_update_elem(sn->functions_fd, &id, &fn, BPF_NOEXIST))
		return fail_errno(err, WHAT_ADD, errno,
				  "cannot write function %s", spec->name);
	if (bpf_map_update_elem(sn->function_ids_fd, &name, &id,
				BPF_NOEXIST)) {
		int saved = errno;

		bpf_map_delete_elem(sn->functions_fd, &id);
		return fail_errno(err, WHAT_ADD, saved,
				  "cannot write function %s", spec->name);
	}
	return 0;
}

struct function_use {
	__u32 id;
	unsigned int sandboxes;
};

static int sandbox_of_function(const struct sandbox *sbx, void *ctx)
{
	struct function_use *use = ctx;

	if (sbx->function_id == use->id)
		use->sandboxes++;
	return 0;
}

int sharenat_function_del(struct sharenat *sn, const char *name_text,
			  struct sharenat_error *err)
{
	struct function_use use = { 0 };
	struct name_key name = { 0 };

	if (parse_name(name_text, WHAT_DEL, err))
		return -1;
	strncpy(name.name, name_text, sizeof(name.name) - 1);
	if (bpf_map_lookup_elem(sn->function_ids_fd, &name, &use.id))
		return fail(err, WHAT_DEL, "function %s does not exist",
			    name_text);
	sharenat_for_each_sandbox(sn, sandbox_of_function, &use);
	if (use.sandboxes)
		return fail(err, WHAT_DEL, "function %s has %u sandbox%s: "
			    "delete them first", name_text, use.sandboxes,
			    use.sandboxes == 1 ? "" : "es");
	bpf_map_delete_elem(sn->function_ids_fd, &name);
	bpf_map_delete_elem(sn->functions_fd, &use.id);
	return 0;
}

struct function_visit {
	sharenat_function_fn fn;
	void *ctx;
};

static int visit_function(const void *key, const void *value, void *ctx)
{
	struct function_visit *visit = ctx;

	(void)key;
	return visit->fn(value, visit->ctx);
}

int sharenat_for_each_function(struct sharenat *sn, sharenat_function_fn fn,
			       void *ctx)
{
	struct function_visit visit = { fn, ctx };

	return map_for_each(sn->functions_fd, sizeof(__u32),
			    sizeof(struct function), visit_function, &visit);
}

int sharenat_function_lookup(struct sharenat *sn, __u32 id,
			     struct function *out)
{
	return bpf_map_lookup_elem(sn->functions_fd, &id, out) ? -1 : 0;
}

int sharenat_function_find(struct sharenat *sn, const char *name_text,
			   struct function *out)
{
	struct name_key name = { 0 };
	__u32 id;

	strncpy(name.name, name_text, sizeof(name.name) - 1);
	if (bpf_map_lookup_elem(sn->function_ids_fd, &name, &id))
		return -1;
	return sharenat_function_lookup(sn, id, out);
}

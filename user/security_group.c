// SPDX-License-Identifier: GPL-2.0
/*
 * Security groups: egress allow rules, default deny once a function has a
 * group. A group is immutable while a function uses it, so a flow allowed
 * when it was made stays allowed: the programs check a flow's first packet
 * only.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "error.h"
#include "map_iter.h"
#include "parse.h"
#include "state.h"

#define WHAT_ADD "sg add"
#define WHAT_DEL "sg del"

static int free_group_id(struct sharenat *sn, __u32 *id)
{
	struct security_group sg;

	for (*id = 1; *id < SHARENAT_MAX_SECURITY_GROUPS + 1; (*id)++)
		if (bpf_map_lookup_elem(sn->security_groups_fd, id, &sg))
			return 0;
	return -1;
}

int sharenat_sg_add(struct sharenat *sn, const struct sharenat_sg_spec *spec,
		    struct sharenat_error *err)
{
	struct security_group sg = { 0 };
	struct name_key name = { 0 };
	__u32 id;

	if (parse_name(spec->name, WHAT_ADD, err))
		return -1;
	if (spec->rule_count == 0)
		return fail(err, WHAT_ADD, "at least one --allow is needed");
	if (spec->rule_count > SHARENAT_MAX_SG_RULES)
		return fail(err, WHAT_ADD, "at most %d --allow per group",
			    SHARENAT_MAX_SG_RULES);
	strncpy(name.name, spec->name, sizeof(name.name) - 1);
	if (!bpf_map_lookup_elem(sn->security_group_ids_fd, &name, &id))
		return fail(err, WHAT_ADD, "security group %s exists already",
			    spec->name);
	if (free_group_id(sn, &id))
		return fail(err, WHAT_ADD, "all %d security group ids are in "
			    "use", SHARENAT_MAX_SECURITY_GROUPS);
	memcpy(sg.name, name.name, sizeof(sg.name));
	sg.id = id;
	sg.rule_count = spec->rule_count;
	memcpy(sg.rules, spec->rules, sizeof(sg.rules[0]) * spec->rule_count);
	if (bpf_map_update_elem(sn->security_groups_fd, &id, &sg, BPF_NOEXIST))
		return fail_errno(err, WHAT_ADD, errno,
				  "cannot write security group %s",
				  spec->name);
	if (bpf_map_update_elem(sn->security_group_ids_fd, &name, &id,
				BPF_NOEXIST)) {
		int saved = errno;

		bpf_map_delete_elem(sn->security_groups_fd, &id);
		return fail_errno(err, WHAT_ADD, saved,
				  "cannot write security group %s",
				  spec->name);
	}
	return 0;
}

struct group_use {
	__u32 id;
	char function[SHARENAT_NAME_MAX];
};

static int function_uses_group(const struct function *fn, void *ctx)
{
	struct group_use *use = ctx;

	if (fn->security_group != use->id)
		return 0;
	memcpy(use->function, fn->name, sizeof(fn->name));
	return 1;
}

int sharenat_sg_del(struct sharenat *sn, const char *name_text,
		    struct sharenat_error *err)
{
	struct group_use use = { 0 };
	struct name_key name = { 0 };

	if (parse_name(name_text, WHAT_DEL, err))
		return -1;
	strncpy(name.name, name_text, sizeof(name.name) - 1);
	if (bpf_map_lookup_elem(sn->security_group_ids_fd, &name, &use.id))
		return fail(err, WHAT_DEL, "security group %s does not exist",
			    name_text);
	sharenat_for_each_function(sn, function_uses_group, &use);
	if (use.function[0])
		return fail(err, WHAT_DEL, "security group %s is used by "
			    "function %s", name_text, use.function);
	bpf_map_delete_elem(sn->security_group_ids_fd, &name);
	bpf_map_delete_elem(sn->security_groups_fd, &use.id);
	return 0;
}

int sharenat_sg_lookup(struct sharenat *sn, __u32 id,
		       struct security_group *out)
{
	return bpf_map_lookup_elem(sn->security_groups_fd, &id, out) ? -1 : 0;
}

struct sg_visit {
	sharenat_sg_fn fn;
	void *ctx;
};

static int visit_sg(const void *key, const void *value, void *ctx)
{
	struct sg_visit *visit = ctx;

	(void)key;
	return visit->fn(value, visit->ctx);
}

int sharenat_for_each_sg(struct sharenat *sn, sharenat_sg_fn fn, void *ctx)
{
	struct sg_visit visit = { fn, ctx };

	return map_for_each(sn->security_groups_fd, sizeof(__u32),
			    sizeof(struct security_group), visit_sg, &visit);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The plan of `sharenat apply`: the file compared with the state, kind by
 * kind. An object that differs is replaced, and so is everything that
 * depends on a replaced object (the CLI refuses to delete a function that
 * has sandboxes, a group a function uses, an attachment a function uses);
 * a current object the file does not have is removed. Devices are looked
 * up here, so that a missing one fails before anything changes.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "error.h"
#include "netdev.h"
#include "state.h"

static void kind_free(struct kind_plan *k)
{
	free(k->current);
	free(k->wanted);
	free(k->match);
}

void apply_plan_free(struct plan *plan)
{
	kind_free(&plan->attachments);
	kind_free(&plan->sgs);
	kind_free(&plan->functions);
	kind_free(&plan->sandboxes);
	free(plan->want_att);
	free(plan->want_sbx_ifindex);
	apply_state_free(&plan->st);
}

static int kind_alloc(struct kind_plan *k, size_t current, size_t wanted)
{
	size_t i;

	k->current = calloc(current + 1, sizeof(*k->current));
	k->wanted = calloc(wanted + 1, sizeof(*k->wanted));
	k->match = calloc(wanted + 1, sizeof(*k->match));
	if (!k->current || !k->wanted || !k->match)
		return -ENOMEM;
	for (i = 0; i < wanted; i++)
		k->match[i] = -1;
	return 0;
}

/* The two sides of one wanted object: same -> keep, else replace; a
 * current object no wanted one matched is removed. */
static void pair_up(struct kind_plan *k, size_t wanted, size_t current)
{
	size_t i;

	for (i = 0; i < current; i++)
		k->current[i] = STEP_REMOVE;
	for (i = 0; i < wanted; i++) {
		if (k->match[i] < 0) {
			k->wanted[i] = STEP_ADD;
			continue;
		}
		k->current[k->match[i]] = k->wanted[i];
	}
}

/* The attachment sharenat_attach would write for a wanted one. */
static int wanted_attachment(struct sharenat *sn,
			     const struct apply_attachment *want,
			     struct attachment *att, const char *what,
			     struct sharenat_error *err)
{
	const struct sharenat_attach_spec *spec = &want->spec;
	int ifindex;

	ifindex = netdev_ifindex(sn, want->dev, what, err);
	if (ifindex < 0)
		return -1;
	return attachment_of_spec(sn, spec, want->dev, ifindex, att, what,
				  err);
}

static bool attachment_same(const struct attachment *a,
			    const struct attachment *b)
{
	return a->subnet_addr == b->subnet_addr &&
	       a->subnet_mask == b->subnet_mask &&
	       a->gateway_addr == b->gateway_addr &&
	       a->shared_addr_count == b->shared_addr_count &&
	       a->shared_addr_count <= SHARENAT_MAX_SHARED_ADDRS &&
	       !memcmp(a->shared_addrs, b->shared_addrs,
		       sizeof(a->shared_addrs[0]) * a->shared_addr_count) &&
	       a->port_lo == b->port_lo && a->port_hi == b->port_hi &&
	       a->mapping == b->mapping && a->hook == b->hook &&
	       !memcmp(&a->timeouts, &b->timeouts, sizeof(a->timeouts));
}

static bool sg_same(const struct security_group *cur,
		    const struct sharenat_sg_spec *want)
{
	unsigned int i;

	if (cur->rule_count != want->rule_count)
		return false;
	for (i = 0; i < want->rule_count; i++) {
		const struct sg_rule *a = &cur->rules[i], *b = &want->rules[i];

		if (a->addr != b->addr || a->mask != b->mask ||
		    a->port_lo != b->port_lo || a->port_hi != b->port_hi ||
		    a->proto != b->proto)
			return false;
	}
	return true;
}

static bool function_same(const struct plan *plan, const struct function *cur,
			  const struct apply_function *want)
{
	const struct sharenat_function_spec *spec = &want->spec;
	const char *group = apply_sg_name_of(&plan->st, cur->security_group);
	__u32 quota = spec->port_quota ? spec->port_quota :
					 SHARENAT_DEFAULT_PORT_QUOTA;
	unsigned int i;

	if (cur->port_quota != quota || cur->subnet_count != spec->subnet_count)
		return false;
	if (!group != !spec->security_group ||
	    (group && strcmp(group, spec->security_group)))
		return false;
	for (i = 0; i < spec->subnet_count; i++) {
		const struct function_subnet *s = &cur->subnets[i];

		if (s->subnet_addr != spec->subnets[i].subnet_addr ||
		    s->subnet_mask != spec->subnets[i].subnet_mask ||
		    s->attachment != if_nametoindex(spec->subnets[i].dev))
			return false;
	}
	return true;
}

static bool sandbox_same(const struct plan *plan, const struct sandbox *cur,
			 const struct apply_sandbox *want, __u32 ifindex)
{
	const struct sharenat_sandbox_spec *spec = &want->spec;

	return cur->addr == spec->addr && cur->ifindex == ifindex &&
	       !strcmp(apply_function_name_of(&plan->st, cur->function_id),
		       spec->function) &&
	       cur->mac_static == spec->has_mac &&
	       (!spec->has_mac || !memcmp(cur->mac, spec->mac, 6)) &&
	       cur->hook == spec->hook;
}

static int plan_attachments(struct sharenat *sn,
			    const struct sharenat_config *cfg,
			    struct plan *plan, struct sharenat_error *err)
{
	struct kind_plan *k = &plan->attachments;
	const struct vec *cur = &plan->st.attachments;
	char what[128];
	unsigned int i;
	size_t c;

	plan->want_att = calloc(cfg->attachment_count + 1,
				sizeof(*plan->want_att));
	if (!plan->want_att)
		return fail(err, "apply", "out of memory");
	for (i = 0; i < cfg->attachment_count; i++) {
		const struct apply_attachment *want = cfg->attachments[i];

		apply_line_what(what, sizeof(what), cfg->source, want->line);
		if (wanted_attachment(sn, want, &plan->want_att[i], what, err))
			return -1;
		for (c = 0; c < cur->count; c++)
			if (VEC_AT(cur, struct attachment, c)->ifindex ==
			    plan->want_att[i].ifindex)
				k->match[i] = (int)c;
		if (k->match[i] >= 0 &&
		    !attachment_same(VEC_AT(cur, struct attachment,
					    k->match[i]),
				     &plan->want_att[i]))
			k->wanted[i] = STEP_REPLACE;
	}
	pair_up(k, cfg->attachment_count, cur->count);
	return 0;
}

static void plan_sgs(const struct sharenat_config *cfg, struct plan *plan)
{
	struct kind_plan *k = &plan->sgs;
	const struct vec *cur = &plan->st.sgs;
	unsigned int i;
	size_t c;

	for (i = 0; i < cfg->sg_count; i++) {
		for (c = 0; c < cur->count; c++)
			if (!strcmp(VEC_AT(cur, struct security_group, c)->name,
				    cfg->sgs[i]->name))
				k->match[i] = (int)c;
		if (k->match[i] >= 0 &&
		    !sg_same(VEC_AT(cur, struct security_group, k->match[i]),
			     &cfg->sgs[i]->spec))
			k->wanted[i] = STEP_REPLACE;
	}
	pair_up(k, cfg->sg_count, cur->count);
}

/* A function goes with a removed or replaced attachment or group. */
static bool function_loses_dependency(const struct plan *plan,
				      const struct function *fn)
{
	const struct vec *atts = &plan->st.attachments, *sgs = &plan->st.sgs;
	size_t c;
	__u32 i;

	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++)
		for (c = 0; c < atts->count; c++)
			if (VEC_AT(atts, struct attachment, c)->ifindex ==
			    fn->subnets[i].attachment &&
			    gone(plan->attachments.current[c]))
				return true;
	for (c = 0; c < sgs->count; c++)
		if (VEC_AT(sgs, struct security_group, c)->id ==
		    fn->security_group && gone(plan->sgs.current[c]))
			return true;
	return false;
}

static void plan_functions(const struct sharenat_config *cfg,
			   struct plan *plan)
{
	struct kind_plan *k = &plan->functions;
	const struct vec *cur = &plan->st.functions;
	unsigned int i;
	size_t c;

	for (i = 0; i < cfg->function_count; i++) {
		for (c = 0; c < cur->count; c++)
			if (!strcmp(VEC_AT(cur, struct function, c)->name,
				    cfg->functions[i]->name))
				k->match[i] = (int)c;
		if (k->match[i] < 0)
			continue;
		if (!function_same(plan, VEC_AT(cur, struct function,
						k->match[i]),
				   cfg->functions[i]) ||
		    function_loses_dependency(plan,
					      VEC_AT(cur, struct function,
						     k->match[i])))
			k->wanted[i] = STEP_REPLACE;
	}
	pair_up(k, cfg->function_count, cur->count);
}

static bool sandbox_loses_function(const struct plan *plan,
				   const struct sandbox *sbx)
{
	const struct vec *fns = &plan->st.functions;
	size_t c;

	for (c = 0; c < fns->count; c++)
		if (VEC_AT(fns, struct function, c)->id == sbx->function_id)
			return gone(plan->functions.current[c]);
	return false;
}

static int plan_sandboxes(struct sharenat *sn,
			  const struct sharenat_config *cfg,
			  struct plan *plan, struct sharenat_error *err)
{
	struct kind_plan *k = &plan->sandboxes;
	const struct vec *cur = &plan->st.sandboxes;
	char what[128];
	unsigned int i;
	size_t c;
	int ifindex;

	plan->want_sbx_ifindex = calloc(cfg->sandbox_count + 1,
					sizeof(*plan->want_sbx_ifindex));
	if (!plan->want_sbx_ifindex)
		return fail(err, "apply", "out of memory");
	for (i = 0; i < cfg->sandbox_count; i++) {
		const struct apply_sandbox *want = cfg->sandboxes[i];
		const struct sandbox *sbx;

		apply_line_what(what, sizeof(what), cfg->source, want->line);
		ifindex = netdev_ifindex(sn, want->dev, what, err);
		if (ifindex < 0)
			return -1;
		plan->want_sbx_ifindex[i] = (__u32)ifindex;
		for (c = 0; c < cur->count; c++)
			if (!strcmp(VEC_AT(cur, struct sandbox, c)->id,
				    want->id))
				k->match[i] = (int)c;
		if (k->match[i] < 0)
			continue;
		sbx = VEC_AT(cur, struct sandbox, k->match[i]);
		if (!sandbox_same(plan, sbx, want, (__u32)ifindex) ||
		    sandbox_loses_function(plan, sbx))
			k->wanted[i] = STEP_REPLACE;
	}
	pair_up(k, cfg->sandbox_count, cur->count);
	return 0;
}

/* Cascades go one way (attachment and group -> function -> sandbox), so
 * one pass in that order settles every step; pair_up() copies a wanted
 * object's step to the current object it matches. */
int apply_plan_make(struct sharenat *sn, const struct sharenat_config *cfg,
		    struct plan *plan, struct sharenat_error *err)
{
	memset(plan, 0, sizeof(*plan));
	if (apply_state_read(sn, &plan->st, "apply", err))
		return -1;
	if (kind_alloc(&plan->attachments, plan->st.attachments.count,
		       cfg->attachment_count) ||
	    kind_alloc(&plan->sgs, plan->st.sgs.count, cfg->sg_count) ||
	    kind_alloc(&plan->functions, plan->st.functions.count,
		       cfg->function_count) ||
	    kind_alloc(&plan->sandboxes, plan->st.sandboxes.count,
		       cfg->sandbox_count))
		return fail(err, "apply", "out of memory");
	if (plan_attachments(sn, cfg, plan, err))
		return -1;
	plan_sgs(cfg, plan);
	plan_functions(cfg, plan);
	return plan_sandboxes(sn, cfg, plan, err);
}

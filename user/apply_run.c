// SPDX-License-Identifier: GPL-2.0
/*
 * Carrying out the plan of `sharenat apply`: removals (sandboxes,
 * functions, groups, attachments), then additions in the opposite order,
 * each step journaled; on a failure the journal is undone backwards, so
 * the state is as before (but for the flows of a removed sandbox, which
 * cannot be brought back), and so are the latency histograms the steps
 * added to.
 */
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "clock.h"
#include "apply_internal.h"
#include "error.h"
#include "state.h"

enum object {
	OBJ_ATTACHMENT,
	OBJ_SG,
	OBJ_FUNCTION,
	OBJ_SANDBOX,
};

/* One step done: what was added (by name), or what was removed (all of
 * it, with the names its references had, to add it back). */
struct journal_entry {
	enum object object;
	bool added;
	char name[SHARENAT_NAME_MAX];	/* device, group, function or id */
	union {
		struct attachment attachment;
		struct security_group sg;
		struct {
			struct function fn;
			char sg[SHARENAT_NAME_MAX];
			char devs[SHARENAT_MAX_FUNCTION_SUBNETS][IF_NAMESIZE];
		} function;
		struct {
			struct sandbox sbx;
			char function[SHARENAT_NAME_MAX];
			char dev[IF_NAMESIZE];
		} sandbox;
	} saved;
};

struct run {
	struct sharenat *sn;
	const struct sharenat_config *cfg;
	const struct plan *plan;
	struct journal_entry *journal;
	size_t done;
};

static struct journal_entry *journal_next(struct run *run, enum object object,
					  bool added, const char *name)
{
	struct journal_entry *entry = &run->journal[run->done];

	memset(entry, 0, sizeof(*entry));
	entry->object = object;
	entry->added = added;
	snprintf(entry->name, sizeof(entry->name), "%s", name);
	return entry;
}

/* The outcome rc of the step journal_next() began: the step stays in the
 * journal only if it was done, so that undo reverses just those. */
static int journal_done(struct run *run, int rc)
{
	if (!rc)
		run->done++;
	return rc;
}

static int remove_sandbox(struct run *run, const struct sandbox *sbx,
			  struct sharenat_error *err)
{
	struct journal_entry *entry;

	entry = journal_next(run, OBJ_SANDBOX, false, sbx->id);
	entry->saved.sandbox.sbx = *sbx;
	snprintf(entry->saved.sandbox.function, SHARENAT_NAME_MAX, "%s",
		 apply_function_name_of(&run->plan->st, sbx->function_id));
	apply_dev_name(sbx->ifindex, entry->saved.sandbox.dev);
	return journal_done(run, sharenat_sandbox_del(run->sn, sbx->id, err));
}

static int remove_function(struct run *run, const struct function *fn,
			   struct sharenat_error *err)
{
	struct journal_entry *entry;
	const char *group;
	__u32 i;

	entry = journal_next(run, OBJ_FUNCTION, false, fn->name);
	entry->saved.function.fn = *fn;
	group = apply_sg_name_of(&run->plan->st, fn->security_group);
	if (group)
		snprintf(entry->saved.function.sg, SHARENAT_NAME_MAX, "%s",
			 group);
	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++)
		apply_dev_name(fn->subnets[i].attachment,
			       entry->saved.function.devs[i]);
	return journal_done(run, sharenat_function_del(run->sn, fn->name, err));
}

static int remove_sg(struct run *run, const struct security_group *sg,
		     struct sharenat_error *err)
{
	struct journal_entry *entry;

	entry = journal_next(run, OBJ_SG, false, sg->name);
	entry->saved.sg = *sg;
	return journal_done(run, sharenat_sg_del(run->sn, sg->name, err));
}

static int remove_attachment(struct run *run, const struct attachment *att,
			     struct sharenat_error *err)
{
	struct journal_entry *entry;
	char dev[IF_NAMESIZE];

	entry = journal_next(run, OBJ_ATTACHMENT, false,
			     apply_dev_name(att->ifindex, dev));
	entry->saved.attachment = *att;
	return journal_done(run, sharenat_detach(run->sn, dev, err));
}

/* The spec that makes an attachment exactly as it is now. */
static void attach_spec_of(const struct attachment *att, const char *dev,
			   struct sharenat_attach_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->dev = dev;
	spec->subnet_addr = att->subnet_addr;
	spec->subnet_mask = att->subnet_mask;
	spec->shared_addr_count = att->shared_addr_count;
	memcpy(spec->shared_addrs, att->shared_addrs,
	       sizeof(spec->shared_addrs));
	spec->gateway_addr = att->gateway_addr;
	spec->port_lo = att->port_lo;
	spec->port_hi = att->port_hi;
	spec->mapping = att->mapping;
	spec->hook_set = true;
	spec->hook = att->hook;
	spec->timeouts = att->timeouts;
}

/* Put a removed sandbox back, with the MAC it had learned (sandbox add
 * starts from none); its flows are gone for good. */
static int readd_sandbox(struct sharenat *sn, struct journal_entry *entry,
			 struct sharenat_error *err)
{
	const struct sandbox *saved = &entry->saved.sandbox.sbx;
	struct sharenat_sandbox_spec spec = {
		.id = saved->id,
		.function = entry->saved.sandbox.function,
		.dev = entry->saved.sandbox.dev,
		.addr = saved->addr,
		.has_mac = saved->mac_static,
	};
	struct sandbox now;

	memcpy(spec.mac, saved->mac, sizeof(spec.mac));
	if (sharenat_sandbox_add(sn, &spec, err))
		return -1;
	if (!saved->mac_static &&
	    !bpf_map_lookup_elem(sn->sandboxes_fd, &saved->addr, &now)) {
		memcpy(now.mac, saved->mac, sizeof(now.mac));
		bpf_map_update_elem(sn->sandboxes_fd, &saved->addr, &now,
				    BPF_EXIST);
	}
	return 0;
}

static int readd_function(struct sharenat *sn, struct journal_entry *entry,
			  struct sharenat_error *err)
{
	const struct function *fn = &entry->saved.function.fn;
	struct sharenat_function_spec spec = {
		.name = fn->name,
		.subnet_count = fn->subnet_count,
		.port_quota = fn->port_quota,
	};
	__u32 i;

	if (entry->saved.function.sg[0])
		spec.security_group = entry->saved.function.sg;
	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++) {
		spec.subnets[i].subnet_addr = fn->subnets[i].subnet_addr;
		spec.subnets[i].subnet_mask = fn->subnets[i].subnet_mask;
		spec.subnets[i].dev = entry->saved.function.devs[i];
	}
	return sharenat_function_add(sn, &spec, err);
}

static int undo_entry(struct sharenat *sn, struct journal_entry *entry,
		      struct sharenat_error *err)
{
	struct sharenat_attach_spec attach;
	struct sharenat_sg_spec sg;

	if (entry->added) {
		switch (entry->object) {
		case OBJ_ATTACHMENT:
			return sharenat_detach(sn, entry->name, err);
		case OBJ_SG:
			return sharenat_sg_del(sn, entry->name, err);
		case OBJ_FUNCTION:
			return sharenat_function_del(sn, entry->name, err);
		case OBJ_SANDBOX:
			return sharenat_sandbox_del(sn, entry->name, err);
		}
		return -1;
	}
	switch (entry->object) {
	case OBJ_ATTACHMENT:
		attach_spec_of(&entry->saved.attachment, entry->name, &attach);
		return sharenat_attach(sn, &attach, err);
	case OBJ_SG:
		memset(&sg, 0, sizeof(sg));
		sg.name = entry->saved.sg.name;
		sg.rule_count = entry->saved.sg.rule_count;
		memcpy(sg.rules, entry->saved.sg.rules, sizeof(sg.rules));
		return sharenat_sg_add(sn, &sg, err);
	case OBJ_FUNCTION:
		return readd_function(sn, entry, err);
	case OBJ_SANDBOX:
		return readd_sandbox(sn, entry, err);
	}
	return -1;
}

/* Backwards through the journal; every step is tried even when one
 * fails, and the caller's error says so. */
static bool undo(struct run *run)
{
	struct sharenat_error ignored;
	bool complete = true;

	while (run->done > 0) {
		run->done--;
		if (undo_entry(run->sn, &run->journal[run->done], &ignored))
			complete = false;
	}
	return complete;
}

/* Say where a step failed: the wanted object's line, or the current
 * object a removal was for. */
static int step_failed(struct sharenat_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int step_failed(struct sharenat_error *err, const char *fmt, ...)
{
	struct sharenat_error cause = *err;
	char where[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
	return fail(err, where, "%s", cause.message);
}

static int execute(struct run *run, struct sharenat_error *err)
{
	const struct sharenat_config *cfg = run->cfg;
	const struct plan *plan = run->plan;
	const struct state *st = &plan->st;
	__u64 start;
	size_t i;
	int rc;

	for (i = 0; i < st->sandboxes.count; i++)
		if (gone(plan->sandboxes.current[i]) &&
		    remove_sandbox(run, VEC_AT(&st->sandboxes, struct sandbox,
					       i), err))
			return step_failed(err, "removing sandbox %s",
					   VEC_AT(&st->sandboxes,
						  struct sandbox, i)->id);
	for (i = 0; i < st->functions.count; i++)
		if (gone(plan->functions.current[i]) &&
		    remove_function(run, VEC_AT(&st->functions,
						struct function, i), err))
			return step_failed(err, "removing function %s",
					   VEC_AT(&st->functions,
						  struct function, i)->name);
	for (i = 0; i < st->sgs.count; i++)
		if (gone(plan->sgs.current[i]) &&
		    remove_sg(run, VEC_AT(&st->sgs, struct security_group, i),
			      err))
			return step_failed(err, "removing sg %s",
					   VEC_AT(&st->sgs,
						  struct security_group,
						  i)->name);
	for (i = 0; i < st->attachments.count; i++)
		if (gone(plan->attachments.current[i]) &&
		    remove_attachment(run, VEC_AT(&st->attachments,
						  struct attachment, i), err))
			return step_failed(err, "removing an attachment");

	for (i = 0; i < cfg->attachment_count; i++) {
		struct sharenat_attach_spec spec = cfg->attachments[i]->spec;

		if (plan->attachments.wanted[i] == STEP_KEEP)
			continue;
		/* The hook the plan compared with, whatever the driver
		 * says by the time of the attach. */
		spec.hook_set = true;
		spec.hook = plan->want_att[i].hook;
		start = monotonic_ns();
		journal_next(run, OBJ_ATTACHMENT, true, spec.dev);
		rc = sharenat_attach(run->sn, &spec, err);
		if (journal_done(run, rc))
			return step_failed(err, "%s:%u", cfg->source,
					   cfg->attachments[i]->line);
		/* Timed as the CLI times it: a measurement, so failing to
		 * keep it does not fail the step. */
		sharenat_latency_record(run->sn, LATENCY_ATTACHMENT_SETUP,
					monotonic_ns() - start, NULL);
	}
	for (i = 0; i < cfg->sg_count; i++) {
		if (plan->sgs.wanted[i] == STEP_KEEP)
			continue;
		journal_next(run, OBJ_SG, true, cfg->sgs[i]->name);
		rc = sharenat_sg_add(run->sn, &cfg->sgs[i]->spec, err);
		if (journal_done(run, rc))
			return step_failed(err, "%s:%u", cfg->source,
					   cfg->sgs[i]->line);
	}
	for (i = 0; i < cfg->function_count; i++) {
		if (plan->functions.wanted[i] == STEP_KEEP)
			continue;
		journal_next(run, OBJ_FUNCTION, true, cfg->functions[i]->name);
		rc = sharenat_function_add(run->sn, &cfg->functions[i]->spec,
					   err);
		if (journal_done(run, rc))
			return step_failed(err, "%s:%u", cfg->source,
					   cfg->functions[i]->line);
	}
	for (i = 0; i < cfg->sandbox_count; i++) {
		if (plan->sandboxes.wanted[i] == STEP_KEEP)
			continue;
		start = monotonic_ns();
		journal_next(run, OBJ_SANDBOX, true, cfg->sandboxes[i]->id);
		rc = sharenat_sandbox_add(run->sn, &cfg->sandboxes[i]->spec,
					  err);
		if (journal_done(run, rc))
			return step_failed(err, "%s:%u", cfg->source,
					   cfg->sandboxes[i]->line);
		sharenat_latency_record(run->sn, LATENCY_SANDBOX_ATTACH,
					monotonic_ns() - start, NULL);
	}
	return 0;
}

int apply_execute(struct sharenat *sn, const struct sharenat_config *cfg,
		  const struct plan *plan, struct sharenat_error *err)
{
	struct latency_histogram before[LATENCY_MAX];
	struct run run = { .sn = sn, .cfg = cfg, .plan = plan };
	unsigned int i;
	size_t steps;
	int rc;

	for (i = 0; i < LATENCY_MAX; i++)
		if (sharenat_latency_read(sn, i, &before[i], err))
			return -1;
	/* At most: every current object removed, every wanted one added. */
	steps = plan->st.attachments.count + plan->st.sgs.count +
		plan->st.functions.count + plan->st.sandboxes.count +
		cfg->attachment_count + cfg->sg_count + cfg->function_count +
		cfg->sandbox_count;
	run.journal = calloc(steps + 1, sizeof(*run.journal));
	if (!run.journal)
		return fail(err, "apply", "out of memory");
	rc = execute(&run, err);
	if (rc) {
		struct sharenat_error cause = *err;

		if (!undo(&run))
			fail(err, "apply", "%s (and undoing failed: the state "
			     "is partly changed)", cause.message);
		else
			fail(err, "apply", "%s", cause.message);
		for (i = 0; i < LATENCY_MAX; i++)
			sharenat_latency_write(sn, i, &before[i], NULL);
	}
	free(run.journal);
	return rc;
}

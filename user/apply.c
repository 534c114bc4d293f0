// SPDX-License-Identifier: GPL-2.0
/*
 * Declarative mode: `sharenat apply FILE` converges the state to a file
 * of attachments, security groups, functions and sandboxes, one per line
 * in the words of the CLI (docs/cli.md), and `status --format apply`
 * writes the state in that format (apply_write.c).
 *
 * Three stages, so that a bad file never changes anything:
 *  1. parse (apply_parse.c): the text alone, every error with its line;
 *     references inside the file must resolve;
 *  2. plan (apply_plan.c): compare with the state (apply_state.c); an
 *     object that differs is replaced, and so is everything that depends
 *     on it;
 *  3. execute (apply_run.c): removals, then additions, each step
 *     journaled; on a failure the journal is undone backwards.
 *
 * This file runs stages 2 and 3 and tells the caller each step.
 */
#include <net/if.h>
#include <string.h>

#include "apply_internal.h"

static const char *const step_names[] = {
	[STEP_KEEP] = "keep",
	[STEP_ADD] = "add",
	[STEP_REMOVE] = "remove",
	[STEP_REPLACE] = "replace",
};

/* Steps in the order they run: removals from sandboxes up, then adds and
 * replacements from attachments down. */
static void report_plan(const struct sharenat_config *cfg,
			const struct plan *plan, sharenat_apply_fn report,
			void *ctx, struct sharenat_apply_result *result)
{
	const struct state *st = &plan->st;
	char dev[IF_NAMESIZE];
	size_t i;

	memset(result, 0, sizeof(*result));
	for (i = 0; i < st->sandboxes.count; i++)
		if (plan->sandboxes.current[i] == STEP_REMOVE) {
			result->removed++;
			if (report)
				report("remove", "sandbox",
				       VEC_AT(&st->sandboxes, struct sandbox,
					      i)->id, ctx);
		}
	for (i = 0; i < st->functions.count; i++)
		if (plan->functions.current[i] == STEP_REMOVE) {
			result->removed++;
			if (report)
				report("remove", "function",
				       VEC_AT(&st->functions, struct function,
					      i)->name, ctx);
		}
	for (i = 0; i < st->sgs.count; i++)
		if (plan->sgs.current[i] == STEP_REMOVE) {
			result->removed++;
			if (report)
				report("remove", "sg",
				       VEC_AT(&st->sgs, struct security_group,
					      i)->name, ctx);
		}
	for (i = 0; i < st->attachments.count; i++)
		if (plan->attachments.current[i] == STEP_REMOVE) {
			result->removed++;
			if (report)
				report("remove", "attachment",
				       apply_dev_name(VEC_AT(&st->attachments,
							     struct attachment,
							     i)->ifindex, dev),
				       ctx);
		}

#define REPORT_WANTED(kind, count, items, field, object)		\
	for (i = 0; i < (count); i++) {					\
		enum step step = plan->kind.wanted[i];			\
									\
		if (step == STEP_KEEP) {				\
			result->unchanged++;				\
			continue;					\
		}							\
		if (step == STEP_ADD)					\
			result->added++;				\
		else							\
			result->replaced++;				\
		if (report)						\
			report(step_names[step], object,		\
			       (items)[i]->field, ctx);			\
	}
	REPORT_WANTED(attachments, cfg->attachment_count, cfg->attachments,
		      dev, "attachment")
	REPORT_WANTED(sgs, cfg->sg_count, cfg->sgs, name, "sg")
	REPORT_WANTED(functions, cfg->function_count, cfg->functions, name,
		      "function")
	REPORT_WANTED(sandboxes, cfg->sandbox_count, cfg->sandboxes, id,
		      "sandbox")
#undef REPORT_WANTED
}

int sharenat_apply(struct sharenat *sn, const struct sharenat_config *cfg,
		   bool dry_run, sharenat_apply_fn report, void *ctx,
		   struct sharenat_apply_result *result,
		   struct sharenat_error *err)
{
	struct sharenat_apply_result counts;
	struct plan plan;
	int rc = -1;

	if (apply_plan_make(sn, cfg, &plan, err))
		goto out;
	report_plan(cfg, &plan, NULL, NULL, &counts);
	if (result)
		*result = counts;
	if (!dry_run && counts.added + counts.removed + counts.replaced &&
	    apply_execute(sn, cfg, &plan, err))
		goto out;
	if (report)
		report_plan(cfg, &plan, report, ctx, &counts);
	rc = 0;
out:
	apply_plan_free(&plan);
	return rc;
}

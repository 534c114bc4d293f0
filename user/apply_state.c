// SPDX-License-Identifier: GPL-2.0
/*
 * The state that `sharenat apply` compares a file with and `status
 * --format apply` writes: a copy of every object in the maps, read once
 * through the library's walks, and the names behind the ids and
 * ifindexes the objects hold.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "error.h"

/* The walks' callbacks, one per object type: each keeps a copy. */
static int push_attachment(const struct attachment *att, void *ctx)
{
	return vec_push(&((struct state *)ctx)->attachments, att);
}

static int push_sg(const struct security_group *sg, void *ctx)
{
	return vec_push(&((struct state *)ctx)->sgs, sg);
}

static int push_function(const struct function *fn, void *ctx)
{
	return vec_push(&((struct state *)ctx)->functions, fn);
}

static int push_sandbox(const struct sandbox *sbx, void *ctx)
{
	return vec_push(&((struct state *)ctx)->sandboxes, sbx);
}

void apply_state_free(struct state *st)
{
	vec_free(&st->attachments);
	vec_free(&st->sgs);
	vec_free(&st->functions);
	vec_free(&st->sandboxes);
	memset(st, 0, sizeof(*st));
}

int apply_state_read(struct sharenat *sn, struct state *st, const char *what,
		     struct sharenat_error *err)
{
	int rc;

	memset(st, 0, sizeof(*st));
	st->attachments.size = sizeof(struct attachment);
	st->sgs.size = sizeof(struct security_group);
	st->functions.size = sizeof(struct function);
	st->sandboxes.size = sizeof(struct sandbox);
	rc = sharenat_for_each_attachment(sn, push_attachment, st);
	if (!rc)
		rc = sharenat_for_each_sg(sn, push_sg, st);
	if (!rc)
		rc = sharenat_for_each_function(sn, push_function, st);
	if (!rc)
		rc = sharenat_for_each_sandbox(sn, push_sandbox, st);
	if (rc) {
		apply_state_free(st);
		return fail(err, what, "cannot read the state: %s",
			    strerror(rc < 0 ? -rc : rc));
	}
	return 0;
}

const char *apply_dev_name(__u32 ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "if%u", ifindex);
	return buf;
}

const char *apply_sg_name_of(const struct state *st, __u32 id)
{
	size_t i;

	for (i = 0; id && i < st->sgs.count; i++)
		if (VEC_AT(&st->sgs, struct security_group, i)->id == id)
			return VEC_AT(&st->sgs, struct security_group, i)->name;
	return NULL;
}

const char *apply_function_name_of(const struct state *st, __u32 id)
{
	size_t i;

	for (i = 0; i < st->functions.count; i++)
		if (VEC_AT(&st->functions, struct function, i)->id == id)
			return VEC_AT(&st->functions, struct function, i)->name;
	return "?";
}

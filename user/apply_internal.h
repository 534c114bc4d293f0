/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files behind `sharenat apply` share, and only they include:
 * how an error names a line of the file (apply_parse.c), the state as
 * read from the maps (apply_state.c), the plan that compares it with a
 * parsed file (apply_plan.c), and the run that carries the plan out
 * (apply_run.c). apply.c drives plan and run; apply_write.c writes the
 * state back in the file's format.
 */
#ifndef SHARENAT_USER_APPLY_INTERNAL_H
#define SHARENAT_USER_APPLY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "apply.h"
#include "vec.h"

/* "apply: SOURCE:LINE": where an error about a line of the file points. */
const char *apply_line_what(char *buf, size_t len, const char *source,
			    unsigned int line);

/* ---- the current state (apply_state.c) ---------------------------------- */

/* Copies of every object in the maps, as the for_each walks give them. */
struct state {
	struct vec attachments;		/* struct attachment */
	struct vec sgs;			/* struct security_group */
	struct vec functions;		/* struct function */
	struct vec sandboxes;		/* struct sandbox */
};

/* 0, or -1 with err "what: cannot read the state: ...". */
int apply_state_read(struct sharenat *sn, struct state *st, const char *what,
		     struct sharenat_error *err);
void apply_state_free(struct state *st);

/* A device's name, or "ifN" for one that is gone; buf: IF_NAMESIZE. */
const char *apply_dev_name(__u32 ifindex, char *buf);
/* The name of group id (NULL: none or unknown), of function id ("?"). */
const char *apply_sg_name_of(const struct state *st, __u32 id);
const char *apply_function_name_of(const struct state *st, __u32 id);

/* ---- the plan (apply_plan.c) -------------------------------------------- */

enum step {
	STEP_KEEP,
	STEP_ADD,
	STEP_REMOVE,
	STEP_REPLACE,
};

/* A current object that goes, for good or to come back changed. */
static inline bool gone(enum step step)
{
	return step == STEP_REMOVE || step == STEP_REPLACE;
}

/* For each kind: the step of every current object (keep, remove,
 * replace) and of every wanted one (keep, add, replace), and which
 * current object a wanted one is (-1: none). */
struct kind_plan {
	enum step *current;
	enum step *wanted;
	int *match;
};

struct plan {
	struct state st;
	struct kind_plan attachments, sgs, functions, sandboxes;
	/* Wanted attachments as the map would hold them; their ifindex. */
	struct attachment *want_att;
	/* Each wanted sandbox's device, by ifindex. */
	__u32 *want_sbx_ifindex;
};

/* Read the state and settle every object's step; 0, or -1 with err.
 * Either way the plan is for apply_plan_free(). */
int apply_plan_make(struct sharenat *sn, const struct sharenat_config *cfg,
		    struct plan *plan, struct sharenat_error *err);
void apply_plan_free(struct plan *plan);

/* ---- execution and undo (apply_run.c) ----------------------------------- */

/* Carry out every step of the plan that changes something; on a failure,
 * undo what was done and say in err where it failed. 0, or -1. */
int apply_execute(struct sharenat *sn, const struct sharenat_config *cfg,
		  const struct plan *plan, struct sharenat_error *err);

#endif

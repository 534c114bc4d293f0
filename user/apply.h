/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declarative state for `sharenat apply`: what a parsed file holds. The
 * parser (apply_parse.c) fills these from the text alone, so the unit tests can
 * check it without BPF; each object keeps its line for later errors.
 */
#ifndef SHARENAT_USER_APPLY_H
#define SHARENAT_USER_APPLY_H

#include <net/if.h>
#include "libsharenat.h"

/* Longest line, and most words on one line (4 ip, 16 allow, ...). */
#define APPLY_LINE_MAX 4096
#define APPLY_WORDS_MAX 64
/* Largest file `sharenat apply` reads. */
#define APPLY_FILE_MAX (16u << 20)

/* Objects are allocated one by one, so the specs may point into them. */
struct apply_attachment {
	unsigned int line;
	char dev[IF_NAMESIZE];
	struct sharenat_attach_spec spec;	/* spec.dev = dev */
};

struct apply_sg {
	unsigned int line;
	char name[SHARENAT_NAME_MAX];
	struct sharenat_sg_spec spec;		/* spec.name = name */
};

struct apply_function {
	unsigned int line;
	char name[SHARENAT_NAME_MAX];
	char sg[SHARENAT_NAME_MAX];
	/* Each subnet's device: as written after '@', else the one
	 * attachment of the file with that subnet. */
	char devs[SHARENAT_MAX_FUNCTION_SUBNETS][IF_NAMESIZE];
	/* spec.subnets[i].dev = devs[i] (never NULL after parsing),
	 * spec.security_group = sg or NULL. */
	struct sharenat_function_spec spec;
};

struct apply_sandbox {
	unsigned int line;
	char id[SHARENAT_NAME_MAX];
	char function[SHARENAT_NAME_MAX];
	char dev[IF_NAMESIZE];
	struct sharenat_sandbox_spec spec;	/* pointers into the above */
};

struct sharenat_config {
	char source[96];	/* the file's name, for errors about a line */
	struct apply_attachment **attachments;
	struct apply_sg **sgs;
	struct apply_function **functions;
	struct apply_sandbox **sandboxes;
	unsigned int attachment_count;
	unsigned int sg_count;
	unsigned int function_count;
	unsigned int sandbox_count;
};

#endif

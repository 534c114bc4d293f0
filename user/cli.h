/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHARENAT_USER_CLI_H
#define SHARENAT_USER_CLI_H

#include <stdbool.h>
#include "libsharenat.h"

enum exit_code {
	EXIT_DONE = 0,
	EXIT_FAILED = 1,	/* failed at run time */
	EXIT_USAGE = 2,		/* bad usage */
};

int cli_run(int argc, char **argv);

enum output_format {
	OUTPUT_TEXT,
	OUTPUT_JSON,
	OUTPUT_PROMETHEUS,	/* stats only */
};

struct read_options {
	enum output_format format;
	const char *function;	/* flows: only this function's */
	const char *sandbox;	/* flows: only this sandbox's */
};

/* Read verbs (output.c); 0, or -1 with err set. */
int show_flows(struct sharenat *sn, const struct read_options *opts,
	       struct sharenat_error *err);
int show_stats(struct sharenat *sn, const struct read_options *opts,
	       struct sharenat_error *err);
int show_status(struct sharenat *sn, const struct read_options *opts,
		struct sharenat_error *err);

#endif

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

/* Read verbs (output.c). */
int show_flows(struct sharenat *sn, bool json);
int show_stats(struct sharenat *sn, bool json);
int show_status(struct sharenat *sn, bool json);

#endif

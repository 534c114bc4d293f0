/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHARENAT_USER_ERROR_H
#define SHARENAT_USER_ERROR_H

#include "libsharenat.h"

/* Fill err with "what: why" and return -1, so a failing path reads
 * `return fail(err, "sandbox add", "function %s does not exist", name);` */
int fail(struct sharenat_error *err, const char *what, const char *why_fmt,
	 ...) __attribute__((format(printf, 3, 4)));

/* fail() with strerror(errnum) as the why, after a prefix. */
int fail_errno(struct sharenat_error *err, const char *what, int errnum,
	       const char *why_fmt, ...) __attribute__((format(printf, 4, 5)));

#endif

// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int fail(struct sharenat_error *err, const char *what, const char *why_fmt,
	 ...)
{
	va_list ap;
	int n;

	if (!err)
		return -1;
	n = snprintf(err->message, sizeof(err->message), "%s: ", what);
	if (n < 0 || (size_t)n >= sizeof(err->message))
		return -1;
	va_start(ap, why_fmt);
	vsnprintf(err->message + n, sizeof(err->message) - n, why_fmt, ap);
	va_end(ap);
	return -1;
}

int fail_errno(struct sharenat_error *err, const char *what, int errnum,
	       const char *why_fmt, ...)
{
	char why[SHARENAT_ERROR_MAX];
	va_list ap;

	va_start(ap, why_fmt);
	vsnprintf(why, sizeof(why), why_fmt, ap);
	va_end(ap);
	if (errnum < 0)
		errnum = -errnum;
	return fail(err, what, "%s: %s", why, strerror(errnum));
}

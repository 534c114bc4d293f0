/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHARENAT_USER_CLOCK_H
#define SHARENAT_USER_CLOCK_H

#include <time.h>
#include <linux/types.h>

/* CLOCK_MONOTONIC in nanoseconds: the clock of every latency figure and of
 * the programs' bpf_ktime_get_ns, so the two can be compared. */
static inline __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control plane's latency histograms (map `latency`): bucket maths,
 * which is pure and shared with `bench attach`, and the pinned map's
 * creation for a state loaded before the map existed.
 */
#ifndef SHARENAT_USER_LATENCY_H
#define SHARENAT_USER_LATENCY_H

#include "libsharenat.h"

/* The bucket a duration falls in, and the largest duration a bucket
 * holds (the last bucket: UINT64_MAX). */
unsigned int latency_bucket(__u64 ns);
__u64 latency_bucket_upper(unsigned int bucket);
/* Add one sample. */
void latency_histogram_add(struct latency_histogram *h, __u64 ns);

/* Create the map as bpf/maps.h declares it and pin it at path; its fd,
 * or -1 with errno set. Used when a state loaded by an older sharenat has
 * no `latency` pin. */
int latency_map_create(const char *path);

/*
 * `sharenat bench attach N` (bench_attach.c, part of the CLI): the
 * distribution of sandbox attach through the library next to the old way,
 * a per-sandbox interface, on devices named PREFIX... that it makes and
 * removes itself. Device names are PREFIX plus a letter and up to four
 * digits, so a prefix has at most BENCH_PREFIX_MAX characters.
 */
#define BENCH_MAX_SANDBOXES 10000
#define BENCH_PREFIX_MAX 10

/* 1-BENCH_PREFIX_MAX of [a-z0-9]; 0, or -1 with err. */
int bench_check_prefix(const char *prefix, struct sharenat_error *err);
int bench_attach(const char *pin_dir, unsigned int count, const char *prefix,
		 struct sharenat_error *err);

#endif

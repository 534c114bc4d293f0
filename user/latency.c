// SPDX-License-Identifier: GPL-2.0
/*
 * Attach latency as a product figure. The CLI times each sandbox attach
 * and attachment set-up and adds the time to a histogram in the pinned
 * array map `latency`, so the distribution survives every CLI run and
 * `stats` reports it. Percentiles come from log-linear buckets (8 per
 * power of two): a fixed 1.7 KiB per histogram whatever the sample count,
 * at most 12.5 % above the true value, and never above the recorded max.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "error.h"
#include "latency.h"
#include "state.h"

#define LATENCY_NAME(name, text) [LATENCY_##name] = text,
static const char *const latency_names[LATENCY_MAX] = {
	SHARENAT_LATENCIES(LATENCY_NAME)
};
#undef LATENCY_NAME

const char *sharenat_latency_name(enum latency which)
{
	return which < LATENCY_MAX ? latency_names[which] : "unknown";
}

unsigned int latency_bucket(__u64 ns)
{
	unsigned int octave, step;

	if (ns < (1ull << SHARENAT_LATENCY_MIN_OCTAVE))
		return 0;
	octave = 63 - (unsigned int)__builtin_clzll(ns);
	if (octave >= SHARENAT_LATENCY_MAX_OCTAVE)
		return SHARENAT_LATENCY_BUCKETS - 1;
	step = (unsigned int)(ns >> (octave - SHARENAT_LATENCY_SUB_BITS)) &
	       (SHARENAT_LATENCY_SUB - 1);
	return 1 + (octave - SHARENAT_LATENCY_MIN_OCTAVE) *
		   SHARENAT_LATENCY_SUB + step;
}

__u64 latency_bucket_upper(unsigned int bucket)
{
	unsigned int octave, step;
	__u64 width;

	if (bucket == 0)
		return (1ull << SHARENAT_LATENCY_MIN_OCTAVE) - 1;
	if (bucket >= SHARENAT_LATENCY_BUCKETS - 1)
		return ~0ull;
	octave = SHARENAT_LATENCY_MIN_OCTAVE +
		 (bucket - 1) / SHARENAT_LATENCY_SUB;
	step = (bucket - 1) % SHARENAT_LATENCY_SUB;
	width = 1ull << (octave - SHARENAT_LATENCY_SUB_BITS);
	return ((__u64)SHARENAT_LATENCY_SUB + step + 1) * width - 1;
}

void latency_histogram_add(struct latency_histogram *h, __u64 ns)
{
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->buckets[latency_bucket(ns)]++;
}

/* The smallest bucket bound under which at least per_mille of the samples
 * lie; the max when that bound is above it (the last bucket's bound is
 * infinite, and a bucket's bound overstates its largest sample). */
static __u64 percentile(const struct latency_histogram *h,
			unsigned int per_mille)
{
	__u64 rank, seen = 0, upper;
	unsigned int i;

	if (!h->count)
		return 0;
	rank = (h->count * per_mille + 999) / 1000;
	if (!rank)
		rank = 1;
	for (i = 0; i < SHARENAT_LATENCY_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			break;
	}
	upper = latency_bucket_upper(i < SHARENAT_LATENCY_BUCKETS ? i :
				     SHARENAT_LATENCY_BUCKETS - 1);
	return upper < h->max_ns ? upper : h->max_ns;
}

void sharenat_latency_summarize(const struct latency_histogram *h,
				struct sharenat_latency_summary *out)
{
	out->count = h->count;
	out->sum_ns = h->sum_ns;
	out->max_ns = h->max_ns;
	out->p50_ns = percentile(h, 500);
	out->p90_ns = percentile(h, 900);
	out->p99_ns = percentile(h, 990);
}

int sharenat_latency_read(struct sharenat *sn, enum latency which,
			  struct latency_histogram *out,
			  struct sharenat_error *err)
{
	__u32 key = which;

	memset(out, 0, sizeof(*out));
	if (which >= LATENCY_MAX)
		return fail(err, "stats", "no latency histogram %u", key);
	if (sn->latency_fd < 0)
		return 0;
	if (bpf_map_lookup_elem(sn->latency_fd, &key, out))
		return fail_errno(err, "stats", errno, "cannot read latency "
				  "histogram %s", latency_names[which]);
	return 0;
}

int sharenat_latency_write(struct sharenat *sn, enum latency which,
			   const struct latency_histogram *h,
			   struct sharenat_error *err)
{
	__u32 key = which;

	if (which >= LATENCY_MAX)
		return fail(err, "latency", "no latency histogram %u", key);
	if (bpf_map_update_elem(sn->latency_fd, &key, h, BPF_ANY))
		return fail_errno(err, "latency", errno, "cannot write latency "
				  "histogram %s", latency_names[which]);
	return 0;
}

/* Read, add, write back: safe because every sharenat_open holds the pin
 * directory's exclusive lock, so no other writer interleaves. */
int sharenat_latency_record(struct sharenat *sn, enum latency which,
			    __u64 ns, struct sharenat_error *err)
{
	struct latency_histogram h;

	if (sharenat_latency_read(sn, which, &h, err))
		return -1;
	latency_histogram_add(&h, ns);
	return sharenat_latency_write(sn, which, &h, err);
}

int latency_map_create(const char *path)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int fd, saved;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "latency", sizeof(__u32),
			    sizeof(struct latency_histogram), LATENCY_MAX,
			    &opts);
	if (fd < 0)
		return -1;
	if (bpf_obj_pin(fd, path)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

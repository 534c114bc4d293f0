// SPDX-License-Identifier: GPL-2.0
/*
 * user/map_iter.c: a walk sees every entry of a map once, whether the
 * kernel reads it in batches (a hash map; more entries than one batch,
 * so that the batch position carries over) or one key at a time (a
 * devmap hash, which has no batch reads). Needs root for the maps.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "map_iter.h"
#include "suites.h"

#define ENTRIES 1000

struct seen {
	unsigned char times[ENTRIES];
	unsigned int count;
};

/* Every value is its key's number plus one, so a value read beside the
 * wrong key shows. */
static int note_entry(const void *key, const void *value, void *ctx)
{
	struct seen *seen = ctx;
	__u32 n = *(const __u32 *)key, v = *(const __u32 *)value;

	ck_assert_msg(n < ENTRIES, "key %u was never written", n);
	ck_assert_msg(v == n + 1, "key %u came with value %u", n, v);
	seen->times[n]++;
	seen->count++;
	return 0;
}

static void assert_each_once(const struct seen *seen, const char *map)
{
	unsigned int n;

	ck_assert_msg(seen->count == ENTRIES, "%s: %u entries walked, want %u",
		      map, seen->count, ENTRIES);
	for (n = 0; n < ENTRIES; n++)
		ck_assert_msg(seen->times[n] == 1, "%s: key %u seen %u times",
			      map, n, seen->times[n]);
}

START_TEST(test_walk_hash_in_batches)
{
	struct seen seen = { { 0 }, 0 };
	__u32 n, v;
	int fd;

	ck_assert_msg(geteuid() == 0, "creating maps needs root");
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "iter_hash", 4, 4, ENTRIES * 2,
			    NULL);
	ck_assert_msg(fd >= 0, "creating a hash map: %s", strerror(errno));
	for (n = 0; n < ENTRIES; n++) {
		v = n + 1;
		ck_assert_int_eq(bpf_map_update_elem(fd, &n, &v, BPF_NOEXIST), 0);
	}
	ck_assert_int_eq(map_for_each(fd, 4, 4, note_entry, &seen), 0);
	assert_each_once(&seen, "hash");
	close(fd);
}
END_TEST

/* A devmap hash has no batch reads: the walk goes one key at a time. Its
 * values are devices; every entry names loopback (ifindex 1). */
static int note_device_entry(const void *key, const void *value, void *ctx)
{
	__u32 n = *(const __u32 *)key, as_if_numbered = n + 1;

	ck_assert_uint_eq(*(const __u32 *)value, 1);
	return note_entry(key, &as_if_numbered, ctx);
}

START_TEST(test_walk_without_batches)
{
	struct seen seen = { { 0 }, 0 };
	__u32 keys[1], values[1], count = 1, n, loopback = 1;
	__u64 position;
	int fd;

	ck_assert_msg(geteuid() == 0, "creating maps needs root");
	fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, "iter_devmap", 4, 4,
			    ENTRIES, NULL);
	ck_assert_msg(fd >= 0, "creating a devmap hash: %s", strerror(errno));
	for (n = 0; n < ENTRIES; n++)
		ck_assert_int_eq(bpf_map_update_elem(fd, &n, &loopback,
						     BPF_ANY), 0);
	/* The premise: this kernel has no batch reads for it. */
	ck_assert_int_ne(bpf_map_lookup_batch(fd, NULL, &position, keys,
					      values, &count, NULL), 0);
	ck_assert_int_eq(map_for_each(fd, 4, 4, note_device_entry, &seen), 0);
	assert_each_once(&seen, "devmap hash");
	close(fd);
}
END_TEST

/* A walk stops at the first non-zero return and gives it back. */
static int stop_at_third(const void *key, const void *value, void *ctx)
{
	(void)key;
	(void)value;
	return ++*(int *)ctx == 3 ? 42 : 0;
}

START_TEST(test_walk_stops)
{
	int fd, calls = 0;
	__u32 n, v = 1;

	ck_assert_msg(geteuid() == 0, "creating maps needs root");
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "iter_stop", 4, 4, 64, NULL);
	ck_assert_msg(fd >= 0, "creating a hash map: %s", strerror(errno));
	for (n = 0; n < 10; n++)
		ck_assert_int_eq(bpf_map_update_elem(fd, &n, &v, BPF_ANY), 0);
	ck_assert_int_eq(map_for_each(fd, 4, 4, stop_at_third, &calls), 42);
	ck_assert_int_eq(calls, 3);
	close(fd);
}
END_TEST

Suite *map_iter_suite(void)
{
	Suite *suite = suite_create("map_iter");
	TCase *tc = tcase_create("walks");

	tcase_add_test(tc, test_walk_hash_in_batches);
	tcase_add_test(tc, test_walk_without_batches);
	tcase_add_test(tc, test_walk_stops);
	suite_add_tcase(suite, tc);
	return suite;
}

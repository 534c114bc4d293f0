// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "map_iter.h"

/* Entries a batch read asks for at first; a bucket holding more makes
 * the kernel answer ENOSPC, and the batch grows. */
#define BATCH_ENTRIES 256
#define BATCH_ENTRIES_MAX 65536

/* One entry at a time: two system calls an entry, for a map or kernel
 * without batch reads. */
static int walk_by_key(int map_fd, size_t key_size, size_t value_size,
		       map_entry_fn fn, void *ctx)
{
	char *key = malloc(key_size), *next = malloc(key_size);
	char *value = malloc(value_size);
	bool first = true;
	int rc = 0;

	if (!key || !next || !value) {
		rc = -ENOMEM;
		goto out;
	}
	while (!bpf_map_get_next_key(map_fd, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, key_size);
		if (bpf_map_lookup_elem(map_fd, key, value))
			continue;
		rc = fn(key, value, ctx);
		if (rc)
			break;
	}
out:
	free(key);
	free(next);
	free(value);
	return rc;
}

struct batch {
	char *keys, *values;
	__u32 capacity;
};

static int batch_grow(struct batch *b, size_t key_size, size_t value_size)
{
	__u32 capacity = b->capacity ? b->capacity * 2 : BATCH_ENTRIES;
	char *keys, *values;

	if (capacity > BATCH_ENTRIES_MAX)
		return -ENOSPC;
	keys = realloc(b->keys, capacity * key_size);
	if (!keys)
		return -ENOMEM;
	b->keys = keys;
	values = realloc(b->values, capacity * value_size);
	if (!values)
		return -ENOMEM;
	b->values = values;
	b->capacity = capacity;
	/* The kernel fills them; zeroed first all the same, for memory
	 * checkers that do not know the batch command (valgrind 3.19 does
	 * not) and would take every entry read for uninitialised. */
	memset(b->keys, 0, capacity * key_size);
	memset(b->values, 0, capacity * value_size);
	return 0;
}

int map_for_each(int map_fd, size_t key_size, size_t value_size,
		 map_entry_fn fn, void *ctx)
{
	struct batch b = { 0 };
	__u64 position = 0;
	bool first = true, done = false;
	__u32 count, i;
	int rc, err;

	rc = batch_grow(&b, key_size, value_size);
	while (!rc && !done) {
		count = b.capacity;
		err = bpf_map_lookup_batch(map_fd, first ? NULL : &position,
					   &position, b.keys, b.values, &count,
					   NULL);
		if (err && errno == ENOSPC && !count) {
			rc = batch_grow(&b, key_size, value_size);
			continue;
		}
		/* Batch reads unknown here (old kernel, other map type):
		 * one entry at a time. */
		if (err && errno != ENOENT && first) {
			rc = walk_by_key(map_fd, key_size, value_size, fn, ctx);
			break;
		}
		if (err && errno != ENOENT) {
			rc = -errno;
			break;
		}
		/* ENOENT: the last batch, possibly empty. */
		done = err != 0;
		first = false;
		for (i = 0; i < count && !rc; i++)
			rc = fn(b.keys + i * key_size, b.values + i * value_size,
				ctx);
	}
	free(b.keys);
	free(b.values);
	return rc;
}

void map_delete_keys(int map_fd, struct vec *keys)
{
	size_t i;

	for (i = 0; i < keys->count; i++)
		bpf_map_delete_elem(map_fd, keys->items + i * keys->size);
	vec_free(keys);
}

// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "map_iter.h"

int map_for_each(int map_fd, size_t key_size, size_t value_size,
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

void map_delete_keys(int map_fd, struct vec *keys)
{
	size_t i;

	for (i = 0; i < keys->count; i++)
		bpf_map_delete_elem(map_fd, keys->items + i * keys->size);
	vec_free(keys);
}

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHARENAT_USER_MAP_ITER_H
#define SHARENAT_USER_MAP_ITER_H

#include <stddef.h>

#include "vec.h"

/* Called for each entry; a non-zero return stops the walk and is returned. */
typedef int (*map_entry_fn)(const void *key, const void *value, void *ctx);

/* Walk every entry of a hash map, read in batches (one system call per
 * few hundred entries; one key at a time where the kernel has no batch
 * reads for the map). Entries deleted during the walk may be missed;
 * collect keys first when deleting. */
int map_for_each(int map_fd, size_t key_size, size_t value_size,
		 map_entry_fn fn, void *ctx);

/* Delete every item of keys from the map, then free them: the keys a
 * walk collected (deleting during a hash walk restarts it and can skip
 * entries). */
void map_delete_keys(int map_fd, struct vec *keys);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHARENAT_USER_MAP_ITER_H
#define SHARENAT_USER_MAP_ITER_H

#include <stddef.h>

/* Called for each entry; a non-zero return stops the walk and is returned. */
typedef int (*map_entry_fn)(const void *key, const void *value, void *ctx);

/* Walk every entry of a hash map. Entries deleted during the walk may be
 * missed; collect keys first when deleting. */
int map_for_each(int map_fd, size_t key_size, size_t value_size,
		 map_entry_fn fn, void *ctx);

/* Keys collected during a walk, deleted after it (deleting during a hash
 * walk restarts it and can skip entries). Zero-initialise with key_size. */
struct key_list {
	size_t key_size;
	size_t count;
	size_t capacity;
	char *keys;
};

int key_list_add(struct key_list *list, const void *key);
/* Delete every key from the map and free the list. */
void key_list_delete(struct key_list *list, int map_fd);

#endif

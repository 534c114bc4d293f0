/* SPDX-License-Identifier: GPL-2.0 */
/* A growing array of fixed-size items: the state apply reads, the keys a
 * map walk collects to delete after it. */
#ifndef SHARENAT_USER_VEC_H
#define SHARENAT_USER_VEC_H

#include <stddef.h>

/* Zero-initialise with size set. */
struct vec {
	size_t size;
	size_t count;
	size_t capacity;
	char *items;
};

#define VEC_AT(v, type, i) (&((type *)(v)->items)[i])

/* Append a copy of the item; 0 or -ENOMEM. */
int vec_push(struct vec *v, const void *item);
/* Free the items; the vec stays usable, empty. */
void vec_free(struct vec *v);

#endif

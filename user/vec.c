// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

int vec_push(struct vec *v, const void *item)
{
	if (v->count == v->capacity) {
		size_t capacity = v->capacity ? v->capacity * 2 : 16;
		char *items = realloc(v->items, capacity * v->size);

		if (!items)
			return -ENOMEM;
		v->items = items;
		v->capacity = capacity;
	}
	memcpy(v->items + v->count * v->size, item, v->size);
	v->count++;
	return 0;
}

void vec_free(struct vec *v)
{
	free(v->items);
	v->items = NULL;
	v->count = v->capacity = 0;
}

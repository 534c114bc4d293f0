/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Slots of the per-CPU traffic counter arrays (sandbox_counters,
 * attachment_counters): one per sandbox and per attachment, handed out
 * with the object and given back with it, under the writer lock. A slot
 * handed out is zeroed first, so a new object starts from nothing.
 */
#ifndef SHARENAT_USER_COUNTER_SLOTS_H
#define SHARENAT_USER_COUNTER_SLOTS_H

#include <stdbool.h>

#include "error.h"
#include "state.h"

/* A free slot, taken and zeroed: 0, or -1 with err set (all taken). */
int counter_slot_take(struct sharenat *sn, bool sandbox, __u32 *slot,
		      const char *what, struct sharenat_error *err);

/* Give slot back (best effort: a slot left taken is found again by
 * counter_slots_rebuild). */
void counter_slot_give(struct sharenat *sn, bool sandbox, __u32 slot);

/* Mark exactly the slots of the sandboxes and attachments there are: after
 * a writer died between an object's write and its slot's. */
int counter_slots_rebuild(struct sharenat *sn);

#endif /* SHARENAT_USER_COUNTER_SLOTS_H */

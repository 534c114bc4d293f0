// SPDX-License-Identifier: GPL-2.0
/*
 * Reading and removing flows. A flow is one entry, keyed by its sandbox
 * side; removing it also removes what leads replies to it (its mapping
 * and port, or its `replies` entry).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "map_iter.h"
#include "state.h"

/* The flow's endpoint-independent mapping, if any, and its port. Flows
 * are only removed here with all the flows of their sandbox or attachment,
 * so the mapping goes with them whatever its count says. */
static void mapping_delete(struct sharenat *sn, const struct flow_key *key,
			   const struct flow *flow)
{
	struct mapping_key mkey;
	struct port_key pkey;
	struct mapping m;

	mapping_key_of(key, flow->ifindex, &mkey);
	if (bpf_map_lookup_elem(sn->mappings_fd, &mkey, &m))
		return;
	port_key_of(mkey.attachment, m.shared_addr, m.shared_port, mkey.proto,
		    &pkey);
	bpf_map_delete_elem(sn->ports_fd, &pkey);
	bpf_map_delete_elem(sn->mappings_fd, &mkey);
}

static void flow_delete(struct sharenat *sn, const struct flow_key *key,
			const struct flow *flow)
{
	struct reply_key rkey;

	bpf_map_delete_elem(sn->flows_fd, key);
	if (flow->dependent) {
		reply_key_of(key, flow, &rkey);
		bpf_map_delete_elem(sn->replies_fd, &rkey);
	} else {
		mapping_delete(sn, key, flow);
	}
}

struct flow_collection {
	bool (*matches)(const struct flow_key *key, const struct flow *flow,
			const void *ctx);
	const void *ctx;
	struct flow_key *keys;
	struct flow *values;
	size_t count;
	size_t capacity;
};

static int collect_flow(const void *key_ptr, const void *value_ptr, void *ctx)
{
	const struct flow_key *key = key_ptr;
	struct flow_collection *c = ctx;

	if (!c->matches(key, value_ptr, c->ctx))
		return 0;
	if (c->count == c->capacity) {
		size_t capacity = c->capacity ? c->capacity * 2 : 64;
		struct flow_key *keys = realloc(c->keys,
						capacity * sizeof(*keys));
		struct flow *values;

		if (!keys)
			return -ENOMEM;
		c->keys = keys;
		values = realloc(c->values, capacity * sizeof(*values));
		if (!values)
			return -ENOMEM;
		c->values = values;
		c->capacity = capacity;
	}
	c->keys[c->count] = *key;
	c->values[c->count] = *(const struct flow *)value_ptr;
	c->count++;
	return 0;
}

void flows_delete_matching(struct sharenat *sn,
			   bool (*matches)(const struct flow_key *key,
					   const struct flow *flow,
					   const void *ctx),
			   const void *ctx)
{
	struct flow_collection c = { .matches = matches, .ctx = ctx };
	size_t i;

	/* Keys first, deletes after: deleting during a hash walk restarts
	 * it and can skip entries. */
	map_for_each(sn->flows_fd, sizeof(struct flow_key),
		     sizeof(struct flow), collect_flow, &c);
	for (i = 0; i < c.count; i++)
		flow_delete(sn, &c.keys[i], &c.values[i]);
	free(c.keys);
	free(c.values);
}

struct flow_visit {
	struct sharenat *sn;
	sharenat_flow_fn fn;
	void *ctx;
};

static int visit_flow(const void *key_ptr, const void *value_ptr, void *ctx)
{
	struct flow_visit *visit = ctx;

	return visit->fn(key_ptr, value_ptr, visit->ctx);
}

int sharenat_for_each_flow(struct sharenat *sn, sharenat_flow_fn fn,
			   void *ctx)
{
	struct flow_visit visit = { sn, fn, ctx };

	return map_for_each(sn->flows_fd, sizeof(struct flow_key),
			    sizeof(struct flow), visit_flow, &visit);
}

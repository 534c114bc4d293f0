/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fragments. Only a datagram's first fragment carries the ports that name
 * its flow: it is translated as any packet and leaves behind, in map
 * `fragments`, what it was translated to. The later fragments of the same
 * datagram need only their address rewritten (the L4 checksum, which
 * covers the whole datagram, was fixed in the first) and follow the first
 * fragment's way. A later fragment that comes before its first is dropped
 * and counted (drop_fragment_no_first).
 */
#ifndef SHARENAT_BPF_FRAGMENT_H
#define SHARENAT_BPF_FRAGMENT_H

#include "maps.h"
#include "parse.h"

static __always_inline void fragment_key_of(const struct packet *pkt,
					    enum flow_direction direction,
					    __u32 attachment,
					    struct fragment_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src_addr = pkt->src_addr;
	key->dst_addr = pkt->dst_addr;
	key->ip_id = pkt->ip_id;
	key->proto = pkt->proto;
	key->direction = direction;
	key->attachment = attachment;
}

/* A first fragment was translated: remember how, for the rest. */
static __always_inline void fragment_remember(const struct packet *pkt,
					      enum flow_direction direction,
					      __u32 attachment, __be32 nat_addr,
					      __u32 ifindex, __be32 next_hop)
{
	struct fragment_key key;
	struct fragment value = {
		.nat_addr = nat_addr,
		.next_hop = next_hop,
		.ifindex = ifindex,
		.first_seen_ns = bpf_ktime_get_ns(),
	};

	if (pkt->fragment != FRAGMENT_FIRST)
		return;
	fragment_key_of(pkt, direction, attachment, &key);
	bpf_map_update_elem(&fragments, &key, &value, BPF_ANY);
}

/* The first fragment's translation for a later one, if it came, and not
 * longer ago than a datagram may take to arrive. */
static __always_inline const struct fragment *
fragment_find(const struct packet *pkt, enum flow_direction direction,
	      __u32 attachment)
{
	struct fragment_key key;
	struct fragment *first;

	fragment_key_of(pkt, direction, attachment, &key);
	first = bpf_map_lookup_elem(&fragments, &key);
	if (!first || bpf_ktime_get_ns() - first->first_seen_ns >
		      (__u64)SHARENAT_FRAGMENT_TIMEOUT * 1000000000ull)
		return NULL;
	return first;
}

#endif /* SHARENAT_BPF_FRAGMENT_H */

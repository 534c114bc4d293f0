/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IP identification of the datagrams that leave with a shared address
 * (RFC 7857 3.10, RFC 6864 section 9). Sandboxes pick their ids each on
 * its own; once they share one source address, two of their datagrams to
 * one receiver may carry the same id, and if both are fragmented the
 * receiver reassembles pieces of one with the other. So a non-atomic
 * datagram (DF clear, or already a fragment) gets an id of the NAT's own,
 * and the later fragments of a datagram the id its first one got. An
 * atomic datagram (DF set, whole: all of TCP and most of UDP from Linux)
 * is never reassembled and keeps its id, at no cost.
 */
#ifndef SHARENAT_BPF_IP_ID_H
#define SHARENAT_BPF_IP_ID_H

#include "maps.h"
#include "parse.h"
#include "rewrite.h"

#define IP_ID_OFF offsetof(struct iphdr, id)

static __always_inline bool ip_id_is_atomic(const struct packet *pkt)
{
	return pkt->fragment == FRAGMENT_NONE && pkt->dont_fragment;
}

/* A new id for a non-atomic datagram. */
static __always_inline __be16 ip_id_next(void)
{
	__u32 zero = 0;
	__u64 *last = bpf_map_lookup_elem(&ip_ids, &zero);

	if (!last)
		return 0;
	return bpf_htons((__u16)(__sync_fetch_and_add(last, 1) + 1));
}

/* Give the packet id `id` (its IP header checksum kept right). */
static __always_inline int ip_id_rewrite(const struct nat_ctx *c,
					 const struct packet *pkt, __be16 id)
{
	return rewrite_u16(c, pkt->l3_off + IP_CSUM_OFF, false, true,
			   pkt->l3_off + IP_ID_OFF, pkt->ip_id, id);
}

#endif /* SHARENAT_BPF_IP_ID_H */

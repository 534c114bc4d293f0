/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hosts on a shared device's link, for XDP egress, which has no
 * bpf_redirect_neigh: XDP ingress learns each one's MAC from the ARP it
 * sends (requests and replies alike, as the kernel's own neighbour table
 * does), and egress uses it while it is fresh. A host not heard from for
 * SHARENAT_NEIGHBOUR_FRESH_SECONDS goes back to tc's path, whose
 * bpf_redirect_neigh has the kernel probe it: its answer is learned again.
 */
#ifndef SHARENAT_BPF_NEIGHBOUR_H
#define SHARENAT_BPF_NEIGHBOUR_H

#include "maps.h"
#include "parse.h"

#define NEIGHBOUR_FRESH_NS \
	((__u64)SHARENAT_NEIGHBOUR_FRESH_SECONDS * 1000000000ull)

/* An ARP frame arrived on a shared device: remember its sender, if it is a
 * host of the attachment's subnet (only those are next hops, and nothing
 * else may plant an entry) with a unicast MAC. */
static __always_inline void neighbour_learn(const struct nat_ctx *c)
{
	struct neighbour_key key = { .ifindex = ctx_ifindex(c) };
	const struct attachment *att;
	struct neighbour_macs value = {};
	struct arp_ipv4 arp;

	if (ctx_load_fast(c, ETH_HLEN, &arp, sizeof(arp)) ||
	    arp.htype != bpf_htons(ARPHRD_ETHER) ||
	    arp.ptype != bpf_htons(ETH_P_IP) || arp.hlen != ETH_ALEN ||
	    arp.plen != 4 || (arp.sha[0] & 1) || !arp.spa ||
	    (arp.op != bpf_htons(ARPOP_REQUEST) &&
	     arp.op != bpf_htons(ARPOP_REPLY)))
		return;
	att = bpf_map_lookup_elem(&attachments, &key.ifindex);
	if (!att || (arp.spa & att->subnet_mask) != att->subnet_addr)
		return;
	key.addr = arp.spa;
	__builtin_memcpy(value.mac, arp.sha, ETH_ALEN);
	__builtin_memcpy(value.device_mac, att->mac, ETH_ALEN);
	value.learned_ns = bpf_ktime_get_coarse_ns();
	if (!bpf_map_update_elem(&neighbours, &key, &value, BPF_ANY))
		count(COUNTER_NEIGHBOUR_LEARNED);
}

/* The MACs of a frame to next_hop through the shared device ifindex, if
 * that host was heard from lately. */
static __always_inline const struct neighbour_macs *
neighbour_fresh(__u32 ifindex, __be32 next_hop, __u64 now)
{
	struct neighbour_key key = { .ifindex = ifindex, .addr = next_hop };
	const struct neighbour_macs *n;

	n = bpf_map_lookup_elem(&neighbours, &key);
	if (!n || now - n->learned_ns > NEIGHBOUR_FRESH_NS)
		return NULL;
	return n;
}

#endif /* SHARENAT_BPF_NEIGHBOUR_H */

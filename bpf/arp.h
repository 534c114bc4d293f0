/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sandbox's gateway: a sandbox routes everything through 169.254.1.1
 * on its only device, and sharenat answers ARP for that address on the
 * host side with the host-side device's MAC, so nothing has to be
 * configured on the host for a sandbox to work.
 */
#ifndef SHARENAT_BPF_ARP_H
#define SHARENAT_BPF_ARP_H

#include "maps.h"
#include "parse.h"
#include "rewrite.h"

/* Turn an ARP request for the gateway, from a sandbox of this device, into
 * the reply and send it back out of the device. Anything else is dropped:
 * a sandbox has no business with other ARP. */
static __always_inline int answer_gateway_arp(const struct nat_ctx *c)
{
	struct arp_ipv4 arp;
	struct sandbox *sbx;
	__u8 requester_mac[ETH_ALEN] __attribute__((aligned(2)));
	__be32 requester_addr;

	if (ctx_load(c, ETH_HLEN, &arp, sizeof(arp)))
		goto drop_malformed;
	if (arp.htype != bpf_htons(ARPHRD_ETHER) ||
	    arp.ptype != bpf_htons(ETH_P_IP) || arp.hlen != ETH_ALEN ||
	    arp.plen != 4)
		goto drop_malformed;
	if (arp.op != bpf_htons(ARPOP_REQUEST) ||
	    arp.tpa != bpf_htonl(SHARENAT_GATEWAY_ADDR))
		goto drop_unsupported;
	sbx = bpf_map_lookup_elem(&sandboxes, &arp.spa);
	if (!sbx || sbx->ifindex != ctx_ifindex(c)) {
		count(COUNTER_DROP_SPOOFED_SOURCE);
		return TC_ACT_SHOT;
	}

	__builtin_memcpy(requester_mac, arp.sha, ETH_ALEN);
	requester_addr = arp.spa;
	arp.op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(arp.tha, requester_mac, ETH_ALEN);
	arp.tpa = requester_addr;
	__builtin_memcpy(arp.sha, sbx->host_mac, ETH_ALEN);
	arp.spa = bpf_htonl(SHARENAT_GATEWAY_ADDR);
	if (ctx_store(c, ETH_HLEN, &arp, sizeof(arp)) ||
	    rewrite_macs(c, requester_mac, sbx->host_mac))
		goto drop_malformed;
	count(COUNTER_ARP_REPLIED);
	return bpf_redirect(ctx_ifindex(c), 0);

drop_malformed:
	count(COUNTER_DROP_MALFORMED);
	return TC_ACT_SHOT;
drop_unsupported:
	count(COUNTER_DROP_UNSUPPORTED);
	return TC_ACT_SHOT;
}

#endif /* SHARENAT_BPF_ARP_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Egress at XDP, in front of tc on a sandbox device added with --mode xdp:
 * a packet of an established flow that needs nothing but the translation
 * is rewritten and redirected here, to a shared device attached with
 * --mode xdp, with its next hop's MAC from the neighbour table. That keeps
 * the frames a tap (or a veth's XDP peer) hands over off the skb path
 * altogether. Everything else goes on untouched to the tc egress program
 * on the same device, which does it all: a new flow, ARP, ICMP errors,
 * fragments, TTL 1, DF clear (an IP id to give), a hairpin, a packet too
 * big, a next hop not heard from lately, and whatever looks wrong (tc
 * counts the drop).
 */
#ifndef SHARENAT_BPF_EGRESS_XDP_H
#define SHARENAT_BPF_EGRESS_XDP_H

#include "flow.h"
#include "icmp_send.h"
#include "neighbour.h"
#include "rewrite.h"

static __always_inline int nat_egress_xdp(struct xdp_md *xdp)
{
	const struct nat_ctx c = { .ctx = xdp, .xdp = true };
	const struct neighbour_macs *next;
	struct packet pkt = {};
	struct flow_key key;
	struct sandbox *sbx;
	struct flow *flow;
	__u32 mtu, out;
	__u64 now;

	if (parse_packet(&c, &pkt) != PARSE_IPV4 ||
	    pkt.fragment != FRAGMENT_NONE || pkt.ttl <= 1 ||
	    !pkt.dont_fragment || l4_csum_is_seed(&pkt))
		goto to_tc;
	sbx = bpf_map_lookup_elem(&sandboxes, &pkt.src_addr);
	if (!sbx || sbx->ifindex != xdp->ingress_ifindex)
		goto to_tc;
	flow_key_of(&pkt, FLOW_EGRESS, 0, &key);
	flow = bpf_map_lookup_elem(&flows, &key);
	if (!flow || flow->hairpin)
		goto to_tc;
	out = flow->ifindex;
	now = bpf_ktime_get_coarse_ns();
	next = neighbour_fresh(out, flow->next_hop, now);
	/* The devmap holds the shared device only while it is attached with
	 * --mode xdp: a redirect to a device missing there would be lost. */
	if (!next || !bpf_map_lookup_elem(&xdp_devices, &out) ||
	    too_big_for(&c, &pkt, out, &mtu))
		goto to_tc;

	if (!sbx->mac_static && !mac_equal(sbx->mac, pkt.src_mac))
		__builtin_memcpy(sbx->mac, pkt.src_mac, ETH_ALEN);
	flow_touch(flow, &pkt, now);
	count_function(sbx->function_id, FUNCTION_PACKETS_OUT);
	if (tcp_closes(&pkt))
		flow_closing(flow);
	if (rewrite_addr(&c, &pkt, IP_SADDR_OFF, pkt.src_addr, flow->nat_addr,
			 true) ||
	    rewrite_port(&c, &pkt, true, pkt.src_port, flow->nat_port) ||
	    rewrite_macs(&c, next->mac, next->device_mac)) {
		count(COUNTER_DROP_MALFORMED);
		return XDP_DROP;
	}
	count(COUNTER_EGRESS_TRANSLATED);
	count(COUNTER_EGRESS_XDP_FAST_PATH);
	count_traffic(sbx->counter_slot, flow->attachment_slot, true,
		      pkt.frame_len);
	return (int)bpf_redirect_map(&xdp_devices, out, 0);

to_tc:
	count(COUNTER_EGRESS_XDP_TO_TC);
	return XDP_PASS;
}

#endif /* SHARENAT_BPF_EGRESS_XDP_H */

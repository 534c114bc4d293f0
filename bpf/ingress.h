/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ingress, customer -> sandbox, on the shared device: reverse lookup by
 * (attachment, proto, remote addr:port, shared addr:port) -> rewrite
 * destination and MACs -> redirect to the sandbox's device. A miss is the
 * host's own traffic or an unsolicited packet: it goes to the host stack,
 * which owns the shared address, and never to a sandbox.
 */
#ifndef SHARENAT_BPF_INGRESS_H
#define SHARENAT_BPF_INGRESS_H

#include "flow.h"
#include "rewrite.h"

static __always_inline int nat_ingress(struct __sk_buff *skb)
{
	struct packet pkt = {};
	struct flow_key key;
	struct sandbox *sbx;
	struct flow *flow;

	if (parse_packet(skb, &pkt) != PARSE_IPV4)
		return TC_ACT_OK;

	ingress_key_of(&pkt, skb->ifindex, &key);
	flow = bpf_map_lookup_elem(&flows, &key);
	if (!flow) {
		count(COUNTER_INGRESS_NOT_OURS);
		return TC_ACT_OK;
	}
	sbx = bpf_map_lookup_elem(&sandboxes, &flow->nat_addr);
	if (!sbx || sbx->ifindex != flow->ifindex) {
		count(COUNTER_DROP_STALE_FLOW);
		return TC_ACT_SHOT;
	}
	if (pkt.ttl <= 1) {
		count(COUNTER_DROP_TTL_EXCEEDED);
		return TC_ACT_SHOT;
	}
	flow_touch(flow, &pkt);

	if (rewrite_addr(skb, &pkt, IP_DADDR_OFF, pkt.dst_addr,
			 flow->nat_addr) ||
	    rewrite_port(skb, &pkt, port_field_off(&pkt, false), pkt.dst_port,
			 flow->nat_port) ||
	    decrement_ttl(skb, &pkt) ||
	    rewrite_macs(skb, sbx->mac, sbx->host_mac)) {
		count(COUNTER_DROP_MALFORMED);
		return TC_ACT_SHOT;
	}
	count(COUNTER_INGRESS_TRANSLATED);
	return bpf_redirect(flow->ifindex, 0);
}

#endif /* SHARENAT_BPF_INGRESS_H */

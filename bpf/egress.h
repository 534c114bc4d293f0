/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Egress, sandbox -> customer, at tc on the host side of a sandbox's
 * device (tc: a sandbox's TCP and UDP arrive CHECKSUM_PARTIAL, which only
 * an skb can carry through a redirect, and XDP on a veth turns TSO off for
 * the sandbox; with --mode xdp, egress_xdp.h runs in front of it for the
 * established flows' packets it can finish):
 * parse -> sandbox (anti-spoofing) -> attachment for the destination ->
 * flow (created on the first packet) -> rewrite source -> redirect to the
 * shared device, where the kernel resolves the next hop's MAC on that
 * device only (bpf_redirect_neigh), so overlapping customer subnets on
 * different devices never share a neighbour entry.
 */
#ifndef SHARENAT_BPF_EGRESS_H
#define SHARENAT_BPF_EGRESS_H

#include "arp.h"
#include "flow.h"
#include "fragment.h"
#include "fragmenter.h"
#include "icmp_send.h"
#include "ip_id.h"
#include "icmp_error.h"
#include "rewrite.h"

/* Destinations no sandbox may reach through a gateway: other sandboxes
 * (the pool is this host's; sandboxes never talk to each other but through
 * a shared address), this network and loopback, link-local, multicast and
 * broadcast. Inside one of the function's own subnets an address is the
 * customer's to use, so only the gateway route checks this. */
static __always_inline bool gateway_may_reach(__be32 dst_addr)
{
	__u32 dst = bpf_ntohl(dst_addr);

	return (dst & SHARENAT_POOL_MASK) != SHARENAT_POOL_ADDR &&
	       (dst >> 24) != 0 && (dst >> 24) != 127 &&
	       (dst >> 16) != 0xa9fe /* 169.254.0.0/16 */ &&
	       (dst >> 28) < 0xe /* 224.0.0.0/4 and 240.0.0.0/4 */;
}

/* The attachment a sandbox's packet goes out through, and how: to the
 * destination on the function's subnet that holds it, else through the
 * gateway of the first of its attachments that has one. */
static __always_inline const struct attachment *
route_of(const struct function *fn, __be32 dst_addr, enum flow_route *route)
{
	const struct attachment *att;
	__u32 i;

	for (i = 0; i < SHARENAT_MAX_FUNCTION_SUBNETS; i++) {
		if (i >= fn->subnet_count)
			break;
		if ((dst_addr & fn->subnets[i].subnet_mask) !=
		    fn->subnets[i].subnet_addr)
			continue;
		att = bpf_map_lookup_elem(&attachments,
					  &fn->subnets[i].attachment);
		*route = FLOW_ROUTE_SUBNET;
		return att;
	}
	if (!gateway_may_reach(dst_addr))
		return NULL;
	for (i = 0; i < SHARENAT_MAX_FUNCTION_SUBNETS; i++) {
		if (i >= fn->subnet_count)
			break;
		att = bpf_map_lookup_elem(&attachments,
					  &fn->subnets[i].attachment);
		if (att && att->gateway_addr) {
			*route = FLOW_ROUTE_GATEWAY;
			return att;
		}
	}
	return NULL;
}

static __always_inline int drop(enum counter why)
{
	count(why);
	return TC_ACT_SHOT;
}

/* No flow could be made for a new one (why, counted): tell the sandbox,
 * so that it fails now instead of retrying into a timeout (RFC 5508
 * REQ-8). Not for a security group's refusal: like a cloud security
 * group, it drops in silence, so that its rules cannot be probed. */
static __always_inline int refuse_new_flow(struct __sk_buff *skb,
					   const struct packet *pkt,
					   enum counter why)
{
	__u8 code = ICMP_ADMIN_PROHIBITED;

	if (why == COUNTER_DROP_SECURITY_GROUP || !icmp_may_answer(pkt))
		return TC_ACT_SHOT;
	if (why == COUNTER_DROP_NO_ROUTE)
		code = ICMP_NET_UNREACH;
	return icmp_send_back(skb, pkt, ICMP_DEST_UNREACH, code, 0,
			      bpf_htonl(SHARENAT_GATEWAY_ADDR));
}

/* A new flow's first packet: find where it goes and make the flow. */
static __always_inline struct flow *
new_egress_flow(const struct packet *pkt, struct sandbox *sbx,
		const struct flow_key *key, __u64 now, enum counter *why)
{
	const struct attachment *att;
	const struct function *fn;
	enum flow_route route = FLOW_ROUTE_SUBNET;

	/* Only queries start flows; a sandbox's echo reply or ICMP error
	 * has no flow to belong to until ICMP errors are translated. */
	if (pkt->proto == IPPROTO_ICMP && pkt->icmp_type != ICMP_ECHO) {
		*why = COUNTER_DROP_UNSUPPORTED;
		return NULL;
	}
	fn = bpf_map_lookup_elem(&functions, &sbx->function_id);
	if (!fn) {
		*why = COUNTER_DROP_NO_ROUTE;
		return NULL;
	}
	att = route_of(fn, pkt->dst_addr, &route);
	if (!att) {
		count_function(fn->id, FUNCTION_DROP_NO_ROUTE);
		*why = COUNTER_DROP_NO_ROUTE;
		return NULL;
	}
	return flow_create(pkt, sbx, fn, att, route, key, now, why);
}

/*
 * Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): a sandbox sent to a shared
 * endpoint of its own attachment. After source NAT the packet is what a
 * remote at that shared endpoint would send: deliver it as ingress would,
 * to the sandbox whose mapping it names, if that sandbox's filter lets this
 * source in (it has a flow to it, address-and-port-dependent filtering).
 */
static __always_inline int hairpin(const struct nat_ctx *c,
				   const struct packet *pkt,
				   const struct flow *flow, __u64 now)
{
	struct flow_key key;
	struct flow *target = flow_of_reply(flow->ifindex, pkt->proto,
					    flow->nat_addr, flow->nat_port,
					    pkt->dst_addr, pkt->dst_port, &key);
	struct sandbox *sbx;

	if (!target)
		return drop(COUNTER_DROP_HAIRPIN_NO_FLOW);
	sbx = flow_sandbox(&key, target);
	if (!sbx)
		return drop(COUNTER_DROP_STALE_FLOW);
	flow_touch(target, pkt, now, false);
	count_function(sbx->function_id, FUNCTION_PACKETS_IN);
	if (rewrite_addr(c, pkt, IP_DADDR_OFF, pkt->dst_addr, key.src_addr,
			 false) ||
	    rewrite_port(c, pkt, false, pkt->dst_port, key.src_port) ||
	    rewrite_macs(c, sbx->mac, sbx->host_mac))
		return drop(COUNTER_DROP_MALFORMED);
	count(COUNTER_HAIRPINNED);
	return bpf_redirect(sbx->ifindex, 0);
}

/* An ICMP error hairpinned: after its egress translation it is an error
 * to a shared endpoint of the same attachment about a packet from another
 * shared endpoint, so it is translated once more, as ingress would, and
 * delivered to the sandbox behind that endpoint (RFC 5508 REQ-7). */
static __always_inline int hairpin_icmp_error(const struct nat_ctx *c,
					      const struct packet *pkt,
					      const struct icmp_inner *in,
					      const struct flow *flow)
{
	struct icmp_inner turned = *in;
	struct flow_key key;
	struct sandbox *sbx;
	struct flow *target;

	turned.dst_addr = flow->nat_addr;
	turned.dst_port = flow->nat_port;
	target = icmp_error_ingress_flow(&turned, flow->ifindex, &key);
	if (!target)
		return drop(COUNTER_DROP_ICMP_ERROR_NO_FLOW);
	sbx = flow_sandbox(&key, target);
	if (!sbx)
		return drop(COUNTER_DROP_STALE_FLOW);
	if (translate_icmp_error(c, pkt, &turned, true, IP_DADDR_OFF,
				 key.src_addr, key.src_port, false) ||
	    rewrite_macs(c, sbx->mac, sbx->host_mac))
		return drop(COUNTER_DROP_MALFORMED);
	count(COUNTER_HAIRPINNED);
	return bpf_redirect(sbx->ifindex, 0);
}

/* An ICMP error from a sandbox about a packet it received, e.g. port
 * unreachable for a reply to a socket it closed. */
static __always_inline int egress_icmp_error(const struct nat_ctx *c,
					     const struct packet *pkt)
{
	struct bpf_redir_neigh neighbour = { .nh_family = AF_INET };
	struct icmp_inner in = {};
	struct flow *flow;

	/* A sandbox speaks only of packets that were sent to it. */
	if (parse_icmp_inner(c, pkt, &in) || in.dst_addr != pkt->src_addr)
		return drop(COUNTER_DROP_MALFORMED);
	flow = icmp_error_egress_flow(&in);
	if (!flow)
		return drop(COUNTER_DROP_ICMP_ERROR_NO_FLOW);
	/* The error goes back to the remote the quoted packet came from. */
	neighbour.ipv4_nh = flow_next_hop(flow, in.src_addr);
	if (!neighbour.ipv4_nh)
		return drop(COUNTER_DROP_NO_ROUTE);
	if (translate_icmp_error(c, pkt, &in, false, IP_SADDR_OFF,
				 flow->nat_addr, flow->nat_port, true))
		return drop(COUNTER_DROP_MALFORMED);
	count(COUNTER_ICMP_ERROR_TRANSLATED);
	if (flow->route == FLOW_ROUTE_HAIRPIN)
		return hairpin_icmp_error(c, pkt, &in, flow);
	return bpf_redirect_neigh(flow->ifindex, &neighbour, sizeof(neighbour),
				  0);
}

/* A later fragment of a datagram whose first fragment went out. */
static __always_inline int egress_later_fragment(const struct nat_ctx *c,
						 const struct packet *pkt)
{
	struct bpf_redir_neigh neighbour = { .nh_family = AF_INET };
	const struct fragment *first = fragment_find(pkt, FLOW_EGRESS, 0);
	enum counter held;

	if (!first) {
		held = fragment_hold(c->ctx, pkt, FLOW_EGRESS, 0);
		count(held);
		return held == COUNTER_FRAGMENT_HELD ? TC_ACT_STOLEN :
						       TC_ACT_SHOT;
	}
	if (rewrite_addr(c, pkt, IP_SADDR_OFF, pkt->src_addr,
			 first->nat_addr, true) ||
	    ip_id_rewrite(c, pkt, first->nat_ip_id))
		return drop(COUNTER_DROP_MALFORMED);
	count(COUNTER_FRAGMENT_TRANSLATED);
	neighbour.ipv4_nh = first->next_hop;
	return bpf_redirect_neigh(first->ifindex, &neighbour,
				  sizeof(neighbour), 0);
}

/* A sandbox's own MAC, where ingress sends its frames: learned from what
 * it sends, unless --mac fixed it. */
static __always_inline void sandbox_mac_learn(struct sandbox *sbx,
					      const struct packet *pkt)
{
	if (!sbx->mac_static && !mac_equal(sbx->mac, pkt->src_mac))
		__builtin_memcpy(sbx->mac, pkt->src_mac, ETH_ALEN);
}

/* An established flow's packet on its way out, at either hook: the flow
 * and the counters take note, and its source becomes the flow's shared
 * endpoint, TTL one down. 0, or -1 with drop_malformed counted. */
static __always_inline int egress_translate(const struct nat_ctx *c,
					    const struct packet *pkt,
					    const struct sandbox *sbx,
					    struct flow *flow, __u64 now)
{
	flow_touch(flow, pkt, now, true);
	count_function(sbx->function_id, FUNCTION_PACKETS_OUT);
	if (rewrite_addr(c, pkt, IP_SADDR_OFF, pkt->src_addr, flow->nat_addr,
			 true) ||
	    rewrite_port(c, pkt, true, pkt->src_port, flow->nat_port)) {
		count(COUNTER_DROP_MALFORMED);
		return -1;
	}
	count(COUNTER_EGRESS_TRANSLATED);
	count_traffic(sbx->counter_slot, flow->attachment_slot, true,
		      pkt->frame_len);
	return 0;
}

static __always_inline int nat_egress(struct __sk_buff *skb)
{
	const struct nat_ctx c = { .ctx = skb, .xdp = false };
	struct bpf_redir_neigh neighbour = { .nh_family = AF_INET };
	enum counter why = COUNTER_DROP_MALFORMED;
	enum parse_result parsed;
	struct packet pkt = {};
	struct flow_key key;
	struct sandbox *sbx;
	struct flow *flow;
	__be32 gateway = bpf_htonl(SHARENAT_GATEWAY_ADDR);
	__be32 next_hop;
	__be16 ip_id = 0;
	__u32 mtu;
	__u64 now;

	parsed = parse_packet(&c, &pkt);
	switch (parsed) {
	case PARSE_IPV4:
	case PARSE_ICMP_ERROR:
	case PARSE_LATER_FRAGMENT:
		break;
	case PARSE_ARP:
		return answer_gateway_arp(&c);
	case PARSE_MALFORMED:
		return drop(COUNTER_DROP_MALFORMED);
	case PARSE_OTHER_ETHERTYPE:
		/* A sandbox reaches nothing but through the NAT (IPv6
		 * router solicitations and the like end here). */
		return drop(COUNTER_DROP_NOT_IPV4);
	default:
		return drop(COUNTER_DROP_UNSUPPORTED);
	}

	sbx = bpf_map_lookup_elem(&sandboxes, &pkt.src_addr);
	if (!sbx || sbx->ifindex != skb->ifindex)
		return drop(COUNTER_DROP_SPOOFED_SOURCE);
	sandbox_mac_learn(sbx, &pkt);
	if (pkt.ttl <= 1) {
		count(COUNTER_DROP_TTL_EXCEEDED);
		if (!icmp_may_answer(&pkt))
			return TC_ACT_SHOT;
		return icmp_send_back(skb, &pkt, ICMP_TIME_EXCEEDED,
				      ICMP_EXC_TTL, 0, gateway);
	}
	if (parsed == PARSE_ICMP_ERROR)
		return egress_icmp_error(&c, &pkt);
	if (parsed == PARSE_LATER_FRAGMENT)
		return egress_later_fragment(&c, &pkt);

	/* Read once: a new flow, its first packet's touch and a hairpin
	 * all take this time. */
	now = bpf_ktime_get_coarse_ns();
	flow_key_of(&pkt, &key);
	flow = bpf_map_lookup_elem(&flows, &key);
	if (!flow) {
		flow = new_egress_flow(&pkt, sbx, &key, now, &why);
		if (!flow) {
			count_refused(sbx);
			count(why);
			return refuse_new_flow(skb, &pkt, why);
		}
	}
	/* A flow an earlier sandbox at this address left (its del died
	 * before its flows went, and no repair ran since): its replies are
	 * refused as stale, and its way out is not this sandbox's to take,
	 * it may lead into another tenant's network. */
	if (flow->sandbox_ifindex != skb->ifindex)
		return drop(COUNTER_DROP_STALE_FLOW);
	/* See flow_insert_new: a hairpin flow takes whole datagrams. */
	if (flow->route == FLOW_ROUTE_HAIRPIN) {
		if (pkt.fragment != FRAGMENT_NONE)
			return drop(COUNTER_DROP_UNSUPPORTED);
		if (egress_translate(&c, &pkt, sbx, flow, now))
			return TC_ACT_SHOT;
		return hairpin(&c, &pkt, flow, now);
	}
	/* A flow its attachment's detach left behind goes nowhere. */
	next_hop = flow_next_hop(flow, pkt.dst_addr);
	if (!next_hop)
		return drop(COUNTER_DROP_NO_ROUTE);
	if (too_big_for(&c, &pkt, flow->ifindex, &mtu)) {
		if (!pkt.dont_fragment) {
			why = fragment_datagram(skb, &pkt, mtu);
			count(why);
			return why == COUNTER_FRAGMENTED ? TC_ACT_STOLEN :
							   TC_ACT_SHOT;
		}
		count(COUNTER_DROP_TOO_BIG);
		return icmp_send_back(skb, &pkt, ICMP_DEST_UNREACH,
				      ICMP_FRAG_NEEDED, bpf_htonl(mtu),
				      gateway);
	}
	if (egress_translate(&c, &pkt, sbx, flow, now))
		return TC_ACT_SHOT;
	if (!ip_id_is_atomic(&pkt)) {
		ip_id = ip_id_next();
		if (ip_id_rewrite(&c, &pkt, ip_id))
			return drop(COUNTER_DROP_MALFORMED);
	}
	fragment_remember(&pkt, FLOW_EGRESS, 0, flow->nat_addr, flow->ifindex,
			  next_hop, ip_id);
	if (fragment_release(skb, &pkt, FLOW_EGRESS, 0))
		return drop(COUNTER_DROP_MALFORMED);
	neighbour.ipv4_nh = next_hop;
	return bpf_redirect_neigh(flow->ifindex, &neighbour, sizeof(neighbour),
				  0);
}

#endif /* SHARENAT_BPF_EGRESS_H */

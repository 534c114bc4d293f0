/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ingress, customer -> sandbox, on the shared device: the flow a reply
 * answers, by the owner of the shared endpoint it is sent to and the
 * remote it comes from (flow_of_reply) -> rewrite destination and MACs ->
 * redirect to the sandbox's device. A miss is the
 * host's own traffic or an unsolicited packet, and never reaches a
 * sandbox: to a shared address sharenat added it is dropped and counted,
 * anything else goes to the host stack.
 *
 * The same code runs at XDP (when the attachment asks for it) and at tc.
 * XDP finishes what it can: a sandbox device that takes XDP frames, and a
 * packet whose checksums are complete. Everything else it passes, untouched,
 * to tc on the same device.
 */
#ifndef SHARENAT_BPF_INGRESS_H
#define SHARENAT_BPF_INGRESS_H

#include "flow.h"
#include "fragment.h"
#include "fragmenter.h"
#include "icmp_error.h"
#include "icmp_send.h"
#include "neighbour.h"
#include "rewrite.h"

enum ingress_verdict {
	INGRESS_PASS,		/* to the host stack (or, from XDP, to tc) */
	INGRESS_DROP,
	INGRESS_REDIRECT,	/* to *ifindex */
	INGRESS_STOLEN,		/* kept or cut up (tc only): fragment_hold,
				 * fragment_datagram */
	INGRESS_ANSWERED,	/* made an ICMP error and redirected (tc only) */
};

enum addr_owner {
	ADDR_NOT_SHARED,	/* the host's own business */
	ADDR_SHARED_BY_USER,	/* a shared address the user configured */
	ADDR_SHARED_ADDED,	/* a shared address sharenat added */
};

/* Whose is addr on this attachment's device? */
static __always_inline enum addr_owner addr_owner(__u32 attachment,
						  __be32 addr)
{
	const struct attachment *att;
	__u32 i;

	att = bpf_map_lookup_elem(&attachments, &attachment);
	if (!att)
		return ADDR_NOT_SHARED;
	for (i = 0; i < SHARENAT_MAX_SHARED_ADDRS; i++) {
		if (i >= att->shared_addr_count || att->shared_addrs[i] != addr)
			continue;
		return (att->added_addrs & (1u << i)) ? ADDR_SHARED_ADDED :
							ADDR_SHARED_BY_USER;
	}
	return ADDR_NOT_SHARED;
}

/* The rest of the way to the sandbox, for a packet translated, TTL
 * included: MACs, and which device. */
static __always_inline enum ingress_verdict
deliver(const struct nat_ctx *c, const struct sandbox *sbx, __u32 *ifindex)
{
	if (rewrite_macs(c, sbx->mac, sbx->host_mac)) {
		count(COUNTER_DROP_MALFORMED);
		return INGRESS_DROP;
	}
	*ifindex = sbx->ifindex;
	return INGRESS_REDIRECT;
}

/* The NAT's own error to the remote, from the shared address it sent to
 * (tc only). */
static __always_inline enum ingress_verdict
ingress_answer(const struct nat_ctx *c, const struct packet *pkt, __u8 type,
	       __u8 code, __be32 rest)
{
	if (c->xdp || !icmp_may_answer(pkt))
		return INGRESS_DROP;
	if (icmp_send_back(c->ctx, pkt, type, code, rest, pkt->dst_addr) !=
	    TC_ACT_REDIRECT)
		return INGRESS_DROP;
	return INGRESS_ANSWERED;
}

/* An ICMP error about a packet a sandbox sent (tc only: XDP hands these
 * on). Errors to addresses that are not shared ones are the host's. */
static __always_inline enum ingress_verdict
ingress_icmp_error(const struct nat_ctx *c, const struct packet *pkt,
		   __u32 *ifindex)
{
	struct icmp_inner in = {};
	struct flow_key key;
	struct sandbox *sbx;
	struct flow *flow;

	if (c->xdp) {
		count(COUNTER_INGRESS_XDP_TO_TC);
		return INGRESS_PASS;
	}
	if (addr_owner(ctx_ifindex(c), pkt->dst_addr) == ADDR_NOT_SHARED)
		return INGRESS_PASS;
	if (parse_icmp_inner(c, pkt, &in) || in.src_addr != pkt->dst_addr) {
		count(COUNTER_DROP_MALFORMED);
		return INGRESS_DROP;
	}
	flow = icmp_error_ingress_flow(&in, ctx_ifindex(c), &key);
	if (!flow) {
		count(COUNTER_DROP_ICMP_ERROR_NO_FLOW);
		return INGRESS_DROP;
	}
	sbx = flow_sandbox(&key, flow);
	if (!sbx) {
		count(COUNTER_DROP_STALE_FLOW);
		return INGRESS_DROP;
	}
	if (pkt->ttl <= 1) {
		count(COUNTER_DROP_TTL_EXCEEDED);
		return INGRESS_DROP;
	}
	if (translate_icmp_error(c, pkt, &in, true, IP_DADDR_OFF,
				 key.src_addr, key.src_port, true)) {
		count(COUNTER_DROP_MALFORMED);
		return INGRESS_DROP;
	}
	count(COUNTER_ICMP_ERROR_TRANSLATED);
	return deliver(c, sbx, ifindex);
}

/* A later fragment of a datagram whose first fragment went in (tc only:
 * XDP hands these on, it keeps no per-datagram state). */
static __always_inline enum ingress_verdict
ingress_later_fragment(const struct nat_ctx *c, const struct packet *pkt,
		       __u32 *ifindex)
{
	const struct fragment *first;
	struct sandbox *sbx;

	if (c->xdp) {
		count(COUNTER_INGRESS_XDP_TO_TC);
		return INGRESS_PASS;
	}
	first = fragment_find(pkt, FLOW_INGRESS, ctx_ifindex(c));
	if (!first) {
		enum counter held;

		if (addr_owner(ctx_ifindex(c), pkt->dst_addr) ==
		    ADDR_NOT_SHARED)
			return INGRESS_PASS;
		held = fragment_hold(c->ctx, pkt, FLOW_INGRESS,
				     ctx_ifindex(c));
		count(held);
		return held == COUNTER_FRAGMENT_HELD ? INGRESS_STOLEN :
						       INGRESS_DROP;
	}
	sbx = bpf_map_lookup_elem(&sandboxes, &first->nat_addr);
	if (!sbx || sbx->ifindex != first->ifindex) {
		count(COUNTER_DROP_STALE_FLOW);
		return INGRESS_DROP;
	}
	if (pkt->ttl <= 1) {
		count(COUNTER_DROP_TTL_EXCEEDED);
		return INGRESS_DROP;
	}
	if (rewrite_addr(c, pkt, IP_DADDR_OFF, pkt->dst_addr,
			 first->nat_addr, true)) {
		count(COUNTER_DROP_MALFORMED);
		return INGRESS_DROP;
	}
	count(COUNTER_FRAGMENT_TRANSLATED);
	return deliver(c, sbx, ifindex);
}

static __always_inline enum ingress_verdict
nat_ingress(const struct nat_ctx *c, __u32 *ifindex)
{
	enum parse_result parsed;
	struct packet pkt = {};
	struct flow_key key;
	struct sandbox *sbx;
	struct flow *flow;
	__u32 mtu;

	parsed = parse_packet(c, &pkt);
	if (parsed == PARSE_ICMP_ERROR)
		return ingress_icmp_error(c, &pkt, ifindex);
	if (parsed == PARSE_LATER_FRAGMENT)
		return ingress_later_fragment(c, &pkt, ifindex);
	/* XDP egress takes its next hops' MACs from what XDP ingress hears;
	 * the kernel gets the ARP all the same. */
	if (parsed == PARSE_ARP && c->xdp)
		neighbour_learn(c);
	if (parsed != PARSE_IPV4)
		return INGRESS_PASS;

	flow = flow_of_reply(ctx_ifindex(c), pkt.proto, pkt.src_addr,
			     pkt.src_port, pkt.dst_addr, pkt.dst_port, &key);
	if (!flow) {
		/* Unsolicited, or the host's own. An address sharenat added
		 * is no host service's: the host has no route back through
		 * this device (a /32, no prefix route) and would answer, if
		 * at all, out of another one. Drop it here, early. */
		if (addr_owner(ctx_ifindex(c), pkt.dst_addr) ==
		    ADDR_SHARED_ADDED) {
			count(COUNTER_DROP_UNSOLICITED);
			return INGRESS_DROP;
		}
		count(COUNTER_INGRESS_NOT_OURS);
		return INGRESS_PASS;
	}
	sbx = flow_sandbox(&key, flow);
	if (!sbx) {
		count(COUNTER_DROP_STALE_FLOW);
		return INGRESS_DROP;
	}
	/* A first fragment may have held fragments to release, and an
	 * ICMP error is made at tc only. */
	if (c->xdp && (!sbx->xdp_frames || l4_csum_is_seed(&pkt) ||
		       pkt.fragment == FRAGMENT_FIRST || pkt.ttl <= 1 ||
		       too_big_for(c, &pkt, sbx->ifindex, &mtu))) {
		count(COUNTER_INGRESS_XDP_TO_TC);
		return INGRESS_PASS;
	}
	if (pkt.ttl <= 1) {
		count(COUNTER_DROP_TTL_EXCEEDED);
		return ingress_answer(c, &pkt, ICMP_TIME_EXCEEDED,
				      ICMP_EXC_TTL, 0);
	}
	if (!c->xdp && too_big_for(c, &pkt, sbx->ifindex, &mtu)) {
		if (!pkt.dont_fragment) {
			enum counter why = fragment_datagram(c->ctx, &pkt, mtu);

			count(why);
			return why == COUNTER_FRAGMENTED ? INGRESS_STOLEN :
							   INGRESS_DROP;
		}
		count(COUNTER_DROP_TOO_BIG);
		return ingress_answer(c, &pkt, ICMP_DEST_UNREACH,
				      ICMP_FRAG_NEEDED, bpf_htonl(mtu));
	}
	flow_touch(flow, &pkt, bpf_ktime_get_coarse_ns(), false);
	count_function(sbx->function_id, FUNCTION_PACKETS_IN);

	if (rewrite_addr(c, &pkt, IP_DADDR_OFF, pkt.dst_addr, key.src_addr,
			 true) ||
	    rewrite_port(c, &pkt, false, pkt.dst_port, key.src_port)) {
		count(COUNTER_DROP_MALFORMED);
		return INGRESS_DROP;
	}
	count(COUNTER_INGRESS_TRANSLATED);
	count_traffic(sbx->counter_slot, flow->attachment_slot, false,
		      pkt.frame_len);
	if (c->xdp)
		count(COUNTER_INGRESS_XDP_FAST_PATH);
	fragment_remember(&pkt, FLOW_INGRESS, ctx_ifindex(c), key.src_addr,
			  flow->sandbox_ifindex, 0, 0);
	if (!c->xdp && fragment_release(c->ctx, &pkt, FLOW_INGRESS,
					ctx_ifindex(c))) {
		count(COUNTER_DROP_MALFORMED);
		return INGRESS_DROP;
	}
	return deliver(c, sbx, ifindex);
}

#endif /* SHARENAT_BPF_INGRESS_H */

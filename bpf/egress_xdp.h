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
 *
 * A sender with checksum offload (a veth sandbox, a guest's virtio-net)
 * leaves its TCP and UDP checksums to the NIC: the field holds only the
 * pseudo-header's sum, and a redirected XDP frame carries no note of
 * that, so the checksum is finished here first (l4_csum_finish).
 */
#ifndef SHARENAT_BPF_EGRESS_XDP_H
#define SHARENAT_BPF_EGRESS_XDP_H

#include "egress.h"
#include "neighbour.h"

/* The sum of bpf_csum_diff's chunks: it sums at most 512 bytes a call. */
#define CSUM_CHUNK 512

/* Fold a 64-bit one's complement sum to 16 bits. */
static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return csum_fold((__u32)sum);
}

/*
 * The L4 checksum field holds the pseudo-header's sum P (l4_csum_is_seed):
 * either a seed its NIC was to finish, or by chance a whole checksum. Sum
 * the segment as it stands, S: a whole checksum verifies (S + P folds to
 * 0xffff) and stays; so does a seed whose finished value happens to be P
 * (the same test then holds); else the checksum is ~S, what the NIC would
 * have written. The segment is summed in frame_scratch, whole words by
 * bpf_csum_diff and the last one to three bytes by hand. 0, or -1 for a
 * segment longer than the scratch frame (tc's path then).
 */
static __always_inline int l4_csum_finish(const struct nat_ctx *c,
					  const struct packet *pkt)
{
	__u32 len = l4_len(pkt);
	struct held_fragment *scratch;
	__u32 zero = 0, words, i;
	__u64 sum = 0;
	__s64 part;
	__u16 check;

	if (len < 8 || len > SHARENAT_HELD_FRAME_BYTES)
		return -1;
	scratch = bpf_map_lookup_elem(&frame_scratch, &zero);
	if (!scratch ||
	    bpf_xdp_load_bytes(c->ctx, pkt->l4_off, scratch->frame, len))
		return -1;
	words = len & ~3u;
	for (i = 0; i < SHARENAT_HELD_FRAME_BYTES / CSUM_CHUNK; i++) {
		__u32 off = i * CSUM_CHUNK, n;

		if (off >= words)
			break;
		n = words - off;
		if (n > CSUM_CHUNK)
			n = CSUM_CHUNK;
		part = bpf_csum_diff(NULL, 0, (__be32 *)(scratch->frame + off),
				     n, 0);
		if (part < 0)
			return -1;
		sum += (__u32)part;
	}
	/* In memory order, as bpf_csum_diff sums: a word's first byte is
	 * its low one on this little-endian machine. */
	for (i = 0; i < 3; i++) {
		__u32 at = words + i;

		if (at >= len || at >= SHARENAT_HELD_FRAME_BYTES)
			break;
		sum += (i & 1) ? (__u32)scratch->frame[at] << 8 :
				 scratch->frame[at];
	}
	if (csum_fold64(sum + pkt->l4_csum) == 0xffff)
		return 0;
	check = (__u16)~csum_fold64(sum);
	if (pkt->proto == IPPROTO_UDP && !check)
		check = 0xffff;
	return ctx_store_fast(c, pkt->l4_csum_off, &check, sizeof(check)) ?
	       -1 : 0;
}

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
	    !pkt.dont_fragment)
		goto to_tc;
	sbx = bpf_map_lookup_elem(&sandboxes, &pkt.src_addr);
	if (!sbx || sbx->ifindex != xdp->ingress_ifindex)
		goto to_tc;
	flow_key_of(&pkt, &key);
	flow = bpf_map_lookup_elem(&flows, &key);
	if (!flow || flow->route == FLOW_ROUTE_HAIRPIN ||
	    flow->sandbox_ifindex != xdp->ingress_ifindex)
		goto to_tc;
	out = flow->ifindex;
	now = bpf_ktime_get_coarse_ns();
	next = neighbour_fresh(out, flow_next_hop(flow, pkt.dst_addr), now);
	if (!next || too_big_for(&c, &pkt, out, &mtu))
		goto to_tc;
	/* The redirect's target is set here, before any byte changes: the
	 * devmap holds the shared device only while it is attached with
	 * --mode xdp, and without it the frame goes to tc untouched (the
	 * last redirect call decides, so a later XDP_PASS or XDP_DROP is
	 * free to ignore this one). */
	if (bpf_redirect_map(&xdp_devices, out, XDP_PASS) != XDP_REDIRECT)
		goto to_tc;

	if (l4_csum_is_seed(&pkt) && l4_csum_finish(&c, &pkt))
		goto to_tc;
	sandbox_mac_learn(sbx, &pkt);
	if (rewrite_macs(&c, next->mac, next->device_mac)) {
		count(COUNTER_DROP_MALFORMED);
		return XDP_DROP;
	}
	if (egress_translate(&c, &pkt, sbx, flow, now))
		return XDP_DROP;
	count(COUNTER_EGRESS_XDP_FAST_PATH);
	return XDP_REDIRECT;

to_tc:
	count(COUNTER_EGRESS_XDP_TO_TC);
	return XDP_PASS;
}

#endif /* SHARENAT_BPF_EGRESS_XDP_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The NAT's own ICMP errors, as the router it is on the sandbox's path:
 * time exceeded for a packet whose TTL ends at its hop (RFC 1812 4.3,
 * RFC 5508 REQ-10), fragmentation needed for a DF packet larger than the
 * next device's MTU (RFC 4787 REQ-13, RFC 1191), and destination
 * unreachable when no flow can be made for a new one (RFC 5508 REQ-8:
 * code 13, administratively prohibited; no route: code 0).
 *
 * The skb in hand becomes the error, in place (tc only: XDP hands these
 * packets to tc): cut to the IP header and the first bytes of its
 * payload, 28 bytes of IP and ICMP header put before it, and sent back out
 * the device it came in on. Never about an ICMP error or a later fragment
 * (RFC 1812 4.3.2.7); the caller drops those.
 */
#ifndef SHARENAT_BPF_ICMP_SEND_H
#define SHARENAT_BPF_ICMP_SEND_H

#include "maps.h"
#include "parse.h"
#include "rewrite.h"

#define ICMP_NET_UNREACH 0
#define ICMP_FRAG_NEEDED 4
#define ICMP_ADMIN_PROHIBITED 13
#define ICMP_EXC_TTL 0
/* RFC 792 asks for the first 8 bytes of the payload; quoting 20 keeps a
 * TCP header whole, which also keeps the cut past the checksum field of a
 * CHECKSUM_PARTIAL skb (bpf_skb_change_tail refuses to cut it). */
#define ICMP_QUOTE_PAYLOAD 20
#define ICMP_QUOTE_MAX (60 + ICMP_QUOTE_PAYLOAD)
#define ICMP_SEND_HLEN (sizeof(struct iphdr) + ICMP_ERROR_HLEN)
/* Smallest packet checked against the next device's MTU: no IPv4 link
 * has an MTU below 576 (RFC 791), so smaller ones need no lookup. */
#define MTU_CHECK_FROM (ETH_HLEN + 576)

/* An error about pkt may be sent: not about an ICMP error, nor a later
 * fragment. */
static __always_inline bool icmp_may_answer(const struct packet *pkt)
{
	if (pkt->fragment == FRAGMENT_LATER)
		return false;
	return pkt->proto != IPPROTO_ICMP || pkt->icmp_type == ICMP_ECHO;
}

/* Turn the packet in skb into ICMP error type/code from `from` to its
 * source; `rest` is the header's last four bytes (the next-hop MTU for
 * fragmentation needed). Returns the tc verdict: out the device it came
 * in on, or a drop (counted) when the skb could not be rebuilt. */
static __always_inline int icmp_send_back(struct __sk_buff *skb,
					  const struct packet *pkt, __u8 type,
					  __u8 code, __be32 rest, __be32 from)
{
	__u8 quote[ICMP_QUOTE_MAX] = {};
	struct {
		struct iphdr ip;
		__u8 type;
		__u8 code;
		__u16 check;
		__be32 rest;
	} head = {};
	__u8 macs[2 * ETH_ALEN];
	__u32 quote_len, quote_words, sum;

	quote_len = pkt->l4_off - pkt->l3_off + ICMP_QUOTE_PAYLOAD;
	if (quote_len > pkt->ip_total_len)
		quote_len = pkt->ip_total_len;
	if (quote_len < sizeof(struct iphdr) || quote_len > ICMP_QUOTE_MAX ||
	    bpf_skb_load_bytes(skb, 0, macs, sizeof(macs)) ||
	    bpf_skb_change_tail(skb, ETH_HLEN + quote_len, 0) ||
	    bpf_skb_adjust_room(skb, ICMP_SEND_HLEN, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_load_bytes(skb, ETH_HLEN + ICMP_SEND_HLEN, quote,
			       quote_len))
		goto broken;

	head.ip.version = 4;
	head.ip.ihl = 5;
	head.ip.tos = 0xc0;	/* internetwork control, as Linux's errors */
	head.ip.tot_len = bpf_htons(ICMP_SEND_HLEN + quote_len);
	head.ip.ttl = 64;
	head.ip.protocol = IPPROTO_ICMP;
	head.ip.saddr = from;
	head.ip.daddr = pkt->src_addr;
	head.ip.check = ~csum_fold((__u32)bpf_csum_diff(NULL, 0, (void *)&head.ip,
						       sizeof(head.ip), 0));
	head.type = type;
	head.code = code;
	head.rest = rest;
	/* The quote is zero-padded to whole words: padding adds nothing. */
	quote_words = (quote_len + 3) & ~3u;
	if (quote_words > ICMP_QUOTE_MAX)
		goto broken;
	sum = (__u32)bpf_csum_diff(NULL, 0, (void *)quote, quote_words, 0);
	sum = (__u32)bpf_csum_diff(NULL, 0, (void *)&head.type,
				   ICMP_ERROR_HLEN, sum);
	head.check = ~csum_fold(sum);

	/* Back to the sender's MAC, from the one it sent to. The new
	 * headers are summed into a CHECKSUM_COMPLETE skb->csum (which
	 * covers no MAC header). */
	if (bpf_skb_store_bytes(skb, 0, macs + ETH_ALEN, ETH_ALEN, 0) ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, macs, ETH_ALEN, 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, &head, sizeof(head),
				BPF_F_RECOMPUTE_CSUM))
		goto broken;
	count(COUNTER_ICMP_ERROR_SENT);
	return bpf_redirect(skb->ifindex, 0);
broken:
	count(COUNTER_DROP_MALFORMED);
	return TC_ACT_SHOT;
}

/* Does pkt exceed the MTU of the device it is to leave by? Sets *mtu to
 * that MTU when it does. A GSO skb is measured by its segments. Such a
 * packet would be dropped at the redirect, silently; the caller answers
 * it when DF is set, and fragments it (fragmenter.h) when not. */
static __always_inline bool too_big_for(const struct nat_ctx *c,
					const struct packet *pkt,
					__u32 ifindex, __u32 *mtu)
{
	*mtu = 0;
	if (pkt->frame_len <= MTU_CHECK_FROM)
		return false;
	return bpf_check_mtu(c->ctx, ifindex, mtu, 0,
			     c->xdp ? 0 : BPF_MTU_CHK_SEGS) > 0;
}

#endif /* SHARENAT_BPF_ICMP_SEND_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fragmenting a DF-clear datagram that is larger than the MTU of the device
 * it is to leave by (RFC 4787 REQ-13a), at tc. The datagram is cut, before
 * translation, into fragments that fit; each is sent back in at the device
 * it came in on (bpf_clone_redirect, BPF_F_INGRESS), where it is translated
 * as any fragment: the first one by its flow, the later ones by what the
 * first left in map `fragments` (fragment.h). The original is consumed.
 *
 * Not fragmented, but dropped and counted (drop_too_big): a datagram with
 * IP options (which options go into which fragment is more than this
 * needs), one that is a fragment already, one of more than
 * FRAGMENTER_MAX_PIECES pieces or larger than a held frame, and one whose
 * L4 checksum is still the CHECKSUM_PARTIAL seed: that skb's checksum is
 * to be finished over the whole datagram by whoever sends it, which no
 * BPF helper can do or undo, and a NIC would finish it over the first
 * fragment alone.
 */
#ifndef SHARENAT_BPF_FRAGMENTER_H
#define SHARENAT_BPF_FRAGMENTER_H

#include "maps.h"
#include "parse.h"
#include "rewrite.h"

#define FRAGMENTER_MAX_PIECES 8
#define IP_HLEN 20

/* Fragment the datagram in skb for a device of MTU `mtu`. Returns the
 * counter that says what became of it: fragmented (every piece sent back
 * in; the caller consumes skb), or dropped. */
static __always_inline enum counter fragment_datagram(struct __sk_buff *skb,
						      const struct packet *pkt,
						      __u32 mtu)
{
	__u32 zero = 0, frame_len = skb->len, payload, piece, offset, len, k;
	struct datagram_copy *copy;
	struct iphdr ip;

	if (pkt->fragment != FRAGMENT_NONE ||
	    pkt->l4_off - pkt->l3_off != IP_HLEN || l4_csum_is_seed(pkt) ||
	    mtu < IP_HLEN + 8 || frame_len > SHARENAT_HELD_FRAME_BYTES ||
	    frame_len < ETH_HLEN + IP_HLEN)
		return COUNTER_DROP_TOO_BIG;
	payload = l4_len(pkt);
	piece = (mtu - IP_HLEN) & ~7u;
	if (payload > piece * FRAGMENTER_MAX_PIECES)
		return COUNTER_DROP_TOO_BIG;
	copy = bpf_map_lookup_elem(&datagram_copies, &zero);
	if (!copy || bpf_skb_load_bytes(skb, 0, copy->frame, frame_len) ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)))
		return COUNTER_DROP_MALFORMED;

	for (k = 0; k < FRAGMENTER_MAX_PIECES; k++) {
		offset = k * piece;
		if (offset >= payload)
			break;
		len = payload - offset;
		if (len > piece)
			len = piece;
		ip.tot_len = bpf_htons(IP_HLEN + len);
		ip.frag_off = bpf_htons((offset / 8) |
					(offset + len < payload ? IP_MF : 0));
		ip.check = 0;
		ip.check = ~csum_fold((__u32)bpf_csum_diff(NULL, 0, (void *)&ip,
							   sizeof(ip), 0));
		/* Bounds the verifier can follow: both within the copy. */
		offset &= SHARENAT_HELD_FRAME_BYTES * 2 - 1;
		len &= SHARENAT_HELD_FRAME_BYTES - 1;
		if (!len ||
		    bpf_skb_change_tail(skb, ETH_HLEN + IP_HLEN + len, 0) ||
		    bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip),
					BPF_F_RECOMPUTE_CSUM) ||
		    bpf_skb_store_bytes(skb, ETH_HLEN + IP_HLEN,
					copy->frame + ETH_HLEN + IP_HLEN +
						offset,
					len, BPF_F_RECOMPUTE_CSUM) ||
		    bpf_clone_redirect(skb, skb->ifindex, BPF_F_INGRESS))
			return COUNTER_DROP_MALFORMED;
	}
	return COUNTER_FRAGMENTED;
}

#endif /* SHARENAT_BPF_FRAGMENTER_H */

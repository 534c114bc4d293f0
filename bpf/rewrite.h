/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rewrite addresses, ports, TTL and MACs of a parsed packet, keeping every
 * checksum right. The kernel's csum helpers are used because they know the
 * skb's checksum state: a sandbox's TCP and UDP arrive CHECKSUM_PARTIAL on
 * a veth (the field holds only the pseudo-header seed), and the helpers
 * update that seed instead of corrupting it (BPF_F_PSEUDO_HDR).
 */
#ifndef SHARENAT_BPF_REWRITE_H
#define SHARENAT_BPF_REWRITE_H

#include "parse.h"

#define IP_CSUM_OFF offsetof(struct iphdr, check)
#define IP_SADDR_OFF offsetof(struct iphdr, saddr)
#define IP_DADDR_OFF offsetof(struct iphdr, daddr)
#define IP_TTL_OFF offsetof(struct iphdr, ttl)

/* Flags for a change of an L4 field: UDP's checksum 0 means "none" and
 * must stay 0, and a computed 0 must be written as 0xffff. */
static __always_inline __u64 l4_csum_flags(const struct packet *pkt)
{
	return pkt->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

/* Replace the source (egress) or destination (ingress) address: the IP
 * header checksum and, for TCP and UDP, the pseudo-header in the L4 one. */
static __always_inline int rewrite_addr(struct __sk_buff *skb,
					const struct packet *pkt,
					__u32 addr_field_off,
					__be32 old_addr, __be32 new_addr)
{
	if (pkt->proto != IPPROTO_ICMP &&
	    bpf_l4_csum_replace(skb, pkt->l4_csum_off, old_addr, new_addr,
				BPF_F_PSEUDO_HDR | sizeof(new_addr) |
				l4_csum_flags(pkt)))
		return -1;
	if (bpf_l3_csum_replace(skb, pkt->l3_off + IP_CSUM_OFF, old_addr,
				new_addr, sizeof(new_addr)))
		return -1;
	return bpf_skb_store_bytes(skb, pkt->l3_off + addr_field_off,
				   &new_addr, sizeof(new_addr), 0);
}

/* Replace a port or the ICMP echo identifier at port_field_off. Neither
 * is in the pseudo-header, so only the L4 checksum changes. */
static __always_inline int rewrite_port(struct __sk_buff *skb,
					const struct packet *pkt,
					__u32 port_field_off,
					__be16 old_port, __be16 new_port)
{
	if (old_port == new_port)
		return 0;
	if (bpf_l4_csum_replace(skb, pkt->l4_csum_off, old_port, new_port,
				sizeof(new_port) | l4_csum_flags(pkt)))
		return -1;
	return bpf_skb_store_bytes(skb, port_field_off, &new_port,
				   sizeof(new_port), 0);
}

/* Offset of the field that holds the local end's port: the source port
 * going out, the destination port coming back, the echo identifier for
 * ICMP in both directions. */
static __always_inline __u32 port_field_off(const struct packet *pkt,
					    bool source)
{
	if (pkt->proto == IPPROTO_ICMP)
		return pkt->l4_off + offsetof(struct icmphdr, un.echo.id);
	/* TCP and UDP both start with source port, then destination port. */
	return pkt->l4_off + (source ? 0 : sizeof(__be16));
}

/* A router decrements TTL; the IP checksum covers the (ttl, protocol)
 * 16-bit word, so that word is what the checksum update replaces. */
static __always_inline int decrement_ttl(struct __sk_buff *skb,
					 const struct packet *pkt)
{
	__be16 old_word = bpf_htons((__u16)pkt->ttl << 8 | pkt->proto);
	__be16 new_word = bpf_htons((__u16)(pkt->ttl - 1) << 8 | pkt->proto);
	__u8 new_ttl = pkt->ttl - 1;

	if (bpf_l3_csum_replace(skb, pkt->l3_off + IP_CSUM_OFF, old_word,
				new_word, sizeof(new_word)))
		return -1;
	return bpf_skb_store_bytes(skb, pkt->l3_off + IP_TTL_OFF, &new_ttl,
				   sizeof(new_ttl), 0);
}

static __always_inline int rewrite_macs(struct __sk_buff *skb,
					const __u8 *dst_mac,
					const __u8 *src_mac)
{
	if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_dest), dst_mac,
				ETH_ALEN, 0))
		return -1;
	return bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_source),
				   src_mac, ETH_ALEN, 0);
}

#endif /* SHARENAT_BPF_REWRITE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rewrite addresses, ports, TTL and MACs of a parsed packet, keeping every
 * checksum right.
 *
 * At tc the kernel's csum helpers are used because they know the skb's
 * checksum state: a sandbox's TCP and UDP arrive CHECKSUM_PARTIAL on a
 * veth (the field holds only the pseudo-header seed), and the helpers
 * update that seed instead of corrupting it (BPF_F_PSEUDO_HDR). XDP has no
 * skb and no such helpers: it updates complete checksums incrementally
 * (RFC 1624) and never rewrites a packet that carries a seed
 * (l4_csum_is_seed), leaving it to tc.
 */
#ifndef SHARENAT_BPF_REWRITE_H
#define SHARENAT_BPF_REWRITE_H

#include "parse.h"

#define IP_CSUM_OFF offsetof(struct iphdr, check)
#define IP_SADDR_OFF offsetof(struct iphdr, saddr)
#define IP_DADDR_OFF offsetof(struct iphdr, daddr)
#define IP_TTL_OFF offsetof(struct iphdr, ttl)

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* One's complement sum of a 32-bit value's two 16-bit words. */
static __always_inline __u32 csum_words(__be32 value)
{
	return (value >> 16) + (value & 0xffff);
}

/*
 * Does the L4 checksum field hold the pseudo-header seed of a
 * CHECKSUM_PARTIAL skb instead of a checksum? A complete checksum equals
 * the seed only by a 1-in-65536 chance, and then the packet merely takes
 * the tc path, which is right for both.
 */
static __always_inline bool l4_csum_is_seed(const struct packet *pkt)
{
	__be32 proto_len;

	if (pkt->proto == IPPROTO_ICMP)
		return false;
	proto_len = bpf_htonl((__u32)pkt->proto << 16 | l4_len(pkt));
	return pkt->l4_csum == csum_fold(csum_words(pkt->src_addr) +
					 csum_words(pkt->dst_addr) +
					 csum_words(proto_len));
}

/* Update the checksum at csum_off for a covered value going from `from` to
 * `to` (RFC 1624: HC' = ~(~HC + ~m + m')), by plain arithmetic on the
 * bytes: what XDP uses, and what ICMP error translation uses at both hooks
 * for checksums nested inside a packet. 16-bit values are padded to 32-bit
 * words, which leaves their share of the sum unchanged. */
static __always_inline int csum_replace_at(const struct nat_ctx *c,
					    __u32 csum_off, __be32 from,
					    __be32 to, bool udp)
{
	__sum16 check;
	__u32 sum;

	if (ctx_load_fast(c, csum_off, &check, sizeof(check)))
		return -1;
	/* UDP checksum 0 means none was computed: keep it so. */
	if (udp && !check)
		return 0;
	sum = (__u16)~check + csum_words(~from) + csum_words(to);
	check = (__sum16)~csum_fold(sum);
	if (udp && !check)
		check = 0xffff;
	return ctx_store_fast(c, csum_off, &check, sizeof(check));
}

/* Bytes 8-19 of the IPv4 header: what a translation changes there, as
 * the words it is read and written in. */
struct ip_header_tail {
	__be16 ttl_protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
};

/*
 * The IP header's part of a translation: the source or destination
 * address (addr_field_off) replaced, TTL down by one if asked (a router
 * decrements it), and the header checksum updated for both by hand
 * (RFC 1624: HC' = ~(~HC + ~m + m')). The fields change with the checksum
 * that covers them, so the packet's sum, and a CHECKSUM_COMPLETE skb->csum,
 * stay as they were. Each field is written as the word it is, in place
 * (ctx_view): a struct assembled on the stack and copied out whole would
 * be read back in wider words than it was written in, which stalls store
 * forwarding (~10 ns).
 */
static __always_inline int rewrite_ip_header(const struct nat_ctx *c,
					     const struct packet *pkt,
					     __u32 addr_field_off,
					     __be32 new_addr, bool ttl_down)
{
	__u32 off = pkt->l3_off + IP_TTL_OFF, sum;
	struct ip_header_tail copy, *tail;
	__be16 word;
	__be32 *addr;

	tail = ctx_view(c, off, &copy, sizeof(copy));
	if (!tail)
		return -1;
	sum = (__u16)~tail->check;
	if (ttl_down) {
		word = tail->ttl_protocol;
		sum += (__u16)~word;
		/* TTL is the word's high byte; a TTL of 0 wraps to 255 and
		 * leaves the protocol as it is, as an 8-bit decrement would. */
		word = bpf_htons((__u16)(bpf_ntohs(word) - 0x100));
		sum += word;
		tail->ttl_protocol = word;
	}
	addr = addr_field_off == IP_SADDR_OFF ? &tail->saddr : &tail->daddr;
	sum += csum_words(~*addr) + csum_words(new_addr);
	*addr = new_addr;
	tail->check = (__sum16)~csum_fold(sum);
	return ctx_view_store(c, off, tail, &copy, sizeof(copy));
}

/* Replace the source (egress) or destination (ingress) address: the IP
 * header (and its TTL, if ttl_down) and, for TCP and UDP, the
 * pseudo-header in the L4 checksum. */
static __always_inline int rewrite_addr(const struct nat_ctx *c,
					const struct packet *pkt,
					__u32 addr_field_off,
					__be32 old_addr, __be32 new_addr,
					bool ttl_down)
{
	bool udp = pkt->proto == IPPROTO_UDP;

	/* A later fragment carries no L4 header: its datagram's checksum
	 * was fixed in the first fragment. */
	bool l4 = pkt->proto != IPPROTO_ICMP &&
		  pkt->fragment != FRAGMENT_LATER;

	if (l4 && c->xdp) {
		if (csum_replace_at(c, pkt->l4_csum_off, old_addr, new_addr,
				    udp))
			return -1;
	} else if (l4 && bpf_l4_csum_replace(c->ctx, pkt->l4_csum_off,
					     old_addr, new_addr,
					     BPF_F_PSEUDO_HDR |
					     sizeof(new_addr) |
					     (udp ? BPF_F_MARK_MANGLED_0 : 0))) {
		return -1;
	}
	return rewrite_ip_header(c, pkt, addr_field_off, new_addr, ttl_down);
}

/* Replace a 16-bit field covered by the checksum at csum_off. */
static __always_inline int rewrite_u16(const struct nat_ctx *c,
				       __u32 csum_off, bool udp,
				       bool ip_header, __u32 field_off,
				       __be16 old_value, __be16 new_value)
{
	__be32 from = 0, to = 0;

	if (old_value == new_value)
		return 0;
	__builtin_memcpy(&from, &old_value, sizeof(old_value));
	__builtin_memcpy(&to, &new_value, sizeof(new_value));
	if (c->xdp) {
		if (csum_replace_at(c, csum_off, from, to, udp))
			return -1;
	} else if (ip_header) {
		if (bpf_l3_csum_replace(c->ctx, csum_off, old_value, new_value,
					sizeof(new_value)))
			return -1;
	} else if (bpf_l4_csum_replace(c->ctx, csum_off, old_value, new_value,
				       sizeof(new_value) |
				       (udp ? BPF_F_MARK_MANGLED_0 : 0))) {
		return -1;
	}
	return ctx_store_fast(c, field_off, &new_value, sizeof(new_value));
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

/* Replace a port or the ICMP echo identifier. Neither is in the
 * pseudo-header, so only the L4 checksum changes. */
static __always_inline int rewrite_port(const struct nat_ctx *c,
					const struct packet *pkt, bool source,
					__be16 old_port, __be16 new_port)
{
	/* UDP without a checksum: no field changes to balance the port's,
	 * so a CHECKSUM_COMPLETE skb's sum is updated with the bytes. */
	if (!c->xdp && pkt->proto == IPPROTO_UDP && !pkt->l4_csum) {
		if (old_port == new_port)
			return 0;
		return bpf_skb_store_bytes(c->ctx, port_field_off(pkt, source),
					   &new_port, sizeof(new_port),
					   BPF_F_RECOMPUTE_CSUM);
	}
	return rewrite_u16(c, pkt->l4_csum_off, pkt->proto == IPPROTO_UDP,
			   false, port_field_off(pkt, source), old_port,
			   new_port);
}

_Static_assert(__builtin_offsetof(struct sandbox, mac) % 2 == 0 &&
	       __builtin_offsetof(struct sandbox, host_mac) % 2 == 0 &&
	       __builtin_offsetof(struct neighbour_macs, mac) % 2 == 0 &&
	       __builtin_offsetof(struct neighbour_macs, device_mac) % 2 == 0 &&
	       __builtin_offsetof(struct packet, src_mac) % 2 == 0,
	       "MACs are read as 16-bit words");

/* clang's BPF target has no memcmp. */
static __always_inline bool mac_equal(const __u8 *a, const __u8 *b)
{
	const __u16 *x = MAC_WORDS(a), *y = MAC_WORDS(b);

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2])) == 0;
}

/* Not covered by any checksum, nor by a CHECKSUM_COMPLETE sum. Written
 * word by word straight into the frame: copied through a buffer, words
 * written as 16 bits would be read back as 32 (see rewrite_ip_header). */
static __always_inline int rewrite_macs(const struct nat_ctx *c,
					const __u8 *dst_mac,
					const __u8 *src_mac)
{
	const __u16 *dst = MAC_WORDS(dst_mac), *src = MAC_WORDS(src_mac);
	__u16 *eth, macs[ETH_ALEN];
	__u32 i;

	eth = ctx_view(c, offsetof(struct ethhdr, h_dest), macs, sizeof(macs));
	if (!eth)
		return -1;
	for (i = 0; i < ETH_ALEN / 2; i++) {
		eth[i] = dst[i];
		eth[ETH_ALEN / 2 + i] = src[i];
	}
	return ctx_view_store(c, offsetof(struct ethhdr, h_dest), eth, macs,
			      sizeof(macs));
}

#endif /* SHARENAT_BPF_REWRITE_H */

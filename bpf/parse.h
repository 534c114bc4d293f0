/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parse a frame into struct packet: the offsets of its headers and the
 * fields the NAT reads. Headers are read where they lie in the linear
 * data, else from a copy the helper makes (ctx_view), so a non-linear skb
 * (GSO, paged data) or multi-buffer XDP frame parses like a linear one.
 */
#ifndef SHARENAT_BPF_PARSE_H
#define SHARENAT_BPF_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ctx.h"

#include "consts.h"

enum parse_result {
	PARSE_IPV4,		/* IPv4 with a TCP, UDP or ICMP echo header */
	PARSE_ICMP_ERROR,	/* IPv4 ICMP error: see icmp_error.h */
	PARSE_LATER_FRAGMENT,	/* IPv4 fragment past the first: no L4 header */
	PARSE_ARP,
	PARSE_OTHER_ETHERTYPE,	/* not IPv4 nor ARP: not the NAT's */
	PARSE_UNSUPPORTED,	/* IPv4 the NAT does not translate (yet) */
	PARSE_MALFORMED,	/* too short or inconsistent */
};

struct packet {
	__u32 l3_off;
	__u32 l4_off;
	__u32 l4_csum_off;	/* offset of the TCP, UDP or ICMP checksum */
	__be32 src_addr;
	__be32 dst_addr;
	/* TCP/UDP ports; ICMP echo: the identifier in the local end's port
	 * (src_port for a request, dst_port for a reply), the other 0. */
	__be16 src_port;
	__be16 dst_port;
	__u16 ip_total_len;
	__u16 l4_csum;		/* the checksum field as it arrived */
	__u8 proto;
	__u8 ttl;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 src_mac[6];
	__u8 fragment;		/* enum fragment_kind */
	__u8 dont_fragment;	/* DF set */
	__be16 ip_id;
	/* The frame's length as it came (ctx_len, read once). NAT rewrites
	 * keep it. */
	__u32 frame_len;
};

enum fragment_kind {
	FRAGMENT_NONE,		/* a whole datagram */
	FRAGMENT_FIRST,		/* offset 0, more to come: has the L4 header */
	FRAGMENT_LATER,		/* offset > 0: addresses only */
};

struct arp_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__be32 spa;
	__u8 tha[6];
	__be32 tpa;
} __attribute__((packed));

/* The L4 segment's length: the IP packet's, less its header. */
static __always_inline __u32 l4_len(const struct packet *pkt)
{
	return pkt->ip_total_len - (pkt->l4_off - pkt->l3_off);
}

/* The L4 header must lie inside the IP packet, not in the frame's
 * Ethernet padding after it. */
static __always_inline bool l4_header_fits(const struct packet *pkt,
					   __u32 header_len)
{
	return pkt->l4_off + header_len <= pkt->l3_off + pkt->ip_total_len;
}

static __always_inline enum parse_result parse_l4(const struct nat_ctx *c,
						  struct packet *pkt)
{
	switch (pkt->proto) {
	case IPPROTO_TCP: {
		const struct tcphdr *tcp;
		struct tcphdr copy;

		if (!l4_header_fits(pkt, sizeof(copy)))
			return PARSE_MALFORMED;
		tcp = ctx_view(c, pkt->l4_off, &copy, sizeof(copy));
		if (!tcp)
			return PARSE_MALFORMED;
		pkt->src_port = tcp->source;
		pkt->dst_port = tcp->dest;
		pkt->tcp_flags = ((const __u8 *)tcp)[13];
		pkt->l4_csum_off = pkt->l4_off + offsetof(struct tcphdr, check);
		pkt->l4_csum = tcp->check;
		return PARSE_IPV4;
	}
	case IPPROTO_UDP: {
		const struct udphdr *udp;
		struct udphdr copy;

		if (!l4_header_fits(pkt, sizeof(copy)))
			return PARSE_MALFORMED;
		udp = ctx_view(c, pkt->l4_off, &copy, sizeof(copy));
		if (!udp)
			return PARSE_MALFORMED;
		pkt->src_port = udp->source;
		pkt->dst_port = udp->dest;
		pkt->l4_csum_off = pkt->l4_off + offsetof(struct udphdr, check);
		pkt->l4_csum = udp->check;
		return PARSE_IPV4;
	}
	case IPPROTO_ICMP: {
		const struct icmphdr *icmp;
		struct icmphdr copy;
		__u8 type;

		if (!l4_header_fits(pkt, sizeof(copy)))
			return PARSE_MALFORMED;
		icmp = ctx_view(c, pkt->l4_off, &copy, sizeof(copy));
		if (!icmp)
			return PARSE_MALFORMED;
		type = icmp->type;
		pkt->icmp_type = type;
		pkt->l4_csum_off = pkt->l4_off + offsetof(struct icmphdr, checksum);
		pkt->l4_csum = icmp->checksum;
		if (type == ICMP_ECHO) {
			pkt->src_port = icmp->un.echo.id;
			pkt->dst_port = 0;
		} else if (type == ICMP_ECHOREPLY) {
			pkt->src_port = 0;
			pkt->dst_port = icmp->un.echo.id;
		} else if (type == ICMP_DEST_UNREACH ||
			   type == ICMP_TIME_EXCEEDED ||
			   type == ICMP_PARAMETERPROB) {
			return PARSE_ICMP_ERROR;
		} else {
			return PARSE_UNSUPPORTED;
		}
		return PARSE_IPV4;
	}
	default:
		return PARSE_UNSUPPORTED;
	}
}

static __always_inline enum parse_result parse_packet(const struct nat_ctx *c,
						      struct packet *pkt)
{
	struct ethhdr eth_copy;
	struct iphdr ip_copy;
	const struct ethhdr *eth;
	const struct iphdr *ip;
	__u32 header_len;
	__be16 frag_off;
	__u8 protocol;

	eth = ctx_view(c, 0, &eth_copy, sizeof(eth_copy));
	if (!eth)
		return PARSE_MALFORMED;
	__builtin_memcpy(pkt->src_mac, MAC_WORDS(eth->h_source),
			 sizeof(pkt->src_mac));
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return PARSE_ARP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return PARSE_OTHER_ETHERTYPE;

	pkt->l3_off = ETH_HLEN;
	pkt->frame_len = ctx_len(c);
	ip = ctx_view(c, pkt->l3_off, &ip_copy, sizeof(ip_copy));
	if (!ip)
		return PARSE_MALFORMED;
	header_len = ip->ihl * 4;
	pkt->ip_total_len = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || header_len < sizeof(*ip) ||
	    pkt->ip_total_len < header_len ||
	    pkt->l3_off + pkt->ip_total_len > pkt->frame_len)
		return PARSE_MALFORMED;
	pkt->l4_off = pkt->l3_off + header_len;
	pkt->src_addr = ip->saddr;
	pkt->dst_addr = ip->daddr;
	protocol = ip->protocol;
	pkt->proto = protocol;
	pkt->ttl = ip->ttl;
	pkt->ip_id = ip->id;
	frag_off = ip->frag_off;
	pkt->dont_fragment = !!(frag_off & bpf_htons(IP_DF));
	if (frag_off & bpf_htons(IP_OFFSET)) {
		pkt->fragment = FRAGMENT_LATER;
		if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP &&
		    protocol != IPPROTO_ICMP)
			return PARSE_UNSUPPORTED;
		return PARSE_LATER_FRAGMENT;
	}
	if (frag_off & bpf_htons(IP_MF))
		pkt->fragment = FRAGMENT_FIRST;
	return parse_l4(c, pkt);
}

#endif /* SHARENAT_BPF_PARSE_H */

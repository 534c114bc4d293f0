/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ICMP errors (RFC 5508): destination unreachable (fragmentation needed
 * among them, which path MTU discovery lives on), time exceeded and
 * parameter problem carry the header of the packet they are about. The
 * flow is found from that inner header, and both headers are translated:
 * the outer address, and the inner address and port with the inner IP and
 * L4 checksums, all of which the ICMP checksum covers. An error never
 * makes, refreshes or ends a flow; one about no flow is dropped and counted.
 *
 * All checksums here are updated by plain arithmetic (csum_replace_at):
 * every change inside the ICMP message is matched by a change of the ICMP
 * checksum, so an skb's own checksum state stays true.
 */
#ifndef SHARENAT_BPF_ICMP_ERROR_H
#define SHARENAT_BPF_ICMP_ERROR_H

#include "flow.h"
#include "rewrite.h"

/* The packet an ICMP error is about, as far as it is quoted. */
struct icmp_inner {
	__u32 l3_off;
	__u32 l4_off;
	__u32 l4_csum_off;	/* 0: not quoted, or UDP without checksum */
	__be32 src_addr;
	__be32 dst_addr;
	__be16 src_port;	/* ICMP echo: the identifier */
	__be16 dst_port;
	__u8 proto;
	__u8 icmp_type;
};

static __always_inline int parse_icmp_inner(const struct nat_ctx *c,
					    const struct packet *pkt,
					    struct icmp_inner *in)
{
	/* What is quoted ends where the ICMP error's IP packet does, not
	 * at the frame's end: a frame may carry trailing padding. */
	__u32 end = pkt->l3_off + pkt->ip_total_len;
	struct iphdr ip;
	__u8 l4[8];

	in->l3_off = pkt->l4_off + ICMP_ERROR_HLEN;
	if (ctx_load(c, in->l3_off, &ip, sizeof(ip)) || ip.version != 4 ||
	    ip.ihl < 5)
		return -1;
	/* A later fragment quotes no ports: it cannot name a flow. */
	if (ip.frag_off & bpf_htons(IP_OFFSET))
		return -1;
	in->l4_off = in->l3_off + ip.ihl * 4;
	/* RFC 792: at least the first 8 bytes of the datagram are quoted. */
	if (in->l4_off + sizeof(l4) > end ||
	    ctx_load(c, in->l4_off, l4, sizeof(l4)))
		return -1;
	in->src_addr = ip.saddr;
	in->dst_addr = ip.daddr;
	in->proto = ip.protocol;
	in->l4_csum_off = 0;
	switch (ip.protocol) {
	case IPPROTO_TCP:
		__builtin_memcpy(&in->src_port, &l4[0], 2);
		__builtin_memcpy(&in->dst_port, &l4[2], 2);
		/* TCP's checksum lies past the 8 bytes RFC 792 promises. */
		if (in->l4_off + offsetof(struct tcphdr, check) + 2 <= end)
			in->l4_csum_off = in->l4_off +
					  offsetof(struct tcphdr, check);
		return 0;
	case IPPROTO_UDP:
		__builtin_memcpy(&in->src_port, &l4[0], 2);
		__builtin_memcpy(&in->dst_port, &l4[2], 2);
		if (l4[6] | l4[7])
			in->l4_csum_off = in->l4_off +
					  offsetof(struct udphdr, check);
		return 0;
	case IPPROTO_ICMP:
		in->icmp_type = l4[0];
		__builtin_memcpy(&in->src_port, &l4[4], 2);
		in->dst_port = in->src_port;
		in->l4_csum_off = in->l4_off + offsetof(struct icmphdr, checksum);
		return in->icmp_type == ICMP_ECHO ? 0 : -1;
	default:
		return -1;
	}
}

/* Replace a value inside the ICMP message and keep the ICMP checksum. */
static __always_inline int icmp_payload_replace(const struct nat_ctx *c,
						const struct packet *pkt,
						__u32 field_off, __be32 from,
						__be32 to, __u32 size)
{
	if (csum_replace_at(c, pkt->l4_csum_off, from, to, false))
		return -1;
	return ctx_store(c, field_off, &to, size);
}

/* A 16-bit checksum nested in the ICMP message: update it for `from` ->
 * `to`, and the ICMP checksum for the checksum's own change. */
static __always_inline int icmp_nested_csum_replace(const struct nat_ctx *c,
						    const struct packet *pkt,
						    __u32 csum_off, bool udp,
						    __be32 from, __be32 to)
{
	__be32 old_csum = 0, new_csum = 0;

	if (ctx_load(c, csum_off, &old_csum, 2) ||
	    csum_replace_at(c, csum_off, from, to, udp) ||
	    ctx_load(c, csum_off, &new_csum, 2))
		return -1;
	return csum_replace_at(c, pkt->l4_csum_off, old_csum, new_csum, false);
}

/*
 * Translate one end of the quoted packet: its address at inner_addr_off
 * and its port (or echo identifier) at inner_port_off become new_addr and
 * new_port; the outer address at outer_addr_off becomes new_addr too, and
 * the outer TTL goes down by one if ttl_down (once per hop: a hairpinned
 * error is translated twice).
 */
static __always_inline int translate_icmp_error(const struct nat_ctx *c,
						const struct packet *pkt,
						const struct icmp_inner *in,
						bool inner_source,
						__u32 outer_addr_off,
						__be32 new_addr,
						__be16 new_port, bool ttl_down)
{
	__be32 old_addr = inner_source ? in->src_addr : in->dst_addr;
	__be16 old16 = inner_source ? in->src_port : in->dst_port;
	__be32 old_port = 0, port = 0;
	__u32 port_off;

	__builtin_memcpy(&old_port, &old16, 2);
	__builtin_memcpy(&port, &new_port, 2);
	if (in->proto == IPPROTO_ICMP)
		port_off = in->l4_off + offsetof(struct icmphdr, un.echo.id);
	else
		port_off = in->l4_off + (inner_source ? 0 : 2);

	/* The quoted L4 checksum covers the pseudo-header's address (not
	 * for ICMP) and the port. */
	if (in->l4_csum_off) {
		bool udp = in->proto == IPPROTO_UDP;

		if (in->proto != IPPROTO_ICMP &&
		    icmp_nested_csum_replace(c, pkt, in->l4_csum_off, udp,
					     old_addr, new_addr))
			return -1;
		if (icmp_nested_csum_replace(c, pkt, in->l4_csum_off, udp,
					     old_port, port))
			return -1;
	}
	if (icmp_payload_replace(c, pkt, port_off, old_port, port, 2))
		return -1;
	/* The quoted IP header: address and its header checksum. */
	if (icmp_nested_csum_replace(c, pkt, in->l3_off + IP_CSUM_OFF, false,
				     old_addr, new_addr) ||
	    icmp_payload_replace(c, pkt, in->l3_off + (inner_source ?
						       IP_SADDR_OFF :
						       IP_DADDR_OFF),
				 old_addr, new_addr, 4))
		return -1;
	/* The outer header: not covered by the ICMP checksum. */
	return rewrite_ip_header(c, pkt, outer_addr_off, new_addr, ttl_down);
}

/* An error from the customer side about a packet a sandbox sent: the
 * quoted packet left through this attachment as shared endpoint ->
 * remote. Finds its flow as a reply would, with the flow's key in *key. */
static __always_inline struct flow *
icmp_error_ingress_flow(const struct icmp_inner *in, __u32 attachment,
			struct flow_key *key)
{
	return flow_of_reply(attachment, in->proto, in->dst_addr,
			     in->proto == IPPROTO_ICMP ? 0 : in->dst_port,
			     in->src_addr, in->src_port, key);
}

/* An error from a sandbox about a packet it received: the quoted packet
 * came in as remote -> sandbox endpoint. */
static __always_inline struct flow *
icmp_error_egress_flow(const struct icmp_inner *in)
{
	struct flow_key key = {
		.src_addr = in->dst_addr,
		.dst_addr = in->src_addr,
		.src_port = in->dst_port,
		.dst_port = in->src_port,
		.proto = in->proto,
	};

	if (in->proto == IPPROTO_ICMP)
		return NULL;	/* sandboxes are sent no echo requests */
	return bpf_map_lookup_elem(&flows, &key);
}

#endif /* SHARENAT_BPF_ICMP_ERROR_H */

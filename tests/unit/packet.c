// SPDX-License-Identifier: GPL-2.0
/*
 * Frame builder and checksum verifier for the BPF tests. Every multi-byte
 * field is written with put_be16/put_be32, so the frames do not depend on
 * the host's byte order nor on any struct layout of the programs.
 */
#include <string.h>

#include "packet.h"

#define TCP_HDR_LEN 20
#define UDP_HDR_LEN 8
#define ICMP_HDR_LEN 8
#define ARP_LEN 28
#define DEFAULT_TTL 64

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t csum_add_words(uint32_t sum, const void *bytes, size_t len)
{
	const uint8_t *data = bytes;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)get_be16(data + i);
	if (len & 1)
		sum += (uint32_t)data[len - 1] << 8;
	return sum;
}

uint16_t csum_fold16(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t inet_checksum(const void *data, size_t len)
{
	return (uint16_t)~csum_fold16(csum_add_words(0, data, len));
}

/* Sum of the TCP/UDP pseudo-header: addresses, protocol, L4 length. */
static uint32_t pseudo_header_sum(const uint8_t *ip, uint8_t proto,
				  size_t l4_len)
{
	uint32_t sum = csum_add_words(0, ip + IP_SRC_OFF, 8);

	return sum + proto + (uint32_t)l4_len;
}

static size_t put_eth(const struct frame_spec *spec, uint8_t *buf,
		      uint16_t ethertype)
{
	memcpy(buf + ETH_DST_OFF, spec->dst_mac, 6);
	memcpy(buf + ETH_SRC_OFF, spec->src_mac, 6);
	put_be16(buf + ETH_TYPE_OFF, ethertype);
	return ETH_HDR_LEN;
}

static size_t l4_header_len(uint8_t proto)
{
	switch (proto) {
	case PROTO_TCP:
		return TCP_HDR_LEN;
	case PROTO_UDP:
		return UDP_HDR_LEN;
	case PROTO_ICMP:
		return ICMP_HDR_LEN;
	default:
		return 0;
	}
}

/* The L4 header with its checksum field zero; the checksum comes last,
 * once the payload is in place. */
static void put_l4_header(const struct frame_spec *spec, uint8_t *l4,
			  size_t l4_len)
{
	switch (spec->proto) {
	case PROTO_TCP:
		put_be16(l4 + L4_SPORT_OFF, spec->src_port);
		put_be16(l4 + L4_DPORT_OFF, spec->dst_port);
		put_be32(l4 + 4, spec->tcp_seq);
		put_be32(l4 + 8, spec->tcp_ack);
		l4[12] = (TCP_HDR_LEN / 4) << 4;
		l4[13] = spec->tcp_flags;
		put_be16(l4 + 14, 65535);	/* window */
		break;
	case PROTO_UDP:
		put_be16(l4 + L4_SPORT_OFF, spec->src_port);
		put_be16(l4 + L4_DPORT_OFF, spec->dst_port);
		put_be16(l4 + 4, (uint16_t)l4_len);
		break;
	case PROTO_ICMP:
		l4[0] = spec->icmp_type;
		put_be16(l4 + ICMP_ID_OFF, spec->icmp_id);
		put_be16(l4 + 6, spec->icmp_seq);
		break;
	}
}

static void put_l4_checksum(const struct frame_spec *spec, uint8_t *ip,
			    uint8_t *l4, size_t l4_len)
{
	size_t csum_off = spec->proto == PROTO_TCP ? TCP_CSUM_OFF :
			  UDP_CSUM_OFF;
	uint16_t csum;

	if (spec->l4_checksum_seed &&
	    (spec->proto == PROTO_TCP || spec->proto == PROTO_UDP)) {
		/* The seed is the folded pseudo-header sum, not inverted. */
		put_be16(l4 + csum_off,
			 csum_fold16(pseudo_header_sum(ip, spec->proto, l4_len)));
		return;
	}
	switch (spec->proto) {
	case PROTO_TCP:
		csum = (uint16_t)~csum_fold16(csum_add_words(
			pseudo_header_sum(ip, PROTO_TCP, l4_len), l4, l4_len));
		put_be16(l4 + TCP_CSUM_OFF, csum);
		break;
	case PROTO_UDP:
		if (spec->udp_no_checksum)
			break;
		csum = (uint16_t)~csum_fold16(csum_add_words(
			pseudo_header_sum(ip, PROTO_UDP, l4_len), l4, l4_len));
		/* RFC 768: a computed 0 is sent as all ones. */
		put_be16(l4 + UDP_CSUM_OFF, csum ? csum : 0xffff);
		break;
	case PROTO_ICMP:
		put_be16(l4 + ICMP_CSUM_OFF, inet_checksum(l4, l4_len));
		break;
	}
}

static size_t put_ipv4(const struct frame_spec *spec, uint8_t *buf,
		       size_t cap)
{
	size_t payload_len = spec->payload ? strlen(spec->payload) : 0;
	size_t ip_hdr_len = IP_MIN_LEN + spec->options_len;
	size_t l4_len = l4_header_len(spec->proto) + payload_len;
	size_t len = ETH_HDR_LEN + ip_hdr_len + l4_len;
	uint8_t *ip = buf + IP_OFF;
	uint8_t *l4 = ip + ip_hdr_len;
	size_t i;

	if (len > cap || spec->options_len % 4)
		return 0;
	put_eth(spec, buf, ETHERTYPE_IPV4);
	ip[0] = (uint8_t)((spec->version ? spec->version : 4) << 4 |
			  ip_hdr_len / 4);
	put_be16(ip + IP_TOT_LEN_OFF,
		 (uint16_t)((int)(ip_hdr_len + l4_len) + spec->tot_len_error));
	put_be16(ip + 4, spec->ip_id ? spec->ip_id : 0x1234);
	put_be16(ip + IP_FRAG_OFF,
		 spec->frag_off || spec->may_fragment ? spec->frag_off : 0x4000);
	ip[IP_TTL_OFF] = spec->ttl ? spec->ttl : DEFAULT_TTL;
	ip[IP_PROTO_OFF] = spec->proto;
	put_be32(ip + IP_SRC_OFF, spec->src_addr);
	put_be32(ip + IP_DST_OFF, spec->dst_addr);
	/* Options: NOPs, then End of Options in the last byte. */
	for (i = 0; i < spec->options_len; i++)
		ip[IP_MIN_LEN + i] = i + 1 == spec->options_len ? 0 : 1;
	put_be16(ip + IP_CSUM_OFF, inet_checksum(ip, ip_hdr_len));

	put_l4_header(spec, l4, l4_len);
	if (payload_len)
		memcpy(l4 + l4_header_len(spec->proto), spec->payload,
		       payload_len);
	put_l4_checksum(spec, ip, l4, l4_len);
	return len;
}

static size_t put_arp(const struct frame_spec *spec, uint8_t *buf,
		      size_t cap)
{
	uint8_t *arp = buf + ETH_HDR_LEN;

	if (ETH_HDR_LEN + ARP_LEN > cap)
		return 0;
	put_eth(spec, buf, ETHERTYPE_ARP);
	put_be16(arp, 1);			/* Ethernet */
	put_be16(arp + 2, ETHERTYPE_IPV4);
	arp[4] = 6;
	arp[5] = 4;
	put_be16(arp + 6, spec->arp_op);
	memcpy(arp + 8, spec->arp_sender_mac, 6);
	put_be32(arp + 14, spec->arp_sender_addr);
	memcpy(arp + 18, spec->arp_target_mac, 6);
	put_be32(arp + 24, spec->arp_target_addr);
	return ETH_HDR_LEN + ARP_LEN;
}

static size_t put_raw(const struct frame_spec *spec, uint8_t *buf,
		      size_t cap)
{
	size_t i;

	if ((size_t)ETH_HDR_LEN + spec->raw_len > cap)
		return 0;
	put_eth(spec, buf, spec->ethertype);
	/* Filler that looks like an IPv6 header start, not all zeros. */
	for (i = 0; i < spec->raw_len; i++)
		buf[ETH_HDR_LEN + i] = i == 0 ? 0x60 : (uint8_t)i;
	return ETH_HDR_LEN + spec->raw_len;
}

size_t frame_build(const struct frame_spec *spec, uint8_t *buf, size_t cap)
{
	size_t len;

	memset(buf, 0, cap);
	switch (spec->kind) {
	case FRAME_IPV4:
		len = put_ipv4(spec, buf, cap);
		break;
	case FRAME_ARP:
		len = put_arp(spec, buf, cap);
		break;
	case FRAME_RAW:
		len = put_raw(spec, buf, cap);
		break;
	default:
		return 0;
	}
	if (spec->truncate_to && spec->truncate_to < len)
		len = spec->truncate_to;
	return len;
}

static const char *l4_checksum_error(const uint8_t *ip, const uint8_t *l4,
				     size_t l4_len)
{
	uint8_t proto = ip[IP_PROTO_OFF];

	switch (proto) {
	case PROTO_TCP:
		if (l4_len < TCP_HDR_LEN)
			return "TCP header truncated";
		if (csum_fold16(csum_add_words(pseudo_header_sum(ip, proto, l4_len), l4,
				   l4_len)) != 0xffff)
			return "TCP checksum (with pseudo-header) is wrong";
		return NULL;
	case PROTO_UDP:
		if (l4_len < UDP_HDR_LEN)
			return "UDP header truncated";
		if (get_be16(l4 + 4) != l4_len)
			return "UDP length does not match the IP total length";
		if (get_be16(l4 + UDP_CSUM_OFF) == 0)
			return NULL;	/* no checksum */
		if (csum_fold16(csum_add_words(pseudo_header_sum(ip, proto, l4_len), l4,
				   l4_len)) != 0xffff)
			return "UDP checksum (with pseudo-header) is wrong";
		return NULL;
	case PROTO_ICMP:
		if (l4_len < ICMP_HDR_LEN)
			return "ICMP header truncated";
		if (csum_fold16(csum_add_words(0, l4, l4_len)) != 0xffff)
			return "ICMP checksum is wrong";
		return NULL;
	default:
		return NULL;
	}
}

const char *frame_checksum_error(const uint8_t *frame, size_t len)
{
	const uint8_t *ip = frame + IP_OFF;
	size_t ip_hdr_len, tot_len;

	if (len < ETH_HDR_LEN + IP_MIN_LEN ||
	    get_be16(frame + ETH_TYPE_OFF) != ETHERTYPE_IPV4)
		return "not an Ethernet + IPv4 frame";
	ip_hdr_len = (size_t)(ip[0] & 0x0f) * 4;
	tot_len = get_be16(ip + IP_TOT_LEN_OFF);
	if (ip_hdr_len < IP_MIN_LEN || tot_len < ip_hdr_len ||
	    ETH_HDR_LEN + tot_len > len)
		return "IPv4 header lengths are inconsistent";
	if (csum_fold16(csum_add_words(0, ip, ip_hdr_len)) != 0xffff)
		return "IPv4 header checksum is wrong";
	return l4_checksum_error(ip, ip + ip_hdr_len, tot_len - ip_hdr_len);
}

static const char *l4_field_name(uint8_t proto, size_t off)
{
	if (proto == PROTO_ICMP) {
		if (off < 2)
			return "ICMP type/code";
		if (off < 4)
			return "ICMP checksum";
		if (off < 6)
			return "ICMP echo identifier";
		if (off < 8)
			return "ICMP echo sequence";
		return "ICMP payload";
	}
	if (off < 2)
		return "source port";
	if (off < 4)
		return "destination port";
	if (proto == PROTO_UDP)
		return off < 6 ? "UDP length" : off < 8 ? "UDP checksum" :
		       "UDP payload";
	if (proto == PROTO_TCP)
		return off == 16 || off == 17 ? "TCP checksum" :
		       off < TCP_HDR_LEN ? "TCP header" : "TCP payload";
	return "L4 bytes";
}

const char *frame_field_name(const uint8_t *frame, size_t len, size_t off)
{
	size_t l4_off;

	if (off < ETH_SRC_OFF)
		return "Ethernet destination";
	if (off < ETH_TYPE_OFF)
		return "Ethernet source";
	if (off < ETH_HDR_LEN)
		return "ethertype";
	if (len < ETH_HDR_LEN + IP_MIN_LEN ||
	    get_be16(frame + ETH_TYPE_OFF) != ETHERTYPE_IPV4)
		return "payload after the Ethernet header";
	switch (off - IP_OFF) {
	case IP_TTL_OFF:
		return "IPv4 TTL";
	case IP_PROTO_OFF:
		return "IPv4 protocol";
	case IP_CSUM_OFF:
	case IP_CSUM_OFF + 1:
		return "IPv4 header checksum";
	}
	if (off >= IP_OFF + IP_SRC_OFF && off < IP_OFF + IP_DST_OFF)
		return "IPv4 source address";
	if (off >= IP_OFF + IP_DST_OFF && off < IP_OFF + IP_MIN_LEN)
		return "IPv4 destination address";
	l4_off = frame_l4_off(frame);
	if (off < l4_off)
		return "IPv4 header";
	return l4_field_name(frame[IP_OFF + IP_PROTO_OFF], off - l4_off);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test frames: Ethernet + IPv4 (TCP, UDP, ICMP echo), ARP and other
 * ethertypes, built byte by byte from a description, with checksums
 * computed from scratch. The checksum code here is deliberately the plain
 * RFC 1071 sum over whole headers, so it checks the programs' incremental
 * updates instead of repeating them.
 */
#ifndef SHARENAT_TEST_PACKET_H
#define SHARENAT_TEST_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 2048

/* Offsets in an Ethernet + IPv4 frame; L4 offsets are from the L4 start. */
#define ETH_DST_OFF 0
#define ETH_SRC_OFF 6
#define ETH_TYPE_OFF 12
#define ETH_HDR_LEN 14
#define IP_OFF ETH_HDR_LEN
#define IP_MIN_LEN 20
#define IP_TOT_LEN_OFF 2
#define IP_FRAG_OFF 6
#define IP_TTL_OFF 8
#define IP_PROTO_OFF 9
#define IP_CSUM_OFF 10
#define IP_SRC_OFF 12
#define IP_DST_OFF 16
#define L4_SPORT_OFF 0
#define L4_DPORT_OFF 2
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define ICMP_CSUM_OFF 2
#define ICMP_ID_OFF 4

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_IPV6 0x86dd

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_GRE 47

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

#define ICMPT_ECHO_REPLY 0
#define ICMPT_DEST_UNREACH 3
#define ICMPT_ECHO 8
#define ICMPT_TIME_EXCEEDED 11

#define ARP_REQUEST 1
#define ARP_REPLY 2

/* An IPv4 address a.b.c.d in host order, usable in static initializers. */
#define ADDR(a, b, c, d)						\
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 |			\
	 (uint32_t)(c) << 8 | (uint32_t)(d))

enum frame_kind {
	FRAME_IPV4 = 1,
	FRAME_ARP,
	FRAME_RAW,		/* ethertype + raw_len bytes of filler */
};

/*
 * One frame. Addresses and ports are host order here; the builder writes
 * them in network order. Zero means "the usual" where noted, so a table
 * of frames names only what matters for its case.
 */
struct frame_spec {
	enum frame_kind kind;
	uint8_t dst_mac[6];
	uint8_t src_mac[6];

	/* FRAME_RAW */
	uint16_t ethertype;
	uint16_t raw_len;

	/* FRAME_IPV4 */
	uint32_t src_addr;
	uint32_t dst_addr;
	uint8_t ttl;		/* 0: 64 */
	uint8_t proto;
	uint8_t version;	/* 0: 4 */
	uint8_t options_len;	/* IP options, a multiple of 4 */
	/* Flags and fragment offset, host order; 0: DF alone, as Linux
	 * sends, unless may_fragment. */
	uint16_t frag_off;
	bool may_fragment;	/* with frag_off 0: DF clear */
	uint16_t ip_id;		/* 0: 0x1234 */
	int tot_len_error;	/* added to the true IP total length */
	uint16_t src_port;	/* TCP, UDP */
	uint16_t dst_port;
	uint8_t tcp_flags;
	uint32_t tcp_seq;
	uint32_t tcp_ack;
	bool udp_no_checksum;	/* UDP checksum 0: "none" */
	/* TCP/UDP checksum field holds only the pseudo-header sum, as in a
	 * CHECKSUM_PARTIAL skb whose checksum the NIC is to finish. */
	bool l4_checksum_seed;
	uint8_t icmp_type;
	uint16_t icmp_id;
	uint16_t icmp_seq;
	const char *payload;	/* NUL-terminated; the NUL is not sent */

	/* FRAME_ARP */
	uint16_t arp_op;
	uint8_t arp_sender_mac[6];
	uint32_t arp_sender_addr;
	uint8_t arp_target_mac[6];
	uint32_t arp_target_addr;

	size_t truncate_to;	/* nonzero: cut the frame to this length */
};

/* Build spec into buf; returns the frame length (0 if cap is too small). */
size_t frame_build(const struct frame_spec *spec, uint8_t *buf, size_t cap);

/* One's complement sum of data as big-endian 16-bit words, the odd last
 * byte padded with a zero, added to sum without folding. */
uint32_t csum_add_words(uint32_t sum, const void *data, size_t len);
/* A one's complement sum folded to 16 bits (not inverted). */
uint16_t csum_fold16(uint32_t sum);

/* RFC 1071 Internet checksum of data (the value to store in the field). */
uint16_t inet_checksum(const void *data, size_t len);

/*
 * Check the IPv4 header checksum and the TCP (pseudo-header), UDP
 * (pseudo-header; 0 = none is accepted) or ICMP checksum of a frame the
 * way a receiver does: the sum over the covered bytes, checksum field
 * included, must be all ones. Returns NULL when both are right, else what
 * is wrong.
 */
const char *frame_checksum_error(const uint8_t *frame, size_t len);

/* Name of the header field at offset off of an Ethernet + IPv4 frame, for
 * failure messages that say more than a byte offset. */
const char *frame_field_name(const uint8_t *frame, size_t len, size_t off);

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the L4 header of an Ethernet + IPv4 frame. */
static inline size_t frame_l4_off(const uint8_t *frame)
{
	return IP_OFF + (size_t)(frame[IP_OFF] & 0x0f) * 4;
}

#endif /* SHARENAT_TEST_PACKET_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF tests judge the programs' checksums with packet.c, so packet.c
 * is tested first: against a published checksum, and for catching a
 * corrupted frame (a verifier that accepts everything would make every
 * checksum assertion of the BPF tests pass).
 */
#include <string.h>

#include "packet.h"
#include "suites.h"

/* A well-known IPv4 header (the Wikipedia "IPv4 header checksum"
 * example): 192.168.0.1 -> 192.168.0.199, UDP, checksum 0xb861. */
static const uint8_t reference_ip_header[IP_MIN_LEN] = {
	0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
};

static const struct frame_spec tcp_frame = {
	.kind = FRAME_IPV4,
	.dst_mac = { 0x02, 0, 0, 0, 0, 0x02 },
	.src_mac = { 0x02, 0, 0, 0, 0, 0x01 },
	.src_addr = ADDR(100, 64, 0, 1),
	.dst_addr = ADDR(10, 0, 1, 10),
	.proto = PROTO_TCP,
	.src_port = 40000,
	.dst_port = 80,
	.tcp_flags = TCPF_SYN,
	.tcp_seq = 1,
	.payload = "odd",
};

static const struct frame_spec udp_frame = {
	.kind = FRAME_IPV4,
	.src_addr = ADDR(100, 64, 0, 1),
	.dst_addr = ADDR(10, 0, 1, 10),
	.proto = PROTO_UDP,
	.src_port = 5353,
	.dst_port = 53,
	.payload = "hello, world!",
};

static const struct frame_spec icmp_frame = {
	.kind = FRAME_IPV4,
	.src_addr = ADDR(100, 64, 0, 1),
	.dst_addr = ADDR(10, 0, 1, 10),
	.options_len = 4,
	.proto = PROTO_ICMP,
	.icmp_type = ICMPT_ECHO,
	.icmp_id = 7,
	.icmp_seq = 1,
	.payload = "ping!",
};

START_TEST(test_checksum_reference_vector)
{
	ck_assert_uint_eq(inet_checksum(reference_ip_header,
					sizeof(reference_ip_header)), 0xb861);
}
END_TEST

/* The layout the BPF tests rely on: fields where the RFCs put them. */
START_TEST(test_builder_layout)
{
	uint8_t f[FRAME_MAX];
	size_t len = frame_build(&tcp_frame, f, sizeof(f));
	size_t l4 = IP_OFF + IP_MIN_LEN;

	ck_assert_uint_eq(len, ETH_HDR_LEN + IP_MIN_LEN + 20 + 3);
	ck_assert_uint_eq(get_be16(f + ETH_TYPE_OFF), ETHERTYPE_IPV4);
	ck_assert_uint_eq(f[IP_OFF], 0x45);
	ck_assert_uint_eq(get_be16(f + IP_OFF + IP_TOT_LEN_OFF), len - IP_OFF);
	ck_assert_uint_eq(f[IP_OFF + IP_TTL_OFF], 64);
	ck_assert_uint_eq(f[IP_OFF + IP_PROTO_OFF], PROTO_TCP);
	ck_assert_uint_eq(get_be32(f + IP_OFF + IP_SRC_OFF), 0x64400001);
	ck_assert_uint_eq(get_be32(f + IP_OFF + IP_DST_OFF), 0x0a00010a);
	ck_assert_uint_eq(frame_l4_off(f), l4);
	ck_assert_uint_eq(get_be16(f + l4 + L4_SPORT_OFF), 40000);
	ck_assert_uint_eq(get_be16(f + l4 + L4_DPORT_OFF), 80);
	ck_assert_uint_eq(f[l4 + 13], TCPF_SYN);
	ck_assert_int_eq(memcmp(f + l4 + 20, "odd", 3), 0);
}
END_TEST

static void assert_built_frame_valid(const struct frame_spec *spec)
{
	uint8_t f[FRAME_MAX];
	size_t len = frame_build(spec, f, sizeof(f));
	const char *why;

	ck_assert_uint_gt(len, 0);
	why = frame_checksum_error(f, len);
	ck_assert_msg(why == NULL, "a freshly built frame fails: %s", why);
}

START_TEST(test_built_frames_verify)
{
	struct frame_spec no_csum = udp_frame;

	assert_built_frame_valid(&tcp_frame);
	assert_built_frame_valid(&udp_frame);
	assert_built_frame_valid(&icmp_frame);
	no_csum.udp_no_checksum = true;
	assert_built_frame_valid(&no_csum);
}
END_TEST

/* Flip one byte at offset (from the L4 start if in_l4) and expect the
 * verifier to name the broken checksum. */
static void assert_corruption_caught(const struct frame_spec *spec,
				     bool in_l4, size_t offset,
				     const char *want)
{
	uint8_t f[FRAME_MAX];
	size_t len = frame_build(spec, f, sizeof(f));
	size_t at = offset + (in_l4 ? frame_l4_off(f) : 0);
	const char *why;

	f[at] ^= 0x01;
	why = frame_checksum_error(f, len);
	ck_assert_msg(why != NULL, "byte %zu (%s) flipped, not caught", at,
		      frame_field_name(f, len, at));
	ck_assert_msg(strstr(why, want) != NULL, "byte %zu flipped: \"%s\", "
		      "want \"%s\"", at, why, want);
}

START_TEST(test_corruption_is_caught)
{
	assert_corruption_caught(&tcp_frame, false, IP_OFF + IP_TTL_OFF,
				 "IPv4 header checksum");
	assert_corruption_caught(&tcp_frame, false, IP_OFF + IP_CSUM_OFF,
				 "IPv4 header checksum");
	/* The last payload byte, the odd one the sum pads with a zero. */
	assert_corruption_caught(&tcp_frame, true, 22, "TCP checksum");
	assert_corruption_caught(&tcp_frame, true, L4_SPORT_OFF,
				 "TCP checksum");
	assert_corruption_caught(&udp_frame, true, 8, "UDP checksum");
	assert_corruption_caught(&icmp_frame, true, ICMP_ID_OFF,
				 "ICMP checksum");
}
END_TEST

/* An address rewritten with only the IP checksum fixed, as a NAT that
 * forgot the pseudo-header would leave it. */
START_TEST(test_pseudo_header_is_checked)
{
	struct frame_spec moved = tcp_frame;
	uint8_t f[FRAME_MAX], g[FRAME_MAX];
	size_t len = frame_build(&tcp_frame, f, sizeof(f));
	const char *why;

	moved.src_addr = ADDR(10, 0, 1, 5);
	frame_build(&moved, g, sizeof(g));
	/* g's IP header with f's TCP segment. */
	memcpy(f + IP_OFF, g + IP_OFF, IP_MIN_LEN);
	why = frame_checksum_error(f, len);
	ck_assert_msg(why && strstr(why, "TCP checksum"),
		      "stale pseudo-header not caught: %s",
		      why ? why : "accepted");
}
END_TEST

/* A CHECKSUM_PARTIAL seed: the folded pseudo-header sum, worked out by
 * hand for udp_frame: 6440 + 0001 + 0a00 + 010a + 0011 + 0015 (length
 * 8 + 13) = 6f71. It is no valid checksum, and the verifier says so. */
START_TEST(test_checksum_seed)
{
	struct frame_spec seeded = udp_frame;
	uint8_t f[FRAME_MAX];
	size_t len;

	seeded.l4_checksum_seed = true;
	len = frame_build(&seeded, f, sizeof(f));
	ck_assert_uint_eq(get_be16(f + frame_l4_off(f) + UDP_CSUM_OFF), 0x6f71);
	ck_assert_ptr_nonnull(frame_checksum_error(f, len));
}
END_TEST

START_TEST(test_truncation_and_raw_frames)
{
	struct frame_spec cut = tcp_frame;
	struct frame_spec raw = {
		.kind = FRAME_RAW,
		.ethertype = ETHERTYPE_IPV6,
		.raw_len = 40,
	};
	uint8_t f[FRAME_MAX];

	cut.truncate_to = ETH_HDR_LEN + 10;
	ck_assert_uint_eq(frame_build(&cut, f, sizeof(f)), ETH_HDR_LEN + 10);
	ck_assert_uint_eq(frame_build(&raw, f, sizeof(f)), ETH_HDR_LEN + 40);
	ck_assert_uint_eq(get_be16(f + ETH_TYPE_OFF), ETHERTYPE_IPV6);
	ck_assert_ptr_nonnull(frame_checksum_error(f, ETH_HDR_LEN + 40));
}
END_TEST

Suite *packet_suite(void)
{
	Suite *suite = suite_create("packet");
	TCase *tc = tcase_create("builder and checksums");

	tcase_add_test(tc, test_checksum_reference_vector);
	tcase_add_test(tc, test_builder_layout);
	tcase_add_test(tc, test_built_frames_verify);
	tcase_add_test(tc, test_corruption_is_caught);
	tcase_add_test(tc, test_pseudo_header_is_checked);
	tcase_add_test(tc, test_checksum_seed);
	tcase_add_test(tc, test_truncation_and_raw_frames);
	suite_add_tcase(suite, tc);
	return suite;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The fast path (tc egress, tc ingress, XDP ingress, XDP egress) on crafted
 * frames, through BPF_PROG_TEST_RUN. Each case of the table below is one frame
 * through one program on a fresh skeleton (maps empty but for the base
 * configuration), and checks the verdict, every byte of the output frame,
 * its checksums (recomputed from scratch by packet.c), which counters
 * moved, and how many flow entries appeared; some cases check the flow
 * entries themselves. tc frames run a second time as CHECKSUM_COMPLETE
 * skbs, where the kernel checks that skb->csum was kept in step.
 *
 * A test run's skb (and XDP frame) comes in on ifindex 1 (loopback), so
 * the sandbox device and the shared device of these tests are both
 * ifindex 1.
 *
 * This kernel's BPF_PROG_TEST_RUN refuses (EINVAL) an skb whose ethertype
 * is IPv4 but which is shorter than an IPv4 header, or IPv6 and shorter
 * than an IPv6 header; so the shortest truncated frames the tc programs
 * can be given carry a whole IP header and a cut L4 header. XDP takes any
 * frame, so "Ethernet + 10 bytes of IP" is tested there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bpf_fixture.h"
#include "suites.h"

static const __u8 mac_sbx1[6] = MAC_SBX1;
static const __u8 mac_static[6] = MAC_STATIC;

/* ---- frames ---- */

#define TCP_40000_TO_80							\
	.proto = PROTO_TCP, .src_port = 40000, .dst_port = 80

/* A SYN with data (as TCP Fast Open sends), so payload bytes are checked
 * too. */
static const struct frame_spec syn_s1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER,
	.tcp_flags = TCPF_SYN, .tcp_seq = 1000, .payload = "hello",
};

static const struct frame_spec ack_s1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER,
	.tcp_flags = TCPF_ACK, .tcp_seq = 1006, .tcp_ack = 5001,
	.payload = "GET / HTTP/1.0\r\n\r\n",
};

static const struct frame_spec syn_s2 = {
	.kind = FRAME_IPV4, .src_mac = MAC_SBX2, .dst_mac = MAC_HOST,
	.src_addr = SBX2, .dst_addr = SERVER, TCP_40000_TO_80,
	.tcp_flags = TCPF_SYN, .tcp_seq = 7000,
};

static const struct frame_spec syn_s1_outside = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = OUTSIDE,
	.tcp_flags = TCPF_SYN,
};

static const struct frame_spec syn_s1_to_subnet_2 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER_ON_SUBNET_2,
	.tcp_flags = TCPF_SYN,
};

static const struct frame_spec syn_s1_ttl1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER, .ttl = 1,
	.tcp_flags = TCPF_SYN,
};

/* Larger than TEST_MTU: an established flow's segment, with and without
 * DF (the payload comes from fill_big). */
static const struct frame_spec big_df_s1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER,
	.tcp_flags = TCPF_ACK, .frag_off = 0x4000,
};

/* A CHECKSUM_PARTIAL segment: fragmenter.h cannot cut it up. */
static const struct frame_spec big_s1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER,
	.tcp_flags = TCPF_ACK, .may_fragment = true, .l4_checksum_seed = true,
};

/* DF clear: a datagram that may yet be fragmented on the way. */
static const struct frame_spec udp_may_fragment_s1 = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 40001, .dst_port = 53, .may_fragment = true,
	.payload = "may be fragmented",
};

static const struct frame_spec big_df_to_shared = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_TCP, .src_port = 80,
	.dst_port = 40000, .tcp_flags = TCPF_ACK, .frag_off = 0x4000,
};

static void fill_big(struct frame_spec *in)
{
	static char payload[TEST_MTU + 1];

	memset(payload, 'b', TEST_MTU);
	in->payload = payload;
}

static const struct frame_spec syn_s1_ip_options = {
	FROM_SBX1, .dst_addr = SERVER, .options_len = 8,
	.proto = PROTO_TCP, .src_port = 40002, .dst_port = 80,
	.tcp_flags = TCPF_SYN, .payload = "opt",
};

static const struct frame_spec syn_spoofed = {
	.kind = FRAME_IPV4, .src_mac = MAC_SBX1, .dst_mac = MAC_HOST,
	.src_addr = NOT_A_SANDBOX, .dst_addr = SERVER, TCP_40000_TO_80,
	.tcp_flags = TCPF_SYN,
};

/* An odd payload length, so the checksum's padded last byte counts. */
static const struct frame_spec udp_s1 = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 40001, .dst_port = 53, .payload = "hello, world!",
};

static const struct frame_spec udp_s1_no_checksum = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 40003, .dst_port = 53, .udp_no_checksum = true,
	.payload = "no checksum",
};

/* Payloads chosen so that the translated datagram's checksum computes to
 * 0, which UDP must send as 0xffff (0 would mean "no checksum"). */
static const struct frame_spec udp_s1_sums_to_zero = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 40001, .dst_port = 53, .payload = "sums to zero yy0V9",
};

/* Identifier 7 is below the port range: the flow must map it. */
static const struct frame_spec ping_s1 = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_ICMP,
	.icmp_type = ICMPT_ECHO, .icmp_id = 7, .icmp_seq = 1,
	.payload = "ping!",
};

static const struct frame_spec ping_s1_id_in_range = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_ICMP,
	.icmp_type = ICMPT_ECHO, .icmp_id = 4660, .icmp_seq = 2,
	.payload = "ping",
};

static const struct frame_spec echo_reply_from_s1 = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_ICMP,
	.icmp_type = ICMPT_ECHO_REPLY, .icmp_id = 9, .icmp_seq = 1,
};

/* What it quotes is text, not the IPv4 header of a packet it received. */
static const struct frame_spec unreachable_from_s1 = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_ICMP,
	.icmp_type = ICMPT_DEST_UNREACH, .payload = "inner header",
};

static const struct frame_spec gre_s1 = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_GRE,
	.payload = "gre!",
};

static const struct frame_spec first_fragment_s1 = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 40001, .dst_port = 53, .frag_off = 0x2000, /* MF */
	.payload = "first fragment",
};

/* A whole IP header whose total length (30) holds only 10 bytes of TCP. */
static const struct frame_spec tcp_cut_s1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER,
	.tcp_flags = TCPF_SYN, .tot_len_error = -10,
	.truncate_to = ETH_HDR_LEN + IP_MIN_LEN + 10,
};

static const struct frame_spec ip_longer_than_frame_s1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER,
	.tcp_flags = TCPF_SYN, .tot_len_error = 8,
};

static const struct frame_spec ip_version_6_s1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER,
	.tcp_flags = TCPF_SYN, .version = 6,
};

static const struct frame_spec ipv6_s1 = {
	.kind = FRAME_RAW, .src_mac = MAC_SBX1, .dst_mac = MAC_HOST,
	.ethertype = ETHERTYPE_IPV6, .raw_len = 40,
};

#define ARP_FROM_SBX1							\
	.kind = FRAME_ARP, .dst_mac = MAC_BROADCAST,			\
	.src_mac = MAC_SBX1, .arp_sender_mac = MAC_SBX1

static const struct frame_spec arp_who_has_gateway = {
	ARP_FROM_SBX1, .arp_op = ARP_REQUEST, .arp_sender_addr = SBX1,
	.arp_target_addr = SANDBOX_GATEWAY,
};

/* The answer: from the host-side device, to the requester. */
static const struct frame_spec arp_gateway_is_at_host = {
	.kind = FRAME_ARP, .dst_mac = MAC_SBX1, .src_mac = MAC_HOST,
	.arp_op = ARP_REPLY,
	.arp_sender_mac = MAC_HOST, .arp_sender_addr = SANDBOX_GATEWAY,
	.arp_target_mac = MAC_SBX1, .arp_target_addr = SBX1,
};

static const struct frame_spec arp_who_has_other = {
	ARP_FROM_SBX1, .arp_op = ARP_REQUEST, .arp_sender_addr = SBX1,
	.arp_target_addr = SERVER,
};

static const struct frame_spec arp_from_stranger = {
	ARP_FROM_SBX1, .arp_op = ARP_REQUEST,
	.arp_sender_addr = NOT_A_SANDBOX, .arp_target_addr = SANDBOX_GATEWAY,
};

static const struct frame_spec arp_reply_from_s1 = {
	ARP_FROM_SBX1, .arp_op = ARP_REPLY, .arp_sender_addr = SBX1,
	.arp_target_addr = SANDBOX_GATEWAY,
};

static const struct frame_spec synack_from_server = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_TCP,
	.src_port = 80, .dst_port = 40000, .tcp_flags = TCPF_SYN | TCPF_ACK,
	.tcp_seq = 5000, .tcp_ack = 1006,
};

static const struct frame_spec synack_from_server_ttl1 = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_TCP,
	.src_port = 80, .dst_port = 40000, .tcp_flags = TCPF_SYN | TCPF_ACK,
	.ttl = 1,
};

static const struct frame_spec synack_from_wrong_port = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_TCP,
	.src_port = 8080, .dst_port = 40000, .tcp_flags = TCPF_SYN | TCPF_ACK,
};

static const struct frame_spec synack_from_other_server = {
	FROM_SERVER, .src_addr = OTHER_SERVER, .proto = PROTO_TCP,
	.src_port = 80, .dst_port = 40000, .tcp_flags = TCPF_SYN | TCPF_ACK,
};

/* To a shared port sandbox 1's flow to the server did not go out by. */
static const struct frame_spec synack_to_other_port = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_TCP,
	.src_port = 80, .dst_port = 40002, .tcp_flags = TCPF_SYN | TCPF_ACK,
};

static const struct frame_spec udp_reply_from_server = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 53, .dst_port = 40001, .payload = "the answer: 42",
};

static const struct frame_spec udp_reply_no_checksum = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 53, .dst_port = 40003, .udp_no_checksum = true,
	.payload = "still none",
};

/* The identifier is the one the egress flow gave (fill_in). */
static const struct frame_spec echo_reply_from_server = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_ICMP,
	.icmp_type = ICMPT_ECHO_REPLY, .icmp_seq = 1, .payload = "ping!",
};

static const struct frame_spec tcp_cut_from_server = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_TCP,
	.src_port = 80, .dst_port = 40000, .tot_len_error = -10,
	.truncate_to = ETH_HDR_LEN + IP_MIN_LEN + 10,
};

static const struct frame_spec ip_cut_from_server = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_TCP,
	.src_port = 80, .dst_port = 40000, .truncate_to = ETH_HDR_LEN + 10,
};

static const struct frame_spec udp_reply_sums_to_zero = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 53, .dst_port = 40001, .payload = "sums to zero avI",
};

/* UDP as a sender's stack hands it over with checksum offload: the field
 * holds the pseudo-header seed (XDP must leave it to tc). */
static const struct frame_spec udp_reply_seed_only = {
	FROM_SERVER, .src_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 53, .dst_port = 40001, .l4_checksum_seed = true,
	.payload = "offloaded",
};

static const struct frame_spec ipv6_from_server = {
	.kind = FRAME_RAW, .src_mac = MAC_CUSTOMER, .dst_mac = MAC_SHARED,
	.ethertype = ETHERTYPE_IPV6, .raw_len = 40,
};

static const struct frame_spec arp_from_server = {
	.kind = FRAME_ARP, .dst_mac = MAC_BROADCAST, .src_mac = MAC_CUSTOMER,
	.arp_op = ARP_REQUEST, .arp_sender_mac = MAC_CUSTOMER,
	.arp_sender_addr = SERVER, .arp_target_addr = SHARED,
};

/* ARP from a host that is not on the attachment's subnet. */
static const struct frame_spec arp_from_outside = {
	.kind = FRAME_ARP, .dst_mac = MAC_BROADCAST, .src_mac = MAC_CUSTOMER,
	.arp_op = ARP_REQUEST, .arp_sender_mac = MAC_CUSTOMER,
	.arp_sender_addr = OUTSIDE, .arp_target_addr = SHARED,
};

/* Sandbox 1's UDP as its stack hands it over with checksum offload. */
static const struct frame_spec udp_s1_seed_only = {
	FROM_SBX1, .dst_addr = SERVER, .proto = PROTO_UDP,
	.src_port = 40001, .dst_port = 53, .l4_checksum_seed = true,
	.payload = "offloaded",
};

/* Sandbox 1's TCP segment, offloaded likewise; 38 bytes of TCP, so the
 * sum ends in a half word. */
static const struct frame_spec ack_s1_seed_only = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER,
	.tcp_flags = TCPF_ACK, .tcp_seq = 1006, .tcp_ack = 5001,
	.l4_checksum_seed = true, .payload = "GET / HTTP/1.0\r\n\r\n",
};

/* What XDP egress sends for those two: translated, checksums whole. */
#define XDP_EGRESS_OUT							\
	.kind = FRAME_IPV4, .src_mac = MAC_SHARED, .dst_mac = MAC_CUSTOMER,	\
	.src_addr = SHARED, .dst_addr = SERVER, .ttl = 63

static const struct frame_spec udp_s1_seed_finished = {
	XDP_EGRESS_OUT, .proto = PROTO_UDP, .src_port = 40001,
	.dst_port = 53, .payload = "offloaded",
};

static const struct frame_spec ack_s1_seed_finished = {
	XDP_EGRESS_OUT, TCP_40000_TO_80, .tcp_flags = TCPF_ACK,
	.tcp_seq = 1006, .tcp_ack = 5001,
	.payload = "GET / HTTP/1.0\r\n\r\n",
};

static const struct frame_spec ack_s1_ttl1 = {
	FROM_SBX1, TCP_40000_TO_80, .dst_addr = SERVER, .ttl = 1,
	.tcp_flags = TCPF_ACK,
};

/* ---- preparations: state beyond the base configuration ---- */

static void add_sandbox_2(void)
{
	struct sandbox sbx = sandbox_at(SBX2, "s2");

	put_sandbox(&sbx);
}

static void with_syn_flow(void)
{
	must_translate(EGRESS, &syn_s1);
}

static void with_udp_flow(void)
{
	must_translate(EGRESS, &udp_s1);
}

static void with_udp_flow_no_checksum(void)
{
	must_translate(EGRESS, &udp_s1_no_checksum);
}

static void with_ping_flow(void)
{
	must_translate(EGRESS, &ping_s1);
}

static void with_sandbox_2_and_syn_flow(void)
{
	add_sandbox_2();
	with_syn_flow();
}

static void with_both_sandboxes_flows(void)
{
	with_sandbox_2_and_syn_flow();
	must_translate(EGRESS, &syn_s2);
}

/* Ports 2000-2000 only, one shared address (taken by sandbox 1's flow),
 * or two. */
static void with_one_port_taken(unsigned int shared_addrs)
{
	struct attachment att = base_attachment();

	att.port_lo = 2000;
	att.port_hi = 2000;
	att.shared_addrs[1] = htonl(SHARED2);
	att.shared_addr_count = shared_addrs;
	put_attachment(&att);
	with_sandbox_2_and_syn_flow();
}

static void with_only_port_taken(void)
{
	with_one_port_taken(1);
}

static void with_only_port_taken_on_first_addr(void)
{
	with_one_port_taken(2);
}

static void with_customer_gateway(void)
{
	struct attachment att = base_attachment();

	att.gateway_addr = htonl(CUSTOMER_GATEWAY);
	put_attachment(&att);
}

/* f1 with 10.0.2.0/24 on attachment 2 (shared 10.0.2.5) first, then
 * 10.0.1.0/24 on attachment 1: the destination picks the attachment. */
static void with_two_subnets(void)
{
	struct attachment att = base_attachment();
	struct function fn = base_function();

	att.ifindex = OTHER_IFINDEX;
	att.subnet_addr = htonl(SUBNET_2);
	att.shared_addrs[0] = htonl(SHARED_ON_SUBNET_2);
	put_attachment(&att);
	fn.subnets[1] = fn.subnets[0];
	fn.subnets[0].subnet_addr = htonl(SUBNET_2);
	fn.subnets[0].attachment = OTHER_IFINDEX;
	fn.subnet_count = 2;
	put_function(&fn);
}

static void without_function(void)
{
	__u32 id = FUNCTION_ID;

	delete(skel->maps.functions, &id);
}

static void with_sandbox_1_on_other_device(void)
{
	struct sandbox sbx = sandbox_at(SBX1, "s1");

	sbx.ifindex = OTHER_IFINDEX;
	put_sandbox(&sbx);
}

static void with_static_mac(void)
{
	struct sandbox sbx = sandbox_at(SBX1, "s1");

	memcpy(sbx.mac, mac_static, sizeof(sbx.mac));
	sbx.mac_static = 1;
	put_sandbox(&sbx);
}

static void with_static_mac_and_syn_flow(void)
{
	with_static_mac();
	with_syn_flow();
}

/* The function's subnet is on another attachment (same addresses, as two
 * customers may have): its flows must not answer on this one. */
static void with_flow_on_other_attachment(void)
{
	struct attachment att = base_attachment();
	struct function fn = base_function();

	att.ifindex = OTHER_IFINDEX;
	put_attachment(&att);
	fn.subnets[0].attachment = OTHER_IFINDEX;
	put_function(&fn);
	with_syn_flow();
}

static void with_syn_flow_then_sandbox_gone(void)
{
	__be32 addr = htonl(SBX1);

	with_syn_flow();
	delete(skel->maps.sandboxes, &addr);
}

/* Sandbox 1 deleted and added again on another device after its flow
 * was made: the flow's replies are not the new sandbox's. */
static void with_syn_flow_then_sandbox_moved(void)
{
	with_syn_flow();
	with_sandbox_1_on_other_device();
}

/* The shared address is one sharenat added, so what no flow answers is
 * dropped as unsolicited (the host has no use for it). */
static void with_syn_flow_on_added_addr(void)
{
	mark_shared_addr_added();
	with_syn_flow();
}

static void with_dependent_syn_flow_on_added_addr(void)
{
	set_mapping(MAPPING_DEPENDENT);
	with_syn_flow_on_added_addr();
}

static void delete_syn_flow(void)
{
	struct flow_key key = egress_key(PROTO_TCP, SBX1, 40000, SERVER, 80);

	delete(skel->maps.flows, &key);
}

/* What leads replies to a flow outlives it (a CLI del killed between
 * its deletes): sandbox 1's mapping and port, or its reply key. */
static void with_port_owner_without_flow(void)
{
	with_syn_flow_on_added_addr();
	delete_syn_flow();
}

static void with_reply_key_without_flow(void)
{
	with_dependent_syn_flow_on_added_addr();
	delete_syn_flow();
}

/* Shared port 40002 owned by sandbox 1's endpoint 40000, whose flow to
 * the server went out by 40000: a stale `ports` owner, or a stale reply
 * key for the server. */
static void with_port_owner_whose_flow_is_elsewhere(void)
{
	struct mapping_key owner = mapping_key(PROTO_TCP, SBX1, 40000);
	struct port_hold hold = { .owner = owner };
	struct port_key port = port_key(PROTO_TCP, SHARED, 40002,
					TEST_IFINDEX);

	with_syn_flow_on_added_addr();
	put(skel->maps.ports, &port, &hold);
}

static void with_reply_key_whose_flow_is_elsewhere(void)
{
	struct mapping_key owner = mapping_key(PROTO_TCP, SBX1, 40000);
	struct reply_key key = reply_key(PROTO_TCP, SERVER, 80, SHARED, 40002,
					 TEST_IFINDEX);

	with_dependent_syn_flow_on_added_addr();
	put(skel->maps.replies, &key, &owner);
}

/* Sandbox 1 on a device that takes XDP frames (a tap), listed in the
 * devmap XDP ingress redirects through. */
static void with_tap_sandbox(void)
{
	struct sandbox sbx = sandbox_at(SBX1, "s1");
	__u32 ifindex = TEST_IFINDEX;

	sbx.xdp_frames = 1;
	put_sandbox(&sbx);
	put(skel->maps.xdp_devices, &ifindex, &ifindex);
}

/* The server's MAC heard on the shared device (as neighbour_learn
 * records it), optionally too long ago to be used. */
static void put_server_neighbour(bool stale)
{
	struct neighbour_key key = { .ifindex = TEST_IFINDEX,
				     .addr = htonl(SERVER) };
	struct neighbour_macs value = { .mac = MAC_CUSTOMER,
					.device_mac = MAC_SHARED };
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	value.learned_ns = (__u64)now.tv_sec * 1000000000ull +
			   (__u64)now.tv_nsec;
	if (stale)
		value.learned_ns -= (SHARENAT_NEIGHBOUR_FRESH_SECONDS + 1) *
				    1000000000ull;
	put(skel->maps.neighbours, &key, &value);
}

/* The shared device attached with --mode xdp: XDP egress may redirect
 * to it. */
static void put_shared_in_devmap(void)
{
	__u32 ifindex = TEST_IFINDEX;

	put(skel->maps.xdp_devices, &ifindex, &ifindex);
}

static void xdp_egress_ready(void)
{
	put_server_neighbour(false);
	put_shared_in_devmap();
}

static void xdp_egress_with_syn_flow(void)
{
	xdp_egress_ready();
	with_syn_flow();
}

static void xdp_egress_with_udp_flow(void)
{
	xdp_egress_ready();
	with_udp_flow();
}

static void xdp_egress_stale_neighbour(void)
{
	put_server_neighbour(true);
	put_shared_in_devmap();
	with_syn_flow();
}

static void xdp_egress_no_neighbour(void)
{
	put_shared_in_devmap();
	with_syn_flow();
}

static void xdp_egress_shared_not_in_devmap(void)
{
	put_server_neighbour(false);
	with_syn_flow();
}

static void tap_with_syn_flow(void)
{
	with_tap_sandbox();
	with_syn_flow();
}

static void tap_with_udp_flow(void)
{
	with_tap_sandbox();
	with_udp_flow();
}

static void tap_with_udp_flow_no_checksum(void)
{
	with_tap_sandbox();
	with_udp_flow_no_checksum();
}

static void tap_with_ping_flow(void)
{
	with_tap_sandbox();
	with_ping_flow();
}

/* ---- values known only once a flow exists ---- */

/* What the NAT changes; 0 (or a zero MAC) leaves the field as it was.
 * A translated packet also has its TTL decremented. */
struct rewrite {
	uint32_t src_addr;
	uint32_t dst_addr;
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t icmp_id;
	uint16_t ip_id;
	uint8_t dst_mac[6];
	uint8_t src_mac[6];
};

static void reply_to_allocated_echo_id(struct frame_spec *in)
{
	in->icmp_id = shared_port_of(PROTO_ICMP, SBX1, 7, 0);
}

static void reply_to_sandbox_2_port(struct frame_spec *in)
{
	in->dst_port = shared_port_of(PROTO_TCP, SBX2, 40000, 80);
}

static void expect_allocated_echo_id(struct rewrite *nat)
{
	nat->icmp_id = shared_port_of(PROTO_ICMP, SBX1, 7, 0);
}

static void expect_sandbox_2_port(struct rewrite *nat)
{
	nat->src_port = shared_port_of(PROTO_TCP, SBX2, 40000, 80);
}

/* ---- checks beyond frame, counters and flow count ---- */

static void assert_mac_learned(uint32_t addr, const __u8 *want)
{
	struct sandbox sbx = must_find_sandbox(addr);

	ck_assert_msg(memcmp(sbx.mac, want, 6) == 0,
		      "sandbox MAC %02x:%02x:%02x:%02x:%02x:%02x, want "
		      "%02x:%02x:%02x:%02x:%02x:%02x", sbx.mac[0], sbx.mac[1],
		      sbx.mac[2], sbx.mac[3], sbx.mac[4], sbx.mac[5], want[0],
		      want[1], want[2], want[3], want[4], want[5]);
}

/* Sandbox 1's flow to SERVER:80, the one the table's TCP frames use. */
static struct flow syn_flow(void)
{
	struct flow_key key = egress_key(PROTO_TCP, SBX1, 40000, SERVER, 80);

	return must_find_flow(&key, "flow");
}

/* The same flow, as the server's replies to shared port 40000 find it. */
static struct flow syn_flow_of_reply(void)
{
	struct flow_key key = egress_key(PROTO_TCP, SBX1, 40000, SERVER, 80);

	return must_find_reply_flow(PROTO_TCP, SERVER, 80, SHARED, 40000,
				    TEST_IFINDEX, &key);
}

static void verify_syn_flow(void)
{
	struct flow flow;

	/* Port preservation: the sandbox's own port was free. */
	assert_new_flow(PROTO_TCP, SBX1, 40000, SERVER, 80, SHARED, 40000);
	flow = syn_flow();
	ck_assert_uint_eq(flow.route, FLOW_ROUTE_SUBNET);
	ck_assert_uint_eq(flow.tcp_seen_out, FLOW_SEEN_SYN);
	assert_mac_learned(SBX1, mac_sbx1);
}

static void verify_flow_reused(void)
{
	struct flow flow = syn_flow();

	ck_assert_uint_eq(flow.packets_out, 2);
	ck_assert_uint_eq(flow.tcp_seen_out, FLOW_SEEN_SYN);
	ck_assert_uint_eq(flow.packets_in, 0);
}

static void verify_udp_flow(void)
{
	assert_new_flow(PROTO_UDP, SBX1, 40001, SERVER, 53, SHARED, 40001);
}

static void verify_udp_checksum_still_zero(const struct run *run)
{
	size_t csum = frame_l4_off(run->out) + UDP_CSUM_OFF;

	ck_assert_uint_eq(get_be16(run->out + csum), 0);
}

static void verify_udp_checksum_all_ones(const struct run *run)
{
	size_t csum = frame_l4_off(run->out) + UDP_CSUM_OFF;

	ck_assert_uint_eq(get_be16(run->out + csum), 0xffff);
}

static void verify_udp_flow_no_checksum(const struct run *run)
{
	assert_new_flow(PROTO_UDP, SBX1, 40003, SERVER, 53, SHARED, 40003);
	verify_udp_checksum_still_zero(run);
}

/* Takes 32 bits so that the upper bound stays a real comparison. */
static bool in_port_range(uint32_t port)
{
	return port >= PORT_LO && port <= PORT_HI;
}

static void verify_ping_flow(const struct run *run)
{
	uint16_t id = shared_port_of(PROTO_ICMP, SBX1, 7, 0);
	size_t id_off = frame_l4_off(run->out) + ICMP_ID_OFF;

	ck_assert_msg(in_port_range(id), "echo identifier 7 "
		      "mapped to %u, outside %u-%u", id, PORT_LO, PORT_HI);
	ck_assert_uint_eq(get_be16(run->out + id_off), id);
	assert_new_flow(PROTO_ICMP, SBX1, 7, SERVER, 0, SHARED, id);
}

static void verify_ping_id_kept(void)
{
	assert_new_flow(PROTO_ICMP, SBX1, 4660, SERVER, 0, SHARED, 4660);
}

static void verify_both_sandboxes_flows(void)
{
	uint16_t port = shared_port_of(PROTO_TCP, SBX2, 40000, 80);

	ck_assert_msg(port != 40000 && in_port_range(port),
		      "sandbox 2 got shared port %u: must differ from sandbox "
		      "1's 40000 and lie in %u-%u", port, PORT_LO, PORT_HI);
	assert_new_flow(PROTO_TCP, SBX1, 40000, SERVER, 80, SHARED, 40000);
	assert_new_flow(PROTO_TCP, SBX2, 40000, SERVER, 80, SHARED, port);
	ck_assert_uint_eq(count_flow_entries(), 2);
}

static void verify_second_shared_addr(void)
{
	assert_new_flow(PROTO_TCP, SBX1, 40000, SERVER, 80, SHARED, 2000);
	assert_new_flow(PROTO_TCP, SBX2, 40000, SERVER, 80, SHARED2, 2000);
}

static void verify_route_is_gateway(void)
{
	struct flow_key key = egress_key(PROTO_TCP, SBX1, 40000, OUTSIDE, 80);

	ck_assert_uint_eq(must_find_flow(&key, "flow").route,
			  FLOW_ROUTE_GATEWAY);
}

static void verify_route_is_subnet(void)
{
	struct flow_key key = egress_key(PROTO_TCP, SBX1, 40000, SERVER, 80);

	ck_assert_uint_eq(must_find_flow(&key, "flow").route,
			  FLOW_ROUTE_SUBNET);
}

static void verify_flow_on_attachment_2(void)
{
	struct flow_key key = egress_key(PROTO_TCP, SBX1, 40000,
					 SERVER_ON_SUBNET_2, 80);
	struct flow flow = must_find_flow(&key, "flow");

	ck_assert_uint_eq(flow.ifindex, OTHER_IFINDEX);
	ck_assert_uint_eq(ntohl(flow.nat_addr), SHARED_ON_SUBNET_2);
	ck_assert_uint_eq(flow.route, FLOW_ROUTE_SUBNET);
	must_find_reply_flow(PROTO_TCP, SERVER_ON_SUBNET_2, 80,
			     SHARED_ON_SUBNET_2, 40000, OTHER_IFINDEX, &key);
}

static void verify_flow_on_attachment_1(void)
{
	struct flow_key key = egress_key(PROTO_TCP, SBX1, 40000, SERVER, 80);

	ck_assert_uint_eq(must_find_flow(&key, "flow").ifindex, TEST_IFINDEX);
}

static void verify_static_mac_kept(void)
{
	assert_mac_learned(SBX1, mac_static);
}

static void verify_reply_counted(void)
{
	struct flow flow = syn_flow_of_reply();

	ck_assert_uint_eq(flow.packets_in, 1);
	ck_assert_uint_eq(flow.tcp_seen_in, FLOW_SEEN_SYN);
	ck_assert_uint_eq(flow.packets_out, 1);
}

/* A SYN each way: the flow is established (the long TCP timeout). */
static void verify_syn_ack_establishes(void)
{
	struct flow flow = syn_flow_of_reply();

	ck_assert_uint_eq(flow.packets_in, 1);
	ck_assert_uint_eq(flow.tcp_seen_in, FLOW_SEEN_SYN);
	ck_assert_uint_eq(flow_tcp_state(flow.tcp_seen_out, flow.tcp_seen_in),
			  TCP_STATE_ESTABLISHED);
}

/* XDP egress went past the flow without touching it: the one packet
 * on it is the SYN that made it. */
static void verify_packets_out_untouched(void)
{
	ck_assert_uint_eq(syn_flow().packets_out, 1);
}

static void verify_packets_out_counted(void)
{
	ck_assert_uint_eq(syn_flow().packets_out, 2);
}

static void verify_server_learned(void)
{
	struct neighbour_key key = { .ifindex = TEST_IFINDEX,
				     .addr = htonl(SERVER) };
	static const __u8 mac_customer[6] = MAC_CUSTOMER;
	static const __u8 mac_shared[6] = MAC_SHARED;
	struct neighbour_macs value;

	ck_assert_msg(!bpf_map_lookup_elem(bpf_map__fd(skel->maps.neighbours),
					   &key, &value),
		      "the server's ARP left no neighbour entry");
	ck_assert(!memcmp(value.mac, mac_customer, 6));
	ck_assert(!memcmp(value.device_mac, mac_shared, 6));
	ck_assert_uint_ne(value.learned_ns, 0);
}

static void verify_nothing_learned(void)
{
	struct neighbour_key next;

	ck_assert_msg(bpf_map_get_next_key(bpf_map__fd(skel->maps.neighbours),
					   NULL, &next),
		      "a neighbour entry appeared for %08x", next.addr);
}

/* XDP handed the packet to tc, or it was dropped: the flow must not
 * count it as seen. */
static void verify_reply_not_counted(void)
{
	struct flow flow = syn_flow();

	ck_assert_uint_eq(flow.packets_in, 0);
	ck_assert_uint_eq(flow.tcp_seen_in, 0);
}

/* The later fragments will follow the first one's translation. */
static void verify_first_fragment_remembered(void)
{
	int fd = bpf_map__fd(skel->maps.fragments);
	struct fragment_key key;
	struct fragment first;

	ck_assert_msg(bpf_map_get_next_key(fd, NULL, &key) == 0,
		      "the first fragment left nothing in map fragments");
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &first), 0);
	ck_assert_uint_eq(ntohl(key.src_addr), SBX1);
	ck_assert_uint_eq(key.direction, FLOW_EGRESS);
	ck_assert_uint_eq(ntohl(first.nat_addr), SHARED);
	ck_assert_uint_eq(first.ifindex, TEST_IFINDEX);
	ck_assert_uint_eq(count_entries(skel->maps.fragments), 1);
}

static void verify_no_flow_of_stranger(void)
{
	struct flow_key key = egress_key(PROTO_TCP, NOT_A_SANDBOX, 40000,
					 SERVER, 80);
	struct flow flow;

	ck_assert_msg(bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &key,
					  &flow) != 0,
		      "a spoofed source got a flow");
}

/* ---- the table ---- */

enum expected_output {
	OUT_SAME = 1,		/* the frame comes out as it went in */
	OUT_NAT,		/* the input with `nat` applied, TTL - 1 */
	OUT_FRAME,		/* exactly `out_frame` */
	OUT_ICMP_ERROR,		/* the NAT's own error `icmp` about the input */
};

/* The NAT's own ICMP error (OUT_ICMP_ERROR). */
struct own_error {
	uint8_t type;
	uint8_t code;
	uint32_t rest;		/* the header's last four bytes */
	uint32_t from;
};

/* To the sandbox from its gateway, and to a remote from the shared
 * address, the NAT being the router on the way. */
#define UNREACHABLE_FROM_GATEWAY(c)					\
	.verdict = TC_ACT_REDIRECT, .out = OUT_ICMP_ERROR,		\
	.icmp = { .type = ICMPT_DEST_UNREACH, .code = (c),		\
		  .from = SANDBOX_GATEWAY }
#define TIME_EXCEEDED_FROM(addr)					\
	.verdict = TC_ACT_REDIRECT, .out = OUT_ICMP_ERROR,		\
	.icmp = { .type = ICMPT_TIME_EXCEEDED, .from = (addr) }


struct bpf_case {
	const char *name;
	void (*prepare)(void);
	enum hook hook;
	const struct frame_spec *in;
	void (*fill_in)(struct frame_spec *in);
	int verdict;
	enum expected_output out;
	struct rewrite nat;
	const struct frame_spec *out_frame;
	struct own_error icmp;
	void (*fill_out)(struct rewrite *nat);
	__u64 counted;		/* counters that step by one; others stay */
	int new_flow_entries;
	void (*verify)(void);
	void (*verify_run)(const struct run *run);
};

#define TO_SANDBOX_1 .dst_addr = SBX1, .dst_mac = MAC_SBX1, .src_mac = MAC_HOST

static const struct bpf_case bpf_cases[] = {
	/* Egress: translation. */
	{ "egress TCP SYN: source becomes 10.0.1.5, port 40000 preserved",
	  .hook = EGRESS, .in = &syn_s1, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_syn_flow },
	{ "egress TCP: the flow's next segment reuses it",
	  .prepare = with_syn_flow, .hook = EGRESS, .in = &ack_s1,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED),
	  .verify = verify_flow_reused },
	{ "egress UDP with payload and checksum",
	  .hook = EGRESS, .in = &udp_s1, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_udp_flow },
	{ "egress UDP with checksum 0: stays 0",
	  .hook = EGRESS, .in = &udp_s1_no_checksum,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify_run = verify_udp_flow_no_checksum },
	{ "egress UDP whose new checksum computes to 0: sent as 0xffff",
	  .hook = EGRESS, .in = &udp_s1_sums_to_zero,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify_run = verify_udp_checksum_all_ones },
	{ "egress ICMP echo: identifier 7 mapped into the port range",
	  .hook = EGRESS, .in = &ping_s1, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { .src_addr = SHARED },
	  .fill_out = expect_allocated_echo_id,
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify_run = verify_ping_flow },
	{ "egress ICMP echo: identifier in the port range is kept",
	  .hook = EGRESS, .in = &ping_s1_id_in_range,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_ping_id_kept },
	{ "egress: a second sandbox with the same port gets another port",
	  .prepare = with_sandbox_2_and_syn_flow, .hook = EGRESS,
	  .in = &syn_s2, .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED }, .fill_out = expect_sandbox_2_port,
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_both_sandboxes_flows },
	{ "egress: first shared address full, the second one is used",
	  .prepare = with_only_port_taken_on_first_addr, .hook = EGRESS,
	  .in = &syn_s2, .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED2, .src_port = 2000 },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_second_shared_addr },
	{ "egress: no free shared port -> drop_no_port, unreachable 13",
	  .prepare = with_only_port_taken, .hook = EGRESS, .in = &syn_s2,
	  UNREACHABLE_FROM_GATEWAY(13),
	  .counted = COUNTED(DROP_NO_PORT) | COUNTED(ICMP_ERROR_SENT) },
	{ "egress TCP with IP options",
	  .hook = EGRESS, .in = &syn_s1_ip_options,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1 },
	{ "egress: a static MAC is not learned over",
	  .prepare = with_static_mac, .hook = EGRESS, .in = &syn_s1,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_static_mac_kept },

	/* Egress: routing. */
	{ "egress: outside every subnet, no gateway -> net unreachable",
	  .hook = EGRESS, .in = &syn_s1_outside, UNREACHABLE_FROM_GATEWAY(0),
	  .counted = COUNTED(DROP_NO_ROUTE) | COUNTED(ICMP_ERROR_SENT) },
	{ "egress: outside every subnet, via the attachment's gateway",
	  .prepare = with_customer_gateway, .hook = EGRESS,
	  .in = &syn_s1_outside, .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_route_is_gateway },
	{ "egress: in the subnet, direct even with a gateway",
	  .prepare = with_customer_gateway, .hook = EGRESS, .in = &syn_s1,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_route_is_subnet },
	{ "egress: two subnets, the destination's picks attachment 2",
	  .prepare = with_two_subnets, .hook = EGRESS,
	  .in = &syn_s1_to_subnet_2, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { .src_addr = SHARED_ON_SUBNET_2 },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_flow_on_attachment_2 },
	{ "egress: two subnets, the destination's picks attachment 1",
	  .prepare = with_two_subnets, .hook = EGRESS, .in = &syn_s1,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_flow_on_attachment_1 },
	{ "egress: the sandbox's function is gone -> net unreachable",
	  .prepare = without_function, .hook = EGRESS, .in = &syn_s1,
	  UNREACHABLE_FROM_GATEWAY(0),
	  .counted = COUNTED(DROP_NO_ROUTE) | COUNTED(ICMP_ERROR_SENT) },
	{ "egress: TTL 1 -> time exceeded from the gateway",
	  .hook = EGRESS, .in = &syn_s1_ttl1,
	  TIME_EXCEEDED_FROM(SANDBOX_GATEWAY),
	  .counted = COUNTED(DROP_TTL_EXCEEDED) | COUNTED(ICMP_ERROR_SENT) },
	{ "egress: DF and larger than the shared device -> frag needed",
	  .prepare = with_syn_flow, .hook = EGRESS, .in = &big_df_s1,
	  .fill_in = fill_big, UNREACHABLE_FROM_GATEWAY(4),
	  .icmp.rest = TEST_MTU,
	  .counted = COUNTED(DROP_TOO_BIG) | COUNTED(ICMP_ERROR_SENT) },
	{ "egress: no DF, too big, checksum left to the NIC -> drop_too_big",
	  .prepare = with_syn_flow, .hook = EGRESS, .in = &big_s1,
	  .fill_in = fill_big, .verdict = TC_ACT_SHOT, .out = OUT_SAME,
	  .counted = COUNTED(DROP_TOO_BIG) },
	{ "ingress: DF and larger than the sandbox's device -> frag needed",
	  .prepare = with_syn_flow, .hook = INGRESS, .in = &big_df_to_shared,
	  .fill_in = fill_big, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_ICMP_ERROR,
	  .icmp = { .type = ICMPT_DEST_UNREACH, .code = 4, .rest = TEST_MTU,
		    .from = SHARED },
	  .counted = COUNTED(DROP_TOO_BIG) | COUNTED(ICMP_ERROR_SENT) },
	{ "XDP ingress: larger than the sandbox's device -> to tc",
	  .prepare = tap_with_syn_flow, .hook = XDP_INGRESS,
	  .in = &big_df_to_shared, .fill_in = fill_big, .verdict = XDP_PASS,
	  .out = OUT_SAME, .counted = COUNTED(INGRESS_XDP_TO_TC) },

	/* Egress: anti-spoofing and what is not the NAT's. */
	{ "egress: source 100.64.0.9 is no sandbox -> drop_spoofed_source",
	  .hook = EGRESS, .in = &syn_spoofed, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_SPOOFED_SOURCE),
	  .verify = verify_no_flow_of_stranger },
	{ "egress: sandbox address of another device -> drop_spoofed_source",
	  .prepare = with_sandbox_1_on_other_device, .hook = EGRESS,
	  .in = &syn_s1, .verdict = TC_ACT_SHOT, .out = OUT_SAME,
	  .counted = COUNTED(DROP_SPOOFED_SOURCE) },
	{ "egress: TCP header cut to 10 bytes -> drop_malformed",
	  .hook = EGRESS, .in = &tcp_cut_s1, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_MALFORMED) },
	{ "egress: IP total length past the frame -> drop_malformed",
	  .hook = EGRESS, .in = &ip_longer_than_frame_s1,
	  .verdict = TC_ACT_SHOT, .out = OUT_SAME,
	  .counted = COUNTED(DROP_MALFORMED) },
	{ "egress: IP version 6 under the IPv4 ethertype -> drop_malformed",
	  .hook = EGRESS, .in = &ip_version_6_s1, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_MALFORMED) },
	{ "egress: IPv6 ethertype -> drop_not_ipv4",
	  .hook = EGRESS, .in = &ipv6_s1, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_NOT_IPV4) },
	{ "egress: a first fragment is translated like a whole datagram",
	  .hook = EGRESS, .in = &first_fragment_s1,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED, .ip_id = 1 },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1, .verify = verify_first_fragment_remembered },
	{ "egress: DF clear -> the NAT's own IP id",
	  .hook = EGRESS, .in = &udp_may_fragment_s1,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED, .ip_id = 1 },
	  .counted = COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED),
	  .new_flow_entries = 1 },
	{ "egress: GRE -> drop_unsupported",
	  .hook = EGRESS, .in = &gre_s1, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSUPPORTED) },
	{ "egress: an echo reply starts no flow -> drop_unsupported",
	  .hook = EGRESS, .in = &echo_reply_from_s1, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSUPPORTED) },
	{ "egress: ICMP unreachable quoting no IPv4 header -> drop_malformed",
	  .hook = EGRESS, .in = &unreachable_from_s1,
	  .verdict = TC_ACT_SHOT, .out = OUT_SAME,
	  .counted = COUNTED(DROP_MALFORMED) },

	/* Egress: the gateway's ARP. */
	{ "egress ARP: who-has 169.254.1.1 answered with the host MAC",
	  .hook = EGRESS, .in = &arp_who_has_gateway,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_FRAME,
	  .out_frame = &arp_gateway_is_at_host,
	  .counted = COUNTED(ARP_REPLIED) },
	{ "egress ARP: who-has another address -> drop_unsupported",
	  .hook = EGRESS, .in = &arp_who_has_other, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSUPPORTED) },
	{ "egress ARP: sender is no sandbox -> drop_spoofed_source",
	  .hook = EGRESS, .in = &arp_from_stranger, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_SPOOFED_SOURCE) },
	{ "egress ARP: a reply -> drop_unsupported",
	  .hook = EGRESS, .in = &arp_reply_from_s1, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSUPPORTED) },

	/* Ingress: reverse NAT. */
	{ "ingress TCP SYN-ACK: to 100.64.0.1:40000, sandbox MACs",
	  .prepare = with_syn_flow, .hook = INGRESS,
	  .in = &synack_from_server, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED),
	  .verify = verify_syn_ack_establishes },
	{ "ingress UDP reply",
	  .prepare = with_udp_flow, .hook = INGRESS,
	  .in = &udp_reply_from_server, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED) },
	{ "ingress UDP reply with checksum 0: stays 0",
	  .prepare = with_udp_flow_no_checksum, .hook = INGRESS,
	  .in = &udp_reply_no_checksum, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED),
	  .verify_run = verify_udp_checksum_still_zero },
	{ "ingress UDP reply whose new checksum computes to 0: 0xffff",
	  .prepare = with_udp_flow, .hook = INGRESS,
	  .in = &udp_reply_sums_to_zero, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED),
	  .verify_run = verify_udp_checksum_all_ones },
	{ "ingress ICMP echo reply: identifier mapped back to 7",
	  .prepare = with_ping_flow, .hook = INGRESS,
	  .in = &echo_reply_from_server,
	  .fill_in = reply_to_allocated_echo_id, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1, .icmp_id = 7 },
	  .counted = COUNTED(INGRESS_TRANSLATED) },
	{ "ingress: the second sandbox's shared port reaches sandbox 2",
	  .prepare = with_both_sandboxes_flows, .hook = INGRESS,
	  .in = &synack_from_server, .fill_in = reply_to_sandbox_2_port,
	  .verdict = TC_ACT_REDIRECT, .out = OUT_NAT,
	  .nat = { .dst_addr = SBX2, .dst_port = 40000, .dst_mac = MAC_SBX2,
		   .src_mac = MAC_HOST },
	  .counted = COUNTED(INGRESS_TRANSLATED) },
	{ "ingress: delivered to the static MAC",
	  .prepare = with_static_mac_and_syn_flow, .hook = INGRESS,
	  .in = &synack_from_server, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT,
	  .nat = { .dst_addr = SBX1, .dst_mac = MAC_STATIC,
		   .src_mac = MAC_HOST },
	  .counted = COUNTED(INGRESS_TRANSLATED) },

	/* Ingress: what is not a flow's goes to the host, untouched. */
	{ "ingress: no flow -> host stack, ingress_not_ours",
	  .hook = INGRESS, .in = &synack_from_server, .verdict = TC_ACT_OK,
	  .out = OUT_SAME, .counted = COUNTED(INGRESS_NOT_OURS) },
	{ "ingress: right server, wrong source port -> not translated",
	  .prepare = with_syn_flow, .hook = INGRESS,
	  .in = &synack_from_wrong_port, .verdict = TC_ACT_OK,
	  .out = OUT_SAME, .counted = COUNTED(INGRESS_NOT_OURS) },
	{ "ingress: another server, right ports -> not translated",
	  .prepare = with_syn_flow, .hook = INGRESS,
	  .in = &synack_from_other_server, .verdict = TC_ACT_OK,
	  .out = OUT_SAME, .counted = COUNTED(INGRESS_NOT_OURS) },
	{ "ingress: the flow is another attachment's -> not translated",
	  .prepare = with_flow_on_other_attachment, .hook = INGRESS,
	  .in = &synack_from_server, .verdict = TC_ACT_OK, .out = OUT_SAME,
	  .counted = COUNTED(INGRESS_NOT_OURS) },
	{ "ingress: TCP header cut to 10 bytes -> passed untouched",
	  .hook = INGRESS, .in = &tcp_cut_from_server,
	  .verdict = TC_ACT_OK, .out = OUT_SAME },
	{ "ingress: IPv6 -> passed untouched",
	  .hook = INGRESS, .in = &ipv6_from_server, .verdict = TC_ACT_OK,
	  .out = OUT_SAME },
	{ "ingress: ARP -> passed untouched",
	  .hook = INGRESS, .in = &arp_from_server, .verdict = TC_ACT_OK,
	  .out = OUT_SAME },

	/* Ingress: drops. */
	{ "ingress: the flow's sandbox is gone -> drop_stale_flow",
	  .prepare = with_syn_flow_then_sandbox_gone, .hook = INGRESS,
	  .in = &synack_from_server, .verdict = TC_ACT_SHOT, .out = OUT_SAME,
	  .counted = COUNTED(DROP_STALE_FLOW) },
	{ "ingress: the flow's sandbox is now on another device -> "
	  "drop_stale_flow",
	  .prepare = with_syn_flow_then_sandbox_moved, .hook = INGRESS,
	  .in = &synack_from_server, .verdict = TC_ACT_SHOT, .out = OUT_SAME,
	  .counted = COUNTED(DROP_STALE_FLOW),
	  .verify = verify_reply_not_counted },

	/* Ingress: address-and-port-dependent filtering, to an address
	 * sharenat added: what reaches no flow is dropped and counted. */
	{ "ingress: another server to the flow's port -> drop_unsolicited",
	  .prepare = with_syn_flow_on_added_addr, .hook = INGRESS,
	  .in = &synack_from_other_server, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSOLICITED),
	  .verify = verify_reply_not_counted },
	{ "ingress: right server, wrong source port -> drop_unsolicited",
	  .prepare = with_syn_flow_on_added_addr, .hook = INGRESS,
	  .in = &synack_from_wrong_port, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSOLICITED),
	  .verify = verify_reply_not_counted },
	{ "ingress, dependent mapping: another server to the flow's port -> "
	  "drop_unsolicited",
	  .prepare = with_dependent_syn_flow_on_added_addr, .hook = INGRESS,
	  .in = &synack_from_other_server, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSOLICITED),
	  .verify = verify_reply_not_counted },
	{ "ingress, dependent mapping: the server's reply -> through its "
	  "reply key to sandbox 1",
	  .prepare = with_dependent_syn_flow_on_added_addr, .hook = INGRESS,
	  .in = &synack_from_server, .verdict = TC_ACT_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED),
	  .verify = verify_syn_ack_establishes },

	/* Ingress: the way back outlives its flow, or names a flow that went
	 * out by another port; nothing reaches a sandbox by it. */
	{ "ingress: the port's owner has no flow left -> drop_unsolicited",
	  .prepare = with_port_owner_without_flow, .hook = INGRESS,
	  .in = &synack_from_server, .verdict = TC_ACT_SHOT, .out = OUT_SAME,
	  .counted = COUNTED(DROP_UNSOLICITED) },
	{ "ingress: a reply key whose flow is gone -> drop_unsolicited",
	  .prepare = with_reply_key_without_flow, .hook = INGRESS,
	  .in = &synack_from_server, .verdict = TC_ACT_SHOT, .out = OUT_SAME,
	  .counted = COUNTED(DROP_UNSOLICITED) },
	{ "ingress: the port's owner's flow went out by another port -> "
	  "drop_unsolicited",
	  .prepare = with_port_owner_whose_flow_is_elsewhere, .hook = INGRESS,
	  .in = &synack_to_other_port, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSOLICITED),
	  .verify = verify_reply_not_counted },
	{ "ingress: a reply key whose flow went out by another port -> "
	  "drop_unsolicited",
	  .prepare = with_reply_key_whose_flow_is_elsewhere, .hook = INGRESS,
	  .in = &synack_to_other_port, .verdict = TC_ACT_SHOT,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSOLICITED),
	  .verify = verify_reply_not_counted },
	{ "ingress: TTL 1 -> time exceeded from the shared address",
	  .prepare = with_syn_flow, .hook = INGRESS,
	  .in = &synack_from_server_ttl1, TIME_EXCEEDED_FROM(SHARED),
	  .counted = COUNTED(DROP_TTL_EXCEEDED) | COUNTED(ICMP_ERROR_SENT) },

	/* XDP ingress: the same NAT with its own checksum arithmetic, for
	 * sandboxes that take XDP frames; the rest it leaves to tc. */
	{ "XDP ingress TCP SYN-ACK to a tap sandbox: translated",
	  .prepare = tap_with_syn_flow, .hook = XDP_INGRESS,
	  .in = &synack_from_server, .verdict = XDP_REDIRECT, .out = OUT_NAT,
	  .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED) |
		     COUNTED(INGRESS_XDP_FAST_PATH),
	  .verify = verify_reply_counted },
	{ "XDP ingress UDP reply",
	  .prepare = tap_with_udp_flow, .hook = XDP_INGRESS,
	  .in = &udp_reply_from_server, .verdict = XDP_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED) |
		     COUNTED(INGRESS_XDP_FAST_PATH) },
	{ "XDP ingress UDP reply with checksum 0: stays 0",
	  .prepare = tap_with_udp_flow_no_checksum, .hook = XDP_INGRESS,
	  .in = &udp_reply_no_checksum, .verdict = XDP_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED) |
		     COUNTED(INGRESS_XDP_FAST_PATH),
	  .verify_run = verify_udp_checksum_still_zero },
	{ "XDP ingress UDP reply whose new checksum computes to 0: 0xffff",
	  .prepare = tap_with_udp_flow, .hook = XDP_INGRESS,
	  .in = &udp_reply_sums_to_zero, .verdict = XDP_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1 },
	  .counted = COUNTED(INGRESS_TRANSLATED) |
		     COUNTED(INGRESS_XDP_FAST_PATH),
	  .verify_run = verify_udp_checksum_all_ones },
	{ "XDP ingress ICMP echo reply: identifier mapped back to 7",
	  .prepare = tap_with_ping_flow, .hook = XDP_INGRESS,
	  .in = &echo_reply_from_server,
	  .fill_in = reply_to_allocated_echo_id, .verdict = XDP_REDIRECT,
	  .out = OUT_NAT, .nat = { TO_SANDBOX_1, .icmp_id = 7 },
	  .counted = COUNTED(INGRESS_TRANSLATED) |
		     COUNTED(INGRESS_XDP_FAST_PATH) },
	{ "XDP ingress: veth sandbox -> XDP_PASS to tc, untouched",
	  .prepare = with_syn_flow, .hook = XDP_INGRESS,
	  .in = &synack_from_server, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(INGRESS_XDP_TO_TC),
	  .verify = verify_reply_not_counted },
	{ "XDP ingress: checksum seed (offload) -> XDP_PASS to tc",
	  .prepare = tap_with_udp_flow, .hook = XDP_INGRESS,
	  .in = &udp_reply_seed_only, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(INGRESS_XDP_TO_TC) },
	{ "XDP ingress: no flow -> XDP_PASS, ingress_not_ours",
	  .prepare = with_tap_sandbox, .hook = XDP_INGRESS,
	  .in = &synack_from_server, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(INGRESS_NOT_OURS) },
	{ "XDP ingress: Ethernet + 10 bytes of IP -> XDP_PASS untouched",
	  .prepare = tap_with_syn_flow, .hook = XDP_INGRESS,
	  .in = &ip_cut_from_server, .verdict = XDP_PASS, .out = OUT_SAME },
	{ "XDP ingress: ARP -> XDP_PASS untouched, its sender learned",
	  .hook = XDP_INGRESS, .in = &arp_from_server, .verdict = XDP_PASS,
	  .out = OUT_SAME, .counted = COUNTED(NEIGHBOUR_LEARNED),
	  .verify = verify_server_learned },
	{ "XDP ingress: ARP from off the subnet -> passed, not learned",
	  .hook = XDP_INGRESS, .in = &arp_from_outside, .verdict = XDP_PASS,
	  .out = OUT_SAME, .verify = verify_nothing_learned },
	{ "tc ingress: ARP -> to the host, not learned (only XDP egress "
	  "needs it)",
	  .hook = INGRESS, .in = &arp_from_server, .verdict = TC_ACT_OK,
	  .out = OUT_SAME, .verify = verify_nothing_learned },
	{ "XDP ingress: the flow's sandbox is now on another device -> "
	  "drop_stale_flow",
	  .prepare = with_syn_flow_then_sandbox_moved, .hook = XDP_INGRESS,
	  .in = &synack_from_server, .verdict = XDP_DROP, .out = OUT_SAME,
	  .counted = COUNTED(DROP_STALE_FLOW),
	  .verify = verify_reply_not_counted },
	{ "XDP ingress: another server to the flow's port -> "
	  "drop_unsolicited",
	  .prepare = with_syn_flow_on_added_addr, .hook = XDP_INGRESS,
	  .in = &synack_from_other_server, .verdict = XDP_DROP,
	  .out = OUT_SAME, .counted = COUNTED(DROP_UNSOLICITED),
	  .verify = verify_reply_not_counted },
	{ "XDP ingress: TTL 1 -> to tc, which answers it",
	  .prepare = tap_with_syn_flow, .hook = XDP_INGRESS,
	  .in = &synack_from_server_ttl1, .verdict = XDP_PASS,
	  .out = OUT_SAME, .counted = COUNTED(INGRESS_XDP_TO_TC) },

	/* XDP egress: established flows only, MACs from the neighbours. */
	{ "XDP egress TCP: source 10.0.1.5, MACs of the server and the "
	  "shared device",
	  .prepare = xdp_egress_with_syn_flow, .hook = XDP_EGRESS,
	  .in = &ack_s1, .verdict = XDP_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED, .dst_mac = MAC_CUSTOMER,
		   .src_mac = MAC_SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) |
		     COUNTED(EGRESS_XDP_FAST_PATH),
	  .verify = verify_packets_out_counted },
	{ "XDP egress UDP with payload and checksum",
	  .prepare = xdp_egress_with_udp_flow, .hook = XDP_EGRESS,
	  .in = &udp_s1, .verdict = XDP_REDIRECT, .out = OUT_NAT,
	  .nat = { .src_addr = SHARED, .dst_mac = MAC_CUSTOMER,
		   .src_mac = MAC_SHARED },
	  .counted = COUNTED(EGRESS_TRANSLATED) |
		     COUNTED(EGRESS_XDP_FAST_PATH) },
	{ "XDP egress: a new flow -> to tc, which makes it",
	  .prepare = xdp_egress_ready, .hook = XDP_EGRESS, .in = &syn_s1,
	  .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(EGRESS_XDP_TO_TC) },
	{ "XDP egress: DF clear (an IP id to give) -> to tc",
	  .prepare = xdp_egress_with_udp_flow, .hook = XDP_EGRESS,
	  .in = &udp_may_fragment_s1, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(EGRESS_XDP_TO_TC) },
	{ "XDP egress: TTL 1 -> to tc, which answers it",
	  .prepare = xdp_egress_with_syn_flow, .hook = XDP_EGRESS,
	  .in = &ack_s1_ttl1, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(EGRESS_XDP_TO_TC),
	  .verify = verify_packets_out_untouched },
	{ "XDP egress UDP, checksum seed (offload): finished, translated",
	  .prepare = xdp_egress_with_udp_flow, .hook = XDP_EGRESS,
	  .in = &udp_s1_seed_only, .verdict = XDP_REDIRECT,
	  .out = OUT_FRAME, .out_frame = &udp_s1_seed_finished,
	  .counted = COUNTED(EGRESS_TRANSLATED) |
		     COUNTED(EGRESS_XDP_FAST_PATH) },
	{ "XDP egress TCP, checksum seed, odd length: finished, translated",
	  .prepare = xdp_egress_with_syn_flow, .hook = XDP_EGRESS,
	  .in = &ack_s1_seed_only, .verdict = XDP_REDIRECT,
	  .out = OUT_FRAME, .out_frame = &ack_s1_seed_finished,
	  .counted = COUNTED(EGRESS_TRANSLATED) |
		     COUNTED(EGRESS_XDP_FAST_PATH) },
	{ "XDP egress: next hop not heard from lately -> to tc",
	  .prepare = xdp_egress_stale_neighbour, .hook = XDP_EGRESS,
	  .in = &ack_s1, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(EGRESS_XDP_TO_TC),
	  .verify = verify_packets_out_untouched },
	{ "XDP egress: shared device not in the devmap -> to tc",
	  .prepare = xdp_egress_shared_not_in_devmap, .hook = XDP_EGRESS,
	  .in = &ack_s1, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(EGRESS_XDP_TO_TC),
	  .verify = verify_packets_out_untouched },
	{ "XDP egress: next hop never heard from -> to tc",
	  .prepare = xdp_egress_no_neighbour, .hook = XDP_EGRESS,
	  .in = &ack_s1, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(EGRESS_XDP_TO_TC),
	  .verify = verify_packets_out_untouched },
	{ "XDP egress: spoofed source -> to tc, which drops it",
	  .prepare = xdp_egress_ready, .hook = XDP_EGRESS,
	  .in = &syn_spoofed, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(EGRESS_XDP_TO_TC) },
	{ "XDP egress: ARP for the gateway -> to tc, which answers it",
	  .prepare = xdp_egress_ready, .hook = XDP_EGRESS,
	  .in = &arp_who_has_gateway, .verdict = XDP_PASS, .out = OUT_SAME,
	  .counted = COUNTED(EGRESS_XDP_TO_TC) },
};

/* ---- the runner ---- */

static bool mac_is_zero(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, sizeof(zero)) == 0;
}

/* The input with the NAT's changes, built from scratch (so with freshly
 * computed checksums) and TTL one lower. */
static struct frame_spec translated(const struct frame_spec *in,
				    const struct rewrite *nat)
{
	struct frame_spec out = *in;

	if (nat->src_addr)
		out.src_addr = nat->src_addr;
	if (nat->dst_addr)
		out.dst_addr = nat->dst_addr;
	if (nat->src_port)
		out.src_port = nat->src_port;
	if (nat->dst_port)
		out.dst_port = nat->dst_port;
	if (nat->icmp_id)
		out.icmp_id = nat->icmp_id;
	if (nat->ip_id)
		out.ip_id = nat->ip_id;
	if (!mac_is_zero(nat->dst_mac))
		memcpy(out.dst_mac, nat->dst_mac, 6);
	if (!mac_is_zero(nat->src_mac))
		memcpy(out.src_mac, nat->src_mac, 6);
	out.ttl = (uint8_t)((in->ttl ? in->ttl : 64) - 1);
	return out;
}

static size_t expected_frame(const struct bpf_case *c,
			     const struct frame_spec *in,
			     const struct rewrite *nat, uint8_t *buf)
{
	struct frame_spec out;

	switch (c->out) {
	case OUT_NAT:
		out = translated(in, nat);
		return frame_build(&out, buf, FRAME_MAX);
	case OUT_FRAME:
		return frame_build(c->out_frame, buf, FRAME_MAX);
	default:
		return frame_build(in, buf, FRAME_MAX);
	}
}

/* Well-formed IPv4 in, so the output's checksums must hold. */
static bool has_checksums(const struct frame_spec *in)
{
	return in->kind == FRAME_IPV4 && !in->truncate_to &&
	       !in->tot_len_error && !in->version && !in->l4_checksum_seed;
}

/*
 * The frame again, as a CHECKSUM_COMPLETE skb (what a NIC that sums every
 * packet hands up). The kernel then fails the run with EBADMSG if the
 * program left skb->csum out of step with the bytes, which is what an L4
 * checksum update without BPF_F_PSEUDO_HDR does; in a plain test run
 * (CHECKSUM_NONE) that flag changes no byte. The state the first run left
 * (a flow it made) gives the same verdict and bytes again.
 */
static void assert_same_as_checksum_complete(const struct bpf_case *c,
					     const struct frame_spec *in,
					     const struct run *first)
{
	struct run again;
	int err;

	restart_ip_ids();
	err = try_run(c->hook, in, BPF_F_TEST_SKB_CHECKSUM_COMPLETE, &again);
	ck_assert_msg(err != -EBADMSG, "%s: as CHECKSUM_COMPLETE, skb->csum "
		      "no longer matches the packet (EBADMSG)", c->name);
	ck_assert_msg(!err, "%s: BPF_PROG_TEST_RUN with "
		      "BPF_F_TEST_SKB_CHECKSUM_COMPLETE failed: %s (the "
		      "kernel needs that flag, Linux 6.15 or later)", c->name,
		      strerror(-err));
	ck_assert_msg(again.verdict == first->verdict, "%s: as "
		      "CHECKSUM_COMPLETE, verdict %d, was %d", c->name,
		      again.verdict, first->verdict);
	assert_frame_is(c->name, &again, first->out, first->out_len);
}

START_TEST(test_bpf_case)
{
	const struct bpf_case *c = &bpf_cases[_i];
	struct frame_spec in = *c->in;
	struct rewrite nat = c->nat;
	__u64 counters_before[COUNTER_MAX];
	unsigned int flows_before;
	uint8_t want[FRAME_MAX];
	size_t want_len;
	const char *why;
	struct run run;

	if (c->prepare)
		c->prepare();
	if (c->fill_in)
		c->fill_in(&in);
	read_counters(counters_before);
	flows_before = count_flow_entries();

	restart_ip_ids();
	run_frame(c->hook, &in, &run);

	ck_assert_msg(run.verdict == c->verdict, "%s: verdict %s (%d), want "
		      "%s (%d)", c->name, verdict_name(c->hook, run.verdict),
		      run.verdict, verdict_name(c->hook, c->verdict),
		      c->verdict);
	if (c->fill_out)
		c->fill_out(&nat);
	if (c->out == OUT_ICMP_ERROR) {
		assert_icmp_error_about(c->name, &run, c->icmp.type,
					c->icmp.code, c->icmp.rest,
					c->icmp.from);
	} else {
		want_len = expected_frame(c, &in, &nat, want);
		assert_frame_is(c->name, &run, want, want_len);
	}
	if (has_checksums(&in)) {
		why = frame_checksum_error(run.out, run.out_len);
		ck_assert_msg(why == NULL, "%s: %s", c->name, why);
	}
	assert_counter_steps(c->name, counters_before, c->counted);
	ck_assert_msg((int)count_flow_entries() - (int)flows_before ==
		      c->new_flow_entries, "%s: %u flow entries, want %d more "
		      "than %u", c->name, count_flow_entries(),
		      c->new_flow_entries, flows_before);
	if (c->verify)
		c->verify();
	if (c->verify_run)
		c->verify_run(&run);
	/* IPv4 only: the ARP answer rewrites the ARP body without
	 * BPF_F_RECOMPUTE_CSUM, which leaves a CHECKSUM_COMPLETE skb->csum
	 * stale, but ARP has no checksum and the reply is transmitted,
	 * where skb->csum is not checked. Nor an ICMP error cut shorter
	 * than the packet: bpf_skb_change_tail's cut makes the skb
	 * CHECKSUM_NONE (its receiver sums it), which a test run reports as
	 * EBADMSG. */
	if (c->hook != XDP_INGRESS && c->hook != XDP_EGRESS &&
	    c->in->kind == FRAME_IPV4 &&
	    !(c->out == OUT_ICMP_ERROR &&
	      run.in_len > (size_t)IP_OFF + IP_MIN_LEN + in.options_len + 20))
		assert_same_as_checksum_complete(c, &in, &run);
}
END_TEST

/* The fixture itself: the base configuration is in the maps, and a test
 * run really reports the program's verdict (a spoofed frame is dropped),
 * so a table case cannot pass on a program that never ran. */
START_TEST(test_fixture_is_loaded)
{
	struct sandbox sbx = must_find_sandbox(SBX1);
	__u64 counters[COUNTER_MAX];
	struct run run;
	__u32 i;

	ck_assert_str_eq(sbx.id, "s1");
	ck_assert_uint_eq(sbx.ifindex, TEST_IFINDEX);
	ck_assert_uint_eq(count_flow_entries(), 0);
	read_counters(counters);
	for (i = 0; i < COUNTER_MAX; i++)
		ck_assert_msg(counters[i] == 0, "counter %s starts at %llu",
			      sharenat_counter_name(i),
			      (unsigned long long)counters[i]);
	run_frame(EGRESS, &syn_spoofed, &run);
	ck_assert_int_eq(run.verdict, TC_ACT_SHOT);
	run_frame(EGRESS, &syn_s1, &run);
	ck_assert_int_eq(run.verdict, TC_ACT_REDIRECT);
	ck_assert_int_ne(memcmp(run.in, run.out, run.in_len), 0);
}
END_TEST

/*
 * A full table refuses a new flow with a counted drop and leaves nothing
 * of it behind. The map named has room for one entry, which sandbox 1's
 * flow takes, so sandbox 2's new flow fails where it writes that map and
 * must take out again what it wrote before: its mapping and port (flows
 * full, endpoint-independent), its reply key (flows full, dependent), its
 * port (mappings full); replies full fails before anything is written.
 * With the expiry queue full (room for sandbox 1's ticket and the
 * sweeper's headroom), the flow is made and taken out again with all it
 * made, its port not held (no packet went out by it), and not counted as
 * created.
 */
static const struct full_case {
	const char *name;
	const char *one_entry_map;
	enum mapping_behaviour mapping;
	__u64 expiry_queue_room;
} full_cases[] = {
	{ "flows full, independent", "flows", MAPPING_INDEPENDENT, 0 },
	{ "flows full, dependent", "flows", MAPPING_DEPENDENT, 0 },
	{ "mappings full", "mappings", MAPPING_INDEPENDENT, 0 },
	{ "replies full", "replies", MAPPING_DEPENDENT, 0 },
	{ "expiry queue full, independent", NULL, MAPPING_INDEPENDENT,
	  SHARENAT_EXPIRY_QUEUE_HEADROOM + 1 },
	{ "expiry queue full, dependent", NULL, MAPPING_DEPENDENT,
	  SHARENAT_EXPIRY_QUEUE_HEADROOM + 1 },
};

START_TEST(test_table_full)
{
	const struct full_case *c = &full_cases[_i];

	sized_map = c->one_entry_map;
	sized_map_entries = 1;
	expiry_queue_room_for_test = c->expiry_queue_room;
	load_programs();
	set_mapping(c->mapping);
	with_syn_flow();
	add_sandbox_2();
	assert_refused(&syn_s2, COUNTED(DROP_FLOW_TABLE_FULL), c->name);
	/* The survivor is sandbox 1's whole flow. */
	assert_new_flow(PROTO_TCP, SBX1, 40000, SERVER, 80, SHARED, 40000);
}
END_TEST

/*
 * XDP egress against what it stands in for: random segments of three
 * established flows (TCP, UDP, ICMP echo; payloads of 0 to 1200 bytes,
 * half of the TCP and UDP ones with the checksum left to the NIC) must
 * come out redirected as the translation built from scratch, with the
 * MACs of the neighbour table and every checksum whole: byte for byte.
 */
#define XDP_EGRESS_FRAMES 600

START_TEST(test_xdp_egress_random_segments)
{
	static char payload[1201];
	uint16_t echo_id;
	unsigned int i, seed = 1;

	xdp_egress_with_syn_flow();
	with_udp_flow();
	with_ping_flow();
	echo_id = shared_port_of(PROTO_ICMP, SBX1, 7, 0);
	for (i = 0; i < XDP_EGRESS_FRAMES; i++) {
		struct frame_spec in, out;
		uint8_t want[FRAME_MAX];
		unsigned int len, k;
		size_t want_len;
		struct run run;

		len = (unsigned int)rand_r(&seed) % (sizeof(payload));
		for (k = 0; k < len; k++)
			payload[k] = (char)(' ' + rand_r(&seed) % 95);
		payload[len] = 0;
		switch (i % 3) {
		case 0:
			in = ack_s1;
			break;
		case 1:
			in = udp_s1;
			break;
		default:
			in = ping_s1;
			break;
		}
		in.payload = payload;
		in.l4_checksum_seed = i % 3 != 2 && rand_r(&seed) % 2;
		out = in;
		out.l4_checksum_seed = false;
		out.src_addr = SHARED;
		out.ttl = 63;
		memcpy(out.src_mac, (uint8_t[])MAC_SHARED, 6);
		memcpy(out.dst_mac, (uint8_t[])MAC_CUSTOMER, 6);
		if (i % 3 == 2)
			out.icmp_id = echo_id;
		run_frame(XDP_EGRESS, &in, &run);
		ck_assert_msg(run.verdict == XDP_REDIRECT, "frame %u (%s, %u "
			      "bytes%s): %s", i, i % 3 == 0 ? "TCP" :
			      i % 3 == 1 ? "UDP" : "ICMP", len,
			      in.l4_checksum_seed ? ", seed" : "",
			      verdict_name(XDP_EGRESS, run.verdict));
		want_len = frame_build(&out, want, sizeof(want));
		assert_frame_is("XDP egress of a random segment", &run, want,
				want_len);
	}
}
END_TEST

Suite *bpf_suite(void)
{
	Suite *suite = suite_create("bpf");
	TCase *tc = tcase_create("tc programs");
	TCase *full = tcase_create("full tables");

	/* A fresh skeleton per test: no state leaks from one case to the
	 * next. Checked fixtures run in the test's process, so a load
	 * failure fails that test with its message. */
	tcase_add_checked_fixture(tc, load_programs, unload_programs);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_fixture_is_loaded);
	tcase_add_loop_test(tc, test_bpf_case, 0, (int)ARRAY_SIZE(bpf_cases));
	tcase_add_test(tc, test_xdp_egress_random_segments);
	suite_add_tcase(suite, tc);

	/* Each case loads the programs itself, with its map sized. */
	tcase_add_checked_fixture(full, NULL, unload_programs);
	tcase_set_timeout(full, 30);
	tcase_add_loop_test(full, test_table_full, 0,
			    (int)ARRAY_SIZE(full_cases));
	suite_add_tcase(suite, full);
	return suite;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/fragment.h through BPF_PROG_TEST_RUN: later fragments follow their
 * first one's translation; one that comes before its first is held, then
 * sent back in at the device it came in on (here: loopback of the tests'
 * own network namespace, main.c) once the first has gone through; the
 * bounds and the timeout are counted drops. And fragmenter.h: a DF-clear
 * datagram too big for its device is cut up and sent back in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include "bpf_fixture.h"
#include "suites.h"

#define SANDBOX_PORT 40001
#define DNS_PORT 53
#define LATER_OFFSET 185	/* 1480 bytes, in 8-byte units */
#define RELEASE_WAIT_MS 1000

static struct frame_spec first_out(void)
{
	struct frame_spec spec = from_sandbox(PROTO_UDP, SBX1, SANDBOX_PORT,
					      SERVER, DNS_PORT);

	spec.frag_off = 0x2000;	/* MF */
	spec.payload = "the first fragment";
	return spec;
}

/* A later fragment carries no UDP header; the builder's one is payload
 * bytes here, as the NAT must treat them. n tells apart the fragments. */
static struct frame_spec later_out(uint16_t n)
{
	struct frame_spec spec = first_out();

	spec.frag_off = (uint16_t)(LATER_OFFSET + n);
	spec.payload = "a later fragment";
	return spec;
}

static struct frame_spec first_in(uint16_t shared_port)
{
	struct frame_spec spec = reply_to_shared(PROTO_UDP, SERVER, DNS_PORT,
						 shared_port);

	spec.frag_off = 0x2000;
	spec.payload = "the first answer fragment";
	return spec;
}

static struct frame_spec later_in(uint16_t shared_port)
{
	struct frame_spec spec = first_in(shared_port);

	spec.frag_off = LATER_OFFSET;
	spec.payload = "a later answer fragment";
	return spec;
}

/* A packet socket on loopback sees what the programs send back in there. */
static int loopback_tap(void)
{
	struct sockaddr_ll at = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = TEST_IFINDEX,
	};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));

	ck_assert_msg(fd >= 0, "packet socket: %s", strerror(errno));
	ck_assert_msg(bind(fd, (struct sockaddr *)&at, sizeof(at)) == 0,
		      "bind packet socket to loopback: %s", strerror(errno));
	return fd;
}

/* The next frame the tap sees, within RELEASE_WAIT_MS; its length. */
static size_t tap_next(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd wait = { .fd = fd, .events = POLLIN };
	ssize_t got;

	ck_assert_msg(poll(&wait, 1, RELEASE_WAIT_MS) == 1,
		      "no frame came back in at loopback within %d ms",
		      RELEASE_WAIT_MS);
	got = recv(fd, buf, cap, 0);
	ck_assert_msg(got > 0, "recv on the packet socket: %s",
		      strerror(errno));
	return (size_t)got;
}

static bool tap_is_quiet(int fd)
{
	struct pollfd wait = { .fd = fd, .events = POLLIN };

	return poll(&wait, 1, 100) == 0;
}

START_TEST(test_later_fragment_follows_first)
{
	struct frame_spec first = first_out(), later = later_out(0);
	__u64 before[COUNTER_MAX];
	struct run run;

	struct run first_run;

	run_frame(EGRESS, &first, &first_run);
	ck_assert_int_eq(first_run.verdict, TC_ACT_REDIRECT);
	ck_assert_msg(get_be16(first_run.out + IP_OFF + 4) !=
		      get_be16(first_run.in + IP_OFF + 4),
		      "a first fragment kept the sandbox's IP id");
	read_counters(before);
	run_frame(EGRESS, &later, &run);
	ck_assert_int_eq(run.verdict, TC_ACT_REDIRECT);
	ck_assert_uint_eq(get_be32(run.out + IP_OFF + IP_SRC_OFF), SHARED);
	ck_assert_msg(get_be16(run.out + IP_OFF + 4) ==
		      get_be16(first_run.out + IP_OFF + 4),
		      "the later fragment's IP id is not its first's new one");
	ck_assert_uint_eq(run.out[IP_OFF + IP_TTL_OFF], 63);
	/* Only the IP header's checksum: what follows is no UDP header. */
	ck_assert_msg(inet_checksum(run.out + IP_OFF, IP_MIN_LEN) == 0,
		      "IP header checksum wrong after translation");
	ck_assert_int_eq(memcmp(run.out + IP_OFF + IP_MIN_LEN,
				run.in + IP_OFF + IP_MIN_LEN,
				run.in_len - IP_OFF - IP_MIN_LEN), 0);
	assert_counter_steps("later fragment", before,
			     COUNTED(FRAGMENT_TRANSLATED));
	ck_assert_uint_eq(count_entries(skel->maps.held_fragments), 0);
}
END_TEST

START_TEST(test_early_fragment_is_held)
{
	struct frame_spec later = later_out(0);
	struct held_fragment held;
	struct held_fragment_key key;
	int fd = bpf_map__fd(skel->maps.held_fragments);
	__u64 before[COUNTER_MAX];
	struct run run;

	read_counters(before);
	run_frame(EGRESS, &later, &run);
	ck_assert_msg(run.verdict == TC_ACT_STOLEN,
		      "a later fragment before its first: verdict %s, want "
		      "stolen (held)", verdict_name(EGRESS, run.verdict));
	assert_counter_steps("held", before, COUNTED(FRAGMENT_HELD));
	ck_assert_uint_eq(count_entries(skel->maps.held_fragments), 1);
	ck_assert_int_eq(bpf_map_get_next_key(fd, NULL, &key), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &held), 0);
	ck_assert_uint_eq(ntohl(key.datagram.src_addr), SBX1);
	ck_assert_uint_eq(key.datagram.direction, FLOW_EGRESS);
	ck_assert_uint_eq(held.len, run.in_len);
	ck_assert_int_eq(memcmp(held.frame, run.in, run.in_len), 0);
	ck_assert_uint_eq(count_flow_entries(), 0);
}
END_TEST

/* The first fragment leaves as if nothing had been held (byte for byte as
 * a second copy of it, which finds nothing held), and the held one comes
 * back in at loopback as it arrived. */
START_TEST(test_first_fragment_releases_held)
{
	struct frame_spec first = first_out(), later = later_out(0);
	uint8_t back[FRAME_MAX];
	struct run held_run, release, again;
	__u64 before[COUNTER_MAX];
	int tap = loopback_tap();
	size_t back_len;

	run_frame(EGRESS, &later, &held_run);
	ck_assert_int_eq(held_run.verdict, TC_ACT_STOLEN);
	read_counters(before);
	restart_ip_ids();
	run_frame(EGRESS, &first, &release);
	ck_assert_int_eq(release.verdict, TC_ACT_REDIRECT);
	assert_counter_steps("release", before,
			     COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED) |
			     COUNTED(FRAGMENT_RELEASED));
	ck_assert_uint_eq(count_entries(skel->maps.held_fragments), 0);

	back_len = tap_next(tap, back, sizeof(back));
	ck_assert_uint_eq(back_len, held_run.in_len);
	ck_assert_msg(memcmp(back, held_run.in, back_len) == 0,
		      "the fragment sent back in is not the one held");

	restart_ip_ids();
	run_frame(EGRESS, &first, &again);
	ck_assert_int_eq(again.verdict, TC_ACT_REDIRECT);
	assert_frame_is("first fragment after a release", &release, again.out,
			again.out_len);
	ck_assert_msg(tap_is_quiet(tap), "a second first fragment sent "
		      "something back in: nothing was held any more");
	close(tap);
}
END_TEST

START_TEST(test_held_fragments_per_datagram_bound)
{
	__u64 before[COUNTER_MAX];
	struct frame_spec later;
	struct run run;
	uint16_t n;

	for (n = 0; n < SHARENAT_HELD_PER_DATAGRAM; n++) {
		later = later_out(n);
		run_frame(EGRESS, &later, &run);
		ck_assert_msg(run.verdict == TC_ACT_STOLEN,
			      "fragment %u of one datagram was not held", n);
	}
	later = later_out(n);
	read_counters(before);
	run_frame(EGRESS, &later, &run);
	ck_assert_int_eq(run.verdict, TC_ACT_SHOT);
	assert_counter_steps("one past the bound", before,
			     COUNTED(DROP_FRAGMENT_HOLD_FULL));
	ck_assert_uint_eq(count_entries(skel->maps.held_fragments),
			  SHARENAT_HELD_PER_DATAGRAM);
}
END_TEST

/* A fragment held past SHARENAT_FRAGMENT_TIMEOUT is dropped, not sent. */
START_TEST(test_stale_held_fragment_is_dropped)
{
	struct frame_spec first = first_out(), later = later_out(0);
	int fd = bpf_map__fd(skel->maps.held_fragments);
	struct held_fragment_key key;
	struct held_fragment held;
	__u64 before[COUNTER_MAX];
	struct run run;
	int tap = loopback_tap();

	run_frame(EGRESS, &later, &run);
	ck_assert_int_eq(bpf_map_get_next_key(fd, NULL, &key), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &key, &held), 0);
	held.held_ns = 1;	/* boot time: long ago */
	ck_assert_int_eq(bpf_map_update_elem(fd, &key, &held, BPF_EXIST), 0);
	read_counters(before);
	run_frame(EGRESS, &first, &run);
	ck_assert_int_eq(run.verdict, TC_ACT_REDIRECT);
	assert_counter_steps("stale", before,
			     COUNTED(EGRESS_TRANSLATED) | COUNTED(FLOW_CREATED) |
			     COUNTED(DROP_FRAGMENT_TIMEOUT));
	ck_assert_uint_eq(count_entries(skel->maps.held_fragments), 0);
	ck_assert_msg(tap_is_quiet(tap), "a stale fragment was sent back in");
	close(tap);
}
END_TEST

/* Coming in: held at the shared device, released by the first. */
START_TEST(test_ingress_early_fragment_held_and_released)
{
	struct frame_spec first, later;
	uint8_t back[FRAME_MAX];
	struct run held_run, release;
	__u64 before[COUNTER_MAX];
	uint16_t shared_port;
	int tap = loopback_tap();

	translate(PROTO_UDP, SBX1, SANDBOX_PORT, SERVER, DNS_PORT);
	shared_port = shared_port_of(PROTO_UDP, SBX1, SANDBOX_PORT, DNS_PORT);
	first = first_in(shared_port);
	later = later_in(shared_port);

	read_counters(before);
	run_frame(INGRESS, &later, &held_run);
	ck_assert_int_eq(held_run.verdict, TC_ACT_STOLEN);
	assert_counter_steps("held", before, COUNTED(FRAGMENT_HELD));

	read_counters(before);
	run_frame(INGRESS, &first, &release);
	ck_assert_int_eq(release.verdict, TC_ACT_REDIRECT);
	ck_assert_uint_eq(get_be32(release.out + IP_OFF + IP_DST_OFF), SBX1);
	ck_assert_uint_eq(get_be16(release.out + IP_OFF + IP_MIN_LEN +
				   L4_DPORT_OFF), SANDBOX_PORT);
	ck_assert_ptr_null(frame_checksum_error(release.out,
						release.out_len));
	assert_counter_steps("release", before,
			     COUNTED(INGRESS_TRANSLATED) |
			     COUNTED(FRAGMENT_RELEASED));
	tap_next(tap, back, sizeof(back));
	ck_assert_int_eq(memcmp(back, held_run.in, held_run.in_len), 0);
	close(tap);
}
END_TEST

/* A fragment to an address that is not shared is the host's: not held. */
START_TEST(test_ingress_fragment_for_host_passes)
{
	struct frame_spec later = later_in(DNS_PORT);
	__u64 before[COUNTER_MAX];
	struct run run;

	later.dst_addr = CUSTOMER_GATEWAY;
	read_counters(before);
	run_frame(INGRESS, &later, &run);
	ck_assert_int_eq(run.verdict, TC_ACT_OK);
	assert_counter_steps("host's fragment", before, 0);
	ck_assert_uint_eq(count_entries(skel->maps.held_fragments), 0);
}
END_TEST

/* A DF-clear datagram larger than the device it leaves by (TEST_MTU) is
 * cut into fragments, each sent back in at loopback, where they would be
 * translated; put back together they are the datagram. */
START_TEST(test_too_big_without_df_is_fragmented)
{
	static char payload[TEST_MTU + 200];
	struct frame_spec big = from_sandbox(PROTO_UDP, SBX1, SANDBOX_PORT,
					     SERVER, DNS_PORT);
	uint8_t pieces[2][FRAME_MAX], whole[FRAME_MAX];
	size_t len[2], ip_payload, first_data;
	__u64 before[COUNTER_MAX];
	int tap = loopback_tap();
	struct run run;
	unsigned int k;

	memset(payload, 'f', sizeof(payload) - 1);
	big.payload = payload;
	big.may_fragment = true;
	translate(PROTO_UDP, SBX1, SANDBOX_PORT, SERVER, DNS_PORT);
	read_counters(before);
	run_frame(EGRESS, &big, &run);
	ck_assert_msg(run.verdict == TC_ACT_STOLEN, "verdict %s, want stolen "
		      "(cut up)", verdict_name(EGRESS, run.verdict));
	assert_counter_steps("fragmented", before, COUNTED(FRAGMENTED));

	ip_payload = run.in_len - IP_OFF - IP_MIN_LEN;
	first_data = (TEST_MTU - IP_MIN_LEN) & ~7u;
	for (k = 0; k < 2; k++) {
		const uint8_t *ip = pieces[k] + IP_OFF;

		len[k] = tap_next(tap, pieces[k], sizeof(pieces[k]));
		ck_assert_uint_eq(get_be32(ip + IP_SRC_OFF), SBX1);
		ck_assert_msg(inet_checksum(ip, IP_MIN_LEN) == 0,
			      "piece %u: IP header checksum wrong", k);
		ck_assert_uint_eq(get_be16(ip + IP_TOT_LEN_OFF),
				  len[k] - IP_OFF);
		ck_assert_uint_le(len[k] - ETH_HDR_LEN, TEST_MTU);
	}
	ck_assert_uint_eq(get_be16(pieces[0] + IP_OFF + IP_FRAG_OFF), 0x2000);
	ck_assert_uint_eq(get_be16(pieces[1] + IP_OFF + IP_FRAG_OFF),
			  first_data / 8);
	ck_assert_uint_eq(len[0] - IP_OFF - IP_MIN_LEN, first_data);
	ck_assert_uint_eq(len[1] - IP_OFF - IP_MIN_LEN, ip_payload - first_data);
	memcpy(whole, pieces[0] + IP_OFF + IP_MIN_LEN, first_data);
	memcpy(whole + first_data, pieces[1] + IP_OFF + IP_MIN_LEN,
	       ip_payload - first_data);
	ck_assert_msg(!memcmp(whole, run.in + IP_OFF + IP_MIN_LEN, ip_payload),
		      "the pieces put together are not the datagram");
	ck_assert_msg(tap_is_quiet(tap), "more than two pieces");
	close(tap);
}
END_TEST

/* XDP keeps no per-datagram state: first fragments go on to tc. */
START_TEST(test_xdp_hands_first_fragment_to_tc)
{
	struct frame_spec first;
	uint16_t shared_port;
	struct run run;

	translate(PROTO_UDP, SBX1, SANDBOX_PORT, SERVER, DNS_PORT);
	shared_port = shared_port_of(PROTO_UDP, SBX1, SANDBOX_PORT, DNS_PORT);
	first = first_in(shared_port);
	run_frame(XDP_INGRESS, &first, &run);
	ck_assert_msg(run.verdict == XDP_PASS,
		      "XDP verdict %s for a first fragment, want pass",
		      verdict_name(XDP_INGRESS, run.verdict));
	assert_frame_is("first fragment handed to tc", &run, run.in,
			run.in_len);
}
END_TEST

Suite *fragments_suite(void)
{
	Suite *suite = suite_create("fragments");
	TCase *tc = tcase_create("fragments");

	tcase_add_checked_fixture(tc, load_programs, unload_programs);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_later_fragment_follows_first);
	tcase_add_test(tc, test_early_fragment_is_held);
	tcase_add_test(tc, test_first_fragment_releases_held);
	tcase_add_test(tc, test_held_fragments_per_datagram_bound);
	tcase_add_test(tc, test_stale_held_fragment_is_dropped);
	tcase_add_test(tc, test_ingress_early_fragment_held_and_released);
	tcase_add_test(tc, test_ingress_fragment_for_host_passes);
	tcase_add_test(tc, test_xdp_hands_first_fragment_to_tc);
	tcase_add_test(tc, test_too_big_without_df_is_fragmented);
	suite_add_tcase(suite, tc);
	return suite;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The state the fast path keeps beside a flow's entry, through
 * BPF_PROG_TEST_RUN on fresh unpinned skeletons (bpf_fixture.h):
 * endpoint-independent and endpoint-dependent mapping (maps `mappings`,
 * `ports` and `replies`), filtering of replies, port parity, flow expiry
 * by the sweeper (flow.h) and flow removal by the CLI (user/flows.c).
 *
 * Expiry tests really wait. The sweeper's timer runs on its own once the
 * fixture has started it, as the loader does, so a test gives the
 * attachment 1 s timeouts, makes flows and polls the maps (bounded by
 * EXPIRY_WAIT_MS) until the sweeper has removed what it should; a flow
 * that is still there then, or gone before its timeout, fails the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bpf_fixture.h"
#include "state.h"
#include "suites.h"

/* Timeouts of the expiry tests, and how long a test waits for one: the
 * 1 s timeout plus ample slack for a loaded machine. */
#define SHORT_TIMEOUT_S 1
#define EXPIRY_WAIT_MS 4000
#define POLL_MS 20

/* ---- time ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000,
	};

	/* A signal cuts the sleep short: sleep the rest. */
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- mappings and ports ---- */

static bool find_mapping(uint8_t proto, uint32_t sandbox,
			 uint16_t sandbox_port, struct mapping *m)
{
	struct mapping_key key = mapping_key(proto, sandbox, sandbox_port);

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.mappings), &key,
				   m) == 0;
}

/* The mapping of a sandbox endpoint, which must name this shared endpoint
 * and be used by this many flows. */
static void assert_mapping(uint8_t proto, uint32_t sandbox,
			   uint16_t sandbox_port, uint32_t shared,
			   uint16_t port, __u32 flows)
{
	struct mapping m;

	ck_assert_msg(find_mapping(proto, sandbox, sandbox_port, &m),
		      "no mapping for %#x:%u proto %u", sandbox, sandbox_port,
		      proto);
	ck_assert_uint_eq(ntohl(m.shared_addr), shared);
	ck_assert_uint_eq(ntohs(m.shared_port), port);
	ck_assert_msg(m.flows == flows, "mapping of %#x:%u proto %u: %u "
		      "flows, want %u", sandbox, sandbox_port, proto, m.flows,
		      flows);
}

/* ---- replies ---- */

/* The remote's answer to a shared port (TCP or UDP) must come out to the
 * sandbox endpoint, counted by that endpoint's flow with the remote. */
static void assert_reply_reaches(uint8_t proto, uint32_t remote,
				 uint16_t remote_port, uint16_t shared_port,
				 uint32_t sandbox, uint16_t sandbox_port)
{
	struct frame_spec reply = reply_to_shared(proto, remote, remote_port,
						  shared_port);
	struct flow_key key = egress_key(proto, sandbox, sandbox_port, remote,
					 remote_port);
	__u64 before = must_find_flow(&key, "flow").packets_in;
	struct run run;
	size_t l4;

	run_frame(INGRESS, &reply, &run);
	ck_assert_msg(run.verdict == TC_ACT_REDIRECT, "a reply from %#x:%u "
		      "to shared port %u got %s", remote, remote_port,
		      shared_port, verdict_name(INGRESS, run.verdict));
	l4 = frame_l4_off(run.out);
	ck_assert_msg(get_be32(run.out + IP_OFF + IP_DST_OFF) == sandbox &&
		      get_be16(run.out + l4 + L4_DPORT_OFF) == sandbox_port,
		      "a reply from %#x:%u to shared port %u went to %#x:%u, "
		      "want %#x:%u", remote, remote_port, shared_port,
		      get_be32(run.out + IP_OFF + IP_DST_OFF),
		      get_be16(run.out + l4 + L4_DPORT_OFF), sandbox,
		      sandbox_port);
	ck_assert_uint_eq(must_find_flow(&key, "flow").packets_in, before + 1);
}

/* Tests run under either mapping behaviour. */
static const struct {
	const char *name;
	enum mapping_behaviour mapping;
} behaviours[] = {
	{ "independent", MAPPING_INDEPENDENT },
	{ "dependent", MAPPING_DEPENDENT },
};

/* ==== mapping behaviour ==== */

/*
 * RFC 4787 REQ-1: one sandbox endpoint keeps one shared endpoint whatever
 * the remote, held by one mapping (used by every flow) and one `ports`
 * entry, which count as one port of the sandbox's quota. Filtering stays
 * address-and-port-dependent: only a remote the endpoint has sent to gets
 * through.
 */
START_TEST(test_independent_one_endpoint_for_every_remote)
{
	struct frame_spec reply;
	struct run run;

	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 8080);
	translate(PROTO_TCP, SBX1, 40000, OTHER_SERVER, 80);

	ck_assert_uint_eq(shared_port_to(PROTO_TCP, SBX1, 40000, SERVER, 80),
			  40000);
	ck_assert_uint_eq(shared_port_to(PROTO_TCP, SBX1, 40000, SERVER, 8080),
			  40000);
	ck_assert_uint_eq(shared_port_to(PROTO_TCP, SBX1, 40000, OTHER_SERVER,
					 80), 40000);
	assert_mapping(PROTO_TCP, SBX1, 40000, SHARED, 40000, 3);
	assert_port_owner(PROTO_TCP, SHARED, 40000, SBX1, 40000);
	ck_assert_uint_eq(count_entries(skel->maps.mappings), 1);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 1);
	ck_assert_uint_eq(count_entries(skel->maps.replies), 0);
	ck_assert_uint_eq(count_flow_entries(), 3);
	ck_assert_uint_eq(ports_in_use(SBX1), 1);
	ck_assert_uint_eq(counter(COUNTER_FLOW_CREATED), 3);

	reply = reply_to_shared(PROTO_TCP, OTHER_SERVER, 80, 40000);
	must_translate(INGRESS, &reply);
	/* The other server's port the sandbox never sent to. */
	reply = reply_to_shared(PROTO_TCP, OTHER_SERVER, 8080, 40000);
	run_frame(INGRESS, &reply, &run);
	ck_assert_msg(run.verdict == TC_ACT_OK, "a reply from a remote the "
		      "endpoint never sent to got %s",
		      verdict_name(INGRESS, run.verdict));
}
END_TEST

/* The same holds for UDP and for an echo identifier, and a mapping is per
 * protocol: TCP and UDP from one port each keep that port. */
START_TEST(test_independent_udp_and_icmp)
{
	uint16_t id;

	translate(PROTO_UDP, SBX1, 40000, SERVER, 53);
	translate(PROTO_UDP, SBX1, 40000, OTHER_SERVER, 5353);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 53);
	translate(PROTO_ICMP, SBX1, 7, SERVER, 0);
	translate(PROTO_ICMP, SBX1, 7, OTHER_SERVER, 0);

	ck_assert_uint_eq(shared_port_to(PROTO_UDP, SBX1, 40000, OTHER_SERVER,
					 5353), 40000);
	assert_mapping(PROTO_UDP, SBX1, 40000, SHARED, 40000, 2);
	assert_mapping(PROTO_TCP, SBX1, 40000, SHARED, 40000, 1);
	/* Identifier 7 lies below the port range: it is mapped, once. */
	id = shared_port_to(PROTO_ICMP, SBX1, 7, SERVER, 0);
	ck_assert_msg(id >= PORT_LO, "echo identifier 7 mapped to %u", id);
	ck_assert_uint_eq(shared_port_to(PROTO_ICMP, SBX1, 7, OTHER_SERVER, 0),
			  id);
	assert_mapping(PROTO_ICMP, SBX1, 7, SHARED, id, 2);
	assert_port_owner(PROTO_ICMP, SHARED, id, SBX1, 7);
	assert_port_owner(PROTO_UDP, SHARED, 40000, SBX1, 40000);
	assert_port_owner(PROTO_TCP, SHARED, 40000, SBX1, 40000);
	ck_assert_uint_eq(count_entries(skel->maps.mappings), 3);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 3);
	ck_assert_uint_eq(ports_in_use(SBX1), 3);
}
END_TEST

/*
 * No port overloading: sandbox 2's 40000 to another server could reuse
 * shared port 40000 as far as the reply keys go, but under independent
 * mapping that port is sandbox 1's endpoint for every remote.
 */
START_TEST(test_independent_no_port_overloading)
{
	uint16_t port;

	add_sandboxes(1);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	translate(PROTO_TCP, SBX2, 40000, OTHER_SERVER, 80);

	port = shared_port_to(PROTO_TCP, SBX2, 40000, OTHER_SERVER, 80);
	ck_assert_msg(port != 40000 && port >= PORT_LO,
		      "sandbox 2 got shared port %u (sandbox 1 holds 40000)",
		      port);
	assert_mapping(PROTO_TCP, SBX1, 40000, SHARED, 40000, 1);
	assert_mapping(PROTO_TCP, SBX2, 40000, SHARED, port, 1);
	assert_port_owner(PROTO_TCP, SHARED, 40000, SBX1, 40000);
	assert_port_owner(PROTO_TCP, SHARED, port, SBX2, 40000);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 2);
	ck_assert_uint_eq(ports_in_use(SBX1), 1);
	ck_assert_uint_eq(ports_in_use(SBX2), 1);
}
END_TEST

/*
 * Endpoint-dependent mapping keeps no mappings: a shared port serves
 * several remotes (sandbox 2 gets 40000 too, to another server), one
 * endpoint may get different ports for different remotes, and every flow
 * holds a port of the quota.
 */
START_TEST(test_dependent_reuses_ports_across_remotes)
{
	uint16_t port;

	set_mapping(MAPPING_DEPENDENT);
	add_sandboxes(1);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	translate(PROTO_TCP, SBX2, 40000, OTHER_SERVER, 80);
	/* SBX2 took (OTHER_SERVER:80, 40000): sandbox 1 needs another. */
	translate(PROTO_TCP, SBX1, 40000, OTHER_SERVER, 80);

	assert_new_flow(PROTO_TCP, SBX1, 40000, SERVER, 80, SHARED, 40000);
	assert_new_flow(PROTO_TCP, SBX2, 40000, OTHER_SERVER, 80, SHARED,
			40000);
	port = shared_port_to(PROTO_TCP, SBX1, 40000, OTHER_SERVER, 80);
	ck_assert_msg(port != 40000 && port >= PORT_LO,
		      "sandbox 1 to the other server got shared port %u", port);
	assert_new_flow(PROTO_TCP, SBX1, 40000, OTHER_SERVER, 80, SHARED,
			port);
	ck_assert_uint_eq(count_entries(skel->maps.mappings), 0);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 0);
	ck_assert_uint_eq(count_entries(skel->maps.replies), 3);
	ck_assert_uint_eq(ports_in_use(SBX1), 2);
	ck_assert_uint_eq(ports_in_use(SBX2), 1);
}
END_TEST

/*
 * Under endpoint-dependent mapping a reply finds its flow by its reply key
 * (`replies`, no `ports`): sandboxes 1 and 2 both hold shared port 40000,
 * each for its own server, and each server's answer reaches its own
 * sandbox.
 */
START_TEST(test_dependent_replies_reach_their_sandbox)
{
	set_mapping(MAPPING_DEPENDENT);
	add_sandboxes(1);
	translate(PROTO_UDP, SBX1, 40000, SERVER, 53);
	translate(PROTO_UDP, SBX2, 40000, OTHER_SERVER, 53);
	assert_new_flow(PROTO_UDP, SBX1, 40000, SERVER, 53, SHARED, 40000);
	assert_new_flow(PROTO_UDP, SBX2, 40000, OTHER_SERVER, 53, SHARED,
			40000);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 0);

	assert_reply_reaches(PROTO_UDP, SERVER, 53, 40000, SBX1, 40000);
	assert_reply_reaches(PROTO_UDP, OTHER_SERVER, 53, 40000, SBX2, 40000);
}
END_TEST

/*
 * Filtering is address-and-port-dependent under either mapping (RFC 4787
 * REQ-8): sandbox 1's endpoint 40000 has flows to SERVER:53, SERVER:5353
 * and OTHER_SERVER:53, all on shared port 40000. OTHER_SERVER:5353 has
 * none, so its packet to that port is unsolicited: dropped and counted
 * (the shared address is one sharenat added), never delivered.
 */
START_TEST(test_filtering_by_remote)
{
	struct frame_spec stranger = reply_to_shared(PROTO_UDP, OTHER_SERVER,
						     5353, 40000);

	set_mapping(behaviours[_i].mapping);
	mark_shared_addr_added();
	translate(PROTO_UDP, SBX1, 40000, SERVER, 53);
	translate(PROTO_UDP, SBX1, 40000, SERVER, 5353);
	translate(PROTO_UDP, SBX1, 40000, OTHER_SERVER, 53);
	ck_assert_uint_eq(shared_port_to(PROTO_UDP, SBX1, 40000, SERVER, 5353),
			  40000);
	ck_assert_uint_eq(shared_port_to(PROTO_UDP, SBX1, 40000, OTHER_SERVER,
					 53), 40000);

	assert_unsolicited(&stranger, behaviours[_i].name);
	assert_reply_reaches(PROTO_UDP, SERVER, 53, 40000, SBX1, 40000);
	assert_reply_reaches(PROTO_UDP, SERVER, 5353, 40000, SBX1, 40000);
	assert_reply_reaches(PROTO_UDP, OTHER_SERVER, 53, 40000, SBX1, 40000);
}
END_TEST

/*
 * RFC 4787 REQ-4, port parity: when the own port is taken, the fallback
 * ports keep its parity. Eight sandboxes fall back from the same port, so
 * a NAT that ignored parity would pass by chance once in 256 runs.
 */
static const struct {
	const char *name;
	enum mapping_behaviour mapping;
	uint16_t own_port;
} parity_cases[] = {
	{ "independent, even", MAPPING_INDEPENDENT, 40000 },
	{ "independent, odd", MAPPING_INDEPENDENT, 40001 },
	{ "dependent, odd", MAPPING_DEPENDENT, 40001 },
};

#define PARITY_SANDBOXES 8

START_TEST(test_port_parity)
{
	uint16_t own = parity_cases[_i].own_port;
	uint16_t got[PARITY_SANDBOXES];
	unsigned int i, j;

	set_mapping(parity_cases[_i].mapping);
	add_sandboxes(PARITY_SANDBOXES);
	translate(PROTO_UDP, SBX1, own, SERVER, 53);
	ck_assert_uint_eq(shared_port_to(PROTO_UDP, SBX1, own, SERVER, 53),
			  own);
	for (i = 0; i < PARITY_SANDBOXES; i++) {
		uint32_t sandbox = ADDR(100, 64, 0, i + 2);

		translate(PROTO_UDP, sandbox, own, SERVER, 53);
		got[i] = shared_port_to(PROTO_UDP, sandbox, own, SERVER, 53);
		ck_assert_msg(got[i] >= PORT_LO && got[i] != own,
			      "%s: sandbox %u got shared port %u",
			      parity_cases[_i].name, i + 2, got[i]);
		ck_assert_msg((got[i] & 1) == (own & 1), "%s: sandbox %u "
			      "from port %u got shared port %u, of the other "
			      "parity", parity_cases[_i].name, i + 2, own,
			      got[i]);
		for (j = 0; j < i; j++)
			ck_assert_msg(got[j] != got[i], "%s: sandboxes %u and "
				      "%u share port %u",
				      parity_cases[_i].name, j + 2, i + 2,
				      got[i]);
	}
}
END_TEST

/* ==== flow expiry ==== */

/* Poll until the sandbox's flow is gone; fail after EXPIRY_WAIT_MS.
 * Returns the milliseconds since `since`. */
static uint64_t wait_until_expired(uint8_t proto, uint32_t sandbox,
				   uint16_t sandbox_port, uint32_t remote,
				   uint16_t remote_port, uint64_t since)
{
	while (has_flow(proto, sandbox, sandbox_port, remote, remote_port)) {
		ck_assert_msg(now_ms() - since < EXPIRY_WAIT_MS, "the flow "
			      "(proto %u, port %u) with a %d s timeout is "
			      "still there after %d ms", proto, sandbox_port,
			      SHORT_TIMEOUT_S, EXPIRY_WAIT_MS);
		sleep_ms(POLL_MS);
	}
	return now_ms() - since;
}

static void assert_not_before_timeout(uint64_t elapsed_ms, const char *what)
{
	ck_assert_msg(elapsed_ms >= SHORT_TIMEOUT_S * 1000, "%s expired "
		      "after %llu ms, before its %d s timeout", what,
		      (unsigned long long)elapsed_ms, SHORT_TIMEOUT_S);
}

/* Sandbox 1's three flows of the expiry tests, one per protocol. */
static const struct {
	uint8_t proto;
	uint16_t port;
	uint16_t remote_port;
} three_flows[] = {
	{ PROTO_TCP, 40000, 80 },
	{ PROTO_UDP, 40001, 53 },
	{ PROTO_ICMP, 4660, 0 },	/* in the range: the id is kept */
};

/*
 * Each protocol expires by its own timeout: one of TCP transitory, UDP and
 * ICMP is 1 s, the others 0, which means the default (minutes), not
 * "expire at once". The expired flow (three_flows[_i]) gives back its
 * entry, its mapping and one port of the quota; its shared port stays
 * held for the endpoint (RFC 6888 REQ-8), which gets it back on its next
 * flow. The other two flows stay whole.
 */
static const struct {
	const char *name;
	struct flow_timeouts timeouts;
} expiry_cases[] = {
	{ "TCP transitory", { .tcp_transitory = SHORT_TIMEOUT_S } },
	{ "UDP", { .udp = SHORT_TIMEOUT_S } },
	{ "ICMP", { .icmp = SHORT_TIMEOUT_S } },
};
_Static_assert(ARRAY_SIZE(expiry_cases) == ARRAY_SIZE(three_flows),
	       "expiry_cases[i] expires three_flows[i]");

START_TEST(test_expiry_by_protocol)
{
	const char *name = expiry_cases[_i].name;
	uint8_t proto = three_flows[_i].proto;
	uint16_t port = three_flows[_i].port;
	uint16_t remote_port = three_flows[_i].remote_port;
	uint64_t start;
	struct mapping m;
	unsigned int i;

	set_timeouts(MAPPING_INDEPENDENT, expiry_cases[_i].timeouts);
	start = now_ms();
	for (i = 0; i < ARRAY_SIZE(three_flows); i++)
		translate(three_flows[i].proto, SBX1, three_flows[i].port,
			  SERVER, three_flows[i].remote_port);
	ck_assert_uint_eq(count_flow_entries(), 3);
	ck_assert_uint_eq(ports_in_use(SBX1), 3);

	assert_not_before_timeout(wait_until_expired(proto, SBX1, port, SERVER,
						     remote_port, start),
				  name);
	ck_assert_msg(count_flow_entries() == 2, "%s: %u flow entries after "
		      "one flow expired, want 2", name, count_flow_entries());
	ck_assert_msg(!find_mapping(proto, SBX1, port, &m), "%s: the mapping "
		      "outlived its last flow", name);
	ck_assert_uint_eq(count_entries(skel->maps.mappings), 2);
	assert_port_owner(proto, SHARED, port, SBX1, port);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 3);
	ck_assert_uint_eq(ports_in_use(SBX1), 2);
	ck_assert_uint_eq(counter(COUNTER_FLOW_EXPIRED), 1);
	for (i = 0; i < ARRAY_SIZE(three_flows); i++) {
		if (i == (unsigned int)_i)
			continue;
		assert_new_flow(three_flows[i].proto, SBX1,
				three_flows[i].port, SERVER,
				three_flows[i].remote_port, SHARED,
				three_flows[i].port);
		assert_mapping(three_flows[i].proto, SBX1,
			       three_flows[i].port, SHARED,
			       three_flows[i].port, 1);
	}

	/* A new flow makes a new mapping, on the held port. */
	translate(proto, SBX1, port, SERVER, remote_port);
	assert_mapping(proto, SBX1, port, SHARED, port, 1);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 3);
	ck_assert_uint_eq(ports_in_use(SBX1), 3);
}
END_TEST

/*
 * A mapping outlives a flow that used it while another flow still does:
 * sandbox 1's port 40000 opens to two servers; the second answers, so that
 * flow is established (timeout 0: the default, hours) while the first
 * stays transitory (1 s). The first's expiry takes one use off the
 * mapping and leaves the mapping, its port and the quota alone.
 */
START_TEST(test_expiry_keeps_mapping_of_live_flow)
{
	struct flow_timeouts timeouts = { .tcp_transitory = SHORT_TIMEOUT_S };
	struct frame_spec synack = reply_to_shared(PROTO_TCP, OTHER_SERVER, 80,
						   40000);
	struct flow_key live = egress_key(PROTO_TCP, SBX1, 40000, OTHER_SERVER,
					  80);
	uint64_t start;

	set_timeouts(MAPPING_INDEPENDENT, timeouts);
	start = now_ms();
	/* The live flow first, so the sweeper has looked at it (and found
	 * it established) by the time the other expires. */
	translate(PROTO_TCP, SBX1, 40000, OTHER_SERVER, 80);
	must_translate(INGRESS, &synack);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	assert_mapping(PROTO_TCP, SBX1, 40000, SHARED, 40000, 2);

	assert_not_before_timeout(wait_until_expired(PROTO_TCP, SBX1, 40000,
						     SERVER, 80, start),
				  "a transitory TCP flow");
	/* Leave the sweeper time for another look at the live flow. */
	sleep_ms(200);
	ck_assert_msg(has_flow(PROTO_TCP, SBX1, 40000, OTHER_SERVER, 80),
		      "the established flow expired with the transitory one");
	ck_assert_uint_eq(must_find_reply_flow(PROTO_TCP, OTHER_SERVER, 80,
					       SHARED, 40000, TEST_IFINDEX,
					       &live).packets_in, 1);
	ck_assert_uint_eq(count_flow_entries(), 1);
	assert_mapping(PROTO_TCP, SBX1, 40000, SHARED, 40000, 1);
	assert_port_owner(PROTO_TCP, SHARED, 40000, SBX1, 40000);
	ck_assert_uint_eq(ports_in_use(SBX1), 1);
	ck_assert_uint_eq(counter(COUNTER_FLOW_EXPIRED), 1);
}
END_TEST

/*
 * Idle means idle both ways: a UDP flow whose sandbox sends nothing more
 * but whose remote answers every 300 ms lives well past its 1 s timeout
 * (its last packet either way counts), then expires one timeout after the
 * last answer.
 */
START_TEST(test_expiry_counts_replies_as_activity)
{
	struct flow_timeouts timeouts = { .udp = SHORT_TIMEOUT_S };
	struct frame_spec reply = reply_to_shared(PROTO_UDP, SERVER, 53,
						  40001);
	uint64_t start, last = 0;
	int i;

	set_timeouts(MAPPING_INDEPENDENT, timeouts);
	start = now_ms();
	translate(PROTO_UDP, SBX1, 40001, SERVER, 53);
	for (i = 0; i < 6; i++) {
		sleep_ms(300);
		ck_assert_msg(has_flow(PROTO_UDP, SBX1, 40001, SERVER, 53),
			      "the flow expired within %llu ms although its "
			      "remote answered every 300 ms",
			      (unsigned long long)(now_ms() - start));
		/* Taken before the reply, so the timeout counts from no
		 * later than the reply's own timestamp. */
		last = now_ms();
		must_translate(INGRESS, &reply);
	}
	assert_not_before_timeout(wait_until_expired(PROTO_UDP, SBX1, 40001,
						     SERVER, 53, last),
				  "a UDP flow counted from its last reply");
	ck_assert_uint_eq(count_flow_entries(), 0);
	ck_assert_uint_eq(count_entries(skel->maps.mappings), 0);
	ck_assert_uint_eq(ports_in_use(SBX1), 0);
	ck_assert_uint_eq(counter(COUNTER_FLOW_EXPIRED), 1);
}
END_TEST

/*
 * RFC 6888 REQ-8: a port released by expiry is held for its last owner.
 * Meanwhile another sandbox from the same port gets another shared port,
 * and the owner, coming back, gets its old one.
 */
START_TEST(test_expiry_holds_port_for_last_owner)
{
	struct flow_timeouts timeouts = { .udp = SHORT_TIMEOUT_S };
	uint16_t port;
	uint64_t start;

	set_timeouts(MAPPING_INDEPENDENT, timeouts);
	add_sandboxes(1);
	start = now_ms();
	translate(PROTO_UDP, SBX1, 40001, SERVER, 53);
	assert_not_before_timeout(wait_until_expired(PROTO_UDP, SBX1, 40001,
						     SERVER, 53, start),
				  "a UDP flow");
	ck_assert_uint_eq(count_entries(skel->maps.mappings), 0);
	ck_assert_uint_eq(ports_in_use(SBX1), 0);
	assert_port_owner(PROTO_UDP, SHARED, 40001, SBX1, 40001);

	translate(PROTO_UDP, SBX2, 40001, SERVER, 53);
	port = shared_port_to(PROTO_UDP, SBX2, 40001, SERVER, 53);
	ck_assert_msg(port != 40001, "sandbox 2 got shared port 40001, held "
		      "for sandbox 1");
	assert_port_owner(PROTO_UDP, SHARED, 40001, SBX1, 40001);

	translate(PROTO_UDP, SBX1, 40001, OTHER_SERVER, 53);
	assert_mapping(PROTO_UDP, SBX1, 40001, SHARED, 40001, 1);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 2);
}
END_TEST

/* The ports entry of SHARED:port (UDP), which must be there. */
static struct port_hold held_port(uint16_t port, struct port_key *key)
{
	struct port_hold hold;

	*key = port_key(PROTO_UDP, SHARED, port, TEST_IFINDEX);
	ck_assert_msg(bpf_map_lookup_elem(bpf_map__fd(skel->maps.ports), key,
					  &hold) == 0,
		      "shared port %u is not in map ports", port);
	return hold;
}

/* Take the port hold's ticket (the only one) out of port_hold_queue and
 * put it back due now, so the sweeper comes to it within a round instead
 * of SHARENAT_PORT_HOLD_SECONDS. */
static void port_hold_due_now(const struct port_key *key)
{
	int fd = bpf_map__fd(skel->maps.port_hold_queue);
	struct port_hold_ticket ticket;
	struct timespec now;

	ck_assert_msg(bpf_map_lookup_and_delete_elem(fd, NULL, &ticket) == 0,
		      "port_hold_queue holds no ticket");
	ck_assert_msg(memcmp(&ticket.key, key, sizeof(*key)) == 0,
		      "the ticket is not the held port's");
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	ticket.due_ns = (uint64_t)now.tv_sec * 1000000000ull +
			(uint64_t)now.tv_nsec;
	ck_assert_int_eq(bpf_map_update_elem(fd, NULL, &ticket, BPF_ANY), 0);
}

/*
 * The hold ends SHARENAT_PORT_HOLD_SECONDS after the release, through the
 * sweeper (map port_hold_queue): a port its owner took back stays, one
 * still released past the hold is freed. The 120 s are not waited for:
 * the ticket is made due now, and the release set 121 s back.
 */
START_TEST(test_port_hold_ends)
{
	struct flow_timeouts timeouts = { .udp = SHORT_TIMEOUT_S };
	struct port_hold hold;
	struct port_key key;
	uint64_t start;

	set_timeouts(MAPPING_INDEPENDENT, timeouts);
	start = now_ms();
	translate(PROTO_UDP, SBX1, 40001, SERVER, 53);
	wait_until_expired(PROTO_UDP, SBX1, 40001, SERVER, 53, start);
	hold = held_port(40001, &key);
	ck_assert_msg(hold.released_ns != 0, "the held port has no release time");

	/* The owner comes back: the port is its own again. */
	translate(PROTO_UDP, SBX1, 40001, SERVER, 53);
	ck_assert_uint_eq(held_port(40001, &key).released_ns, 0);
	port_hold_due_now(&key);
	sleep_ms(3 * SHARENAT_SWEEP_TICK_MS);
	assert_port_owner(PROTO_UDP, SHARED, 40001, SBX1, 40001);

	/* Released again, and held past its time: freed. */
	start = now_ms();
	wait_until_expired(PROTO_UDP, SBX1, 40001, SERVER, 53, start);
	hold = held_port(40001, &key);
	hold.released_ns -= (SHARENAT_PORT_HOLD_SECONDS + 1) * 1000000000ull;
	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.ports),
					     &key, &hold, BPF_EXIST), 0);
	port_hold_due_now(&key);
	sleep_ms(3 * SHARENAT_SWEEP_TICK_MS);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 0);
}
END_TEST

/*
 * Under endpoint-dependent mapping each flow holds a port of the quota
 * and its expiry gives it back: with a quota of 1 the sandbox's second
 * flow is refused until the first has expired, then it goes.
 */
START_TEST(test_expiry_gives_back_quota_dependent)
{
	struct flow_timeouts timeouts = { .udp = SHORT_TIMEOUT_S };
	struct frame_spec second = from_sandbox(PROTO_UDP, SBX1, 40003,
						OTHER_SERVER, 53);
	uint64_t start;

	set_timeouts(MAPPING_DEPENDENT, timeouts);
	set_port_quota(1);
	start = now_ms();
	translate(PROTO_UDP, SBX1, 40001, SERVER, 53);
	ck_assert_uint_eq(ports_in_use(SBX1), 1);
	assert_refused(&second, COUNTED(DROP_PORT_QUOTA),
		       "a second flow at quota 1");

	assert_not_before_timeout(wait_until_expired(PROTO_UDP, SBX1, 40001,
						     SERVER, 53, start),
				  "a dependent UDP flow");
	ck_assert_uint_eq(count_flow_entries(), 0);
	ck_assert_uint_eq(ports_in_use(SBX1), 0);
	/* Dependent mapping reserves nothing beside the flows and their
	 * reply keys, and the reply key went with the flow. */
	ck_assert_uint_eq(count_entries(skel->maps.mappings), 0);
	ck_assert_uint_eq(count_entries(skel->maps.ports), 0);
	ck_assert_uint_eq(count_entries(skel->maps.replies), 0);
	ck_assert_uint_eq(counter(COUNTER_FLOW_EXPIRED), 1);
	must_translate(EGRESS, &second);
	ck_assert_uint_eq(ports_in_use(SBX1), 1);
}
END_TEST

/*
 * Under endpoint-dependent mapping a flow's expiry takes its reply key
 * with it: sandboxes 1 and 2 hold shared port 40000 for two servers;
 * sandbox 2's flow is established (timeout 0: the default, hours),
 * sandbox 1's stays transitory (1 s) and expires. Its server's answers to
 * 40000 are then unsolicited, while sandbox 2's still come through.
 */
/*
 * Flow times are 32 bits on the flow clock and tickets' due times 16 bits
 * of it: both are compared modulo their width, so they hold across a wrap,
 * and a time a little ahead of now (another CPU's packet) counts as now.
 */
START_TEST(test_flow_clock_wraps)
{
	const __u64 tick = 1ull << SHARENAT_FLOW_CLOCK_SHIFT;
	const __u64 wrap = tick << 32;	/* the flow clock's period */
	const __u64 second = 1000000000ull;
	__u64 before = wrap - 3 * tick, after = wrap + 5 * tick;

	ck_assert_uint_eq(flow_clock_since(flow_clock(before), after),
			  8 * tick);
	ck_assert_uint_eq(flow_clock_since(flow_clock(after), before), 0);
	ck_assert_uint_eq(flow_clock_since(flow_clock(after), after), 0);
	ck_assert_uint_eq(flow_clock_since(flow_clock(7 * second),
					   7 * second + 86400 * second) /
				  second, 86400);
}
END_TEST

START_TEST(test_expiry_ticket_due_across_wrap)
{
	struct flow_key key = egress_key(PROTO_UDP, SBX1, 5000, SERVER, 53),
			back;
	/* The ticket clock's period: 2^16 of its units. */
	const __u64 period = 1ull << (16 + SHARENAT_TICKET_CLOCK_SHIFT +
				      SHARENAT_FLOW_CLOCK_SHIFT);
	const __u64 unit = period >> 16, due = period - unit;
	struct expiry_ticket ticket;

	expiry_ticket_make(&key, due, &ticket);
	expiry_ticket_key(&ticket, &back);
	ck_assert_msg(memcmp(&key, &back, sizeof(key)) == 0,
		      "the ticket does not give its flow's key back");
	ck_assert_int_eq(ticket.pad, 0);
	ck_assert(!expiry_ticket_due(&ticket, due - 2 * unit));
	ck_assert(expiry_ticket_due(&ticket, due));
	ck_assert(expiry_ticket_due(&ticket, period + 3 * unit));
	ck_assert(!expiry_ticket_due(&ticket, due - 1000 * unit));
}
END_TEST

START_TEST(test_expiry_removes_reply_key)
{
	struct flow_timeouts timeouts = { .tcp_transitory = SHORT_TIMEOUT_S };
	struct frame_spec late = reply_to_shared(PROTO_TCP, SERVER, 80, 40000);
	uint64_t start;

	set_timeouts(MAPPING_DEPENDENT, timeouts);
	mark_shared_addr_added();
	add_sandboxes(1);
	start = now_ms();
	translate(PROTO_TCP, SBX2, 40000, OTHER_SERVER, 80);
	assert_reply_reaches(PROTO_TCP, OTHER_SERVER, 80, 40000, SBX2, 40000);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	assert_new_flow(PROTO_TCP, SBX1, 40000, SERVER, 80, SHARED, 40000);
	ck_assert_uint_eq(count_entries(skel->maps.replies), 2);

	assert_not_before_timeout(wait_until_expired(PROTO_TCP, SBX1, 40000,
						     SERVER, 80, start),
				  "a transitory dependent TCP flow");
	ck_assert_uint_eq(count_entries(skel->maps.replies), 1);
	assert_reply_owner(PROTO_TCP, OTHER_SERVER, 80, SHARED, 40000, SBX2,
			   40000);
	ck_assert_uint_eq(ports_in_use(SBX1), 0);
	ck_assert_uint_eq(counter(COUNTER_FLOW_EXPIRED), 1);
	assert_unsolicited(&late, "an answer to the expired flow");
	assert_reply_reaches(PROTO_TCP, OTHER_SERVER, 80, 40000, SBX2, 40000);
}
END_TEST

/* ==== flow removal by the CLI ==== */

static bool flow_of_sandbox_1(const struct flow_key *key,
			      const struct flow *flow, const void *ctx)
{
	(void)flow;
	(void)ctx;
	return key->src_addr == htonl(SBX1);
}

/*
 * Removing a sandbox's flows (sandbox del, user/flows.c) removes what led
 * replies to them: the mapping and its port, or the reply key. The
 * sandbox's server's answers are then unsolicited; sandbox 2's flow (on
 * the same shared port under endpoint-dependent mapping) is left whole.
 */
START_TEST(test_cli_removal_takes_way_back)
{
	enum mapping_behaviour mapping = behaviours[_i].mapping;
	bool dependent = mapping == MAPPING_DEPENDENT;
	struct sharenat sn = {
		.flows_fd = bpf_map__fd(skel->maps.flows),
		.mappings_fd = bpf_map__fd(skel->maps.mappings),
		.ports_fd = bpf_map__fd(skel->maps.ports),
		.replies_fd = bpf_map__fd(skel->maps.replies),
	};
	struct frame_spec late = reply_to_shared(PROTO_UDP, SERVER, 53, 40000);
	uint16_t port;

	set_mapping(mapping);
	mark_shared_addr_added();
	add_sandboxes(1);
	translate(PROTO_UDP, SBX1, 40000, SERVER, 53);
	translate(PROTO_UDP, SBX2, 40000, OTHER_SERVER, 53);
	port = shared_port_to(PROTO_UDP, SBX2, 40000, OTHER_SERVER, 53);
	ck_assert_msg(dependent == (port == 40000), "%s: sandbox 2 got shared "
		      "port %u", behaviours[_i].name, port);

	flows_delete_matching(&sn, flow_of_sandbox_1, NULL);
	ck_assert(!has_flow(PROTO_UDP, SBX1, 40000, SERVER, 53));
	ck_assert_uint_eq(count_flow_entries(), 1);
	assert_new_flow(PROTO_UDP, SBX2, 40000, OTHER_SERVER, 53, SHARED,
			port);
	ck_assert_uint_eq(count_entries(skel->maps.mappings), !dependent);
	ck_assert_uint_eq(count_entries(skel->maps.ports), !dependent);
	ck_assert_uint_eq(count_entries(skel->maps.replies), dependent);
	assert_unsolicited(&late, behaviours[_i].name);
}
END_TEST

Suite *nat_state_suite(void)
{
	Suite *suite = suite_create("nat_state");
	TCase *tc;

	/* A fresh skeleton per test, as in test_bpf.c. */
	tc = tcase_create("mapping");
	tcase_add_checked_fixture(tc, load_programs, unload_programs);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_independent_one_endpoint_for_every_remote);
	tcase_add_test(tc, test_independent_udp_and_icmp);
	tcase_add_test(tc, test_independent_no_port_overloading);
	tcase_add_test(tc, test_dependent_reuses_ports_across_remotes);
	tcase_add_test(tc, test_dependent_replies_reach_their_sandbox);
	tcase_add_loop_test(tc, test_filtering_by_remote, 0,
			    (int)ARRAY_SIZE(behaviours));
	tcase_add_loop_test(tc, test_port_parity, 0,
			    (int)ARRAY_SIZE(parity_cases));
	suite_add_tcase(suite, tc);

	/* Each expiry test waits about a second, at most EXPIRY_WAIT_MS. */
	tc = tcase_create("expiry");
	tcase_add_checked_fixture(tc, load_programs, unload_programs);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_expiry_by_protocol, 0,
			    (int)ARRAY_SIZE(expiry_cases));
	tcase_add_test(tc, test_expiry_keeps_mapping_of_live_flow);
	tcase_add_test(tc, test_expiry_counts_replies_as_activity);
	tcase_add_test(tc, test_expiry_holds_port_for_last_owner);
	tcase_add_test(tc, test_port_hold_ends);
	tcase_add_test(tc, test_expiry_gives_back_quota_dependent);
	tcase_add_test(tc, test_expiry_removes_reply_key);
	suite_add_tcase(suite, tc);

	/* Arithmetic of the header's helpers alone: no programs loaded. */
	tc = tcase_create("flow clock");
	tcase_add_test(tc, test_flow_clock_wraps);
	tcase_add_test(tc, test_expiry_ticket_due_across_wrap);
	suite_add_tcase(suite, tc);

	tc = tcase_create("removal");
	tcase_add_checked_fixture(tc, load_programs, unload_programs);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_cli_removal_takes_way_back, 0,
			    (int)ARRAY_SIZE(behaviours));
	suite_add_tcase(suite, tc);

	return suite;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * What a function may do and what it is told about, through
 * BPF_PROG_TEST_RUN on fresh unpinned skeletons (bpf_fixture.h): its
 * security group (egress allow rules, default deny once a group is set),
 * the port quota of each of its sandboxes, and the per-function counters
 * (map `function_counters`), checked whole after every step so that a
 * count in the wrong slot or under the wrong reason fails.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bpf_fixture.h"
#include "suites.h"

#define FUNCTION_2_ID 2
#define SECURITY_GROUP_ID 7

/* ==== security groups ==== */

/* A rule as the CLI writes it; host order, prefix length. */
struct rule_spec {
	uint8_t proto;		/* 0: all */
	uint32_t addr;
	unsigned int len;
	uint16_t port_lo, port_hi;
};

/* What parse_sg_rule writes for a rule without ports. */
#define ALL_PORTS 0, 65535

#define TCP_TO(remote, port)						\
	{ FROM_SBX1, .dst_addr = (remote), .proto = PROTO_TCP,		\
	  .src_port = 40000, .dst_port = (port), .tcp_flags = TCPF_SYN }
#define UDP_TO(remote, port)						\
	{ FROM_SBX1, .dst_addr = (remote), .proto = PROTO_UDP,		\
	  .src_port = 40001, .dst_port = (port), .payload = "query" }
#define PING_TO(remote)							\
	{ FROM_SBX1, .dst_addr = (remote), .proto = PROTO_ICMP,		\
	  .icmp_type = ICMPT_ECHO, .icmp_id = 4660, .icmp_seq = 1 }

#define NO_GROUP_ID 99		/* a group id with no entry in the map */

static const struct sg_case {
	const char *name;
	__u32 group;		/* the function's group; 0: none */
	/* Rules that match nothing come first, so the listed ones are the
	 * last of pad_rules + rule_count. */
	unsigned int pad_rules;
	unsigned int rule_count;
	struct rule_spec rules[2];
	struct frame_spec in;
	bool allowed;
} sg_cases[] = {
	{ "no group: allowed", .group = 0,
	  .in = TCP_TO(SERVER, 80), .allowed = true },
	{ "tcp:10.0.1.0/24:80 allows TCP to 10.0.1.10:80",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_TCP, SUBNET, 24, 80, 80 } },
	  .in = TCP_TO(SERVER, 80), .allowed = true },
	{ "tcp:10.0.1.0/24:80 refuses port 81",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_TCP, SUBNET, 24, 80, 80 } },
	  .in = TCP_TO(SERVER, 81) },
	{ "tcp:10.0.1.0/24:80 refuses port 79",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_TCP, SUBNET, 24, 80, 80 } },
	  .in = TCP_TO(SERVER, 79) },
	{ "tcp:10.0.1.0/24:80 refuses UDP to port 80",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_TCP, SUBNET, 24, 80, 80 } },
	  .in = UDP_TO(SERVER, 80) },
	{ "tcp:10.0.1.0/24:80 refuses ICMP echo",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_TCP, SUBNET, 24, 80, 80 } },
	  .in = PING_TO(SERVER) },
	{ "tcp:10.0.1.10/32:80 refuses 10.0.1.11",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_TCP, SERVER, 32, 80, 80 } },
	  .in = TCP_TO(OTHER_SERVER, 80) },
	{ "udp:0.0.0.0/0:53-60 allows 53",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_UDP, 0, 0, 53, 60 } },
	  .in = UDP_TO(SERVER, 53), .allowed = true },
	{ "udp:0.0.0.0/0:53-60 allows 60",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_UDP, 0, 0, 53, 60 } },
	  .in = UDP_TO(SERVER, 60), .allowed = true },
	{ "udp:0.0.0.0/0:53-60 refuses 52",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_UDP, 0, 0, 53, 60 } },
	  .in = UDP_TO(SERVER, 52) },
	{ "udp:0.0.0.0/0:53-60 refuses 61",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_UDP, 0, 0, 53, 60 } },
	  .in = UDP_TO(SERVER, 61) },
	{ "udp:0.0.0.0/0:53-60 refuses TCP to 53",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_UDP, 0, 0, 53, 60 } },
	  .in = TCP_TO(SERVER, 53) },
	{ "icmp:10.0.0.0/8 allows echo to 10.0.1.10",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_ICMP, ADDR(10, 0, 0, 0), 8, ALL_PORTS } },
	  .in = PING_TO(SERVER), .allowed = true },
	{ "icmp rule with ports 80-80: ICMP ignores ports",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_ICMP, ADDR(10, 0, 0, 0), 8, 80, 80 } },
	  .in = PING_TO(SERVER), .allowed = true },
	{ "icmp:10.0.0.0/8 refuses TCP",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_ICMP, ADDR(10, 0, 0, 0), 8, ALL_PORTS } },
	  .in = TCP_TO(SERVER, 80) },
	{ "icmp:10.0.1.10/32 refuses echo to 10.0.1.11",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_ICMP, SERVER, 32, ALL_PORTS } },
	  .in = PING_TO(OTHER_SERVER) },
	{ "all:10.0.1.10/32 allows TCP to any port",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { 0, SERVER, 32, ALL_PORTS } },
	  .in = TCP_TO(SERVER, 8080), .allowed = true },
	{ "all:10.0.1.10/32 allows UDP",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { 0, SERVER, 32, ALL_PORTS } },
	  .in = UDP_TO(SERVER, 53), .allowed = true },
	{ "all:10.0.1.10/32 allows ICMP echo",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { 0, SERVER, 32, ALL_PORTS } },
	  .in = PING_TO(SERVER), .allowed = true },
	{ "all:10.0.1.10/32 refuses 10.0.1.11",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { 0, SERVER, 32, ALL_PORTS } },
	  .in = TCP_TO(OTHER_SERVER, 80) },
	{ "the second rule allows what the first does not",
	  .group = SECURITY_GROUP_ID, .rule_count = 2,
	  .rules = { { PROTO_TCP, SUBNET, 24, 443, 443 },
		     { PROTO_TCP, SUBNET, 24, 80, 80 } },
	  .in = TCP_TO(SERVER, 80), .allowed = true },
	{ "a rule past rule_count is not consulted",
	  .group = SECURITY_GROUP_ID, .rule_count = 1,
	  .rules = { { PROTO_TCP, SUBNET, 24, 443, 443 },
		     { PROTO_TCP, SUBNET, 24, 80, 80 } },
	  .in = TCP_TO(SERVER, 80) },
	{ "the 16th of 16 rules is consulted",
	  .group = SECURITY_GROUP_ID, .pad_rules = SHARENAT_MAX_SG_RULES - 1,
	  .rule_count = 1, .rules = { { PROTO_TCP, SUBNET, 24, 80, 80 } },
	  .in = TCP_TO(SERVER, 80), .allowed = true },
	{ "a group without rules refuses everything",
	  .group = SECURITY_GROUP_ID, .rule_count = 0,
	  .in = PING_TO(SERVER) },
	{ "a group id that names no group refuses everything",
	  .group = NO_GROUP_ID, .rule_count = 1,
	  .rules = { { 0, 0, 0, ALL_PORTS } },
	  .in = TCP_TO(SERVER, 80) },
};

static struct sg_rule sg_rule_of(const struct rule_spec *spec)
{
	struct sg_rule rule;

	memset(&rule, 0, sizeof(rule));
	rule.proto = spec->proto;
	rule.addr = htonl(spec->addr);
	rule.mask = htonl(spec->len ? 0xffffffffu << (32 - spec->len) : 0);
	rule.port_lo = spec->port_lo;
	rule.port_hi = spec->port_hi;
	return rule;
}

/* Group SECURITY_GROUP_ID with the case's rules (always written, so that
 * NO_GROUP_ID's case shows the id, not an empty map, decides), and f1 in
 * the case's group. */
static void put_group_of(const struct sg_case *c)
{
	/* Nothing any test sends goes to 192.0.2.0/24 port 1. */
	const struct rule_spec nowhere = { PROTO_TCP, ADDR(192, 0, 2, 0), 24,
					   1, 1 };
	struct function fn = base_function();
	struct security_group sg;
	__u32 id = SECURITY_GROUP_ID;
	unsigned int i;

	memset(&sg, 0, sizeof(sg));
	snprintf(sg.name, sizeof(sg.name), "sg1");
	sg.id = id;
	for (i = 0; i < c->pad_rules; i++)
		sg.rules[i] = sg_rule_of(&nowhere);
	for (i = 0; i < c->rule_count; i++)
		sg.rules[c->pad_rules + i] = sg_rule_of(&c->rules[i]);
	/* Rules beyond the count must not be read, so they are written
	 * anyway: the case's unused rules, else all zeros, which is "all
	 * protocols, 0.0.0.0/0, port 0" and allows every ICMP echo. */
	for (i = c->rule_count; i < ARRAY_SIZE(c->rules); i++)
		if (c->pad_rules + i < SHARENAT_MAX_SG_RULES)
			sg.rules[c->pad_rules + i] = sg_rule_of(&c->rules[i]);
	sg.rule_count = c->pad_rules + c->rule_count;
	put(skel->maps.security_groups, &id, &sg);
	fn.security_group = c->group;
	put_function(&fn);
}

START_TEST(test_security_group)
{
	const struct sg_case *c = &sg_cases[_i];
	__u64 want[FUNCTION_COUNTER_MAX] = { 0 };
	__u64 before[COUNTER_MAX];

	put_group_of(c);
	if (c->allowed) {
		read_counters(before);
		must_translate(EGRESS, &c->in);
		assert_counter_steps(c->name, before,
				     COUNTED(EGRESS_TRANSLATED) |
				     COUNTED(FLOW_CREATED));
		ck_assert_uint_eq(count_flow_entries(), 1);
		ck_assert_uint_eq(ports_in_use(SBX1), 1);
		want[FUNCTION_PACKETS_OUT] = 1;
		want[FUNCTION_FLOWS_CREATED] = 1;
	} else {
		assert_refused(&c->in, COUNTED(DROP_SECURITY_GROUP), c->name);
		ck_assert_uint_eq(count_flow_entries(), 0);
		ck_assert_uint_eq(ports_in_use(SBX1), 0);
		want[FUNCTION_DROP_SECURITY_GROUP] = 1;
	}
	assert_function_counters(c->name, FUNCTION_ID, want);
}
END_TEST

/* The group is checked on a flow's first packet: a group set later stops
 * new flows, not the flows it would have refused that already exist. */
START_TEST(test_security_group_checks_new_flows_only)
{
	const struct sg_case refuse_all = {
		.name = "empty group", .group = SECURITY_GROUP_ID,
	};
	const struct frame_spec again = TCP_TO(SERVER, 80);
	const struct frame_spec fresh = UDP_TO(SERVER, 53);

	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	put_group_of(&refuse_all);
	must_translate(EGRESS, &again);
	assert_refused(&fresh, COUNTED(DROP_SECURITY_GROUP),
		       "a new flow after the group was set");
}
END_TEST

/* ==== port quota ==== */

/*
 * Endpoint-independent: a mapping holds one port of the quota. At quota 2
 * a third endpoint is refused, while the sandbox's existing flows still
 * translate, a mapped endpoint still opens flows to new remotes (they take
 * no new port), and another sandbox still gets flows.
 */
START_TEST(test_quota_independent)
{
	struct frame_spec third = from_sandbox(PROTO_TCP, SBX1, 40002, SERVER,
					       80);
	struct frame_spec again = from_sandbox(PROTO_TCP, SBX1, 40000, SERVER,
					       80);
	__u64 want[FUNCTION_COUNTER_MAX] = { 0 };

	set_port_quota(2);
	add_sandboxes(1);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	translate(PROTO_TCP, SBX1, 40001, SERVER, 80);
	ck_assert_uint_eq(ports_in_use(SBX1), 2);

	assert_refused(&third, COUNTED(DROP_PORT_QUOTA),
		       "a third endpoint at quota 2");
	want[FUNCTION_PACKETS_OUT] = 2;
	want[FUNCTION_FLOWS_CREATED] = 2;
	want[FUNCTION_DROP_PORT_QUOTA] = 1;
	assert_function_counters("after the quota drop", FUNCTION_ID, want);

	again.tcp_flags = TCPF_ACK;
	must_translate(EGRESS, &again);
	translate(PROTO_TCP, SBX1, 40000, OTHER_SERVER, 80);
	ck_assert_uint_eq(shared_port_to(PROTO_TCP, SBX1, 40000, OTHER_SERVER,
					 80), 40000);
	ck_assert_uint_eq(ports_in_use(SBX1), 2);
	translate(PROTO_TCP, SBX2, 40002, SERVER, 80);
	ck_assert_uint_eq(ports_in_use(SBX2), 1);
	ck_assert_uint_eq(ports_in_use(SBX1), 2);
}
END_TEST

/* Endpoint-dependent: every flow holds a port, even from one endpoint. */
START_TEST(test_quota_dependent)
{
	struct frame_spec third = from_sandbox(PROTO_TCP, SBX1, 40000, SERVER,
					       8080);

	set_mapping(MAPPING_DEPENDENT);
	set_port_quota(2);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	translate(PROTO_TCP, SBX1, 40000, OTHER_SERVER, 80);
	ck_assert_uint_eq(ports_in_use(SBX1), 2);
	assert_refused(&third, COUNTED(DROP_PORT_QUOTA),
		       "a third flow at quota 2");
}
END_TEST

/* Quota 0 means SHARENAT_DEFAULT_PORT_QUOTA, exactly; a larger quota
 * lets the sandbox past it. */
START_TEST(test_quota_default)
{
	struct sandbox sbx = sandbox_at(SBX1, "s1");
	struct frame_spec over = from_sandbox(PROTO_UDP, SBX1, 40001, SERVER,
					      53);

	sbx.ports_in_use = SHARENAT_DEFAULT_PORT_QUOTA - 1;
	put_sandbox(&sbx);
	set_port_quota(0);
	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	ck_assert_uint_eq(ports_in_use(SBX1), SHARENAT_DEFAULT_PORT_QUOTA);
	assert_refused(&over, COUNTED(DROP_PORT_QUOTA),
		       "a flow beyond the default quota");

	set_port_quota(SHARENAT_DEFAULT_PORT_QUOTA + 1);
	must_translate(EGRESS, &over);
	ck_assert_uint_eq(ports_in_use(SBX1), SHARENAT_DEFAULT_PORT_QUOTA + 1);
}
END_TEST

/* ==== per-function counters ==== */

/* Packets both ways and flows made count for the sandbox's function; XDP
 * counts a packet it translates, not one it hands to tc (tc counts that
 * one). Function 2's slot stays untouched. */
START_TEST(test_function_counters_packets_and_flows)
{
	struct frame_spec ack = from_sandbox(PROTO_TCP, SBX1, 40000, SERVER,
					     80);
	struct frame_spec synack = reply_to_shared(PROTO_TCP, SERVER, 80,
						   40000);
	__u64 want[FUNCTION_COUNTER_MAX] = { 0 };
	__u64 zero[FUNCTION_COUNTER_MAX] = { 0 };
	struct sandbox tap = sandbox_at(SBX1, "s1");
	__u32 ifindex = TEST_IFINDEX;
	struct run run;

	translate(PROTO_TCP, SBX1, 40000, SERVER, 80);
	want[FUNCTION_PACKETS_OUT] = 1;
	want[FUNCTION_FLOWS_CREATED] = 1;
	assert_function_counters("after the SYN", FUNCTION_ID, want);

	must_translate(INGRESS, &synack);
	want[FUNCTION_PACKETS_IN] = 1;
	assert_function_counters("after the SYN-ACK", FUNCTION_ID, want);

	ack.tcp_flags = TCPF_ACK;
	must_translate(EGRESS, &ack);
	want[FUNCTION_PACKETS_OUT] = 2;
	assert_function_counters("after the ACK", FUNCTION_ID, want);

	/* A veth sandbox: XDP passes the packet on to tc. */
	run_frame(XDP_INGRESS, &synack, &run);
	ck_assert_int_eq(run.verdict, XDP_PASS);
	assert_function_counters("after XDP passed a packet to tc",
				 FUNCTION_ID, want);

	/* A tap sandbox: XDP translates it. */
	tap.mac_static = 1;
	memcpy(tap.mac, must_find_sandbox(SBX1).mac, sizeof(tap.mac));
	tap.ports_in_use = 1;
	tap.xdp_frames = 1;
	put_sandbox(&tap);
	put(skel->maps.xdp_devices, &ifindex, &ifindex);
	run_frame(XDP_INGRESS, &synack, &run);
	ck_assert_int_eq(run.verdict, XDP_REDIRECT);
	want[FUNCTION_PACKETS_IN] = 2;
	assert_function_counters("after XDP translated a packet",
				 FUNCTION_ID, want);
	assert_function_counters("function 2", FUNCTION_2_ID, zero);
}
END_TEST

/* Each drop reason counts for the function whose sandbox sent the
 * packet: f1 (sandbox 1) and f2 (sandbox 2) share the attachment, whose
 * one port 2000 sandbox 2 takes. */
START_TEST(test_function_counters_drops)
{
	struct attachment att = base_attachment();
	struct function f2 = base_function();
	struct sandbox sbx2 = sandbox_at(SBX2, "s2");
	struct frame_spec no_route = from_sandbox(PROTO_TCP, SBX1, 40000,
						  OUTSIDE, 80);
	struct frame_spec no_port = from_sandbox(PROTO_UDP, SBX1, 40002,
						 SERVER, 53);
	struct frame_spec over_quota = from_sandbox(PROTO_TCP, SBX2, 40000,
						    SERVER, 80);
	__u64 want1[FUNCTION_COUNTER_MAX] = { 0 };
	__u64 want2[FUNCTION_COUNTER_MAX] = { 0 };
	const struct sg_case refuse_all = {
		.name = "no such group", .group = NO_GROUP_ID,
	};

	att.port_lo = 2000;
	att.port_hi = 2000;
	put_attachment(&att);
	snprintf(f2.name, sizeof(f2.name), "f2");
	f2.id = FUNCTION_2_ID;
	f2.port_quota = 1;
	put_function(&f2);
	sbx2.function_id = FUNCTION_2_ID;
	put_sandbox(&sbx2);

	translate(PROTO_UDP, SBX2, 40000, SERVER, 53);
	ck_assert_uint_eq(shared_port_to(PROTO_UDP, SBX2, 40000, SERVER, 53),
			  2000);
	want2[FUNCTION_PACKETS_OUT] = 1;
	want2[FUNCTION_FLOWS_CREATED] = 1;

	assert_refused(&no_route, COUNTED(DROP_NO_ROUTE), "no route");
	want1[FUNCTION_DROP_NO_ROUTE] = 1;
	assert_function_counters("after no route", FUNCTION_ID, want1);
	assert_function_counters("after no route", FUNCTION_2_ID, want2);

	assert_refused(&no_port, COUNTED(DROP_NO_PORT), "no port");
	want1[FUNCTION_DROP_NO_PORT] = 1;
	assert_function_counters("after no port", FUNCTION_ID, want1);
	assert_function_counters("after no port", FUNCTION_2_ID, want2);

	assert_refused(&over_quota, COUNTED(DROP_PORT_QUOTA), "over quota");
	want2[FUNCTION_DROP_PORT_QUOTA] = 1;
	assert_function_counters("after over quota", FUNCTION_ID, want1);
	assert_function_counters("after over quota", FUNCTION_2_ID, want2);

	/* f1 into a group that does not exist. */
	put_group_of(&refuse_all);
	assert_refused(&no_port, COUNTED(DROP_SECURITY_GROUP),
		       "security group");
	want1[FUNCTION_DROP_SECURITY_GROUP] = 1;
	assert_function_counters("after the group drop", FUNCTION_ID, want1);
	assert_function_counters("after the group drop", FUNCTION_2_ID,
				 want2);
}
END_TEST

Suite *nat_policy_suite(void)
{
	Suite *suite = suite_create("nat_policy");
	TCase *tc;

	/* A fresh skeleton per test, as in test_bpf.c. */
	tc = tcase_create("security groups");
	tcase_add_checked_fixture(tc, load_programs, unload_programs);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_security_group, 0,
			    (int)ARRAY_SIZE(sg_cases));
	tcase_add_test(tc, test_security_group_checks_new_flows_only);
	suite_add_tcase(suite, tc);

	tc = tcase_create("port quota");
	tcase_add_checked_fixture(tc, load_programs, unload_programs);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_quota_independent);
	tcase_add_test(tc, test_quota_dependent);
	tcase_add_test(tc, test_quota_default);
	suite_add_tcase(suite, tc);

	tc = tcase_create("function counters");
	tcase_add_checked_fixture(tc, load_programs, unload_programs);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_function_counters_packets_and_flows);
	tcase_add_test(tc, test_function_counters_drops);
	suite_add_tcase(suite, tc);

	return suite;
}

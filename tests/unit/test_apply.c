// SPDX-License-Identifier: GPL-2.0
/*
 * The parser of `sharenat apply` files (user/apply.c): pure text in,
 * objects or one error out, no BPF and no devices. A good file must give
 * exactly the specs the CLI's flags would; a bad one must be refused with
 * "apply: FILE:LINE: why", LINE being the line at fault, because that is
 * the error the user reads.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "latency.h"
#include "suites.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SOURCE "state.conf"

static struct sharenat_config *parse(const char *text,
				     struct sharenat_error *err)
{
	snprintf(err->message, sizeof(err->message), "untouched");
	return sharenat_config_parse(text, strlen(text), SOURCE, err);
}

static __be32 ip(const char *text)
{
	struct in_addr in;

	ck_assert_msg(inet_pton(AF_INET, text, &in) == 1, "bad test address");
	return in.s_addr;
}

/* ---- a file that uses every key ---- */

static const char full_file[] =
	"# customers A and B, same subnet\n"
	"\n"
	"attachment eniA subnet 10.0.1.0/24 ip 10.0.1.5 ip 10.0.1.6 "
	"gateway 10.0.1.1 ports 2000-3000 mapping dependent mode xdp "
	"tcp-established-timeout 100 tcp-transitory-timeout 50 "
	"udp-timeout 30 icmp-timeout 10\n"
	"attachment\teniB\tsubnet 10.0.1.0/24  ip 10.0.1.5   # defaults\r\n"
	"sg web allow tcp:10.0.1.0/24:443 allow udp:10.0.0.0/8:53-54 "
	"allow icmp:0.0.0.0/0\n"
	"function orders subnet 10.0.1.0/24@eniB sg web port-quota 64\n"
	"function billing subnet 10.0.1.0/24@eniA\n"
	"sandbox orders-1 function orders dev veth-o1 ip 100.64.0.1\n"
	"sandbox billing-1 function billing dev tap9 ip 100.127.255.254 "
	"mac 02:aa:bb:cc:dd:ee mode xdp\n";

START_TEST(test_apply_full_file)
{
	const struct sharenat_attach_spec *a, *b;
	const struct sharenat_function_spec *orders, *billing;
	const struct sharenat_sandbox_spec *s1, *s2;
	const struct sharenat_sg_spec *web;
	struct sharenat_config *cfg;
	struct sharenat_error err;

	cfg = parse(full_file, &err);
	ck_assert_msg(cfg, "refused: %s", err.message);
	ck_assert_uint_eq(cfg->attachment_count, 2);
	ck_assert_uint_eq(cfg->sg_count, 1);
	ck_assert_uint_eq(cfg->function_count, 2);
	ck_assert_uint_eq(cfg->sandbox_count, 2);

	a = &cfg->attachments[0]->spec;
	ck_assert_str_eq(a->dev, "eniA");
	ck_assert_uint_eq(cfg->attachments[0]->line, 3);
	ck_assert_uint_eq(a->subnet_addr, ip("10.0.1.0"));
	ck_assert_uint_eq(a->subnet_mask, ip("255.255.255.0"));
	ck_assert_uint_eq(a->shared_addr_count, 2);
	ck_assert_uint_eq(a->shared_addrs[0], ip("10.0.1.5"));
	ck_assert_uint_eq(a->shared_addrs[1], ip("10.0.1.6"));
	ck_assert_uint_eq(a->gateway_addr, ip("10.0.1.1"));
	ck_assert_uint_eq(a->port_lo, 2000);
	ck_assert_uint_eq(a->port_hi, 3000);
	ck_assert_int_eq(a->mapping, MAPPING_DEPENDENT);
	ck_assert(a->hook_set);
	ck_assert_int_eq(a->hook, NAT_HOOK_XDP);
	ck_assert_uint_eq(a->timeouts.tcp_established, 100);
	ck_assert_uint_eq(a->timeouts.tcp_transitory, 50);
	ck_assert_uint_eq(a->timeouts.udp, 30);
	ck_assert_uint_eq(a->timeouts.icmp, 10);

	/* Tabs, double spaces, a comment and a CR: the CLI's defaults. */
	b = &cfg->attachments[1]->spec;
	ck_assert_str_eq(b->dev, "eniB");
	ck_assert_uint_eq(b->shared_addr_count, 1);
	ck_assert_uint_eq(b->gateway_addr, 0);
	ck_assert_uint_eq(b->port_lo, 1024);
	ck_assert_uint_eq(b->port_hi, 65535);
	ck_assert_int_eq(b->mapping, MAPPING_INDEPENDENT);
	ck_assert(!b->hook_set);
	ck_assert_uint_eq(b->timeouts.udp, 0);

	web = &cfg->sgs[0]->spec;
	ck_assert_str_eq(web->name, "web");
	ck_assert_uint_eq(web->rule_count, 3);
	ck_assert_uint_eq(web->rules[0].proto, IPPROTO_TCP);
	ck_assert_uint_eq(web->rules[0].port_lo, 443);
	ck_assert_uint_eq(web->rules[0].port_hi, 443);
	ck_assert_uint_eq(web->rules[1].proto, IPPROTO_UDP);
	ck_assert_uint_eq(web->rules[1].addr, ip("10.0.0.0"));
	ck_assert_uint_eq(web->rules[1].port_lo, 53);
	ck_assert_uint_eq(web->rules[1].port_hi, 54);
	ck_assert_uint_eq(web->rules[2].proto, IPPROTO_ICMP);
	ck_assert_uint_eq(web->rules[2].mask, 0);

	orders = &cfg->functions[0]->spec;
	ck_assert_str_eq(orders->name, "orders");
	ck_assert_uint_eq(orders->subnet_count, 1);
	ck_assert_str_eq(orders->subnets[0].dev, "eniB");
	ck_assert_str_eq(orders->security_group, "web");
	ck_assert_uint_eq(orders->port_quota, 64);
	billing = &cfg->functions[1]->spec;
	ck_assert_str_eq(billing->subnets[0].dev, "eniA");
	ck_assert_ptr_null(billing->security_group);
	ck_assert_uint_eq(billing->port_quota, 0);

	s1 = &cfg->sandboxes[0]->spec;
	ck_assert_str_eq(s1->id, "orders-1");
	ck_assert_str_eq(s1->function, "orders");
	ck_assert_str_eq(s1->dev, "veth-o1");
	ck_assert_uint_eq(s1->addr, ip("100.64.0.1"));
	ck_assert(!s1->has_mac);
	ck_assert_int_eq(s1->hook, NAT_HOOK_TC);
	s2 = &cfg->sandboxes[1]->spec;
	ck_assert_int_eq(s2->hook, NAT_HOOK_XDP);
	ck_assert_uint_eq(s2->addr, ip("100.127.255.254"));
	ck_assert(s2->has_mac);
	ck_assert_uint_eq(s2->mac[0], 0x02);
	ck_assert_uint_eq(s2->mac[5], 0xee);
	ck_assert_uint_eq(cfg->sandboxes[1]->line, 9);
	ck_assert(!sharenat_config_empty(cfg));
	sharenat_config_free(cfg);
}
END_TEST

/* A subnet without @DEV names the file's one attachment with it. */
START_TEST(test_apply_subnet_resolution)
{
	struct sharenat_config *cfg;
	struct sharenat_error err;

	cfg = parse("attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5\n"
		    "attachment e2 subnet 10.0.2.0/24 ip 10.0.2.5\n"
		    "function f subnet 10.0.2.0/24 subnet 10.0.1.0/24\n", &err);
	ck_assert_msg(cfg, "refused: %s", err.message);
	ck_assert_str_eq(cfg->functions[0]->spec.subnets[0].dev, "e2");
	ck_assert_str_eq(cfg->functions[0]->spec.subnets[1].dev, "e1");
	sharenat_config_free(cfg);
}
END_TEST

static const char *const empty_files[] = {
	"",
	"\n\n\n",
	"# nothing\n   # at all\n\t\n",
	"   ",
};

START_TEST(test_apply_empty)
{
	struct sharenat_config *cfg;
	struct sharenat_error err;

	cfg = parse(empty_files[_i], &err);
	ck_assert_msg(cfg, "refused: %s", err.message);
	ck_assert(sharenat_config_empty(cfg));
	sharenat_config_free(cfg);
}
END_TEST

/* ---- bad files: the line at fault and why ---- */

#define ATT "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5\n"
#define FN "function f subnet 10.0.1.0/24\n"

static const struct {
	const char *text;
	unsigned int line;
	const char *why;
} bad_files[] = {
	{ "frobnicate x\n", 1, "unknown object 'frobnicate'" },
	{ "\n\nattach e1 subnet 10.0.1.0/24\n", 3, "unknown object 'attach'" },
	{ "attachment\n", 1, "attachment needs a device name" },
	{ "attachment e1 subnet 10.0.1.0/24\n", 1, "'ip' is required" },
	{ "attachment e1 ip 10.0.1.5\n", 1, "'subnet' is required" },
	{ "attachment e1 subnet 10.0.1.0/33 ip 10.0.1.5\n", 1,
	  "subnet: '10.0.1.0/33' is not a CIDR" },
	{ "attachment e1 subnet 10.0.1.1/24 ip 10.0.1.5\n", 1,
	  "has host bits set" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.256\n", 1,
	  "ip: '10.0.1.256' is not an IPv4 address" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.2.5\n", 1,
	  "ip 10.0.2.5 is not in the subnet" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 ip 10.0.1.5\n", 1,
	  "ip 10.0.1.5 given twice" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.1 ip 10.0.1.2 "
	  "ip 10.0.1.3 ip 10.0.1.4 ip 10.0.1.5\n", 1, "more than 4 'ip'" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 gateway 10.0.9.1\n",
	  1, "gateway 10.0.9.1 is not in the subnet" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 ports 9-1\n", 1,
	  "ports: '9-1'" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 ports 0-10\n", 1,
	  "ports: '0-10'" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 mapping none\n", 1,
	  "'none' is not a mapping" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 mode bpf\n", 1,
	  "'bpf' is not a mode" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 udp-timeout 0\n", 1,
	  "udp-timeout: '0' is not a number from 1 to 86400" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 udp-timeout 86401\n",
	  1, "is not a number from 1 to 86400" },
	{ "attachment e1 subnet 10.0.1.0/24 subnet 10.0.2.0/24 ip 10.0.1.5\n",
	  1, "'subnet' given twice" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 color red\n", 1,
	  "attachment: unknown key 'color'" },
	{ "attachment e1 subnet 10.0.1.0/24 ip\n", 1, "'ip' needs a value" },
	{ "attachment abcdefghijklmnop subnet 10.0.1.0/24 ip 10.0.1.5\n", 1,
	  "must be 1-15 characters" },
	{ "attachment e/1 subnet 10.0.1.0/24 ip 10.0.1.5\n", 1,
	  "'e/1' is not a device name" },
	{ ATT "attachment e1 subnet 10.0.2.0/24 ip 10.0.2.5\n", 2,
	  "attachment e1 is already on line 1" },
	{ "sg\n", 1, "sg needs a name" },
	{ "sg web\n", 1, "'allow' is required" },
	{ "sg web allow tcp:10.0.0.0/8:70000\n", 1, "bad port" },
	{ "sg web allow icmp:10.0.0.0/8:1\n", 1, "only tcp and udp" },
	{ "sg web allow sctp:10.0.0.0/8\n", 1, "protocol must be" },
	{ "sg web deny all:0.0.0.0/0\n", 1, "sg: unknown key 'deny'" },
	{ "sg -web allow all:0.0.0.0/0\n", 1, "must start with a letter" },
	{ "sg web allow all:0.0.0.0/0\nsg web allow all:0.0.0.0/0\n", 2,
	  "sg web is already on line 1" },
	{ "function f\n", 1, "'subnet' is required" },
	{ FN, 1, "no attachment in the file has subnet 10.0.1.0/24" },
	{ ATT "function f subnet 10.0.1.0/24@e2\n", 2,
	  "no attachment in the file has subnet 10.0.1.0/24 on e2" },
	{ ATT "attachment e2 subnet 10.0.1.0/24 ip 10.0.1.5\n" FN, 3,
	  "is attached on e1 and e2: name one" },
	{ ATT "function f subnet 10.0.1.0/24 sg web\n", 2,
	  "sg web is not in the file" },
	{ ATT "function f subnet 10.0.1.0/24 port-quota 0\n", 2,
	  "port-quota: '0' is not a number from 1 to 65535" },
	{ ATT "attachment e2 subnet 10.0.0.0/16 ip 10.0.0.5\n"
	  "function f subnet 10.0.1.0/24 subnet 10.0.0.0/16\n", 3,
	  "subnet 1 and subnet 2 overlap" },
	{ ATT FN FN, 3, "function f is already on line 2" },
	{ ATT "function " "abcdefghijklmnopqrstuvwxyz0123456789 subnet "
	  "10.0.1.0/24\n", 2, "is longer than 31 characters" },
	{ ATT FN "sandbox s\n", 3, "'function' is required" },
	{ ATT FN "sandbox s function f ip 100.64.0.1\n", 3,
	  "'dev' is required" },
	{ ATT FN "sandbox s function f dev v1\n", 3, "'ip' is required" },
	{ ATT FN "sandbox s function f dev v1 ip 10.0.1.9\n", 3,
	  "ip 10.0.1.9 is outside the sandbox pool" },
	{ ATT FN "sandbox s function f dev v1 ip 100.128.0.1\n", 3,
	  "outside the sandbox pool" },
	{ ATT FN "sandbox s function g dev v1 ip 100.64.0.1\n", 3,
	  "function g is not in the file" },
	{ ATT FN "sandbox s function f dev e1 ip 100.64.0.1\n", 3,
	  "e1 is the device of the attachment on line 1" },
	{ ATT FN "sandbox s function f dev v1 ip 100.64.0.1 mac "
	  "01:00:5e:00:00:01\n", 3, "is a multicast MAC" },
	{ ATT FN "sandbox s function f dev v1 ip 100.64.0.1\n"
	  "sandbox s function f dev v2 ip 100.64.0.2\n", 4,
	  "sandbox s is already on line 3" },
	{ ATT FN "sandbox s1 function f dev v1 ip 100.64.0.1\n"
	  "sandbox s2 function f dev v2 ip 100.64.0.1\n", 4,
	  "ip 100.64.0.1 is sandbox s1's (line 3)" },
	{ ATT FN "sandbox s function f function f dev v ip 100.64.0.1\n", 3,
	  "'function' given twice" },
	{ ATT FN "sandbox s function f dev v1 ip 100.64.0.1 mode dpdk\n", 3,
	  "'dpdk' is not a mode" },
	{ ATT FN "sandbox s function f dev v1 ip 100.64.0.1 mode xdp "
	  "mode tc\n", 3, "'mode' given twice" },
	{ "attachment e1 subnet 10.0.1.0/24 ip 10.0.1.5 \x01\n", 1,
	  "control character 0x01" },
};

START_TEST(test_apply_bad_file)
{
	struct sharenat_config *cfg;
	struct sharenat_error err;
	char prefix[64];

	cfg = parse(bad_files[_i].text, &err);
	ck_assert_msg(!cfg, "accepted: %s", bad_files[_i].text);
	snprintf(prefix, sizeof(prefix), "apply: " SOURCE ":%u: ",
		 bad_files[_i].line);
	ck_assert_msg(!strncmp(err.message, prefix, strlen(prefix)),
		      "\"%s\" does not start with \"%s\"", err.message, prefix);
	ck_assert_msg(strstr(err.message, bad_files[_i].why),
		      "\"%s\" does not say \"%s\"", err.message,
		      bad_files[_i].why);
	ck_assert_msg(!strchr(err.message, '\n'), "\"%s\" is not one line",
		      err.message);
}
END_TEST

/* What the line reader refuses: over-long lines, NUL bytes, too many
 * words. The text is built here, as a literal could not hold it. */
START_TEST(test_apply_line_limits)
{
	static const char with_nul[] = "sg a allow all:0.0.0.0/0\n\0x\n";
	static char text[APPLY_LINE_MAX + 64];
	struct sharenat_config *cfg;
	struct sharenat_error err;
	size_t i;

	memset(text, 0, sizeof(text));
	strcpy(text, "\n");
	for (i = 1; i <= APPLY_LINE_MAX; i++)
		text[i] = ' ';
	text[APPLY_LINE_MAX + 1] = 'x';
	cfg = parse(text, &err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err.message, "apply: " SOURCE ":2: line longer "
			 "than 4096 characters");

	memset(text, 0, sizeof(text));
	for (i = 0; i < APPLY_WORDS_MAX + 1; i++)
		strcat(text, "sg ");
	cfg = parse(text, &err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err.message, "apply: " SOURCE ":1: more than 64 "
			 "words");

	cfg = sharenat_config_parse(with_nul, sizeof(with_nul) - 1, SOURCE,
				    &err);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err.message, "apply: " SOURCE ":2: NUL byte");
}
END_TEST

/* ---- the latency histogram's buckets ---- */

START_TEST(test_latency_buckets)
{
	struct sharenat_latency_summary sum;
	struct latency_histogram h;
	unsigned int i;
	__u64 ns;

	ck_assert_uint_eq(latency_bucket(0), 0);
	ck_assert_uint_eq(latency_bucket(1023), 0);
	ck_assert_uint_eq(latency_bucket(1024), 1);
	ck_assert_uint_eq(latency_bucket(~0ull), SHARENAT_LATENCY_BUCKETS - 1);
	/* Every bucket's bound belongs to it, and the next value to the
	 * next bucket; each bound is at most 1/8 above its bucket's
	 * smallest value. */
	for (i = 0; i < SHARENAT_LATENCY_BUCKETS - 1; i++) {
		ns = latency_bucket_upper(i);
		ck_assert_uint_eq(latency_bucket(ns), i);
		ck_assert_uint_eq(latency_bucket(ns + 1), i + 1);
	}
	for (ns = 1024; ns < (1ull << 36); ns = ns * 3 + 7)
		ck_assert(latency_bucket_upper(latency_bucket(ns)) <=
			  ns + ns / 8);

	memset(&h, 0, sizeof(h));
	/* 10, 20, ... 1000 us */
	for (i = 1; i <= 100; i++)
		latency_histogram_add(&h, i * 10000ull);
	sharenat_latency_summarize(&h, &sum);
	ck_assert_uint_eq(sum.count, 100);
	ck_assert_uint_eq(sum.max_ns, 1000000);
	ck_assert_uint_eq(sum.sum_ns, 50500000);
	ck_assert(sum.p50_ns >= 500000 && sum.p50_ns <= 500000 * 9 / 8);
	ck_assert(sum.p90_ns >= 900000 && sum.p90_ns <= 900000 * 9 / 8);
	ck_assert(sum.p99_ns >= 990000 && sum.p99_ns <= 1000000);
}
END_TEST

Suite *apply_suite(void)
{
	Suite *suite = suite_create("apply");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_apply_full_file);
	tcase_add_test(tc, test_apply_subnet_resolution);
	tcase_add_loop_test(tc, test_apply_empty, 0,
			    (int)ARRAY_SIZE(empty_files));
	tcase_add_loop_test(tc, test_apply_bad_file, 0,
			    (int)ARRAY_SIZE(bad_files));
	tcase_add_test(tc, test_apply_line_limits);
	suite_add_tcase(suite, tc);

	tc = tcase_create("latency");
	tcase_add_test(tc, test_latency_buckets);
	suite_add_tcase(suite, tc);
	return suite;
}

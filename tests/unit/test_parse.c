// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's parsers (user/parse.c), table by table: each valid text with
 * the value it must give, each invalid text with the reason its error
 * must name. Every error must read "WHAT: why", WHAT being the role the
 * caller passed, because that is the one-line error the CLI prints.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "suites.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LOOP_TEST(tc, fn, table)					\
	tcase_add_loop_test(tc, fn, 0, (int)ARRAY_SIZE(table))

/* Names at and just over the limit (SHARENAT_NAME_MAX - 1 = 31 chars). */
#define NAME_31 "abcdefghijklmnopqrstuvwxyz01234"
#define NAME_32 NAME_31 "5"
#define NAME_100							\
	NAME_31 NAME_31 NAME_31 "abcdefg"
/* Device names at and over IFNAMSIZ - 1 = 15 characters. */
#define DEV_15 "abcdefghijklmno"
#define DEV_16 DEV_15 "p"

struct bad_text {
	const char *text;
	const char *why;	/* part of the message that names the reason */
};

static const char *shown(const char *text)
{
	return text ? text : "(NULL)";
}

/* A fresh error whose message would be noticed if a parser left it. */
static void reset_error(struct sharenat_error *err)
{
	snprintf(err->message, sizeof(err->message), "untouched");
}

static void assert_failed_with(int ret, const struct sharenat_error *err,
			       const char *what, const char *text,
			       const char *why)
{
	char prefix[64];
	size_t prefix_len;

	prefix_len = (size_t)snprintf(prefix, sizeof(prefix), "%s: ", what);
	ck_assert_msg(ret == -1, "'%s' was accepted (returned %d)",
		      shown(text), ret);
	ck_assert_msg(strncmp(err->message, prefix, prefix_len) == 0,
		      "'%s': message \"%s\" does not start with \"%s\"",
		      shown(text), err->message, prefix);
	ck_assert_msg(strstr(err->message + prefix_len, why) != NULL,
		      "'%s': message \"%s\" does not say \"%s\"", shown(text),
		      err->message, why);
}

/* ---- parse_ipv4 ---- */

#define WHAT_IP "--ip"

static const struct {
	const char *text;
	uint32_t addr;		/* host order */
} good_ipv4[] = {
	{ "0.0.0.0", 0 },
	{ "255.255.255.255", 0xffffffff },
	{ "10.0.1.5", 0x0a000105 },
	{ "100.64.0.1", 0x64400001 },
	{ "169.254.1.1", 0xa9fe0101 },
	{ "192.168.100.200", 0xc0a864c8 },
	{ "1.2.3.4", 0x01020304 },
	{ "0.0.0.1", 0x00000001 },
	{ "128.0.0.0", 0x80000000 },
};

static const struct bad_text bad_ipv4[] = {
	{ "", "empty address" },
	{ NULL, "empty address" },
	{ "1.2.3", "is not an IPv4 address" },
	{ "1.2.3.4.5", "is not an IPv4 address" },
	{ "1.2.3.4.", "is not an IPv4 address" },
	{ ".1.2.3", "is not an IPv4 address" },
	{ "1..2.3", "is not an IPv4 address" },
	{ "01.2.3.4", "is not an IPv4 address" },
	{ "1.2.3.04", "is not an IPv4 address" },
	{ "1.2.3.00", "is not an IPv4 address" },
	{ "256.1.1.1", "is not an IPv4 address" },
	{ "1.2.3.256", "is not an IPv4 address" },
	{ "1.2.3.999", "is not an IPv4 address" },
	{ "4294967296.1.1.1", "is not an IPv4 address" },
	{ "99999999999.1.1.1", "is not an IPv4 address" },
	{ "a.b.c.d", "is not an IPv4 address" },
	{ "0x1.2.3.4", "is not an IPv4 address" },
	{ "+1.2.3.4", "is not an IPv4 address" },
	{ "1.2.3.-4", "is not an IPv4 address" },
	{ " 1.2.3.4", "is not an IPv4 address" },
	{ "1.2.3.4 ", "is not an IPv4 address" },
	{ "1.2.3.4/24", "is not an IPv4 address" },
	{ "1.2.3.4\n", "is not an IPv4 address" },
	{ "10", "is not an IPv4 address" },
};

START_TEST(test_parse_ipv4_valid)
{
	struct sharenat_error err;
	__be32 addr = 0xdeadbeef;
	int ret;

	reset_error(&err);
	ret = parse_ipv4(good_ipv4[_i].text, WHAT_IP, &addr, &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", good_ipv4[_i].text,
		      err.message);
	ck_assert_msg(ntohl(addr) == good_ipv4[_i].addr,
		      "'%s' gave %#010x, want %#010x", good_ipv4[_i].text,
		      ntohl(addr), good_ipv4[_i].addr);
}
END_TEST

START_TEST(test_parse_ipv4_invalid)
{
	struct sharenat_error err;
	__be32 addr;

	reset_error(&err);
	assert_failed_with(parse_ipv4(bad_ipv4[_i].text, WHAT_IP, &addr, &err),
			   &err, WHAT_IP, bad_ipv4[_i].text, bad_ipv4[_i].why);
}
END_TEST

/* The library may be called without an error to fill. */
START_TEST(test_parse_without_error_buffer)
{
	enum mapping_behaviour mapping;
	struct sg_rule rule;
	unsigned long count;
	__be32 addr, mask;
	__u16 lo, hi;
	__u8 mac[6];

	ck_assert_int_eq(parse_ipv4("1.2.3", WHAT_IP, &addr, NULL), -1);
	ck_assert_int_eq(parse_cidr("10.0.0.1/8", "x", &addr, &mask, NULL),
			 -1);
	ck_assert_int_eq(parse_port_range("9-1", "x", &lo, &hi, NULL), -1);
	ck_assert_int_eq(parse_name("-x", "x", NULL), -1);
	ck_assert_int_eq(parse_mac("01:00:5e:00:00:01", "x", mac, NULL), -1);
	ck_assert_int_eq(parse_mapping("none", "x", &mapping, NULL), -1);
	ck_assert_int_eq(parse_sg_rule("icmp:10.0.0.0/8:1", "x", &rule, NULL),
			 -1);
	ck_assert_int_eq(parse_count("0", "x", 10, &count, NULL), -1);
	ck_assert_int_eq(parse_ipv4("1.2.3.4", WHAT_IP, &addr, NULL), 0);
	ck_assert_uint_eq(ntohl(addr), 0x01020304);
}
END_TEST

/* ---- parse_cidr ---- */

#define WHAT_CIDR "attach --subnet"

static const struct {
	const char *text;
	uint32_t addr;		/* host order */
	uint32_t mask;
} good_cidr[] = {
	{ "10.0.1.0/24", 0x0a000100, 0xffffff00 },
	{ "0.0.0.0/0", 0, 0 },
	{ "10.0.1.5/32", 0x0a000105, 0xffffffff },
	{ "10.0.0.0/8", 0x0a000000, 0xff000000 },
	{ "100.64.0.0/10", 0x64400000, 0xffc00000 },
	{ "192.168.1.128/25", 0xc0a80180, 0xffffff80 },
	{ "128.0.0.0/1", 0x80000000, 0x80000000 },
	{ "10.0.1.254/31", 0x0a0001fe, 0xfffffffe },
	{ "255.255.255.255/32", 0xffffffff, 0xffffffff },
};

static const struct bad_text bad_cidr[] = {
	{ "", "empty CIDR" },
	{ NULL, "empty CIDR" },
	{ "10.0.1.0", "expected ADDR/LEN" },
	{ "10.0.1.1/24", "has host bits set: the subnet is 10.0.1.0/24" },
	{ "10.0.1.0/8", "has host bits set: the subnet is 10.0.0.0/8" },
	{ "10.0.1.5/31", "has host bits set: the subnet is 10.0.1.4/31" },
	{ "0.0.0.1/0", "has host bits set: the subnet is 0.0.0.0/0" },
	{ "10.0.1.0/33", "prefix length must be 0-32" },
	{ "10.0.1.0/", "prefix length must be 0-32" },
	{ "10.0.1.0/024", "prefix length must be 0-32" },
	{ "10.0.1.0/-1", "prefix length must be 0-32" },
	{ "10.0.1.0/24/1", "prefix length must be 0-32" },
	{ "10.0.1.0/2a", "prefix length must be 0-32" },
	{ "10.0.1.0/24 ", "prefix length must be 0-32" },
	{ "10.0.1.0/99999999999", "prefix length must be 0-32" },
	{ "/24", "bad address" },
	{ "10.0.1/24", "bad address" },
	{ "256.0.0.0/8", "bad address" },
	{ "010.0.0.0/8", "bad address" },
	{ "1111.111.111.111/8", "is not a CIDR" },
	{ "10.0.1.0.0.0.0.0/8", "is not a CIDR" },
};

START_TEST(test_parse_cidr_valid)
{
	struct sharenat_error err;
	__be32 addr = 0xdeadbeef, mask = 0xdeadbeef;
	int ret;

	reset_error(&err);
	ret = parse_cidr(good_cidr[_i].text, WHAT_CIDR, &addr, &mask, &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", good_cidr[_i].text,
		      err.message);
	ck_assert_msg(ntohl(addr) == good_cidr[_i].addr,
		      "'%s': address %#010x, want %#010x", good_cidr[_i].text,
		      ntohl(addr), good_cidr[_i].addr);
	ck_assert_msg(ntohl(mask) == good_cidr[_i].mask,
		      "'%s': mask %#010x, want %#010x", good_cidr[_i].text,
		      ntohl(mask), good_cidr[_i].mask);
}
END_TEST

START_TEST(test_parse_cidr_invalid)
{
	struct sharenat_error err;
	__be32 addr, mask;

	reset_error(&err);
	assert_failed_with(parse_cidr(bad_cidr[_i].text, WHAT_CIDR, &addr,
				      &mask, &err),
			   &err, WHAT_CIDR, bad_cidr[_i].text,
			   bad_cidr[_i].why);
}
END_TEST

/* ---- parse_port_range ---- */

#define WHAT_PORTS "--ports"

static const struct {
	const char *text;
	__u16 lo, hi;
} good_ports[] = {
	{ "1-65535", 1, 65535 },
	{ "1024-65535", 1024, 65535 },
	{ "5-5", 5, 5 },
	{ "1-1", 1, 1 },
	{ "65535-65535", 65535, 65535 },
	{ "40000-40100", 40000, 40100 },
};

static const struct bad_text bad_ports[] = {
	{ "", "empty port range" },
	{ NULL, "empty port range" },
	{ "10-5", "need 1 <= LO <= HI <= 65535" },
	{ "0-10", "need 1 <= LO <= HI <= 65535" },
	{ "0-0", "need 1 <= LO <= HI <= 65535" },
	{ "65535-1", "need 1 <= LO <= HI <= 65535" },
	{ "70000", "expected LO-HI" },
	{ "5", "expected LO-HI" },
	{ "70000-70001", "expected LO-HI" },
	{ "1-70000", "expected LO-HI" },
	{ "1-65536", "expected LO-HI" },
	{ "-5", "expected LO-HI" },
	{ "5-", "expected LO-HI" },
	{ "-", "expected LO-HI" },
	{ "1--5", "expected LO-HI" },
	{ "1-2-3", "expected LO-HI" },
	{ "01-5", "expected LO-HI" },
	{ "1-05", "expected LO-HI" },
	{ "a-b", "expected LO-HI" },
	{ " 1-5", "expected LO-HI" },
	{ "1-5 ", "expected LO-HI" },
	{ "+1-5", "expected LO-HI" },
	{ "1-0x10", "expected LO-HI" },
	{ "99999999999-1", "expected LO-HI" },
};

START_TEST(test_parse_port_range_valid)
{
	struct sharenat_error err;
	__u16 lo = 0, hi = 0;
	int ret;

	reset_error(&err);
	ret = parse_port_range(good_ports[_i].text, WHAT_PORTS, &lo, &hi,
			       &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", good_ports[_i].text,
		      err.message);
	ck_assert_msg(lo == good_ports[_i].lo && hi == good_ports[_i].hi,
		      "'%s' gave %u-%u, want %u-%u", good_ports[_i].text, lo,
		      hi, good_ports[_i].lo, good_ports[_i].hi);
}
END_TEST

START_TEST(test_parse_port_range_invalid)
{
	struct sharenat_error err;
	__u16 lo, hi;

	reset_error(&err);
	assert_failed_with(parse_port_range(bad_ports[_i].text, WHAT_PORTS,
					    &lo, &hi, &err),
			   &err, WHAT_PORTS, bad_ports[_i].text,
			   bad_ports[_i].why);
}
END_TEST

/* ---- parse_name ---- */

#define WHAT_NAME "function add"

static const char *const good_names[] = {
	"f1", "a", "Z", "7", "A.b_c-d", "0abc", "sandbox-0001", "x..y",
	"a-", "a_", NAME_31,
};

static const struct bad_text bad_names[] = {
	{ "", "empty name" },
	{ NULL, "empty name" },
	{ NAME_32, "is longer than 31 characters" },
	{ NAME_100, "...' is longer than 31 characters" },
	{ "-abc", "must start with a letter or digit" },
	{ ".abc", "must start with a letter or digit" },
	{ "_abc", "must start with a letter or digit" },
	{ " abc", "must start with a letter or digit" },
	{ "a b", "may hold only letters, digits, '.', '_' and '-'" },
	{ "a/b", "may hold only" },
	{ "a@b", "may hold only" },
	{ "a:b", "may hold only" },
	{ "a\tb", "may hold only" },
	{ "a\nb", "may hold only" },
	{ "abc ", "may hold only" },
	{ "caf\xc3\xa9", "may hold only" },
	{ "a*", "may hold only" },
};

START_TEST(test_parse_name_valid)
{
	struct sharenat_error err;
	int ret;

	reset_error(&err);
	ret = parse_name(good_names[_i], WHAT_NAME, &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", good_names[_i],
		      err.message);
}
END_TEST

START_TEST(test_parse_name_invalid)
{
	struct sharenat_error err;

	reset_error(&err);
	assert_failed_with(parse_name(bad_names[_i].text, WHAT_NAME, &err),
			   &err, WHAT_NAME, bad_names[_i].text,
			   bad_names[_i].why);
}
END_TEST

/* ---- parse_mac ---- */

#define WHAT_MAC "--mac"

static const struct {
	const char *text;
	__u8 mac[6];
} good_macs[] = {
	{ "02:00:00:00:00:01", { 0x02, 0, 0, 0, 0, 0x01 } },
	{ "00:1b:21:3a:4f:5e", { 0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5e } },
	{ "AA:BB:CC:DD:EE:FF", { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff } },
	{ "fe:ff:ff:ff:ff:ff", { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff } },
	{ "Ac:bD:eF:01:23:45", { 0xac, 0xbd, 0xef, 0x01, 0x23, 0x45 } },
};

static const struct bad_text bad_macs[] = {
	{ "", "expected aa:bb:cc:dd:ee:ff" },
	{ NULL, "expected aa:bb:cc:dd:ee:ff" },
	{ "01:00:5e:00:00:01", "is a multicast MAC" },
	{ "ff:ff:ff:ff:ff:ff", "is a multicast MAC" },
	{ "33:33:00:00:00:01", "is a multicast MAC" },
	{ "03:00:00:00:00:00", "is a multicast MAC" },
	{ "02-00-00-00-00-01", "expected aa:bb:cc:dd:ee:ff" },
	{ "02.00.00.00.00.01", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:00;01", "expected aa:bb:cc:dd:ee:ff" },
	{ "0200.0000.0001", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:00", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:00:01:02", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:00:1", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:00:001", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:00:01 ", "expected aa:bb:cc:dd:ee:ff" },
	{ "2:0:0:0:0:1", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:00:0g", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:0001:", "expected aa:bb:cc:dd:ee:ff" },
	{ "+2:00:00:00:00:01", "expected aa:bb:cc:dd:ee:ff" },
	{ "02:00:00:00:00:-1", "expected aa:bb:cc:dd:ee:ff" },
};

START_TEST(test_parse_mac_valid)
{
	struct sharenat_error err;
	__u8 mac[6] = { 0 };
	int ret;

	reset_error(&err);
	ret = parse_mac(good_macs[_i].text, WHAT_MAC, mac, &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", good_macs[_i].text,
		      err.message);
	ck_assert_msg(memcmp(mac, good_macs[_i].mac, 6) == 0,
		      "'%s' gave %02x:%02x:%02x:%02x:%02x:%02x",
		      good_macs[_i].text, mac[0], mac[1], mac[2], mac[3],
		      mac[4], mac[5]);
}
END_TEST

START_TEST(test_parse_mac_invalid)
{
	struct sharenat_error err;
	__u8 mac[6];

	reset_error(&err);
	assert_failed_with(parse_mac(bad_macs[_i].text, WHAT_MAC, mac, &err),
			   &err, WHAT_MAC, bad_macs[_i].text, bad_macs[_i].why);
}
END_TEST

/* ---- parse_subnet_ref ---- */

#define WHAT_SUBNET "function add --subnet"

static const struct {
	const char *text;
	uint32_t addr;		/* host order */
	uint32_t mask;
	const char *dev;	/* NULL: no @DEV */
	size_t dev_buf_len;	/* 0: IFNAMSIZ */
} good_subnet_refs[] = {
	{ "10.0.1.0/24", 0x0a000100, 0xffffff00, NULL, 0 },
	{ "10.0.1.0/24@eniA", 0x0a000100, 0xffffff00, "eniA", 0 },
	{ "0.0.0.0/0@lo", 0, 0, "lo", 0 },
	{ "255.255.255.255/32@x", 0xffffffff, 0xffffffff, "x", 0 },
	{ "10.0.0.0/8@" DEV_15, 0x0a000000, 0xff000000, DEV_15, 0 },
	{ "10.0.1.0/24@eth0", 0x0a000100, 0xffffff00, "eth0", 5 },
};

static const struct {
	const char *text;
	size_t dev_buf_len;	/* 0: IFNAMSIZ */
	const char *why;
} bad_subnet_refs[] = {
	{ "", 0, "empty subnet" },
	{ NULL, 0, "empty subnet" },
	{ "10.0.1.0/24@", 0, "device name after '@' must be 1-15 characters" },
	{ "10.0.1.0/24@" DEV_16, 0, "device name after '@' must be 1-15" },
	{ "10.0.1.0/24@eth0", 4, "device name after '@' must be 1-3 characters" },
	{ "10.0.1.1/24@eth0", 0, "host bits set: the subnet is 10.0.1.0/24" },
	{ "10.0.1.1/24", 0, "host bits set: the subnet is 10.0.1.0/24" },
	{ "10.0.1.0/33@eth0", 0, "prefix length must be 0-32" },
	{ "10.0.1.0@eth0", 0, "expected ADDR/LEN" },
	{ "@eth0", 0, "empty CIDR" },
	{ "1.2.3/24@eth0", 0, "bad address" },
	{ "100.100.100.100/3222@eth0", 0, "expected CIDR or CIDR@DEV" },
};

/* The tables give a short dev_buf only where the case is about it. */
static size_t dev_buf_len_or_default(size_t len)
{
	return len ? len : IFNAMSIZ;
}

START_TEST(test_parse_subnet_ref_valid)
{
	size_t buf_len =
		dev_buf_len_or_default(good_subnet_refs[_i].dev_buf_len);
	const char *text = good_subnet_refs[_i].text;
	const char *want_dev = good_subnet_refs[_i].dev;
	struct sharenat_subnet_ref ref;
	struct sharenat_error err;
	char dev_buf[IFNAMSIZ];
	int ret;

	memset(&ref, 0xa5, sizeof(ref));
	reset_error(&err);
	ret = parse_subnet_ref(text, WHAT_SUBNET, &ref, dev_buf, buf_len,
			       &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", text, err.message);
	ck_assert_msg(ntohl(ref.subnet_addr) == good_subnet_refs[_i].addr &&
		      ntohl(ref.subnet_mask) == good_subnet_refs[_i].mask,
		      "'%s' gave %#010x/%#010x", text, ntohl(ref.subnet_addr),
		      ntohl(ref.subnet_mask));
	if (!want_dev) {
		ck_assert_msg(ref.dev == NULL, "'%s': dev should be NULL",
			      text);
		return;
	}
	/* The device is copied out of text, so it outlives it. */
	ck_assert_msg(ref.dev == dev_buf, "'%s': dev does not point to "
		      "dev_buf", text);
	ck_assert_str_eq(ref.dev, want_dev);
}
END_TEST

START_TEST(test_parse_subnet_ref_invalid)
{
	size_t buf_len =
		dev_buf_len_or_default(bad_subnet_refs[_i].dev_buf_len);
	struct sharenat_subnet_ref ref;
	struct sharenat_error err;
	char dev_buf[IFNAMSIZ];

	reset_error(&err);
	assert_failed_with(parse_subnet_ref(bad_subnet_refs[_i].text,
					    WHAT_SUBNET, &ref, dev_buf,
					    buf_len, &err),
			   &err, WHAT_SUBNET, bad_subnet_refs[_i].text,
			   bad_subnet_refs[_i].why);
}
END_TEST

/* ---- parse_mapping ---- */

#define WHAT_MAPPING "--mapping"

static const struct {
	const char *text;
	enum mapping_behaviour mapping;
} good_mappings[] = {
	{ "independent", MAPPING_INDEPENDENT },
	{ "dependent", MAPPING_DEPENDENT },
};

static const struct bad_text bad_mappings[] = {
	{ "", "expected independent or dependent" },
	{ NULL, "expected independent or dependent" },
	{ "Independent", "expected independent or dependent" },
	{ "DEPENDENT", "expected independent or dependent" },
	{ "indep", "expected independent or dependent" },
	{ "dependent ", "expected independent or dependent" },
	{ "endpoint-independent", "expected independent or dependent" },
	{ "0", "expected independent or dependent" },
};

START_TEST(test_parse_mapping_valid)
{
	enum mapping_behaviour mapping = (enum mapping_behaviour)42;
	struct sharenat_error err;
	int ret;

	reset_error(&err);
	ret = parse_mapping(good_mappings[_i].text, WHAT_MAPPING, &mapping,
			    &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", good_mappings[_i].text,
		      err.message);
	ck_assert_int_eq(mapping, good_mappings[_i].mapping);
}
END_TEST

START_TEST(test_parse_mapping_invalid)
{
	enum mapping_behaviour mapping;
	struct sharenat_error err;

	reset_error(&err);
	assert_failed_with(parse_mapping(bad_mappings[_i].text, WHAT_MAPPING,
					 &mapping, &err),
			   &err, WHAT_MAPPING, bad_mappings[_i].text,
			   bad_mappings[_i].why);
}
END_TEST

/* ---- parse_mode ---- */

#define WHAT_MODE "--mode"

static const struct {
	const char *text;
	enum nat_hook hook;
} good_modes[] = {
	{ "xdp", NAT_HOOK_XDP },
	{ "tc", NAT_HOOK_TC },
};

static const struct bad_text bad_modes[] = {
	{ "", "expected xdp or tc" },
	{ NULL, "expected xdp or tc" },
	{ "XDP", "expected xdp or tc" },
	{ "tcx", "expected xdp or tc" },
	{ "xdp ", "expected xdp or tc" },
	{ "bpf", "expected xdp or tc" },
};

START_TEST(test_parse_mode_valid)
{
	enum nat_hook hook = (enum nat_hook)42;
	struct sharenat_error err;
	int ret;

	reset_error(&err);
	ret = parse_mode(good_modes[_i].text, WHAT_MODE, &hook, &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", good_modes[_i].text,
		      err.message);
	ck_assert_int_eq(hook, good_modes[_i].hook);
}
END_TEST

START_TEST(test_parse_mode_invalid)
{
	enum nat_hook hook;
	struct sharenat_error err;

	reset_error(&err);
	assert_failed_with(parse_mode(bad_modes[_i].text, WHAT_MODE, &hook,
				      &err),
			   &err, WHAT_MODE, bad_modes[_i].text,
			   bad_modes[_i].why);
}
END_TEST

/* ---- parse_sg_rule ---- */

#define WHAT_RULE "sg add --allow"

static const struct {
	const char *text;
	uint8_t proto;		/* 0: all */
	uint32_t addr;		/* host order */
	uint32_t mask;
	__u16 port_lo, port_hi;
} good_sg_rules[] = {
	{ "tcp:10.0.1.0/24:80", IPPROTO_TCP, 0x0a000100, 0xffffff00, 80, 80 },
	{ "udp:0.0.0.0/0:53-60", IPPROTO_UDP, 0, 0, 53, 60 },
	/* No port: every port, which is what the BPF check compares. */
	{ "icmp:10.0.0.0/8", IPPROTO_ICMP, 0x0a000000, 0xff000000, 0, 65535 },
	{ "all:10.0.1.10/32", 0, 0x0a00010a, 0xffffffff, 0, 65535 },
	{ "tcp:10.0.1.0/24", IPPROTO_TCP, 0x0a000100, 0xffffff00, 0, 65535 },
	{ "udp:10.0.1.10/32:65535", IPPROTO_UDP, 0x0a00010a, 0xffffffff,
	  65535, 65535 },
	{ "tcp:0.0.0.0/0:1-65535", IPPROTO_TCP, 0, 0, 1, 65535 },
	{ "udp:192.168.0.0/16:1", IPPROTO_UDP, 0xc0a80000, 0xffff0000, 1, 1 },
};

static const struct bad_text bad_sg_rules[] = {
	{ "", "empty rule" },
	{ NULL, "empty rule" },
	{ "tcp", "expected PROTO:CIDR[:PORT[-PORT]]" },
	{ "sctp:10.0.1.0/24", "protocol must be tcp, udp, icmp or all" },
	{ "TCP:10.0.1.0/24:80", "protocol must be tcp, udp, icmp or all" },
	{ ":10.0.1.0/24", "protocol must be tcp, udp, icmp or all" },
	{ "tcpudpicmp:10.0.1.0/24", "unknown protocol" },
	{ "icmp:10.0.0.0/8:80", "only tcp and udp rules take ports" },
	{ "all:10.0.1.10/32:80", "only tcp and udp rules take ports" },
	{ "all:10.0.1.10/32:1-2", "only tcp and udp rules take ports" },
	{ "tcp:10.0.1.1/24:80", "host bits set: the subnet is 10.0.1.0/24" },
	{ "tcp:10.0.1.0:80", "expected ADDR/LEN" },
	{ "tcp:10.0.1.0/33", "prefix length must be 0-32" },
	{ "tcp:10.0.1/24:80", "bad address" },
	{ "tcp:", "empty CIDR" },
	{ "tcp::80", "empty CIDR" },
	{ "tcp:1111111111111.0.0.0/8:80", "bad CIDR" },
	{ "tcp:10.0.1.0/24:0", "bad port" },
	{ "tcp:10.0.1.0/24:", "bad port" },
	{ "tcp:10.0.1.0/24:65536", "bad port" },
	{ "tcp:10.0.1.0/24:http", "bad port" },
	{ "tcp:10.0.1.0/24:080", "bad port" },
	{ "tcp:10.0.1.0/24:80:90", "bad port" },
	{ "tcp:10.0.1.0/24:80-10", "need 1 <= LO <= HI <= 65535" },
	{ "tcp:10.0.1.0/24:0-10", "need 1 <= LO <= HI <= 65535" },
	{ "udp:10.0.1.0/24:53-", "expected LO-HI" },
	{ "udp:10.0.1.0/24:-53", "expected LO-HI" },
	{ "udp:10.0.1.0/24:1-65536", "expected LO-HI" },
};

START_TEST(test_parse_sg_rule_valid)
{
	static const __u8 zero_pad[sizeof(((struct sg_rule *)0)->pad)];
	struct sharenat_error err;
	struct sg_rule rule;
	int ret;

	memset(&rule, 0xa5, sizeof(rule));
	reset_error(&err);
	ret = parse_sg_rule(good_sg_rules[_i].text, WHAT_RULE, &rule, &err);
	ck_assert_msg(ret == 0, "'%s' refused: %s", good_sg_rules[_i].text,
		      err.message);
	ck_assert_msg(rule.proto == good_sg_rules[_i].proto,
		      "'%s': proto %u, want %u", good_sg_rules[_i].text,
		      rule.proto, good_sg_rules[_i].proto);
	ck_assert_msg(ntohl(rule.addr) == good_sg_rules[_i].addr &&
		      ntohl(rule.mask) == good_sg_rules[_i].mask,
		      "'%s': %#010x/%#010x, want %#010x/%#010x",
		      good_sg_rules[_i].text, ntohl(rule.addr),
		      ntohl(rule.mask), good_sg_rules[_i].addr,
		      good_sg_rules[_i].mask);
	ck_assert_msg(rule.port_lo == good_sg_rules[_i].port_lo &&
		      rule.port_hi == good_sg_rules[_i].port_hi,
		      "'%s': ports %u-%u, want %u-%u", good_sg_rules[_i].text,
		      rule.port_lo, rule.port_hi, good_sg_rules[_i].port_lo,
		      good_sg_rules[_i].port_hi);
	/* The rule goes into a map as it is: no stale bytes. */
	ck_assert_msg(memcmp(rule.pad, zero_pad, sizeof(zero_pad)) == 0,
		      "'%s': padding not zeroed", good_sg_rules[_i].text);
}
END_TEST

START_TEST(test_parse_sg_rule_invalid)
{
	struct sharenat_error err;
	struct sg_rule rule;

	reset_error(&err);
	assert_failed_with(parse_sg_rule(bad_sg_rules[_i].text, WHAT_RULE,
					 &rule, &err),
			   &err, WHAT_RULE, bad_sg_rules[_i].text,
			   bad_sg_rules[_i].why);
}
END_TEST

/* ---- parse_count ---- */

#define WHAT_COUNT "--port-quota"

static const struct {
	const char *text;
	unsigned long max;
	unsigned long value;
} good_counts[] = {
	{ "1", 10, 1 },
	{ "10", 10, 10 },
	{ "1024", 65535, 1024 },
	{ "65535", 65535, 65535 },
	{ "86400", 86400, 86400 },
	{ "4294967295", 4294967295ul, 4294967295ul },
};

static const struct {
	const char *text;
	unsigned long max;
	const char *why;
} bad_counts[] = {
	{ "0", 10, "'0' is not a number from 1 to 10" },
	{ "11", 10, "'11' is not a number from 1 to 10" },
	{ "65536", 65535, "is not a number from 1 to 65535" },
	{ "", 10, "'' is not a number from 1 to 10" },
	{ NULL, 10, "is not a number from 1 to 10" },
	{ "-1", 10, "is not a number" },
	{ "+1", 10, "is not a number" },
	{ "01", 10, "is not a number" },
	{ "00", 10, "is not a number" },
	{ "1.5", 10, "is not a number" },
	{ " 1", 10, "is not a number" },
	{ "1 ", 10, "is not a number" },
	{ "1s", 86400, "is not a number" },
	{ "0x10", 86400, "is not a number" },
	{ "abc", 10, "is not a number" },
	{ "99999999999", 4294967295ul, "is not a number" },
};

START_TEST(test_parse_count_valid)
{
	struct sharenat_error err;
	unsigned long value = 12345678;
	int ret;

	reset_error(&err);
	ret = parse_count(good_counts[_i].text, WHAT_COUNT,
			  good_counts[_i].max, &value, &err);
	ck_assert_msg(ret == 0, "'%s' (max %lu) refused: %s",
		      good_counts[_i].text, good_counts[_i].max, err.message);
	ck_assert_msg(value == good_counts[_i].value, "'%s' gave %lu",
		      good_counts[_i].text, value);
}
END_TEST

START_TEST(test_parse_count_invalid)
{
	struct sharenat_error err;
	unsigned long value;

	reset_error(&err);
	assert_failed_with(parse_count(bad_counts[_i].text, WHAT_COUNT,
				       bad_counts[_i].max, &value, &err),
			   &err, WHAT_COUNT, bad_counts[_i].text,
			   bad_counts[_i].why);
}
END_TEST

/* ---- mask_prefix_len ---- */

static const struct {
	uint32_t mask;		/* host order */
	unsigned int len;
} prefix_lens[] = {
	{ 0x00000000, 0 },  { 0x80000000, 1 },  { 0xffc00000, 10 },
	{ 0xffff0000, 16 }, { 0xffffff00, 24 }, { 0xfffffffe, 31 },
	{ 0xffffffff, 32 },
};

START_TEST(test_mask_prefix_len_table)
{
	unsigned int len = mask_prefix_len(htonl(prefix_lens[_i].mask));

	ck_assert_msg(len == prefix_lens[_i].len, "mask %#010x: /%u, want /%u",
		      prefix_lens[_i].mask, len, prefix_lens[_i].len);
}
END_TEST

/* Every length round-trips through the mask parse_cidr makes for it. */
START_TEST(test_mask_prefix_len_matches_parse_cidr)
{
	struct sharenat_error err;
	__be32 addr, mask;
	unsigned int len;
	char text[32];

	for (len = 0; len <= 32; len++) {
		snprintf(text, sizeof(text), "0.0.0.0/%u", len);
		ck_assert_msg(parse_cidr(text, WHAT_CIDR, &addr, &mask, &err) ==
			      0, "'%s' refused: %s", text, err.message);
		ck_assert_msg(mask_prefix_len(mask) == len,
			      "'%s': mask_prefix_len gave %u", text,
			      mask_prefix_len(mask));
	}
}
END_TEST

/* ---- format_ipv4 ---- */

static const struct {
	uint32_t addr;		/* host order */
	const char *text;
} formatted[] = {
	{ 0x00000000, "0.0.0.0" },
	{ 0xffffffff, "255.255.255.255" },
	{ 0x0a000105, "10.0.1.5" },
	{ 0x64400001, "100.64.0.1" },
	{ 0xa9fe0101, "169.254.1.1" },
	{ 0x01020304, "1.2.3.4" },
};

START_TEST(test_format_ipv4_table)
{
	char buf[INET_ADDRSTRLEN];
	const char *text;

	memset(buf, 'x', sizeof(buf));
	text = format_ipv4(htonl(formatted[_i].addr), buf);
	ck_assert_ptr_eq(text, buf);
	ck_assert_str_eq(text, formatted[_i].text);
}
END_TEST

/* format_ipv4 and parse_ipv4 are inverses, and format_ipv4 agrees with a
 * plain printf of the four bytes, over a spread of addresses. */
START_TEST(test_format_ipv4_round_trip)
{
	uint32_t host = 0x12345678;
	char buf[INET_ADDRSTRLEN], want[INET_ADDRSTRLEN];
	struct sharenat_error err;
	__be32 parsed;
	int i;

	for (i = 0; i < 4096; i++) {
		host = host * 1664525u + 1013904223u;	/* LCG: spread */
		snprintf(want, sizeof(want), "%u.%u.%u.%u", host >> 24,
			 (host >> 16) & 0xff, (host >> 8) & 0xff, host & 0xff);
		format_ipv4(htonl(host), buf);
		ck_assert_msg(strcmp(buf, want) == 0, "%#010x formatted as "
			      "'%s', want '%s'", host, buf, want);
		ck_assert_msg(parse_ipv4(buf, WHAT_IP, &parsed, &err) == 0,
			      "'%s' refused: %s", buf, err.message);
		ck_assert_msg(ntohl(parsed) == host, "'%s' parsed as %#010x",
			      buf, ntohl(parsed));
	}
}
END_TEST

Suite *parse_suite(void)
{
	Suite *suite = suite_create("parse");
	TCase *tc;

	tc = tcase_create("ipv4");
	LOOP_TEST(tc, test_parse_ipv4_valid, good_ipv4);
	LOOP_TEST(tc, test_parse_ipv4_invalid, bad_ipv4);
	tcase_add_test(tc, test_parse_without_error_buffer);
	suite_add_tcase(suite, tc);

	tc = tcase_create("cidr");
	LOOP_TEST(tc, test_parse_cidr_valid, good_cidr);
	LOOP_TEST(tc, test_parse_cidr_invalid, bad_cidr);
	suite_add_tcase(suite, tc);

	tc = tcase_create("port_range");
	LOOP_TEST(tc, test_parse_port_range_valid, good_ports);
	LOOP_TEST(tc, test_parse_port_range_invalid, bad_ports);
	suite_add_tcase(suite, tc);

	tc = tcase_create("name");
	LOOP_TEST(tc, test_parse_name_valid, good_names);
	LOOP_TEST(tc, test_parse_name_invalid, bad_names);
	suite_add_tcase(suite, tc);

	tc = tcase_create("mac");
	LOOP_TEST(tc, test_parse_mac_valid, good_macs);
	LOOP_TEST(tc, test_parse_mac_invalid, bad_macs);
	suite_add_tcase(suite, tc);

	tc = tcase_create("subnet_ref");
	LOOP_TEST(tc, test_parse_subnet_ref_valid, good_subnet_refs);
	LOOP_TEST(tc, test_parse_subnet_ref_invalid, bad_subnet_refs);
	suite_add_tcase(suite, tc);

	tc = tcase_create("mapping");
	LOOP_TEST(tc, test_parse_mapping_valid, good_mappings);
	LOOP_TEST(tc, test_parse_mapping_invalid, bad_mappings);
	LOOP_TEST(tc, test_parse_mode_valid, good_modes);
	LOOP_TEST(tc, test_parse_mode_invalid, bad_modes);
	suite_add_tcase(suite, tc);

	tc = tcase_create("sg_rule");
	LOOP_TEST(tc, test_parse_sg_rule_valid, good_sg_rules);
	LOOP_TEST(tc, test_parse_sg_rule_invalid, bad_sg_rules);
	suite_add_tcase(suite, tc);

	tc = tcase_create("count");
	LOOP_TEST(tc, test_parse_count_valid, good_counts);
	LOOP_TEST(tc, test_parse_count_invalid, bad_counts);
	suite_add_tcase(suite, tc);

	tc = tcase_create("format");
	LOOP_TEST(tc, test_mask_prefix_len_table, prefix_lens);
	tcase_add_test(tc, test_mask_prefix_len_matches_parse_cidr);
	LOOP_TEST(tc, test_format_ipv4_table, formatted);
	tcase_add_test(tc, test_format_ipv4_round_trip);
	suite_add_tcase(suite, tc);

	return suite;
}

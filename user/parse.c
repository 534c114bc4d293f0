// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "parse.h"

/* A decimal number 0..max with no sign, no leading zero and no junk. */
static int parse_decimal(const char *start, const char *end,
			 unsigned long max, unsigned long *value)
{
	unsigned long v = 0;
	const char *p;

	if (start == end || end - start > 10)
		return -1;
	if (*start == '0' && end - start > 1)
		return -1;
	for (p = start; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > max)
		return -1;
	*value = v;
	return 0;
}

int parse_ipv4(const char *text, const char *what, __be32 *addr,
	       struct sharenat_error *err)
{
	const char *part = text;
	__u32 host = 0;
	int i;

	if (!text || !*text)
		return fail(err, what, "empty address");
	for (i = 0; i < 4; i++) {
		const char *end = strchr(part, '.');
		unsigned long octet;

		if (i == 3)
			end = part + strlen(part);
		else if (!end)
			return fail(err, what, "'%s' is not an IPv4 address",
				    text);
		if (parse_decimal(part, end, 255, &octet))
			return fail(err, what, "'%s' is not an IPv4 address",
				    text);
		host = host << 8 | (__u32)octet;
		part = end + 1;
	}
	*addr = htonl(host);
	return 0;
}

int parse_cidr(const char *text, const char *what, __be32 *addr,
	       __be32 *mask, struct sharenat_error *err)
{
	char buf[INET_ADDRSTRLEN];
	const char *slash;
	unsigned long len;
	__u32 host_mask;

	if (!text || !*text)
		return fail(err, what, "empty CIDR");
	slash = strchr(text, '/');
	if (!slash)
		return fail(err, what, "'%s' is not a CIDR: expected ADDR/LEN",
			    text);
	if ((size_t)(slash - text) >= sizeof(buf))
		return fail(err, what, "'%s' is not a CIDR", text);
	memcpy(buf, text, slash - text);
	buf[slash - text] = '\0';
	if (parse_ipv4(buf, what, addr, err))
		return fail(err, what, "'%s' is not a CIDR: bad address", text);
	if (parse_decimal(slash + 1, slash + 1 + strlen(slash + 1), 32, &len))
		return fail(err, what,
			    "'%s' is not a CIDR: prefix length must be 0-32",
			    text);
	host_mask = len ? 0xffffffffu << (32 - len) : 0;
	if (ntohl(*addr) & ~host_mask)
		return fail(err, what,
			    "'%s' has host bits set: the subnet is %s/%lu",
			    text, format_ipv4(htonl(ntohl(*addr) & host_mask),
					      buf), len);
	*mask = htonl(host_mask);
	return 0;
}

int parse_port_range(const char *text, const char *what, __u16 *lo,
		     __u16 *hi, struct sharenat_error *err)
{
	const char *dash;
	unsigned long low, high;

	if (!text || !*text)
		return fail(err, what, "empty port range");
	dash = strchr(text, '-');
	if (!dash || parse_decimal(text, dash, 65535, &low) ||
	    parse_decimal(dash + 1, dash + 1 + strlen(dash + 1), 65535,
			  &high))
		return fail(err, what,
			    "'%s' is not a port range: expected LO-HI", text);
	if (low == 0 || low > high)
		return fail(err, what,
			    "'%s': need 1 <= LO <= HI <= 65535", text);
	*lo = (__u16)low;
	*hi = (__u16)high;
	return 0;
}

int parse_name(const char *text, const char *what,
	       struct sharenat_error *err)
{
	size_t len, i;

	if (!text || !*text)
		return fail(err, what, "empty name");
	len = strlen(text);
	if (len >= SHARENAT_NAME_MAX)
		return fail(err, what, "name '%.40s%s' is longer than %d "
			    "characters", text, len > 40 ? "..." : "",
			    SHARENAT_NAME_MAX - 1);
	if (!isalnum((unsigned char)text[0]))
		return fail(err, what,
			    "name '%s' must start with a letter or digit",
			    text);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return fail(err, what, "name '%s' may hold only "
				    "letters, digits, '.', '_' and '-'", text);
	}
	return 0;
}

int parse_mac(const char *text, const char *what, __u8 mac[6],
	      struct sharenat_error *err)
{
	unsigned int i;

	if (!text || strlen(text) != 17)
		return fail(err, what, "'%s' is not a MAC: expected "
			    "aa:bb:cc:dd:ee:ff", text ? text : "");
	for (i = 0; i < 6; i++) {
		const char *p = text + 3 * i;
		char hex[3] = { p[0], p[1], '\0' };

		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]) ||
		    (i < 5 && p[2] != ':'))
			return fail(err, what, "'%s' is not a MAC: expected "
				    "aa:bb:cc:dd:ee:ff", text);
		mac[i] = (__u8)strtoul(hex, NULL, 16);
	}
	if (mac[0] & 1)
		return fail(err, what, "'%s' is a multicast MAC", text);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return fail(err, what, "'%s' is the all-zero MAC", text);
	return 0;
}

int parse_subnet_ref(const char *text, const char *what,
		     struct sharenat_subnet_ref *ref, char *dev_buf,
		     size_t dev_buf_len, struct sharenat_error *err)
{
	char cidr[INET_ADDRSTRLEN + 4];
	const char *at;
	size_t cidr_len;

	if (!text || !*text)
		return fail(err, what, "empty subnet");
	at = strchr(text, '@');
	cidr_len = at ? (size_t)(at - text) : strlen(text);
	if (cidr_len >= sizeof(cidr))
		return fail(err, what, "'%s' is not a subnet: expected "
			    "CIDR or CIDR@DEV", text);
	memcpy(cidr, text, cidr_len);
	cidr[cidr_len] = '\0';
	if (parse_cidr(cidr, what, &ref->subnet_addr, &ref->subnet_mask, err))
		return -1;
	ref->dev = NULL;
	if (at) {
		size_t dev_len = strlen(at + 1);

		size_t longest = (dev_buf_len < IFNAMSIZ ? dev_buf_len :
				  IFNAMSIZ) - 1;

		if (dev_len == 0 || dev_len > longest)
			return fail(err, what, "'%s': device name after '@' "
				    "must be 1-%zu characters", text, longest);
		memcpy(dev_buf, at + 1, dev_len + 1);
		ref->dev = dev_buf;
	}
	return 0;
}

int parse_mode(const char *text, const char *what, enum nat_hook *hook,
	       struct sharenat_error *err)
{
	if (text && !strcmp(text, "xdp"))
		*hook = NAT_HOOK_XDP;
	else if (text && !strcmp(text, "tc"))
		*hook = NAT_HOOK_TC;
	else
		return fail(err, what, "'%s' is not a mode: expected xdp or "
			    "tc", text ? text : "");
	return 0;
}

int parse_mapping(const char *text, const char *what,
		  enum mapping_behaviour *mapping,
		  struct sharenat_error *err)
{
	if (text && !strcmp(text, "independent"))
		*mapping = MAPPING_INDEPENDENT;
	else if (text && !strcmp(text, "dependent"))
		*mapping = MAPPING_DEPENDENT;
	else
		return fail(err, what, "'%s' is not a mapping: expected "
			    "independent or dependent", text ? text : "");
	return 0;
}

int parse_sg_rule(const char *text, const char *what, struct sg_rule *rule,
		  struct sharenat_error *err)
{
	char proto[8], cidr[INET_ADDRSTRLEN + 4];
	const char *first, *second;
	size_t proto_len, cidr_len;

	memset(rule, 0, sizeof(*rule));
	if (!text || !*text)
		return fail(err, what, "empty rule");
	first = strchr(text, ':');
	if (!first)
		return fail(err, what, "'%s' is not a rule: expected "
			    "PROTO:CIDR[:PORT[-PORT]]", text);
	proto_len = (size_t)(first - text);
	if (proto_len >= sizeof(proto))
		return fail(err, what, "'%s': unknown protocol", text);
	memcpy(proto, text, proto_len);
	proto[proto_len] = '\0';
	if (!strcmp(proto, "tcp"))
		rule->proto = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		rule->proto = IPPROTO_UDP;
	else if (!strcmp(proto, "icmp"))
		rule->proto = IPPROTO_ICMP;
	else if (strcmp(proto, "all"))
		return fail(err, what, "'%s': protocol must be tcp, udp, icmp "
			    "or all", text);

	second = strchr(first + 1, ':');
	cidr_len = second ? (size_t)(second - first - 1) : strlen(first + 1);
	if (cidr_len >= sizeof(cidr))
		return fail(err, what, "'%s': bad CIDR", text);
	memcpy(cidr, first + 1, cidr_len);
	cidr[cidr_len] = '\0';
	if (parse_cidr(cidr, what, &rule->addr, &rule->mask, err))
		return -1;

	rule->port_lo = 0;
	rule->port_hi = 65535;
	if (!second)
		return 0;
	if (rule->proto != IPPROTO_TCP && rule->proto != IPPROTO_UDP)
		return fail(err, what, "'%s': only tcp and udp rules take "
			    "ports", text);
	if (!strchr(second + 1, '-')) {
		unsigned long port;

		if (parse_count(second + 1, what, 65535, &port, err))
			return fail(err, what, "'%s': bad port", text);
		rule->port_lo = rule->port_hi = (__u16)port;
		return 0;
	}
	return parse_port_range(second + 1, what, &rule->port_lo,
				&rule->port_hi, err);
}

int parse_count(const char *text, const char *what, unsigned long max,
		unsigned long *value, struct sharenat_error *err)
{
	if (!text || parse_decimal(text, text + strlen(text), max, value) ||
	    *value == 0)
		return fail(err, what, "'%s' is not a number from 1 to %lu",
			    text ? text : "", max);
	return 0;
}

unsigned int mask_prefix_len(__be32 mask)
{
	return (unsigned int)__builtin_popcount(ntohl(mask));
}

const char *format_ipv4(__be32 addr, char *buf)
{
	struct in_addr in = { .s_addr = addr };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

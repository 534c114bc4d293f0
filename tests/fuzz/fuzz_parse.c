// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer targets for the CLI's parsers (user/parse.c), one binary per
 * parser: built with -DFUZZ_TARGET=fuzz_NAME and
 * -fsanitize=fuzzer,address,undefined (make fuzz-parsers). Beyond memory
 * errors and undefined behaviour, each target checks what its parser
 * promises (user/parse.h), and aborts when a promise is broken:
 *
 *  - what it accepts is what it says: the canonical form printed back is
 *    the input (an address has no leading zeros, a port range no sign);
 *  - the values are in range (CIDR: no host bits, a contiguous mask; port
 *    range: 1 <= LO <= HI; names: 1-31 characters of [A-Za-z0-9._-]
 *    starting with a letter or digit; MAC: unicast and not all zero;
 *    rules: known protocol, ports only for tcp and udp);
 *  - a refusal leaves one error "WHAT: WHY", NUL-terminated, in the buffer.
 *
 * The input is handed over as a NUL-terminated copy (the parsers take C
 * strings, as from argv), in a buffer of exactly its size, so any read past
 * its end is ASan's.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define WHAT "fuzz"

#define REQUIRE(cond) do {						\
		if (!(cond)) {						\
			fprintf(stderr, "broken promise: %s (%s:%d)\n",	\
				#cond, __FILE__, __LINE__);		\
			abort();					\
		}							\
	} while (0)

static void error_is_one_message(const struct sharenat_error *err)
{
	REQUIRE(memchr(err->message, '\0', sizeof(err->message)));
	REQUIRE(!strncmp(err->message, WHAT ": ", strlen(WHAT ": ")));
}

static int prefix_len(__u32 mask)
{
	int len = 0;

	while (mask & 0x80000000u) {
		len++;
		mask <<= 1;
	}
	return mask ? -1 : len;	/* -1: not contiguous */
}

static void cidr_is_sound(__be32 addr, __be32 mask)
{
	REQUIRE(prefix_len(ntohl(mask)) >= 0);
	REQUIRE((addr & ~mask) == 0);
}

__attribute__((unused))
static void fuzz_ipv4(const char *text)
{
	struct sharenat_error err = { "" };
	char back[INET_ADDRSTRLEN];
	__be32 addr;

	if (parse_ipv4(text, WHAT, &addr, &err)) {
		error_is_one_message(&err);
		return;
	}
	REQUIRE(format_ipv4(addr, back));
	REQUIRE(!strcmp(back, text));
}

__attribute__((unused))
static void fuzz_cidr(const char *text)
{
	struct sharenat_error err = { "" };
	char back[INET_ADDRSTRLEN + 4], addr_text[INET_ADDRSTRLEN];
	__be32 addr, mask;

	if (parse_cidr(text, WHAT, &addr, &mask, &err)) {
		error_is_one_message(&err);
		return;
	}
	cidr_is_sound(addr, mask);
	snprintf(back, sizeof(back), "%s/%u", format_ipv4(addr, addr_text),
		 mask_prefix_len(mask));
	REQUIRE(!strcmp(back, text));
}

__attribute__((unused))
static void fuzz_port_range(const char *text)
{
	struct sharenat_error err = { "" };
	char back[16];
	__u16 lo, hi;

	if (parse_port_range(text, WHAT, &lo, &hi, &err)) {
		error_is_one_message(&err);
		return;
	}
	REQUIRE(lo >= 1 && lo <= hi);
	snprintf(back, sizeof(back), "%u-%u", lo, hi);
	REQUIRE(!strcmp(back, text));
}

__attribute__((unused))
static void fuzz_name(const char *text)
{
	struct sharenat_error err = { "" };
	size_t len, i;

	if (parse_name(text, WHAT, &err)) {
		error_is_one_message(&err);
		return;
	}
	len = strlen(text);
	REQUIRE(len >= 1 && len < SHARENAT_NAME_MAX);
	REQUIRE(isalnum((unsigned char)text[0]));
	for (i = 0; i < len; i++)
		REQUIRE(isalnum((unsigned char)text[i]) || text[i] == '.' ||
			text[i] == '_' || text[i] == '-');
}

__attribute__((unused))
static void fuzz_mac(const char *text)
{
	struct sharenat_error err = { "" };
	char back[18], lower[18];
	__u8 mac[6];
	size_t i;

	if (parse_mac(text, WHAT, mac, &err)) {
		error_is_one_message(&err);
		return;
	}
	REQUIRE(!(mac[0] & 1));
	REQUIRE(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
	REQUIRE(strlen(text) == 17);
	for (i = 0; i < 17; i++)
		lower[i] = (char)tolower((unsigned char)text[i]);
	lower[17] = '\0';
	snprintf(back, sizeof(back), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	REQUIRE(!strcmp(back, lower));
}

__attribute__((unused))
static void fuzz_subnet_ref(const char *text)
{
	struct sharenat_error err = { "" };
	struct sharenat_subnet_ref ref;
	/* Exactly the size the CLI passes, on the heap: an overflow of
	 * the device copy is ASan's. */
	char *dev = malloc(IF_NAMESIZE);
	const char *at = strchr(text, '@');

	REQUIRE(dev);
	if (parse_subnet_ref(text, WHAT, &ref, dev, IF_NAMESIZE, &err)) {
		error_is_one_message(&err);
		free(dev);
		return;
	}
	cidr_is_sound(ref.subnet_addr, ref.subnet_mask);
	if (at) {
		REQUIRE(ref.dev == dev);
		REQUIRE(!strcmp(ref.dev, at + 1));
		REQUIRE(strlen(ref.dev) >= 1 && strlen(ref.dev) < IF_NAMESIZE);
	} else {
		REQUIRE(ref.dev == NULL);
	}
	free(dev);
}

__attribute__((unused))
static void fuzz_sg_rule(const char *text)
{
	struct sharenat_error err = { "" };
	struct sg_rule rule;

	if (parse_sg_rule(text, WHAT, &rule, &err)) {
		error_is_one_message(&err);
		return;
	}
	REQUIRE(rule.proto == 0 || rule.proto == IPPROTO_ICMP ||
		rule.proto == IPPROTO_TCP || rule.proto == IPPROTO_UDP);
	cidr_is_sound(rule.addr, rule.mask);
	REQUIRE(rule.port_lo <= rule.port_hi);
	if (rule.proto != IPPROTO_TCP && rule.proto != IPPROTO_UDP)
		REQUIRE(rule.port_lo == 0 && rule.port_hi == 65535);
	REQUIRE(!rule.pad[0] && !rule.pad[1] && !rule.pad[2]);
}

__attribute__((unused))
static void fuzz_count(const char *text)
{
	static const unsigned long maxes[] = { 1, 255, 65535, 86400,
					       4294967295ul, ULONG_MAX };
	unsigned int i;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		struct sharenat_error err = { "" };
		unsigned long value;
		char back[24];

		if (parse_count(text, WHAT, maxes[i], &value, &err)) {
			error_is_one_message(&err);
			continue;
		}
		REQUIRE(value >= 1 && value <= maxes[i]);
		snprintf(back, sizeof(back), "%lu", value);
		REQUIRE(!strcmp(back, text));
	}
}

__attribute__((unused))
static void fuzz_mapping(const char *text)
{
	struct sharenat_error err = { "" };
	enum mapping_behaviour mapping;

	if (parse_mapping(text, WHAT, &mapping, &err)) {
		error_is_one_message(&err);
		return;
	}
	REQUIRE((mapping == MAPPING_INDEPENDENT &&
		 !strcmp(text, "independent")) ||
		(mapping == MAPPING_DEPENDENT && !strcmp(text, "dependent")));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	FUZZ_TARGET(text);
	free(text);
	return 0;
}

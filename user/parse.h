/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsers for what the CLI takes: addresses, CIDRs, port ranges, names,
 * MACs and subnet references. Pure functions: each returns 0, or -1 with
 * err saying what was wrong with the text (what = the text's role).
 */
#ifndef SHARENAT_USER_PARSE_H
#define SHARENAT_USER_PARSE_H

#include "libsharenat.h"

/* Dotted quad, exactly four decimal parts 0-255, no leading zeros. */
int parse_ipv4(const char *text, const char *what, __be32 *addr,
	       struct sharenat_error *err);
/* ADDR/LEN with LEN 0-32 and no host bits set. */
int parse_cidr(const char *text, const char *what, __be32 *addr,
	       __be32 *mask, struct sharenat_error *err);
/* LO-HI, 1 <= LO <= HI <= 65535. */
int parse_port_range(const char *text, const char *what, __u16 *lo,
		     __u16 *hi, struct sharenat_error *err);
/* 1 to SHARENAT_NAME_MAX-1 characters of [A-Za-z0-9._-], first one a
 * letter or digit. */
int parse_name(const char *text, const char *what,
	       struct sharenat_error *err);
/* aa:bb:cc:dd:ee:ff, unicast. */
int parse_mac(const char *text, const char *what, __u8 mac[6],
	      struct sharenat_error *err);
/* CIDR or CIDR@DEV. ref->dev points to a copy of DEV in dev_buf, or is
 * NULL. */
int parse_subnet_ref(const char *text, const char *what,
		     struct sharenat_subnet_ref *ref, char *dev_buf,
		     size_t dev_buf_len, struct sharenat_error *err);
/* PROTO:CIDR[:PORT[-PORT]], PROTO one of tcp, udp, icmp, all; no port
 * means all ports; icmp and all take none. */
int parse_sg_rule(const char *text, const char *what, struct sg_rule *rule,
		  struct sharenat_error *err);
/* A decimal count 1..max. */
int parse_count(const char *text, const char *what, unsigned long max,
		unsigned long *value, struct sharenat_error *err);
/* xdp | tc: the ingress hook of an attachment. */
int parse_mode(const char *text, const char *what, enum nat_hook *hook,
	       struct sharenat_error *err);
/* independent | dependent */
int parse_mapping(const char *text, const char *what,
		  enum mapping_behaviour *mapping,
		  struct sharenat_error *err);

/* Prefix length of a contiguous mask (network order). */
unsigned int mask_prefix_len(__be32 mask);
/* Format ADDR into buf (INET_ADDRSTRLEN). */
const char *format_ipv4(__be32 addr, char *buf);

#endif

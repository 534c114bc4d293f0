// SPDX-License-Identifier: GPL-2.0
/*
 * The invariants of one run. What can be asserted from include/sharenat.h
 * and the programs, for any frame whatever:
 *
 * verdict            egress: TC_ACT_SHOT, TC_ACT_REDIRECT or TC_ACT_STOLEN
 *                    (a fragment held); tc ingress: TC_ACT_OK and those
 *                    three; XDP (ingress and egress): XDP_PASS,
 *                    XDP_DROP or XDP_REDIRECT. A test run only fails with
 *                    EINVAL, the kernel refusing the frame.
 * refused_no_effect  a frame the kernel refused changed nothing (the
 *                    sweeper's own counters may move meanwhile).
 * counters           one packet moves each counter at most once, and exactly
 *                    one outcome: a drop moves exactly one drop_* counter
 *                    and no translation; a redirect moves exactly one of
 *                    egress_translated, ingress_translated,
 *                    icmp_error_translated, fragment_translated,
 *                    arp_replied and no drop; a pass moves no drop and no
 *                    translation, at most ingress_not_ours,
 *                    ingress_xdp_to_tc or egress_xdp_to_tc. XDP ingress's
 *                    XDP_REDIRECT moves ingress_xdp_fast_path, nothing
 *                    else does. XDP egress moves egress_xdp_to_tc alone
 *                    with XDP_PASS, exactly egress_translated and
 *                    egress_xdp_fast_path with XDP_REDIRECT, and no drop
 *                    but drop_malformed (alone, with XDP_DROP); tc moves
 *                    no XDP counter (nor neighbour_learned), egress none
 *                    of ingress and ingress none of egress. Only egress
 *                    makes flows and only with egress_translated;
 *                    hairpinned only with egress_translated; flow_expired
 *                    never moves (timeouts are a day). The translation
 *                    counted matches the frame: arp_replied an ARP frame,
 *                    fragment_translated a later fragment,
 *                    icmp_error_translated an ICMP error, the others TCP,
 *                    UDP or ICMP echo.
 *                    hairpinned moves with egress_translated or, for a
 *                    sandbox's ICMP error about a hairpinned packet, with
 *                    icmp_error_translated (RFC 5508 REQ-7), and neither
 *                    counts per-function packets.
 *                    One exception: a hairpinned packet (or error) is
 *                    translated on its way out and then refused on its
 *                    way in (drop_hairpin_no_flow, drop_icmp_error_no_flow,
 *                    drop_stale_flow): both counters move.
 *                    A held fragment (TC_ACT_STOLEN) moves fragment_held
 *                    and nothing else, and is a later fragment; a whole
 *                    datagram cut up (fragmenter.h, TC_ACT_STOLEN) moves
 *                    fragmented and nothing else; a first
 *                    fragment translated may also release held ones
 *                    (fragment_released, drop_fragment_unreleased,
 *                    drop_fragment_timeout, by any number: also the
 *                    sweeper's).
 * function_counters  the per-function counters move with the global ones,
 *                    for the function of the sandbox concerned (sender:
 *                    packets_out, flows_created, its drops; receiver:
 *                    packets_in), and no other function's move.
 * flow_accounting    flow entries change by flow_created (one entry per
 *                    flow); a new flow under endpoint-dependent mapping
 *                    adds its one replies entry and no mapping, one under
 *                    endpoint-independent mapping no replies entry and
 *                    one mapping or none, ports with the mappings; the
 *                    sender's ports_in_use by what its new flow took (a
 *                    new mapping, or under dependent mapping the flow's
 *                    own port); nobody else's. XDP egress changes none of
 *                    them, nor the fragment entries, whatever its verdict.
 * drop_no_state      a packet that was dropped or passed made no flow,
 *                    mapping, port, replies or fragment entry or
 *                    ports_in_use. Exempt (counted): the hairpin exception
 *                    above, whose flow is the sender's, made as RFC 4787
 *                    wants (hole punching relies on it), and a new flow's
 *                    first packet too big for the shared device
 *                    (drop_too_big, or cut up: fragmented): the flow stays
 *                    for what follows.
 * pass_untouched     TC_ACT_OK and XDP_PASS hand on the frame unchanged
 *                    (XDP egress's pass goes on to tc egress, XDP
 *                    ingress's to tc ingress).
 * ingress_owner      a packet redirected to a sandbox (ingress, XDP,
 *                    hairpin) goes to the sandbox of the flow its reply
 *                    (the frame's own header, or its quoted header)
 *                    answers, found as include/sharenat.h says: the owner
 *                    of the shared endpoint in `ports`, else in `replies`,
 *                    then that owner's flow to the remote, which must have
 *                    gone out through this attachment from this shared
 *                    endpoint; with the flow's sandbox address and port,
 *                    to a sandbox that is on the flow's sandbox device,
 *                    its MAC and its device's MAC; a later fragment where
 *                    its first fragment's entry says; XDP only to a device
 *                    that takes XDP frames.
 * egress_source      nothing leaves toward a shared device with a sandbox
 *                    (100.64.0.0/10) source: the source is a shared address
 *                    of the flow's attachment and the port the flow's; a
 *                    translated ICMP error quotes the shared endpoint too.
 * anti_spoofing      a sandbox's packet is translated (at tc or XDP egress)
 *                    only when its source is a sandbox of the device it
 *                    came in on; the sandbox's MAC is then the packet's,
 *                    unless --mac fixed it.
 * ip_checksum        the IPv4 header checksum's residual is kept (so a valid
 *                    checksum stays valid and a bad one stays bad).
 * l4_checksum        the TCP/UDP (pseudo-header included) or ICMP residual
 *                    over the bytes of the IP packet is kept; a UDP checksum
 *                    0 stays 0. Later fragments carry no L4 header; first
 *                    fragments are checked over their own bytes (the
 *                    residual is kept even though the sum spans the whole
 *                    datagram). One exception: XDP egress finishes a TCP or
 *                    UDP checksum whose field equals the pseudo-header's
 *                    sum (a CHECKSUM_PARTIAL seed): its output verifies.
 * icmp_inner_checksums  a translated ICMP error keeps the residuals of the
 *                    quoted IP header and of the quoted L4 header where its
 *                    checksum is quoted.
 * only_nat_fields    only the fields NAT rewrites change (addresses, ports
 *                    or echo id, TTL, checksums, the IP id of a non-atomic
 *                    datagram leaving tc, MACs where delivered to a
 *                    sandbox, the quoted header of an ICMP error, the ARP
 *                    body of a reply), none past the IP packet's length,
 *                    and the length is kept. XDP egress sets the MACs of
 *                    the next hop's entry in map `neighbours`: its MAC
 *                    the destination, the shared device's the source.
 * ttl                a translated IPv4 packet had TTL >= 2 and leaves with
 *                    one less.
 * arp_reply          an ARP reply answers a request for 169.254.1.1 from a
 *                    sandbox of that device, with the device's MAC.
 * checksum_complete  as a CHECKSUM_COMPLETE skb, skb->csum stays true
 *                    (the kernel's -EBADMSG). Exempt: ARP replies (known,
 *                    test_bpf.c: the ARP body is rewritten without
 *                    BPF_F_RECOMPUTE_CSUM; ARP has no checksum), the
 *                    NAT's own ICMP errors and datagrams cut up (fragmented:
 *                    bpf_skb_change_tail makes them CHECKSUM_NONE).
 * own_icmp_error     an ICMP error the NAT sends (icmp_error_sent, with
 *                    TC_ACT_REDIRECT) answers an IPv4 packet that is no
 *                    ICMP error nor later fragment, goes to its source
 *                    with the MACs swapped, quotes its IP header and 20
 *                    bytes, has right checksums, and moves exactly one
 *                    drop counter (why) and no translation.
 * xdp_egress         XDP egress redirects only what needs nothing but the
 *                    translation: an IPv4 packet with DF set, no fragment,
 *                    TTL >= 2, of its sender's own flow, not hairpinned,
 *                    leaving by a shared device in xdp_devices whose MTU
 *                    it fits, to a next hop with an entry in `neighbours`
 *                    learned within SHARENAT_NEIGHBOUR_FRESH_SECONDS (and
 *                    a second's grace: the check follows the run).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "fastpath.h"

#ifndef BPF_F_TEST_SKB_CHECKSUM_COMPLETE
#define BPF_F_TEST_SKB_CHECKSUM_COMPLETE (1U << 2)
#endif

#define TALLY(inv, n, w) [inv] = { .name = n, .what = w }

struct tally tallies[INV_MAX] = {
	TALLY(INV_VERDICT, "verdict",
	      "a verdict the hook may give; no test-run error but the kernel's EINVAL"),
	TALLY(INV_REFUSED_NO_EFFECT, "refused_no_effect",
	      "a frame the kernel refused changed nothing"),
	TALLY(INV_COUNTERS, "counters",
	      "exactly one outcome counter, matching verdict and frame"),
	TALLY(INV_FUNCTION_COUNTERS, "function_counters",
	      "per-function counters move with the global ones"),
	TALLY(INV_FLOW_ACCOUNTING, "flow_accounting",
	      "flows +1 per flow_created; replies, mappings, ports, ports_in_use consistent"),
	TALLY(INV_DROP_NO_STATE, "drop_no_state",
	      "a dropped or passed packet creates no flow, mapping, port, reply, fragment"),
	TALLY(INV_PASS_UNTOUCHED, "pass_untouched",
	      "TC_ACT_OK / XDP_PASS leave the frame as it was"),
	TALLY(INV_INGRESS_OWNER, "ingress_owner",
	      "redirected to a sandbox only by its own flow, its address, port, MACs"),
	TALLY(INV_EGRESS_SOURCE, "egress_source",
	      "nothing leaves toward a shared device from 100.64.0.0/10"),
	TALLY(INV_ANTI_SPOOFING, "anti_spoofing",
	      "translated only from a sandbox of its device; its MAC learned unless fixed"),
	TALLY(INV_IP_CHECKSUM, "ip_checksum",
	      "IPv4 header checksum residual kept (valid stays valid)"),
	TALLY(INV_L4_CHECKSUM, "l4_checksum",
	      "TCP/UDP/ICMP checksum residual kept; UDP 0 stays 0"),
	TALLY(INV_ICMP_INNER_CHECKSUMS, "icmp_inner_checksums",
	      "quoted IP and L4 checksum residuals kept"),
	TALLY(INV_ONLY_NAT_FIELDS, "only_nat_fields",
	      "only NAT fields change, none past the IP length"),
	TALLY(INV_TTL, "ttl",
	      "translated: TTL >= 2 in, one less out"),
	TALLY(INV_ARP_REPLY, "arp_reply",
	      "ARP replies only for 169.254.1.1 to a sandbox, correct body"),
	TALLY(INV_CHECKSUM_COMPLETE, "checksum_complete",
	      "CHECKSUM_COMPLETE skb->csum kept in step"),
	TALLY(INV_OWN_ICMP_ERROR, "own_icmp_error",
	      "the NAT's own error: to the sender, quoting it, checksums right, one drop why"),
	TALLY(INV_XDP_EGRESS, "xdp_egress",
	      "XDP egress redirects only a ready flow's DF packet to a fresh next hop"),
	TALLY(INV_STATE, "state",
	      "periodic: flows, their reply routes, replies, mappings, ports, ports_in_use agree"),
};

unsigned long fz_show_violations = 3;
struct outcome_stats fz_stats;

static const char *hook_name(enum hook hook)
{
	switch (hook) {
	case EGRESS:
		return "tc egress (sharenat_egress)";
	case INGRESS:
		return "tc ingress (sharenat_ingress)";
	case XDP_EGRESS:
		return "XDP egress (sharenat_xdp_egress)";
	default:
		return "XDP ingress (sharenat_xdp_ingress)";
	}
}

void print_hex(const char *label, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(stderr, "  %s (%zu bytes):", label, n);
	for (i = 0; i < n; i++) {
		if (i % 32 == 0)
			fprintf(stderr, "\n    ");
		fprintf(stderr, "%02x", p[i]);
	}
	fprintf(stderr, "\n");
}

static void print_case(const struct fz_case *c)
{
	unsigned int i;

	fprintf(stderr, "  case %lu (FUZZ_SEED=%llu), template %s: %s on "
		"ifindex %u (%s)%s -> ", c->index, (unsigned long long)fz_seed,
		c->template ? c->template : "?", hook_name(c->hook),
		c->ifindex, world_dev_of(c->ifindex) < DEV_COUNT ?
		fz_devices[world_dev_of(c->ifindex)].name : "?",
		c->flags & BPF_F_TEST_SKB_CHECKSUM_COMPLETE ?
		" as CHECKSUM_COMPLETE" : "");
	if (c->err)
		fprintf(stderr, "test run error %s\n", strerror(-c->err));
	else
		fprintf(stderr, "%s (%d)\n", verdict_name(c->hook, c->verdict),
			c->verdict);
	fprintf(stderr, "  counters moved:");
	for (i = 0; i < COUNTER_MAX; i++)
		if (c->after.counters[i] != c->before.counters[i])
			fprintf(stderr, " %s%+lld", sharenat_counter_name(i),
				(long long)(c->after.counters[i] -
					    c->before.counters[i]));
	fprintf(stderr, "\n  state: flows %lld -> %lld, mappings %lld -> %lld, "
		"ports %lld -> %lld, replies %lld -> %lld, fragments %lld -> "
		"%lld\n",
		(long long)c->before.flows, (long long)c->after.flows,
		(long long)c->before.mappings, (long long)c->after.mappings,
		(long long)c->before.ports, (long long)c->after.ports,
		(long long)c->before.replies, (long long)c->after.replies,
		(long long)c->before.fragments, (long long)c->after.fragments);
	print_hex("in", c->in, c->in_len);
	if (!c->err && c->out_len)
		print_hex("out", c->out, c->out_len);
}

void violation(enum invariant inv, const struct fz_case *c, const char *fmt,
	       ...)
{
	va_list ap;

	tallies[inv].violated++;
	if (tallies[inv].violated > fz_show_violations)
		return;
	fprintf(stderr, "VIOLATION %s: ", tallies[inv].name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (c)
		print_case(c);
}

/* Check one invariant: counts it, and reports when cond is false. */
#define CHECK(inv, c, cond, ...) do {					\
		tallies[inv].checked++;					\
		if (!(cond))						\
			violation(inv, c, __VA_ARGS__);			\
	} while (0)

/* ---- an independent parse of a frame ---- */

struct view {
	const uint8_t *f;
	size_t len;
	uint16_t ethertype;
	bool ip;		/* IPv4 the programs must accept as such */
	size_t l3, l4, end;	/* end: where the IP packet ends */
	unsigned int ihl;	/* bytes */
	uint16_t tot_len, frag, id;
	uint8_t ttl, proto;
	uint32_t src, dst;
	bool later, first;
	bool l4_ok;		/* the L4 header lies inside the IP packet */
	uint16_t sport, dport;	/* TCP/UDP */
	uint8_t icmp_type;
	uint16_t icmp_id;
	bool icmp_error;
	bool inner;		/* the quoted IP header + 8 bytes are there */
	size_t il3, il4;
	unsigned int iihl;
	uint8_t iproto;
	uint32_t isrc, idst;
	uint16_t isport, idport, iid, itot_len;
};

static void view_parse(struct view *v, const uint8_t *f, size_t len)
{
	memset(v, 0, sizeof(*v));
	v->f = f;
	v->len = len;
	if (len < ETH_HDR_LEN)
		return;
	v->ethertype = get_be16(f + ETH_TYPE_OFF);
	if (v->ethertype != ETHERTYPE_IPV4 || len < IP_OFF + IP_MIN_LEN)
		return;
	v->l3 = IP_OFF;
	v->ihl = (unsigned int)(f[IP_OFF] & 0x0f) * 4;
	v->tot_len = get_be16(f + IP_OFF + IP_TOT_LEN_OFF);
	if (f[IP_OFF] >> 4 != 4 || v->ihl < IP_MIN_LEN ||
	    v->tot_len < v->ihl || IP_OFF + (size_t)v->tot_len > len)
		return;
	v->ip = true;
	v->l4 = IP_OFF + v->ihl;
	v->end = IP_OFF + v->tot_len;
	v->id = get_be16(f + IP_OFF + 4);
	v->frag = get_be16(f + IP_OFF + IP_FRAG_OFF);
	v->ttl = f[IP_OFF + IP_TTL_OFF];
	v->proto = f[IP_OFF + IP_PROTO_OFF];
	v->src = get_be32(f + IP_OFF + IP_SRC_OFF);
	v->dst = get_be32(f + IP_OFF + IP_DST_OFF);
	v->later = (v->frag & IP_OFFSET_MASK) != 0;
	v->first = !v->later && (v->frag & IP_MF_FLAG);
	if (v->later)
		return;
	switch (v->proto) {
	case PROTO_TCP:
		v->l4_ok = v->l4 + 20 <= v->end;
		break;
	case PROTO_UDP:
	case PROTO_ICMP:
		v->l4_ok = v->l4 + 8 <= v->end;
		break;
	}
	if (!v->l4_ok)
		return;
	if (v->proto != PROTO_ICMP) {
		v->sport = get_be16(f + v->l4);
		v->dport = get_be16(f + v->l4 + 2);
		return;
	}
	v->icmp_type = f[v->l4];
	v->icmp_id = get_be16(f + v->l4 + ICMP_ID_OFF);
	v->icmp_error = v->icmp_type == 3 || v->icmp_type == 11 ||
			v->icmp_type == 12;
	if (!v->icmp_error)
		return;
	/* The quoted packet, as far as the frame holds it (the programs
	 * read it from the frame). */
	v->il3 = v->l4 + 8;
	if (v->il3 + IP_MIN_LEN > len)
		return;
	v->iihl = (unsigned int)(f[v->il3] & 0x0f) * 4;
	v->il4 = v->il3 + v->iihl;
	if (f[v->il3] >> 4 != 4 || v->iihl < IP_MIN_LEN || v->il4 + 8 > len)
		return;
	v->inner = true;
	v->itot_len = get_be16(f + v->il3 + IP_TOT_LEN_OFF);
	v->iproto = f[v->il3 + IP_PROTO_OFF];
	v->isrc = get_be32(f + v->il3 + IP_SRC_OFF);
	v->idst = get_be32(f + v->il3 + IP_DST_OFF);
	v->isport = get_be16(f + v->il4);
	v->idport = get_be16(f + v->il4 + 2);
	v->iid = get_be16(f + v->il4 + ICMP_ID_OFF);
}

/* ---- sums ---- */

/* One's complement: 0x0000 and 0xffff are the same number. */
static bool same_residual(uint16_t a, uint16_t b)
{
	return a == b || (a == 0 && b == 0xffff) || (a == 0xffff && b == 0);
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto,
			   uint32_t l4_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	       proto + l4_len;
}

static uint16_t pseudo_residual(const uint8_t *f, uint32_t src, uint32_t dst,
				uint8_t proto, uint32_t l4_len, size_t from,
				size_t to)
{
	return csum_fold16(csum_add_words(pseudo_sum(src, dst, proto, l4_len),
					  f + from, to - from));
}

static uint16_t plain_residual(const uint8_t *f, size_t from, size_t to)
{
	return csum_fold16(csum_add_words(0, f + from, to - from));
}

/* ---- map lookups ---- */

static bool find_flow(const struct flow_key *key, struct flow *flow)
{
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), key,
				   flow) == 0;
}

static bool find_sandbox(uint32_t addr, struct sandbox *sbx)
{
	__be32 key = htonl(addr);

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.sandboxes), &key,
				   sbx) == 0;
}

/* The flow key of a sandbox's packet: its 5-tuple, an echo's id as the
 * source port. */
static struct flow_key egress_key_of(const struct view *in)
{
	bool icmp = in->proto == PROTO_ICMP;

	return egress_key(in->proto, in->src, icmp ? in->icmp_id : in->sport,
			  in->dst, icmp ? 0 : in->dport);
}

static const char *addr_str(uint32_t addr, char *buf)
{
	__be32 a = htonl(addr);

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* ---- outcomes ---- */

enum kind {
	K_NONE,
	K_ARP,
	K_EGRESS,
	K_HAIRPIN,
	K_EGRESS_ICMP_ERROR,
	K_HAIRPIN_ICMP_ERROR,	/* a sandbox's error about a hairpinned packet */
	K_EGRESS_FRAGMENT,
	K_INGRESS,
	K_INGRESS_ICMP_ERROR,
	K_INGRESS_FRAGMENT,
};

static const enum counter drops[] = {
	COUNTER_DROP_SPOOFED_SOURCE, COUNTER_DROP_NO_ROUTE,
	COUNTER_DROP_SECURITY_GROUP, COUNTER_DROP_PORT_QUOTA,
	COUNTER_DROP_NOT_IPV4, COUNTER_DROP_UNSUPPORTED,
	COUNTER_DROP_MALFORMED, COUNTER_DROP_TTL_EXCEEDED,
	COUNTER_DROP_NO_PORT, COUNTER_DROP_FLOW_TABLE_FULL,
	COUNTER_DROP_STALE_FLOW, COUNTER_DROP_UNSOLICITED,
	COUNTER_DROP_ICMP_ERROR_NO_FLOW, COUNTER_DROP_HAIRPIN_NO_FLOW,
	COUNTER_DROP_FRAGMENT_HOLD_FULL, COUNTER_DROP_TOO_BIG,
};

static const enum counter translations[] = {
	COUNTER_EGRESS_TRANSLATED, COUNTER_INGRESS_TRANSLATED,
	COUNTER_ICMP_ERROR_TRANSLATED, COUNTER_FRAGMENT_TRANSLATED,
	COUNTER_ARP_REPLIED,
};

struct deltas {
	long long d[COUNTER_MAX];
	long long drops, translations, passes;
	enum counter drop;	/* the one that moved, if one did */
};

static void deltas_of(const struct fz_case *c, struct deltas *x)
{
	unsigned int i;

	memset(x, 0, sizeof(*x));
	x->drop = COUNTER_MAX;
	for (i = 0; i < COUNTER_MAX; i++)
		x->d[i] = (long long)(c->after.counters[i] -
				      c->before.counters[i]);
	for (i = 0; i < ARRAY_SIZE(drops); i++) {
		x->drops += x->d[drops[i]];
		if (x->d[drops[i]])
			x->drop = drops[i];
	}
	for (i = 0; i < ARRAY_SIZE(translations); i++)
		x->translations += x->d[translations[i]];
	x->passes = x->d[COUNTER_INGRESS_NOT_OURS] +
		    x->d[COUNTER_INGRESS_XDP_TO_TC] +
		    x->d[COUNTER_EGRESS_XDP_TO_TC];
}

enum outcome { O_DROP, O_PASS, O_REDIRECT, O_HELD, O_ANSWERED, O_INVALID };

static enum outcome outcome_of(const struct fz_case *c)
{
	if (hook_is_xdp(c->hook)) {
		switch (c->verdict) {
		case XDP_DROP:
			return O_DROP;
		case XDP_PASS:
			return O_PASS;
		case XDP_REDIRECT:
			return O_REDIRECT;
		default:
			return O_INVALID;
		}
	}
	switch (c->verdict) {
	case TC_ACT_SHOT:
		return O_DROP;
	case TC_ACT_OK:
		return c->hook == INGRESS ? O_PASS : O_INVALID;
	case TC_ACT_REDIRECT:
		return O_REDIRECT;
	case TC_ACT_STOLEN:
		return O_HELD;
	default:
		return O_INVALID;
	}
}

/* After its egress translation, a hairpinned packet the target's filter
 * refused, or a hairpinned ICMP error whose target flow or sandbox is
 * gone: translated and dropped. */
static bool hairpin_refused(const struct fz_case *c, const struct deltas *x)
{
	if (c->hook != EGRESS || x->drops != 1 || x->translations != 1)
		return false;
	if (x->d[COUNTER_EGRESS_TRANSLATED] == 1)
		return x->drop == COUNTER_DROP_HAIRPIN_NO_FLOW ||
		       x->drop == COUNTER_DROP_STALE_FLOW;
	if (x->d[COUNTER_ICMP_ERROR_TRANSLATED] == 1)
		return x->drop == COUNTER_DROP_ICMP_ERROR_NO_FLOW ||
		       x->drop == COUNTER_DROP_STALE_FLOW;
	return false;
}

static bool is_l4_nat_proto(const struct view *v)
{
	return v->ip && !v->later && v->l4_ok &&
	       (v->proto == PROTO_TCP || v->proto == PROTO_UDP ||
		(v->proto == PROTO_ICMP && (v->icmp_type == ICMPT_ECHO ||
					    v->icmp_type == ICMPT_ECHO_REPLY)));
}

static enum kind kind_of(const struct fz_case *c, const struct deltas *x)
{
	if (x->d[COUNTER_ARP_REPLIED])
		return K_ARP;
	if (x->d[COUNTER_FRAGMENT_TRANSLATED])
		return hook_is_egress(c->hook) ? K_EGRESS_FRAGMENT :
						 K_INGRESS_FRAGMENT;
	if (x->d[COUNTER_ICMP_ERROR_TRANSLATED])
		return !hook_is_egress(c->hook) ? K_INGRESS_ICMP_ERROR :
		       x->d[COUNTER_HAIRPINNED] ? K_HAIRPIN_ICMP_ERROR :
						  K_EGRESS_ICMP_ERROR;
	if (x->d[COUNTER_HAIRPINNED])
		return K_HAIRPIN;
	if (x->d[COUNTER_EGRESS_TRANSLATED])
		return K_EGRESS;
	if (x->d[COUNTER_INGRESS_TRANSLATED])
		return K_INGRESS;
	return K_NONE;
}

/* Counters the expiry sweeper moves on its own timer, during any run: it
 * looks at flows (a second after their tickets were queued) and drops
 * held fragments past their time. */
static bool sweeper_counter(unsigned int i)
{
	return i == COUNTER_EXPIRY_CHECKED ||
	       i == COUNTER_DROP_FRAGMENT_TIMEOUT;
}

/* Counters that may move by more than one in a run: the sweeper's, and
 * the held fragments a first fragment releases. flow_expired must not
 * move at all (timeouts are a day), which is checked on its own. */
static bool timer_counter(unsigned int i)
{
	return sweeper_counter(i) || i == COUNTER_FLOW_EXPIRED ||
	       i == COUNTER_FRAGMENT_RELEASED ||
	       i == COUNTER_DROP_FRAGMENT_UNRELEASED;
}

/* Did the run leave everything as it was, but what the sweeper moved on
 * its own? */
static bool state_unchanged(const struct fz_case *c)
{
	struct probe_snapshot after = c->after;
	unsigned int i;

	for (i = 0; i < COUNTER_MAX; i++)
		if (sweeper_counter(i))
			after.counters[i] = c->before.counters[i];
	return !memcmp(&c->before, &after, sizeof(after));
}

/* XDP egress counts its one outcome and nothing else (but what timers
 * move on their own): XDP_PASS egress_xdp_to_tc, XDP_REDIRECT
 * egress_translated and egress_xdp_fast_path, XDP_DROP drop_malformed (a
 * rewrite that failed). Every other drop is tc's to count, after the
 * pass. */
static bool xdp_egress_counted(const struct deltas *x, enum outcome o)
{
	bool want[COUNTER_MAX] = { false };
	unsigned int i;

	switch (o) {
	case O_PASS:
		want[COUNTER_EGRESS_XDP_TO_TC] = true;
		break;
	case O_REDIRECT:
		want[COUNTER_EGRESS_TRANSLATED] = true;
		want[COUNTER_EGRESS_XDP_FAST_PATH] = true;
		break;
	case O_DROP:
		want[COUNTER_DROP_MALFORMED] = true;
		break;
	default:
		return false;
	}
	for (i = 0; i < COUNTER_MAX; i++)
		if (!timer_counter(i) && x->d[i] != want[i])
			return false;
	return true;
}

static void check_counters(const struct fz_case *c, const struct deltas *x,
			   enum outcome o, const struct view *in)
{
	bool ok = true;
	const char *why = "";
	unsigned int i;

	for (i = 0; i < COUNTER_MAX; i++)
		if (x->d[i] < 0 || (x->d[i] > 1 && !timer_counter(i))) {
			ok = false;
			why = "a counter moved by more than one, or back";
		}
	if (ok && x->d[COUNTER_FLOW_EXPIRED]) {
		ok = false;
		why = "flow_expired moved (no flow may expire in a run)";
	}
	if (ok && o == O_ANSWERED && (x->drops != 1 || x->passes ||
				      x->translations)) {
		ok = false;
		why = "an ICMP error sent must move exactly one drop counter";
	}
	if (ok && o == O_DROP) {
		if (x->drops != 1 || x->passes) {
			ok = false;
			why = "a drop must move exactly one drop counter";
		} else if (x->translations && !hairpin_refused(c, x)) {
			ok = false;
			why = "a drop moved a translation counter";
		}
	}
	if (ok && o == O_PASS && (x->drops || x->translations ||
				  x->passes > 1)) {
		ok = false;
		why = "a pass moved a drop or translation counter";
	}
	if (ok && o == O_REDIRECT && (x->drops || x->passes ||
				      x->translations != 1)) {
		ok = false;
		why = "a redirect must move exactly one translation counter";
	}
	if (ok && (o == O_ANSWERED) != (x->d[COUNTER_ICMP_ERROR_SENT] == 1)) {
		ok = false;
		why = "icmp_error_sent must move exactly with an error sent";
	}
	if (ok && (o == O_HELD) != (x->d[COUNTER_FRAGMENT_HELD] +
				    x->d[COUNTER_FRAGMENTED] == 1)) {
		ok = false;
		why = "fragment_held or fragmented must move exactly with "
		      "TC_ACT_STOLEN";
	}
	if (ok && o == O_HELD && (x->drops || x->passes || x->translations)) {
		ok = false;
		why = "a fragment held or a datagram cut up moves no drop, pass "
		      "or translation";
	}
	if (ok && x->d[COUNTER_FRAGMENT_HELD] && !(in->ip && in->later)) {
		ok = false;
		why = "held a frame that is no later fragment";
	}
	if (ok && x->d[COUNTER_FRAGMENTED] &&
	    !(in->ip && !in->later && !in->first)) {
		ok = false;
		why = "cut up a frame that is no whole IPv4 datagram";
	}
	if (ok && (x->d[COUNTER_FRAGMENT_RELEASED] ||
		   x->d[COUNTER_DROP_FRAGMENT_UNRELEASED]) &&
	    (o != O_REDIRECT || !in->ip || in->later)) {
		ok = false;
		why = "fragment_released without a first fragment translated";
	}
	if (ok && hook_is_egress(c->hook) &&
	    (x->d[COUNTER_INGRESS_TRANSLATED] ||
	     x->d[COUNTER_INGRESS_NOT_OURS] ||
	     x->d[COUNTER_INGRESS_XDP_TO_TC] ||
	     x->d[COUNTER_INGRESS_XDP_FAST_PATH] ||
	     x->d[COUNTER_NEIGHBOUR_LEARNED])) {
		ok = false;
		why = "egress moved an ingress counter";
	}
	if (ok && !hook_is_egress(c->hook) &&
	    (x->d[COUNTER_EGRESS_TRANSLATED] || x->d[COUNTER_ARP_REPLIED] ||
	     x->d[COUNTER_FLOW_CREATED] || x->d[COUNTER_HAIRPINNED] ||
	     x->d[COUNTER_EGRESS_XDP_FAST_PATH] ||
	     x->d[COUNTER_EGRESS_XDP_TO_TC])) {
		ok = false;
		why = "ingress moved an egress counter or made a flow";
	}
	if (ok && !hook_is_xdp(c->hook) &&
	    (x->d[COUNTER_INGRESS_XDP_FAST_PATH] ||
	     x->d[COUNTER_INGRESS_XDP_TO_TC] ||
	     x->d[COUNTER_EGRESS_XDP_FAST_PATH] ||
	     x->d[COUNTER_EGRESS_XDP_TO_TC] ||
	     x->d[COUNTER_NEIGHBOUR_LEARNED])) {
		ok = false;
		why = "tc moved an XDP counter";
	}
	if (ok && c->hook == XDP_EGRESS && !xdp_egress_counted(x, o)) {
		ok = false;
		why = "XDP egress must move egress_xdp_to_tc alone (XDP_PASS), "
		      "egress_translated and egress_xdp_fast_path alone "
		      "(XDP_REDIRECT), or drop_malformed alone (XDP_DROP)";
	}
	if (ok && c->hook == XDP_INGRESS &&
	    x->d[COUNTER_INGRESS_XDP_FAST_PATH] != (o == O_REDIRECT) ) {
		ok = false;
		why = "ingress_xdp_fast_path must move exactly with XDP_REDIRECT";
	}
	if (ok && c->hook == XDP_INGRESS && o == O_REDIRECT &&
	    !x->d[COUNTER_INGRESS_TRANSLATED]) {
		ok = false;
		why = "XDP_REDIRECT without ingress_translated";
	}
	if (ok && x->d[COUNTER_FLOW_CREATED] &&
	    !x->d[COUNTER_EGRESS_TRANSLATED] && !x->d[COUNTER_DROP_TOO_BIG] &&
	    !x->d[COUNTER_FRAGMENTED]) {
		ok = false;
		why = "a flow was made for a packet that was not translated";
	}
	if (ok && x->d[COUNTER_HAIRPINNED] &&
	    !x->d[COUNTER_EGRESS_TRANSLATED] &&
	    !x->d[COUNTER_ICMP_ERROR_TRANSLATED]) {
		ok = false;
		why = "hairpinned without egress_translated or "
		      "icmp_error_translated";
	}
	/* The translation counted is the frame's kind. */
	if (ok && x->d[COUNTER_ARP_REPLIED] &&
	    in->ethertype != ETHERTYPE_ARP) {
		ok = false;
		why = "arp_replied for a frame that is not ARP";
	}
	if (ok && x->d[COUNTER_FRAGMENT_TRANSLATED] && !(in->ip && in->later)) {
		ok = false;
		why = "fragment_translated for a frame that is no later fragment";
	}
	if (ok && x->d[COUNTER_ICMP_ERROR_TRANSLATED] &&
	    !(in->ip && in->icmp_error)) {
		ok = false;
		why = "icmp_error_translated for a frame that is no ICMP error";
	}
	if (ok && (x->d[COUNTER_EGRESS_TRANSLATED] ||
		   x->d[COUNTER_INGRESS_TRANSLATED]) && !is_l4_nat_proto(in)) {
		ok = false;
		why = "translated a frame that is no TCP, UDP or ICMP echo "
		      "(by an independent parse)";
	}
	CHECK(INV_COUNTERS, c, ok, "%s", why);
	if (ok && hairpin_refused(c, x))
		tallies[INV_COUNTERS].exempt++;
}

static void check_function_counters(const struct fz_case *c,
				    const struct deltas *x,
				    const struct view *in,
				    const struct view *out)
{
	long long want[PROBE_MAX_FUNCTIONS][FUNCTION_COUNTER_MAX];
	const struct fz_sandbox *s;
	unsigned int i, j;
	int fi;

	memset(want, 0, sizeof(want));
	if (hook_is_egress(c->hook) && in->ip) {
		s = world_sandbox(in->src);
		if (s && fz_devices[s->dev].ifindex == c->ifindex &&
		    world_function_exists(s->function_id)) {
			fi = world_function_index(s->function_id);
			want[fi][FUNCTION_PACKETS_OUT] =
				x->d[COUNTER_EGRESS_TRANSLATED];
			want[fi][FUNCTION_FLOWS_CREATED] =
				x->d[COUNTER_FLOW_CREATED];
			want[fi][FUNCTION_DROP_SECURITY_GROUP] =
				x->d[COUNTER_DROP_SECURITY_GROUP];
			want[fi][FUNCTION_DROP_PORT_QUOTA] =
				x->d[COUNTER_DROP_PORT_QUOTA];
			want[fi][FUNCTION_DROP_NO_ROUTE] =
				x->d[COUNTER_DROP_NO_ROUTE];
			want[fi][FUNCTION_DROP_NO_PORT] =
				x->d[COUNTER_DROP_NO_PORT];
		}
	}
	/* The receiver: hairpinned at egress (not an ICMP error: errors
	 * count no packets of a function), translated at ingress. */
	if (((x->d[COUNTER_HAIRPINNED] && x->d[COUNTER_EGRESS_TRANSLATED]) ||
	     (!hook_is_egress(c->hook) && x->d[COUNTER_INGRESS_TRANSLATED])) &&
	    out->ip) {
		s = world_sandbox(out->dst);
		if (s && world_function_exists(s->function_id))
			want[world_function_index(s->function_id)]
			    [FUNCTION_PACKETS_IN] += 1;
	}
	for (i = 0; i < fz_function_count; i++)
		for (j = 0; j < FUNCTION_COUNTER_MAX; j++) {
			long long got = (long long)(c->after.functions[i][j] -
						    c->before.functions[i][j]);

			tallies[INV_FUNCTION_COUNTERS].checked++;
			if (got != want[i][j]) {
				violation(INV_FUNCTION_COUNTERS, c, "function %u "
					  "counter %s moved by %lld, want %lld",
					  fz_function_ids[i],
					  sharenat_function_counter_name(j),
					  got, want[i][j]);
				return;
			}
		}
}

/* Was the sender's flow of this packet made under endpoint-dependent
 * mapping (by its attachment's configuration)? */
static bool sent_on_dependent_flow(const struct view *in)
{
	struct flow_key k = egress_key_of(in);
	const struct attachment *att;
	struct flow f;

	return find_flow(&k, &f) && (att = world_attachment(f.ifindex)) &&
	       att->mapping == MAPPING_DEPENDENT;
}

/* The sender's new flow (if any) and what it took. */
static void check_flow_accounting(const struct fz_case *c,
				  const struct deltas *x, enum outcome o,
				  const struct view *in)
{
	long long flows = c->after.flows - c->before.flows;
	long long mappings = c->after.mappings - c->before.mappings;
	long long ports = c->after.ports - c->before.ports;
	long long replies = c->after.replies - c->before.replies;
	long long created = x->d[COUNTER_FLOW_CREATED];
	long long piu_want[PROBE_MAX_SANDBOXES] = {0};
	bool drop_ok, hairpin = hairpin_refused(c, x);
	unsigned int i;
	int si = -1;

	CHECK(INV_FLOW_ACCOUNTING, c, flows == created &&
	      c->after.sandboxes == c->before.sandboxes &&
	      mappings >= 0 && replies >= 0 && mappings + replies <= created &&
	      ports == mappings,
	      "flows %+lld, mappings %+lld, ports %+lld, replies %+lld for "
	      "flow_created %+lld", flows, mappings, ports, replies, created);

	/* XDP egress makes nothing, whatever its verdict (what it passes
	 * makes its flow in tc). */
	if (c->hook == XDP_EGRESS)
		CHECK(INV_FLOW_ACCOUNTING, c, !flows && !mappings && !ports &&
		      !replies && c->after.fragments == c->before.fragments,
		      "XDP egress changed the state: flows %+lld, mappings "
		      "%+lld, ports %+lld, replies %+lld, fragments %+lld",
		      flows, mappings, ports, replies,
		      (long long)(c->after.fragments - c->before.fragments));
	if (hook_is_egress(c->hook) && in->ip)
		si = world_sandbox_index(in->src);
	if (si >= 0 && created) {
		bool dependent = sent_on_dependent_flow(in);

		/* Endpoint-dependent: the flow's own replies entry and
		 * port; independent: a new mapping and its port, or none. */
		CHECK(INV_FLOW_ACCOUNTING, c, dependent ?
		      replies == created && !mappings : !replies,
		      "a new endpoint-%s flow: replies %+lld, mappings %+lld",
		      dependent ? "dependent" : "independent", replies,
		      mappings);
		piu_want[si] = dependent ? created : mappings;
	}
	for (i = 0; i < fz_sandbox_count; i++) {
		long long got = (long long)c->after.ports_in_use[i] -
				(long long)c->before.ports_in_use[i];

		tallies[INV_FLOW_ACCOUNTING].checked++;
		if (got != piu_want[i]) {
			violation(INV_FLOW_ACCOUNTING, c, "sandbox %s "
				  "ports_in_use moved by %lld, want %lld",
				  fz_sandboxes[i].id, got, piu_want[i]);
			break;
		}
	}

	if (o == O_REDIRECT)
		return;
	drop_ok = flows == 0 && created == 0 && mappings == 0 && ports == 0 &&
		  replies == 0 && c->after.fragments <= c->before.fragments;
	for (i = 0; i < fz_sandbox_count; i++)
		drop_ok &= c->after.ports_in_use[i] == c->before.ports_in_use[i];
	/* A new flow's first packet too big for the shared device: the
	 * flow stays for the smaller packets the sandbox sends next. */
	if (!drop_ok && (hairpin || x->d[COUNTER_DROP_TOO_BIG] ||
			 x->d[COUNTER_FRAGMENTED])) {
		tallies[INV_DROP_NO_STATE].checked++;
		tallies[INV_DROP_NO_STATE].exempt++;
		return;
	}
	CHECK(INV_DROP_NO_STATE, c, drop_ok, "a %s packet left state behind: "
	      "flows %+lld, mappings %+lld, ports %+lld, replies %+lld, "
	      "fragments %+lld",
	      o == O_PASS ? "passed" : o == O_HELD ? "held" : "dropped",
	      flows, mappings, ports, replies,
	      (long long)(c->after.fragments - c->before.fragments));
}

/* ---- the frame ---- */

static void allow(bool *ok, size_t end, size_t from, size_t n)
{
	size_t i;

	for (i = from; i < from + n && i < end; i++)
		ok[i] = true;
}

/* The L4 port (TCP/UDP) or echo identifier field of the local end. */
static size_t port_off(const struct view *v, bool source)
{
	if (v->proto == PROTO_ICMP)
		return v->l4 + ICMP_ID_OFF;
	return v->l4 + (source ? 0 : 2);
}

static size_t l4_csum_off(uint8_t proto, size_t l4)
{
	return l4 + (proto == PROTO_TCP ? TCP_CSUM_OFF :
		     proto == PROTO_UDP ? UDP_CSUM_OFF : ICMP_CSUM_OFF);
}

static void check_only_nat_fields(const struct fz_case *c, enum kind k,
				  const struct view *in)
{
	static bool ok[FZ_OUT_MAX];
	size_t i, end = in->ip ? in->end : in->len;

	if (c->out_len != c->in_len) {
		CHECK(INV_ONLY_NAT_FIELDS, c, false, "the frame is %zu bytes, "
		      "it came in with %zu", c->out_len, c->in_len);
		return;
	}
	memset(ok, 0, c->in_len);
	if (k == K_ARP) {
		allow(ok, c->in_len, 0, 12);
		allow(ok, c->in_len, ETH_HDR_LEN + 6, 22);
	} else if (in->ip) {
		bool to_sandbox = k == K_HAIRPIN || k == K_INGRESS ||
				  k == K_INGRESS_ICMP_ERROR ||
				  k == K_HAIRPIN_ICMP_ERROR ||
				  k == K_INGRESS_FRAGMENT;
		bool egress = k == K_EGRESS || k == K_HAIRPIN ||
			      k == K_EGRESS_ICMP_ERROR ||
			      k == K_HAIRPIN_ICMP_ERROR ||
			      k == K_EGRESS_FRAGMENT;

		/* XDP egress sets the next hop's MACs (check_xdp_egress
		 * says which). */
		if (to_sandbox || c->hook == XDP_EGRESS)
			allow(ok, end, 0, 12);
		allow(ok, end, IP_OFF + IP_TTL_OFF, 1);
		allow(ok, end, IP_OFF + IP_CSUM_OFF, 2);
		if (egress)
			allow(ok, end, IP_OFF + IP_SRC_OFF, 4);
		/* ip_id.h: a non-atomic datagram (RFC 6864: DF clear, or a
		 * fragment, even with DF set) leaving tc gets the NAT's id.
		 * XDP egress takes only atomic ones and keeps their id. */
		if ((k == K_EGRESS && c->hook == EGRESS &&
		     (!(in->frag & 0x4000) || in->first)) ||
		    k == K_EGRESS_FRAGMENT)
			allow(ok, end, IP_OFF + 4, 2);
		if (to_sandbox)
			allow(ok, end, IP_OFF + IP_DST_OFF, 4);
		if (k == K_EGRESS || k == K_HAIRPIN || k == K_INGRESS) {
			allow(ok, end, port_off(in, k != K_INGRESS), 2);
			if (k == K_HAIRPIN)
				allow(ok, end, port_off(in, false), 2);
			allow(ok, end, l4_csum_off(in->proto, in->l4), 2);
		}
		if ((k == K_EGRESS_ICMP_ERROR || k == K_INGRESS_ICMP_ERROR ||
		     k == K_HAIRPIN_ICMP_ERROR) && in->inner) {
			/* The quoted source is the local end coming in, the
			 * quoted destination going out; a hairpinned error
			 * has both translated. */
			bool src = k != K_EGRESS_ICMP_ERROR;
			bool dst = k != K_INGRESS_ICMP_ERROR;

			allow(ok, end, in->l4 + ICMP_CSUM_OFF, 2);
			allow(ok, end, in->il3 + IP_CSUM_OFF, 2);
			if (src)
				allow(ok, end, in->il3 + IP_SRC_OFF, 4);
			if (dst)
				allow(ok, end, in->il3 + IP_DST_OFF, 4);
			if (in->iproto == PROTO_ICMP)
				allow(ok, end, in->il4 + ICMP_ID_OFF, 2);
			if (in->iproto != PROTO_ICMP && src)
				allow(ok, end, in->il4, 2);
			if (in->iproto != PROTO_ICMP && dst)
				allow(ok, end, in->il4 + 2, 2);
			allow(ok, end, l4_csum_off(in->iproto, in->il4), 2);
		}
	}
	for (i = 0; i < c->in_len; i++)
		if (c->in[i] != c->out[i] && !ok[i])
			break;
	CHECK(INV_ONLY_NAT_FIELDS, c, i == c->in_len, "byte %zu (%s%s) changed "
	      "from %#04x to %#04x", i, i < c->in_len ?
	      frame_field_name(c->in, c->in_len, i) : "",
	      in->ip && i >= in->end ? ", past the IP total length" : "",
	      i < c->in_len ? c->in[i] : 0, i < c->in_len ? c->out[i] : 0);
}

/* The residuals of the output are summed over the input's byte ranges
 * (the NAT changes no length; a changed length or IHL is only_nat_fields'
 * to report), with the output's own addresses in the pseudo-headers. */
static void check_checksums(const struct fz_case *c, enum kind k,
			    const struct view *in)
{
	const uint8_t *o = c->out;
	uint16_t a, b;

	if (!in->ip || k == K_ARP || c->out_len != c->in_len)
		return;
	a = plain_residual(c->in, in->l3, in->l4);
	b = plain_residual(o, in->l3, in->l4);
	if (a != 0xffff)
		fz_stats.bad_ip_checksum_in++;
	CHECK(INV_IP_CHECKSUM, c, same_residual(a, b), "IPv4 header residual "
	      "%#06x became %#06x (%s in, %s out)", a, b,
	      a == 0xffff ? "valid" : "bad", b == 0xffff ? "valid" : "bad");

	if (in->later || !in->l4_ok)
		return;
	if (in->proto == PROTO_ICMP) {
		a = plain_residual(c->in, in->l4, in->end);
		b = plain_residual(o, in->l4, in->end);
	} else {
		size_t csum = l4_csum_off(in->proto, in->l4);
		uint32_t len = (uint32_t)(in->end - in->l4);

		if (in->proto == PROTO_UDP && !get_be16(c->in + csum)) {
			CHECK(INV_L4_CHECKSUM, c, !get_be16(o + csum),
			      "UDP checksum 0 (none) became %#06x",
			      get_be16(o + csum));
			goto inner;
		}
		a = pseudo_residual(c->in, in->src, in->dst, in->proto, len,
				    in->l4, in->end);
		b = pseudo_residual(o, get_be32(o + IP_OFF + IP_SRC_OFF),
				    get_be32(o + IP_OFF + IP_DST_OFF), in->proto,
				    len, in->l4, in->end);
		/* A field that holds the pseudo-header's sum is taken for a
		 * CHECKSUM_PARTIAL seed: XDP egress finishes it as the NIC
		 * would have, so the output verifies, whatever the input's
		 * residual (a whole checksum that happens to equal the seed
		 * verified already). */
		if (c->hook == XDP_EGRESS && get_be16(c->in + csum) ==
		    csum_fold16(pseudo_sum(in->src, in->dst, in->proto, len))) {
			CHECK(INV_L4_CHECKSUM, c, same_residual(b, 0xffff),
			      "%s seed (residual %#06x in) left with residual "
			      "%#06x, not finished", in->proto == PROTO_TCP ?
			      "TCP" : "UDP", a, b);
			goto inner;
		}
	}
	if (a != 0xffff && !in->first)
		fz_stats.bad_l4_checksum_in++;
	CHECK(INV_L4_CHECKSUM, c, same_residual(a, b), "%s residual %#06x "
	      "became %#06x (%s in, %s out%s)", in->proto == PROTO_TCP ?
	      "TCP" : in->proto == PROTO_UDP ? "UDP" : "ICMP", a, b,
	      a == 0xffff ? "valid" : "bad", b == 0xffff ? "valid" : "bad",
	      in->first ? ", a first fragment: over its own bytes" : "");
inner:
	if ((k != K_EGRESS_ICMP_ERROR && k != K_INGRESS_ICMP_ERROR &&
	     k != K_HAIRPIN_ICMP_ERROR) || !in->inner)
		return;
	if (in->il3 + in->iihl <= in->end) {
		a = plain_residual(c->in, in->il3, in->il3 + in->iihl);
		b = plain_residual(o, in->il3, in->il3 + in->iihl);
		CHECK(INV_ICMP_INNER_CHECKSUMS, c, same_residual(a, b),
		      "quoted IPv4 header residual %#06x became %#06x", a, b);
	}
	if (in->il4 <= in->end &&
	    l4_csum_off(in->iproto, in->il4) + 2 <= in->end) {
		size_t csum = l4_csum_off(in->iproto, in->il4);
		uint32_t ilen = in->itot_len > in->iihl ?
				in->itot_len - in->iihl : 0;

		if (in->iproto == PROTO_UDP && !get_be16(c->in + csum)) {
			CHECK(INV_ICMP_INNER_CHECKSUMS, c, !get_be16(o + csum),
			      "quoted UDP checksum 0 became %#06x",
			      get_be16(o + csum));
			return;
		}
		if (in->iproto == PROTO_ICMP) {
			a = plain_residual(c->in, in->il4, in->end);
			b = plain_residual(o, in->il4, in->end);
		} else {
			a = pseudo_residual(c->in, in->isrc, in->idst,
					    in->iproto, ilen, in->il4, in->end);
			b = pseudo_residual(o, get_be32(o + in->il3 + IP_SRC_OFF),
					    get_be32(o + in->il3 + IP_DST_OFF),
					    in->iproto, ilen, in->il4, in->end);
		}
		CHECK(INV_ICMP_INNER_CHECKSUMS, c, same_residual(a, b),
		      "quoted L4 (proto %u) residual %#06x became %#06x",
		      in->iproto, a, b);
	}
}

/* The sandbox behind a redirect to out_dst: exists, its MAC and its
 * device's; for XDP a device that takes XDP frames. Returns false (and
 * says why in why) when not. */
static bool delivered_right(const struct fz_case *c, uint32_t addr,
			    __u32 ifindex, char *why, size_t len)
{
	struct sandbox sbx;
	char a[INET_ADDRSTRLEN];

	if (!find_sandbox(addr, &sbx)) {
		snprintf(why, len, "%s is no sandbox", addr_str(addr, a));
		return false;
	}
	if (sbx.ifindex != ifindex) {
		snprintf(why, len, "sandbox %s is on device %u, the flow says "
			 "%u", sbx.id, sbx.ifindex, ifindex);
		return false;
	}
	if (memcmp(c->out, sbx.mac, 6) || memcmp(c->out + 6, sbx.host_mac, 6)) {
		snprintf(why, len, "MACs are not sandbox %s's and its "
			 "device's", sbx.id);
		return false;
	}
	if (c->hook == XDP_INGRESS && !sbx.xdp_frames) {
		snprintf(why, len, "XDP redirected to sandbox %s, whose device "
			 "takes no XDP frames", sbx.id);
		return false;
	}
	return true;
}

/* The flow that a reply from remote:remote_port to shared:shared_port
 * on attachment answers, found as ingress finds it (find_reply_flow),
 * with its key, the sandbox's side; false, saying why, when no flow
 * answers it. Host order. */
static bool reply_owner(uint8_t proto, uint32_t remote, uint16_t remote_port,
			uint32_t shared, uint16_t shared_port, __u32 attachment,
			struct flow_key *key, struct flow *flow, char *why,
			size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	if (find_reply_flow(proto, remote, remote_port, shared, shared_port,
			    attachment, key, flow))
		return true;
	snprintf(why, len, "no flow answers a reply %s:%u -> %s:%u proto %u "
		 "on attachment %u", addr_str(remote, a), remote_port,
		 addr_str(shared, b), shared_port, proto, attachment);
	return false;
}

/* A reply from outside: to the sandbox endpoint of the flow it answers. */
static bool ingress_to_owner(const struct fz_case *c, const struct view *in,
			     const struct view *out, char *why, size_t len)
{
	bool icmp = in->proto == PROTO_ICMP;
	uint16_t got_port = icmp ? out->icmp_id : out->dport;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct flow_key key;
	struct flow f;

	/* An echo request from outside answers no flow. */
	if (icmp && in->icmp_type != ICMPT_ECHO_REPLY) {
		snprintf(why, len, "delivered ICMP type %u, no echo reply",
			 in->icmp_type);
		return false;
	}
	if (!reply_owner(in->proto, in->src, icmp ? 0 : in->sport, in->dst,
			 icmp ? in->icmp_id : in->dport, c->ifindex, &key, &f,
			 why, len))
		return false;
	if (ntohl(key.src_addr) != out->dst ||
	    ntohs(key.src_port) != got_port || out->src != in->src ||
	    (!icmp && out->sport != in->sport)) {
		snprintf(why, len, "rewritten to %s:%u, the flow's sandbox end "
			 "is %s:%u", addr_str(out->dst, a), got_port,
			 addr_str(ntohl(key.src_addr), b), ntohs(key.src_port));
		return false;
	}
	return delivered_right(c, out->dst, f.sandbox_ifindex, why, len);
}

/* An error from outside about a sandbox's packet: to the sandbox endpoint
 * of the flow the quoted packet (as it left: from the shared endpoint)
 * belongs to, which a reply to it would find. */
static bool ingress_error_to_owner(const struct fz_case *c,
				   const struct view *in,
				   const struct view *out, char *why,
				   size_t len)
{
	bool icmp = in->iproto == PROTO_ICMP;
	uint16_t shared_port = icmp ? in->iid : in->isport;
	uint16_t got_port = icmp ? out->iid : out->isport;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct flow_key key;
	struct flow f;

	if (!in->inner || !out->inner) {
		snprintf(why, len, "no quoted header");
		return false;
	}
	if (!reply_owner(in->iproto, in->idst, icmp ? 0 : in->idport, in->isrc,
			 shared_port, c->ifindex, &key, &f, why, len))
		return false;
	if (ntohl(key.src_addr) != out->dst || out->isrc != out->dst ||
	    ntohs(key.src_port) != got_port) {
		snprintf(why, len, "outer destination %s, quoted source "
			 "%#x:%u; the flow's sandbox end is %s:%u",
			 addr_str(out->dst, a), out->isrc, got_port,
			 addr_str(ntohl(key.src_addr), b), ntohs(key.src_port));
		return false;
	}
	return delivered_right(c, out->dst, f.sandbox_ifindex, why, len);
}

/* A later fragment from outside: where its first fragment went. */
static bool fragment_to_owner(const struct fz_case *c, const struct view *in,
			      const struct view *out, char *why, size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct fragment_key fk;
	struct fragment fr;

	memset(&fk, 0, sizeof(fk));
	fk.src_addr = htonl(in->src);
	fk.dst_addr = htonl(in->dst);
	fk.ip_id = htons(in->id);
	fk.proto = in->proto;
	fk.direction = FLOW_INGRESS;
	fk.attachment = c->ifindex;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.fragments), &fk, &fr)) {
		snprintf(why, len, "no first fragment entry for this datagram");
		return false;
	}
	if (ntohl(fr.nat_addr) != out->dst) {
		snprintf(why, len, "rewritten to %s, the first fragment went "
			 "to %s", addr_str(out->dst, a),
			 addr_str(ntohl(fr.nat_addr), b));
		return false;
	}
	return delivered_right(c, out->dst, fr.ifindex, why, len);
}

/* A sandbox S's packet to a shared endpoint of its own attachment: S's
 * hairpin flow, then the target's flow that S's shared endpoint, as a
 * remote, answers (as its reply would find it). */
static bool hairpin_to_owner(const struct fz_case *c, const struct view *in,
			     const struct view *out, char *why, size_t len)
{
	struct flow_key sender = egress_key(in->proto, in->src, in->sport,
					    in->dst, in->dport);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct flow_key key;
	struct flow f, target;

	if (!find_flow(&sender, &f) || f.route != FLOW_ROUTE_HAIRPIN) {
		snprintf(why, len, "the sender has no hairpin flow for this "
			 "packet");
		return false;
	}
	if (!reply_owner(in->proto, ntohl(f.nat_addr), ntohs(f.nat_port),
			 in->dst, in->dport, f.ifindex, &key, &target, why,
			 len))
		return false;
	if (ntohl(key.src_addr) != out->dst ||
	    ntohs(key.src_port) != out->dport ||
	    out->src != ntohl(f.nat_addr) || out->sport != ntohs(f.nat_port)) {
		snprintf(why, len, "hairpinned to %s:%u from %#x:%u; the flows "
			 "say %s:%u", addr_str(out->dst, a), out->dport,
			 out->src, out->sport, addr_str(ntohl(key.src_addr), b),
			 ntohs(key.src_port));
		return false;
	}
	return delivered_right(c, out->dst, target.sandbox_ifindex, why, len);
}

/* The sender S speaks of a packet from R:rport, a shared endpoint: S's
 * flow to it is a hairpin flow, and the error goes to the sandbox T whose
 * flow S's shared endpoint answers, as a reply would find it. */
static bool hairpin_error_to_owner(const struct fz_case *c,
				   const struct view *in,
				   const struct view *out, char *why,
				   size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct flow_key sender, key;
	struct flow f, target;

	if (!in->inner || !out->inner || in->iproto == PROTO_ICMP) {
		snprintf(why, len, "no quoted TCP/UDP header");
		return false;
	}
	sender = egress_key(in->iproto, in->idst, in->idport, in->isrc,
			    in->isport);
	if (!find_flow(&sender, &f) || f.route != FLOW_ROUTE_HAIRPIN) {
		snprintf(why, len, "the sender has no hairpin flow for the "
			 "quoted packet");
		return false;
	}
	if (!reply_owner(in->iproto, ntohl(f.nat_addr), ntohs(f.nat_port),
			 in->isrc, in->isport, f.ifindex, &key, &target, why,
			 len))
		return false;
	if (ntohl(key.src_addr) != out->dst || out->isrc != out->dst ||
	    out->isport != ntohs(key.src_port) ||
	    out->src != ntohl(f.nat_addr) || out->idst != ntohl(f.nat_addr) ||
	    out->idport != ntohs(f.nat_port)) {
		snprintf(why, len, "delivered to %s with the quoted packet "
			 "%#x:%u -> %#x:%u; the flows say %s:%u",
			 addr_str(out->dst, a), out->isrc, out->isport,
			 out->idst, out->idport,
			 addr_str(ntohl(key.src_addr), b), ntohs(key.src_port));
		return false;
	}
	return delivered_right(c, out->dst, target.sandbox_ifindex, why, len);
}

/* Ingress (and hairpin): to the sandbox that owns the flow. */
static void check_ingress_owner(const struct fz_case *c, enum kind k,
				const struct view *in, const struct view *out)
{
	char why[256] = "";
	bool ok = false;

	if (!in->ip || !out->ip) {
		CHECK(INV_INGRESS_OWNER, c, false, "redirected a frame that "
		      "is no IPv4 packet (by an independent parse)");
		return;
	}
	if (k == K_INGRESS)
		ok = ingress_to_owner(c, in, out, why, sizeof(why));
	else if (k == K_INGRESS_ICMP_ERROR)
		ok = ingress_error_to_owner(c, in, out, why, sizeof(why));
	else if (k == K_INGRESS_FRAGMENT)
		ok = fragment_to_owner(c, in, out, why, sizeof(why));
	else if (k == K_HAIRPIN_ICMP_ERROR)
		ok = hairpin_error_to_owner(c, in, out, why, sizeof(why));
	else if (k == K_HAIRPIN)
		ok = hairpin_to_owner(c, in, out, why, sizeof(why));
	CHECK(INV_INGRESS_OWNER, c, ok, "%s", why);
}

static void check_egress_source(const struct fz_case *c, enum kind k,
				const struct view *in, const struct view *out)
{
	char why[256] = "", a[INET_ADDRSTRLEN];
	bool ok = false;

	if (!out->ip) {
		CHECK(INV_EGRESS_SOURCE, c, false, "a redirected frame that is "
		      "no IPv4 packet");
		return;
	}
	if (IN_POOL(out->src) || !world_is_shared(out->src)) {
		snprintf(why, sizeof(why), "source %s is %s",
			 addr_str(out->src, a), IN_POOL(out->src) ?
			 "a sandbox address" : "no shared address");
	} else if (k == K_EGRESS) {
		bool icmp = in->proto == PROTO_ICMP;
		struct flow_key key = egress_key_of(in);
		const struct attachment *att;
		struct flow f;
		uint16_t port = icmp ? out->icmp_id : out->sport;
		bool listed = false;
		unsigned int i;

		if (!find_flow(&key, &f)) {
			snprintf(why, sizeof(why), "translated with no egress "
				 "flow for it");
		} else if (ntohl(f.nat_addr) != out->src ||
			   ntohs(f.nat_port) != port || out->dst != in->dst ||
			   (!icmp && out->dport != in->dport)) {
			snprintf(why, sizeof(why), "left as %s:%u, the flow "
				 "says %#x:%u", addr_str(out->src, a), port,
				 ntohl(f.nat_addr), ntohs(f.nat_port));
		} else if (!(att = world_attachment(f.ifindex))) {
			snprintf(why, sizeof(why), "the flow leaves through "
				 "device %u, no attachment", f.ifindex);
		} else {
			for (i = 0; i < att->shared_addr_count; i++)
				listed |= ntohl(att->shared_addrs[i]) ==
					  out->src;
			if (!listed)
				snprintf(why, sizeof(why), "%s is no shared "
					 "address of attachment %u",
					 addr_str(out->src, a), f.ifindex);
			ok = listed;
		}
	} else if (k == K_EGRESS_ICMP_ERROR) {
		if (!out->inner || out->idst != out->src ||
		    IN_POOL(out->idst))
			snprintf(why, sizeof(why), "the quoted destination %#x "
				 "is not the new source", out->idst);
		else
			ok = true;
	} else if (k == K_EGRESS_FRAGMENT) {
		struct fragment_key fk;
		struct fragment fr;

		memset(&fk, 0, sizeof(fk));
		fk.src_addr = htonl(in->src);
		fk.dst_addr = htonl(in->dst);
		fk.ip_id = htons(in->id);
		fk.proto = in->proto;
		fk.direction = FLOW_EGRESS;
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.fragments), &fk,
					&fr) || ntohl(fr.nat_addr) != out->src)
			snprintf(why, sizeof(why), "the first fragment's "
				 "entry does not give %s", addr_str(out->src, a));
		else
			ok = true;
	} else {
		ok = true;	/* hairpinned: the source checked above */
	}
	CHECK(INV_EGRESS_SOURCE, c, ok, "%s", why);
}

static void check_arp(const struct fz_case *c)
{
	const uint8_t *i = c->in + ETH_HDR_LEN, *o = c->out + ETH_HDR_LEN;
	const struct fz_sandbox *s;
	bool ok;

	if (c->in_len < ETH_HDR_LEN + 28 || c->out_len < ETH_HDR_LEN + 28) {
		CHECK(INV_ARP_REPLY, c, false, "an ARP reply from a frame "
		      "too short for ARP");
		return;
	}
	s = world_sandbox(get_be32(i + 14));
	ok = get_be16(i) == 1 && get_be16(i + 2) == ETHERTYPE_IPV4 &&
	     i[4] == 6 && i[5] == 4 && get_be16(i + 6) == ARP_REQUEST &&
	     get_be32(i + 24) == SANDBOX_GATEWAY && s &&
	     fz_devices[s->dev].ifindex == c->ifindex;
	CHECK(INV_ARP_REPLY, c, ok, "answered an ARP frame that is no "
	      "request for 169.254.1.1 from a sandbox of this device");
	CHECK(INV_ANTI_SPOOFING, c, ok, "ARP answered for a stranger");
	if (!ok)
		return;
	ok = get_be16(o + 6) == ARP_REPLY &&
	     !memcmp(o + 8, fz_devices[s->dev].mac, 6) &&
	     get_be32(o + 14) == SANDBOX_GATEWAY &&
	     !memcmp(o + 18, i + 8, 6) && !memcmp(o + 24, i + 14, 4) &&
	     !memcmp(c->out, i + 8, 6) &&
	     !memcmp(c->out + 6, fz_devices[s->dev].mac, 6);
	CHECK(INV_ARP_REPLY, c, ok, "the reply's body or MACs are wrong");
}

/* Where the flow's packets go on the customer side: the destination, or
 * its attachment's gateway (struct flow route). */
static __be32 next_hop_of(const struct flow_key *key, const struct flow *f)
{
	struct attachment att;

	if (f->route != FLOW_ROUTE_GATEWAY)
		return key->dst_addr;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.attachments),
				&f->ifindex, &att))
		return 0;
	return att.gateway_addr;
}

/* XDP egress's redirect: only what needs nothing but the translation
 * (bpf/egress_xdp.h), to a next hop heard from lately, with its MACs. */
static void check_xdp_egress(const struct fz_case *c, const struct view *in)
{
	struct neighbour_key nk = { 0 };
	struct neighbour_macs nm;
	struct flow_key key;
	const char *why = NULL;
	bool found = false, heard = false;
	enum fz_dev dev = DEV_COUNT;
	struct flow f;
	__u32 target;

	if (in->ip) {
		key = egress_key_of(in);
		found = find_flow(&key, &f);
	}
	if (found)
		dev = world_dev_of(f.ifindex);
	if (!in->ip)
		why = "no IPv4 packet (by an independent parse)";
	else if (in->frag & (IP_MF_FLAG | IP_OFFSET_MASK))
		why = "a fragment";
	else if (!(in->frag & 0x4000))
		why = "DF clear: tc gives it an IP id";
	else if (in->ttl < 2)
		why = "TTL below 2";
	else if (!found)
		why = "no flow of its own";
	else if (f.route == FLOW_ROUTE_HAIRPIN)
		why = "a hairpinned flow";
	else if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xdp_devices),
				     &f.ifindex, &target))
		why = "its shared device is not in xdp_devices";
	else if (dev == DEV_COUNT ||
		 c->in_len > fz_devices[dev].mtu + ETH_HDR_LEN)
		why = "larger than the shared device's MTU";
	if (!why) {
		nk.ifindex = f.ifindex;
		nk.addr = next_hop_of(&key, &f);
		heard = !bpf_map_lookup_elem(bpf_map__fd(skel->maps.neighbours),
					     &nk, &nm);
		/* Checked just after the run: a second's grace for the
		 * clock the program read. */
		if (!heard)
			why = "no neighbour entry for its next hop";
		else if (world_coarse_ns() - nm.learned_ns >
			 FZ_NEIGHBOUR_FRESH_NS + 1000000000ull)
			why = "its next hop's entry is stale";
	}
	CHECK(INV_XDP_EGRESS, c, !why, "redirected, yet %s", why);
	if (heard)
		CHECK(INV_ONLY_NAT_FIELDS, c, !memcmp(c->out, nm.mac, 6) &&
		      !memcmp(c->out + ETH_SRC_OFF, nm.device_mac, 6),
		      "the MACs are not the next hop's and its device's from "
		      "map neighbours");
}

static void check_redirect(const struct fz_case *c, enum kind k,
			   const struct view *in, const struct view *out)
{
	check_only_nat_fields(c, k, in);
	if (k == K_ARP) {
		check_arp(c);
		return;
	}
	if (k == K_NONE)
		return;		/* the counters check said so */
	CHECK(INV_TTL, c, in->ip && out->ip && in->ttl >= 2 &&
	      out->ttl == in->ttl - 1, "TTL %u in, %u out", in->ttl, out->ttl);
	check_checksums(c, k, in);
	if (hook_is_egress(c->hook)) {
		const struct fz_sandbox *s = in->ip ? world_sandbox(in->src) :
						      NULL;

		struct sandbox sbx;

		CHECK(INV_ANTI_SPOOFING, c, s &&
		      fz_devices[s->dev].ifindex == c->ifindex,
		      "translated a packet from %#x, no sandbox of device %u",
		      in->src, c->ifindex);
		/* The sender's MAC is learned, unless --mac fixed it. */
		if (s && find_sandbox(s->addr, &sbx))
			CHECK(INV_ANTI_SPOOFING, c, s->static_mac ?
			      !memcmp(sbx.mac, s->mac, 6) :
			      !memcmp(sbx.mac, c->in + ETH_SRC_OFF, 6),
			      "sandbox %s's MAC is %02x:%02x:%02x:%02x:%02x:%02x"
			      " after its packet", s->id, sbx.mac[0], sbx.mac[1],
			      sbx.mac[2], sbx.mac[3], sbx.mac[4], sbx.mac[5]);
		check_egress_source(c, k, in, out);
	}
	if (c->hook == XDP_EGRESS)
		check_xdp_egress(c, in);
	if (k == K_HAIRPIN || k == K_HAIRPIN_ICMP_ERROR ||
	    !hook_is_egress(c->hook))
		check_ingress_owner(c, k, in, out);
}

/* The NAT's own ICMP error (bpf/icmp_send.h) about the input frame. */
static void check_own_icmp_error(const struct fz_case *c,
				 const struct view *in, const struct view *out)
{
	size_t quote = in->ihl + 20;
	const char *bad;

	if (quote > in->tot_len)
		quote = in->tot_len;
	CHECK(INV_OWN_ICMP_ERROR, c, in->ip && !in->later && !in->icmp_error,
	      "an error about a frame that is no IPv4, a later fragment or an "
	      "ICMP error");
	CHECK(INV_OWN_ICMP_ERROR, c, out->ip && out->proto == PROTO_ICMP &&
	      out->icmp_error && out->dst == in->src &&
	      out->len == out->l3 + IP_MIN_LEN + 8 + quote &&
	      !memcmp(out->f + out->l3 + IP_MIN_LEN + 8, in->f + in->l3, quote),
	      "not an ICMP error to the sender quoting its IP header and %zu "
	      "bytes", quote);
	CHECK(INV_OWN_ICMP_ERROR, c, out->len >= ETH_HDR_LEN &&
	      !memcmp(out->f + ETH_DST_OFF, in->f + ETH_SRC_OFF, 6) &&
	      !memcmp(out->f + ETH_SRC_OFF, in->f + ETH_DST_OFF, 6),
	      "the error's MACs are not the packet's, swapped");
	bad = frame_checksum_error(out->f, out->len);
	CHECK(INV_OWN_ICMP_ERROR, c, !bad, "%s", bad ? bad : "");
}

void check_case(const struct fz_case *c)
{
	struct view in, out;
	struct deltas x;
	enum outcome o;
	unsigned int i;

	fz_stats.runs[c->hook]++;
	deltas_of(c, &x);
	for (i = 0; i < COUNTER_MAX; i++)
		if (x.d[i])
			fz_stats.counter_moved[i]++;
	view_parse(&in, c->in, c->in_len);
	if (c->err == -EINVAL) {
		fz_stats.refused[c->hook]++;
		CHECK(INV_REFUSED_NO_EFFECT, c, state_unchanged(c),
		      "the kernel refused the frame, yet the state changed");
		return;
	}
	if (c->err == -EBADMSG) {
		/* ARP: see test_bpf.c. An own ICMP error cut shorter than
		 * the packet, or a datagram cut up (its pieces sent, what
		 * is left of it consumed): bpf_skb_change_tail leaves it
		 * CHECKSUM_NONE, which a test run reports as EBADMSG. */
		if ((in.ethertype == ETHERTYPE_ARP && c->hook == EGRESS &&
		     x.d[COUNTER_ARP_REPLIED] == 1) ||
		    x.d[COUNTER_ICMP_ERROR_SENT] == 1 ||
		    x.d[COUNTER_FRAGMENTED] == 1) {
			tallies[INV_CHECKSUM_COMPLETE].checked++;
			tallies[INV_CHECKSUM_COMPLETE].exempt++;
		} else {
			CHECK(INV_CHECKSUM_COMPLETE, c, false, "as "
			      "CHECKSUM_COMPLETE, skb->csum no longer matches "
			      "the packet (EBADMSG)");
		}
		return;
	}
	CHECK(INV_VERDICT, c, !c->err, "BPF_PROG_TEST_RUN failed: %s",
	      strerror(-c->err));
	if (c->err)
		return;
	if (c->flags & BPF_F_TEST_SKB_CHECKSUM_COMPLETE)
		tallies[INV_CHECKSUM_COMPLETE].checked++;
	if (c->verdict >= 0 && c->verdict < 8)
		fz_stats.verdicts[c->hook][c->verdict]++;
	o = outcome_of(c);
	if (o == O_REDIRECT && x.d[COUNTER_ICMP_ERROR_SENT])
		o = O_ANSWERED;
	CHECK(INV_VERDICT, c, o != O_INVALID, "%s may not answer %s (%d)",
	      hook_name(c->hook), verdict_name(c->hook, c->verdict),
	      c->verdict);
	if (o == O_INVALID)
		return;
	view_parse(&out, c->out, c->out_len);
	check_counters(c, &x, o, &in);
	check_function_counters(c, &x, &in, &out);
	check_flow_accounting(c, &x, o, &in);
	if (o == O_PASS) {
		CHECK(INV_PASS_UNTOUCHED, c, c->out_len == c->in_len &&
		      !memcmp(c->in, c->out, c->in_len),
		      "a frame handed on was changed");
		return;
	}
	if (o == O_REDIRECT)
		check_redirect(c, kind_of(c, &x), &in, &out);
	if (o == O_ANSWERED)
		check_own_icmp_error(c, &in, &out);
}

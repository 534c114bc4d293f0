// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz frames: a template makes a plausible frame (most of them from the
 * flows the maps hold, so they reach the deep paths: replies, ICMP errors
 * quoting a flow's packet, fragments of a datagram whose first fragment
 * went through, ...), then mutations break it (truncation, bad IHL, IP
 * options, fragment bits, zero and oversized lengths, bit flips, bad
 * checksums, trailing bytes past the IP packet). Half of the mutated
 * frames get their checksums recomputed, so malformed packets with valid
 * checksums go as deep as they can. Frames are built by the unit tests'
 * builder (tests/unit/packet.c) and edited here.
 *
 * Sweeps make sure of coverage: every ICMP (type, code) pair and every
 * TCP flag byte come up in turn.
 */
#include <arpa/inet.h>
#include <string.h>

#include "fastpath.h"

#ifndef BPF_F_TEST_SKB_CHECKSUM_COMPLETE
#define BPF_F_TEST_SKB_CHECKSUM_COMPLETE (1U << 2)
#endif

#define MAC_CUSTOMER_1 { 0x02, 0xc0, 0x00, 0x00, 0x00, 0x0a }

static unsigned long icmp_sweep, tcp_sweep;
static uint8_t icmp_seen[65536 / 8];
static uint8_t tcp_seen[256 / 8];

/* First fragments sent lately, for their later fragments. */
struct first_fragment {
	enum hook hook;
	__u32 ifindex;
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	uint8_t src_mac[6], dst_mac[6];
};

#define FRAG_MEMORY 64
static struct first_fragment frag_memory[FRAG_MEMORY];
static unsigned int frag_count, frag_next;

static char payload_buf[FZ_FRAME_MAX];

void gen_reset(void)
{
	frag_count = 0;
	frag_next = 0;
}

unsigned int gen_icmp_pairs_covered(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < sizeof(icmp_seen); i++)
		n += (unsigned int)__builtin_popcount(icmp_seen[i]);
	return n;
}

unsigned int gen_tcp_flags_covered(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < sizeof(tcp_seen); i++)
		n += (unsigned int)__builtin_popcount(tcp_seen[i]);
	return n;
}

/* ---- bytes ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool is_ipv4(const uint8_t *f, size_t len)
{
	return len >= ETH_HDR_LEN + IP_MIN_LEN &&
	       get_be16(f + ETH_TYPE_OFF) == ETHERTYPE_IPV4;
}

static size_t ihl_bytes(const uint8_t *f)
{
	return (size_t)(f[IP_OFF] & 0x0f) * 4;
}

/* The end of the IP packet inside the frame (never past the frame). */
static size_t ip_end(const uint8_t *f, size_t len)
{
	size_t end = ETH_HDR_LEN + get_be16(f + IP_OFF + IP_TOT_LEN_OFF);

	return end < len ? end : len;
}

static void fix_ip_checksum(uint8_t *f, size_t len)
{
	size_t hl;

	if (!is_ipv4(f, len))
		return;
	hl = ihl_bytes(f);
	if (hl < IP_MIN_LEN || IP_OFF + hl > len)
		return;
	put16(f + IP_OFF + IP_CSUM_OFF, 0);
	put16(f + IP_OFF + IP_CSUM_OFF, inet_checksum(f + IP_OFF, hl));
}

/* TCP, UDP or ICMP checksum over the IP packet as its header says. A UDP
 * checksum of 0 ("none") stays 0. */
static void fix_l4_checksum(uint8_t *f, size_t len)
{
	size_t hl, l4, end, csum;
	uint32_t sum = 0;
	uint16_t value;
	uint8_t proto;

	if (!is_ipv4(f, len))
		return;
	hl = ihl_bytes(f);
	l4 = IP_OFF + hl;
	end = ip_end(f, len);
	proto = f[IP_OFF + IP_PROTO_OFF];
	if (hl < IP_MIN_LEN || l4 > end)
		return;
	switch (proto) {
	case PROTO_TCP:
		csum = l4 + TCP_CSUM_OFF;
		break;
	case PROTO_UDP:
		csum = l4 + UDP_CSUM_OFF;
		if (csum + 2 <= end && !get_be16(f + csum))
			return;
		break;
	case PROTO_ICMP:
		csum = l4 + ICMP_CSUM_OFF;
		break;
	default:
		return;
	}
	if (csum + 2 > end)
		return;
	put16(f + csum, 0);
	if (proto != PROTO_ICMP) {
		sum = csum_add_words(0, f + IP_OFF + IP_SRC_OFF, 8);
		sum += proto + (uint32_t)(end - l4);
	}
	value = (uint16_t)~csum_fold16(csum_add_words(sum, f + l4, end - l4));
	if (proto == PROTO_UDP && !value)
		value = 0xffff;
	put16(f + csum, value);
}

static void fix_checksums(uint8_t *f, size_t len)
{
	fix_l4_checksum(f, len);
	fix_ip_checksum(f, len);
}

/* ---- choices ---- */

static const uint32_t remotes[] = {
	ADDR(10, 0, 1, 10), ADDR(10, 0, 1, 11), ADDR(10, 0, 2, 10),
	ADDR(192, 168, 7, 7), ADDR(10, 0, 1, 1), ADDR(10, 0, 2, 1),
};

static const uint32_t odd_addrs[] = {
	ADDR(10, 0, 1, 5), ADDR(10, 0, 1, 6), ADDR(10, 0, 2, 5),
	ADDR(10, 0, 2, 7), ADDR(169, 254, 1, 1), ADDR(100, 64, 0, 2),
	ADDR(100, 64, 0, 99), 0, 0xffffffff, ADDR(224, 0, 0, 1),
	ADDR(127, 0, 0, 1), ADDR(10, 0, 1, 255), ADDR(10, 0, 1, 2),
};

static const uint32_t shared_addrs[] = {
	ADDR(10, 0, 1, 5), ADDR(10, 0, 1, 6), ADDR(10, 0, 2, 5),
	ADDR(10, 0, 2, 7),
};

#define PICK(r, table) ((table)[rng_below((r), ARRAY_SIZE(table))])

static uint32_t pick_remote(struct rng *r)
{
	unsigned int p = rng_below(r, 100);

	if (p < 70)
		return PICK(r, remotes);
	if (p < 90)
		return PICK(r, odd_addrs);
	return (uint32_t)rng_next(r);
}

static uint16_t pick_sandbox_port(struct rng *r)
{
	static const uint16_t odd[] = { 1024, 20000, 20031, 30000, 30015, 0,
					65535, 53, 1 };
	unsigned int p = rng_below(r, 100);

	if (p < 60)
		return (uint16_t)(40000 + rng_below(r, 8));
	if (p < 80)
		return PICK(r, odd);
	return (uint16_t)rng_next(r);
}

static uint16_t pick_remote_port(struct rng *r)
{
	static const uint16_t usual[] = { 80, 443, 53, 8080, 22, 5000 };
	static const uint16_t odd[] = { 0, 65535, 1 };
	unsigned int p = rng_below(r, 100);

	if (p < 70)
		return PICK(r, usual);
	if (p < 80)
		return PICK(r, odd);
	return (uint16_t)rng_next(r);
}

static uint8_t pick_tcp_flags(struct rng *r)
{
	static const uint8_t usual[] = {
		TCPF_SYN, TCPF_ACK, TCPF_SYN | TCPF_ACK, TCPF_FIN | TCPF_ACK,
		TCPF_RST, TCPF_RST | TCPF_ACK, 0x18 /* PSH ACK */, 0,
	};
	uint8_t flags;

	if (rng_chance(r, 50))
		flags = (uint8_t)(tcp_sweep++ & 0xff);
	else
		flags = PICK(r, usual);
	tcp_seen[flags / 8] |= (uint8_t)(1u << (flags % 8));
	return flags;
}

static const struct fz_sandbox *pick_sandbox(struct rng *r)
{
	return &fz_sandboxes[rng_below(r, fz_sandbox_count)];
}

static __u32 pick_device(struct rng *r)
{
	return fz_devices[rng_below(r, DEV_COUNT)].ifindex;
}

static __u32 pick_attachment_device(struct rng *r)
{
	static const enum fz_dev devs[] = { DEV_A, DEV_B, DEV_C };

	return fz_devices[PICK(r, devs)].ifindex;
}

static const struct fz_flow *pick_flow(struct rng *r)
{
	/* Always draw, so the sequence does not depend on the count. */
	uint32_t i = (uint32_t)rng_next(r);

	if (!fz_flow_count)
		return NULL;
	return &fz_flows[i % fz_flow_count];
}

/* A payload of n bytes 1-255 (the builder takes a C string). */
static const char *random_payload(struct rng *r, size_t n)
{
	size_t i;

	if (n >= sizeof(payload_buf))
		n = sizeof(payload_buf) - 1;
	for (i = 0; i < n; i++)
		payload_buf[i] = (char)(1 + rng_below(r, 255));
	payload_buf[n] = '\0';
	return payload_buf;
}

static size_t pick_payload_len(struct rng *r)
{
	unsigned int p = rng_below(r, 100);

	if (p < 20)
		return 0;
	if (p < 90)
		return rng_below(r, 64);
	if (p < 98)
		return 64 + rng_below(r, 1400);
	return 1400 + rng_below(r, 3000);
}

static void sandbox_macs(struct rng *r, const struct fz_sandbox *s,
			 struct frame_spec *f)
{
	static const uint8_t learned[][6] = {
		{ 0x02, 0x5b, 0, 0, 0, 0x77 }, { 0x02, 0x5b, 0, 0, 0, 0x78 },
	};

	if (s && s->static_mac && rng_chance(r, 80))
		memcpy(f->src_mac, s->mac, 6);
	else
		memcpy(f->src_mac, learned[rng_below(r, 2)], 6);
	memcpy(f->dst_mac, fz_devices[s ? s->dev : DEV_SX1].mac, 6);
}

static void customer_macs(__u32 ifindex, struct frame_spec *f)
{
	static const uint8_t customer[6] = MAC_CUSTOMER_1;
	enum fz_dev dev = world_dev_of(ifindex);

	memcpy(f->src_mac, customer, 6);
	memcpy(f->dst_mac, fz_devices[dev < DEV_COUNT ? dev : DEV_A].mac, 6);
}

/* ---- building ---- */

size_t gen_frame(const struct frame_spec *spec, uint8_t *buf, size_t cap)
{
	return frame_build(spec, buf, cap);
}

static void set_ip_id(uint8_t *f, size_t len, uint16_t id)
{
	if (is_ipv4(f, len)) {
		put16(f + IP_OFF + 4, id);
		fix_ip_checksum(f, len);
	}
}

/* L4 header bits of a TCP, UDP or ICMP echo frame. */
static void l4_fields(struct rng *r, struct frame_spec *f, uint8_t proto,
		      uint16_t sport, uint16_t dport, bool reply)
{
	f->proto = proto;
	if (proto == PROTO_ICMP) {
		f->icmp_type = reply ? ICMPT_ECHO_REPLY : ICMPT_ECHO;
		f->icmp_id = reply ? dport : sport;
		f->icmp_seq = (uint16_t)rng_next(r);
		return;
	}
	f->src_port = sport;
	f->dst_port = dport;
	if (proto == PROTO_TCP) {
		f->tcp_flags = pick_tcp_flags(r);
		f->tcp_seq = (uint32_t)rng_next(r);
		f->tcp_ack = (uint32_t)rng_next(r);
	}
	if (proto == PROTO_UDP && rng_chance(r, 10))
		f->udp_no_checksum = true;
	if (proto != PROTO_ICMP && rng_chance(r, 8))
		f->l4_checksum_seed = true;
}

static void ip_extras(struct rng *r, struct frame_spec *f)
{
	if (rng_chance(r, 8))
		f->options_len = (uint8_t)(4 * (1 + rng_below(r, 10)));
	if (rng_chance(r, 5)) {
		static const uint8_t ttls[] = { 0, 1, 2, 255 };

		f->ttl = PICK(r, ttls);
	}
	/* DF clear: a non-atomic datagram, whose IP id egress rewrites. */
	f->may_fragment = rng_chance(r, 30);
	f->payload = random_payload(r, pick_payload_len(r));
}

/* Random option bytes instead of the builder's NOPs. */
static void scribble_options(struct rng *r, uint8_t *buf, size_t len)
{
	size_t hl, i;

	if (!is_ipv4(buf, len))
		return;
	hl = ihl_bytes(buf);
	for (i = IP_OFF + IP_MIN_LEN; i < IP_OFF + hl && i < len; i++)
		buf[i] = (uint8_t)rng_next(r);
	fix_ip_checksum(buf, len);
}

static void build(struct rng *r, struct fz_case *c, const struct frame_spec *f)
{
	c->in_len = frame_build(f, c->in, sizeof(c->in));
	if (f->options_len && rng_chance(r, 50))
		scribble_options(r, c->in, c->in_len);
}

static void remember_first_fragment(struct fz_case *c, uint16_t id)
{
	struct first_fragment *m = &frag_memory[frag_next];

	m->hook = c->hook;
	m->ifindex = c->ifindex;
	m->src = get_be32(c->in + IP_OFF + IP_SRC_OFF);
	m->dst = get_be32(c->in + IP_OFF + IP_DST_OFF);
	m->proto = c->in[IP_OFF + IP_PROTO_OFF];
	m->id = id;
	memcpy(m->dst_mac, c->in, 6);
	memcpy(m->src_mac, c->in + 6, 6);
	frag_next = (frag_next + 1) % FRAG_MEMORY;
	if (frag_count < FRAG_MEMORY)
		frag_count++;
}

/* Sometimes the first fragment of a datagram. */
static void maybe_first_fragment(struct rng *r, struct fz_case *c,
				 unsigned int percent)
{
	uint16_t id;

	if (!is_ipv4(c->in, c->in_len) || !rng_chance(r, percent))
		return;
	id = (uint16_t)(0x7000 + rng_below(r, 16));
	put16(c->in + IP_OFF + IP_FRAG_OFF, IP_MF_FLAG);
	set_ip_id(c->in, c->in_len, id);
	remember_first_fragment(c, id);
}

static enum hook pick_ingress_hook(struct rng *r)
{
	return rng_chance(r, 40) ? XDP_INGRESS : INGRESS;
}

/* Any sandbox device may have XDP egress in front of tc (sandbox add
 * --mode xdp); what it passes goes on to tc egress. */
static enum hook pick_egress_hook(struct rng *r)
{
	return rng_chance(r, 40) ? XDP_EGRESS : EGRESS;
}

/* ---- templates ---- */

static void t_egress_new(struct rng *r, struct fz_case *c)
{
	const struct fz_sandbox *s = pick_sandbox(r);
	struct frame_spec f;
	unsigned int p = rng_below(r, 100);
	uint8_t proto;

	memset(&f, 0, sizeof(f));
	f.kind = FRAME_IPV4;
	sandbox_macs(r, s, &f);
	f.src_addr = s->addr;
	f.dst_addr = pick_remote(r);
	if (p < 40)
		proto = PROTO_TCP;
	else if (p < 75)
		proto = PROTO_UDP;
	else if (p < 93)
		proto = PROTO_ICMP;
	else
		proto = rng_chance(r, 50) ? PROTO_GRE : (uint8_t)rng_next(r);
	if (proto == PROTO_TCP || proto == PROTO_UDP || proto == PROTO_ICMP)
		l4_fields(r, &f, proto, pick_sandbox_port(r),
			  pick_remote_port(r), rng_chance(r, 15));
	else
		f.proto = proto;
	ip_extras(r, &f);
	c->template = "egress-new";
	c->hook = pick_egress_hook(r);
	c->ifindex = rng_chance(r, 88) ? fz_devices[s->dev].ifindex :
					 pick_device(r);
	build(r, c, &f);
	maybe_first_fragment(r, c, 6);
}

static void t_egress_flow(struct rng *r, struct fz_case *c)
{
	const struct fz_flow *kf = pick_flow(r);
	const struct fz_sandbox *s;
	struct frame_spec f;
	const struct flow_key *k;

	if (!kf)
		return t_egress_new(r, c);
	k = &kf->key;
	s = world_sandbox(ntohl(k->src_addr));
	memset(&f, 0, sizeof(f));
	f.kind = FRAME_IPV4;
	sandbox_macs(r, s, &f);
	f.src_addr = ntohl(k->src_addr);
	f.dst_addr = ntohl(k->dst_addr);
	l4_fields(r, &f, k->proto, ntohs(k->src_port), ntohs(k->dst_port),
		  false);
	ip_extras(r, &f);
	c->template = "egress-flow";
	c->hook = pick_egress_hook(r);
	c->ifindex = s && rng_chance(r, 92) ? fz_devices[s->dev].ifindex :
					      pick_device(r);
	build(r, c, &f);
	maybe_first_fragment(r, c, 8);
}

/* An ICMP error around a quoted packet: the outer frame from f, then the
 * quoted bytes; lengths and checksums made right. */
static void build_icmp_error(struct rng *r, struct fz_case *c,
			     struct frame_spec *outer, uint8_t type,
			     uint8_t code, const struct frame_spec *inner)
{
	uint8_t quoted[FZ_FRAME_MAX];
	size_t qlen, keep, l4;

	outer->proto = PROTO_ICMP;
	outer->icmp_type = type;
	outer->payload = NULL;
	c->in_len = frame_build(outer, c->in, sizeof(c->in));
	l4 = frame_l4_off(c->in);
	c->in[l4 + 1] = code;
	/* Bytes 4-7: unused, or the next-hop MTU of "fragmentation needed",
	 * or the pointer of a parameter problem. */
	put16(c->in + l4 + 4, 0);
	put16(c->in + l4 + 6, type == 3 && code == 4 ?
	      (uint16_t)(576 + rng_below(r, 1000)) : 0);
	if (type == 12)
		c->in[l4 + 4] = (uint8_t)rng_below(r, 40);
	qlen = frame_build(inner, quoted, sizeof(quoted));
	if (qlen <= ETH_HDR_LEN)
		return;
	qlen -= ETH_HDR_LEN;
	switch (rng_below(r, 4)) {
	case 0:		/* RFC 792: the header and 8 bytes */
		keep = (size_t)(quoted[ETH_HDR_LEN] & 0x0f) * 4 + 8;
		break;
	case 1:		/* RFC 1812: as much as fits */
		keep = qlen;
		break;
	default:
		keep = 1 + rng_below(r, (uint32_t)qlen);
		break;
	}
	if (keep > qlen)
		keep = qlen;
	if (c->in_len + keep > sizeof(c->in))
		keep = sizeof(c->in) - c->in_len;
	memcpy(c->in + c->in_len, quoted + ETH_HDR_LEN, keep);
	c->in_len += keep;
	put16(c->in + IP_OFF + IP_TOT_LEN_OFF, (uint16_t)(c->in_len - IP_OFF));
	fix_checksums(c->in, c->in_len);
	icmp_seen[(type << 8 | code) / 8] |=
		(uint8_t)(1u << ((type << 8 | code) % 8));
}

static void pick_error_type(struct rng *r, uint8_t *type, uint8_t *code)
{
	switch (rng_below(r, 10)) {
	case 0: case 1: case 2: case 3: case 4:
		*type = ICMPT_DEST_UNREACH;
		*code = (uint8_t)rng_below(r, 16);
		break;
	case 5: case 6:
		*type = 11;
		*code = (uint8_t)rng_below(r, 2);
		break;
	case 7: case 8:
		*type = 12;
		*code = (uint8_t)rng_below(r, 3);
		break;
	default:
		*type = (uint8_t)rng_next(r);
		*code = (uint8_t)rng_next(r);
		break;
	}
}

/* The quoted packet: TCP, UDP or echo, as given. */
static void quoted_packet(struct rng *r, struct frame_spec *q, uint8_t proto,
			  uint32_t src, uint16_t sport, uint32_t dst,
			  uint16_t dport)
{
	memset(q, 0, sizeof(*q));
	q->kind = FRAME_IPV4;
	q->src_addr = src;
	q->dst_addr = dst;
	q->ttl = rng_chance(r, 50) ? 1 : 0;
	l4_fields(r, q, proto, sport, dport, false);
	q->l4_checksum_seed = false;
	if (rng_chance(r, 10))
		q->options_len = 4;
	if (rng_chance(r, 5))
		q->frag_off = (uint16_t)(rng_chance(r, 50) ? 0x2000 : 0x0010);
	q->payload = random_payload(r, rng_below(r, 48));
}

/* A sandbox's error about a packet it received on a flow. */
static void t_egress_icmp_error(struct rng *r, struct fz_case *c)
{
	const struct fz_flow *kf = pick_flow(r);
	const struct fz_sandbox *s;
	struct frame_spec outer, inner;
	const struct flow_key *k;
	uint8_t type, code;

	if (!kf)
		return t_egress_new(r, c);
	k = &kf->key;
	s = world_sandbox(ntohl(k->src_addr));
	memset(&outer, 0, sizeof(outer));
	outer.kind = FRAME_IPV4;
	sandbox_macs(r, s, &outer);
	outer.src_addr = ntohl(k->src_addr);
	outer.dst_addr = rng_chance(r, 85) ? ntohl(k->dst_addr) :
					     pick_remote(r);
	quoted_packet(r, &inner, k->proto, ntohl(k->dst_addr),
		      ntohs(k->dst_port), ntohl(k->src_addr),
		      ntohs(k->src_port));
	if (k->proto == PROTO_ICMP) {
		inner.icmp_type = ICMPT_ECHO_REPLY;
		inner.icmp_id = ntohs(k->src_port);
	}
	if (rng_chance(r, 10))
		inner.src_port ^= (uint16_t)(1 + rng_below(r, 3));
	pick_error_type(r, &type, &code);
	c->template = "egress-icmp-error";
	c->hook = pick_egress_hook(r);
	c->ifindex = s && rng_chance(r, 92) ? fz_devices[s->dev].ifindex :
					      pick_device(r);
	build_icmp_error(r, c, &outer, type, code, &inner);
}

static void t_ingress_reply(struct rng *r, struct fz_case *c)
{
	const struct fz_flow *kf = pick_flow(r);
	const struct reply_key *k;
	struct frame_spec f;
	unsigned int p;

	if (!kf)
		return;
	k = &kf->reply;
	memset(&f, 0, sizeof(f));
	f.kind = FRAME_IPV4;
	f.src_addr = ntohl(k->remote_addr);
	f.dst_addr = ntohl(k->shared_addr);
	l4_fields(r, &f, k->proto, ntohs(k->remote_port),
		  ntohs(k->shared_port), true);
	p = rng_below(r, 100);
	if (p < 5)
		f.src_port ^= 1;
	else if (p < 10)
		f.src_addr = PICK(r, remotes);
	else if (p < 14)
		f.dst_addr = PICK(r, shared_addrs);
	else if (p < 18)
		f.dst_port = pick_sandbox_port(r);
	else if (p < 21 && k->proto == PROTO_ICMP)
		f.icmp_type = ICMPT_ECHO;
	ip_extras(r, &f);
	c->template = "ingress-reply";
	c->hook = pick_ingress_hook(r);
	p = rng_below(r, 100);
	c->ifindex = p < 85 ? k->attachment : p < 95 ?
		     pick_attachment_device(r) : pick_device(r);
	customer_macs(c->ifindex, &f);
	build(r, c, &f);
	maybe_first_fragment(r, c, 8);
}

static void t_ingress_unsolicited(struct rng *r, struct fz_case *c)
{
	static const uint32_t dsts[] = {
		ADDR(10, 0, 1, 5), ADDR(10, 0, 1, 6), ADDR(10, 0, 2, 5),
		ADDR(10, 0, 2, 7), ADDR(10, 0, 1, 2), ADDR(100, 64, 0, 1),
	};
	struct frame_spec f;
	unsigned int p = rng_below(r, 100);

	memset(&f, 0, sizeof(f));
	f.kind = FRAME_IPV4;
	f.src_addr = pick_remote(r);
	f.dst_addr = rng_chance(r, 85) ? PICK(r, dsts) : (uint32_t)rng_next(r);
	l4_fields(r, &f, p < 40 ? PROTO_TCP : p < 75 ? PROTO_UDP : PROTO_ICMP,
		  pick_remote_port(r), pick_sandbox_port(r), rng_chance(r, 70));
	if (p >= 95)
		f.proto = PROTO_GRE;
	ip_extras(r, &f);
	c->template = "ingress-unsolicited";
	c->hook = pick_ingress_hook(r);
	c->ifindex = pick_attachment_device(r);
	customer_macs(c->ifindex, &f);
	build(r, c, &f);
}

/* The customer side's error about a packet a sandbox sent (as it left:
 * from the shared endpoint). */
static void t_ingress_icmp_error(struct rng *r, struct fz_case *c)
{
	const struct fz_flow *kf = pick_flow(r);
	struct frame_spec outer, inner;
	const struct flow_key *k;
	uint8_t type, code;
	unsigned int p;

	if (!kf)
		return t_ingress_unsolicited(r, c);
	k = &kf->key;
	memset(&outer, 0, sizeof(outer));
	outer.kind = FRAME_IPV4;
	p = rng_below(r, 100);
	outer.src_addr = p < 60 ? ntohl(k->dst_addr) : p < 90 ?
			 ADDR(10, 0, 1, 1) : pick_remote(r);
	outer.dst_addr = rng_chance(r, 90) ? ntohl(kf->flow.nat_addr) :
					     PICK(r, shared_addrs);
	quoted_packet(r, &inner, k->proto, ntohl(kf->flow.nat_addr),
		      ntohs(kf->flow.nat_port), ntohl(k->dst_addr),
		      ntohs(k->dst_port));
	p = rng_below(r, 100);
	if (p < 5)
		inner.src_port ^= 1;
	else if (p < 8)
		inner.proto = (uint8_t)rng_next(r);
	pick_error_type(r, &type, &code);
	c->template = "ingress-icmp-error";
	c->hook = pick_ingress_hook(r);
	p = rng_below(r, 100);
	c->ifindex = p < 88 ? kf->flow.ifindex : pick_attachment_device(r);
	customer_macs(c->ifindex, &outer);
	build_icmp_error(r, c, &outer, type, code, &inner);
}

/* Every ICMP type and code in turn, both ways, with a quoted packet of a
 * flow or an echo-like body. */
static void t_icmp_sweep(struct rng *r, struct fz_case *c)
{
	unsigned long k = icmp_sweep++;
	uint8_t type = (uint8_t)(k & 0xff), code = (uint8_t)((k >> 8) & 0xff);
	const struct fz_flow *kf = pick_flow(r);
	bool egress = rng_chance(r, 50);
	struct frame_spec outer, inner;
	const struct fz_sandbox *s;
	size_t l4;

	memset(&outer, 0, sizeof(outer));
	outer.kind = FRAME_IPV4;
	c->template = "icmp-sweep";
	if (egress) {
		s = kf ? world_sandbox(ntohl(kf->key.src_addr)) :
			 pick_sandbox(r);
		if (!s)
			s = pick_sandbox(r);
		sandbox_macs(r, s, &outer);
		outer.src_addr = s->addr;
		outer.dst_addr = kf ? ntohl(kf->key.dst_addr) :
				      pick_remote(r);
		c->hook = pick_egress_hook(r);
		c->ifindex = fz_devices[s->dev].ifindex;
	} else {
		outer.src_addr = kf ? ntohl(kf->reply.remote_addr) :
				      pick_remote(r);
		outer.dst_addr = kf ? ntohl(kf->reply.shared_addr) :
				      PICK(r, shared_addrs);
		c->hook = pick_ingress_hook(r);
		c->ifindex = kf ? kf->reply.attachment :
				  pick_attachment_device(r);
		customer_macs(c->ifindex, &outer);
	}
	if (kf && rng_chance(r, 50)) {
		const struct flow_key *k = &kf->key;

		if (egress)
			quoted_packet(r, &inner, k->proto, ntohl(k->dst_addr),
				      ntohs(k->dst_port), ntohl(k->src_addr),
				      ntohs(k->src_port));
		else
			quoted_packet(r, &inner, k->proto,
				      ntohl(kf->flow.nat_addr),
				      ntohs(kf->flow.nat_port),
				      ntohl(k->dst_addr), ntohs(k->dst_port));
		build_icmp_error(r, c, &outer, type, code, &inner);
		return;
	}
	outer.proto = PROTO_ICMP;
	outer.icmp_type = type;
	outer.icmp_id = kf ? ntohs(egress ? kf->key.src_port :
				   kf->reply.shared_port) :
			     pick_sandbox_port(r);
	outer.icmp_seq = (uint16_t)rng_next(r);
	outer.payload = random_payload(r, rng_below(r, 64));
	c->in_len = frame_build(&outer, c->in, sizeof(c->in));
	l4 = frame_l4_off(c->in);
	c->in[l4 + 1] = code;
	fix_checksums(c->in, c->in_len);
	icmp_seen[(type << 8 | code) / 8] |=
		(uint8_t)(1u << ((type << 8 | code) % 8));
}

static void t_fragment(struct rng *r, struct fz_case *c)
{
	const struct first_fragment *m;
	struct frame_spec f;
	uint16_t frag;

	if (!frag_count || rng_chance(r, 30)) {
		/* A first fragment, of either way. */
		if (rng_chance(r, 50))
			t_egress_flow(r, c);
		else
			t_ingress_reply(r, c);
		if (!c->in_len || !is_ipv4(c->in, c->in_len))
			return;
		if (!(get_be16(c->in + IP_OFF + IP_FRAG_OFF) & IP_MF_FLAG)) {
			uint16_t id = (uint16_t)(0x7000 + rng_below(r, 16));

			put16(c->in + IP_OFF + IP_FRAG_OFF, IP_MF_FLAG);
			set_ip_id(c->in, c->in_len, id);
			remember_first_fragment(c, id);
		}
		c->template = "fragment-first";
		return;
	}
	m = &frag_memory[rng_below(r, frag_count)];
	memset(&f, 0, sizeof(f));
	f.kind = FRAME_IPV4;
	memcpy(f.src_mac, m->src_mac, 6);
	memcpy(f.dst_mac, m->dst_mac, 6);
	f.src_addr = m->src;
	f.dst_addr = m->dst;
	/* A later fragment carries only data: build it as "no protocol"
	 * and name the protocol afterwards. */
	f.proto = 0;
	ip_extras(r, &f);
	if (rng_chance(r, 20))
		f.payload = random_payload(r, 1 + rng_below(r, 1400));
	frag = (uint16_t)(1 + rng_below(r, 400));
	if (rng_chance(r, 40))
		frag |= IP_MF_FLAG;
	f.frag_off = frag;
	c->template = "fragment-later";
	c->hook = m->hook;
	c->ifindex = rng_chance(r, 90) ? m->ifindex : pick_device(r);
	if (!hook_is_egress(c->hook) && rng_chance(r, 30))
		c->hook = pick_ingress_hook(r);
	build(r, c, &f);
	if (is_ipv4(c->in, c->in_len)) {
		c->in[IP_OFF + IP_PROTO_OFF] = rng_chance(r, 95) ? m->proto :
					       (uint8_t)rng_next(r);
		set_ip_id(c->in, c->in_len,
			  rng_chance(r, 90) ? m->id : (uint16_t)rng_next(r));
	}
}

static void t_arp(struct rng *r, struct fz_case *c)
{
	static const uint8_t macs[][6] = {
		{ 0x02, 0x5b, 0, 0, 0, 0x77 }, { 0x02, 0x5b, 0, 0, 0, 0x03 },
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0 },
	};
	const struct fz_sandbox *s = pick_sandbox(r);
	struct frame_spec f;
	unsigned int p;

	memset(&f, 0, sizeof(f));
	f.kind = FRAME_ARP;
	memcpy(f.dst_mac, macs[2], 6);
	memcpy(f.src_mac, PICK(r, macs), 6);
	memcpy(f.arp_sender_mac, PICK(r, macs), 6);
	p = rng_below(r, 100);
	f.arp_op = p < 80 ? ARP_REQUEST : p < 90 ? ARP_REPLY :
		   (uint16_t)rng_next(r);
	f.arp_sender_addr = rng_chance(r, 75) ? s->addr : pick_remote(r);
	f.arp_target_addr = rng_chance(r, 75) ? SANDBOX_GATEWAY :
						pick_remote(r);
	c->template = "arp";
	if (rng_chance(r, 75)) {
		c->hook = pick_egress_hook(r);
		c->ifindex = rng_chance(r, 85) ? fz_devices[s->dev].ifindex :
						 pick_device(r);
	} else {
		c->hook = pick_ingress_hook(r);
		c->ifindex = pick_attachment_device(r);
	}
	c->in_len = frame_build(&f, c->in, sizeof(c->in));
	if (rng_chance(r, 10))	/* hardware or protocol type, lengths */
		c->in[ETH_HDR_LEN + rng_below(r, 6)] = (uint8_t)rng_next(r);
}

static void t_not_ip(struct rng *r, struct fz_case *c)
{
	static const uint16_t types[] = { ETHERTYPE_IPV6, 0x8100, 0x88a8,
					  0x88cc, 0x0000, 0xffff, 0x0801,
					  0x86dc };
	struct frame_spec f;

	memset(&f, 0, sizeof(f));
	f.kind = FRAME_RAW;
	f.ethertype = rng_chance(r, 85) ? PICK(r, types) :
					  (uint16_t)rng_next(r);
	f.raw_len = (uint16_t)rng_below(r, 200);
	if (rng_chance(r, 60)) {
		const struct fz_sandbox *s = pick_sandbox(r);

		sandbox_macs(r, s, &f);
		c->hook = pick_egress_hook(r);
		c->ifindex = fz_devices[s->dev].ifindex;
	} else {
		c->ifindex = pick_attachment_device(r);
		customer_macs(c->ifindex, &f);
		c->hook = pick_ingress_hook(r);
	}
	c->template = "not-ip";
	c->in_len = frame_build(&f, c->in, sizeof(c->in));
}

static void t_random_bytes(struct rng *r, struct fz_case *c)
{
	size_t i, len = rng_chance(r, 95) ? rng_below(r, 300) :
			rng_below(r, FZ_FRAME_MAX);

	for (i = 0; i < len; i++)
		c->in[i] = (uint8_t)rng_next(r);
	if (len >= ETH_HDR_LEN && rng_chance(r, 50))
		put16(c->in + ETH_TYPE_OFF, ETHERTYPE_IPV4);
	if (len > IP_OFF && rng_chance(r, 30))
		c->in[IP_OFF] = 0x45;
	c->in_len = len;
	c->template = "random-bytes";
	switch (rng_below(r, 4)) {
	case 0:
		c->hook = EGRESS;
		c->ifindex = pick_device(r);
		break;
	case 1:
		c->hook = XDP_EGRESS;
		c->ifindex = pick_device(r);
		break;
	case 2:
		c->hook = INGRESS;
		c->ifindex = pick_attachment_device(r);
		break;
	default:
		c->hook = XDP_INGRESS;
		c->ifindex = pick_attachment_device(r);
		break;
	}
}

/* From a source that is not the device's: another device's sandbox, an
 * address of no sandbox, a customer address. */
static void t_spoof(struct rng *r, struct fz_case *c)
{
	static const uint32_t strangers[] = {
		ADDR(100, 64, 0, 99), ADDR(10, 0, 1, 10), ADDR(10, 0, 1, 5),
		ADDR(169, 254, 1, 1), 0,
	};

	t_egress_new(r, c);
	if (!is_ipv4(c->in, c->in_len))
		return;
	c->template = "spoof";
	if (rng_chance(r, 50)) {
		c->ifindex = pick_device(r);
	} else {
		uint32_t src = PICK(r, strangers);

		put16(c->in + IP_OFF + IP_SRC_OFF, (uint16_t)(src >> 16));
		put16(c->in + IP_OFF + IP_SRC_OFF + 2, (uint16_t)src);
		fix_checksums(c->in, c->in_len);
	}
}

/* ---- mutations ---- */

static void mutate_once(struct rng *r, struct fz_case *c)
{
	uint8_t *f = c->in;
	size_t len = c->in_len, hl, l4, i, n;
	bool ip = is_ipv4(f, len);
	static const uint16_t frags[] = { IP_MF_FLAG, 1, 0x4000, 0x8000,
					  IP_MF_FLAG | 7, 0x1fff, 0 };
	static const uint8_t ttls[] = { 0, 1, 2, 255 };

	hl = ip ? ihl_bytes(f) : 0;
	l4 = IP_OFF + hl;
	switch (rng_below(r, 15)) {
	case 0:		/* truncate */
		c->in_len = rng_below(r, (uint32_t)len + 1);
		break;
	case 1:		/* bytes past the IP packet (Ethernet padding) */
		n = 1 + rng_below(r, 80);
		for (i = 0; i < n && len < sizeof(c->in); i++)
			f[len++] = (uint8_t)rng_next(r);
		c->in_len = len;
		break;
	case 2:		/* IHL */
		if (len > IP_OFF)
			f[IP_OFF] = (uint8_t)((f[IP_OFF] & 0xf0) |
					      rng_below(r, 16));
		break;
	case 3:		/* insert IP options */
		if (!ip || hl < IP_MIN_LEN || l4 > len)
			break;
		n = 4 * (1 + rng_below(r, 10));
		if (hl + n > 60 || len + n > sizeof(c->in))
			break;
		memmove(f + l4 + n, f + l4, len - l4);
		for (i = 0; i < n; i++)
			f[l4 + i] = rng_chance(r, 50) ? 1 : (uint8_t)rng_next(r);
		f[IP_OFF] = (uint8_t)((f[IP_OFF] & 0xf0) | ((hl + n) / 4));
		put16(f + IP_OFF + IP_TOT_LEN_OFF,
		      (uint16_t)(get_be16(f + IP_OFF + IP_TOT_LEN_OFF) + n));
		c->in_len = len + n;
		break;
	case 4:		/* total length */
		if (!ip)
			break;
		switch (rng_below(r, 5)) {
		case 0:
			put16(f + IP_OFF + IP_TOT_LEN_OFF, 0);
			break;
		case 1:
			put16(f + IP_OFF + IP_TOT_LEN_OFF, 0xffff);
			break;
		case 2:
			put16(f + IP_OFF + IP_TOT_LEN_OFF,
			      (uint16_t)(len - IP_OFF + rng_below(r, 9) - 4));
			break;
		case 3:
			put16(f + IP_OFF + IP_TOT_LEN_OFF, (uint16_t)hl);
			break;
		default:
			put16(f + IP_OFF + IP_TOT_LEN_OFF,
			      (uint16_t)rng_next(r));
			break;
		}
		break;
	case 5:		/* version */
		if (len > IP_OFF)
			f[IP_OFF] = (uint8_t)(rng_below(r, 16) << 4 |
					      (f[IP_OFF] & 0x0f));
		break;
	case 6:		/* fragment bits and offset */
		if (ip)
			put16(f + IP_OFF + IP_FRAG_OFF,
			      rng_chance(r, 70) ? PICK(r, frags) :
			      (uint16_t)rng_next(r));
		break;
	case 7:		/* TTL */
		if (ip)
			f[IP_OFF + IP_TTL_OFF] = PICK(r, ttls);
		break;
	case 8:		/* bit flips in the headers */
		n = 1 + rng_below(r, 4);
		for (i = 0; i < n && len; i++) {
			size_t at = rng_below(r, (uint32_t)(len < 96 ? len : 96));

			f[at] ^= (uint8_t)(1u << rng_below(r, 8));
		}
		break;
	case 9:		/* UDP length, TCP data offset */
		if (ip && l4 + 13 < len) {
			if (f[IP_OFF + IP_PROTO_OFF] == PROTO_UDP)
				put16(f + l4 + 4, (uint16_t)rng_next(r));
			else
				f[l4 + 12] = (uint8_t)(rng_below(r, 16) << 4);
		}
		break;
	case 10:	/* ICMP type and code */
		if (ip && l4 + 2 <= len) {
			f[l4] = (uint8_t)rng_next(r);
			f[l4 + 1] = (uint8_t)rng_next(r);
		}
		break;
	case 11:	/* protocol */
		if (ip)
			f[IP_OFF + IP_PROTO_OFF] = rng_chance(r, 70) ?
				PICK(r, ((const uint8_t[]){ PROTO_TCP, PROTO_UDP, PROTO_ICMP })) :
				(uint8_t)rng_next(r);
		break;
	case 12:	/* a byte of the L4 header or what follows */
		if (ip && l4 < len)
			f[l4 + rng_below(r, (uint32_t)(len - l4 < 64 ?
						       len - l4 : 64))] =
				(uint8_t)rng_next(r);
		break;
	case 13:	/* cut bytes out of the middle */
		if (len > 2) {
			size_t at = rng_below(r, (uint32_t)len - 1);

			n = 1 + rng_below(r, 8);
			if (at + n > len)
				n = len - at;
			memmove(f + at, f + at + n, len - at - n);
			c->in_len = len - n;
		}
		break;
	default:	/* grow to a large packet, lengths consistent */
		if (!ip)
			break;
		n = PICK(r, ((const uint16_t[]){ 1514, 3000, 3600, 4500 }));
		if (n > sizeof(c->in) || n <= len)
			break;
		for (i = len; i < n; i++)
			f[i] = (uint8_t)rng_next(r);
		put16(f + IP_OFF + IP_TOT_LEN_OFF, (uint16_t)(n - IP_OFF));
		if (f[IP_OFF + IP_PROTO_OFF] == PROTO_UDP && l4 + 6 <= n)
			put16(f + l4 + 4, (uint16_t)(n - l4));
		c->in_len = n;
		break;
	}
}

static void corrupt_checksum(struct rng *r, struct fz_case *c)
{
	uint8_t *f = c->in;
	size_t len = c->in_len, l4, at;

	if (!is_ipv4(f, len))
		return;
	l4 = IP_OFF + ihl_bytes(f);
	if (rng_chance(r, 40)) {
		at = IP_OFF + IP_CSUM_OFF;
	} else {
		switch (f[IP_OFF + IP_PROTO_OFF]) {
		case PROTO_TCP:
			at = l4 + TCP_CSUM_OFF;
			break;
		case PROTO_UDP:
			at = l4 + UDP_CSUM_OFF;
			break;
		default:
			at = l4 + ICMP_CSUM_OFF;
			break;
		}
	}
	if (at + 2 > len)
		return;
	if (rng_chance(r, 30))
		put16(f + at, 0);
	else
		put16(f + at, (uint16_t)(get_be16(f + at) +
					 1 + rng_below(r, 0xfffe)));
}

static void mutate(struct rng *r, struct fz_case *c)
{
	unsigned int p = rng_below(r, 100), n, i;

	n = p < 45 ? 0 : p < 75 ? 1 : p < 90 ? 2 : 3 + rng_below(r, 3);
	for (i = 0; i < n; i++)
		mutate_once(r, c);
	if (n && rng_chance(r, 50))
		fix_checksums(c->in, c->in_len);
	if (rng_chance(r, 12))
		corrupt_checksum(r, c);
}

/* ---- one case ---- */

void gen_case(struct rng *r, struct fz_case *c)
{
	unsigned int p = rng_below(r, 100);

	c->in_len = 0;
	c->flags = 0;
	c->template = NULL;
	if (p < 12)
		t_egress_flow(r, c);
	else if (p < 26)
		t_egress_new(r, c);
	else if (p < 31)
		t_egress_icmp_error(r, c);
	else if (p < 47)
		t_ingress_reply(r, c);
	else if (p < 52)
		t_ingress_unsolicited(r, c);
	else if (p < 60)
		t_ingress_icmp_error(r, c);
	else if (p < 70)
		t_icmp_sweep(r, c);
	else if (p < 80)
		t_fragment(r, c);
	else if (p < 86)
		t_arp(r, c);
	else if (p < 90)
		t_not_ip(r, c);
	else if (p < 94)
		t_random_bytes(r, c);
	else
		t_spoof(r, c);
	if (!c->in_len && !c->template)
		t_egress_new(r, c);
	mutate(r, c);
	if (!hook_is_xdp(c->hook) && rng_chance(r, 30))
		c->flags = BPF_F_TEST_SKB_CHECKSUM_COMPLETE;
}

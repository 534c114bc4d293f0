// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's own BPF programs (tools/bench/, never loaded by sharenat):
 *
 *  floor_tc, floor_xdp   the floor: the least a program on that hook does
 *                        to forward a packet (rewrite both MACs, pass it on:
 *                        TC_ACT_OK / XDP_TX). sharenat's ns/packet is given
 *                        as a multiple of these.
 *  restore_tc/_xdp       BPF_PROG_TEST_RUN with .repeat runs a program again
 *                        and again on the same buffer, so a NAT would see its
 *                        own output from the second run on (source already
 *                        translated, TTL lower each time). These write the
 *                        original headers back (and, for new-flow runs, a
 *                        fresh 5-tuple from a counter), then tail-call the
 *                        program under test; with an empty slot they only
 *                        restore, which is what gets subtracted.
 *  fwd_tc                the floor of the packet-rate test: on a sandbox's
 *                        host-side device, rewrite the MACs and bpf_redirect
 *                        to the customer-side device; no NAT, no lookup.
 *  gen_xdp               the load generator, run with BPF_F_TEST_XDP_LIVE_FRAMES
 *                        on a sandbox's eth0: writes a whole 60-byte UDP frame
 *                        (source port cycling through `gen_flows` flows, UDP
 *                        checksum complete) and transmits it with XDP_TX.
 *  count_xdp             the receiver: counts UDP datagrams to `count_port`
 *                        (and which of them came from `count_src`) and drops
 *                        them; everything else (ARP) passes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800
#define HDR_LEN 42		/* Ethernet + IPv4 (no options) + UDP */
#define OFF_SADDR 26
#define OFF_DADDR 30
#define OFF_SPORT 34
#define OFF_DPORT 36
#define OFF_UCSUM 40

/* ---- the floor ---- */

const volatile __u8 floor_src[6] = { 0x02, 0xf1, 0, 0, 0, 1 };
const volatile __u8 floor_dst[6] = { 0x02, 0xf1, 0, 0, 0, 2 };

static __always_inline int set_macs(void *data, void *data_end)
{
	__u8 *eth = data;

	if (data + 14 > data_end)
		return -1;
	__builtin_memcpy(eth, (const void *)floor_dst, 6);
	__builtin_memcpy(eth + 6, (const void *)floor_src, 6);
	return 0;
}

SEC("tc")
int floor_tc(struct __sk_buff *skb)
{
	set_macs((void *)(long)skb->data, (void *)(long)skb->data_end);
	return TC_ACT_OK;
}

SEC("xdp")
int floor_xdp(struct xdp_md *xdp)
{
	if (set_macs((void *)(long)xdp->data, (void *)(long)xdp->data_end))
		return XDP_DROP;
	return XDP_TX;
}

/* ---- restore, then the program under test ---- */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tc_target SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xdp_target SEC(".maps");

enum vary {
	VARY_NONE = 0,
	VARY_SOURCE = 1,	/* source addr:port from the counter */
	VARY_REMOTE = 2,	/* destination addr:port from the counter */
};

/* Written by bench.c between runs (the skeleton's .bss is mmapped). */
__u8 restore_hdr[HDR_LEN];
__u32 restore_vary;
__u32 restore_seq;
__u32 vary_addr_base;		/* host order */
__u32 vary_port_base;
__u32 vary_port_count;
__u32 vary_limit;		/* nonzero: the counter wraps here */

static __always_inline void vary_tuple(void)
{
	__u32 n = restore_seq++, count = vary_port_count ?: 1;

	if (vary_limit)
		n %= vary_limit;
	__be32 addr = bpf_htonl(vary_addr_base + n / count);
	__be16 port = bpf_htons((__u16)(vary_port_base + n % count));

	if (restore_vary == VARY_SOURCE) {
		__builtin_memcpy(&restore_hdr[OFF_SADDR], &addr, 4);
		__builtin_memcpy(&restore_hdr[OFF_SPORT], &port, 2);
	} else if (restore_vary == VARY_REMOTE) {
		__builtin_memcpy(&restore_hdr[OFF_DADDR], &addr, 4);
		__builtin_memcpy(&restore_hdr[OFF_DPORT], &port, 2);
	}
}

SEC("tc")
int restore_tc(struct __sk_buff *skb)
{
	if (restore_vary)
		vary_tuple();
	bpf_skb_store_bytes(skb, 0, restore_hdr, HDR_LEN, 0);
	bpf_tail_call(skb, &tc_target, 0);
	return TC_ACT_OK;
}

SEC("xdp")
int restore_xdp(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;

	if (data + HDR_LEN > (void *)(long)xdp->data_end)
		return XDP_DROP;
	if (restore_vary)
		vary_tuple();
	__builtin_memcpy(data, restore_hdr, HDR_LEN);
	bpf_tail_call(xdp, &xdp_target, 0);
	return XDP_PASS;
}

/* ---- the forwarding floor ---- */

const volatile __u32 fwd_ifindex = 0;
const volatile __u8 fwd_src[6] = { 0 };
const volatile __u8 fwd_dst[6] = { 0 };

SEC("tc")
int fwd_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	__u8 *eth = data;

	if (data + 14 > (void *)(long)skb->data_end)
		return TC_ACT_OK;
	__builtin_memcpy(eth, (const void *)fwd_dst, 6);
	__builtin_memcpy(eth + 6, (const void *)fwd_src, 6);
	return bpf_redirect(fwd_ifindex, 0);
}

/* ---- the generator ---- */

__u8 gen_hdr[HDR_LEN];		/* the frame's headers, source port 0, UDP checksum 0 */
__u32 gen_csum_base;		/* ones' complement sum of pseudo header, UDP header and payload */
__u32 gen_port_base;
__u32 gen_flows;
__u32 gen_seq;

SEC("xdp")
int gen_xdp(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;
	__u16 port = (__u16)(gen_port_base + gen_seq++ % (gen_flows ?: 1));
	__u32 sum = gen_csum_base + port;
	__be16 csum, nport = bpf_htons(port);

	if (data + HDR_LEN > (void *)(long)xdp->data_end)
		return XDP_DROP;
	/* The page comes back from the receiver's side rewritten (NAT,
	 * TTL), so every header byte is written again. */
	__builtin_memcpy(data, gen_hdr, HDR_LEN);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	csum = bpf_htons((__u16)~sum);
	if (!csum)
		csum = 0xffff;
	__builtin_memcpy(data + OFF_SPORT, &nport, 2);
	__builtin_memcpy(data + OFF_UCSUM, &csum, 2);
	return XDP_TX;
}

/* ---- the receiver ---- */

const volatile __be16 count_port = 0;
const volatile __be32 count_src = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);	/* 0: all datagrams to count_port, 1: from count_src */
	__type(key, __u32);
	__type(value, __u64);
} rx_counts SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&rx_counts, &key);

	if (v)
		*v += 1;
}

SEC("xdp")
int count_xdp(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data;
	__u8 *p = data;
	__be16 proto, dport;
	__be32 src;

	if (data + HDR_LEN > (void *)(long)xdp->data_end)
		return XDP_PASS;
	__builtin_memcpy(&proto, p + 12, 2);
	if (proto != bpf_htons(ETH_P_IP) || p[14] != 0x45 || p[23] != 17)
		return XDP_PASS;
	__builtin_memcpy(&dport, p + OFF_DPORT, 2);
	if (dport != count_port)
		return XDP_PASS;
	bump(0);
	__builtin_memcpy(&src, p + OFF_SADDR, 4);
	if (src == count_src)
		bump(1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * The sharenat fast path. Four programs share the maps of maps.h: egress
 * at tc on the host side of every sandbox device, and optionally at XDP in
 * front of it; ingress at tc on every shared device, and optionally at XDP
 * in front of it. The packet's way: egress.h, egress_xdp.h and ingress.h,
 * top-down.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "egress.h"
#include "egress_xdp.h"
#include "ingress.h"

SEC("tc")
int sharenat_egress(struct __sk_buff *skb)
{
	return nat_egress(skb);
}

SEC("xdp")
int sharenat_xdp_egress(struct xdp_md *xdp)
{
	return nat_egress_xdp(xdp);
}

SEC("tc")
int sharenat_ingress(struct __sk_buff *skb)
{
	const struct nat_ctx c = { .ctx = skb, .xdp = false };
	__u32 ifindex = 0;

	switch (nat_ingress(&c, &ifindex)) {
	case INGRESS_REDIRECT:
		return bpf_redirect(ifindex, 0);
	case INGRESS_DROP:
		return TC_ACT_SHOT;
	case INGRESS_STOLEN:
		return TC_ACT_STOLEN;
	case INGRESS_ANSWERED:
		return TC_ACT_REDIRECT;
	default:
		return TC_ACT_OK;
	}
}

SEC("xdp")
int sharenat_xdp_ingress(struct xdp_md *xdp)
{
	const struct nat_ctx c = { .ctx = xdp, .xdp = true };
	__u32 ifindex = 0;

	switch (nat_ingress(&c, &ifindex)) {
	case INGRESS_REDIRECT:
		return (int)bpf_redirect_map(&xdp_devices, ifindex, 0);
	case INGRESS_DROP:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

/* Run once by the loader, never attached: see sweeper_init(). */
SEC("tc")
int sharenat_init(struct __sk_buff *skb)
{
	(void)skb;
	return sweeper_init();
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * The sharenat fast path. Two tc programs share the maps of maps.h:
 * egress on the host side of every sandbox device, ingress on every shared
 * device. The packet's way: egress.h and ingress.h, top-down.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "egress.h"
#include "ingress.h"

SEC("tc")
int sharenat_egress(struct __sk_buff *skb)
{
	return nat_egress(skb);
}

SEC("tc")
int sharenat_ingress(struct __sk_buff *skb)
{
	return nat_ingress(skb);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * Attachments: a shared device bound to one customer subnet. Attaching
 * writes the attachment, makes each shared address answer ARP on the
 * device (adding it when the user has not), and puts the ingress program
 * on the device; any failure undoes what was done before it.
 */
#include <errno.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <string.h>

#include <bpf/bpf.h>

#include "counter_slots.h"
#include "error.h"
#include "map_iter.h"
#include "netdev.h"
#include "parse.h"
#include "state.h"
#include "tc.h"
#include "xdp.h"

#define WHAT "attach"

static bool in_subnet(__be32 addr, __be32 subnet, __be32 mask)
{
	return (addr & mask) == subnet;
}

static int validate(const struct sharenat_attach_spec *spec,
		    struct sharenat_error *err)
{
	char text[INET_ADDRSTRLEN];
	unsigned int i, j;

	if (spec->shared_addr_count == 0)
		return fail(err, WHAT, "at least one --ip is needed");
	if (spec->shared_addr_count > SHARENAT_MAX_SHARED_ADDRS)
		return fail(err, WHAT, "at most %d --ip per attachment",
			    SHARENAT_MAX_SHARED_ADDRS);
	for (i = 0; i < spec->shared_addr_count; i++) {
		if (!in_subnet(spec->shared_addrs[i], spec->subnet_addr,
			       spec->subnet_mask))
			return fail(err, WHAT, "shared address %s is not in "
				    "--subnet",
				    format_ipv4(spec->shared_addrs[i], text));
		for (j = 0; j < i; j++)
			if (spec->shared_addrs[i] == spec->shared_addrs[j])
				return fail(err, WHAT, "--ip %s given twice",
					    format_ipv4(spec->shared_addrs[i],
							text));
	}
	if (spec->gateway_addr &&
	    !in_subnet(spec->gateway_addr, spec->subnet_addr,
		       spec->subnet_mask))
		return fail(err, WHAT, "gateway %s is not in --subnet",
			    format_ipv4(spec->gateway_addr, text));
	if (spec->port_lo == 0 || spec->port_lo > spec->port_hi)
		return fail(err, WHAT, "port range %u-%u is empty",
			    spec->port_lo, spec->port_hi);
	return 0;
}

static void remove_added_addrs(struct sharenat *sn,
			       const struct attachment *att)
{
	unsigned int i;

	for (i = 0; i < att->shared_addr_count; i++)
		if (att->added_addrs & (1u << i))
			netdev_addr_change(sn, (int)att->ifindex,
					   att->shared_addrs[i], false, WHAT,
					   NULL);
}

int attachment_of_spec(struct sharenat *sn,
		       const struct sharenat_attach_spec *spec, const char *dev,
		       int ifindex, struct attachment *att, const char *what,
		       struct sharenat_error *err)
{
	memset(att, 0, sizeof(*att));
	att->ifindex = (__u32)ifindex;
	att->subnet_addr = spec->subnet_addr;
	att->subnet_mask = spec->subnet_mask;
	att->gateway_addr = spec->gateway_addr;
	att->shared_addr_count = spec->shared_addr_count;
	memcpy(att->shared_addrs, spec->shared_addrs,
	       sizeof(att->shared_addrs[0]) * spec->shared_addr_count);
	att->port_lo = spec->port_lo;
	att->port_hi = spec->port_hi;
	att->mapping = (__u8)spec->mapping;
	att->timeouts = spec->timeouts;
	if (!att->timeouts.tcp_established)
		att->timeouts.tcp_established =
			SHARENAT_TCP_ESTABLISHED_TIMEOUT;
	if (!att->timeouts.tcp_transitory)
		att->timeouts.tcp_transitory = SHARENAT_TCP_TRANSITORY_TIMEOUT;
	if (!att->timeouts.udp)
		att->timeouts.udp = SHARENAT_UDP_TIMEOUT;
	if (!att->timeouts.icmp)
		att->timeouts.icmp = SHARENAT_ICMP_TIMEOUT;
	if (spec->hook_set) {
		att->hook = (__u8)spec->hook;
	} else {
		char driver[32];

		if (netdev_driver(sn, dev, driver, sizeof(driver), what, err))
			return -1;
		att->hook = strcmp(driver, "veth") ? NAT_HOOK_XDP :
						     NAT_HOOK_TC;
	}
	return 0;
}

int sharenat_attach(struct sharenat *sn,
		    const struct sharenat_attach_spec *spec,
		    struct sharenat_error *err)
{
	struct attachment att = { 0 };
	unsigned int i;
	int ifindex;

	if (validate(spec, err))
		return -1;
	ifindex = netdev_ifindex(sn, spec->dev, WHAT, err);
	if (ifindex < 0)
		return -1;
	att.ifindex = (__u32)ifindex;
	if (!bpf_map_lookup_elem(sn->attachments_fd, &att.ifindex, &att))
		return fail(err, WHAT, "%s is attached already", spec->dev);
	if (device_has_sandbox(sn, (__u32)ifindex, 0) ||
	    device_prepared(sn, (__u32)ifindex, NULL))
		return fail(err, WHAT, "%s is a sandbox device", spec->dev);

	if (attachment_of_spec(sn, spec, spec->dev, ifindex, &att, WHAT, err))
		return -1;
	if (netdev_mac(sn, spec->dev, att.mac, WHAT, err))
		return -1;

	if (netdev_arp_ignore_get(spec->dev, &att.arp_ignore_before, WHAT,
				  err) ||
	    netdev_arp_ignore_set(spec->dev, 1, WHAT, err))
		return -1;
	for (i = 0; i < att.shared_addr_count; i++) {
		if (netdev_has_addr(ifindex, att.shared_addrs[i]))
			continue;
		if (netdev_addr_change(sn, ifindex, att.shared_addrs[i], true,
				       WHAT, err))
			goto err_addrs;
		att.added_addrs |= (__u8)(1u << i);
	}
	if (counter_slot_take(sn, false, &att.counter_slot, WHAT, err))
		goto err_addrs;
	if (bpf_map_update_elem(sn->attachments_fd, &att.ifindex, &att,
				BPF_NOEXIST)) {
		fail_errno(err, WHAT, errno, "cannot write the attachment");
		goto err_slot;
	}
	if (tc_attach(sn, ifindex, sn->ingress_prog_fd, WHAT, err))
		goto err_entry;
	/* XDP egress may redirect to the device once XDP ingress has
	 * learned a neighbour on it: the devmap slot comes first. */
	if (att.hook == NAT_HOOK_XDP &&
	    bpf_map_update_elem(sn->xdp_devices_fd, &att.ifindex,
				&att.ifindex, BPF_ANY)) {
		fail_errno(err, WHAT, errno, "cannot add %s to xdp_devices",
			   spec->dev);
		goto err_tc;
	}
	if (att.hook == NAT_HOOK_XDP &&
	    xdp_attach(ifindex, sn->xdp_ingress_prog_fd, WHAT, err))
		goto err_devmap;
	return 0;

err_devmap:
	bpf_map_delete_elem(sn->xdp_devices_fd, &att.ifindex);
err_tc:
	tc_detach(ifindex, WHAT, NULL);
err_entry:
	bpf_map_delete_elem(sn->attachments_fd, &att.ifindex);
err_slot:
	counter_slot_give(sn, false, att.counter_slot);
err_addrs:
	remove_added_addrs(sn, &att);
	netdev_arp_ignore_set(spec->dev, att.arp_ignore_before, WHAT, NULL);
	return -1;
}

struct attachment_use {
	__u32 ifindex;
	char function[SHARENAT_NAME_MAX];
};

static int function_uses_attachment(const struct function *fn, void *ctx)
{
	struct attachment_use *use = ctx;
	__u32 i;

	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++)
		if (fn->subnets[i].attachment == use->ifindex) {
			memcpy(use->function, fn->name, sizeof(fn->name));
			return 1;
		}
	return 0;
}

static bool flow_leaves_through(const struct flow_key *key,
				const struct flow *flow, const void *ctx)
{
	(void)key;
	return flow->ifindex == *(const __u32 *)ctx;
}

struct device_neighbours {
	__u32 ifindex;
	struct vec keys;
};

static int neighbour_on_device(const void *key, const void *value, void *ctx)
{
	struct device_neighbours *found = ctx;

	(void)value;
	if (((const struct neighbour_key *)key)->ifindex != found->ifindex)
		return 0;
	return vec_push(&found->keys, key);
}

/* XDP egress redirects by what XDP ingress learned on the device: gone
 * with the device's XDP program, before its devmap slot goes. */
static void forget_neighbours(struct sharenat *sn, __u32 ifindex)
{
	struct device_neighbours found = {
		.ifindex = ifindex,
		.keys = { .size = sizeof(struct neighbour_key) },
	};

	map_for_each(sn->neighbours_fd, sizeof(struct neighbour_key),
		     sizeof(struct neighbour_macs), neighbour_on_device,
		     &found);
	map_delete_keys(sn->neighbours_fd, &found.keys);
}

int sharenat_detach(struct sharenat *sn, const char *dev,
		    struct sharenat_error *err)
{
	struct attachment_use use = { 0 };
	struct attachment att;
	int ifindex;

	ifindex = netdev_ifindex(sn, dev, "detach", err);
	if (ifindex < 0)
		return -1;
	use.ifindex = (__u32)ifindex;
	if (bpf_map_lookup_elem(sn->attachments_fd, &use.ifindex, &att))
		return fail(err, "detach", "%s is not attached", dev);
	sharenat_for_each_function(sn, function_uses_attachment, &use);
	if (use.function[0])
		return fail(err, "detach", "%s is used by function %s: delete "
			    "the function first", dev, use.function);
	/* The reverse of attach: no more learning, no neighbour left for
	 * XDP egress to redirect by, then no devmap slot. */
	if (att.hook == NAT_HOOK_XDP) {
		if (xdp_detach(ifindex, sn->xdp_ingress_prog_fd, "detach",
			       err))
			return -1;
		forget_neighbours(sn, use.ifindex);
		bpf_map_delete_elem(sn->xdp_devices_fd, &use.ifindex);
	}
	if (tc_detach(ifindex, "detach", err))
		return -1;
	bpf_map_delete_elem(sn->attachments_fd, &use.ifindex);
	flows_delete_matching(sn, flow_leaves_through, &use.ifindex);
	counter_slot_give(sn, false, att.counter_slot);
	remove_added_addrs(sn, &att);
	netdev_arp_ignore_set(dev, att.arp_ignore_before, "detach", NULL);
	return 0;
}

struct attachment_visit {
	sharenat_attachment_fn fn;
	void *ctx;
};

static int visit_attachment(const void *key, const void *value, void *ctx)
{
	struct attachment_visit *visit = ctx;

	(void)key;
	return visit->fn(value, visit->ctx);
}

int sharenat_for_each_attachment(struct sharenat *sn,
				 sharenat_attachment_fn fn, void *ctx)
{
	struct attachment_visit visit = { fn, ctx };

	return map_for_each(sn->attachments_fd, sizeof(__u32),
			    sizeof(struct attachment), visit_attachment,
			    &visit);
}

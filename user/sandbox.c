// SPDX-License-Identifier: GPL-2.0
/*
 * Sandboxes: one execution environment of a function, on a host-side
 * device, with an address from the sandbox pool. Adding one is the cold
 * start path: device queries on one kept netlink socket, a counter slot,
 * the sandbox entry and its id index, then the device's programs (tc, on
 * that socket, replacing in place the filter of an earlier sandbox on the
 * device; with --mode xdp the XDP program first), unless the device was
 * prepared with them (device.c). A failure at any step is undone in
 * reverse.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "clock.h"
#include "counter_slots.h"
#include "error.h"
#include "map_iter.h"
#include "netdev.h"
#include "parse.h"
#include "state.h"
#include "tc.h"
#include "xdp.h"

#define WHAT_ADD "sandbox add"
#define WHAT_DEL "sandbox del"

struct device_use {
	__u32 ifindex;
	__be32 except_addr;
};

static int uses_device(const struct sandbox *sbx, void *ctx)
{
	const struct device_use *use = ctx;

	return sbx->ifindex == use->ifindex && sbx->addr != use->except_addr;
}

bool device_has_sandbox(struct sharenat *sn, __u32 ifindex,
			__be32 except_addr)
{
	struct device_use use = { ifindex, except_addr };

	return sharenat_for_each_sandbox(sn, uses_device, &use) > 0;
}

int sharenat_sandbox_add(struct sharenat *sn,
			 const struct sharenat_sandbox_spec *spec,
			 struct sharenat_error *err)
{
	struct name_key id = { 0 }, fn_name = { 0 };
	struct sandbox sbx = { 0 }, existing;
	struct sandbox_device prepared;
	struct attachment att;
	char text[INET_ADDRSTRLEN], driver[32];
	bool has_tc, has_xdp;
	__u32 dev_ifindex;
	int ifindex;

	if (parse_name(spec->id, WHAT_ADD, err) ||
	    parse_name(spec->function, WHAT_ADD, err))
		return -1;
	if ((ntohl(spec->addr) & SHARENAT_POOL_MASK) != SHARENAT_POOL_ADDR)
		return fail(err, WHAT_ADD, "%s is outside the sandbox pool "
			    "100.64.0.0/10", format_ipv4(spec->addr, text));
	strncpy(id.name, spec->id, sizeof(id.name) - 1);
	strncpy(fn_name.name, spec->function, sizeof(fn_name.name) - 1);
	if (bpf_map_lookup_elem(sn->function_ids_fd, &fn_name,
				&sbx.function_id))
		return fail(err, WHAT_ADD, "function %s does not exist",
			    spec->function);
	ifindex = netdev_ifindex(sn, spec->dev, WHAT_ADD, err);
	if (ifindex < 0)
		return -1;
	sbx.ifindex = (__u32)ifindex;
	if (!bpf_map_lookup_elem(sn->attachments_fd, &sbx.ifindex, &att))
		return fail(err, WHAT_ADD, "%s is a shared device, not a "
			    "sandbox device", spec->dev);
	if (netdev_mac(sn, spec->dev, sbx.host_mac, WHAT_ADD, err) ||
	    netdev_driver(sn, spec->dev, driver, sizeof(driver), WHAT_ADD, err))
		return -1;
	sbx.xdp_frames = !strcmp(driver, "tun");
	sbx.hook = (__u8)spec->hook;
	/* A prepared device has its programs: one lookup instead of the
	 * attach, if it is still the device that was prepared. */
	has_tc = device_prepared(sn, sbx.ifindex, &prepared) &&
		 !strcmp(prepared.name, spec->dev) &&
		 !memcmp(prepared.mac, sbx.host_mac, sizeof(prepared.mac));
	has_xdp = has_tc && prepared.hook == NAT_HOOK_XDP;

	memcpy(sbx.id, id.name, sizeof(sbx.id));
	sbx.addr = spec->addr;
	if (spec->has_mac) {
		memcpy(sbx.mac, spec->mac, sizeof(sbx.mac));
		sbx.mac_static = 1;
	}
	sbx.added_ns = monotonic_ns();

	if (counter_slot_take(sn, true, &sbx.counter_slot, WHAT_ADD, err))
		return -1;
	/* The id and the address are each checked by the write that takes
	 * them (BPF_NOEXIST), not looked up before: two system calls fewer on
	 * the cold start path. */
	if (bpf_map_update_elem(sn->sandboxes_fd, &sbx.addr, &sbx,
				BPF_NOEXIST)) {
		int write_errno = errno;

		if (write_errno != EEXIST ||
		    bpf_map_lookup_elem(sn->sandboxes_fd, &sbx.addr, &existing))
			fail_errno(err, WHAT_ADD, write_errno,
				   "cannot write sandbox %s", spec->id);
		else if (!strcmp(existing.id, id.name))
			fail(err, WHAT_ADD, "sandbox %s exists already",
			     spec->id);
		else
			fail(err, WHAT_ADD, "%s is used by sandbox %s",
			     format_ipv4(spec->addr, text), existing.id);
		goto err_slot;
	}
	if (bpf_map_update_elem(sn->sandbox_ids_fd, &id, &sbx.addr,
				BPF_NOEXIST)) {
		if (errno == EEXIST)
			fail(err, WHAT_ADD, "sandbox %s exists already",
			     spec->id);
		else
			fail_errno(err, WHAT_ADD, errno,
				   "cannot write sandbox %s", spec->id);
		goto err_sandbox;
	}
	dev_ifindex = sbx.ifindex;
	if (sbx.xdp_frames &&
	    bpf_map_update_elem(sn->xdp_devices_fd, &dev_ifindex,
				&dev_ifindex, BPF_ANY)) {
		fail_errno(err, WHAT_ADD, errno, "cannot add %s to xdp_devices",
			   spec->dev);
		goto err_id;
	}
	if (sbx.hook == NAT_HOOK_XDP && !has_xdp &&
	    xdp_attach(ifindex, sn->xdp_egress_prog_fd, WHAT_ADD, err))
		goto err_devmap;
	if (!has_tc && tc_attach(sn, ifindex, sn->egress_prog_fd, WHAT_ADD,
				 err))
		goto err_xdp;
	return 0;

err_xdp:
	if (sbx.hook == NAT_HOOK_XDP && !has_xdp)
		xdp_detach(ifindex, sn->xdp_egress_prog_fd, WHAT_ADD, NULL);
err_devmap:
	if (sbx.xdp_frames)
		bpf_map_delete_elem(sn->xdp_devices_fd, &dev_ifindex);
err_id:
	bpf_map_delete_elem(sn->sandbox_ids_fd, &id);
err_sandbox:
	bpf_map_delete_elem(sn->sandboxes_fd, &sbx.addr);
err_slot:
	counter_slot_give(sn, true, sbx.counter_slot);
	return -1;
}

static bool flow_of_sandbox(const struct flow_key *key,
			    const struct flow *flow, const void *ctx)
{
	(void)flow;
	return key->src_addr == *(const __be32 *)ctx;
}

int sharenat_sandbox_del(struct sharenat *sn, const char *id_text,
			 struct sharenat_error *err)
{
	struct name_key id = { 0 };
	struct sandbox sbx;
	__be32 addr;

	if (parse_name(id_text, WHAT_DEL, err))
		return -1;
	strncpy(id.name, id_text, sizeof(id.name) - 1);
	if (bpf_map_lookup_elem(sn->sandbox_ids_fd, &id, &addr) ||
	    bpf_map_lookup_elem(sn->sandboxes_fd, &addr, &sbx))
		return fail(err, WHAT_DEL, "sandbox %s does not exist",
			    id_text);

	/* The device's last sandbox: take the program off first, so nothing
	 * from the device is seen between the map deletes below. A prepared
	 * device keeps its programs for the next sandbox (device del takes
	 * them off); they drop what it sends until then. */
	if (!device_has_sandbox(sn, sbx.ifindex, addr)) {
		if (!device_prepared(sn, sbx.ifindex, NULL)) {
			if (sbx.hook == NAT_HOOK_XDP &&
			    xdp_detach((int)sbx.ifindex,
				       sn->xdp_egress_prog_fd, WHAT_DEL, err))
				return -1;
			if (tc_detach((int)sbx.ifindex, WHAT_DEL, err))
				return -1;
		}
		bpf_map_delete_elem(sn->xdp_devices_fd, &sbx.ifindex);
	}
	/* The sandbox entry goes before its flows: from here on egress
	 * drops its packets and so cannot make a new flow behind us. */
	bpf_map_delete_elem(sn->sandboxes_fd, &addr);
	flows_delete_matching(sn, flow_of_sandbox, &addr);
	bpf_map_delete_elem(sn->sandbox_ids_fd, &id);
	counter_slot_give(sn, true, sbx.counter_slot);
	return 0;
}

struct sandbox_visit {
	sharenat_sandbox_fn fn;
	void *ctx;
};

static int visit_sandbox(const void *key, const void *value, void *ctx)
{
	struct sandbox_visit *visit = ctx;

	(void)key;
	return visit->fn(value, visit->ctx);
}

int sharenat_for_each_sandbox(struct sharenat *sn, sharenat_sandbox_fn fn,
			      void *ctx)
{
	struct sandbox_visit visit = { fn, ctx };

	return map_for_each(sn->sandboxes_fd, sizeof(__be32),
			    sizeof(struct sandbox), visit_sandbox, &visit);
}

int sharenat_sandbox_lookup(struct sharenat *sn, __be32 addr,
			    struct sandbox *out)
{
	return bpf_map_lookup_elem(sn->sandboxes_fd, &addr, out) ? -1 : 0;
}

int sharenat_sandbox_find(struct sharenat *sn, const char *id_text,
			  struct sandbox *out)
{
	struct name_key id = { 0 };
	__be32 addr;

	strncpy(id.name, id_text, sizeof(id.name) - 1);
	if (bpf_map_lookup_elem(sn->sandbox_ids_fd, &id, &addr))
		return -1;
	return sharenat_sandbox_lookup(sn, addr, out);
}

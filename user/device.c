// SPDX-License-Identifier: GPL-2.0
/*
 * Sandbox devices made ready before their sandboxes come: `device add`
 * attaches the egress programs to a device (a pool's tap, say) and records
 * it in `sandbox_devices`, so that a sandbox add on it writes maps only,
 * the tc attach being most of an add's time. A sandbox del leaves the
 * programs of such a device; `device del` takes them off once no sandbox
 * uses it. Until a sandbox is added, the programs drop whatever the device
 * sends (no sandbox owns its source).
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "error.h"
#include "map_iter.h"
#include "netdev.h"
#include "state.h"
#include "tc.h"
#include "xdp.h"

#define WHAT_ADD "device add"
#define WHAT_DEL "device del"

bool device_prepared(struct sharenat *sn, __u32 ifindex,
		     struct sandbox_device *out)
{
	struct sandbox_device dev;

	if (bpf_map_lookup_elem(sn->sandbox_devices_fd, &ifindex, &dev))
		return false;
	if (out)
		*out = dev;
	return true;
}

/* Take the device's egress programs off, unless a sandbox still uses it
 * (its last sandbox del will). The XDP one also when a sandbox added with
 * --mode xdp put it on a device prepared for tc: sandbox del leaves a
 * prepared device's programs. */
static int programs_detach(struct sharenat *sn, __u32 ifindex,
			   const char *what, struct sharenat_error *err)
{
	if (device_has_sandbox(sn, ifindex, 0))
		return 0;
	if (xdp_present((int)ifindex, sn->xdp_egress_prog_fd) &&
	    xdp_detach((int)ifindex, sn->xdp_egress_prog_fd, what, err))
		return -1;
	return tc_detach((int)ifindex, what, err);
}

int sharenat_device_add(struct sharenat *sn,
			const struct sharenat_device_spec *spec,
			struct sharenat_error *err)
{
	struct sandbox_device dev = { .hook = (__u8)spec->hook };
	struct attachment att;
	__u32 key;
	int ifindex;

	if (strlen(spec->dev) >= sizeof(dev.name))
		return fail(err, WHAT_ADD, "device name '%s' is too long",
			    spec->dev);
	ifindex = netdev_ifindex(sn, spec->dev, WHAT_ADD, err);
	if (ifindex < 0)
		return -1;
	key = (__u32)ifindex;
	if (!bpf_map_lookup_elem(sn->attachments_fd, &key, &att))
		return fail(err, WHAT_ADD, "%s is a shared device, not a "
			    "sandbox device", spec->dev);
	if (netdev_mac(sn, spec->dev, dev.mac, WHAT_ADD, err))
		return -1;
	strncpy(dev.name, spec->dev, sizeof(dev.name) - 1);
	/* Programs first: an entry is a promise that they are there, which
	 * a sandbox add on the device takes without looking. */
	if (dev.hook == NAT_HOOK_XDP &&
	    xdp_attach(ifindex, sn->xdp_egress_prog_fd, WHAT_ADD, err))
		return -1;
	if (tc_attach(sn, ifindex, sn->egress_prog_fd, WHAT_ADD, err))
		goto err_xdp;
	if (bpf_map_update_elem(sn->sandbox_devices_fd, &key, &dev, BPF_ANY)) {
		fail_errno(err, WHAT_ADD, errno, "cannot record device %s",
			   spec->dev);
		programs_detach(sn, key, WHAT_ADD, NULL);
		return -1;
	}
	return 0;

err_xdp:
	if (dev.hook == NAT_HOOK_XDP && !device_has_sandbox(sn, key, 0))
		xdp_detach(ifindex, sn->xdp_egress_prog_fd, WHAT_ADD, NULL);
	return -1;
}

int sharenat_device_del(struct sharenat *sn, const char *name,
			struct sharenat_error *err)
{
	struct sandbox_device dev;
	int ifindex;
	__u32 key;

	ifindex = netdev_ifindex(sn, name, WHAT_DEL, err);
	if (ifindex < 0)
		return -1;
	key = (__u32)ifindex;
	if (!device_prepared(sn, key, &dev) || strcmp(dev.name, name))
		return fail(err, WHAT_DEL, "%s is not a prepared device "
			    "(device add)", name);
	/* Programs off before the entry goes: a del killed between the two
	 * leaves an entry whose programs the repair puts back, never one
	 * that a sandbox add would trust while they are gone. */
	if (programs_detach(sn, key, WHAT_DEL, err))
		return -1;
	bpf_map_delete_elem(sn->sandbox_devices_fd, &key);
	return 0;
}

struct device_visit {
	sharenat_device_fn fn;
	void *ctx;
};

static int visit_device(const void *key, const void *value, void *ctx)
{
	struct device_visit *visit = ctx;

	return visit->fn(*(const __u32 *)key, value, visit->ctx);
}

int sharenat_for_each_device(struct sharenat *sn, sharenat_device_fn fn,
			     void *ctx)
{
	struct device_visit visit = { fn, ctx };

	return map_for_each(sn->sandbox_devices_fd, sizeof(__u32),
			    sizeof(struct sandbox_device), visit_device,
			    &visit);
}

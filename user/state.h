/* SPDX-License-Identifier: GPL-2.0 */
/* The opened state behind struct sharenat: pinned map and program fds. */
#ifndef SHARENAT_USER_STATE_H
#define SHARENAT_USER_STATE_H

#include <limits.h>
#include "libsharenat.h"

/* Longest pin directory; paths below it add at most a map name. */
#define PIN_DIR_MAX 256
#define PIN_PATH_MAX (PIN_DIR_MAX + 64)

struct sharenat {
	char pin_dir[PIN_DIR_MAX];
	int lock_fd;		/* flock on the pin directory: one writer */
	int netlink_fd;		/* rtnetlink, opened on first use and kept:
				 * sharenat_netlink() */
	bool loaded_now;	/* this open loaded and pinned the programs */
	bool marked;		/* this open made the writer mark (pins.c) */
	int attachments_fd;
	int functions_fd;
	int function_ids_fd;
	int sandboxes_fd;
	int sandbox_ids_fd;
	int flows_fd;
	int counters_fd;
	int xdp_devices_fd;
	int security_groups_fd;
	int security_group_ids_fd;
	int function_counters_fd;
	int mappings_fd;
	int ports_fd;
	int replies_fd;
	int sandbox_devices_fd;
	int latency_fd;			/* control-plane latency histograms */
	int fragments_fd;
	int held_fragments_fd;
	int counter_slots_fd;
	int expiry_sweeper_fd;
	int expiry_queue_fd;
	int port_hold_queue_fd;
	int attachment_counters_fd;
	int sandbox_counters_fd;
	int egress_prog_fd;		/* tc, sandbox devices */
	int ingress_prog_fd;		/* tc, shared devices */
	int xdp_ingress_prog_fd;	/* XDP, shared devices (--mode xdp) */
	int xdp_egress_prog_fd;		/* XDP, sandbox devices (--mode xdp) */
	int neighbours_fd;
};

/* The attachment sharenat_attach writes for a spec on device dev (at
 * ifindex): the spec's fields, its defaults filled in, and the hook the
 * spec names or the device's driver chooses (tc on a veth, else XDP).
 * 0, or -1 with err set. */
int attachment_of_spec(struct sharenat *sn,
		       const struct sharenat_attach_spec *spec, const char *dev,
		       int ifindex, struct attachment *att, const char *what,
		       struct sharenat_error *err);

/* The state's rtnetlink socket (netlink.h), opened on the first call;
 * fd, or -1 with err set. */
int sharenat_netlink(struct sharenat *sn, const char *what,
		     struct sharenat_error *err);

/* Remove every flow for which matches() is true, and with it the
 * endpoint-independent mappings (and their ports) it used. */
void flows_delete_matching(struct sharenat *sn,
			   bool (*matches)(const struct flow_key *key,
					   const struct flow *flow,
					   const void *ctx),
			   const void *ctx);

/* Is the device at ifindex prepared for sandboxes (device add)? Its entry
 * into *out when out is not NULL. */
bool device_prepared(struct sharenat *sn, __u32 ifindex,
		     struct sandbox_device *out);
/* Does a sandbox use the device at ifindex, one other than the sandbox at
 * except_addr (0: any sandbox)? */
bool device_has_sandbox(struct sharenat *sn, __u32 ifindex,
			__be32 except_addr);

/* Run the loaded sharenat_init program (its fd) once, as loading does:
 * it gives the expiry sweeper its timer. 0, or -1. */
int init_sweeper(int init_prog_fd);

/* Remove every pin and the pin directory, whatever the maps hold: for a
 * state this process made for itself alone (bench attach), whose devices
 * are gone. */
void pins_remove_all(struct sharenat *sn);

#endif

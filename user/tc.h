/* SPDX-License-Identifier: GPL-2.0 */
/* Our tc filter on a device's clsact ingress hook (libbpf 1.1 has no TCX). */
#ifndef SHARENAT_USER_TC_H
#define SHARENAT_USER_TC_H

#include <stdbool.h>

#include "libsharenat.h"

/* Attach (or replace) our filter on DEV's ingress, making its clsact
 * qdisc if it has none. */
int tc_attach(struct sharenat *sn, int ifindex, int prog_fd,
	      const char *what, struct sharenat_error *err);
/* Is our filter on DEV's ingress? */
bool tc_present(int ifindex);
/* Remove our filter; the clsact qdisc stays, other filters may use it. */
int tc_detach(int ifindex, const char *what, struct sharenat_error *err);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Our XDP program on a shared device, through libxdp: on hosts where its
 * dispatcher loads, sharenat shares the hook with other XDP programs; where
 * it cannot (no freplace), libxdp attaches the one program directly. */
#ifndef SHARENAT_USER_XDP_H
#define SHARENAT_USER_XDP_H

#include <stdbool.h>

#include "libsharenat.h"

int xdp_attach(int ifindex, int prog_fd, const char *what,
	       struct sharenat_error *err);
int xdp_detach(int ifindex, int prog_fd, const char *what,
	       struct sharenat_error *err);
/* Is this program attached to the device (alone or under libxdp's
 * dispatcher)? */
bool xdp_present(int ifindex, int prog_fd);

#endif

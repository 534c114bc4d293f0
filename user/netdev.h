/* SPDX-License-Identifier: GPL-2.0 */
/* What sharenat asks of and changes on network devices. */
#ifndef SHARENAT_USER_NETDEV_H
#define SHARENAT_USER_NETDEV_H

#include <stdbool.h>
#include "libsharenat.h"

/* The queries below go through the state's one socket, which keeps a
 * sandbox add cheap. */

/* ifindex of DEV, or -1 with err "what: device DEV does not exist". */
int netdev_ifindex(struct sharenat *sn, const char *dev, const char *what,
		   struct sharenat_error *err);
int netdev_mac(struct sharenat *sn, const char *dev, __u8 mac[6],
	       const char *what, struct sharenat_error *err);
/* Is the device at ifindex still the one seen before: the same MAC, and
 * the same name when name is given? Not when it is gone, nor when another
 * device took its index. */
bool netdev_still(struct sharenat *sn, __u32 ifindex, const char *name,
		  const __u8 mac[6]);
/* The device's driver name ("veth", "tun", ...) into buf (32 bytes). */
int netdev_driver(struct sharenat *sn, const char *dev, char *buf,
		  size_t len, const char *what, struct sharenat_error *err);
/* Is ADDR configured on the device? */
bool netdev_has_addr(int ifindex, __be32 addr);
/* Add or remove ADDR/32 on the device (no prefix route). */
int netdev_addr_change(struct sharenat *sn, int ifindex, __be32 addr,
		       bool add, const char *what, struct sharenat_error *err);
/* Read and set the device's arp_ignore sysctl (0-8). Attach sets 1:
 * answer ARP only for addresses configured on the device itself, so a
 * customer on another shared device never learns this one's addresses. */
int netdev_arp_ignore_get(const char *dev, __u8 *value, const char *what,
			  struct sharenat_error *err);
int netdev_arp_ignore_set(const char *dev, __u8 value, const char *what,
			  struct sharenat_error *err);

#endif

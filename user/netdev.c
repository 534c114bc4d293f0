// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if_addr.h>
#include <linux/sockios.h>

#include "error.h"
#include "netdev.h"
#include "netlink.h"
#include "parse.h"
#include "state.h"

/* One ioctl about DEV, asking for its ABOUT, on the state's netlink
 * socket: device ioctls work on any socket, and reusing one spares the
 * socket a throwaway would cost (a third of a sandbox add's device
 * queries). */
static int netdev_ioctl(struct sharenat *sn, const char *dev,
			unsigned long request, struct ifreq *ifr,
			const char *what, const char *about,
			struct sharenat_error *err)
{
	int fd = sharenat_netlink(sn, what, err);

	if (fd < 0)
		return -1;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", dev);
	if (!ioctl(fd, request, ifr))
		return 0;
	if (errno == ENODEV)
		return fail(err, what, "device %s does not exist", dev);
	return fail_errno(err, what, errno, "cannot read the %s of %s",
			  about, dev);
}

int netdev_ifindex(struct sharenat *sn, const char *dev, const char *what,
		   struct sharenat_error *err)
{
	struct ifreq ifr = {};

	if (!dev || !*dev)
		return fail(err, what, "empty device name");
	if (strlen(dev) >= IFNAMSIZ)
		return fail(err, what, "device name '%s' is longer than %d "
			    "characters", dev, IFNAMSIZ - 1);
	if (netdev_ioctl(sn, dev, SIOCGIFINDEX, &ifr, what, "index", err))
		return -1;
	return ifr.ifr_ifindex;
}

int netdev_mac(struct sharenat *sn, const char *dev, __u8 mac[6],
	       const char *what, struct sharenat_error *err)
{
	struct ifreq ifr = {};

	if (netdev_ioctl(sn, dev, SIOCGIFHWADDR, &ifr, what, "MAC", err))
		return -1;
	if (ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */)
		return fail(err, what, "%s is not an Ethernet device", dev);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int netdev_driver(struct sharenat *sn, const char *dev, char *buf,
		  size_t len, const char *what, struct sharenat_error *err)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&info };

	if (netdev_ioctl(sn, dev, SIOCETHTOOL, &ifr, what, "driver", err))
		return -1;
	snprintf(buf, len, "%s", info.driver);
	return 0;
}

bool netdev_has_addr(int ifindex, __be32 addr)
{
	char name[IF_NAMESIZE];
	struct ifaddrs *list, *ifa;
	bool found = false;

	if (!if_indextoname((unsigned int)ifindex, name) || getifaddrs(&list))
		return false;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		const struct sockaddr_in *sin =
			(const struct sockaddr_in *)ifa->ifa_addr;

		if (sin && sin->sin_family == AF_INET &&
		    sin->sin_addr.s_addr == addr &&
		    !strcmp(ifa->ifa_name, name))
			found = true;
	}
	freeifaddrs(list);
	return found;
}

int netdev_addr_change(struct sharenat *sn, int ifindex, __be32 addr,
		       bool add, const char *what, struct sharenat_error *err)
{
	struct nl_request req = { 0 };
	__u32 flags = IFA_F_NOPREFIXROUTE;
	char text[INET_ADDRSTRLEN];
	struct ifaddrmsg *ifa;
	int fd, rc;

	fd = sharenat_netlink(sn, what, err);
	if (fd < 0)
		return -1;
	ifa = nl_message(&req, add ? RTM_NEWADDR : RTM_DELADDR,
			 add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 32;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	nl_attr(&req, IFA_LOCAL, &addr, sizeof(addr));
	nl_attr(&req, IFA_ADDRESS, &addr, sizeof(addr));
	nl_attr(&req, IFA_FLAGS, &flags, sizeof(flags));
	rc = nl_send(fd, &req, NULL);
	if (rc)
		return fail_errno(err, what, -rc, "cannot %s %s/32",
				  add ? "add" : "remove",
				  format_ipv4(addr, text));
	return 0;
}

static void arp_ignore_path(const char *dev, char *path, size_t len)
{
	snprintf(path, len, "/proc/sys/net/ipv4/conf/%s/arp_ignore", dev);
}

int netdev_arp_ignore_get(const char *dev, __u8 *value, const char *what,
			  struct sharenat_error *err)
{
	char path[128], text[8] = { 0 };
	ssize_t n;
	int fd;

	arp_ignore_path(dev, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(err, what, errno, "cannot open %s", path);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0 || text[0] < '0' || text[0] > '8')
		return fail(err, what, "cannot read %s", path);
	*value = (__u8)(text[0] - '0');
	return 0;
}

int netdev_arp_ignore_set(const char *dev, __u8 value, const char *what,
			  struct sharenat_error *err)
{
	char path[128], text = (char)('0' + value);
	int fd;

	arp_ignore_path(dev, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(err, what, errno, "cannot open %s", path);
	if (write(fd, &text, 1) != 1) {
		int saved = errno;

		close(fd);
		return fail_errno(err, what, saved, "cannot write %s", path);
	}
	close(fd);
	return 0;
}

bool netdev_still(struct sharenat *sn, __u32 ifindex, const char *name,
		  const __u8 mac[6])
{
	char now_name[IF_NAMESIZE];
	__u8 now_mac[6];

	return if_indextoname(ifindex, now_name) &&
	       (!name || !strcmp(now_name, name)) &&
	       !netdev_mac(sn, now_name, now_mac, "repair", NULL) &&
	       !memcmp(now_mac, mac, sizeof(now_mac));
}

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
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "error.h"
#include "netdev.h"
#include "parse.h"

int netdev_ifindex(const char *dev, const char *what,
		   struct sharenat_error *err)
{
	unsigned int ifindex;

	if (!dev || !*dev)
		return fail(err, what, "empty device name");
	if (strlen(dev) >= IFNAMSIZ)
		return fail(err, what, "device name '%s' is longer than %d "
			    "characters", dev, IFNAMSIZ - 1);
	ifindex = if_nametoindex(dev);
	if (!ifindex)
		return fail(err, what, "device %s does not exist", dev);
	return (int)ifindex;
}

/* One ioctl about DEV on a throwaway socket. */
static int netdev_ioctl(const char *dev, unsigned long request,
			struct ifreq *ifr, const char *what, const char *about,
			struct sharenat_error *err)
{
	int fd, rc;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno(err, what, errno, "socket");
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", dev);
	rc = ioctl(fd, request, ifr);
	if (rc)
		rc = errno;
	close(fd);
	if (rc)
		return fail_errno(err, what, rc, "cannot read the %s of %s",
				  about, dev);
	return 0;
}

int netdev_mac(const char *dev, __u8 mac[6], const char *what,
	       struct sharenat_error *err)
{
	struct ifreq ifr = {};

	if (netdev_ioctl(dev, SIOCGIFHWADDR, &ifr, what, "MAC", err))
		return -1;
	if (ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */)
		return fail(err, what, "%s is not an Ethernet device", dev);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

int netdev_driver(const char *dev, char *buf, size_t len, const char *what,
		  struct sharenat_error *err)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { .ifr_data = (void *)&info };

	if (netdev_ioctl(dev, SIOCETHTOOL, &ifr, what, "driver", err))
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

struct addr_request {
	struct nlmsghdr header;
	struct ifaddrmsg ifa;
	char attrs[64];
};

static void add_attr(struct nlmsghdr *header, unsigned short type,
		     const void *data, unsigned short len)
{
	struct rtattr *rta = (struct rtattr *)((char *)header +
					       NLMSG_ALIGN(header->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	header->nlmsg_len = NLMSG_ALIGN(header->nlmsg_len) +
			    RTA_ALIGN(rta->rta_len);
}

int netdev_addr_change(int ifindex, __be32 addr, bool add, const char *what,
		       struct sharenat_error *err)
{
	struct addr_request req = {
		.header = {
			.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
			.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
				       (add ? NLM_F_CREATE | NLM_F_EXCL : 0),
			.nlmsg_seq = 1,
		},
		.ifa = {
			.ifa_family = AF_INET,
			.ifa_prefixlen = 32,
			.ifa_scope = RT_SCOPE_UNIVERSE,
			.ifa_index = (unsigned int)ifindex,
		},
	};
	__u32 flags = IFA_F_NOPREFIXROUTE;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char reply[512], text[INET_ADDRSTRLEN];
	struct nlmsgerr *ack;
	ssize_t n;
	int fd;

	add_attr(&req.header, IFA_LOCAL, &addr, sizeof(addr));
	add_attr(&req.header, IFA_ADDRESS, &addr, sizeof(addr));
	add_attr(&req.header, IFA_FLAGS, &flags, sizeof(flags));

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return fail_errno(err, what, errno, "netlink socket");
	if (sendto(fd, &req, req.header.nlmsg_len, 0,
		   (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		close(fd);
		return fail_errno(err, what, errno, "netlink send");
	}
	n = recv(fd, reply, sizeof(reply), 0);
	close(fd);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(*ack)))
		return fail(err, what, "no answer from netlink");
	ack = NLMSG_DATA((struct nlmsghdr *)reply);
	if (ack->error)
		return fail_errno(err, what, ack->error, "cannot %s %s/32",
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

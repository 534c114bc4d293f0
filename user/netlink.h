/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rtnetlink requests built in place: one or more messages in one buffer,
 * sent with one send, every error reported and the last message acked. The tc attach of a
 * sandbox add goes through one socket kept open in struct sharenat (its
 * device ioctls too), which is what makes a sandbox add cheap (see tc.c).
 */
#ifndef SHARENAT_USER_NETLINK_H
#define SHARENAT_USER_NETLINK_H

#include <stddef.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* Room for every request sharenat sends (the largest, a veth pair of the
 * attach benchmark, is under 200 bytes). */
#define NL_REQUEST_MAX 1024

struct nl_request {
	union {
		struct nlmsghdr align;
		char buf[NL_REQUEST_MAX];
	};
	unsigned int count;		/* messages in buf */
	struct nlmsghdr *last;		/* the one attributes go to */
};

/* Open a NETLINK_ROUTE socket connected to the kernel; fd or -errno. */
int nl_open(void);

/* Start a new message in the request: TYPE with FLAGS (NLM_F_REQUEST is
 * added, and NLM_F_ACK to the last message when sent), then the family header (ifinfomsg, tcmsg, ...),
 * zeroed, which is returned for the caller to fill in. */
void *nl_message(struct nl_request *req, unsigned short type,
		 unsigned short flags, size_t header_len);
/* Attributes of the last message begun. */
void nl_attr(struct nl_request *req, unsigned short type, const void *data,
	     size_t len);
struct rtattr *nl_nest(struct nl_request *req, unsigned short type);
void nl_nest_end(struct nl_request *req, struct rtattr *nest);
/* Append raw bytes (VETH_INFO_PEER's ifinfomsg) to the last message. */
void nl_append(struct nl_request *req, const void *data, size_t len);

/* Send every message of the request and wait until the kernel has worked
 * through them all: errors[i] gets 0 or -errno of message i (errors may be
 * NULL when the request has one message: its result is returned then).
 * Returns 0 once the last message is answered, or -errno when the socket
 * failed. */
int nl_send(int fd, struct nl_request *req, int *errors);

#endif

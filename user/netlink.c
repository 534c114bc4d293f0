// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"

/* Acks of a batch; an error ack quotes its request, under 1 KiB. */
#define NL_REPLY_MAX 8192

int nl_open(void)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&kernel, sizeof(kernel))) {
		int saved = errno;

		close(fd);
		return -saved;
	}
	return fd;
}

static void *nl_tail(const struct nl_request *req)
{
	return (char *)req->last + NLMSG_ALIGN(req->last->nlmsg_len);
}

void *nl_message(struct nl_request *req, unsigned short type,
		 unsigned short flags, size_t header_len)
{
	struct nlmsghdr *h;

	h = req->count ? nl_tail(req) : &req->align;
	memset(h, 0, NLMSG_SPACE(header_len));
	h->nlmsg_len = (__u32)NLMSG_LENGTH(header_len);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags | NLM_F_REQUEST;
	req->last = h;
	req->count++;
	return NLMSG_DATA(h);
}

void nl_append(struct nl_request *req, const void *data, size_t len)
{
	memcpy(nl_tail(req), data, len);
	req->last->nlmsg_len = NLMSG_ALIGN(req->last->nlmsg_len) +
			       (__u32)NLMSG_ALIGN(len);
}

void nl_attr(struct nl_request *req, unsigned short type, const void *data,
	     size_t len)
{
	struct rtattr *rta = nl_tail(req);

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	req->last->nlmsg_len = NLMSG_ALIGN(req->last->nlmsg_len) +
			       RTA_ALIGN(rta->rta_len);
}

struct rtattr *nl_nest(struct nl_request *req, unsigned short type)
{
	struct rtattr *nest = nl_tail(req);

	nl_attr(req, type, NULL, 0);
	return nest;
}

void nl_nest_end(struct nl_request *req, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)nl_tail(req) - (char *)nest);
}

/* Number the messages and send them in one go; the first sequence number
 * is returned in *first. Only the last asks for an ack: the kernel works
 * through a batch in order and reports every error whether asked or not,
 * so the last one's ack comes after any earlier message's error, and a
 * batch that succeeds is one reply to read, not one a message. */
static int nl_transmit(int fd, struct nl_request *req, __u32 *first)
{
	static __u32 seq;
	struct nlmsghdr *h = &req->align;
	size_t len = 0;
	unsigned int i;

	*first = seq + 1;
	for (i = 0; i < req->count; i++) {
		h = (struct nlmsghdr *)(req->buf + len);
		h->nlmsg_seq = ++seq;
		if (i + 1 == req->count)
			h->nlmsg_flags |= NLM_F_ACK;
		len += NLMSG_ALIGN(h->nlmsg_len);
	}
	while (send(fd, req->buf, len, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Read the kernel's errors to messages first..first+count-1 into
 * errors[] (0 for a message with none), until the last one's ack. */
static int nl_receive(int fd, __u32 first, unsigned int count, int *errors)
{
	char buf[NL_REPLY_MAX] __attribute__((aligned(4)));
	bool last_answered = false;

	memset(errors, 0, count * sizeof(*errors));
	while (!last_answered) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		size_t at = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n > (ssize_t)sizeof(buf))
			return -EMSGSIZE;
		/* NLMSG_OK and NLMSG_NEXT, without their mix of signs. */
		while (at + sizeof(struct nlmsghdr) <= (size_t)n) {
			const struct nlmsghdr *msg =
				(const struct nlmsghdr *)(buf + at);
			__u32 index = msg->nlmsg_seq - first;

			if (msg->nlmsg_len < sizeof(*msg) ||
			    msg->nlmsg_len > (size_t)n - at)
				break;
			at += NLMSG_ALIGN(msg->nlmsg_len);
			/* Only acks and errors are asked for; anything else,
			 * or an answer to an earlier request, is not ours. */
			if (msg->nlmsg_type != NLMSG_ERROR || index >= count)
				continue;
			errors[index] =
				((const struct nlmsgerr *)NLMSG_DATA(msg))->error;
			if (index + 1 == count)
				last_answered = true;
		}
	}
	return 0;
}

int nl_send(int fd, struct nl_request *req, int *errors)
{
	int one_error = 0, rc;
	__u32 first;

	if (!errors) {
		if (req->count != 1)
			return -EINVAL;
		errors = &one_error;
	}
	rc = nl_transmit(fd, req, &first);
	if (!rc)
		rc = nl_receive(fd, first, req->count, errors);
	if (rc)
		return rc;
	return errors == &one_error ? one_error : 0;
}

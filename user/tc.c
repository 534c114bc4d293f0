// SPDX-License-Identifier: GPL-2.0
/*
 * The tc attach is the bulk of a sandbox add, so it is one request on the
 * socket struct sharenat keeps open: the clsact qdisc and the filter go
 * in one send, answered by one ack unless the qdisc exists (netlink.c). libbpf's bpf_tc_hook_create and
 * bpf_tc_attach open a socket each and ask for the filter to be echoed:
 * measured on 300 fresh veths, p50/p99 38/99 us for the two against
 * 19/35 us for this (docs/performance.md, row e). Query and detach are
 * not on that path and stay with libbpf.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>

#include <bpf/libbpf.h>

#include "error.h"
#include "netlink.h"
#include "state.h"
#include "tc.h"

/* What `tc filter show` prints as the filter's name. */
#define TC_FILTER_NAME "sharenat"

int tc_attach(struct sharenat *sn, int ifindex, int prog_fd,
	      const char *what, struct sharenat_error *err)
{
	struct nl_request req = { 0 };
	__u32 bpf_flags = TCA_BPF_FLAG_ACT_DIRECT;
	struct rtattr *options;
	struct tcmsg *tcm;
	int fd, errors[2], rc;

	fd = sharenat_netlink(sn, what, err);
	if (fd < 0)
		return -1;
	/* The qdisc, if the device has none yet: EEXIST is fine. */
	tcm = nl_message(&req, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL,
			 sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	tcm->tcm_parent = TC_H_CLSACT;
	nl_attr(&req, TCA_KIND, "clsact", sizeof("clsact"));
	/* Our filter, replacing the one of an earlier attach: without
	 * NLM_F_EXCL an existing filter of the same handle and priority is
	 * changed in place, with no moment without a program. */
	tcm = nl_message(&req, RTM_NEWTFILTER, NLM_F_CREATE, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_handle = SHARENAT_TC_HANDLE;
	tcm->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
	tcm->tcm_info = TC_H_MAKE((__u32)SHARENAT_TC_PRIORITY << 16,
				  htons(ETH_P_ALL));
	nl_attr(&req, TCA_KIND, "bpf", sizeof("bpf"));
	options = nl_nest(&req, TCA_OPTIONS);
	nl_attr(&req, TCA_BPF_FD, &prog_fd, sizeof(prog_fd));
	nl_attr(&req, TCA_BPF_NAME, TC_FILTER_NAME, sizeof(TC_FILTER_NAME));
	nl_attr(&req, TCA_BPF_FLAGS, &bpf_flags, sizeof(bpf_flags));
	nl_nest_end(&req, options);

	rc = nl_send(fd, &req, errors);
	if (rc)
		return fail_errno(err, what, -rc, "netlink");
	if (errors[0] && errors[0] != -EEXIST)
		return fail_errno(err, what, -errors[0],
				  "cannot create the clsact qdisc");
	if (errors[1])
		return fail_errno(err, what, -errors[1],
				  "cannot attach the tc program");
	return 0;
}

bool tc_present(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHARENAT_TC_HANDLE,
		    .priority = SHARENAT_TC_PRIORITY);

	return bpf_tc_query(&hook, &opts) == 0;
}

int tc_detach(int ifindex, const char *what, struct sharenat_error *err)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHARENAT_TC_HANDLE,
		    .priority = SHARENAT_TC_PRIORITY);
	int rc;

	rc = bpf_tc_detach(&hook, &opts);
	/* Gone already (device deleted, filter removed by hand): done. */
	if (rc && rc != -ENOENT && rc != -ENODEV && rc != -EINVAL)
		return fail_errno(err, what, rc,
				  "cannot detach the tc program");
	return 0;
}

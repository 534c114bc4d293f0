// SPDX-License-Identifier: GPL-2.0
#include <errno.h>

#include <bpf/libbpf.h>

#include "error.h"
#include "tc.h"

int tc_attach(int ifindex, int prog_fd, const char *what,
	      struct sharenat_error *err)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHARENAT_TC_HANDLE,
		    .priority = SHARENAT_TC_PRIORITY, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	int rc;

	rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST)
		return fail_errno(err, what, rc,
				  "cannot create the clsact qdisc");
	rc = bpf_tc_attach(&hook, &opts);
	if (rc)
		return fail_errno(err, what, rc,
				  "cannot attach the tc program");
	return 0;
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

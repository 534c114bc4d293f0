// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "error.h"
#include "xdp.h"

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (!getenv("LIBBPF_DEBUG"))
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static int libxdp_quiet(enum libxdp_print_level level, const char *fmt,
			va_list ap)
{
	if (!getenv("LIBBPF_DEBUG"))
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

int xdp_attach(int ifindex, int prog_fd, const char *what,
	       struct sharenat_error *err)
{
	struct xdp_program *prog = xdp_program__from_fd(prog_fd);
	long rc = libxdp_get_error(prog);
	libbpf_print_fn_t previous;

	if (rc)
		return fail_errno(err, what, (int)rc,
				  "cannot use the XDP program");
	/* Where the dispatcher cannot load (no freplace), libxdp and libbpf
	 * say so at length before falling back to a direct attach, which is
	 * fine: only a real failure below is worth a line. */
	previous = libbpf_set_print(libbpf_quiet);
	libxdp_set_print(libxdp_quiet);
	rc = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	libbpf_set_print(previous);
	xdp_program__close(prog);
	if (rc)
		return fail_errno(err, what, (int)rc,
				  "cannot attach the XDP program natively");
	return 0;
}

bool xdp_present(int ifindex, int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	struct xdp_multiprog *attached;
	struct xdp_program *prog;
	bool found = false;

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return false;
	attached = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(attached))
		return false;
	/* Alone on the device, or one of the dispatcher's programs. */
	if (xdp_multiprog__is_legacy(attached)) {
		prog = xdp_multiprog__main_prog(attached);
		found = prog && xdp_program__id(prog) == info.id;
	}
	for (prog = xdp_multiprog__next_prog(NULL, attached); prog && !found;
	     prog = xdp_multiprog__next_prog(prog, attached))
		found = xdp_program__id(prog) == info.id;
	xdp_multiprog__close(attached);
	return found;
}

int xdp_detach(int ifindex, int prog_fd, const char *what,
	       struct sharenat_error *err)
{
	struct xdp_program *prog = xdp_program__from_fd(prog_fd);
	long rc = libxdp_get_error(prog);

	if (rc)
		return fail_errno(err, what, (int)rc,
				  "cannot use the XDP program");
	rc = xdp_program__detach(prog, ifindex, XDP_MODE_NATIVE, 0);
	xdp_program__close(prog);
	/* Gone already (device deleted, detached by hand): done. */
	if (rc && rc != -ENOENT && rc != -ENODEV)
		return fail_errno(err, what, (int)rc,
				  "cannot detach the XDP program");
	return 0;
}

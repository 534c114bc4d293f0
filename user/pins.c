// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and pinning. The first `attach` loads the skeleton with every map
 * pinned by name under the pin directory and pins both programs there;
 * every later run opens those pins. No process has to stay: tc filters and
 * pins keep the programs and maps alive.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.h"
#include "state.h"
#include "sharenat.skel.h"

#define BPFFS_ROOT "/sys/fs/bpf"

static const char *const map_names[] = {
	"attachments", "functions", "function_ids", "sandboxes",
	"sandbox_ids", "flows", "counters",
};

static int *map_fd_slot(struct sharenat *sn, size_t i)
{
	int *slots[] = {
		&sn->attachments_fd, &sn->functions_fd, &sn->function_ids_fd,
		&sn->sandboxes_fd, &sn->sandbox_ids_fd, &sn->flows_fd,
		&sn->counters_fd,
	};
	return slots[i];
}

#define MAP_COUNT (sizeof(map_names) / sizeof(map_names[0]))

static void pin_path(const struct sharenat *sn, const char *name, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s/%s", sn->pin_dir, name);
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* A fresh machine has no bpffs at /sys/fs/bpf: mount it. */
static int ensure_bpffs(const char *pin_dir, struct sharenat_error *err)
{
	char parent[PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (on_bpffs(parent))
		return 0;
	if (strncmp(pin_dir, BPFFS_ROOT "/", strlen(BPFFS_ROOT) + 1))
		return fail(err, "pin directory", "%s is not on a bpf "
			    "filesystem", pin_dir);
	if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700"))
		return fail_errno(err, "pin directory", errno,
				  "cannot mount bpffs on %s", BPFFS_ROOT);
	if (!on_bpffs(parent))
		return fail(err, "pin directory", "%s is not on a bpf "
			    "filesystem", pin_dir);
	return 0;
}

bool sharenat_is_loaded(const char *pin_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sharenat_egress", pin_dir);
	return access(path, F_OK) == 0;
}

static void close_fds(struct sharenat *sn)
{
	size_t i;

	for (i = 0; i < MAP_COUNT; i++) {
		int *fd = map_fd_slot(sn, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
	if (sn->egress_prog_fd >= 0)
		close(sn->egress_prog_fd);
	if (sn->ingress_prog_fd >= 0)
		close(sn->ingress_prog_fd);
	sn->egress_prog_fd = sn->ingress_prog_fd = -1;
}

static int open_pins(struct sharenat *sn, struct sharenat_error *err)
{
	char path[PIN_PATH_MAX];
	size_t i;

	for (i = 0; i < MAP_COUNT; i++) {
		pin_path(sn, map_names[i], path, sizeof(path));
		*map_fd_slot(sn, i) = bpf_obj_get(path);
		if (*map_fd_slot(sn, i) < 0)
			return fail_errno(err, "open state", errno,
					  "cannot open pinned map %s", path);
	}
	pin_path(sn, "sharenat_egress", path, sizeof(path));
	sn->egress_prog_fd = bpf_obj_get(path);
	if (sn->egress_prog_fd < 0)
		return fail_errno(err, "open state", errno,
				  "cannot open pinned program %s", path);
	pin_path(sn, "sharenat_ingress", path, sizeof(path));
	sn->ingress_prog_fd = bpf_obj_get(path);
	if (sn->ingress_prog_fd < 0)
		return fail_errno(err, "open state", errno,
				  "cannot open pinned program %s", path);
	return 0;
}

static void unpin_all(struct sharenat *sn)
{
	char path[PIN_PATH_MAX];
	size_t i;

	for (i = 0; i < MAP_COUNT; i++) {
		pin_path(sn, map_names[i], path, sizeof(path));
		unlink(path);
	}
	pin_path(sn, "sharenat_egress", path, sizeof(path));
	unlink(path);
	pin_path(sn, "sharenat_ingress", path, sizeof(path));
	unlink(path);
}

/* Load the skeleton, maps pinned by name, and pin the programs. */
static int load_and_pin(struct sharenat *sn, struct sharenat_error *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = sn->pin_dir);
	struct sharenat_bpf *skel;
	char path[PIN_PATH_MAX];
	int rc;

	skel = sharenat_bpf__open_opts(&opts);
	if (!skel)
		return fail_errno(err, "load", errno,
				  "cannot open the BPF object");
	rc = sharenat_bpf__load(skel);
	if (rc) {
		sharenat_bpf__destroy(skel);
		unpin_all(sn);
		return fail_errno(err, "load", rc, "the kernel refused the "
				  "BPF programs (run with LIBBPF_DEBUG=1 for "
				  "the verifier log)");
	}
	pin_path(sn, "sharenat_egress", path, sizeof(path));
	rc = bpf_program__pin(skel->progs.sharenat_egress, path);
	if (!rc) {
		pin_path(sn, "sharenat_ingress", path, sizeof(path));
		rc = bpf_program__pin(skel->progs.sharenat_ingress, path);
	}
	sharenat_bpf__destroy(skel);
	if (rc) {
		unpin_all(sn);
		return fail_errno(err, "load", rc, "cannot pin %s", path);
	}
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !getenv("LIBBPF_DEBUG"))
		return 0;
	if (level == LIBBPF_INFO && !getenv("LIBBPF_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

struct sharenat *sharenat_open(const char *pin_dir,
			       enum sharenat_open_mode mode,
			       struct sharenat_error *err)
{
	struct sharenat *sn;
	size_t i;

	libbpf_set_print(libbpf_print);
	if (!pin_dir || !*pin_dir)
		pin_dir = SHARENAT_DEFAULT_PIN_DIR;
	if (strlen(pin_dir) >= PIN_DIR_MAX) {
		fail(err, "pin directory", "path is too long");
		return NULL;
	}
	sn = calloc(1, sizeof(*sn));
	if (!sn) {
		fail_errno(err, "open state", ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(sn->pin_dir, sizeof(sn->pin_dir), "%s", pin_dir);
	for (i = 0; i < MAP_COUNT; i++)
		*map_fd_slot(sn, i) = -1;
	sn->egress_prog_fd = sn->ingress_prog_fd = -1;
	sn->lock_fd = -1;

	if (mode == SHARENAT_OPEN_EXISTING && !sharenat_is_loaded(pin_dir)) {
		fail(err, "open state", "nothing is loaded under %s: run "
		     "'sharenat attach' first", pin_dir);
		goto err_free;
	}
	if (ensure_bpffs(pin_dir, err))
		goto err_free;
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		fail_errno(err, "open state", errno, "cannot create %s",
			   pin_dir);
		goto err_free;
	}
	sn->lock_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sn->lock_fd < 0 || flock(sn->lock_fd, LOCK_EX)) {
		fail_errno(err, "open state", errno, "cannot lock %s",
			   pin_dir);
		goto err_free;
	}
	if (!sharenat_is_loaded(pin_dir) && load_and_pin(sn, err))
		goto err_free;
	if (open_pins(sn, err))
		goto err_free;
	return sn;

err_free:
	sharenat_close(sn);
	return NULL;
}

void sharenat_close(struct sharenat *sn)
{
	if (!sn)
		return;
	close_fds(sn);
	if (sn->lock_fd >= 0)
		close(sn->lock_fd);
	free(sn);
}

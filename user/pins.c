// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and pinning. The first `attach` loads the skeleton with every map
 * pinned by name under the pin directory and pins both programs there;
 * every later run opens those pins. No process has to stay: tc filters and
 * pins keep the programs and maps alive.
 */
#include <errno.h>
#include <stddef.h>
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
#include "map_iter.h"
#include "state.h"
#include "sharenat.skel.h"

#define BPFFS_ROOT "/sys/fs/bpf"

/* Every pinned object: its name under the pin directory and its fd. */
struct pinned {
	const char *name;
	size_t fd_offset;
	bool program;
};

#define PINNED_MAP(field) { #field, offsetof(struct sharenat, field##_fd), false }
static const struct pinned pinned_objects[] = {
	PINNED_MAP(attachments),
	PINNED_MAP(functions),
	PINNED_MAP(function_ids),
	PINNED_MAP(sandboxes),
	PINNED_MAP(sandbox_ids),
	PINNED_MAP(flows),
	PINNED_MAP(counters),
	PINNED_MAP(xdp_devices),
	PINNED_MAP(security_groups),
	PINNED_MAP(security_group_ids),
	PINNED_MAP(function_counters),
	PINNED_MAP(mappings),
	PINNED_MAP(ports),
	PINNED_MAP(fragments),
	{ "sharenat_egress", offsetof(struct sharenat, egress_prog_fd), true },
	{ "sharenat_ingress", offsetof(struct sharenat, ingress_prog_fd), true },
	{ "sharenat_xdp_ingress", offsetof(struct sharenat, xdp_ingress_prog_fd),
	  true },
};
#undef PINNED_MAP

#define PINNED_COUNT (sizeof(pinned_objects) / sizeof(pinned_objects[0]))

static int *fd_slot(struct sharenat *sn, const struct pinned *object)
{
	return (int *)((char *)sn + object->fd_offset);
}

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

	for (i = 0; i < PINNED_COUNT; i++) {
		int *fd = fd_slot(sn, &pinned_objects[i]);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

static int open_pins(struct sharenat *sn, struct sharenat_error *err)
{
	char path[PIN_PATH_MAX];
	size_t i;

	for (i = 0; i < PINNED_COUNT; i++) {
		const struct pinned *object = &pinned_objects[i];
		int *fd = fd_slot(sn, object);

		pin_path(sn, object->name, path, sizeof(path));
		*fd = bpf_obj_get(path);
		if (*fd < 0)
			return fail_errno(err, "open state", errno,
					  "cannot open pinned %s %s",
					  object->program ? "program" : "map",
					  path);
	}
	return 0;
}

static void unpin_all(struct sharenat *sn)
{
	char path[PIN_PATH_MAX];
	size_t i;

	for (i = 0; i < PINNED_COUNT; i++) {
		pin_path(sn, pinned_objects[i].name, path, sizeof(path));
		unlink(path);
	}
}

static int load_and_pin(struct sharenat *sn, struct sharenat_error *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = sn->pin_dir);
	struct sharenat_bpf *skel;
	struct bpf_program *prog;
	char path[PIN_PATH_MAX];
	int rc = 0;

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
	bpf_object__for_each_program(prog, skel->obj) {
		pin_path(sn, bpf_program__name(prog), path, sizeof(path));
		rc = bpf_program__pin(prog, path);
		if (rc)
			break;
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
	for (i = 0; i < PINNED_COUNT; i++)
		*fd_slot(sn, &pinned_objects[i]) = -1;
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
	if (!sharenat_is_loaded(pin_dir)) {
		if (load_and_pin(sn, err))
			goto err_free;
		sn->loaded_now = true;
	}
	if (open_pins(sn, err))
		goto err_free;
	return sn;

err_free:
	sharenat_close(sn);
	return NULL;
}

/* Nothing configured is left: no attachment, no security group. (No
 * function or sandbox can exist without an attachment.) */
static int any_entry(const void *key, const void *value, void *ctx)
{
	(void)key;
	(void)value;
	(void)ctx;
	return 1;
}

static bool holds_nothing(struct sharenat *sn)
{
	return !map_for_each(sn->attachments_fd, sizeof(__u32),
			     sizeof(struct attachment), any_entry, NULL) &&
	       !map_for_each(sn->security_groups_fd, sizeof(__u32),
			     sizeof(struct security_group), any_entry, NULL);
}

void sharenat_close_failed(struct sharenat *sn)
{
	if (sn && sn->loaded_now && holds_nothing(sn)) {
		close_fds(sn);
		unpin_all(sn);
		rmdir(sn->pin_dir);
	}
	sharenat_close(sn);
}

void sharenat_unload_if_empty(struct sharenat *sn)
{
	if (!holds_nothing(sn))
		return;
	close_fds(sn);
	unpin_all(sn);
	rmdir(sn->pin_dir);
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

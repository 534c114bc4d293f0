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
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "counter_slots.h"
#include "error.h"
#include "latency.h"
#include "map_iter.h"
#include "netdev.h"
#include "netlink.h"
#include "state.h"
#include "tc.h"
#include "xdp.h"
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
	PINNED_MAP(replies),
	PINNED_MAP(sandbox_devices),
	PINNED_MAP(fragments),
	PINNED_MAP(held_fragments),
	PINNED_MAP(counter_slots),
	PINNED_MAP(expiry_sweeper),
	PINNED_MAP(expiry_queue),
	PINNED_MAP(port_hold_queue),
	PINNED_MAP(attachment_counters),
	PINNED_MAP(sandbox_counters),
	PINNED_MAP(latency),
	PINNED_MAP(neighbours),
	{ "sharenat_egress", offsetof(struct sharenat, egress_prog_fd), true },
	{ "sharenat_ingress", offsetof(struct sharenat, ingress_prog_fd), true },
	{ "sharenat_xdp_ingress", offsetof(struct sharenat, xdp_ingress_prog_fd),
	  true },
	{ "sharenat_xdp_egress", offsetof(struct sharenat, xdp_egress_prog_fd),
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
		/* A state loaded before the latency map existed gets it now:
		 * it is the CLI's own, no program depends on it. */
		if (*fd < 0 && errno == ENOENT &&
		    fd == &sn->latency_fd)
			*fd = latency_map_create(path);
		/* Every version pins all it has at load: one missing means
		 * the state was loaded by another version, whose maps this
		 * one must not write. */
		if (*fd < 0 && errno == ENOENT)
			return fail(err, "open state",
				    "%s has no pinned %s %s: the state there "
				    "was loaded by another version of "
				    "sharenat; detach and delete everything "
				    "with that version first", sn->pin_dir,
				    object->program ? "program" : "map",
				    object->name);
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

/* The expiry sweeper's timer is allocated here, in process context, where
 * the allocation does not fail as it can in a burst of new flows: the
 * sharenat_init program is run once, never attached. */
int init_sweeper(int init_prog_fd)
{
	__u8 frame[ETH_HLEN] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame,
		    .data_size_in = sizeof(frame));

	if (bpf_prog_test_run_opts(init_prog_fd, &run))
		return -1;
	return run.retval ? -1 : 0;
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
	if (init_sweeper(bpf_program__fd(skel->progs.sharenat_init))) {
		sharenat_bpf__destroy(skel);
		unpin_all(sn);
		return fail(err, "load", "cannot give the expiry sweeper its "
			    "timer");
	}
	bpf_object__for_each_program(prog, skel->obj) {
		/* Run once, above; the timer holds it, nothing attaches it. */
		if (prog == skel->progs.sharenat_init)
			continue;
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
	/* libbpf passes on the kernel's netlink extack text at warning
	 * level, also when the caller expects the failure (creating a
	 * clsact qdisc that exists: "Exclusivity flag on"). A real failure
	 * is the caller's one error line; the extra line broke that. */
	if (strstr(fmt, "Kernel error message") &&
	    !getenv("LIBBPF_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * The writer mark: a directory WRITER_MARK in the pin directory, made by
 * every open that may write and removed by its close. Operations write
 * several maps one after the other (a sandbox entry, then its id); a
 * process killed between two writes leaves the mark behind, and the next
 * open, which holds the lock, finds it and repairs the state before anyone
 * reads or changes it. A directory because bpffs holds no plain files
 * (and no name with a '.'); no map or program name has a '-'. mkdir and
 * rmdir cost a few microseconds, off the operation's own timing.
 */
#define WRITER_MARK "writer-mark"

static void mark_path(const struct sharenat *sn, char *buf, size_t len)
{
	pin_path(sn, WRITER_MARK, buf, len);
}

static void unmark(struct sharenat *sn)
{
	char path[PIN_PATH_MAX];

	if (!sn->marked)
		return;
	mark_path(sn, path, sizeof(path));
	rmdir(path);
	sn->marked = false;
}

struct repair {
	struct sharenat *sn;
	struct vec stale;		/* index entries without their object */
	struct vec orphans;		/* objects without their index entry */
};

static void name_key_of(const char *name, struct name_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->name, name, strnlen(name, sizeof(key->name) - 1));
}

/* sandbox_ids: id -> address whose sandbox has another id, or none. */
static int stale_sandbox_id(const void *key, const void *value, void *ctx)
{
	const struct name_key *id = key;
	struct repair *r = ctx;
	struct sandbox sbx;

	if (bpf_map_lookup_elem(r->sn->sandboxes_fd, value, &sbx) ||
	    strncmp(sbx.id, id->name, sizeof(sbx.id)))
		return vec_push(&r->stale, key);
	return 0;
}

/* sandboxes: a sandbox whose id does not name it: a half-made add or a
 * half-done del. Either way it goes (an add never reported success). */
static int orphan_sandbox(const void *key, const void *value, void *ctx)
{
	const struct sandbox *sbx = value;
	struct repair *r = ctx;
	struct name_key id;
	__be32 addr;

	name_key_of(sbx->id, &id);
	if (bpf_map_lookup_elem(r->sn->sandbox_ids_fd, &id, &addr) ||
	    addr != *(const __be32 *)key)
		return vec_push(&r->orphans, sbx);
	return 0;
}

/* The device at ifindex is still the one the sandbox was added on (same
 * MAC), so a filter may be put on or taken off it. */
static bool same_device(struct sharenat *sn, const struct sandbox *sbx)
{
	return netdev_still(sn, sbx->ifindex, NULL, sbx->host_mac);
}

/* The egress programs of a device that should have them (hook: the XDP
 * one too), put back where lost. */
static void programs_put_back(struct sharenat *sn, __u32 ifindex, __u8 hook)
{
	if (!tc_present((int)ifindex))
		tc_attach(sn, (int)ifindex, sn->egress_prog_fd, "repair", NULL);
	if (hook == NAT_HOOK_XDP &&
	    !xdp_present((int)ifindex, sn->xdp_egress_prog_fd))
		xdp_attach((int)ifindex, sn->xdp_egress_prog_fd, "repair",
			   NULL);
}

/* Every sandbox left has its programs and, on a tap, its devmap slot: an
 * add killed before its tc (or XDP) attach, or a del killed after its
 * detach, leaves a sandbox in both maps whose device no longer
 * translates (or no longer takes XDP egress's fast path). */
static int complete_sandbox(const void *key, const void *value, void *ctx)
{
	const struct sandbox *sbx = value;
	struct repair *r = ctx;
	__u32 ifindex = sbx->ifindex;

	(void)key;
	if (!same_device(r->sn, sbx))
		return 0;
	programs_put_back(r->sn, ifindex, sbx->hook);
	if (sbx->xdp_frames)
		bpf_map_update_elem(r->sn->xdp_devices_fd, &ifindex, &ifindex,
				    BPF_ANY);
	return 0;
}

struct device_check {
	struct sharenat *sn;
	struct vec gone;		/* devices gone, or another's index now */
};

/* A prepared device has its programs (a device add or del killed midway
 * may have left them off), or its entry goes with the device. */
static int check_device(const void *key, const void *value, void *ctx)
{
	const struct sandbox_device *dev = value;
	struct device_check *check = ctx;
	struct sharenat *sn = check->sn;
	__u32 ifindex = *(const __u32 *)key;

	if (!netdev_still(sn, ifindex, dev->name, dev->mac))
		return vec_push(&check->gone, key);
	programs_put_back(sn, ifindex, dev->hook);
	return 0;
}

static void devices_repair(struct sharenat *sn)
{
	struct device_check check = { sn, { .size = sizeof(__u32) } };

	map_for_each(sn->sandbox_devices_fd, sizeof(__u32),
		     sizeof(struct sandbox_device), check_device, &check);
	map_delete_keys(sn->sandbox_devices_fd, &check.gone);
	vec_free(&check.gone);
}

static bool is_sandbox(struct sharenat *sn, __be32 addr)
{
	struct sandbox sbx;

	return !bpf_map_lookup_elem(sn->sandboxes_fd, &addr, &sbx);
}

static bool flow_sandbox_gone(const struct flow_key *key,
			      const struct flow *flow, const void *ctx)
{
	(void)flow;
	return !is_sandbox((struct sharenat *)ctx, key->src_addr);
}

/* Reply keys left alone by a del killed between a flow's deletes. */
static int reply_sandbox_gone(const void *key, const void *value, void *ctx)
{
	const struct mapping_key *owner = value;
	struct repair *r = ctx;

	(void)key;
	if (!is_sandbox(r->sn, owner->sandbox_addr))
		return vec_push(&r->stale, key);
	return 0;
}

static int mapping_sandbox_gone(const void *key, const void *value, void *ctx)
{
	struct repair *r = ctx;

	(void)value;
	if (!is_sandbox(r->sn, ((const struct mapping_key *)key)->sandbox_addr))
		return vec_push(&r->stale, key);
	return 0;
}

static int port_sandbox_gone(const void *key, const void *value, void *ctx)
{
	const struct port_hold *hold = value;
	struct repair *r = ctx;

	if (!is_sandbox(r->sn, hold->owner.sandbox_addr))
		return vec_push(&r->stale, key);
	return 0;
}

static void repair_sandboxes(struct repair *r)
{
	struct sharenat *sn = r->sn;
	size_t i;

	r->stale.size = sizeof(struct name_key);
	map_for_each(sn->sandbox_ids_fd, sizeof(struct name_key),
		     sizeof(__be32), stale_sandbox_id, r);
	map_delete_keys(sn->sandbox_ids_fd, &r->stale);

	r->orphans.size = sizeof(struct sandbox);
	map_for_each(sn->sandboxes_fd, sizeof(__be32), sizeof(struct sandbox),
		     orphan_sandbox, r);
	for (i = 0; i < r->orphans.count; i++) {
		const struct sandbox *sbx = (const struct sandbox *)
			(r->orphans.items + i * sizeof(struct sandbox));
		__u32 ifindex = sbx->ifindex;

		bpf_map_delete_elem(sn->sandboxes_fd, &sbx->addr);
		if (!device_has_sandbox(sn, ifindex, 0) &&
		    same_device(sn, sbx) &&
		    !device_prepared(sn, ifindex, NULL)) {
			if (sbx->hook == NAT_HOOK_XDP)
				xdp_detach((int)ifindex, sn->xdp_egress_prog_fd,
					   "repair", NULL);
			tc_detach((int)ifindex, "repair", NULL);
			bpf_map_delete_elem(sn->xdp_devices_fd, &ifindex);
		}
	}
	vec_free(&r->orphans);
	map_for_each(sn->sandboxes_fd, sizeof(__be32), sizeof(struct sandbox),
		     complete_sandbox, r);
	devices_repair(sn);

	/* Flows, mappings and ports of sandboxes that are gone. */
	flows_delete_matching(sn, flow_sandbox_gone, sn);
	r->stale.size = sizeof(struct reply_key);
	map_for_each(sn->replies_fd, sizeof(struct reply_key),
		     sizeof(struct mapping_key), reply_sandbox_gone, r);
	map_delete_keys(sn->replies_fd, &r->stale);
	r->stale.size = sizeof(struct mapping_key);
	map_for_each(sn->mappings_fd, sizeof(struct mapping_key),
		     sizeof(struct mapping), mapping_sandbox_gone, r);
	map_delete_keys(sn->mappings_fd, &r->stale);
	r->stale.size = sizeof(struct port_key);
	map_for_each(sn->ports_fd, sizeof(struct port_key),
		     sizeof(struct port_hold), port_sandbox_gone, r);
	map_delete_keys(sn->ports_fd, &r->stale);
}

/*
 * Functions and security groups: an object map (id -> value whose first
 * field is its name) and a name index (name -> id). An index entry
 * without its object goes; an object without its index entry is a
 * half-made add or half-done del: it goes too, unless something uses it
 * (then its index entry comes back).
 */
struct named_maps {
	int objects_fd;
	int index_fd;
	size_t value_size;
	bool (*in_use)(struct sharenat *sn, __u32 id);
};

struct named_repair {
	struct repair *r;
	const struct named_maps *maps;
	void *value;
};

static int stale_name(const void *key, const void *value, void *ctx)
{
	struct named_repair *nr = ctx;

	if (bpf_map_lookup_elem(nr->maps->objects_fd, value, nr->value) ||
	    strncmp(nr->value, ((const struct name_key *)key)->name,
		    SHARENAT_NAME_MAX))
		return vec_push(&nr->r->stale, key);
	return 0;
}

static int orphan_object(const void *key, const void *value, void *ctx)
{
	struct named_repair *nr = ctx;
	struct name_key name;
	__u32 id;

	/* Both struct function and struct security_group start with
	 * their name. */
	name_key_of(value, &name);
	if (bpf_map_lookup_elem(nr->maps->index_fd, &name, &id) ||
	    id != *(const __u32 *)key)
		return vec_push(&nr->r->orphans, key);
	return 0;
}

static void repair_named(struct repair *r, const struct named_maps *maps)
{
	struct named_repair nr = { r, maps, malloc(maps->value_size) };
	size_t i;

	if (!nr.value)
		return;
	r->stale.size = sizeof(struct name_key);
	map_for_each(maps->index_fd, sizeof(struct name_key), sizeof(__u32),
		     stale_name, &nr);
	map_delete_keys(maps->index_fd, &r->stale);
	r->orphans.size = sizeof(__u32);
	map_for_each(maps->objects_fd, sizeof(__u32), maps->value_size,
		     orphan_object, &nr);
	for (i = 0; i < r->orphans.count; i++) {
		__u32 id = ((__u32 *)r->orphans.items)[i];
		struct name_key name;

		if (bpf_map_lookup_elem(maps->objects_fd, &id, nr.value))
			continue;
		name_key_of(nr.value, &name);
		if (maps->in_use(r->sn, id))
			bpf_map_update_elem(maps->index_fd, &name, &id,
					    BPF_ANY);
		else
			bpf_map_delete_elem(maps->objects_fd, &id);
	}
	vec_free(&r->orphans);
	free(nr.value);
}

static int sandbox_of_function(const struct sandbox *sbx, void *ctx)
{
	return sbx->function_id == *(const __u32 *)ctx;
}

static bool function_in_use(struct sharenat *sn, __u32 id)
{
	return sharenat_for_each_sandbox(sn, sandbox_of_function, &id) > 0;
}

static int function_of_group(const struct function *fn, void *ctx)
{
	return fn->security_group == *(const __u32 *)ctx;
}

static bool group_in_use(struct sharenat *sn, __u32 id)
{
	return sharenat_for_each_function(sn, function_of_group, &id) > 0;
}

/* Attachments are not repaired: attach and detach change the device
 * (addresses, arp_ignore, hooks) as much as the maps, and are not on the
 * path a fleet of sandboxes hammers. */
static void repair_state(struct sharenat *sn)
{
	struct repair r = { .sn = sn };
	const struct named_maps groups = {
		sn->security_groups_fd, sn->security_group_ids_fd,
		sizeof(struct security_group), group_in_use,
	};
	const struct named_maps functions = {
		sn->functions_fd, sn->function_ids_fd,
		sizeof(struct function), function_in_use,
	};

	repair_sandboxes(&r);
	repair_named(&r, &functions);
	repair_named(&r, &groups);
	counter_slots_rebuild(sn);
}

/* Under the lock: repair after a writer that died, then leave our own
 * mark if we may write. */
static int check_mark(struct sharenat *sn, enum sharenat_open_mode mode,
		      struct sharenat_error *err)
{
	char path[PIN_PATH_MAX];
	bool found;

	mark_path(sn, path, sizeof(path));
	found = access(path, F_OK) == 0;
	if (found)
		repair_state(sn);
	if (mode == SHARENAT_OPEN_READ) {
		if (found)
			rmdir(path);
		return 0;
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return fail_errno(err, "open state", errno, "cannot create %s",
				  path);
	sn->marked = true;
	return 0;
}

void pins_remove_all(struct sharenat *sn)
{
	unmark(sn);
	close_fds(sn);
	unpin_all(sn);
	rmdir(sn->pin_dir);
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
	sn->netlink_fd = -1;

	if (mode != SHARENAT_OPEN_CREATE && !sharenat_is_loaded(pin_dir)) {
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
	if (open_pins(sn, err) || check_mark(sn, mode, err))
		goto err_free;
	return sn;

err_free:
	/* What this open loaded goes again. */
	sharenat_close_failed(sn);
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
			     sizeof(struct security_group), any_entry, NULL) &&
	       !map_for_each(sn->sandbox_devices_fd, sizeof(__u32),
			     sizeof(struct sandbox_device), any_entry, NULL);
}

void sharenat_close_failed(struct sharenat *sn)
{
	if (sn && sn->loaded_now && holds_nothing(sn))
		pins_remove_all(sn);
	sharenat_close(sn);
}

void sharenat_unload_if_empty(struct sharenat *sn)
{
	if (!holds_nothing(sn))
		return;
	pins_remove_all(sn);
}

void sharenat_close(struct sharenat *sn)
{
	if (!sn)
		return;
	unmark(sn);
	close_fds(sn);
	if (sn->lock_fd >= 0)
		close(sn->lock_fd);
	if (sn->netlink_fd >= 0)
		close(sn->netlink_fd);
	free(sn);
}

int sharenat_netlink(struct sharenat *sn, const char *what,
		     struct sharenat_error *err)
{
	int fd;

	if (sn->netlink_fd >= 0)
		return sn->netlink_fd;
	fd = nl_open();
	if (fd < 0)
		return fail_errno(err, what, -fd, "cannot open a netlink "
				  "socket");
	sn->netlink_fd = fd;
	return fd;
}

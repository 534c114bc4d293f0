// SPDX-License-Identifier: GPL-2.0
/*
 * `sharenat bench attach N`: what attaching a sandbox costs, measured in
 * one run next to what it cost before sharenat.
 *
 * New way: through the library (no process per call), add N sandboxes to
 * one attachment, then remove them; each add is two map writes and, as
 * every sandbox has its own host-side device, one tc attach. Then again on
 * the same devices prepared first (device add), as a pool's taps would be:
 * the adds without their tc attach. Old way: give
 * each sandbox its own interface in the customer subnet, as a host did
 * before sharing one: create a link (a veth pair), bring it up, add an
 * address in the subnet, attach a tc program; then delete the link.
 *
 * Everything runs in the current network namespace on devices named
 * PREFIX..., which must not exist yet, and on a state of its own in a
 * private pin directory beside the configured one, so a running sharenat
 * never sees the benchmark. All of it is removed at the end, after a
 * failure and after SIGINT, SIGTERM or SIGHUP too; only SIGKILL leaves
 * devices PREFIX* and the pin directory PREFIX-bench behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/veth.h>

#include "clock.h"
#include "error.h"
#include "latency.h"
#include "netlink.h"
#include "state.h"
#include "tc.h"

#define WHAT "bench attach"

/* The customer subnet of the benchmark's attachment (RFC 2544's
 * benchmarking range, never routed): the shared address is .0.1, the
 * old way's interfaces take .0.2 onwards. */
#define BENCH_SUBNET 0xc6120000u	/* 198.18.0.0, host order */
#define BENCH_SUBNET_LEN 16
#define BENCH_FUNCTION "bench"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int bench_check_prefix(const char *prefix, struct sharenat_error *err)
{
	size_t len = strlen(prefix), i;

	if (len == 0 || len > BENCH_PREFIX_MAX)
		return fail(err, WHAT, "--dev-prefix must be 1-%d characters",
			    BENCH_PREFIX_MAX);
	for (i = 0; i < len; i++)
		if (!((prefix[i] >= 'a' && prefix[i] <= 'z') ||
		      (prefix[i] >= '0' && prefix[i] <= '9')))
			return fail(err, WHAT, "--dev-prefix '%s' may hold "
				    "only a-z and 0-9", prefix);
	return 0;
}

/* ---- rtnetlink: links and addresses ---------------------------------- */

/* A veth pair NAME/PEER, NAME up when asked. */
static int veth_add(int fd, const char *name, const char *peer, bool up)
{
	struct nl_request req = { 0 };
	struct ifinfomsg *ifi, peer_ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *peer_nest;

	ifi = nl_message(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
			 sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	nl_attr(&req, IFLA_IFNAME, name, strlen(name) + 1);
	info = nl_nest(&req, IFLA_LINKINFO);
	nl_attr(&req, IFLA_INFO_KIND, "veth", 4);
	data = nl_nest(&req, IFLA_INFO_DATA);
	peer_nest = nl_nest(&req, VETH_INFO_PEER);
	/* The peer stays down: veth refuses to open it before the pair
	 * is joined (ENOTCONN), and the old way's interface is one device,
	 * the peer only stands in for its wire. VETH_INFO_PEER holds an
	 * ifinfomsg, then the peer's attributes. */
	nl_append(&req, &peer_ifi, sizeof(peer_ifi));
	nl_attr(&req, IFLA_IFNAME, peer, strlen(peer) + 1);
	nl_nest_end(&req, peer_nest);
	nl_nest_end(&req, data);
	nl_nest_end(&req, info);
	return nl_send(fd, &req, NULL);
}

static int link_del(int fd, const char *name)
{
	struct nl_request req = { 0 };
	struct ifinfomsg *ifi;

	ifi = nl_message(&req, RTM_DELLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	nl_attr(&req, IFLA_IFNAME, name, strlen(name) + 1);
	return nl_send(fd, &req, NULL);
}

/* ADDR/LEN on the device, with its prefix route: an interface in the
 * customer subnet, as the old way made one per sandbox. */
static int addr_add(int fd, int ifindex, __be32 addr, unsigned char len)
{
	struct nl_request req = { 0 };
	struct ifaddrmsg *ifa;

	ifa = nl_message(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
			 sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = len;
	ifa->ifa_index = (unsigned int)ifindex;
	nl_attr(&req, IFA_LOCAL, &addr, sizeof(addr));
	nl_attr(&req, IFA_ADDRESS, &addr, sizeof(addr));
	return nl_send(fd, &req, NULL);
}

/* ---- the benchmark ------------------------------------------------------ */

enum bench_row {
	ROW_ATTACHMENT,		/* attachment set-up, once */
	ROW_ADD,		/* sandbox add, sharenat */
	ROW_DEL,		/* sandbox del, sharenat */
	ROW_ADD_PREPARED,	/* sandbox add on a prepared device */
	ROW_OLD_ADD,		/* per-sandbox interface, old way */
	ROW_OLD_DEL,		/* its removal */
	ROW_MAX,
};

static const char *const row_names[ROW_MAX] = {
	[ROW_ATTACHMENT] = "attachment set-up (sharenat)",
	[ROW_ADD] = "sandbox add (sharenat)",
	[ROW_DEL] = "sandbox del (sharenat)",
	[ROW_ADD_PREPARED] = "sandbox add, prepared device",
	[ROW_OLD_ADD] = "interface add (old way)",
	[ROW_OLD_DEL] = "interface del (old way)",
};

struct bench {
	const char *prefix;
	unsigned int count;
	int nl;
	struct sharenat *sn;
	char pin_dir[PIN_DIR_MAX];
	bool shared_made, attached, function_added;
	/* Per sandbox: its device pair made, added to sharenat, its old
	 * way interface made. */
	bool *sandbox_dev, *sandbox_added, *old_dev;
	__u64 *samples[ROW_MAX];
	unsigned int taken[ROW_MAX];
};

static void dev_of(const struct bench *b, char kind, unsigned int i,
		   char *buf)
{
	snprintf(buf, IF_NAMESIZE, "%s%c%u", b->prefix, kind, i);
}

static int check_interrupted(struct sharenat_error *err)
{
	return interrupted ? fail(err, WHAT, "interrupted") : 0;
}

/* Nothing named PREFIX* may exist: the benchmark deletes what it made by
 * name, and must never touch a device it did not make. */
static int check_unused(const struct bench *b, struct sharenat_error *err)
{
	struct if_nameindex *all = if_nameindex(), *it;
	size_t len = strlen(b->prefix);
	struct stat st;

	if (!all)
		return fail_errno(err, WHAT, errno, "cannot list devices");
	for (it = all; it->if_index; it++)
		if (!strncmp(it->if_name, b->prefix, len)) {
			fail(err, WHAT, "device %s exists already: choose "
			     "another --dev-prefix", it->if_name);
			if_freenameindex(all);
			return -1;
		}
	if_freenameindex(all);
	if (!stat(b->pin_dir, &st))
		return fail(err, WHAT, "%s exists already: choose another "
			    "--dev-prefix", b->pin_dir);
	return 0;
}

static void record(struct bench *b, enum bench_row row, __u64 start)
{
	b->samples[row][b->taken[row]++] = monotonic_ns() - start;
}

static int setup(struct bench *b, struct sharenat_error *err)
{
	struct sharenat_attach_spec attach = {
		.subnet_addr = htonl(BENCH_SUBNET),
		.subnet_mask = htonl(0xffffffffu << (32 - BENCH_SUBNET_LEN)),
		.shared_addrs = { htonl(BENCH_SUBNET + 1) },
		.shared_addr_count = 1,
		.port_lo = 1024,
		.port_hi = 65535,
		.hook_set = true,
		.hook = NAT_HOOK_TC,
	};
	struct sharenat_function_spec function = {
		.name = BENCH_FUNCTION,
		.subnet_count = 1,
	};
	char dev[IF_NAMESIZE], peer[IF_NAMESIZE];
	unsigned int i;
	__u64 start;
	int rc;

	dev_of(b, 'x', 0, dev);
	dev_of(b, 'y', 0, peer);
	rc = veth_add(b->nl, dev, peer, false);
	if (rc)
		return fail_errno(err, WHAT, rc, "cannot create %s", dev);
	b->shared_made = true;
	b->sn = sharenat_open(b->pin_dir, SHARENAT_OPEN_CREATE, err);
	if (!b->sn)
		return -1;
	attach.dev = dev;
	start = monotonic_ns();
	if (sharenat_attach(b->sn, &attach, err))
		return -1;
	record(b, ROW_ATTACHMENT, start);
	b->attached = true;
	function.subnets[0].subnet_addr = attach.subnet_addr;
	function.subnets[0].subnet_mask = attach.subnet_mask;
	function.subnets[0].dev = dev;
	if (sharenat_function_add(b->sn, &function, err))
		return -1;
	b->function_added = true;
	/* Each sandbox's own device exists in both worlds (a microVM's
	 * tap): made here, outside the measurement, and left down, which
	 * changes nothing for sharenat and spares the phase that follows
	 * the kernel's deferred work of bringing 2N devices up. */
	for (i = 0; i < b->count; i++) {
		if (check_interrupted(err))
			return -1;
		dev_of(b, 's', i, dev);
		dev_of(b, 't', i, peer);
		rc = veth_add(b->nl, dev, peer, false);
		if (rc)
			return fail_errno(err, WHAT, rc, "cannot create %s",
					  dev);
		b->sandbox_dev[i] = true;
	}
	return 0;
}

static void sandbox_id(unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "bench-%u", i);
}

/* One interface in the customer subnet: link, up, address, program. */
static int old_interface(struct bench *b, unsigned int i,
			 struct sharenat_error *err)
{
	char dev[IF_NAMESIZE], peer[IF_NAMESIZE];
	int rc, ifindex;

	dev_of(b, 'o', i, dev);
	dev_of(b, 'p', i, peer);
	rc = veth_add(b->nl, dev, peer, true);
	if (rc)
		return fail_errno(err, WHAT, rc, "cannot create %s", dev);
	b->old_dev[i] = true;
	ifindex = (int)if_nametoindex(dev);
	if (!ifindex)
		return fail_errno(err, WHAT, errno, "%s vanished", dev);
	rc = addr_add(b->nl, ifindex, htonl(BENCH_SUBNET + 2 + i),
		      BENCH_SUBNET_LEN);
	if (rc)
		return fail_errno(err, WHAT, rc, "cannot add an address to %s",
				  dev);
	return tc_attach(b->sn, ifindex, b->sn->egress_prog_fd, WHAT, err);
}

/* Work the kernel defers after a device change (uevents, linkwatch, the
 * RTNL lock it takes) would land in the next phase's first samples: give
 * it time to run first. */
static void settle(void)
{
	struct timespec pause = { 0, 500 * 1000 * 1000 };

	while (nanosleep(&pause, &pause) && errno == EINTR && !interrupted)
		;
}

/* Add the N sandboxes, each on its own device, each add timed in row. */
static int add_all(struct bench *b, enum bench_row row,
		   struct sharenat_error *err)
{
	struct sharenat_sandbox_spec spec = { .function = BENCH_FUNCTION };
	char dev[IF_NAMESIZE], id[SHARENAT_NAME_MAX];
	unsigned int i;
	__u64 start;

	spec.dev = dev;
	spec.id = id;
	for (i = 0; i < b->count; i++) {
		if (check_interrupted(err))
			return -1;
		dev_of(b, 's', i, dev);
		sandbox_id(i, id, sizeof(id));
		spec.addr = htonl(SHARENAT_POOL_ADDR + 1 + i);
		start = monotonic_ns();
		if (sharenat_sandbox_add(b->sn, &spec, err))
			return -1;
		record(b, row, start);
		b->sandbox_added[i] = true;
	}
	return 0;
}

static int run_new_way(struct bench *b, struct sharenat_error *err)
{
	char id[SHARENAT_NAME_MAX];
	unsigned int i;
	__u64 start;

	if (add_all(b, ROW_ADD, err))
		return -1;
	for (i = 0; i < b->count; i++) {
		if (check_interrupted(err))
			return -1;
		sandbox_id(i, id, sizeof(id));
		start = monotonic_ns();
		if (sharenat_sandbox_del(b->sn, id, err))
			return -1;
		record(b, ROW_DEL, start);
		b->sandbox_added[i] = false;
	}
	return 0;
}

/* The same devices made ready first, as a pool's are (device add, not
 * timed), then the sandbox adds on them, which take no tc attach. */
static int run_prepared(struct bench *b, struct sharenat_error *err)
{
	struct sharenat_device_spec device = { .hook = NAT_HOOK_TC };
	char dev[IF_NAMESIZE], id[SHARENAT_NAME_MAX];
	unsigned int i;

	device.dev = dev;
	for (i = 0; i < b->count; i++) {
		if (check_interrupted(err))
			return -1;
		dev_of(b, 's', i, dev);
		if (sharenat_device_add(b->sn, &device, err))
			return -1;
	}
	settle();
	if (add_all(b, ROW_ADD_PREPARED, err))
		return -1;
	for (i = 0; i < b->count; i++) {
		if (check_interrupted(err))
			return -1;
		dev_of(b, 's', i, dev);
		sandbox_id(i, id, sizeof(id));
		if (sharenat_sandbox_del(b->sn, id, err) ||
		    sharenat_device_del(b->sn, dev, err))
			return -1;
		b->sandbox_added[i] = false;
	}
	return 0;
}

static int run_old_way(struct bench *b, struct sharenat_error *err)
{
	char dev[IF_NAMESIZE];
	unsigned int i;
	__u64 start;
	int rc;

	for (i = 0; i < b->count; i++) {
		if (check_interrupted(err))
			return -1;
		start = monotonic_ns();
		if (old_interface(b, i, err))
			return -1;
		record(b, ROW_OLD_ADD, start);
	}
	for (i = 0; i < b->count; i++) {
		if (check_interrupted(err))
			return -1;
		dev_of(b, 'o', i, dev);
		start = monotonic_ns();
		rc = link_del(b->nl, dev);
		if (rc)
			return fail_errno(err, WHAT, rc, "cannot delete %s",
					  dev);
		record(b, ROW_OLD_DEL, start);
		b->old_dev[i] = false;
	}
	return 0;
}

/* Everything this run made, whatever state it got to; best effort, and
 * devices by the names it gave them only. */
static void cleanup(struct bench *b)
{
	char name[IF_NAMESIZE], id[SHARENAT_NAME_MAX];
	unsigned int i;

	for (i = 0; b->sn && i < b->count; i++)
		if (b->sandbox_added[i]) {
			sandbox_id(i, id, sizeof(id));
			sharenat_sandbox_del(b->sn, id, NULL);
		}
	if (b->function_added)
		sharenat_function_del(b->sn, BENCH_FUNCTION, NULL);
	if (b->attached) {
		dev_of(b, 'x', 0, name);
		sharenat_detach(b->sn, name, NULL);
	}
	for (i = 0; b->nl >= 0 && i < b->count; i++) {
		if (b->old_dev[i]) {
			dev_of(b, 'o', i, name);
			link_del(b->nl, name);
		}
		if (b->sandbox_dev[i]) {
			dev_of(b, 's', i, name);
			link_del(b->nl, name);
		}
	}
	if (b->shared_made) {
		dev_of(b, 'x', 0, name);
		link_del(b->nl, name);
	}
	/* The state is this run's alone and its devices are gone. */
	if (b->sn) {
		pins_remove_all(b->sn);
		sharenat_close(b->sn);
		b->sn = NULL;
	}
}

static int by_value(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least per_mille of them at
 * or below it. The samples are sorted. */
static double rank_us(const __u64 *sorted, unsigned int n,
		      unsigned int per_mille)
{
	unsigned long rank = ((unsigned long)n * per_mille + 999) / 1000;

	if (!n)
		return 0;
	if (!rank)
		rank = 1;
	return (double)sorted[rank - 1] / 1e3;
}

static void print_table(struct bench *b)
{
	double p99[ROW_MAX];
	unsigned int row, n;

	printf("bench attach: %u sandboxes, devices %s*, in this network "
	       "namespace\n", b->count, b->prefix);
	printf("%-30s %6s %10s %10s %10s %10s\n", "operation (us)", "count",
	       "p50", "p90", "p99", "max");
	for (row = 0; row < ROW_MAX; row++) {
		n = b->taken[row];

		qsort(b->samples[row], n, sizeof(__u64), by_value);
		p99[row] = rank_us(b->samples[row], n, 990);
		printf("%-30s %6u %10.1f %10.1f %10.1f %10.1f\n",
		       row_names[row], n, rank_us(b->samples[row], n, 500),
		       rank_us(b->samples[row], n, 900), p99[row],
		       n ? (double)b->samples[row][n - 1] / 1e3 : 0.0);
	}
	if (p99[ROW_ADD] > 0)
		printf("sandbox add p99 is %.1fx below the old way's "
		       "(%.1f us vs %.1f us)\n",
		       p99[ROW_OLD_ADD] / p99[ROW_ADD], p99[ROW_ADD],
		       p99[ROW_OLD_ADD]);
}

/* The benchmark's pin directory: PREFIX-bench beside the configured one,
 * on the same bpffs. */
static int private_pin_dir(struct bench *b, const char *pin_dir,
			   struct sharenat_error *err)
{
	char parent[PIN_DIR_MAX];
	char *slash;

	if (!pin_dir || !*pin_dir)
		pin_dir = SHARENAT_DEFAULT_PIN_DIR;
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (!slash)
		return fail(err, WHAT, "pin directory %s is not an absolute "
			    "path", pin_dir);
	*slash = '\0';
	if ((size_t)snprintf(b->pin_dir, sizeof(b->pin_dir), "%s/%s-bench",
			     parent, b->prefix) >= sizeof(b->pin_dir))
		return fail(err, WHAT, "pin directory path is too long");
	return 0;
}

int bench_attach(const char *pin_dir, unsigned int count, const char *prefix,
		 struct sharenat_error *err)
{
	struct sigaction action = { .sa_handler = on_signal }, old[3];
	static const int signals[3] = { SIGINT, SIGTERM, SIGHUP };
	struct bench b = { .prefix = prefix, .count = count, .nl = -1 };
	unsigned int i;
	int rc = -1;

	if (private_pin_dir(&b, pin_dir, err) || check_unused(&b, err))
		return -1;
	b.nl = nl_open();
	if (b.nl < 0) {
		fail_errno(err, WHAT, -b.nl, "netlink socket");
		goto out;
	}
	b.sandbox_dev = calloc(count, sizeof(bool));
	b.sandbox_added = calloc(count, sizeof(bool));
	b.old_dev = calloc(count, sizeof(bool));
	if (!b.sandbox_dev || !b.sandbox_added || !b.old_dev)
		goto out_nomem;
	for (i = 0; i < ROW_MAX; i++) {
		b.samples[i] = calloc(count, sizeof(__u64));
		if (!b.samples[i])
			goto out_nomem;
	}
	/* No SA_RESTART: a signal ends the run at the next step, and the
	 * cleanup still runs. */
	sigemptyset(&action.sa_mask);
	interrupted = 0;
	for (i = 0; i < 3; i++)
		sigaction(signals[i], &action, &old[i]);
	if (!setup(&b, err)) {
		settle();
		if (!run_new_way(&b, err) && !run_prepared(&b, err)) {
			settle();
			if (!run_old_way(&b, err))
				rc = 0;
		}
	}
	cleanup(&b);
	for (i = 0; i < 3; i++)
		sigaction(signals[i], &old[i], NULL);
	if (!rc)
		print_table(&b);
	goto out;
out_nomem:
	fail_errno(err, WHAT, ENOMEM, "cannot start");
out:
	if (b.nl >= 0)
		close(b.nl);
	for (i = 0; i < ROW_MAX; i++)
		free(b.samples[i]);
	free(b.sandbox_dev);
	free(b.sandbox_added);
	free(b.old_dev);
	return rc;
}

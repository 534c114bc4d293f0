// SPDX-License-Identifier: GPL-2.0
/*
 * ns/packet through BPF_PROG_TEST_RUN (`prog`) and the flow table at 1M
 * flows (`table`), on sharenat's real skeleton loaded unpinned (as
 * tests/unit/bpf_fixture.c loads it) beside the floor programs of
 * bench.bpf.c.
 *
 * .repeat runs a program again and again on one buffer, so the NAT would
 * see its own output from the second run on. sharenat is therefore run
 * behind restore_tc/restore_xdp, which write the original headers back
 * (or a fresh 5-tuple, for new flows) and tail-call it; the same wrapper
 * with an empty slot (restore only) is measured too and subtracted:
 *   sharenat ns/packet = t(restore + sharenat) - t(restore only).
 * The floor programs are idempotent and run directly.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "sharenat.h"
#include "sharenat.skel.h"
#include "state.h"
#include "bench.skel.h"

#define TEST_IFINDEX 1		/* a test run's skb comes in on lo */
#define FUNCTION_ID 1
#define SBX_BASE 0x64400001u	/* 100.64.0.1 */
#define SHARED_ADDR "10.0.1.5"
#define SERVER_ADDR "10.0.1.10"
#define SANDBOX_PORT 40000
#define SERVER_PORT 5201

enum vary { VARY_NONE, VARY_SOURCE, VARY_REMOTE };

static const uint8_t mac_sbx[6] = { 0x02, 0x5b, 0, 0, 0, 1 };
static const uint8_t mac_host[6] = { 0x02, 0x40, 0, 0, 0, 1 };
static const uint8_t mac_shared[6] = { 0x02, 0xe0, 0, 0, 0, 5 };
static const uint8_t mac_customer[6] = { 0x02, 0xc0, 0, 0, 0, 0x0a };

struct env {
	struct sharenat_bpf *sn;
	struct bench_bpf *b;
};

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (level > LIBBPF_WARN && !getenv("LIBBPF_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void put(struct bpf_map *map, const void *key, const void *value)
{
	if (bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY))
		die("writing map %s: %s", bpf_map__name(map),
		    strerror(errno));
}

static struct sandbox sandbox_at(uint32_t addr_host_order)
{
	struct sandbox sbx;

	memset(&sbx, 0, sizeof(sbx));
	snprintf(sbx.id, sizeof(sbx.id), "b%u", addr_host_order & 0xffff);
	sbx.function_id = FUNCTION_ID;
	sbx.ifindex = TEST_IFINDEX;
	sbx.addr = htonl(addr_host_order);
	memcpy(sbx.host_mac, mac_host, 6);
	return sbx;
}

/* sharenat's skeleton, private maps, the configuration of the unit tests
 * (attachment on ifindex 1 with shared address 10.0.1.5, function 1,
 * sandboxes 100.64.0.1..) but subnet `subnet` and room for `flow_entries`
 * flows when nonzero. */
static void env_load(struct env *e, const char *subnet, unsigned int prefix,
		     __u32 flow_entries, unsigned int sandboxes)
{
	struct attachment att = { 0 };
	struct function fn = { 0 };
	struct bpf_map *map;
	__u32 mask = prefix ? htonl(~0u << (32 - prefix)) : 0, i;

	libbpf_set_print(quiet_libbpf);
	e->sn = sharenat_bpf__open();
	if (!e->sn)
		die("opening sharenat's BPF object: %s", strerror(errno));
	bpf_object__for_each_map(map, e->sn->obj)
		if (bpf_map__set_pin_path(map, NULL))
			die("unpinning map %s", bpf_map__name(map));
	/* A ticket per flow and the sweeper's headroom, as the maps have
	 * it. */
	if (flow_entries &&
	    (bpf_map__set_max_entries(e->sn->maps.flows, flow_entries) ||
	     bpf_map__set_max_entries(e->sn->maps.expiry_queue,
				      SHARENAT_EXPIRY_QUEUE_ROOM(flow_entries))))
		die("sizing maps flows and expiry_queue");
	if (flow_entries)
		e->sn->rodata->expiry_queue_room =
			SHARENAT_EXPIRY_QUEUE_ROOM(flow_entries);
	if (sharenat_bpf__load(e->sn))
		die("loading sharenat's BPF programs: %s (root, BTF?)",
		    strerror(errno));
	/* As the loader does: the expiry sweeper runs as in production. */
	if (init_sweeper(bpf_program__fd(e->sn->progs.sharenat_init)))
		die("starting the expiry sweeper: %s", strerror(errno));

	e->b = bench_bpf__open();
	if (!e->b)
		die("opening the bench BPF object: %s", strerror(errno));
	memcpy((void *)e->b->rodata->floor_src, mac_host, 6);
	memcpy((void *)e->b->rodata->floor_dst, mac_customer, 6);
	if (bench_bpf__load(e->b))
		die("loading the bench BPF programs: %s", strerror(errno));

	att.ifindex = TEST_IFINDEX;
	att.subnet_addr = parse_addr(subnet);
	att.subnet_mask = mask;
	att.shared_addrs[0] = parse_addr(SHARED_ADDR);
	att.shared_addr_count = 1;
	att.port_lo = 1024;
	att.port_hi = 65535;
	att.mapping = MAPPING_INDEPENDENT;
	put(e->sn->maps.attachments, &att.ifindex, &att);

	snprintf(fn.name, sizeof(fn.name), "bench");
	fn.subnets[0].subnet_addr = att.subnet_addr;
	fn.subnets[0].subnet_mask = mask;
	fn.subnets[0].attachment = TEST_IFINDEX;
	fn.subnet_count = 1;
	fn.id = FUNCTION_ID;
	fn.port_quota = 65535;
	put(e->sn->maps.functions, &fn.id, &fn);

	for (i = 0; i < sandboxes; i++) {
		struct sandbox sbx = sandbox_at(SBX_BASE + i);

		put(e->sn->maps.sandboxes, &sbx.addr, &sbx);
	}
}

static void env_free(struct env *e)
{
	bench_bpf__destroy(e->b);
	sharenat_bpf__destroy(e->sn);
}

static void set_target(struct env *e, bool xdp, int prog_fd)
{
	int fd = bpf_map__fd(xdp ? e->b->maps.xdp_target : e->b->maps.tc_target);
	__u32 slot = 0;

	if (prog_fd < 0) {
		bpf_map_delete_elem(fd, &slot);
		return;
	}
	if (bpf_map_update_elem(fd, &slot, &prog_fd, BPF_ANY))
		die("putting the program under test in the tail-call slot: %s",
		    strerror(errno));
}

static void set_restore(struct env *e, const uint8_t *frame, enum vary vary,
			__u32 addr_base, __u32 port_base, __u32 port_count)
{
	memcpy(e->b->bss->restore_hdr, frame, HDR_LEN);
	e->b->bss->restore_vary = vary;
	e->b->bss->restore_seq = 0;
	e->b->bss->vary_addr_base = addr_base;
	e->b->bss->vary_port_base = port_base;
	e->b->bss->vary_port_count = port_count;
	e->b->bss->vary_limit = 0;
}

struct result {
	/* ns per run, median over the rounds: the kernel's own figure
	 * (opts.duration: the loop alone, time given to other tasks left
	 * out), and wall clock over the whole call (which for XDP includes
	 * swapping the XDP dispatcher in and out, milliseconds per call). */
	double median, kernel, wall;
	__u64 runs;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* `rounds` calls of `repeat` runs each, after one warm-up call; every
 * run must return `want`. */
static struct result measure(int prog_fd, const uint8_t *frame, int repeat,
			     int rounds, __u32 want, const char *what)
{
	double wall[64], kern[64];
	struct result r = { 0 };
	uint8_t out[FRAME_LEN + 64];
	int i;

	if (rounds > 64)
		rounds = 64;
	for (i = -1; i < rounds; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts);
		uint64_t t0, t1;

		opts.data_in = frame;
		opts.data_size_in = FRAME_LEN;
		opts.data_out = out;
		opts.data_size_out = sizeof(out);
		opts.repeat = repeat;
		t0 = now_ns();
		if (bpf_prog_test_run_opts(prog_fd, &opts))
			die("BPF_PROG_TEST_RUN (%s): %s", what,
			    strerror(errno));
		t1 = now_ns();
		if (opts.retval != want)
			die("%s: verdict %u, want %u: not the path to measure",
			    what, opts.retval, want);
		if (i < 0)
			continue;
		wall[i] = (double)(t1 - t0) / repeat;
		kern[i] = opts.duration;
		r.runs += (__u64)repeat;
	}
	qsort(wall, (size_t)rounds, sizeof(double), cmp_double);
	qsort(kern, (size_t)rounds, sizeof(double), cmp_double);
	r.wall = wall[rounds / 2];
	r.kernel = kern[rounds / 2];
	r.median = r.kernel;
	return r;
}

static __u64 counter_sum(struct env *e, enum counter which)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 values[MAX_CPUS] = { 0 }, sum = 0;
	__u32 key = which;
	int i;

	if (cpus > MAX_CPUS ||
	    bpf_map_lookup_elem(bpf_map__fd(e->sn->maps.counters), &key,
				values))
		die("reading counter %d", which);
	for (i = 0; i < cpus; i++)
		sum += values[i];
	return sum;
}

static void print_result(const char *name, struct result with,
			 struct result restore, struct result floor)
{
	double net = with.median - restore.median;

	printf("%s_ns=%.0f %s_floor_ns=%.0f %s_ratio=%.1f %s_restore_ns=%.0f "
	       "%s_raw_ns=%.0f %s_wall_ns=%.1f %s_floor_wall_ns=%.1f\n",
	       name, net, name, floor.median, name, net / floor.median, name,
	       restore.median, name, with.median, name, with.wall, name,
	       floor.wall);
}

/* A host of the attachment's subnet, as XDP ingress learns it from its
 * ARP: just now. */
static void put_fresh_neighbour(struct env *e, __be32 addr)
{
	struct neighbour_key key = { .ifindex = TEST_IFINDEX, .addr = addr };
	struct neighbour_macs value = { 0 };
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	memcpy(value.mac, mac_customer, 6);
	memcpy(value.device_mac, mac_shared, 6);
	value.learned_ns = (__u64)now.tv_sec * 1000000000ull +
			   (__u64)now.tv_nsec;
	put(e->sn->maps.neighbours, &key, &value);
}

/* A program under test behind the restore wrapper of its hook: the
 * wrapper alone first (its tail-call slot empty), then with prog_fd in the
 * slot, whose every run must return want. */
static void measure_behind_restore(struct env *e, bool xdp, int prog_fd,
				   const uint8_t *frame, int repeat,
				   int rounds, __u32 want, const char *what,
				   struct result *restore,
				   struct result *with)
{
	int wrapper = bpf_program__fd(xdp ? e->b->progs.restore_xdp :
					    e->b->progs.restore_tc);

	set_target(e, xdp, -1);
	*restore = measure(wrapper, frame, repeat, rounds,
			   xdp ? XDP_PASS : TC_ACT_OK, "restore only");
	set_target(e, xdp, prog_fd);
	*with = measure(wrapper, frame, repeat, rounds, want, what);
}

static void run_once(int prog_fd, const uint8_t *frame, __u32 want,
		     const char *what)
{
	struct result r = measure(prog_fd, frame, 1, 1, want, what);

	(void)r;
}

int cmd_prog(int argc, char **argv)
{
	int repeat = (int)opt_num(argc, argv, "--repeat", 100000);
	int rounds = (int)opt_num(argc, argv, "--rounds", 11);
	int new_repeat = (int)opt_num(argc, argv, "--new-repeat", 2000);
	uint8_t egress[FRAME_LEN], ingress[FRAME_LEN];
	struct result floor_tc, floor_xdp, restore, with;
	struct flow_key key = { 0 };
	struct flow flow;
	struct sandbox sbx;
	struct env e;
	__u64 before, created;
	__u32 one = TEST_IFINDEX;
	int egress_fd, ingress_fd, xdp_fd, xdp_egress_fd, restore_tc;

	if ((new_repeat + 0ull) * (rounds + 1) > 30000)
		die("--new-repeat x (rounds + 1) must stay below 30000 flows");
	pin_cpu((int)opt_num(argc, argv, "--cpu", 0));
	env_load(&e, "10.0.1.0", 24, 0, 1);
	egress_fd = bpf_program__fd(e.sn->progs.sharenat_egress);
	ingress_fd = bpf_program__fd(e.sn->progs.sharenat_ingress);
	xdp_fd = bpf_program__fd(e.sn->progs.sharenat_xdp_ingress);
	xdp_egress_fd = bpf_program__fd(e.sn->progs.sharenat_xdp_egress);
	restore_tc = bpf_program__fd(e.b->progs.restore_tc);

	build_udp(egress, mac_host, mac_sbx, htonl(SBX_BASE),
		  parse_addr(SERVER_ADDR), SANDBOX_PORT, SERVER_PORT, 64);
	floor_tc = measure(bpf_program__fd(e.b->progs.floor_tc), egress,
			   repeat, rounds, TC_ACT_OK, "floor_tc");
	floor_xdp = measure(bpf_program__fd(e.b->progs.floor_xdp), egress,
			    repeat, rounds, XDP_TX, "floor_xdp");

	/* Established egress: the flow exists after one run. */
	run_once(egress_fd, egress, TC_ACT_REDIRECT, "egress, first packet");
	set_restore(&e, egress, VARY_NONE, 0, 0, 0);
	before = counter_sum(&e, COUNTER_FLOW_CREATED);
	measure_behind_restore(&e, false, egress_fd, egress, repeat, rounds,
			       TC_ACT_REDIRECT, "established egress", &restore,
			       &with);
	if (counter_sum(&e, COUNTER_FLOW_CREATED) != before)
		die("established egress made new flows");
	print_result("egress", with, restore, floor_tc);

	/* Established egress at XDP (sandbox add --mode xdp): the shared
	 * device in the devmap, the server's MACs heard from its ARP. */
	put(e.sn->maps.xdp_devices, &one, &one);
	put_fresh_neighbour(&e, parse_addr(SERVER_ADDR));
	set_restore(&e, egress, VARY_NONE, 0, 0, 0);
	before = counter_sum(&e, COUNTER_EGRESS_XDP_FAST_PATH);
	measure_behind_restore(&e, true, xdp_egress_fd, egress, repeat, rounds,
			       XDP_REDIRECT, "established egress (XDP)",
			       &restore, &with);
	if (counter_sum(&e, COUNTER_EGRESS_XDP_FAST_PATH) == before)
		die("established egress at XDP left every packet to tc");
	print_result("xdp_egress", with, restore, floor_xdp);

	/* Established ingress (tc): the server's reply to the shared port. */
	key.src_addr = htonl(SBX_BASE);
	key.dst_addr = parse_addr(SERVER_ADDR);
	key.src_port = htons(SANDBOX_PORT);
	key.dst_port = htons(SERVER_PORT);
	key.proto = IPPROTO_UDP;
	if (bpf_map_lookup_elem(bpf_map__fd(e.sn->maps.flows), &key, &flow))
		die("the flow of the first packet is not in map flows");
	build_udp(ingress, mac_shared, mac_customer, parse_addr(SERVER_ADDR),
		  flow.nat_addr, SERVER_PORT, ntohs(flow.nat_port), 64);
	set_restore(&e, ingress, VARY_NONE, 0, 0, 0);
	measure_behind_restore(&e, false, ingress_fd, ingress, repeat, rounds,
			       TC_ACT_REDIRECT, "established ingress",
			       &restore, &with);
	print_result("ingress", with, restore, floor_tc);

	/* Established ingress at XDP, to a sandbox that takes XDP frames (a
	 * tap): translated and redirected through the devmap. */
	if (bpf_map_lookup_elem(bpf_map__fd(e.sn->maps.sandboxes), &key.src_addr,
				&sbx))
		die("sandbox 100.64.0.1 is gone");
	sbx.xdp_frames = 1;
	put(e.sn->maps.sandboxes, &sbx.addr, &sbx);
	put(e.sn->maps.xdp_devices, &one, &one);
	set_restore(&e, ingress, VARY_NONE, 0, 0, 0);
	measure_behind_restore(&e, true, xdp_fd, ingress, repeat, rounds,
			       XDP_REDIRECT, "established ingress (XDP)",
			       &restore, &with);
	print_result("xdp_ingress", with, restore, floor_xdp);
	sbx.xdp_frames = 0;
	put(e.sn->maps.sandboxes, &sbx.addr, &sbx);

	/* New flow: every run a sandbox port not seen before, so every run
	 * takes a shared port (mapping, port reservation), inserts the flow
	 * and queues its expiry ticket. */
	set_restore(&e, egress, VARY_SOURCE, SBX_BASE, 1024, 30000);
	set_target(&e, false, -1);
	restore = measure(restore_tc, egress, new_repeat, rounds, TC_ACT_OK,
			  "restore only (new tuple)");
	set_restore(&e, egress, VARY_SOURCE, SBX_BASE, 1024, 30000);
	set_target(&e, false, egress_fd);
	before = counter_sum(&e, COUNTER_FLOW_CREATED);
	with = measure(restore_tc, egress, new_repeat, rounds, TC_ACT_REDIRECT,
		       "new flow");
	created = counter_sum(&e, COUNTER_FLOW_CREATED) - before;
	if (created != (__u64)new_repeat * (rounds + 1))
		die("new flow: %llu flows made in %llu runs",
		    (unsigned long long)created,
		    (unsigned long long)new_repeat * (rounds + 1));
	print_result("new_flow", with, restore, floor_tc);
	printf("floor_tc_ns=%.1f floor_xdp_ns=%.1f repeat=%d rounds=%d "
	       "new_flow_runs=%llu\n", floor_tc.median, floor_xdp.median,
	       repeat, rounds, (unsigned long long)created);
	env_free(&e);
	return 0;
}

/* ---- the flow table at 1M flows ---- */

static unsigned long long fdinfo_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static long long meminfo_kb(const char *field)
{
	long long v = -1;
	char line[256];
	size_t len = strlen(field);
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			v = atoll(line + len + 1);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* The kernel's size of a struct, from its BTF; 0 if not there. */
static long kernel_struct_size(const struct btf *btf, const char *name)
{
	int id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT) : -1;

	return id > 0 ? (long)btf__resolve_size(btf, (__u32)id) : 0;
}

/* One call of `repeat` runs, no warm-up: for filling the table. */
static double fill_call(int prog_fd, const uint8_t *frame, int repeat,
			double *kernel_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint8_t out[FRAME_LEN + 64];
	uint64_t t0;

	opts.data_in = frame;
	opts.data_size_in = FRAME_LEN;
	opts.data_out = out;
	opts.data_size_out = sizeof(out);
	opts.repeat = repeat;
	t0 = now_ns();
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		die("BPF_PROG_TEST_RUN (filling the table): %s",
		    strerror(errno));
	if (opts.retval != TC_ACT_REDIRECT)
		die("filling the table: verdict %u, not translated (table "
		    "full?)", opts.retval);
	*kernel_ns = opts.duration;
	return (double)(now_ns() - t0);
}

/* table [--flows 1000000] [--rounds 5]
 * A copy of the skeleton whose flows map holds --flows flows, filled through the egress program itself: one sandbox endpoint to
 * --flows remotes (addresses 10.1.0.0/8.., ports 1024..), so each run is a
 * new flow. Then the established egress cost with the table full, on one
 * flow (cache-hot) and spread over all flows (each run another flow). */
int cmd_table(int argc, char **argv)
{
	__u32 flows = (__u32)opt_num(argc, argv, "--flows", 1000000);
	int rounds = (int)opt_num(argc, argv, "--rounds", 5);
	int repeat = (int)opt_num(argc, argv, "--repeat", 100000);
	const int chunk = 65536, ports = 50000;
	__u32 entries = flows + 65536, done = 0;
	struct result restore, hot_empty, hot_full, spread_restore, spread;
	double fill_ns = 0, fill_kernel = 0, first_rate = 0, last_rate = 0;
	uint8_t egress[FRAME_LEN];
	long long slab0, slab1;
	struct btf *vmlinux;
	struct env e;
	int egress_fd, restore_tc;
	__u64 created0, full0;
	long elem_head, bucket;
	unsigned long long memlock;

	pin_cpu((int)opt_num(argc, argv, "--cpu", 0));
	if (flows < 1000 || flows > 4000000)
		die("--flows must be 1000..4000000");
	env_load(&e, "10.0.0.0", 8, entries, 1);
	egress_fd = bpf_program__fd(e.sn->progs.sharenat_egress);
	restore_tc = bpf_program__fd(e.b->progs.restore_tc);
	build_udp(egress, mac_host, mac_sbx, htonl(SBX_BASE),
		  parse_addr(SERVER_ADDR), SANDBOX_PORT, SERVER_PORT, 64);

	/* Established egress, one flow in the table. */
	run_once(egress_fd, egress, TC_ACT_REDIRECT, "egress, first packet");
	set_restore(&e, egress, VARY_NONE, 0, 0, 0);
	set_target(&e, false, -1);
	restore = measure(restore_tc, egress, repeat, rounds, TC_ACT_OK,
			  "restore only");
	set_target(&e, false, egress_fd);
	hot_empty = measure(restore_tc, egress, repeat, rounds,
			    TC_ACT_REDIRECT, "established egress, 1 flow");

	/* Fill. */
	created0 = counter_sum(&e, COUNTER_FLOW_CREATED);
	full0 = counter_sum(&e, COUNTER_DROP_FLOW_TABLE_FULL);
	slab0 = meminfo_kb("SUnreclaim");
	set_restore(&e, egress, VARY_REMOTE, 0x0a010000u, 1024, ports);
	while (done < flows) {
		int n = (int)(flows - done < (__u32)chunk ? flows - done : chunk);
		double kernel, wall = fill_call(restore_tc, egress, n, &kernel);

		fill_ns += wall;
		fill_kernel += kernel * n;
		if (!done)
			first_rate = n / (wall / 1e9);
		last_rate = n / (wall / 1e9);
		done += (__u32)n;
	}
	slab1 = meminfo_kb("SUnreclaim");
	if (counter_sum(&e, COUNTER_FLOW_CREATED) - created0 != flows ||
	    counter_sum(&e, COUNTER_DROP_FLOW_TABLE_FULL) != full0)
		die("filling: %llu flows made of %u",
		    (unsigned long long)(counter_sum(&e, COUNTER_FLOW_CREATED) -
					 created0), flows);

	/* Established egress with the table full: the first flow again
	 * (cache-hot), then every run another of the flows. */
	set_restore(&e, egress, VARY_NONE, 0, 0, 0);
	hot_full = measure(restore_tc, egress, repeat, rounds,
			   TC_ACT_REDIRECT, "established egress, full table");
	created0 = counter_sum(&e, COUNTER_FLOW_CREATED);
	set_restore(&e, egress, VARY_REMOTE, 0x0a010000u, 1024, ports);
	e.b->bss->vary_limit = flows;
	set_target(&e, false, -1);
	spread_restore = measure(restore_tc, egress, repeat, rounds, TC_ACT_OK,
				 "restore only (spread)");
	set_restore(&e, egress, VARY_REMOTE, 0x0a010000u, 1024, ports);
	e.b->bss->vary_limit = flows;
	set_target(&e, false, egress_fd);
	spread = measure(restore_tc, egress, repeat, rounds, TC_ACT_REDIRECT,
			 "established egress, spread over the table");
	if (counter_sum(&e, COUNTER_FLOW_CREATED) != created0)
		die("lookups over the full table made new flows");

	/* Memory. */
	memlock = fdinfo_memlock(bpf_map__fd(e.sn->maps.flows));
	vmlinux = btf__load_vmlinux_btf();
	elem_head = kernel_struct_size(vmlinux, "htab_elem");
	bucket = kernel_struct_size(vmlinux, "bucket");
	btf__free(vmlinux);

	printf("table_flows=%u table_entries=%u fill_seconds=%.2f "
	       "insert_rate=%.0f insert_rate_first_chunk=%.0f "
	       "insert_rate_last_chunk=%.0f insert_kernel_ns=%.0f\n", flows,
	       entries, fill_ns / 1e9, flows / (fill_ns / 1e9), first_rate,
	       last_rate, fill_kernel / flows);
	printf("lookup_1flow_ns=%.0f lookup_full_hot_ns=%.0f "
	       "lookup_full_spread_ns=%.0f restore_ns=%.0f "
	       "spread_restore_ns=%.0f\n",
	       hot_empty.median - restore.median,
	       hot_full.median - restore.median,
	       spread.median - spread_restore.median, restore.median,
	       spread_restore.median);
	printf("flow_key_size=%u flow_value_size=%u htab_elem_head=%ld "
	       "bucket_size=%ld flows_memlock=%llu flows_max_entries=%u "
	       "map_bytes_per_flow=%.0f expiry_queue_bytes_per_flow=%.0f "
	       "slab_bytes_per_flow=%.0f\n",
	       bpf_map__key_size(e.sn->maps.flows),
	       bpf_map__value_size(e.sn->maps.flows), elem_head, bucket,
	       memlock, bpf_map__max_entries(e.sn->maps.flows),
	       (double)memlock / bpf_map__max_entries(e.sn->maps.flows),
	       (double)fdinfo_memlock(bpf_map__fd(e.sn->maps.expiry_queue)) /
	       bpf_map__max_entries(e.sn->maps.flows),
	       slab0 >= 0 && slab1 >= 0 ? (slab1 - slab0) * 1024.0 / flows : -1);
	printf("mapping_key_size=%u mapping_value_size=%u mappings_memlock=%llu "
	       "mappings_max_entries=%u port_key_size=%u port_value_size=%u "
	       "ports_memlock=%llu ports_max_entries=%u "
	       "port_hold_queue_memlock=%llu port_hold_queue_max_entries=%u\n",
	       bpf_map__key_size(e.sn->maps.mappings),
	       bpf_map__value_size(e.sn->maps.mappings),
	       fdinfo_memlock(bpf_map__fd(e.sn->maps.mappings)),
	       bpf_map__max_entries(e.sn->maps.mappings),
	       bpf_map__key_size(e.sn->maps.ports),
	       bpf_map__value_size(e.sn->maps.ports),
	       fdinfo_memlock(bpf_map__fd(e.sn->maps.ports)),
	       bpf_map__max_entries(e.sn->maps.ports),
	       fdinfo_memlock(bpf_map__fd(e.sn->maps.port_hold_queue)),
	       bpf_map__max_entries(e.sn->maps.port_hold_queue));
	env_free(&e);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's world: its own network namespace with veth devices, the
 * programs loaded through the unit tests' fixture (unpinned), a
 * configuration with three attachments (two customers on the same subnet,
 * one on another; independent and dependent mapping; small port ranges
 * that run out), four functions (with and without security groups, one
 * that denies everything, one with a small port quota), eight sandboxes on
 * three devices (one that takes XDP frames), the next hops XDP egress may
 * send to, and flows made by valid packets before the fuzzing starts.
 *
 * Timeouts are a day: no flow expires during a run, so every change of
 * the maps is a run's doing and flow_expired must stay 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fastpath.h"

#define DAY 86400

struct fz_device fz_devices[DEV_COUNT] = {
	[DEV_A] = { "lo", 1, 0, { 0x02, 0xe0, 0, 0, 0, 0x0a } },
	[DEV_B] = { "fzB", 0, 0, { 0x02, 0xe0, 0, 0, 0, 0x0b } },
	[DEV_C] = { "fzC", 0, 0, { 0x02, 0xe0, 0, 0, 0, 0x0c } },
	[DEV_SX1] = { "fzs1", 0, 0, { 0x02, 0x40, 0, 0, 0, 0x01 } },
	[DEV_SX2] = { "fzs2", 0, 0, { 0x02, 0x40, 0, 0, 0, 0x02 } },
	[DEV_TAP] = { "fzt", 0, 0, { 0x02, 0x40, 0, 0, 0, 0x03 } },
};

#define FN_OPEN 1	/* no security group: A and C */
#define FN_QUOTA 2	/* group "web", on B (dependent), port quota 6 */
#define FN_WEB 3	/* group "web", C then A */
#define FN_DENY 4	/* group with no rules: nothing is allowed */
#define FN_MISSING 9	/* a sandbox's function that does not exist */

const __u32 fz_function_ids[] = { FN_OPEN, FN_QUOTA, FN_WEB, FN_DENY,
				  FN_MISSING };
const unsigned int fz_function_count = ARRAY_SIZE(fz_function_ids);

const struct fz_sandbox fz_sandboxes[] = {
	{ "s1", ADDR(100, 64, 0, 1), FN_OPEN, DEV_SX1, false, false, {0} },
	{ "s2", ADDR(100, 64, 0, 2), FN_OPEN, DEV_SX1, false, false, {0} },
	{ "s3", ADDR(100, 64, 0, 3), FN_QUOTA, DEV_SX2, false, true,
	  { 0x02, 0x5b, 0, 0, 0, 0x03 } },
	{ "s4", ADDR(100, 64, 0, 4), FN_WEB, DEV_TAP, true, true,
	  { 0x02, 0x5b, 0, 0, 0, 0x04 } },
	{ "s5", ADDR(100, 64, 0, 5), FN_DENY, DEV_SX2, false, false, {0} },
	{ "s6", ADDR(100, 64, 0, 6), FN_OPEN, DEV_TAP, true, false, {0} },
	{ "s7", ADDR(100, 64, 0, 7), FN_MISSING, DEV_SX2, false, false, {0} },
	{ "s8", ADDR(100, 64, 0, 8), FN_QUOTA, DEV_SX1, false, false, {0} },
};
const unsigned int fz_sandbox_count = ARRAY_SIZE(fz_sandboxes);

struct fuzz_probe *fz_probe;
struct fz_flow *fz_flows;
unsigned int fz_flow_count;
#define FZ_FLOWS_MAX 8192

static struct attachment attachments[3];

/*
 * Leftovers, as a race between `sandbox del` and a packet could leave
 * them: a whole flow of a sandbox that is gone (100.64.0.77), and the
 * ingress half of a flow whose entry names s1 on the wrong device. Replies
 * to them must be dropped (drop_stale_flow), never delivered. The state
 * check leaves them out.
 */
#define GHOST ADDR(100, 64, 0, 77)
static struct flow_key ghost_keys[3];
static struct fz_flow ghost_moved;

/*
 * The next hops of XDP egress (bpf/neighbour.h), as XDP ingress would
 * have learned them from their ARP: fresh ones on A and C, which are in
 * xdp_devices, so their flows take the fast path; one on B, which is not
 * (attached for tc only); and some heard from too long ago. Every other
 * next hop (10.0.1.2, 10.0.2.10's neighbours, B's 10.0.1.11, ...) has no
 * entry. Both kinds of miss send the packet on to tc.
 */
static const struct planned_neighbour {
	enum fz_dev dev;
	uint32_t addr;
	bool fresh;
} next_hops[] = {
	{ DEV_A, ADDR(10, 0, 1, 10), true },
	{ DEV_A, ADDR(10, 0, 1, 1), true },	/* A's gateway */
	{ DEV_A, ADDR(10, 0, 1, 11), false },
	{ DEV_B, ADDR(10, 0, 1, 10), true },
	{ DEV_C, ADDR(10, 0, 2, 10), true },
	{ DEV_C, ADDR(10, 0, 2, 1), false },	/* C's gateway */
};

/* ---- the namespace ---- */

/* The MTU XDP egress checks a frame against (bpf_check_mtu): loopback's
 * is larger than any fuzz frame, a veth's is 1500. */
static int read_mtu(struct fz_device *d)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->name);
	err = ioctl(fd, SIOCGIFMTU, &ifr);
	close(fd);
	if (err)
		return -1;
	d->mtu = (__u32)ifr.ifr_mtu;
	return 0;
}

int world_netns(void)
{
	static const char *const pairs[][2] = {
		{ "fzB", "fzBp" }, { "fzC", "fzCp" }, { "fzs1", "fzs1p" },
		{ "fzs2", "fzs2p" }, { "fzt", "fztp" },
	};
	char cmd[256];
	unsigned int i;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "fuzz: unshare(CLONE_NEWNET): %s (needs root)\n",
			strerror(errno));
		return -1;
	}
	/* Up, so that held fragments a first fragment releases are sent
	 * back in (and stay in this namespace). */
	if (system("ip link set lo up")) {
		fprintf(stderr, "fuzz: 'ip link set lo up' failed\n");
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(pairs); i++) {
		snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name "
			 "%s && ip link set %s up && ip link set %s up",
			 pairs[i][0], pairs[i][1], pairs[i][0], pairs[i][1]);
		if (system(cmd)) {
			fprintf(stderr, "fuzz: '%s' failed\n", cmd);
			return -1;
		}
	}
	for (i = 0; i < DEV_COUNT; i++) {
		fz_devices[i].ifindex = if_nametoindex(fz_devices[i].name);
		if (!fz_devices[i].ifindex || read_mtu(&fz_devices[i])) {
			fprintf(stderr, "fuzz: no device %s, or no MTU\n",
				fz_devices[i].name);
			return -1;
		}
	}
	return 0;
}

/* ---- configuration ---- */

static struct flow_timeouts a_day(void)
{
	struct flow_timeouts t = { DAY, DAY, DAY, DAY };

	return t;
}

static void configure_attachments(void)
{
	struct attachment *a = &attachments[0], *b = &attachments[1],
			  *c = &attachments[2];
	unsigned int i;

	memset(attachments, 0, sizeof(attachments));
	/* A: the shared address the loader added, and one the user had. */
	a->ifindex = fz_devices[DEV_A].ifindex;
	a->subnet_addr = htonl(ADDR(10, 0, 1, 0));
	a->subnet_mask = htonl(0xffffff00);
	a->gateway_addr = htonl(ADDR(10, 0, 1, 1));
	a->shared_addrs[0] = htonl(ADDR(10, 0, 1, 5));
	a->shared_addrs[1] = htonl(ADDR(10, 0, 1, 6));
	a->shared_addr_count = 2;
	a->added_addrs = 0x1;
	a->port_lo = 1024;
	a->port_hi = 65535;
	a->mapping = MAPPING_INDEPENDENT;
	a->hook = NAT_HOOK_XDP;
	/* B: the same subnet and shared address as A, another customer;
	 * endpoint-dependent, 32 ports. */
	b->ifindex = fz_devices[DEV_B].ifindex;
	b->subnet_addr = htonl(ADDR(10, 0, 1, 0));
	b->subnet_mask = htonl(0xffffff00);
	b->shared_addrs[0] = htonl(ADDR(10, 0, 1, 5));
	b->shared_addr_count = 1;
	b->added_addrs = 0x1;
	b->port_lo = 20000;
	b->port_hi = 20031;
	b->mapping = MAPPING_DEPENDENT;
	b->hook = NAT_HOOK_TC;
	/* C: two shared addresses of 16 ports each, so one fills and the
	 * next takes over, then both run out; attached with --mode xdp, on
	 * a veth, whose MTU a large frame exceeds. */
	c->ifindex = fz_devices[DEV_C].ifindex;
	c->subnet_addr = htonl(ADDR(10, 0, 2, 0));
	c->subnet_mask = htonl(0xffffff00);
	c->gateway_addr = htonl(ADDR(10, 0, 2, 1));
	c->shared_addrs[0] = htonl(ADDR(10, 0, 2, 5));
	c->shared_addrs[1] = htonl(ADDR(10, 0, 2, 7));
	c->shared_addr_count = 2;
	c->added_addrs = 0x3;
	c->port_lo = 30000;
	c->port_hi = 30015;
	c->mapping = MAPPING_INDEPENDENT;
	c->hook = NAT_HOOK_XDP;
	for (i = 0; i < ARRAY_SIZE(attachments); i++) {
		__u32 ifindex = attachments[i].ifindex;

		attachments[i].timeouts = a_day();
		/* What XDP ingress records as a neighbour's device MAC. */
		memcpy(attachments[i].mac,
		       fz_devices[world_dev_of(ifindex)].mac, 6);
		put(skel->maps.attachments, &ifindex, &attachments[i]);
		/* Attached with --mode xdp: XDP egress may redirect there. */
		if (attachments[i].hook == NAT_HOOK_XDP)
			put(skel->maps.xdp_devices, &ifindex, &ifindex);
	}
}

static struct sg_rule rule(uint8_t proto, uint32_t addr, uint32_t mask,
			   uint16_t lo, uint16_t hi)
{
	struct sg_rule r;

	memset(&r, 0, sizeof(r));
	r.proto = proto;
	r.addr = htonl(addr);
	r.mask = htonl(mask);
	r.port_lo = lo;
	r.port_hi = hi;
	return r;
}

static void configure_groups(void)
{
	struct security_group web, none;

	memset(&web, 0, sizeof(web));
	snprintf(web.name, sizeof(web.name), "web");
	web.id = 1;
	web.rules[0] = rule(PROTO_TCP, ADDR(10, 0, 1, 0), 0xffffff00, 80, 443);
	web.rules[1] = rule(PROTO_UDP, ADDR(10, 0, 1, 10), 0xffffffff, 53, 53);
	web.rules[2] = rule(PROTO_ICMP, 0, 0, 0, 65535);
	web.rules[3] = rule(PROTO_TCP, ADDR(10, 0, 2, 0), 0xffffff00, 0, 65535);
	web.rules[4] = rule(0, ADDR(192, 168, 7, 7), 0xffffffff, 53, 53);
	web.rule_count = 5;
	put(skel->maps.security_groups, &web.id, &web);

	memset(&none, 0, sizeof(none));
	snprintf(none.name, sizeof(none.name), "none");
	none.id = 2;
	put(skel->maps.security_groups, &none.id, &none);
}

static void add_subnet(struct function *fn, uint32_t subnet, enum fz_dev dev)
{
	struct function_subnet *s = &fn->subnets[fn->subnet_count++];

	s->subnet_addr = htonl(subnet);
	s->subnet_mask = htonl(0xffffff00);
	s->attachment = fz_devices[dev].ifindex;
}

static void put_fn(__u32 id, const char *name, __u32 sg, __u32 quota,
		   uint32_t subnet1, enum fz_dev dev1, uint32_t subnet2,
		   enum fz_dev dev2)
{
	struct function fn;

	memset(&fn, 0, sizeof(fn));
	snprintf(fn.name, sizeof(fn.name), "%s", name);
	fn.id = id;
	fn.security_group = sg;
	fn.port_quota = quota;
	add_subnet(&fn, subnet1, dev1);
	if (subnet2)
		add_subnet(&fn, subnet2, dev2);
	put(skel->maps.functions, &fn.id, &fn);
}

static void configure_functions(void)
{
	put_fn(FN_OPEN, "open", 0, 0, ADDR(10, 0, 1, 0), DEV_A,
	       ADDR(10, 0, 2, 0), DEV_C);
	put_fn(FN_QUOTA, "quota", 1, 6, ADDR(10, 0, 1, 0), DEV_B, 0, DEV_A);
	put_fn(FN_WEB, "web", 1, 0, ADDR(10, 0, 2, 0), DEV_C,
	       ADDR(10, 0, 1, 0), DEV_A);
	put_fn(FN_DENY, "deny", 2, 0, ADDR(10, 0, 1, 0), DEV_A, 0, DEV_A);
}

static void configure_sandboxes(void)
{
	unsigned int i;

	for (i = 0; i < fz_sandbox_count; i++) {
		const struct fz_sandbox *s = &fz_sandboxes[i];
		const struct fz_device *d = &fz_devices[s->dev];
		struct sandbox sbx;

		memset(&sbx, 0, sizeof(sbx));
		snprintf(sbx.id, sizeof(sbx.id), "%s", s->id);
		sbx.function_id = s->function_id;
		sbx.ifindex = d->ifindex;
		sbx.addr = htonl(s->addr);
		memcpy(sbx.host_mac, d->mac, 6);
		if (s->static_mac) {
			memcpy(sbx.mac, s->mac, 6);
			sbx.mac_static = 1;
		}
		sbx.xdp_frames = s->xdp_frames;
		put(skel->maps.sandboxes, &sbx.addr, &sbx);
	}
	put(skel->maps.xdp_devices, &fz_devices[DEV_TAP].ifindex,
	    &fz_devices[DEV_TAP].ifindex);
}

/* bpf_ktime_get_coarse_ns's clock, which stamps neighbours. */
__u64 world_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

void world_refresh_neighbours(void)
{
	__u64 now = world_coarse_ns();
	unsigned int i;

	/* A stale entry is twice the freshness old (in unsigned arithmetic,
	 * as the program's, so even soon after boot). */
	for (i = 0; i < ARRAY_SIZE(next_hops); i++) {
		const struct planned_neighbour *n = &next_hops[i];
		struct neighbour_key key = {
			.ifindex = fz_devices[n->dev].ifindex,
			.addr = htonl(n->addr),
		};
		struct neighbour_macs macs = {
			.mac = { 0x02, 0xc0, 0, 0, (__u8)n->dev,
				 (__u8)n->addr },
			.learned_ns = n->fresh ? now :
				      now - 2 * FZ_NEIGHBOUR_FRESH_NS,
		};

		memcpy(macs.device_mac, fz_devices[n->dev].mac, 6);
		put(skel->maps.neighbours, &key, &macs);
	}
}

/* The probe shares the skeleton's maps: every one of bpf/maps.h, by name. */
static void load_probe(void)
{
	struct bpf_map *map, *skel_map;
	unsigned int i;
	int err;

	fz_probe = fuzz_probe__open();
	ck_assert_msg(fz_probe, "opening the probe: %s", strerror(errno));
	bpf_object__for_each_map(map, fz_probe->obj) {
		if (bpf_map__is_internal(map))
			continue;
		skel_map = bpf_object__find_map_by_name(skel->obj,
							bpf_map__name(map));
		ck_assert_msg(skel_map, "probe: the skeleton has no map %s",
			      bpf_map__name(map));
		err = bpf_map__set_pin_path(map, NULL);
		if (!err)
			err = bpf_map__reuse_fd(map, bpf_map__fd(skel_map));
		ck_assert_msg(!err, "probe: reusing map %s: %s",
			      bpf_map__name(map), strerror(-err));
	}
	fz_probe->rodata->nr_cpus = (__u32)libbpf_num_possible_cpus();
	ck_assert_uint_le(fz_probe->rodata->nr_cpus, PROBE_MAX_CPUS);
	fz_probe->rodata->sandbox_count = fz_sandbox_count;
	for (i = 0; i < fz_sandbox_count; i++)
		fz_probe->rodata->sandbox_addrs[i] =
			htonl(fz_sandboxes[i].addr);
	fz_probe->rodata->function_count = fz_function_count;
	for (i = 0; i < fz_function_count; i++)
		fz_probe->rodata->probe_function_ids[i] = fz_function_ids[i];
	err = fuzz_probe__load(fz_probe);
	ck_assert_msg(!err, "loading the probe failed: %s (it needs "
		      "bpf_map_sum_elem_count, Linux 6.6)", strerror(-err));
}

void probe_read(struct probe_snapshot *snap)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err = bpf_prog_test_run_opts(bpf_program__fd(fz_probe->progs.probe),
					 &opts);

	ck_assert_msg(!err, "running the probe: %s", strerror(-err));
	memcpy(snap, &fz_probe->bss->snapshot, sizeof(*snap));
}

static void put_ghosts(void)
{
	struct flow_key eg = egress_key(PROTO_TCP, GHOST, 41000,
					ADDR(10, 0, 1, 10), 80);
	struct flow out, in;

	memset(&out, 0, sizeof(out));
	out.nat_addr = htonl(ADDR(10, 0, 1, 5));
	out.nat_port = htons(41000);
	out.ifindex = fz_devices[DEV_A].ifindex;
	out.next_hop = htonl(ADDR(10, 0, 1, 10));
	memset(&in, 0, sizeof(in));
	in.nat_addr = htonl(GHOST);
	in.nat_port = htons(41000);
	in.ifindex = fz_devices[DEV_SX1].ifindex;
	ghost_keys[0] = eg;
	flow_reverse_key(&eg, &out, &ghost_keys[1]);
	put(skel->maps.flows, &ghost_keys[0], &out);
	put(skel->maps.flows, &ghost_keys[1], &in);

	/* s1 on the wrong device. */
	memset(&ghost_moved, 0, sizeof(ghost_moved));
	ghost_moved.egress_key = egress_key(PROTO_UDP, fz_sandboxes[0].addr,
					    41001, ADDR(10, 0, 1, 11), 8080);
	ghost_moved.egress.nat_addr = htonl(ADDR(10, 0, 1, 5));
	ghost_moved.egress.nat_port = htons(41001);
	ghost_moved.egress.ifindex = fz_devices[DEV_A].ifindex;
	flow_reverse_key(&ghost_moved.egress_key, &ghost_moved.egress,
			 &ghost_moved.ingress_key);
	ghost_keys[2] = ghost_moved.ingress_key;
	in.nat_addr = htonl(fz_sandboxes[0].addr);
	in.nat_port = htons(41001);
	in.ifindex = fz_devices[DEV_SX2].ifindex;
	put(skel->maps.flows, &ghost_keys[2], &in);
}

static bool is_ghost(const struct flow_key *k)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ghost_keys); i++)
		if (!memcmp(&ghost_keys[i], k, sizeof(*k)))
			return true;
	return false;
}

unsigned int world_ghost_entries(void)
{
	return ARRAY_SIZE(ghost_keys);
}

void world_load(unsigned int epoch_number)
{
	/* Every other epoch, a flow table that fills up. */
	flow_table_size = epoch_number % 2 ? 320 : 0;
	load_programs();
	/* The fixture's base configuration is replaced: its attachment and
	 * function have the keys of A and FN_OPEN, its sandbox s1's. */
	configure_attachments();
	configure_groups();
	configure_functions();
	configure_sandboxes();
	world_refresh_neighbours();
	put_ghosts();
	load_probe();
	fz_flow_count = 0;
	if (!fz_flows) {
		fz_flows = calloc(FZ_FLOWS_MAX, sizeof(*fz_flows));
		ck_assert_ptr_nonnull(fz_flows);
	}
}

void world_unload(void)
{
	fuzz_probe__destroy(fz_probe);
	fz_probe = NULL;
	unload_programs();
}

/* ---- lookups ---- */

int world_sandbox_index(uint32_t addr)
{
	unsigned int i;

	for (i = 0; i < fz_sandbox_count; i++)
		if (fz_sandboxes[i].addr == addr)
			return (int)i;
	return -1;
}

const struct fz_sandbox *world_sandbox(uint32_t addr)
{
	int i = world_sandbox_index(addr);

	return i < 0 ? NULL : &fz_sandboxes[i];
}

int world_function_index(__u32 id)
{
	unsigned int i;

	for (i = 0; i < fz_function_count; i++)
		if (fz_function_ids[i] == id)
			return (int)i;
	return -1;
}

bool world_function_exists(__u32 id)
{
	return id >= FN_OPEN && id <= FN_DENY;
}

const struct attachment *world_attachment(__u32 ifindex)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(attachments); i++)
		if (attachments[i].ifindex == ifindex)
			return &attachments[i];
	return NULL;
}

bool world_is_shared(uint32_t addr)
{
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(attachments); i++)
		for (j = 0; j < attachments[i].shared_addr_count; j++)
			if (ntohl(attachments[i].shared_addrs[j]) == addr)
				return true;
	return false;
}

enum fz_dev world_dev_of(__u32 ifindex)
{
	unsigned int i;

	for (i = 0; i < DEV_COUNT; i++)
		if (fz_devices[i].ifindex == ifindex)
			return (enum fz_dev)i;
	return DEV_COUNT;
}

/* ---- reading whole maps (batch lookups) ---- */

struct dump {
	void *keys;
	void *values;
	unsigned int count;
};

static void dump_map(struct bpf_map *map, struct dump *d)
{
	size_t ksize = bpf_map__key_size(map), vsize = bpf_map__value_size(map);
	__u32 max = bpf_map__max_entries(map), n, batch = 0;
	int fd = bpf_map__fd(map), err;
	bool first = true;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);

	d->keys = calloc(max, ksize);
	d->values = calloc(max, vsize);
	ck_assert_ptr_nonnull(d->keys);
	ck_assert_ptr_nonnull(d->values);
	d->count = 0;
	for (;;) {
		n = max - d->count;
		if (!n)
			break;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch,
					   (char *)d->keys + d->count * ksize,
					   (char *)d->values + d->count * vsize,
					   &n, &opts);
		first = false;
		d->count += n;
		if (err) {
			ck_assert_msg(errno == ENOENT, "dumping map %s: %s",
				      bpf_map__name(map), strerror(errno));
			break;
		}
	}
}

static void dump_free(struct dump *d)
{
	free(d->keys);
	free(d->values);
}

static int flow_order(const void *a, const void *b)
{
	return memcmp(&((const struct fz_flow *)a)->egress_key,
		      &((const struct fz_flow *)b)->egress_key,
		      sizeof(struct flow_key));
}

/* The flows the maps hold, in key order (not the hash table's), so the
 * generator picks the same flow for the same draw whatever the table's
 * layout. */
void world_refresh_flows(void)
{
	struct dump d;
	unsigned int i;

	dump_map(skel->maps.flows, &d);
	fz_flow_count = 0;
	for (i = 0; i < d.count && fz_flow_count < FZ_FLOWS_MAX; i++) {
		const struct flow_key *k = (const struct flow_key *)d.keys + i;
		const struct flow *f = (const struct flow *)d.values + i;
		struct fz_flow *kf;

		if (k->direction != FLOW_EGRESS)
			continue;
		kf = &fz_flows[fz_flow_count];
		kf->egress_key = *k;
		kf->egress = *f;
		flow_reverse_key(k, f, &kf->ingress_key);
		fz_flow_count++;
	}
	if (fz_flow_count < FZ_FLOWS_MAX)
		fz_flows[fz_flow_count++] = ghost_moved;
	qsort(fz_flows, fz_flow_count, sizeof(*fz_flows), flow_order);
	dump_free(&d);
}

/* ---- seeding: valid packets first ---- */

static void seed_run(enum hook hook, __u32 ifindex,
		     const struct frame_spec *spec)
{
	static struct fz_case c;

	memset(&c, 0, sizeof(c));
	c.template = "seed";
	c.hook = hook;
	c.ifindex = ifindex;
	c.in_len = gen_frame(spec, c.in, sizeof(c.in));
	probe_read(&c.before);
	run_case(&c);
	check_case(&c);
}

static struct frame_spec seed_out(const struct fz_sandbox *s, uint8_t proto,
				  uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct frame_spec f;
	static const __u8 mac[6] = { 0x02, 0x5b, 0, 0, 0, 0x77 };

	memset(&f, 0, sizeof(f));
	f.kind = FRAME_IPV4;
	memcpy(f.src_mac, s->static_mac ? s->mac : mac, 6);
	memcpy(f.dst_mac, fz_devices[s->dev].mac, 6);
	f.src_addr = s->addr;
	f.dst_addr = dst;
	f.proto = proto;
	f.payload = "seed";
	if (proto == PROTO_ICMP) {
		f.icmp_type = ICMPT_ECHO;
		f.icmp_id = sport;
		f.icmp_seq = 1;
	} else {
		f.src_port = sport;
		f.dst_port = dport;
		f.tcp_flags = TCPF_SYN;
	}
	return f;
}

/* The reply to a flow the egress run made, if it made one. */
static void seed_reply(const struct fz_sandbox *s, uint8_t proto,
		       uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct flow_key key = egress_key(proto, s->addr, sport, dst,
					 proto == PROTO_ICMP ? 0 : dport);
	enum fz_dev dev;
	struct flow flow;
	struct frame_spec f;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &key, &flow))
		return;
	if (flow.hairpin)
		return;
	dev = world_dev_of(flow.ifindex);
	memset(&f, 0, sizeof(f));
	f.kind = FRAME_IPV4;
	memcpy(f.src_mac, (const __u8[]){ 0x02, 0xc0, 0, 0, 0, 0x0a }, 6);
	memcpy(f.dst_mac, fz_devices[dev].mac, 6);
	f.src_addr = dst;
	f.dst_addr = ntohl(flow.nat_addr);
	f.proto = proto;
	f.payload = "seed reply";
	if (proto == PROTO_ICMP) {
		f.icmp_type = ICMPT_ECHO_REPLY;
		f.icmp_id = ntohs(flow.nat_port);
		f.icmp_seq = 1;
	} else {
		f.src_port = dport;
		f.dst_port = ntohs(flow.nat_port);
		f.tcp_flags = TCPF_SYN | TCPF_ACK;
	}
	seed_run(INGRESS, flow.ifindex, &f);
	if (fz_sandboxes[world_sandbox_index(s->addr)].xdp_frames &&
	    flow.ifindex == fz_devices[DEV_A].ifindex)
		seed_run(XDP_INGRESS, flow.ifindex, &f);
}

static void seed_flow(const struct fz_sandbox *s, uint8_t proto,
		      uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct frame_spec f = seed_out(s, proto, sport, dst, dport);

	seed_run(EGRESS, fz_devices[s->dev].ifindex, &f);
	seed_reply(s, proto, sport, dst, dport);
}

static void seed_hairpin(const struct fz_sandbox *a, const struct fz_sandbox *b,
			 uint8_t proto, uint16_t port_a, uint16_t port_b)
{
	/* b first: its packet makes its flow but is filtered at a, which
	 * has none yet; then a's reaches b through b's flow. */
	struct frame_spec f = seed_out(b, proto, port_b, ADDR(10, 0, 1, 5),
				       port_a);

	seed_run(EGRESS, fz_devices[b->dev].ifindex, &f);
	f = seed_out(a, proto, port_a, ADDR(10, 0, 1, 5), port_b);
	seed_run(EGRESS, fz_devices[a->dev].ifindex, &f);
}

void world_seed(void)
{
	unsigned int i;

	for (i = 0; i < fz_sandbox_count; i++) {
		const struct fz_sandbox *s = &fz_sandboxes[i];

		seed_flow(s, PROTO_TCP, 40000, ADDR(10, 0, 1, 10), 80);
		seed_flow(s, PROTO_UDP, 40001, ADDR(10, 0, 1, 10), 53);
		seed_flow(s, PROTO_ICMP, 0x100 + i, ADDR(10, 0, 1, 10), 0);
		seed_flow(s, PROTO_TCP, 40002, ADDR(10, 0, 2, 10), 8080);
		seed_flow(s, PROTO_UDP, 40003, ADDR(192, 168, 7, 7), 53);
		seed_flow(s, PROTO_TCP, 40004, ADDR(10, 0, 1, 11), 443);
		seed_flow(s, PROTO_UDP, 40005, ADDR(10, 0, 2, 10), 53);
	}
	seed_hairpin(&fz_sandboxes[0], &fz_sandboxes[1], PROTO_UDP, 40201,
		     40200);
	seed_hairpin(&fz_sandboxes[0], &fz_sandboxes[5], PROTO_TCP, 40301,
		     40300);
	world_refresh_flows();
}

/* ---- the global state check ---- */

struct state {
	struct dump flows, mappings, ports, sandboxes;
};

static const struct flow *state_flow(const struct state *st,
				     const struct flow_key *key)
{
	unsigned int i;
	const struct flow_key *keys = st->flows.keys;

	for (i = 0; i < st->flows.count; i++)
		if (!memcmp(&keys[i], key, sizeof(*key)))
			return (const struct flow *)st->flows.values + i;
	return NULL;
}

static const struct mapping *state_mapping(const struct state *st,
					   const struct mapping_key *key)
{
	unsigned int i;
	const struct mapping_key *keys = st->mappings.keys;

	for (i = 0; i < st->mappings.count; i++)
		if (!memcmp(&keys[i], key, sizeof(*key)))
			return (const struct mapping *)st->mappings.values + i;
	return NULL;
}

static const struct port_hold *state_port(const struct state *st,
					  const struct port_key *key)
{
	unsigned int i;
	const struct port_key *keys = st->ports.keys;

	for (i = 0; i < st->ports.count; i++)
		if (!memcmp(&keys[i], key, sizeof(*key)))
			return (const struct port_hold *)st->ports.values + i;
	return NULL;
}

static const char *fmt_key(const struct flow_key *k, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &k->src_addr, a, sizeof(a));
	inet_ntop(AF_INET, &k->dst_addr, b, sizeof(b));
	snprintf(buf, len, "%s %s:%u -> %s:%u proto %u att %u",
		 k->direction == FLOW_EGRESS ? "egress" : "ingress", a,
		 ntohs(k->src_port), b, ntohs(k->dst_port), k->proto,
		 k->attachment);
	return buf;
}

#define STATE_PROBLEM(...) do {						\
		problems++;						\
		violation(INV_STATE, NULL, __VA_ARGS__);		\
	} while (0)

unsigned int world_state_check(void)
{
	unsigned int problems = 0, i, egress = 0, ingress = 0;
	__u32 mapping_users[8192];
	__u32 ports_expected[PROBE_MAX_SANDBOXES] = {0};
	struct state st;
	char kb[128];

	dump_map(skel->maps.flows, &st.flows);
	dump_map(skel->maps.mappings, &st.mappings);
	dump_map(skel->maps.ports, &st.ports);
	dump_map(skel->maps.sandboxes, &st.sandboxes);
	memset(mapping_users, 0, sizeof(mapping_users));
	tallies[INV_STATE].checked++;

	if (st.sandboxes.count != fz_sandbox_count)
		STATE_PROBLEM("%u sandbox entries, the world has %u",
			      st.sandboxes.count, fz_sandbox_count);
	for (i = 0; i < st.flows.count; i++) {
		const struct flow_key *k = (const struct flow_key *)st.flows.keys + i;
		const struct flow *f = (const struct flow *)st.flows.values + i;
		const struct fz_sandbox *s;
		const struct attachment *att;
		struct flow_key rk;
		const struct flow *r;
		uint16_t port;
		bool shared = false;
		__u32 j;

		if (is_ghost(k))
			continue;
		if (k->direction == FLOW_INGRESS) {
			ingress++;
			s = world_sandbox(ntohl(f->nat_addr));
			if (!s || fz_devices[s->dev].ifindex != f->ifindex)
				STATE_PROBLEM("%s leads to %#x on device %u, "
					      "which is no sandbox there",
					      fmt_key(k, kb, sizeof(kb)),
					      ntohl(f->nat_addr), f->ifindex);
			if (!world_attachment(k->attachment))
				STATE_PROBLEM("%s: no such attachment",
					      fmt_key(k, kb, sizeof(kb)));
			continue;
		}
		if (k->direction != FLOW_EGRESS) {
			STATE_PROBLEM("a flow key with direction %u",
				      k->direction);
			continue;
		}
		egress++;
		s = world_sandbox(ntohl(k->src_addr));
		if (!s || k->attachment) {
			STATE_PROBLEM("%s: the source is no sandbox, or the "
				      "key names an attachment",
				      fmt_key(k, kb, sizeof(kb)));
			continue;
		}
		att = world_attachment(f->ifindex);
		if (!att) {
			STATE_PROBLEM("%s goes out of device %u, no attachment",
				      fmt_key(k, kb, sizeof(kb)), f->ifindex);
			continue;
		}
		for (j = 0; j < att->shared_addr_count; j++)
			shared |= att->shared_addrs[j] == f->nat_addr;
		port = ntohs(f->nat_port);
		if (!shared || port < att->port_lo || port > att->port_hi)
			STATE_PROBLEM("%s is translated to %#x:%u, not a shared "
				      "endpoint of attachment %u",
				      fmt_key(k, kb, sizeof(kb)),
				      ntohl(f->nat_addr), port, att->ifindex);
		flow_reverse_key(k, f, &rk);
		r = state_flow(&st, &rk);
		if (!r)
			STATE_PROBLEM("%s has no ingress entry (half a flow)",
				      fmt_key(k, kb, sizeof(kb)));
		else if (r->nat_addr != k->src_addr ||
			 r->nat_port != k->src_port ||
			 r->ifindex != fz_devices[s->dev].ifindex)
			STATE_PROBLEM("%s: its ingress entry leads to %#x:%u on "
				      "device %u, not back to the sandbox",
				      fmt_key(k, kb, sizeof(kb)),
				      ntohl(r->nat_addr), ntohs(r->nat_port),
				      r->ifindex);
		if (att->mapping == MAPPING_DEPENDENT) {
			ports_expected[world_sandbox_index(s->addr)]++;
		} else {
			struct mapping_key mk;
			const struct mapping *m;

			mapping_key_of(k, att->ifindex, &mk);
			m = state_mapping(&st, &mk);
			if (!m) {
				STATE_PROBLEM("%s has no mapping",
					      fmt_key(k, kb, sizeof(kb)));
			} else {
				if (m->shared_addr != f->nat_addr ||
				    m->shared_port != f->nat_port)
					STATE_PROBLEM("%s: translated to %#x:%u,"
						      " its mapping says %#x:%u",
						      fmt_key(k, kb, sizeof(kb)),
						      ntohl(f->nat_addr),
						      ntohs(f->nat_port),
						      ntohl(m->shared_addr),
						      ntohs(m->shared_port));
				mapping_users[m - (const struct mapping *)
					      st.mappings.values]++;
			}
		}
	}
	if (egress != ingress)
		STATE_PROBLEM("%u egress entries, %u ingress entries", egress,
			      ingress);
	for (i = 0; i < st.mappings.count && i < ARRAY_SIZE(mapping_users); i++) {
		const struct mapping_key *mk =
			(const struct mapping_key *)st.mappings.keys + i;
		const struct mapping *m =
			(const struct mapping *)st.mappings.values + i;
		const struct port_hold *hold;
		struct port_key pk;
		int si = world_sandbox_index(ntohl(mk->sandbox_addr));

		if (m->flows != mapping_users[i])
			STATE_PROBLEM("the mapping of %#x:%u proto %u att %u "
				      "counts %u flows, %u use it",
				      ntohl(mk->sandbox_addr),
				      ntohs(mk->sandbox_port), mk->proto,
				      mk->attachment, m->flows,
				      mapping_users[i]);
		if (si < 0)
			STATE_PROBLEM("a mapping of %#x, no sandbox",
				      ntohl(mk->sandbox_addr));
		else
			ports_expected[si]++;
		port_key_of(mk->attachment, m->shared_addr, m->shared_port,
			    mk->proto, &pk);
		hold = state_port(&st, &pk);
		if (!hold || memcmp(&hold->owner, mk, sizeof(*mk)))
			STATE_PROBLEM("the mapping of %#x:%u proto %u holds "
				      "%#x:%u, which `ports` gives %s",
				      ntohl(mk->sandbox_addr),
				      ntohs(mk->sandbox_port), mk->proto,
				      ntohl(m->shared_addr),
				      ntohs(m->shared_port),
				      hold ? "to another owner" : "to nobody");
	}
	/* No flow expires and no mapping ends in a fuzz run, so no port is
	 * held for a past owner: one ports entry per mapping. */
	if (st.ports.count != st.mappings.count)
		STATE_PROBLEM("%u ports entries for %u mappings",
			      st.ports.count, st.mappings.count);
	for (i = 0; i < st.sandboxes.count; i++) {
		const struct sandbox *sbx =
			(const struct sandbox *)st.sandboxes.values + i;
		int si = world_sandbox_index(ntohl(sbx->addr));

		if (si < 0)
			continue;
		if (sbx->ports_in_use != ports_expected[si])
			STATE_PROBLEM("sandbox %s holds ports_in_use %u, its "
				      "mappings and dependent flows make %u",
				      sbx->id, sbx->ports_in_use,
				      ports_expected[si]);
	}
	dump_free(&st.flows);
	dump_free(&st.mappings);
	dump_free(&st.ports);
	dump_free(&st.sandboxes);
	return problems;
}

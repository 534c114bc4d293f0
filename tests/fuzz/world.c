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
#include "state.h"

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
 * them: a flow, with its mapping and port, of a sandbox that is gone
 * (100.64.0.77, on A); a flow of s8 (on B, endpoint-dependent, with its
 * `replies` entry) made when s8 was on another device; and a `replies`
 * entry of a flow of s3's that has gone, to a shared port that s3's flow
 * to the same remote (seeded later) does not have. Replies to the first
 * two find their flow and must be dropped (drop_stale_flow), replies to
 * the third find no flow that answers: none may reach a sandbox. The
 * state check leaves out what each breaks.
 */
#define GONE_SANDBOX ADDR(100, 64, 0, 77)
static struct flow_key gone_sandbox_flow, moved_sandbox_flow;
static struct reply_key stale_reply;
/* The third as the generator sees it: the flow it once answered. */
static struct fz_flow stale_flow;

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

/* full_flow_table: FN_QUOTA goes without its quota (the default), so
 * that its endpoint-dependent flows on B meet the full table too. */
static void configure_functions(bool full_flow_table)
{
	put_fn(FN_OPEN, "open", 0, 0, ADDR(10, 0, 1, 0), DEV_A,
	       ADDR(10, 0, 2, 0), DEV_C);
	put_fn(FN_QUOTA, "quota", 1, full_flow_table ? 0 : 6,
	       ADDR(10, 0, 1, 0), DEV_B, 0, DEV_A);
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

/* A leftover flow through att, from its first shared address and
 * nat_port to a remote on att's subnet, made for a sandbox on
 * sandbox_dev. */
static struct flow leftover_flow(const struct attachment *att,
				 __u16 nat_port, enum fz_dev sandbox_dev)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.nat_addr = att->shared_addrs[0];
	f.nat_port = htons(nat_port);
	f.dependent = att->mapping == MAPPING_DEPENDENT;
	f.ifindex = att->ifindex;
	f.sandbox_ifindex = fz_devices[sandbox_dev].ifindex;
	return f;
}

/* The gone sandbox's flow, and its mapping and port, as a reply to it
 * finds it (endpoint-independent, attachment A). */
static void put_gone_sandbox_flow(void)
{
	struct flow f = leftover_flow(&attachments[0], 41000, DEV_SX1);
	struct port_hold hold;
	struct mapping m;
	struct mapping_key mk;
	struct port_key pk;

	gone_sandbox_flow = egress_key(PROTO_TCP, GONE_SANDBOX, 41000,
				       ADDR(10, 0, 1, 10), 80);
	put(skel->maps.flows, &gone_sandbox_flow, &f);
	mapping_key_of(&gone_sandbox_flow, f.ifindex, &mk);
	memset(&m, 0, sizeof(m));
	m.shared_addr = f.nat_addr;
	m.shared_port = f.nat_port;
	m.flows = 1;
	put(skel->maps.mappings, &mk, &m);
	port_key_of(f.ifindex, f.nat_addr, f.nat_port, PROTO_TCP, &pk);
	memset(&hold, 0, sizeof(hold));
	hold.owner = mk;
	put(skel->maps.ports, &pk, &hold);
}

/* s8's flow made on DEV_SX2 (s8 is on DEV_SX1), and its replies entry
 * (endpoint-dependent, attachment B). */
static void put_moved_sandbox_flow(void)
{
	struct flow f = leftover_flow(&attachments[1], 20030, DEV_SX2);
	struct mapping_key owner;
	struct reply_key rk;

	moved_sandbox_flow = egress_key(PROTO_TCP, fz_sandboxes[7].addr,
					41001, ADDR(10, 0, 1, 11), 443);
	put(skel->maps.flows, &moved_sandbox_flow, &f);
	mapping_key_of(&moved_sandbox_flow, f.ifindex, &owner);
	reply_key_of(&moved_sandbox_flow, &f, &rk);
	put(skel->maps.replies, &rk, &owner);
}

/* The replies entry of s3's flow to 10.0.1.10:53 at a shared port it no
 * longer has (endpoint-dependent, attachment B). */
static void put_stale_reply(void)
{
	struct mapping_key owner;

	memset(&stale_flow, 0, sizeof(stale_flow));
	stale_flow.key = egress_key(PROTO_UDP, fz_sandboxes[2].addr, 40001,
				    ADDR(10, 0, 1, 10), 53);
	stale_flow.flow = leftover_flow(&attachments[1], 20031, DEV_SX2);
	reply_key_of(&stale_flow.key, &stale_flow.flow, &stale_reply);
	stale_flow.reply = stale_reply;
	mapping_key_of(&stale_flow.key, stale_flow.flow.ifindex, &owner);
	put(skel->maps.replies, &stale_reply, &owner);
}

static void put_leftovers(void)
{
	put_gone_sandbox_flow();
	put_moved_sandbox_flow();
	put_stale_reply();
}

void world_load(unsigned int epoch_number)
{
	/* Every other epoch, a flow table that fills up. */
	bool full_flow_table = epoch_number % 2;

	if (full_flow_table) {
		sized_map = "flows";
		sized_map_entries = 320;
	}
	load_programs();
	/* The configuration is the world's: the fixture's base one has the
	 * keys of A, FN_OPEN and s1, which replace it. */
	configure_attachments();
	configure_groups();
	configure_functions(full_flow_table);
	configure_sandboxes();
	world_refresh_neighbours();
	put_leftovers();
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
	size_t key_size, value_size;
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
	d->key_size = ksize;
	d->value_size = vsize;
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

/* By key, then reply: the stale reply's flow has a live flow's key. */
static int flow_order(const void *a, const void *b)
{
	const struct fz_flow *x = a, *y = b;
	int by_key = memcmp(&x->key, &y->key, sizeof(x->key));

	return by_key ? by_key : memcmp(&x->reply, &y->reply, sizeof(x->reply));
}

/* The flows the maps hold, in key order (not the hash table's), so the
 * generator picks the same flow for the same draw whatever the table's
 * layout; and the flow the stale reply once answered. */
void world_refresh_flows(void)
{
	struct dump d;
	unsigned int i;

	dump_map(skel->maps.flows, &d);
	fz_flow_count = 0;
	for (i = 0; i < d.count && fz_flow_count < FZ_FLOWS_MAX; i++) {
		struct fz_flow *kf = &fz_flows[fz_flow_count++];

		kf->key = ((const struct flow_key *)d.keys)[i];
		kf->flow = ((const struct flow *)d.values)[i];
		reply_key_of(&kf->key, &kf->flow, &kf->reply);
	}
	if (fz_flow_count < FZ_FLOWS_MAX)
		fz_flows[fz_flow_count++] = stale_flow;
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
	if (flow.route == FLOW_ROUTE_HAIRPIN)
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

/* The index of key's entry in d, or -1. */
static int dump_find(const struct dump *d, const void *key)
{
	unsigned int i;

	for (i = 0; i < d->count; i++)
		if (!memcmp((const char *)d->keys + i * d->key_size, key,
			    d->key_size))
			return (int)i;
	return -1;
}

static const void *dump_value(const struct dump *d, int i)
{
	return i < 0 ? NULL :
		       (const char *)d->values + (size_t)i * d->value_size;
}

struct state {
	struct dump flows, mappings, ports, replies, sandboxes;
	__u32 *mapping_users;	/* flows using each entry of mappings */
	__u32 ports_expected[PROBE_MAX_SANDBOXES];
	struct reply_key *flow_replies;	/* each flow's, for uniqueness */
	unsigned int problems;
};

static const char *fmt_key(const struct flow_key *k, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &k->src_addr, a, sizeof(a));
	inet_ntop(AF_INET, &k->dst_addr, b, sizeof(b));
	snprintf(buf, len, "flow %s:%u -> %s:%u proto %u", a,
		 ntohs(k->src_port), b, ntohs(k->dst_port), k->proto);
	return buf;
}

static const char *fmt_reply(const struct reply_key *r, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &r->remote_addr, a, sizeof(a));
	inet_ntop(AF_INET, &r->shared_addr, b, sizeof(b));
	snprintf(buf, len, "reply %s:%u -> %s:%u proto %u att %u", a,
		 ntohs(r->remote_port), b, ntohs(r->shared_port), r->proto,
		 r->attachment);
	return buf;
}

#define STATE_PROBLEM(st, ...) do {					\
		(st)->problems++;					\
		violation(INV_STATE, NULL, __VA_ARGS__);		\
	} while (0)

/* A key egress makes of a sandbox's packet: TCP, UDP or echo (whose
 * remote port is 0), padding zero. */
static bool flow_key_well_formed(const struct flow_key *k)
{
	return (k->proto == PROTO_TCP || k->proto == PROTO_UDP ||
		(k->proto == PROTO_ICMP && !k->dst_port)) &&
	       !k->pad[0] && !k->pad[1] && !k->pad[2];
}

/* Endpoint-independent: the sandbox endpoint's mapping holds the flow's
 * shared endpoint, and `ports` gives that endpoint to the mapping. */
static void check_mapping_route(struct state *st, const struct flow_key *k,
				const struct flow *f, const char *kb)
{
	const struct port_hold *hold;
	const struct mapping *m;
	struct mapping_key mk;
	struct port_key pk;
	int mi;

	mapping_key_of(k, f->ifindex, &mk);
	mi = dump_find(&st->mappings, &mk);
	m = dump_value(&st->mappings, mi);
	if (!m) {
		STATE_PROBLEM(st, "%s has no mapping", kb);
		return;
	}
	st->mapping_users[mi]++;
	if (m->shared_addr != f->nat_addr || m->shared_port != f->nat_port)
		STATE_PROBLEM(st, "%s: translated to %#x:%u, its mapping says "
			      "%#x:%u", kb, ntohl(f->nat_addr),
			      ntohs(f->nat_port), ntohl(m->shared_addr),
			      ntohs(m->shared_port));
	port_key_of(f->ifindex, f->nat_addr, f->nat_port, k->proto, &pk);
	hold = dump_value(&st->ports, dump_find(&st->ports, &pk));
	if (!hold || memcmp(&hold->owner, &mk, sizeof(mk)))
		STATE_PROBLEM(st, "%s: `ports` gives its shared endpoint %s",
			      kb, hold ? "to another owner" : "to nobody");
}

/* Endpoint-dependent: the flow's own `replies` entry names its sandbox
 * endpoint. */
static void check_replies_route(struct state *st, const struct flow_key *k,
				const struct flow *f, const char *kb)
{
	const struct mapping_key *owner;
	struct mapping_key mk;
	struct reply_key rk;

	reply_key_of(k, f, &rk);
	mapping_key_of(k, f->ifindex, &mk);
	owner = dump_value(&st->replies, dump_find(&st->replies, &rk));
	if (!owner || memcmp(owner, &mk, sizeof(mk)))
		STATE_PROBLEM(st, "%s: its replies entry %s", kb, owner ?
			      "names another sandbox endpoint" : "is missing");
}

/* One flow: made by a sandbox (the gone sandbox's excepted), replies go
 * to its device (the moved sandbox's excepted), translated to a shared
 * endpoint of its attachment, with the route a reply takes to it. */
static void check_flow(struct state *st, unsigned int i)
{
	const struct flow_key *k = (const struct flow_key *)st->flows.keys + i;
	const struct flow *f = (const struct flow *)st->flows.values + i;
	const struct fz_sandbox *s = world_sandbox(ntohl(k->src_addr));
	bool gone = !memcmp(k, &gone_sandbox_flow, sizeof(*k));
	bool moved = !memcmp(k, &moved_sandbox_flow, sizeof(*k));
	const struct attachment *att = world_attachment(f->ifindex);
	struct flow_key found_key;
	struct flow found;
	bool shared = false, answered;
	char kb[128];
	uint16_t port;
	__u32 j;

	fmt_key(k, kb, sizeof(kb));
	reply_key_of(k, f, &st->flow_replies[i]);
	if (!flow_key_well_formed(k))
		STATE_PROBLEM(st, "%s: a key no sandbox's packet makes (pad "
			      "%02x%02x%02x)", kb, k->pad[0], k->pad[1],
			      k->pad[2]);
	if (!s && !gone)
		STATE_PROBLEM(st, "%s: the source is no sandbox", kb);
	if (s && !moved && f->sandbox_ifindex != fz_devices[s->dev].ifindex)
		STATE_PROBLEM(st, "%s: replies go to device %u, sandbox %s is "
			      "on %u", kb, f->sandbox_ifindex, s->id,
			      fz_devices[s->dev].ifindex);
	if (!att) {
		STATE_PROBLEM(st, "%s goes out of device %u, no attachment", kb,
			      f->ifindex);
		return;
	}
	for (j = 0; j < att->shared_addr_count; j++)
		shared |= att->shared_addrs[j] == f->nat_addr;
	port = ntohs(f->nat_port);
	if (!shared || port < att->port_lo || port > att->port_hi)
		STATE_PROBLEM(st, "%s is translated to %#x:%u, not a shared "
			      "endpoint of attachment %u", kb,
			      ntohl(f->nat_addr), port, att->ifindex);
	if (f->dependent != (att->mapping == MAPPING_DEPENDENT))
		STATE_PROBLEM(st, "%s: dependent %u on an attachment of %s "
			      "mapping", kb, f->dependent,
			      att->mapping == MAPPING_DEPENDENT ? "dependent" :
							       "independent");
	if (f->dependent)
		check_replies_route(st, k, f, kb);
	else
		check_mapping_route(st, k, f, kb);
	/* A dependent flow holds a port of its sandbox's own; the moved
	 * sandbox's flow took it from the entry it had before the move. */
	if (s && !moved && f->dependent)
		st->ports_expected[world_sandbox_index(s->addr)]++;
	answered = find_reply_flow(k->proto, ntohl(k->dst_addr),
				   ntohs(k->dst_port), ntohl(f->nat_addr),
				   ntohs(f->nat_port), f->ifindex, &found_key,
				   &found);
	if (!answered || memcmp(&found_key, k, sizeof(*k)))
		STATE_PROBLEM(st, "%s: a reply to it finds %s", kb,
			      answered ? "another flow" : "no flow");
}

static int reply_order(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct reply_key));
}

/* No two flows answer the same reply: it could reach only one of them. */
static void check_replies_unique(struct state *st)
{
	unsigned int i;
	char rb[128];

	qsort(st->flow_replies, st->flows.count, sizeof(struct reply_key),
	      reply_order);
	for (i = 1; i < st->flows.count; i++) {
		const struct reply_key *r = &st->flow_replies[i];

		if (!reply_order(r - 1, r))
			STATE_PROBLEM(st, "two flows answer the %s",
				      fmt_reply(r, rb, sizeof(rb)));
	}
}

/* Every replies entry (but the stale one) leads to the dependent flow of
 * its sandbox endpoint to its remote, which answers it. */
static void check_replies_entries(struct state *st)
{
	unsigned int i;
	char rb[128];

	for (i = 0; i < st->replies.count; i++) {
		const struct reply_key *rk =
			(const struct reply_key *)st->replies.keys + i;
		const struct mapping_key *owner =
			(const struct mapping_key *)st->replies.values + i;
		struct flow_key key;
		struct flow f;

		if (!memcmp(rk, &stale_reply, sizeof(*rk)))
			continue;
		if (owner->attachment != rk->attachment ||
		    owner->proto != rk->proto ||
		    !find_reply_flow(rk->proto, ntohl(rk->remote_addr),
				     ntohs(rk->remote_port),
				     ntohl(rk->shared_addr),
				     ntohs(rk->shared_port), rk->attachment,
				     &key, &f) ||
		    key.src_addr != owner->sandbox_addr ||
		    key.src_port != owner->sandbox_port || !f.dependent)
			STATE_PROBLEM(st, "the replies entry of the %s leads "
				      "to %#x:%u, which has no dependent flow "
				      "that answers it",
				      fmt_reply(rk, rb, sizeof(rb)),
				      ntohl(owner->sandbox_addr),
				      ntohs(owner->sandbox_port));
	}
}

/* Each mapping: counts the flows that use it, belongs to a sandbox (the
 * gone one excepted), and holds its shared endpoint in `ports`. */
static void check_mappings(struct state *st)
{
	unsigned int i;

	for (i = 0; i < st->mappings.count; i++) {
		const struct mapping_key *mk =
			(const struct mapping_key *)st->mappings.keys + i;
		const struct mapping *m =
			(const struct mapping *)st->mappings.values + i;
		const struct port_hold *hold;
		struct port_key pk;
		int si = world_sandbox_index(ntohl(mk->sandbox_addr));

		if (!m->flows || m->flows != st->mapping_users[i])
			STATE_PROBLEM(st, "the mapping of %#x:%u proto %u att "
				      "%u counts %u flows, %u use it",
				      ntohl(mk->sandbox_addr),
				      ntohs(mk->sandbox_port), mk->proto,
				      mk->attachment, m->flows,
				      st->mapping_users[i]);
		if (si >= 0)
			st->ports_expected[si]++;
		else if (ntohl(mk->sandbox_addr) != GONE_SANDBOX)
			STATE_PROBLEM(st, "a mapping of %#x, no sandbox",
				      ntohl(mk->sandbox_addr));
		port_key_of(mk->attachment, m->shared_addr, m->shared_port,
			    mk->proto, &pk);
		hold = dump_value(&st->ports, dump_find(&st->ports, &pk));
		if (!hold || memcmp(&hold->owner, mk, sizeof(*mk)) ||
		    hold->released_ns)
			STATE_PROBLEM(st, "the mapping of %#x:%u proto %u "
				      "holds %#x:%u, which `ports` gives %s",
				      ntohl(mk->sandbox_addr),
				      ntohs(mk->sandbox_port), mk->proto,
				      ntohl(m->shared_addr),
				      ntohs(m->shared_port),
				      !hold ? "to nobody" :
				      hold->released_ns ? "as released" :
				      "to another owner");
	}
	/* No flow expires and no mapping ends in a fuzz run, so no port is
	 * held for a past owner: one ports entry per mapping. */
	if (st->ports.count != st->mappings.count)
		STATE_PROBLEM(st, "%u ports entries for %u mappings",
			      st->ports.count, st->mappings.count);
}

static void check_ports_in_use(struct state *st)
{
	unsigned int i;

	if (st->sandboxes.count != fz_sandbox_count)
		STATE_PROBLEM(st, "%u sandbox entries, the world has %u",
			      st->sandboxes.count, fz_sandbox_count);
	for (i = 0; i < st->sandboxes.count; i++) {
		const struct sandbox *sbx =
			(const struct sandbox *)st->sandboxes.values + i;
		int si = world_sandbox_index(ntohl(sbx->addr));

		if (si >= 0 && sbx->ports_in_use != st->ports_expected[si])
			STATE_PROBLEM(st, "sandbox %s holds ports_in_use %u, "
				      "its mappings and dependent flows make "
				      "%u",
				      sbx->id, sbx->ports_in_use,
				      st->ports_expected[si]);
	}
}

unsigned int world_state_check(void)
{
	struct state st;
	unsigned int i;

	memset(&st, 0, sizeof(st));
	dump_map(skel->maps.flows, &st.flows);
	dump_map(skel->maps.mappings, &st.mappings);
	dump_map(skel->maps.ports, &st.ports);
	dump_map(skel->maps.replies, &st.replies);
	dump_map(skel->maps.sandboxes, &st.sandboxes);
	st.mapping_users = calloc(st.mappings.count + 1, sizeof(__u32));
	st.flow_replies = calloc(st.flows.count + 1, sizeof(struct reply_key));
	ck_assert_ptr_nonnull(st.mapping_users);
	ck_assert_ptr_nonnull(st.flow_replies);
	tallies[INV_STATE].checked++;

	for (i = 0; i < st.flows.count; i++)
		check_flow(&st, i);
	check_replies_unique(&st);
	check_replies_entries(&st);
	check_mappings(&st);
	check_ports_in_use(&st);

	free(st.mapping_users);
	free(st.flow_replies);
	dump_free(&st.flows);
	dump_free(&st.mappings);
	dump_free(&st.ports);
	dump_free(&st.replies);
	dump_free(&st.sandboxes);
	return st.problems;
}

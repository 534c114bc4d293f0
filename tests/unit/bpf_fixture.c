// SPDX-License-Identifier: GPL-2.0
/*
 * The fixture every BPF_PROG_TEST_RUN suite shares (bpf_fixture.h): a
 * fresh, unpinned skeleton with the base configuration, one frame through
 * one program, and readers of the maps that fail the test with a message
 * instead of returning an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf_fixture.h"
#include "state.h"

static const __u8 mac_host[6] = MAC_HOST;
static const __u8 mac_shared[6] = MAC_SHARED;

struct sharenat_bpf *skel;
const char *sized_map;
__u32 sized_map_entries;
__u64 expiry_queue_room_for_test;

/* ---- fixture: a fresh skeleton per test, nothing pinned ---- */

/* libbpf's info lines would drown Check's output; warnings stay. */
static int print_libbpf_warnings(enum libbpf_print_level level,
				 const char *fmt, va_list args)
{
	if (level > LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void put(struct bpf_map *map, const void *key, const void *value)
{
	int err = bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY);

	ck_assert_msg(!err, "updating map %s: %s", bpf_map__name(map),
		      strerror(-err));
}

void delete(struct bpf_map *map, const void *key)
{
	int err = bpf_map_delete_elem(bpf_map__fd(map), key);

	ck_assert_msg(!err, "deleting from map %s: %s", bpf_map__name(map),
		      strerror(-err));
}

/* The base attachment: 10.0.1.0/24 on ifindex 1, shared address 10.0.1.5,
 * ports 1024-65535, no gateway. */
struct attachment base_attachment(void)
{
	struct attachment att;

	memset(&att, 0, sizeof(att));
	att.ifindex = TEST_IFINDEX;
	att.subnet_addr = htonl(SUBNET);
	att.subnet_mask = htonl(SUBNET_MASK);
	att.shared_addrs[0] = htonl(SHARED);
	att.shared_addr_count = 1;
	att.port_lo = PORT_LO;
	att.port_hi = PORT_HI;
	att.mapping = MAPPING_INDEPENDENT;
	memcpy(att.mac, mac_shared, sizeof(att.mac));
	return att;
}

struct function base_function(void)
{
	struct function fn;

	memset(&fn, 0, sizeof(fn));
	snprintf(fn.name, sizeof(fn.name), "f1");
	fn.subnets[0].subnet_addr = htonl(SUBNET);
	fn.subnets[0].subnet_mask = htonl(SUBNET_MASK);
	fn.subnets[0].attachment = TEST_IFINDEX;
	fn.subnet_count = 1;
	fn.id = FUNCTION_ID;
	return fn;
}

/* A sandbox of f1 on the test device whose MAC is to be learned. */
struct sandbox sandbox_at(uint32_t addr, const char *id)
{
	struct sandbox sbx;

	memset(&sbx, 0, sizeof(sbx));
	snprintf(sbx.id, sizeof(sbx.id), "%s", id);
	sbx.function_id = FUNCTION_ID;
	sbx.ifindex = TEST_IFINDEX;
	sbx.addr = htonl(addr);
	memcpy(sbx.host_mac, mac_host, sizeof(sbx.host_mac));
	return sbx;
}

void put_attachment(const struct attachment *att)
{
	put(skel->maps.attachments, &att->ifindex, att);
}

void put_function(const struct function *fn)
{
	put(skel->maps.functions, &fn->id, fn);
}

void put_sandbox(const struct sandbox *sbx)
{
	put(skel->maps.sandboxes, &sbx->addr, sbx);
}

void load_programs(void)
{
	struct attachment att = base_attachment();
	struct function fn = base_function();
	struct sandbox sbx = sandbox_at(SBX1, "s1");
	struct bpf_map *map;
	int err;

	/* Check has no skip: a missing prerequisite fails, and says so. */
	ck_assert_msg(geteuid() == 0, "the BPF tests need root (CAP_BPF, "
		      "CAP_NET_ADMIN) to load programs and use "
		      "BPF_PROG_TEST_RUN: run the unit tests as root");
	libbpf_set_print(print_libbpf_warnings);
	skel = sharenat_bpf__open();
	ck_assert_msg(skel, "opening the BPF object failed: %s",
		      strerror(errno));
	/* Private maps: no pin may meet another test or a running sharenat. */
	bpf_object__for_each_map(map, skel->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		ck_assert_msg(!err, "unpinning map %s: %s",
			      bpf_map__name(map), strerror(-err));
	}
	if (sized_map) {
		map = bpf_object__find_map_by_name(skel->obj, sized_map);
		ck_assert_msg(map, "no map %s to size", sized_map);
		err = bpf_map__set_max_entries(map, sized_map_entries);
		ck_assert_msg(!err, "sizing map %s: %s", sized_map,
			      strerror(-err));
	}
	if (expiry_queue_room_for_test)
		skel->rodata->expiry_queue_room = expiry_queue_room_for_test;
	err = sharenat_bpf__load(skel);
	ck_assert_msg(!err, "loading the BPF programs failed: %s (needs a "
		      "kernel with BPF, BTF and root)", strerror(-err));
	/* As the loader does: flows expire through the sweeper. */
	ck_assert_msg(!init_sweeper(bpf_program__fd(skel->progs.sharenat_init)),
		      "starting the expiry sweeper failed: %s",
		      strerror(errno));

	put_attachment(&att);
	put_function(&fn);
	put_sandbox(&sbx);
}

void unload_programs(void)
{
	sharenat_bpf__destroy(skel);
	skel = NULL;
	sized_map = NULL;
	expiry_queue_room_for_test = 0;
}

/* ---- running a frame ---- */

static const char *xdp_verdict_name(int verdict)
{
	switch (verdict) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	default:
		return "unexpected";
	}
}

/* XDP and tc verdicts share numbers (XDP_PASS is TC_ACT_SHOT's 2). */
const char *verdict_name(enum hook hook, int verdict)
{
	if (hook == XDP_INGRESS || hook == XDP_EGRESS)
		return xdp_verdict_name(verdict);
	switch (verdict) {
	case TC_ACT_OK:
		return "TC_ACT_OK";
	case TC_ACT_SHOT:
		return "TC_ACT_SHOT";
	case TC_ACT_REDIRECT:
		return "TC_ACT_REDIRECT";
	case TC_ACT_STOLEN:
		return "TC_ACT_STOLEN";
	default:
		return "unexpected";
	}
}

struct bpf_program *program_of(enum hook hook)
{
	switch (hook) {
	case EGRESS:
		return skel->progs.sharenat_egress;
	case INGRESS:
		return skel->progs.sharenat_ingress;
	case XDP_EGRESS:
		return skel->progs.sharenat_xdp_egress;
	default:
		return skel->progs.sharenat_xdp_ingress;
	}
}

/* One BPF_PROG_TEST_RUN; returns its error (negative errno) or 0. */
int try_run(enum hook hook, const struct frame_spec *spec,
	    __u32 flags, struct run *run)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err;

	memset(run, 0, sizeof(*run));
	run->in_len = frame_build(spec, run->in, sizeof(run->in));
	ck_assert_msg(run->in_len > 0, "the test frame does not fit");
	opts.data_in = run->in;
	opts.data_size_in = (__u32)run->in_len;
	opts.data_out = run->out;
	opts.data_size_out = sizeof(run->out);
	opts.repeat = 1;
	opts.flags = flags;
	err = bpf_prog_test_run_opts(bpf_program__fd(program_of(hook)), &opts);
	run->verdict = (int)opts.retval;
	run->out_len = opts.data_size_out;
	return err;
}

void run_frame(enum hook hook, const struct frame_spec *spec, struct run *run)
{
	int err = try_run(hook, spec, 0, run);

	ck_assert_msg(!err, "BPF_PROG_TEST_RUN of %s failed: %s",
		      bpf_program__name(program_of(hook)), strerror(-err));
}

void restart_ip_ids(void)
{
	__u32 zero = 0;
	__u64 none = 0;

	ck_assert_int_eq(bpf_map_update_elem(bpf_map__fd(skel->maps.ip_ids),
					     &zero, &none, BPF_ANY), 0);
}

/* ---- reading the maps ---- */

void read_counters(__u64 sums[COUNTER_MAX])
{
	int cpus = libbpf_num_possible_cpus();
	__u64 *per_cpu;
	__u32 i;
	int cpu;

	ck_assert_msg(cpus > 0, "libbpf_num_possible_cpus: %s",
		      strerror(-cpus));
	per_cpu = calloc((size_t)cpus, sizeof(*per_cpu));
	ck_assert_ptr_nonnull(per_cpu);
	for (i = 0; i < COUNTER_MAX; i++) {
		ck_assert_msg(bpf_map_lookup_elem(
				bpf_map__fd(skel->maps.counters), &i,
				per_cpu) == 0, "reading counter %u", i);
		sums[i] = 0;
		for (cpu = 0; cpu < cpus; cpu++)
			sums[i] += per_cpu[cpu];
	}
	free(per_cpu);
}

unsigned int count_flow_entries(void)
{
	int fd = bpf_map__fd(skel->maps.flows);
	struct flow_key key, next;
	unsigned int n = 0;
	const void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

/* Keys as include/sharenat.h describes them, built here by hand so that
 * a layout the programs got wrong shows. A flow's key is the packet as its
 * sandbox sends it; a reply key the packet as the remote answers, scoped
 * by attachment. For ICMP echo the identifier is the port of the local
 * end and the remote's port is 0. Addresses and ports host order here. */
struct flow_key egress_key(uint8_t proto, uint32_t sandbox,
			   uint16_t sandbox_port, uint32_t remote,
			   uint16_t remote_port)
{
	struct flow_key key;

	memset(&key, 0, sizeof(key));
	key.src_addr = htonl(sandbox);
	key.dst_addr = htonl(remote);
	key.src_port = htons(sandbox_port);
	key.dst_port = htons(remote_port);
	key.proto = proto;
	return key;
}

struct mapping_key mapping_key(uint8_t proto, uint32_t sandbox,
			       uint16_t sandbox_port)
{
	struct mapping_key key;

	memset(&key, 0, sizeof(key));
	key.sandbox_addr = htonl(sandbox);
	key.sandbox_port = htons(sandbox_port);
	key.proto = proto;
	key.attachment = TEST_IFINDEX;
	return key;
}

struct port_key port_key(uint8_t proto, uint32_t shared, uint16_t shared_port,
			 __u32 attachment)
{
	struct port_key key;

	memset(&key, 0, sizeof(key));
	key.attachment = attachment;
	key.shared_addr = htonl(shared);
	key.shared_port = htons(shared_port);
	key.proto = proto;
	return key;
}

struct reply_key reply_key(uint8_t proto, uint32_t remote,
			   uint16_t remote_port, uint32_t shared,
			   uint16_t shared_port, __u32 attachment)
{
	struct reply_key key;

	memset(&key, 0, sizeof(key));
	key.attachment = attachment;
	key.remote_addr = htonl(remote);
	key.shared_addr = htonl(shared);
	key.remote_port = htons(remote_port);
	key.shared_port = htons(shared_port);
	key.proto = proto;
	return key;
}

struct flow must_find_flow(const struct flow_key *key, const char *which)
{
	struct flow flow;
	int err = bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), key,
				      &flow);

	ck_assert_msg(!err, "no %s in map flows (%s)", which,
		      strerror(-err));
	return flow;
}

/* The flow of owner's endpoint with the reply's remote, if it answers
 * replies to the reply's shared endpoint: the owner's flow to that remote
 * may have gone out through another one. */
static bool flow_of_owner(const struct mapping_key *owner,
			  const struct reply_key *reply, struct flow_key *key,
			  struct flow *flow)
{
	flow_key_of_owner(owner, reply->remote_addr, reply->remote_port, key);
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), key, flow))
		return false;
	return flow->ifindex == reply->attachment &&
	       flow->nat_addr == reply->shared_addr &&
	       flow->nat_port == reply->shared_port;
}

bool find_reply_flow(uint8_t proto, uint32_t remote, uint16_t remote_port,
		     uint32_t shared, uint16_t shared_port, __u32 attachment,
		     struct flow_key *key, struct flow *flow)
{
	struct reply_key reply = reply_key(proto, remote, remote_port, shared,
					   shared_port, attachment);
	struct port_key port = port_key(proto, shared, shared_port,
					attachment);
	struct mapping_key owner;
	struct port_hold hold;

	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.ports), &port,
				 &hold) &&
	    flow_of_owner(&hold.owner, &reply, key, flow))
		return true;
	return !bpf_map_lookup_elem(bpf_map__fd(skel->maps.replies), &reply,
				    &owner) &&
	       flow_of_owner(&owner, &reply, key, flow);
}

struct flow must_find_reply_flow(uint8_t proto, uint32_t remote,
				 uint16_t remote_port, uint32_t shared,
				 uint16_t shared_port, __u32 attachment,
				 const struct flow_key *want)
{
	struct flow_key key;
	struct flow flow;

	ck_assert_msg(find_reply_flow(proto, remote, remote_port, shared,
				      shared_port, attachment, &key, &flow),
		      "a reply from %#x:%u to %#x:%u (proto %u) reaches no "
		      "flow", remote, remote_port, shared, shared_port, proto);
	ck_assert_msg(!memcmp(&key, want, sizeof(key)), "a reply from %#x:%u "
		      "to %#x:%u (proto %u) reaches the flow of %#x:%u, want "
		      "%#x:%u", remote, remote_port, shared, shared_port, proto,
		      ntohl(key.src_addr), ntohs(key.src_port),
		      ntohl(want->src_addr), ntohs(want->src_port));
	return flow;
}

/* The `ports` entry of a shared endpoint must name its owner (while its
 * mapping lives, and for SHARENAT_PORT_HOLD_SECONDS after). */
void assert_port_owner(uint8_t proto, uint32_t shared, uint16_t port,
		       uint32_t sandbox, uint16_t sandbox_port)
{
	struct mapping_key want = mapping_key(proto, sandbox, sandbox_port);
	struct port_key key = port_key(proto, shared, port, TEST_IFINDEX);
	struct port_hold hold;
	struct mapping_key *owner = &hold.owner;

	ck_assert_uint_eq(bpf_map__value_size(skel->maps.ports), sizeof(hold));
	ck_assert_msg(bpf_map_lookup_elem(bpf_map__fd(skel->maps.ports), &key,
					  &hold) == 0,
		      "shared port %u (proto %u) is not in map ports", port,
		      proto);
	ck_assert_msg(memcmp(owner, &want, sizeof(want)) == 0,
		      "shared port %u is owned by %#x:%u, want %#x:%u", port,
		      ntohl(owner->sandbox_addr), ntohs(owner->sandbox_port),
		      sandbox, sandbox_port);
}

void assert_reply_owner(uint8_t proto, uint32_t remote, uint16_t remote_port,
			uint32_t shared, uint16_t shared_port,
			uint32_t sandbox, uint16_t sandbox_port)
{
	struct reply_key key = reply_key(proto, remote, remote_port, shared,
					 shared_port, TEST_IFINDEX);
	struct mapping_key want = mapping_key(proto, sandbox, sandbox_port);
	struct mapping_key owner;

	ck_assert_msg(bpf_map_lookup_elem(bpf_map__fd(skel->maps.replies),
					  &key, &owner) == 0,
		      "no replies entry for %#x:%u to shared port %u (proto "
		      "%u)", remote, remote_port, shared_port, proto);
	ck_assert_msg(memcmp(&owner, &want, sizeof(want)) == 0,
		      "replies from %#x:%u to shared port %u lead to %#x:%u, "
		      "want %#x:%u", remote, remote_port, shared_port,
		      ntohl(owner.sandbox_addr), ntohs(owner.sandbox_port),
		      sandbox, sandbox_port);
}

static bool has_reply_key(const struct reply_key *key)
{
	struct mapping_key owner;

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.replies), key,
				   &owner) == 0;
}

static enum mapping_behaviour attachment_mapping(void)
{
	__u32 ifindex = TEST_IFINDEX;
	struct attachment att;

	ck_assert_int_eq(bpf_map_lookup_elem(
				bpf_map__fd(skel->maps.attachments), &ifindex,
				&att), 0);
	return att.mapping;
}

/* The shared end and both devices in the flow's one entry; the way back
 * through the mapping's port (endpoint-independent mapping, no reply key)
 * or the flow's own reply key (endpoint-dependent). */
void assert_new_flow(uint8_t proto, uint32_t sandbox, uint16_t sandbox_port,
		     uint32_t remote, uint16_t remote_port, uint32_t shared,
		     uint16_t shared_port)
{
	/* An echo's remote has no port. */
	uint16_t remote_end = proto == PROTO_ICMP ? 0 : remote_port;
	struct flow_key key = egress_key(proto, sandbox, sandbox_port, remote,
					 remote_end);
	struct reply_key reply = reply_key(proto, remote, remote_end, shared,
					   shared_port, TEST_IFINDEX);
	bool dependent = attachment_mapping() == MAPPING_DEPENDENT;
	struct flow flow = must_find_flow(&key, "flow");

	ck_assert_uint_eq(ntohl(flow.nat_addr), shared);
	ck_assert_uint_eq(ntohs(flow.nat_port), shared_port);
	ck_assert_uint_eq(flow.ifindex, TEST_IFINDEX);
	ck_assert_uint_eq(flow.sandbox_ifindex, TEST_IFINDEX);
	ck_assert_uint_eq(flow.dependent, dependent);
	ck_assert_uint_eq(flow.packets_out, 1);
	ck_assert_uint_eq(flow.packets_in, 0);
	ck_assert_uint_eq(flow.tcp_seen_in, 0);
	ck_assert_uint_ne(flow.last_seen, 0);

	if (dependent) {
		assert_reply_owner(proto, remote, remote_end, shared,
				   shared_port, sandbox, sandbox_port);
	} else {
		assert_port_owner(proto, shared, shared_port, sandbox,
				  sandbox_port);
		ck_assert_msg(!has_reply_key(&reply), "an endpoint-"
			      "independent flow has a replies entry");
	}
	must_find_reply_flow(proto, remote, remote_end, shared, shared_port,
			     TEST_IFINDEX, &key);
}

__u64 packets_in_of_all_flows(void)
{
	int fd = bpf_map__fd(skel->maps.flows);
	struct flow_key key, next;
	const void *prev = NULL;
	struct flow flow;
	__u64 sum = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		ck_assert_int_eq(bpf_map_lookup_elem(fd, &next, &flow), 0);
		sum += flow.packets_in;
		key = next;
		prev = &key;
	}
	return sum;
}

struct sandbox must_find_sandbox(uint32_t addr)
{
	__be32 key = htonl(addr);
	struct sandbox sbx;

	ck_assert_msg(bpf_map_lookup_elem(bpf_map__fd(skel->maps.sandboxes),
					  &key, &sbx) == 0,
		      "sandbox %#x is gone from map sandboxes", addr);
	return sbx;
}

/* The shared port (or echo identifier) a sandbox's flow was given. */
uint16_t shared_port_of(uint8_t proto, uint32_t sandbox,
			uint16_t sandbox_port, uint16_t remote_port)
{
	struct flow_key key = egress_key(proto, sandbox, sandbox_port, SERVER,
					 remote_port);

	return ntohs(must_find_flow(&key, "flow").nat_port);
}

/* ---- assertions ---- */

void must_translate(enum hook hook, const struct frame_spec *spec)
{
	struct run run;

	run_frame(hook, spec, &run);
	ck_assert_msg(run.verdict == TC_ACT_REDIRECT, "preparing: a frame "
		      "that must be translated got %s (%d)",
		      verdict_name(hook, run.verdict), run.verdict);
}


void assert_frame_is(const char *name, const struct run *run,
		     const uint8_t *want, size_t want_len)
{
	size_t i;

	ck_assert_msg(run->out_len == want_len, "%s: output is %zu bytes, "
		      "want %zu", name, run->out_len, want_len);
	for (i = 0; i < want_len; i++)
		ck_assert_msg(run->out[i] == want[i], "%s: output byte %zu "
			      "(%s) is %#04x, want %#04x", name, i,
			      frame_field_name(want, want_len, i), run->out[i],
			      want[i]);
}

void assert_counter_steps(const char *name, const __u64 before[COUNTER_MAX],
			  __u64 counted)
{
	__u64 after[COUNTER_MAX];
	__u32 i;

	read_counters(after);
	for (i = 0; i < COUNTER_MAX; i++) {
		__u64 want = (counted >> i) & 1;

		ck_assert_msg(after[i] - before[i] == want, "%s: counter %s "
			      "moved by %llu, want %llu", name,
			      sharenat_counter_name(i),
			      (unsigned long long)(after[i] - before[i]),
			      (unsigned long long)want);
	}
}

/* ---- frames, built per call: ports and addresses vary by test ---- */

/* A new flow's first packet from a sandbox: a TCP SYN, a UDP datagram or,
 * for ICMP, an echo request whose identifier is sandbox_port. */
struct frame_spec from_sandbox(uint8_t proto, uint32_t sandbox,
			       uint16_t sandbox_port, uint32_t remote,
			       uint16_t remote_port)
{
	struct frame_spec f = {
		.kind = FRAME_IPV4, .src_mac = MAC_SBX1, .dst_mac = MAC_HOST,
		.src_addr = sandbox, .dst_addr = remote, .proto = proto,
		.payload = "state",
	};

	if (proto == PROTO_ICMP) {
		f.icmp_type = ICMPT_ECHO;
		f.icmp_id = sandbox_port;
		f.icmp_seq = 1;
	} else {
		f.src_port = sandbox_port;
		f.dst_port = remote_port;
		f.tcp_flags = TCPF_SYN;
	}
	return f;
}

/* The remote's answer to a shared endpoint: SYN-ACK, datagram or echo
 * reply. */
struct frame_spec reply_to_shared(uint8_t proto, uint32_t remote,
				  uint16_t remote_port, uint16_t shared_port)
{
	struct frame_spec f = {
		FROM_SERVER, .src_addr = remote, .proto = proto,
		.payload = "reply",
	};

	if (proto == PROTO_ICMP) {
		f.icmp_type = ICMPT_ECHO_REPLY;
		f.icmp_id = shared_port;
		f.icmp_seq = 1;
	} else {
		f.src_port = remote_port;
		f.dst_port = shared_port;
		f.tcp_flags = TCPF_SYN | TCPF_ACK;
	}
	return f;
}

void translate(uint8_t proto, uint32_t sandbox, uint16_t sandbox_port,
	       uint32_t remote, uint16_t remote_port)
{
	struct frame_spec f = from_sandbox(proto, sandbox, sandbox_port,
					   remote, remote_port);

	must_translate(EGRESS, &f);
}

/* The shared port (or echo identifier) of a sandbox's flow to a remote. */
uint16_t shared_port_to(uint8_t proto, uint32_t sandbox,
			uint16_t sandbox_port, uint32_t remote,
			uint16_t remote_port)
{
	struct flow_key key = egress_key(proto, sandbox, sandbox_port, remote,
					 proto == PROTO_ICMP ? 0 : remote_port);

	return ntohs(must_find_flow(&key, "flow").nat_port);
}

bool has_flow(uint8_t proto, uint32_t sandbox, uint16_t sandbox_port,
	      uint32_t remote, uint16_t remote_port)
{
	struct flow_key key = egress_key(proto, sandbox, sandbox_port, remote,
					 proto == PROTO_ICMP ? 0 : remote_port);
	struct flow flow;

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &key,
				   &flow) == 0;
}

/* ---- reading the state beside the flows ---- */

unsigned int count_entries(struct bpf_map *map)
{
	uint8_t key[64], next[64];
	unsigned int n = 0;
	const void *prev = NULL;
	int fd = bpf_map__fd(map);

	ck_assert_uint_le(bpf_map__key_size(map), sizeof(key));
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		n++;
		memcpy(key, next, sizeof(key));
		prev = key;
	}
	return n;
}

__u32 ports_in_use(uint32_t sandbox)
{
	return must_find_sandbox(sandbox).ports_in_use;
}

void read_function_counters(__u32 id, __u64 sums[FUNCTION_COUNTER_MAX])
{
	int cpus = libbpf_num_possible_cpus();
	struct function_counters *per_cpu;
	int cpu, i;

	ck_assert_msg(cpus > 0, "libbpf_num_possible_cpus: %s",
		      strerror(-cpus));
	/* Per-CPU values are 8-byte aligned; this struct already is. */
	ck_assert_uint_eq(sizeof(*per_cpu) % 8, 0);
	per_cpu = calloc((size_t)cpus, sizeof(*per_cpu));
	ck_assert_ptr_nonnull(per_cpu);
	ck_assert_msg(bpf_map_lookup_elem(
			bpf_map__fd(skel->maps.function_counters), &id,
			per_cpu) == 0, "reading function_counters[%u]", id);
	for (i = 0; i < FUNCTION_COUNTER_MAX; i++) {
		sums[i] = 0;
		for (cpu = 0; cpu < cpus; cpu++)
			sums[i] += per_cpu[cpu].values[i];
	}
	free(per_cpu);
}

/* Every per-function counter of function id is exactly as in want. */
void assert_function_counters(const char *when, __u32 id,
			      const __u64 want[FUNCTION_COUNTER_MAX])
{
	__u64 got[FUNCTION_COUNTER_MAX];
	int i;

	read_function_counters(id, got);
	for (i = 0; i < FUNCTION_COUNTER_MAX; i++)
		ck_assert_msg(got[i] == want[i], "%s: function %u counter %s "
			      "is %llu, want %llu", when, id,
			      sharenat_function_counter_name(i),
			      (unsigned long long)got[i],
			      (unsigned long long)want[i]);
}

__u64 counter(enum counter which)
{
	__u64 sums[COUNTER_MAX];

	read_counters(sums);
	return sums[which];
}

/* ---- configuration beyond the base ---- */

void set_mapping(enum mapping_behaviour mapping)
{
	struct attachment att = base_attachment();

	att.mapping = mapping;
	put_attachment(&att);
}

void set_timeouts(enum mapping_behaviour mapping,
		  struct flow_timeouts timeouts)
{
	struct attachment att = base_attachment();

	att.mapping = mapping;
	att.timeouts = timeouts;
	put_attachment(&att);
}

void mark_shared_addr_added(void)
{
	__u32 ifindex = TEST_IFINDEX;
	struct attachment att;

	ck_assert_int_eq(bpf_map_lookup_elem(
				bpf_map__fd(skel->maps.attachments), &ifindex,
				&att), 0);
	att.added_addrs = 1;
	put_attachment(&att);
}

void set_port_quota(__u32 quota)
{
	struct function fn = base_function();

	fn.port_quota = quota;
	put_function(&fn);
}

/* Sandboxes 100.64.0.2 .. 100.64.0.(n + 1) of f1 besides sandbox 1. */
void add_sandboxes(unsigned int n)
{
	char id[16];
	unsigned int i;

	for (i = 2; i < n + 2; i++) {
		struct sandbox sbx;

		snprintf(id, sizeof(id), "s%u", i);
		sbx = sandbox_at(ADDR(100, 64, 0, i), id);
		put_sandbox(&sbx);
	}
}

/* ---- refusals ---- */

void assert_refused(const struct frame_spec *spec, __u64 why,
		    const char *what)
{
	unsigned int flows = count_flow_entries();
	unsigned int mappings = count_entries(skel->maps.mappings);
	unsigned int ports = count_entries(skel->maps.ports);
	unsigned int replies = count_entries(skel->maps.replies);
	__u32 in_use = ports_in_use(spec->src_addr);
	bool silent = why == COUNTED(DROP_SECURITY_GROUP);
	__u64 before[COUNTER_MAX];
	struct run run;

	read_counters(before);
	run_frame(EGRESS, spec, &run);
	if (silent) {
		ck_assert_msg(run.verdict == TC_ACT_SHOT, "%s: verdict %s, "
			      "want TC_ACT_SHOT", what,
			      verdict_name(EGRESS, run.verdict));
		assert_frame_is(what, &run, run.in, run.in_len);
		assert_counter_steps(what, before, why);
	} else {
		assert_icmp_error_about(what, &run, ICMPT_DEST_UNREACH,
					why == COUNTED(DROP_NO_ROUTE) ? 0 : 13,
					0, SANDBOX_GATEWAY);
		assert_counter_steps(what, before,
				     why | COUNTED(ICMP_ERROR_SENT));
	}
	ck_assert_uint_eq(count_flow_entries(), flows);
	ck_assert_uint_eq(count_entries(skel->maps.mappings), mappings);
	ck_assert_uint_eq(count_entries(skel->maps.ports), ports);
	ck_assert_uint_eq(count_entries(skel->maps.replies), replies);
	ck_assert_uint_eq(ports_in_use(spec->src_addr), in_use);
}

void assert_unsolicited(const struct frame_spec *spec, const char *what)
{
	__u64 packets_in = packets_in_of_all_flows();
	__u64 before[COUNTER_MAX];
	struct run run;

	read_counters(before);
	run_frame(INGRESS, spec, &run);
	ck_assert_msg(run.verdict == TC_ACT_SHOT, "%s: verdict %s, want "
		      "TC_ACT_SHOT (unsolicited)", what,
		      verdict_name(INGRESS, run.verdict));
	assert_frame_is(what, &run, run.in, run.in_len);
	assert_counter_steps(what, before, COUNTED(DROP_UNSOLICITED));
	ck_assert_msg(packets_in_of_all_flows() == packets_in, "%s: a flow "
		      "counted the packet in", what);
}

void assert_icmp_error_about(const char *what, const struct run *run,
			     uint8_t type, uint8_t code, uint32_t rest,
			     uint32_t from)
{
	const uint8_t *in_ip = run->in + IP_OFF, *ip = run->out + IP_OFF;
	const uint8_t *icmp = ip + IP_MIN_LEN;
	size_t in_ihl = (size_t)(in_ip[0] & 0x0f) * 4;
	size_t quote = in_ihl + 20, error_len;
	const char *bad;

	if (quote > get_be16(in_ip + IP_TOT_LEN_OFF))
		quote = get_be16(in_ip + IP_TOT_LEN_OFF);
	error_len = IP_MIN_LEN + 8 + quote;
	ck_assert_msg(run->verdict == TC_ACT_REDIRECT, "%s: verdict %s, want "
		      "TC_ACT_REDIRECT (the error sent back)", what,
		      verdict_name(EGRESS, run->verdict));
	ck_assert_msg(run->out_len == IP_OFF + error_len, "%s: the error is "
		      "%zu bytes, want %zu (IP, ICMP, quote of %zu)", what,
		      run->out_len, IP_OFF + error_len, quote);
	ck_assert_msg(!memcmp(run->out + ETH_DST_OFF, run->in + ETH_SRC_OFF, 6) &&
		      !memcmp(run->out + ETH_SRC_OFF, run->in + ETH_DST_OFF, 6),
		      "%s: the error's MACs are not the packet's, swapped", what);
	ck_assert_uint_eq(get_be16(run->out + ETH_TYPE_OFF), ETHERTYPE_IPV4);
	ck_assert_uint_eq(ip[0], 0x45);
	ck_assert_uint_eq(get_be16(ip + IP_TOT_LEN_OFF), error_len);
	ck_assert_uint_eq(ip[IP_PROTO_OFF], PROTO_ICMP);
	ck_assert_uint_eq(get_be32(ip + IP_SRC_OFF), from);
	ck_assert_uint_eq(get_be32(ip + IP_DST_OFF),
			  get_be32(in_ip + IP_SRC_OFF));
	ck_assert_msg(icmp[0] == type && icmp[1] == code, "%s: ICMP %u/%u, "
		      "want %u/%u", what, icmp[0], icmp[1], type, code);
	ck_assert_uint_eq(get_be32(icmp + 4), rest);
	ck_assert_msg(!memcmp(icmp + 8, in_ip, quote), "%s: the error does "
		      "not quote the packet's IP header and first bytes", what);
	bad = frame_checksum_error(run->out, run->out_len);
	ck_assert_msg(!bad, "%s: %s", what, bad);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the BPF_PROG_TEST_RUN suites (test_bpf.c, test_nat_state.c,
 * test_nat_policy.c) share: the addresses of the test topology, a fresh
 * unpinned skeleton per test with the base configuration (attachment
 * 10.0.1.0/24 on ifindex 1, shared address 10.0.1.5, function f1, sandbox
 * s1 = 100.64.0.1), running one frame through one program, and map readers
 * that fail the test with a message instead of returning an error.
 *
 * A test run's skb (and XDP frame) comes in on ifindex 1 (loopback), so
 * the sandbox device and the shared device of these tests are both
 * ifindex 1.
 */
#ifndef SHARENAT_TEST_BPF_FIXTURE_H
#define SHARENAT_TEST_BPF_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libsharenat.h"
#include "packet.h"
#include "sharenat.skel.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Newer than the distribution's uapi headers; the kernel has it. */
#ifndef BPF_F_TEST_SKB_CHECKSUM_COMPLETE
#define BPF_F_TEST_SKB_CHECKSUM_COMPLETE (1U << 2)
#endif

#define TEST_IFINDEX 1		/* skb->ifindex in a test run */
/* Loopback's MTU in the tests' namespace (main.c): the device every
 * test packet leaves by, so a larger one is too big for it. */
#define TEST_MTU 1280
#define OTHER_IFINDEX 2		/* an attachment the test run is not on */
#define FUNCTION_ID 1
#define PORT_LO 1024
#define PORT_HI 65535

/* Sandbox side. */
#define SBX1 ADDR(100, 64, 0, 1)
#define SBX2 ADDR(100, 64, 0, 2)
#define NOT_A_SANDBOX ADDR(100, 64, 0, 9)
#define SANDBOX_GATEWAY ADDR(169, 254, 1, 1)
/* Customer side: subnet 10.0.1.0/24. */
#define SUBNET ADDR(10, 0, 1, 0)
#define SUBNET_MASK ADDR(255, 255, 255, 0)
#define SHARED ADDR(10, 0, 1, 5)
#define SHARED2 ADDR(10, 0, 1, 6)
#define SERVER ADDR(10, 0, 1, 10)
#define OTHER_SERVER ADDR(10, 0, 1, 11)
#define CUSTOMER_GATEWAY ADDR(10, 0, 1, 1)
#define OUTSIDE ADDR(192, 168, 7, 7)
/* A second customer subnet of f1, on another attachment. */
#define SUBNET_2 ADDR(10, 0, 2, 0)
#define SHARED_ON_SUBNET_2 ADDR(10, 0, 2, 5)
#define SERVER_ON_SUBNET_2 ADDR(10, 0, 2, 10)

#define MAC_SBX1 { 0x02, 0x5b, 0x00, 0x00, 0x00, 0x01 }
#define MAC_SBX2 { 0x02, 0x5b, 0x00, 0x00, 0x00, 0x02 }
#define MAC_STATIC { 0x02, 0x5b, 0x00, 0x00, 0x00, 0x99 }
#define MAC_HOST { 0x02, 0x40, 0x00, 0x00, 0x00, 0x01 }	/* sandbox dev */
#define MAC_SHARED { 0x02, 0xe0, 0x00, 0x00, 0x00, 0x05 }	/* shared dev */
#define MAC_CUSTOMER { 0x02, 0xc0, 0x00, 0x00, 0x00, 0x0a }
#define MAC_BROADCAST { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }

/* Sandbox 1 to the server, as sent to its gateway's MAC. */
#define FROM_SBX1							\
	.kind = FRAME_IPV4, .src_mac = MAC_SBX1, .dst_mac = MAC_HOST,	\
	.src_addr = SBX1

/* The server to the shared address, as it arrives on the shared device. */
#define FROM_SERVER							\
	.kind = FRAME_IPV4, .src_mac = MAC_CUSTOMER,			\
	.dst_mac = MAC_SHARED, .dst_addr = SHARED

/* A bit per counter of enum counter, for "these moved by one". */
#define COUNTED(name) (1ull << COUNTER_##name)

/* ---- fixture: a fresh skeleton per test, nothing pinned ---- */

extern struct sharenat_bpf *skel;
/* Full-table tests, set before load_programs: the map of this name gets
 * room for sized_map_entries entries (NULL: every map as built). */
extern const char *sized_map;
extern __u32 sized_map_entries;
/* Nonzero: the expiry queue's room as the programs see it, set before
 * load_programs (a full queue without filling it). */
extern __u64 expiry_queue_room_for_test;

/* Checked fixture: fails the test (with the reason) when not root or when
 * the object does not load. */
void load_programs(void);
void unload_programs(void);

void put(struct bpf_map *map, const void *key, const void *value);
void delete(struct bpf_map *map, const void *key);

struct attachment base_attachment(void);
struct function base_function(void);
/* A sandbox of f1 on the test device whose MAC is to be learned. */
struct sandbox sandbox_at(uint32_t addr, const char *id);
void put_attachment(const struct attachment *att);
void put_function(const struct function *fn);
void put_sandbox(const struct sandbox *sbx);

/* ---- running a frame ---- */

enum hook {
	EGRESS = 1,		/* tc, sandbox -> customer */
	INGRESS,		/* tc, customer -> sandbox */
	XDP_INGRESS,		/* XDP in front of tc ingress */
	XDP_EGRESS,		/* XDP in front of tc egress */
};

struct run {
	int verdict;
	uint8_t in[FRAME_MAX];
	size_t in_len;
	uint8_t out[FRAME_MAX];
	size_t out_len;
};

/* XDP and tc verdicts share numbers (XDP_PASS is TC_ACT_SHOT's 2). */
const char *verdict_name(enum hook hook, int verdict);
struct bpf_program *program_of(enum hook hook);
/* One BPF_PROG_TEST_RUN; returns its error (negative errno) or 0. */
int try_run(enum hook hook, const struct frame_spec *spec, __u32 flags,
	    struct run *run);
void run_frame(enum hook hook, const struct frame_spec *spec, struct run *run);
/* A frame that must come out translated (TC_ACT_REDIRECT). */
void must_translate(enum hook hook, const struct frame_spec *spec);

/* The next non-atomic datagram out gets IP id 1 again (bpf/ip_id.h). */
void restart_ip_ids(void);

/* ---- reading the maps ---- */

void read_counters(__u64 sums[COUNTER_MAX]);
unsigned int count_flow_entries(void);
/* Keys as include/sharenat.h describes them; host order arguments. A
 * flow's key is the packet as its sandbox sends it. */
struct flow_key egress_key(uint8_t proto, uint32_t sandbox,
			   uint16_t sandbox_port, uint32_t remote,
			   uint16_t remote_port);
/* A sandbox endpoint towards the test attachment (maps `mappings`,
 * `ports` and `replies` name owners so). */
struct mapping_key mapping_key(uint8_t proto, uint32_t sandbox,
			       uint16_t sandbox_port);
struct port_key port_key(uint8_t proto, uint32_t shared, uint16_t shared_port,
			 __u32 attachment);
struct reply_key reply_key(uint8_t proto, uint32_t remote,
			   uint16_t remote_port, uint32_t shared,
			   uint16_t shared_port, __u32 attachment);
struct flow must_find_flow(const struct flow_key *key, const char *which);
/* The flow a reply from remote to a shared endpoint of attachment reaches,
 * followed as ingress follows it: through the endpoint's owner in `ports`,
 * else the `replies` entry for this remote; its key in *key. false when
 * the way ends before a flow that answers there. */
bool find_reply_flow(uint8_t proto, uint32_t remote, uint16_t remote_port,
		     uint32_t shared, uint16_t shared_port, __u32 attachment,
		     struct flow_key *key, struct flow *flow);
/* The same, failing the test when the reply reaches no flow, or the flow
 * of another sandbox endpoint than want's. */
struct flow must_find_reply_flow(uint8_t proto, uint32_t remote,
				 uint16_t remote_port, uint32_t shared,
				 uint16_t shared_port, __u32 attachment,
				 const struct flow_key *want);
/* The `ports` entry of a shared endpoint must name this owner. */
void assert_port_owner(uint8_t proto, uint32_t shared, uint16_t port,
		       uint32_t sandbox, uint16_t sandbox_port);
/* The `replies` entry of a reply must name this owner. */
void assert_reply_owner(uint8_t proto, uint32_t remote, uint16_t remote_port,
			uint32_t shared, uint16_t shared_port,
			uint32_t sandbox, uint16_t sandbox_port);
/* A flow that has seen one packet out and none in, on the test devices,
 * whose replies come back to it: through its mapping's port or its own
 * `replies` entry, as the attachment's mapping behaviour says. */
void assert_new_flow(uint8_t proto, uint32_t sandbox, uint16_t sandbox_port,
		     uint32_t remote, uint16_t remote_port, uint32_t shared,
		     uint16_t shared_port);
/* Packets in of every flow, summed. */
__u64 packets_in_of_all_flows(void);
struct sandbox must_find_sandbox(uint32_t addr);
/* The shared port (or echo identifier) of a sandbox's flow to SERVER. */
uint16_t shared_port_of(uint8_t proto, uint32_t sandbox,
			uint16_t sandbox_port, uint16_t remote_port);

/* ---- frames, built per call: ports and addresses vary by test ---- */

/* A new flow's first packet from a sandbox: a TCP SYN, a UDP datagram or,
 * for ICMP, an echo request whose identifier is sandbox_port. */
struct frame_spec from_sandbox(uint8_t proto, uint32_t sandbox,
			       uint16_t sandbox_port, uint32_t remote,
			       uint16_t remote_port);
/* The remote's answer to a shared endpoint: SYN-ACK, datagram or echo
 * reply. */
struct frame_spec reply_to_shared(uint8_t proto, uint32_t remote,
				  uint16_t remote_port, uint16_t shared_port);
/* from_sandbox() through egress, which must translate it. */
void translate(uint8_t proto, uint32_t sandbox, uint16_t sandbox_port,
	       uint32_t remote, uint16_t remote_port);
/* The shared port (or echo identifier) of a sandbox's flow to a remote. */
uint16_t shared_port_to(uint8_t proto, uint32_t sandbox,
			uint16_t sandbox_port, uint32_t remote,
			uint16_t remote_port);
bool has_flow(uint8_t proto, uint32_t sandbox, uint16_t sandbox_port,
	      uint32_t remote, uint16_t remote_port);

/* ---- reading the state beside the flows ---- */

unsigned int count_entries(struct bpf_map *map);
__u32 ports_in_use(uint32_t sandbox);
/* Summed over CPUs. */
void read_function_counters(__u32 id, __u64 sums[FUNCTION_COUNTER_MAX]);
/* Every per-function counter of function id is exactly as in want. */
void assert_function_counters(const char *when, __u32 id,
			      const __u64 want[FUNCTION_COUNTER_MAX]);
/* One global counter, summed over CPUs. */
__u64 counter(enum counter which);

/* ---- configuration beyond the base ---- */

void set_mapping(enum mapping_behaviour mapping);
void set_timeouts(enum mapping_behaviour mapping,
		  struct flow_timeouts timeouts);
/* As if sharenat had added the shared address to the device: an
 * unsolicited packet to it is then dropped and counted (drop_unsolicited)
 * instead of passed to the host. */
void mark_shared_addr_added(void);
/* f1's port quota; 0 means the default. */
void set_port_quota(__u32 quota);
/* Sandboxes 100.64.0.2 .. 100.64.0.(n + 1) of f1 besides sandbox 1. */
void add_sandboxes(unsigned int n);

/* ---- assertions ---- */

void assert_frame_is(const char *name, const struct run *run,
		     const uint8_t *want, size_t want_len);
/* Exactly the counters in `counted` moved, each by one, since `before`. */
void assert_counter_steps(const char *name, const __u64 before[COUNTER_MAX],
			  __u64 counted);
/* A new flow's first packet is refused for the counters in `why`: no
 * flow entry, mapping, port, reply key or quota taken; the sandbox told so by an
 * ICMP destination unreachable from its gateway, except for a security
 * group's refusal, which drops the frame unchanged. */
void assert_refused(const struct frame_spec *spec, __u64 why,
		    const char *what);
/* A packet in on the shared device that must reach no sandbox: dropped
 * untouched as unsolicited, counted by no flow. */
void assert_unsolicited(const struct frame_spec *spec, const char *what);
/* run's output is the NAT's own ICMP error type/code (and rest: the last
 * four bytes of its header) from `from` about run's input, sent back to
 * its sender. */
void assert_icmp_error_about(const char *what, const struct run *run,
			     uint8_t type, uint8_t code, uint32_t rest,
			     uint32_t from);

#endif /* SHARENAT_TEST_BPF_FIXTURE_H */

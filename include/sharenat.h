/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one definition of everything the BPF programs and the loader share:
 * map keys and values, limits, and the named counters.
 *
 * Byte order: fields named *_addr and *_port are network order (they are
 * compared with packet bytes); everything else is host order.
 */
#ifndef SHARENAT_H
#define SHARENAT_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#define SHARENAT_NAME_MAX 32		/* function, group and sandbox names, NUL included */
#define SHARENAT_MAX_SHARED_ADDRS 4	/* --ip per attachment */
#define SHARENAT_MAX_FUNCTION_SUBNETS 4	/* --subnet per function */

#define SHARENAT_MAX_ATTACHMENTS 256
#define SHARENAT_MAX_FUNCTIONS 4096
#define SHARENAT_MAX_SANDBOXES 16384
/* Two entries per flow (one per direction), so half of this many flows. */
#define SHARENAT_MAX_FLOW_ENTRIES 262144

/* The sandbox pool (RFC 6598 shared address space) and the gateway that
 * every sandbox routes through; sharenat answers ARP for it. */
#define SHARENAT_POOL_ADDR 0x64400000u	/* 100.64.0.0, host order */
#define SHARENAT_POOL_MASK 0xffc00000u	/* /10 */
#define SHARENAT_GATEWAY_ADDR 0xa9fe0101u	/* 169.254.1.1, host order */

/* How many candidate shared ports a new flow tries before it is refused. */
#define SHARENAT_PORT_PROBES 32

/* tc filter identity, so the loader finds and removes exactly its own. */
#define SHARENAT_TC_HANDLE 0x5a7
#define SHARENAT_TC_PRIORITY 1

/* The hook of the ingress program on a shared device. tc always runs; XDP
 * runs in front of it where that was measured to pay (not on veth, where
 * an XDP program turns TSO off on the peer) and hands tc what it cannot
 * finish itself. */
enum ingress_hook {
	INGRESS_HOOK_TC = 0,
	INGRESS_HOOK_XDP = 1,
};

enum mapping_behaviour {
	MAPPING_INDEPENDENT = 0,	/* RFC 4787 endpoint-independent */
	MAPPING_DEPENDENT = 1,		/* shared port reused across remotes */
};

/* Key of the name indexes `function_ids` and `sandbox_ids`. */
struct name_key {
	char name[SHARENAT_NAME_MAX];
};

/* Value of map `attachments`, keyed by the shared device's ifindex. */
struct attachment {
	__u32 ifindex;
	__be32 subnet_addr;
	__be32 subnet_mask;
	__be32 gateway_addr;		/* 0: only the subnet is reachable */
	__be32 shared_addrs[SHARENAT_MAX_SHARED_ADDRS];
	__u32 shared_addr_count;
	__u16 port_lo;			/* shared port range, host order */
	__u16 port_hi;
	__u8 mapping;			/* enum mapping_behaviour */
	__u8 hook;			/* enum ingress_hook */
	/* bit i: the loader added shared_addrs[i] to the device and removes
	 * it on detach; an address the user configured is left alone. */
	__u8 added_addrs;
	__u8 pad;
};

/* One (subnet, attachment) pair of a function. */
struct function_subnet {
	__be32 subnet_addr;
	__be32 subnet_mask;
	__u32 attachment;		/* ifindex of the shared device */
};

/* Value of map `functions`, keyed by function id. */
struct function {
	char name[SHARENAT_NAME_MAX];
	struct function_subnet subnets[SHARENAT_MAX_FUNCTION_SUBNETS];
	__u32 subnet_count;
	__u32 id;
};

/* Value of map `sandboxes`, keyed by the sandbox's address (network
 * order): sandbox addresses are unique on a host, which is what lets an
 * egress flow be keyed by the sandbox side alone. */
struct sandbox {
	char id[SHARENAT_NAME_MAX];
	__u32 function_id;
	__u32 ifindex;			/* host-side device */
	__be32 addr;
	__u8 mac[6];			/* the sandbox's own MAC */
	__u8 host_mac[6];		/* MAC of the host-side device */
	__u8 mac_static;		/* 1: --mac given, never learned over */
	/* 1: the device takes XDP frames (tun/tap), so XDP ingress may
	 * redirect to it; a veth only does when its peer runs NAPI, which
	 * cannot be seen from this side, so veth sandboxes take tc's path. */
	__u8 xdp_frames;
	__u8 pad[2];
	__u64 added_ns;			/* CLOCK_MONOTONIC at sandbox add */
};

enum flow_direction {
	FLOW_EGRESS = 1,		/* key seen from the sandbox side */
	FLOW_INGRESS = 2,		/* key seen from the customer side */
};

/*
 * Key of map `flows`. An egress key is the packet as the sandbox sends it
 * (src = sandbox); an ingress key is the reply as the customer sends it
 * (dst = shared address) and is scoped by attachment, because two
 * customers may use the same addresses. For ICMP echo the identifier
 * stands in the port that names the local end (src_port egress, dst_port
 * ingress) and the other port is 0.
 */
struct flow_key {
	__be32 src_addr;
	__be32 dst_addr;
	__be16 src_port;
	__be16 dst_port;
	__u8 proto;
	__u8 direction;			/* enum flow_direction */
	__u16 pad;
	__u32 attachment;		/* ingress: shared device ifindex; egress: 0 */
};

enum flow_tcp_state {
	TCP_STATE_NONE = 0,
	TCP_STATE_SYN_SENT,
	TCP_STATE_ESTABLISHED,
	TCP_STATE_FIN_WAIT,
	TCP_STATE_CLOSED,		/* RST seen or both FINs */
};

/*
 * Value of map `flows`. Both entries of a pair name the address and port
 * that replace the packet's local end: egress, the shared address and port
 * (new source); ingress, the sandbox's address and port (new destination).
 */
struct flow {
	__be32 nat_addr;
	__be16 nat_port;
	__u8 tcp_state;			/* enum flow_tcp_state, egress entry */
	__u8 pad;
	__u32 ifindex;			/* device the packet is redirected to */
	__be32 next_hop;		/* egress: customer-side next hop */
	__u64 created_ns;
	__u64 last_seen_ns;
	__u64 packets;
};

/*
 * Named counters of map `counters` (per-CPU array indexed by the enum).
 * X(name, "text"): the enum and the string table in user/ come from this
 * one list, so a counter cannot be added without its name.
 */
#define SHARENAT_COUNTERS(X)						\
	X(EGRESS_TRANSLATED, "egress_translated")			\
	X(INGRESS_TRANSLATED, "ingress_translated")			\
	X(INGRESS_XDP_FAST_PATH, "ingress_xdp_fast_path")		\
	X(INGRESS_XDP_TO_TC, "ingress_xdp_to_tc")			\
	X(FLOW_CREATED, "flow_created")					\
	X(ARP_REPLIED, "arp_replied")					\
	X(INGRESS_NOT_OURS, "ingress_not_ours")				\
	X(DROP_SPOOFED_SOURCE, "drop_spoofed_source")			\
	X(DROP_NO_ROUTE, "drop_no_route")				\
	X(DROP_NOT_IPV4, "drop_not_ipv4")				\
	X(DROP_UNSUPPORTED, "drop_unsupported")			\
	X(DROP_MALFORMED, "drop_malformed")				\
	X(DROP_TTL_EXCEEDED, "drop_ttl_exceeded")			\
	X(DROP_NO_PORT, "drop_no_port")					\
	X(DROP_FLOW_TABLE_FULL, "drop_flow_table_full")			\
	X(DROP_STALE_FLOW, "drop_stale_flow")

#define SHARENAT_COUNTER_ENUM(name, text) COUNTER_##name,
enum counter {
	SHARENAT_COUNTERS(SHARENAT_COUNTER_ENUM)
	COUNTER_MAX
};
#undef SHARENAT_COUNTER_ENUM

#endif /* SHARENAT_H */

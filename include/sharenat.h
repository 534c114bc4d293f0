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
#define SHARENAT_INLINE static __always_inline
#else
#include <linux/bpf.h>
#include <linux/types.h>
#define SHARENAT_INLINE static inline
#endif

#define SHARENAT_NAME_MAX 32		/* function, group and sandbox names, NUL included */
#define SHARENAT_MAX_SHARED_ADDRS 4	/* --ip per attachment */
#define SHARENAT_MAX_FUNCTION_SUBNETS 4	/* --subnet per function */
#define SHARENAT_MAX_SG_RULES 16		/* --allow per security group */

#define SHARENAT_MAX_ATTACHMENTS 256
#define SHARENAT_MAX_FUNCTIONS 4096	/* ids are 1 .. this - 1 */
#define SHARENAT_MAX_SECURITY_GROUPS 1024
#define SHARENAT_MAX_SANDBOXES 16384
/* One entry of map `flows` per flow, both directions in it. */
#define SHARENAT_MAX_FLOWS 262144
/* Datagrams in fragments being translated at once, and how long a
 * datagram's fragments may take (Linux's own ipfrag_time). */
#define SHARENAT_MAX_FRAGMENTED 8192
#define SHARENAT_FRAGMENT_TIMEOUT 30
/* Later fragments held until their first arrives: how many at once (over
 * all datagrams), how many of one datagram, and the largest frame held
 * (a full frame of a 1500-byte MTU). Past any of these they are dropped
 * and counted; memory is SHARENAT_MAX_HELD_FRAGMENTS frames, ~400 KiB. */
#define SHARENAT_MAX_HELD_FRAGMENTS 256
#define SHARENAT_HELD_PER_DATAGRAM 8
#define SHARENAT_HELD_FRAME_BYTES 1536
/* Endpoint-independent mappings (and the shared ports they hold). */
#define SHARENAT_MAX_MAPPINGS 131072

/* The sandbox pool (RFC 6598 shared address space) and the gateway that
 * every sandbox routes through; sharenat answers ARP for it. */
#define SHARENAT_POOL_ADDR 0x64400000u	/* 100.64.0.0, host order */
#define SHARENAT_POOL_MASK 0xffc00000u	/* /10 */
#define SHARENAT_GATEWAY_ADDR 0xa9fe0101u	/* 169.254.1.1, host order */

/* Default idle timeouts, seconds: RFC 5382 (TCP established >= 2 h 4 min,
 * transitory >= 4 min), RFC 4787 (UDP >= 2 min, 5 recommended), RFC 5508
 * (ICMP query >= 60 s). */
#define SHARENAT_TCP_ESTABLISHED_TIMEOUT 7440
#define SHARENAT_TCP_TRANSITORY_TIMEOUT 240
#define SHARENAT_UDP_TIMEOUT 300
#define SHARENAT_ICMP_TIMEOUT 60

/* Default shared ports one sandbox may hold at once (see docs/cli.md). */
#define SHARENAT_DEFAULT_PORT_QUOTA 1024

/* How many candidate shared ports a new flow tries before it is refused. */
#define SHARENAT_PORT_PROBES 32

/* tc filter identity, so the loader finds and removes exactly its own. */
#define SHARENAT_TC_HANDLE 0x5a7
#define SHARENAT_TC_PRIORITY 1

/* The hook of the NAT on a device: the ingress program on a shared device,
 * the egress program on a sandbox's. tc always runs; XDP runs in front of
 * it where that was measured to pay (packet rate; not bulk TCP on a veth,
 * where an XDP program turns TSO off on the peer) and hands tc what it
 * cannot finish itself. */
enum nat_hook {
	NAT_HOOK_TC = 0,
	NAT_HOOK_XDP = 1,
};

enum mapping_behaviour {
	MAPPING_INDEPENDENT = 0,	/* RFC 4787 endpoint-independent */
	MAPPING_DEPENDENT = 1,		/* shared port reused across remotes */
};

/* Key of the name indexes `function_ids` and `sandbox_ids`. */
struct name_key {
	char name[SHARENAT_NAME_MAX];
};

/* Idle timeouts of an attachment's flows, in seconds. */
struct flow_timeouts {
	__u32 tcp_established;
	__u32 tcp_transitory;
	__u32 udp;
	__u32 icmp;
};

/* Value of map `attachments`, keyed by the shared device's ifindex. */
struct attachment {
	__u32 ifindex;
	__be32 subnet_addr;
	__be32 subnet_mask;
	__be32 gateway_addr;		/* 0: only the subnet is reachable */
	__be32 shared_addrs[SHARENAT_MAX_SHARED_ADDRS];
	__u32 shared_addr_count;
	__u32 counter_slot;		/* its index in attachment_counters */
	__u16 port_lo;			/* shared port range, host order */
	__u16 port_hi;
	__u8 mapping;			/* enum mapping_behaviour */
	__u8 hook;			/* enum nat_hook */
	/* bit i: the loader added shared_addrs[i] to the device and removes
	 * it on detach; an address the user configured is left alone. */
	__u8 added_addrs;
	__u8 arp_ignore_before;		/* the device's arp_ignore before attach */
	__u8 mac[6];			/* the device's own MAC */
	__u8 pad[2];
	struct flow_timeouts timeouts;
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
	__u32 security_group;		/* id; 0: no group, everything allowed */
	__u32 port_quota;		/* shared ports one sandbox may hold */
};

/* One egress allow rule: protocol (0: all), destination CIDR, and for TCP
 * and UDP a destination port range (host order, inclusive). */
struct sg_rule {
	__be32 addr;
	__be32 mask;
	__u16 port_lo;
	__u16 port_hi;
	__u8 proto;
	__u8 pad[3];
};

/* Value of map `security_groups`, keyed by group id. Once a function has a
 * group, a new flow that no rule allows is dropped. */
struct security_group {
	char name[SHARENAT_NAME_MAX];
	__u32 id;
	__u32 rule_count;
	struct sg_rule rules[SHARENAT_MAX_SG_RULES];
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
	__u8 hook;			/* enum nat_hook of its egress program */
	__u8 pad;
	/* Flows (each holds one shared port) this sandbox has now: egress
	 * adds one per new flow, expiry takes it back. */
	__u32 ports_in_use;
	__u32 counter_slot;		/* its index in sandbox_counters */
	__u64 added_ns;			/* CLOCK_MONOTONIC at sandbox add */
};

/* Value of map `sandbox_devices`, keyed by ifindex: a device made ready
 * for sandboxes before they come (`sharenat device add`, a pool of taps),
 * its egress programs attached, so that a sandbox add on it only writes
 * maps. Its name and MAC tell it from a device that took the index since. */
struct sandbox_device {
	char name[16];			/* IF_NAMESIZE */
	__u8 mac[6];
	__u8 hook;			/* enum nat_hook of its egress programs */
	__u8 pad;
};

/* Which way a packet goes, for state kept per direction (fragments). */
enum flow_direction {
	FLOW_EGRESS = 1,		/* sandbox -> customer */
	FLOW_INGRESS = 2,		/* customer -> sandbox */
};

/*
 * Key of map `flows`: the packet as the sandbox sends it (src = sandbox),
 * which names the flow whichever way a packet goes. It needs no attachment:
 * sandbox addresses are unique on a host. A reply finds it through the
 * owner of the shared endpoint it is sent to (`ports`, or `replies` under
 * endpoint-dependent mapping). For ICMP echo the identifier stands in
 * src_port and dst_port is 0.
 */
struct flow_key {
	__be32 src_addr;
	__be32 dst_addr;
	__be16 src_port;
	__be16 dst_port;
	__u8 proto;
	__u8 pad[3];
};

/*
 * Endpoint-independent mapping (RFC 4787 REQ-1): a sandbox's endpoint keeps
 * one shared endpoint whatever the remote. Key of map `mappings`: the
 * sandbox's endpoint towards one attachment (ICMP: the echo identifier in
 * the port).
 */
struct mapping_key {
	__be32 sandbox_addr;
	__be16 sandbox_port;
	__u8 proto;
	__u8 pad;
	__u32 attachment;
};

/* Value of map `mappings`: the shared endpoint, and how many flows use it
 * (the last one to expire releases the mapping and its port). */
struct mapping {
	__be32 shared_addr;
	__be16 shared_port;
	__u16 pad;
	__u32 flows;
};

/* Key of map `ports`: a shared endpoint held by a mapping. It stops two
 * sandboxes from sharing a shared port (no port overloading). */
struct port_key {
	__u32 attachment;
	__be32 shared_addr;
	__be16 shared_port;
	__u8 proto;
	__u8 pad;
};

/* How long a released shared port stays reserved for its last owner
 * before anyone else may have it (RFC 6888 REQ-8: 120 s). */
#define SHARENAT_PORT_HOLD_SECONDS 120

/* Value of map `ports`: the owner, and when its mapping's last flow ended
 * (0 while the mapping lives): the sweeper frees the port
 * SHARENAT_PORT_HOLD_SECONDS later (map `port_hold_queue`). */
struct port_hold {
	struct mapping_key owner;
	__u32 pad;
	__u64 released_ns;		/* bpf_ktime_get_coarse_ns() */
};

/* Value of map `port_hold_queue`: a released port to free once due_ns,
 * SHARENAT_PORT_HOLD_SECONDS after its release, has passed. */
struct port_hold_ticket {
	struct port_key key;
	__u32 pad;
	__u64 due_ns;
};

/* Key of map `replies` (endpoint-dependent mapping, where one shared port
 * serves many remotes): a reply as the remote sends it, remote -> shared
 * endpoint on one attachment. Its value, a struct mapping_key, is the
 * sandbox endpoint whose flow it answers. */
struct reply_key {
	__u32 attachment;
	__be32 remote_addr;
	__be32 shared_addr;
	__be16 remote_port;		/* ICMP echo: 0 */
	__be16 shared_port;		/* ICMP echo: the identifier */
	__u8 proto;
	__u8 pad[3];
};

/*
 * Key of map `fragments`: one fragmented datagram, as its first fragment
 * arrived (RFC 791: source, destination, protocol and identification name
 * it), scoped by direction and, coming in, by attachment.
 */
struct fragment_key {
	__be32 src_addr;
	__be32 dst_addr;
	__be16 ip_id;
	__u8 proto;
	__u8 direction;			/* enum flow_direction */
	__u32 attachment;		/* ingress: shared device; egress: 0 */
};

/* Value of map `fragments`: what the first fragment was translated to,
 * for the later ones. */
struct fragment {
	__be32 nat_addr;		/* new source (egress), new destination */
	__be32 next_hop;		/* egress */
	__u32 ifindex;			/* where the first fragment went */
	__be16 nat_ip_id;		/* egress: the datagram's new IP id */
	__u16 pad;
	__u64 first_seen_ns;
};

/* Key of map `held_fragments`: one of a datagram's later fragments that
 * came before its first, in the first free of SHARENAT_HELD_PER_DATAGRAM
 * slots. */
struct held_fragment_key {
	struct fragment_key datagram;
	__u32 slot;
};

/* Value of map `held_fragments`: the whole frame, Ethernet header on. */
struct held_fragment {
	__u64 held_ns;
	__u32 len;
	__u32 pad;
	__u8 frame[SHARENAT_HELD_FRAME_BYTES];
};

/* Key of map `neighbours`: a host on a shared device's link, by the
 * address its ARP gave. */
struct neighbour_key {
	__u32 ifindex;			/* the shared device */
	__be32 addr;
};

/* Value of map `neighbours`: the MACs a frame to that host carries, for
 * the XDP egress path, which has no bpf_redirect_neigh. */
struct neighbour_macs {
	__u8 mac[6];			/* the host's, from its ARP */
	__u8 device_mac[6];		/* the shared device's own */
	__u32 pad;
	__u64 learned_ns;		/* coarse clock at its last ARP */
};

/* How long a learned MAC is used without a new ARP from its host: the
 * kernel's own base reachable time. Past it, egress takes tc's path,
 * whose bpf_redirect_neigh has the kernel confirm the neighbour (its ARP
 * probe's answer is learned again). */
#define SHARENAT_NEIGHBOUR_FRESH_SECONDS 30
#define SHARENAT_MAX_NEIGHBOURS 4096

/* Value of map `expiry_sweeper` (one entry): the timer that expires idle
 * flows from `expiry_queue` and drops the held fragments whose first never
 * came, every SHARENAT_SWEEP_TICK_MS, from the programs' load on; how many
 * tickets the queue holds, and how many fragments were held at its last
 * round. */
struct sweeper {
	struct bpf_timer timer;
	__u64 queued;
	__u32 held;
	__u32 pad;
};

/*
 * Flow times are kept in 32 bits, on the flow clock: the monotonic clock in
 * units of 2^20 ns (about 1.05 ms), which wraps every 52 days. Differences
 * are taken modulo 2^32, so they hold for 26 days, well past the longest
 * timeout (a day). Half of a 64-bit time, in every flow: see struct flow.
 */
#define SHARENAT_FLOW_CLOCK_SHIFT 20

SHARENAT_INLINE __u32 flow_clock(__u64 monotonic_ns)
{
	return (__u32)(monotonic_ns >> SHARENAT_FLOW_CLOCK_SHIFT);
}

/* How long ago, in ns, the flow clock read then, as of now_ns; 0 when then
 * is later (a packet on another CPU since now_ns was read). */
SHARENAT_INLINE __u64 flow_clock_since(__u32 then, __u64 now_ns)
{
	__s32 ticks = (__s32)(flow_clock(now_ns) - then);

	return ticks < 0 ? 0 : (__u64)ticks << SHARENAT_FLOW_CLOCK_SHIFT;
}

/*
 * Value of map `expiry_queue`: a flow to look at once due. Every flow has
 * one ticket in the queue, from its first packet on; a look finds it idle
 * for its timeout (the flow expires) or puts a new ticket at the back. The
 * flow's key with its due time where the key has padding: 16 bytes a flow.
 * The due time is the flow clock's bits 6 to 21 (units of 67 ms, wrapping
 * every 73 minutes); a ticket waits seconds, so the comparison modulo
 * 2^16 holds. Made and read with expiry_ticket_make/_key/_due.
 */
struct expiry_ticket {
	__be32 src_addr;
	__be32 dst_addr;
	__be16 src_port;
	__be16 dst_port;
	__u8 proto;
	__u8 pad;
	__u16 due;
};

#define SHARENAT_TICKET_CLOCK_SHIFT 6

SHARENAT_INLINE __u16 expiry_ticket_clock(__u64 monotonic_ns)
{
	return (__u16)(flow_clock(monotonic_ns) >> SHARENAT_TICKET_CLOCK_SHIFT);
}

/* How often the sweeper runs, and how long a flow waits in the queue
 * between two looks: every ticket is due SHARENAT_EXPIRY_RECHECK_MS after
 * it was queued, which keeps the queue in due order. A flow goes at most
 * that much plus a tick after its timeout. */
#define SHARENAT_SWEEP_TICK_MS 250
#define SHARENAT_EXPIRY_RECHECK_MS 1000
/* Most tickets one tick looks at: bounds the sweeper's time in softirq. */
#define SHARENAT_SWEEP_BATCH 16384
/* Tickets a new flow leaves free for the sweeper's own, which it puts back
 * after taking one out: a new flow is refused before the queue is full. */
#define SHARENAT_EXPIRY_QUEUE_HEADROOM 1024
/* Room in `expiry_queue` for a table of this many flows. */
#define SHARENAT_EXPIRY_QUEUE_ROOM(flows) \
	((flows) + SHARENAT_EXPIRY_QUEUE_HEADROOM)

/* TCP flags seen in one direction of a flow (struct flow tcp_seen_*). */
#define FLOW_SEEN_SYN 0x01
#define FLOW_SEEN_FIN 0x02
#define FLOW_SEEN_RST 0x04

enum flow_tcp_state {
	TCP_STATE_NONE = 0,		/* not TCP */
	TCP_STATE_OPENING,		/* SYN one way only */
	TCP_STATE_ESTABLISHED,		/* SYN both ways, no FIN or RST */
	TCP_STATE_CLOSING,		/* a FIN */
	TCP_STATE_CLOSED,		/* RST, or FIN both ways */
};

/* Where a flow's packets go on the customer side (struct flow route). */
enum flow_route {
	/* To the destination itself, on the attachment's subnet. */
	FLOW_ROUTE_SUBNET = 0,
	/* To the attachment's gateway (struct attachment gateway_addr). */
	FLOW_ROUTE_GATEWAY,
	/* The destination is a shared address of the same attachment, so
	 * the packet turns back in (hairpinning). */
	FLOW_ROUTE_HAIRPIN,
};

/*
 * Value of map `flows`: both directions of one flow. Egress rewrites the
 * source to nat_addr:nat_port (the shared endpoint) and sends it by route
 * on ifindex (the shared device); a reply gets the key's src_addr:src_port
 * back and goes to sandbox_ifindex. Each direction counts its packets
 * (modulo 2^32; the sandbox's and attachment's own counters are 64-bit)
 * and TCP flags; last_seen is the last packet either way, on the flow
 * clock. 32 bytes, so that an entry with its key, the hash's element head
 * and bucket is 112 bytes, 128 with the flow's expiry ticket. The next hop
 * is not kept: it is the destination, or the attachment's gateway.
 */
struct flow {
	__be32 nat_addr;
	__be16 nat_port;
	/* The attachment's counter_slot: its traffic is counted without a
	 * lookup of the attachment (8 bytes an entry for ~25 ns a packet). */
	__u16 attachment_slot;
	__u8 tcp_seen_out;		/* FLOW_SEEN_* sandbox -> customer */
	__u8 tcp_seen_in;		/* FLOW_SEEN_* customer -> sandbox */
	__u8 route;			/* enum flow_route */
	/* 1: made under endpoint-dependent mapping, so a `replies` entry,
	 * not a mapping, leads replies to it. */
	__u8 dependent;
	__u32 ifindex;			/* the shared device (the attachment) */
	/* The sandbox's device when the flow was made: a reply never goes
	 * to another sandbox that took the address since. */
	__u32 sandbox_ifindex;
	__u32 last_seen;		/* flow_clock() */
	__u32 packets_out;
	__u32 packets_in;
};

/* A flow's memory: with the hash's own 64 bytes, 112 in `flows` and 16 in
 * `expiry_queue` (docs/architecture.md, why a flow is 128 bytes). */
_Static_assert(sizeof(struct flow) == 32, "struct flow grew past 32 bytes");
_Static_assert(sizeof(struct expiry_ticket) == 16,
	       "struct expiry_ticket grew past 16 bytes");

/* The ticket of the flow with this key, due at due_ns (monotonic). */
SHARENAT_INLINE void expiry_ticket_make(const struct flow_key *key,
					__u64 due_ns,
					struct expiry_ticket *ticket)
{
	__builtin_memset(ticket, 0, sizeof(*ticket));
	ticket->src_addr = key->src_addr;
	ticket->dst_addr = key->dst_addr;
	ticket->src_port = key->src_port;
	ticket->dst_port = key->dst_port;
	ticket->proto = key->proto;
	ticket->due = expiry_ticket_clock(due_ns);
}

SHARENAT_INLINE void expiry_ticket_key(const struct expiry_ticket *ticket,
				       struct flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src_addr = ticket->src_addr;
	key->dst_addr = ticket->dst_addr;
	key->src_port = ticket->src_port;
	key->dst_port = ticket->dst_port;
	key->proto = ticket->proto;
}

/* The ticket is due by now_ns: its due time is not ahead of now's. */
SHARENAT_INLINE int expiry_ticket_due(const struct expiry_ticket *ticket,
				      __u64 now_ns)
{
	return (__s16)(expiry_ticket_clock(now_ns) - ticket->due) >= 0;
}

SHARENAT_INLINE void mapping_key_of(const struct flow_key *egress_key,
				    __u32 attachment, struct mapping_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->sandbox_addr = egress_key->src_addr;
	key->sandbox_port = egress_key->src_port;
	key->proto = egress_key->proto;
	key->attachment = attachment;
}

SHARENAT_INLINE void port_key_of(__u32 attachment, __be32 shared_addr,
				 __be16 shared_port, __u8 proto,
				 struct port_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->attachment = attachment;
	key->shared_addr = shared_addr;
	key->shared_port = shared_port;
	key->proto = proto;
}

/* The flow a reply from remote_addr:remote_port answers, whose sandbox
 * endpoint is owner (the holder of the shared endpoint it was sent to). */
SHARENAT_INLINE void flow_key_of_owner(const struct mapping_key *owner,
				       __be32 remote_addr, __be16 remote_port,
				       struct flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src_addr = owner->sandbox_addr;
	key->dst_addr = remote_addr;
	key->src_port = owner->sandbox_port;
	key->dst_port = remote_port;
	key->proto = owner->proto;
}

/* A reply as the remote sends it: remote -> shared endpoint of proto on
 * attachment (ICMP echo: remote_port 0, the identifier in shared_port). */
SHARENAT_INLINE void reply_key_make(__u32 attachment, __u8 proto,
				    __be32 remote_addr, __be16 remote_port,
				    __be32 shared_addr, __be16 shared_port,
				    struct reply_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->attachment = attachment;
	key->remote_addr = remote_addr;
	key->shared_addr = shared_addr;
	key->remote_port = remote_port;
	key->shared_port = shared_port;
	key->proto = proto;
}

/* The `replies` key that leads a reply to the flow (egress_key, flow). */
SHARENAT_INLINE void reply_key_of(const struct flow_key *egress_key,
				  const struct flow *flow,
				  struct reply_key *key)
{
	reply_key_make(flow->ifindex, egress_key->proto, egress_key->dst_addr,
		       egress_key->dst_port, flow->nat_addr, flow->nat_port,
		       key);
}

/* One state for the flow, from what each direction has seen. */
SHARENAT_INLINE enum flow_tcp_state flow_tcp_state(__u8 out_seen, __u8 in_seen)
{
	__u8 both = out_seen & in_seen, any = out_seen | in_seen;

	if ((any & FLOW_SEEN_RST) || (both & FLOW_SEEN_FIN))
		return TCP_STATE_CLOSED;
	if (any & FLOW_SEEN_FIN)
		return TCP_STATE_CLOSING;
	if (both & FLOW_SEEN_SYN)
		return TCP_STATE_ESTABLISHED;
	return TCP_STATE_OPENING;
}

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
	X(EGRESS_XDP_FAST_PATH, "egress_xdp_fast_path")		\
	X(EGRESS_XDP_TO_TC, "egress_xdp_to_tc")				\
	X(NEIGHBOUR_LEARNED, "neighbour_learned")			\
	X(FLOW_CREATED, "flow_created")					\
	X(FLOW_EXPIRED, "flow_expired")					\
	X(EXPIRY_CHECKED, "expiry_checked")				\
	X(ARP_REPLIED, "arp_replied")					\
	X(ICMP_ERROR_TRANSLATED, "icmp_error_translated")		\
	X(ICMP_ERROR_SENT, "icmp_error_sent")				\
	X(HAIRPINNED, "hairpinned")					\
	X(FRAGMENT_TRANSLATED, "fragment_translated")			\
	X(INGRESS_NOT_OURS, "ingress_not_ours")				\
	X(DROP_SPOOFED_SOURCE, "drop_spoofed_source")			\
	X(DROP_NO_ROUTE, "drop_no_route")				\
	X(DROP_SECURITY_GROUP, "drop_security_group")			\
	X(DROP_PORT_QUOTA, "drop_port_quota")				\
	X(DROP_NOT_IPV4, "drop_not_ipv4")				\
	X(DROP_UNSUPPORTED, "drop_unsupported")			\
	X(DROP_MALFORMED, "drop_malformed")				\
	X(DROP_TTL_EXCEEDED, "drop_ttl_exceeded")			\
	X(DROP_TOO_BIG, "drop_too_big")					\
	X(FRAGMENTED, "fragmented")					\
	X(DROP_NO_PORT, "drop_no_port")					\
	X(DROP_FLOW_TABLE_FULL, "drop_flow_table_full")			\
	X(DROP_STALE_FLOW, "drop_stale_flow")				\
	X(DROP_UNSOLICITED, "drop_unsolicited")				\
	X(DROP_ICMP_ERROR_NO_FLOW, "drop_icmp_error_no_flow")		\
	X(DROP_HAIRPIN_NO_FLOW, "drop_hairpin_no_flow")			\
	X(FRAGMENT_HELD, "fragment_held")				\
	X(FRAGMENT_RELEASED, "fragment_released")			\
	X(DROP_FRAGMENT_HOLD_FULL, "drop_fragment_hold_full")		\
	X(DROP_FRAGMENT_TIMEOUT, "drop_fragment_timeout")		\
	X(DROP_FRAGMENT_UNRELEASED, "drop_fragment_unreleased")

#define SHARENAT_COUNTER_ENUM(name, text) COUNTER_##name,
enum counter {
	SHARENAT_COUNTERS(SHARENAT_COUNTER_ENUM)
	COUNTER_MAX
};
#undef SHARENAT_COUNTER_ENUM

/*
 * Per-function counters, map `function_counters` (per-CPU array indexed by
 * function id, each slot one struct function_counters).
 */
#define SHARENAT_FUNCTION_COUNTERS(X)					\
	X(PACKETS_OUT, "packets_out")					\
	X(PACKETS_IN, "packets_in")					\
	X(FLOWS_CREATED, "flows_created")				\
	X(DROP_SECURITY_GROUP, "drop_security_group")			\
	X(DROP_PORT_QUOTA, "drop_port_quota")				\
	X(DROP_NO_ROUTE, "drop_no_route")				\
	X(DROP_NO_PORT, "drop_no_port")

#define SHARENAT_FUNCTION_COUNTER_ENUM(name, text) FUNCTION_##name,
enum function_counter {
	SHARENAT_FUNCTION_COUNTERS(SHARENAT_FUNCTION_COUNTER_ENUM)
	FUNCTION_COUNTER_MAX
};
#undef SHARENAT_FUNCTION_COUNTER_ENUM

struct function_counters {
	__u64 values[FUNCTION_COUNTER_MAX];
};

/* Value of maps `attachment_counters` and `sandbox_counters`, per CPU,
 * indexed by the object's counter_slot: the traffic each translated, and
 * (sandboxes) the new flows refused to it. */
struct traffic_counters {
	__u64 packets_out;
	__u64 bytes_out;
	__u64 packets_in;
	__u64 bytes_in;
	__u64 flows_refused;
};

/* Value of map `counter_slots` (one entry): which slots of the two maps
 * above are taken, a bit each. */
struct counter_slots {
	__u64 sandboxes[SHARENAT_MAX_SANDBOXES / 64];
	__u64 attachments[SHARENAT_MAX_ATTACHMENTS / 64];
};

/*
 * Latency histograms of the control plane, map `latency` (array indexed
 * by enum latency, one struct latency_histogram each): how long a sandbox
 * attach and an attachment set-up took, the product's cold-start figure.
 * X(name, "text") as for the counters.
 */
#define SHARENAT_LATENCIES(X)						\
	X(SANDBOX_ATTACH, "sandbox_attach")				\
	X(ATTACHMENT_SETUP, "attachment_setup")

#define SHARENAT_LATENCY_ENUM(name, text) LATENCY_##name,
enum latency {
	SHARENAT_LATENCIES(SHARENAT_LATENCY_ENUM)
	LATENCY_MAX
};
#undef SHARENAT_LATENCY_ENUM

/*
 * Buckets: log2 with SHARENAT_LATENCY_SUB linear steps per power of two,
 * so a percentile read from them is at most 1/8 (12.5 %) above the truth.
 * Bucket 0 holds everything below 1 us (2^10 ns), the last one everything
 * from 2^37 ns (137 s) up; bucket 1 + 8 * (octave - 10) + step in between.
 */
#define SHARENAT_LATENCY_SUB_BITS 3
#define SHARENAT_LATENCY_SUB (1u << SHARENAT_LATENCY_SUB_BITS)
#define SHARENAT_LATENCY_MIN_OCTAVE 10
#define SHARENAT_LATENCY_MAX_OCTAVE 37
#define SHARENAT_LATENCY_BUCKETS					\
	(2 + (SHARENAT_LATENCY_MAX_OCTAVE - SHARENAT_LATENCY_MIN_OCTAVE) * \
	 SHARENAT_LATENCY_SUB)

struct latency_histogram {
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
	__u64 buckets[SHARENAT_LATENCY_BUCKETS];
};

#endif /* SHARENAT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flows: the NAT binding made on a flow's first packet. A flow is one
 * entry of map `flows`, keyed by its sandbox side. A reply finds it
 * through the owner of the shared endpoint it is sent to: the mapping
 * that holds the port (`ports`), or under endpoint-dependent mapping the
 * flow's own `replies` entry, which is reserved before the flow is
 * inserted because its key is what makes a shared port unique there. The
 * sweeper, a timer of its own, looks at every flow about once a second
 * through `expiry_queue` and removes it once it has been idle for its
 * timeout, with no process running.
 */
#ifndef SHARENAT_BPF_FLOW_H
#define SHARENAT_BPF_FLOW_H

#include "maps.h"
#include "parse.h"

#define CLOCK_MONOTONIC 1
#define NSEC_PER_SEC 1000000000ull
/* How far bpf_ktime_get_coarse_ns may lag: one tick, 10 ms at HZ=100, the
 * slowest tick Linux has. */
#define COARSE_CLOCK_LAG_NS (10 * 1000 * 1000ull)
#define PORT_HOLD_NS ((__u64)SHARENAT_PORT_HOLD_SECONDS * NSEC_PER_SEC)

/* A sandbox's packet as the key of its flow. */
static __always_inline void flow_key_of(const struct packet *pkt,
					struct flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src_addr = pkt->src_addr;
	key->dst_addr = pkt->dst_addr;
	key->src_port = pkt->src_port;
	key->dst_port = pkt->dst_port;
	key->proto = pkt->proto;
}

static __always_inline __u8 tcp_seen_of(const struct packet *pkt)
{
	__u8 seen = 0;

	if (pkt->proto != IPPROTO_TCP)
		return 0;
	if (pkt->tcp_flags & TCP_FLAG_SYN)
		seen |= FLOW_SEEN_SYN;
	if (pkt->tcp_flags & TCP_FLAG_FIN)
		seen |= FLOW_SEEN_FIN;
	if (pkt->tcp_flags & TCP_FLAG_RST)
		seen |= FLOW_SEEN_RST;
	return seen;
}

/* A packet of the flow went through at now, out (sandbox -> customer) or
 * in, read off the coarse clock (the same monotonic time, to the tick):
 * enough for timeouts counted in seconds, and a fraction of a precise
 * read's cost on every packet. */
static __always_inline void flow_touch(struct flow *flow,
				       const struct packet *pkt, __u64 now,
				       bool out)
{
	__u8 seen = tcp_seen_of(pkt);

	flow->last_seen = flow_clock(now);
	if (out) {
		flow->packets_out += 1;
		flow->tcp_seen_out |= seen;
	} else {
		flow->packets_in += 1;
		flow->tcp_seen_in |= seen;
	}
}

static __always_inline void count_function(__u32 function_id,
					   enum function_counter which)
{
	struct function_counters *counters =
		bpf_map_lookup_elem(&function_counters, &function_id);

	if (counters && which < FUNCTION_COUNTER_MAX)
		counters->values[which] += 1;
}

/* att's timeouts in seconds. A timeout of 0 (an attachment written
 * without them) means the default, never "expire at once". */
static __always_inline struct flow_timeouts
attachment_timeouts(const struct attachment *att)
{
	struct flow_timeouts t = {
		.tcp_established = att->timeouts.tcp_established ?:
				   SHARENAT_TCP_ESTABLISHED_TIMEOUT,
		.tcp_transitory = att->timeouts.tcp_transitory ?:
				  SHARENAT_TCP_TRANSITORY_TIMEOUT,
		.udp = att->timeouts.udp ?: SHARENAT_UDP_TIMEOUT,
		.icmp = att->timeouts.icmp ?: SHARENAT_ICMP_TIMEOUT,
	};

	return t;
}

/* Idle timeout of a flow through att, from its protocol and TCP state. */
static __always_inline __u64 attachment_timeout_ns(const struct attachment *att,
						   const struct flow_key *key,
						   const struct flow *flow)
{
	struct flow_timeouts t = attachment_timeouts(att);
	__u32 seconds;

	if (key->proto == IPPROTO_UDP)
		seconds = t.udp;
	else if (key->proto == IPPROTO_ICMP)
		seconds = t.icmp;
	else if (flow_tcp_state(flow->tcp_seen_out, flow->tcp_seen_in) ==
		 TCP_STATE_ESTABLISHED)
		seconds = t.tcp_established;
	else
		seconds = t.tcp_transitory;
	return (__u64)seconds * NSEC_PER_SEC;
}

static __always_inline void release_port(struct sandbox *sbx)
{
	if (sbx && sbx->ports_in_use)
		__sync_fetch_and_sub(&sbx->ports_in_use, 1);
}

static __always_inline bool mapping_key_equal(const struct mapping_key *a,
					      const struct mapping_key *b)
{
	return a->sandbox_addr == b->sandbox_addr &&
	       a->sandbox_port == b->sandbox_port && a->proto == b->proto &&
	       a->attachment == b->attachment;
}

/* Keep a released port for its last owner for a while (RFC 6888 REQ-8),
 * so a late packet of the old mapping never reaches a new owner: the
 * sweeper frees it SHARENAT_PORT_HOLD_SECONDS from now (sweep_port_hold).
 * With no room to queue that, it is freed now. */
static __always_inline void port_hold_start(const struct port_key *pkey)
{
	struct port_hold *hold = bpf_map_lookup_elem(&ports, pkey);
	__u64 now = bpf_ktime_get_coarse_ns();
	struct port_hold_ticket ticket = {
		.key = *pkey,
		.due_ns = now + PORT_HOLD_NS,
	};

	if (!hold)
		return;
	hold->released_ns = now;
	if (bpf_map_push_elem(&port_hold_queue, &ticket, 0))
		bpf_map_delete_elem(&ports, pkey);
}

/* One use of mkey's mapping m ends. With the last, the mapping goes and
 * the sandbox has its port of the quota back; the shared port is held for
 * the owner (hold, see port_hold_start) or, for a mapping no packet went
 * out by, freed at once. */
static __always_inline void mapping_put(struct sandbox *sbx,
					const struct mapping_key *mkey,
					struct mapping *m, bool hold)
{
	struct port_key pkey;

	if (__sync_fetch_and_sub(&m->flows, 1) != 1)
		return;
	port_key_of(mkey->attachment, m->shared_addr, m->shared_port,
		    mkey->proto, &pkey);
	if (hold)
		port_hold_start(&pkey);
	else
		bpf_map_delete_elem(&ports, &pkey);
	bpf_map_delete_elem(&mappings, mkey);
	release_port(sbx);
}

/* A flow is gone: give back what it held. Under endpoint-independent
 * mapping that is one use of its mapping (mapping_put, with hold as
 * there); under endpoint-dependent mapping, its reply key and its own
 * port. */
static __always_inline void flow_release(const struct flow_key *key,
					 const struct flow *flow, bool hold)
{
	struct sandbox *sbx = bpf_map_lookup_elem(&sandboxes, &key->src_addr);
	struct mapping_key mkey;
	struct reply_key rkey;
	struct mapping *m;

	if (flow->dependent) {
		reply_key_of(key, flow, &rkey);
		bpf_map_delete_elem(&replies, &rkey);
		release_port(sbx);
		return;
	}
	mapping_key_of(key, flow->ifindex, &mkey);
	m = bpf_map_lookup_elem(&mappings, &mkey);
	if (m)
		mapping_put(sbx, &mkey, m, hold);
	else
		release_port(sbx);
}

/* Remove the flow and give back what it held (hold: see mapping_put). */
static __always_inline void flow_remove(const struct flow_key *key,
					struct flow *flow, bool hold)
{
	flow_release(key, flow, hold);
	bpf_map_delete_elem(&flows, key);
}

/* The attachment the flow goes out through; NULL once it is detached. */
static __always_inline const struct attachment *
flow_attachment(const struct flow *flow)
{
	__u32 attachment = flow->ifindex;

	return bpf_map_lookup_elem(&attachments, &attachment);
}

/* The sandbox of the flow with this key: the one at its address, if that
 * is still on the device the flow was made from. NULL for a stale flow
 * (drop_stale_flow), so that its replies reach no other sandbox. */
static __always_inline struct sandbox *flow_sandbox(const struct flow_key *key,
						    const struct flow *flow)
{
	struct sandbox *sbx = bpf_map_lookup_elem(&sandboxes, &key->src_addr);

	return sbx && sbx->ifindex == flow->sandbox_ifindex ? sbx : NULL;
}

/* Remove the flow if it has been idle for its timeout. Returns false when
 * it did, true when the flow lives on. */
static __always_inline bool flow_live_or_expire(const struct flow_key *key,
						struct flow *flow, __u64 now)
{
	const struct attachment *att = flow_attachment(flow);
	__u64 timeout = 0;

	/* last_seen is read off the coarse clock, which lags the precise
	 * one by up to a tick, and kept to a flow clock tick: without that
	 * much more, a flow could go that much before its timeout. A
	 * detached flow goes now. */
	if (att)
		timeout = attachment_timeout_ns(att, key, flow) +
			  COARSE_CLOCK_LAG_NS + (1ull << SHARENAT_FLOW_CLOCK_SHIFT);
	if (flow_clock_since(flow->last_seen, now) < timeout)
		return true;
	flow_remove(key, flow, true);
	count(COUNTER_FLOW_EXPIRED);
	return false;
}

/* Where a flow's packet to remote_addr goes on the customer side: to the
 * remote itself on the attachment's subnet, else to the attachment's
 * gateway (0 once the attachment is gone: nowhere). */
static __always_inline __be32 flow_next_hop(const struct flow *flow,
					    __be32 remote_addr)
{
	const struct attachment *att;

	if (flow->route != FLOW_ROUTE_GATEWAY)
		return remote_addr;
	att = flow_attachment(flow);
	return att ? att->gateway_addr : 0;
}

/* The flow of owner (a sandbox endpoint) with the reply's remote, if it
 * answers the reply: the owner's flow to that remote may have gone out
 * through another attachment or shared endpoint. Fills *key. */
static __always_inline struct flow *owner_flow(const struct mapping_key *owner,
					       const struct reply_key *reply,
					       struct flow_key *key)
{
	struct flow *flow;

	flow_key_of_owner(owner, reply->remote_addr, reply->remote_port, key);
	flow = bpf_map_lookup_elem(&flows, key);
	if (!flow || flow->ifindex != reply->attachment ||
	    flow->nat_addr != reply->shared_addr ||
	    flow->nat_port != reply->shared_port)
		return NULL;
	return flow;
}

/*
 * The flow a reply answers: remote_addr:remote_port -> shared_addr:
 * shared_port of proto, arrived on attachment (ICMP echo: the identifier
 * in shared_port, remote_port 0). The shared endpoint's owner is its
 * mapping's sandbox endpoint (`ports`), or under endpoint-dependent
 * mapping the one `replies` names for this remote. Fills *key, the flow's
 * key (its sandbox side); NULL for an unsolicited packet.
 */
static __always_inline struct flow *
flow_of_reply(__u32 attachment, __u8 proto, __be32 remote_addr,
	      __be16 remote_port, __be32 shared_addr, __be16 shared_port,
	      struct flow_key *key)
{
	const struct mapping_key *owner;
	const struct port_hold *hold;
	struct reply_key reply;
	struct port_key pkey;
	struct flow *flow;

	reply_key_make(attachment, proto, remote_addr, remote_port,
		       shared_addr, shared_port, &reply);
	port_key_of(attachment, shared_addr, shared_port, proto, &pkey);
	hold = bpf_map_lookup_elem(&ports, &pkey);
	if (hold) {
		flow = owner_flow(&hold->owner, &reply, key);
		if (flow)
			return flow;
	}
	owner = bpf_map_lookup_elem(&replies, &reply);
	return owner ? owner_flow(owner, &reply, key) : NULL;
}

/* Queue a ticket for the flow with this key, due a fixed
 * SHARENAT_EXPIRY_RECHECK_MS from now, leaving headroom tickets free (a
 * new flow leaves the sweeper's; the sweeper's own take none). 0, or -1
 * when the queue has no room. */
static __always_inline int expiry_enqueue(struct sweeper *sweeper,
					  const struct flow_key *key,
					  __u64 now, __u64 headroom)
{
	struct expiry_ticket ticket;

	expiry_ticket_make(key, now + SHARENAT_EXPIRY_RECHECK_MS * 1000000ull,
			   &ticket);
	if (sweeper->queued + headroom >= expiry_queue_room ||
	    bpf_map_push_elem(&expiry_queue, &ticket, 0))
		return -1;
	__sync_fetch_and_add(&sweeper->queued, 1);
	return 0;
}

/*
 * The sweeper: one timer, started when the programs are loaded, that runs
 * every SHARENAT_SWEEP_TICK_MS. Each round it takes the tickets that are
 * due off the front of `expiry_queue` (at most SHARENAT_SWEEP_BATCH, so a
 * round stays short whatever the table holds) and looks at their flows: an
 * idle one expires, a live one gets a new ticket at the back, a ticket
 * whose flow is gone (the CLI removed it) is dropped. Tickets are all due
 * the same time after they were queued, so the queue is in due order and
 * a round stops at the first one not due. It frees the ports whose hold
 * has ended (port_hold_queue, in due order the same way), and while
 * fragments are held (fragment.h) it drops those whose first never came.
 */
struct sweep {
	/* Held fragments are counted in the map value, not on the stack: a
	 * counter the verifier can follow would make it walk the callback
	 * once per value. */
	struct sweeper *sweeper;
	__u64 now;
};

/* Each queue's tickets are in due order: a round takes the front one
 * while it is due, and ends at the first that is not. */
static long sweep_ticket(__u32 index, struct sweep *sweep)
{
	struct expiry_ticket ticket;
	struct flow_key key;
	struct flow *flow;

	(void)index;
	if (bpf_map_peek_elem(&expiry_queue, &ticket) ||
	    !expiry_ticket_due(&ticket, sweep->now) ||
	    bpf_map_pop_elem(&expiry_queue, &ticket))
		return 1;
	__sync_fetch_and_sub(&sweep->sweeper->queued, 1);
	expiry_ticket_key(&ticket, &key);
	flow = bpf_map_lookup_elem(&flows, &key);
	if (!flow)
		return 0;
	count(COUNTER_EXPIRY_CHECKED);
	/* The ticket just taken out left room for this one (new flows
	 * leave headroom); a flow that could not have one would never
	 * expire, so it goes now instead. */
	if (flow_live_or_expire(&key, flow, sweep->now) &&
	    expiry_enqueue(sweep->sweeper, &key, sweep->now, 0))
		flow_remove(&key, flow, true);
	return 0;
}

/* A port hold's ticket: free the port, unless its owner has taken it
 * again (released_ns 0) or released it again since (a later ticket). */
static long sweep_port_hold(__u32 index, struct sweep *sweep)
{
	struct port_hold_ticket ticket;
	struct port_hold *hold;

	(void)index;
	if (bpf_map_peek_elem(&port_hold_queue, &ticket) ||
	    ticket.due_ns > sweep->now ||
	    bpf_map_pop_elem(&port_hold_queue, &ticket))
		return 1;
	hold = bpf_map_lookup_elem(&ports, &ticket.key);
	/* Added, not subtracted: a release during this round is later
	 * than sweep->now. */
	if (hold && hold->released_ns &&
	    hold->released_ns + PORT_HOLD_NS <= sweep->now)
		bpf_map_delete_elem(&ports, &ticket.key);
	return 0;
}

/* In fragment.h, which needs the sweeper's count of held fragments. */
static long sweep_held_fragment(struct bpf_map *map,
				struct held_fragment_key *key,
				struct held_fragment *held,
				struct sweep *sweep);

static int sweep(void *map, __u32 *key, struct sweeper *sweeper)
{
	struct sweep sweep = {
		.sweeper = sweeper,
		.now = bpf_ktime_get_coarse_ns(),
	};

	(void)map;
	(void)key;
	bpf_loop(SHARENAT_SWEEP_BATCH, sweep_ticket, &sweep, 0);
	bpf_loop(SHARENAT_SWEEP_BATCH, sweep_port_hold, &sweep, 0);
	if (sweeper->held) {
		sweeper->held = 0;
		bpf_for_each_map_elem(&held_fragments, sweep_held_fragment,
				      &sweep, 0);
	}
	bpf_timer_start(&sweeper->timer,
			SHARENAT_SWEEP_TICK_MS * 1000000ull, 0);
	return 0;
}

/* Start the sweeper when the programs are loaded (the loader runs
 * sharenat_init once through BPF_PROG_TEST_RUN): its timer is allocated
 * in process context, and from then on it runs on its own. Loaded again
 * over pinned maps (-EBUSY: the timer exists), it runs the new code. */
static __always_inline int sweeper_init(void)
{
	struct sweeper *sweeper;
	__u32 zero = 0;
	long err;

	sweeper = bpf_map_lookup_elem(&expiry_sweeper, &zero);
	if (!sweeper)
		return 1;
	err = bpf_timer_init(&sweeper->timer, &expiry_sweeper,
			     CLOCK_MONOTONIC);
	if (err && err != -EBUSY)
		return 1;
	if (bpf_timer_set_callback(&sweeper->timer, sweep) ||
	    bpf_timer_start(&sweeper->timer,
			    SHARENAT_SWEEP_TICK_MS * 1000000ull, 0))
		return 1;
	return 0;
}

/* A new flow's ticket. Without one the flow would never expire, so it is
 * not kept: false, with the flow removed again, and a mapping it made
 * with it (its packet is refused, so none went out by it). */
static __always_inline bool flow_enqueue_new(const struct flow_key *key,
					     struct flow *flow, __u64 now)
{
	struct sweeper *sweeper;
	__u32 zero = 0;

	sweeper = bpf_map_lookup_elem(&expiry_sweeper, &zero);
	if (sweeper &&
	    !expiry_enqueue(sweeper, key, now,
			    SHARENAT_EXPIRY_QUEUE_HEADROOM))
		return true;
	flow_remove(key, flow, false);
	return false;
}

/* Does the function's security group let this new flow out? */
static __always_inline bool security_group_allows(const struct function *fn,
						  const struct packet *pkt)
{
	const struct security_group *sg;
	__u16 port = bpf_ntohs(pkt->dst_port);
	__u32 group = fn->security_group, i;

	if (!group)
		return true;
	sg = bpf_map_lookup_elem(&security_groups, &group);
	if (!sg)
		return false;	/* a group that is gone allows nothing */
	for (i = 0; i < SHARENAT_MAX_SG_RULES; i++) {
		const struct sg_rule *rule = &sg->rules[i];

		if (i >= sg->rule_count)
			break;
		if (rule->proto && rule->proto != pkt->proto)
			continue;
		if ((pkt->dst_addr & rule->mask) != rule->addr)
			continue;
		if (pkt->proto != IPPROTO_ICMP &&
		    (port < rule->port_lo || port > rule->port_hi))
			continue;
		return true;
	}
	return false;
}

/* The n-th shared port a new flow or mapping tries: the sandbox's own
 * port first (port preservation); then, from a random start (so that ports
 * in use do not make every new flow probe the same run), ports of the own
 * port's parity (RFC 4787 REQ-4); then any port, so that a range smaller
 * than the probes is tried whole. */
static __always_inline __u16 candidate_port(__u32 n, __u16 own_port,
					    __u32 start,
					    const struct attachment *att)
{
	__u32 range = (__u32)att->port_hi - att->port_lo + 1;
	__u32 port;

	if (n == 0 && own_port >= att->port_lo && own_port <= att->port_hi)
		return own_port;
	if (n >= SHARENAT_PORT_PROBES / 2)
		return att->port_lo + (start + n) % range;
	/* Step by two from the start, then land on the own parity: the
	 * probes then walk every port of that parity in the range. */
	port = att->port_lo + (start + 2 * n) % range;
	port = (port & ~1u) | (own_port & 1);
	if (port > att->port_hi)
		port -= 2;
	if (port < att->port_lo || port > att->port_hi)
		port = att->port_lo + (start + n) % range;
	return (__u16)port;
}

enum insert_result {
	INSERTED,
	FLOW_EXISTS,		/* another CPU made this very flow first */
	TABLE_FULL,
};

static __always_inline enum insert_result
flow_insert(const struct flow_key *key, const struct flow *flow)
{
	long err = bpf_map_update_elem(&flows, key, flow, BPF_NOEXIST);

	if (!err)
		return INSERTED;
	return err == -EEXIST ? FLOW_EXISTS : TABLE_FULL;
}

/* Endpoint-dependent mapping: each flow takes the first shared port whose
 * reply key is free (`replies`), so a port serves many remotes. */
static __always_inline struct flow *
flow_insert_dependent(const struct packet *pkt, struct sandbox *sbx,
		      const struct attachment *att, __u32 quota,
		      const struct flow_key *key, struct flow *made,
		      bool *raced, enum counter *why)
{
	__u32 start = bpf_get_prandom_u32();
	__u16 own_port = bpf_ntohs(pkt->src_port);
	struct mapping_key owner;
	struct reply_key rkey;
	__u32 addr_index, n;
	long err;

	/* Every flow takes a port of its own here. */
	if (sbx->ports_in_use >= quota) {
		*why = COUNTER_DROP_PORT_QUOTA;
		return NULL;
	}
	mapping_key_of(key, att->ifindex, &owner);
	for (addr_index = 0; addr_index < SHARENAT_MAX_SHARED_ADDRS;
	     addr_index++) {
		if (addr_index >= att->shared_addr_count)
			break;
		made->nat_addr = att->shared_addrs[addr_index];
		for (n = 0; n < SHARENAT_PORT_PROBES; n++) {
			made->nat_port = bpf_htons(
				candidate_port(n, own_port, start, att));
			reply_key_of(key, made, &rkey);
			err = bpf_map_update_elem(&replies, &rkey, &owner,
						  BPF_NOEXIST);
			if (err == -EEXIST)
				continue;
			if (err) {
				*why = COUNTER_DROP_FLOW_TABLE_FULL;
				return NULL;
			}
			switch (flow_insert(key, made)) {
			case INSERTED:
				__sync_fetch_and_add(&sbx->ports_in_use, 1);
				return bpf_map_lookup_elem(&flows, key);
			case FLOW_EXISTS:
				bpf_map_delete_elem(&replies, &rkey);
				*raced = true;
				return bpf_map_lookup_elem(&flows, key);
			default:
				bpf_map_delete_elem(&replies, &rkey);
				*why = COUNTER_DROP_FLOW_TABLE_FULL;
				return NULL;
			}
		}
	}
	*why = COUNTER_DROP_NO_PORT;
	return NULL;
}

/* Reserve a shared endpoint for mkey: 0, -EEXIST when someone else holds
 * it, or another error. A port still held for mkey itself (its mapping
 * ended less than SHARENAT_PORT_HOLD_SECONDS ago) is mkey's again. */
static __always_inline long port_reserve(const struct port_key *pkey,
					 const struct mapping_key *mkey)
{
	struct port_hold fresh = { .owner = *mkey }, *held;
	long err;

	err = bpf_map_update_elem(&ports, pkey, &fresh, BPF_NOEXIST);
	if (err != -EEXIST)
		return err;
	held = bpf_map_lookup_elem(&ports, pkey);
	if (!held || !mapping_key_equal(&held->owner, mkey) ||
	    bpf_map_lookup_elem(&mappings, mkey))
		return -EEXIST;
	held->released_ns = 0;		/* the hold's ticket leaves it be */
	return 0;
}

enum mapping_made {
	MAPPING_MADE,		/* in *made, with the new flow's use counted */
	MAPPING_RACED,		/* another CPU mapped the endpoint first */
	MAPPING_FAILED,		/* *why says why */
};

/* A new mapping for the sandbox endpoint in mkey: the first shared
 * endpoint no other mapping holds, reserved in `ports`, spilling to the
 * attachment's next shared address when one is full. It is inserted with
 * one flow already counted, the one being made, which saves looking it
 * up again to count it. */
static __always_inline enum mapping_made
mapping_create(const struct packet *pkt, struct sandbox *sbx,
	       const struct attachment *att, const struct mapping_key *mkey,
	       struct mapping *made, enum counter *why)
{
	__u32 start = bpf_get_prandom_u32();
	__u16 own_port = bpf_ntohs(pkt->src_port);
	struct port_key pkey;
	__u32 addr_index, n;
	long err;

	__builtin_memset(made, 0, sizeof(*made));
	made->flows = 1;
	for (addr_index = 0; addr_index < SHARENAT_MAX_SHARED_ADDRS;
	     addr_index++) {
		if (addr_index >= att->shared_addr_count)
			break;
		made->shared_addr = att->shared_addrs[addr_index];
		for (n = 0; n < SHARENAT_PORT_PROBES; n++) {
			made->shared_port = bpf_htons(
				candidate_port(n, own_port, start, att));
			port_key_of(att->ifindex, made->shared_addr,
				    made->shared_port, pkt->proto, &pkey);
			err = port_reserve(&pkey, mkey);
			if (err == -EEXIST)
				continue;
			if (err) {
				*why = COUNTER_DROP_FLOW_TABLE_FULL;
				return MAPPING_FAILED;
			}
			err = bpf_map_update_elem(&mappings, mkey, made,
						  BPF_NOEXIST);
			if (!err) {
				__sync_fetch_and_add(&sbx->ports_in_use, 1);
				return MAPPING_MADE;
			}
			bpf_map_delete_elem(&ports, &pkey);
			if (err == -EEXIST)
				return MAPPING_RACED;
			*why = COUNTER_DROP_FLOW_TABLE_FULL;
			return MAPPING_FAILED;
		}
	}
	*why = COUNTER_DROP_NO_PORT;
	return MAPPING_FAILED;
}

/* The new flow that counted itself in the mapping it made failed: take
 * that back, and with it the mapping and its port if nothing else uses it
 * (it would hold the port for ever). */
static __always_inline void mapping_unuse(struct sandbox *sbx,
					  const struct mapping_key *mkey)
{
	struct mapping *m = bpf_map_lookup_elem(&mappings, mkey);

	if (m)
		mapping_put(sbx, mkey, m, false);
}

/* Endpoint-independent mapping: the flow uses its sandbox endpoint's
 * mapping, made on the endpoint's first flow. */
static __always_inline struct flow *
flow_insert_independent(const struct packet *pkt, struct sandbox *sbx,
			const struct attachment *att, __u32 quota,
			const struct flow_key *key, struct flow *made,
			bool *raced, enum counter *why)
{
	struct mapping_key mkey;
	struct mapping mapped;
	struct mapping *m;
	bool counted = false;

	mapping_key_of(key, att->ifindex, &mkey);
	m = bpf_map_lookup_elem(&mappings, &mkey);
	if (!m) {
		/* Only a new mapping takes a port: a flow from an endpoint
		 * already mapped is not held back by the quota. */
		if (sbx->ports_in_use >= quota) {
			*why = COUNTER_DROP_PORT_QUOTA;
			return NULL;
		}
		switch (mapping_create(pkt, sbx, att, &mkey, &mapped, why)) {
		case MAPPING_MADE:
			counted = true;
			break;
		case MAPPING_RACED:
			m = bpf_map_lookup_elem(&mappings, &mkey);
			if (m)
				break;
			*why = COUNTER_DROP_NO_PORT;
			return NULL;
		default:
			return NULL;
		}
	}
	if (m)
		mapped = *m;
	made->nat_addr = mapped.shared_addr;
	made->nat_port = mapped.shared_port;
	switch (flow_insert(key, made)) {
	case INSERTED:
		if (m)
			__sync_fetch_and_add(&m->flows, 1);
		return bpf_map_lookup_elem(&flows, key);
	case FLOW_EXISTS:
		if (counted)
			mapping_unuse(sbx, &mkey);
		*raced = true;
		return bpf_map_lookup_elem(&flows, key);
	default:
		*why = COUNTER_DROP_FLOW_TABLE_FULL;
		break;
	}
	if (counted)
		mapping_unuse(sbx, &mkey);
	return NULL;
}

/* Insert a new flow. Returns its entry (*raced: the one another CPU made
 * first, with its ticket), or NULL with *why set to the counter that says
 * why. */
static __always_inline struct flow *
flow_insert_new(const struct packet *pkt, struct sandbox *sbx,
		const struct attachment *att, __u32 quota,
		enum flow_route route, const struct flow_key *key, __u64 now,
		bool *raced, enum counter *why)
{
	struct flow made = {
		.attachment_slot = (__u16)att->counter_slot,
		.route = route,
		.dependent = att->mapping == MAPPING_DEPENDENT,
		.ifindex = att->ifindex,
		.sandbox_ifindex = sbx->ifindex,
		.last_seen = flow_clock(now),
	};
	__u32 i;

	for (i = 0; i < SHARENAT_MAX_SHARED_ADDRS; i++)
		if (i < att->shared_addr_count &&
		    att->shared_addrs[i] == pkt->dst_addr)
			made.route = FLOW_ROUTE_HAIRPIN;
	/* Echo to a shared address would have to be answered by the NAT
	 * itself; only TCP and UDP turn back in, and only whole datagrams
	 * (the rest of a fragmented one could not follow). Refused before
	 * anything is made. */
	if (made.route == FLOW_ROUTE_HAIRPIN &&
	    (pkt->proto == IPPROTO_ICMP || pkt->fragment != FRAGMENT_NONE)) {
		*why = COUNTER_DROP_UNSUPPORTED;
		return NULL;
	}

	if (made.dependent)
		return flow_insert_dependent(pkt, sbx, att, quota, key, &made,
					     raced, why);
	return flow_insert_independent(pkt, sbx, att, quota, key, &made,
				       raced, why);
}

/*
 * Make a new flow from a sandbox, after the function's security group and
 * the sandbox's port quota let it, at now (the coarse clock the packet's
 * program read). Returns its entry, or NULL with *why set to the counter
 * that says why.
 */
static __always_inline struct flow *
flow_create(const struct packet *pkt, struct sandbox *sbx,
	    const struct function *fn, const struct attachment *att,
	    enum flow_route route, const struct flow_key *key, __u64 now,
	    enum counter *why)
{
	bool raced = false;
	struct flow *flow;

	if (!security_group_allows(fn, pkt)) {
		count_function(fn->id, FUNCTION_DROP_SECURITY_GROUP);
		*why = COUNTER_DROP_SECURITY_GROUP;
		return NULL;
	}
	/* 0: a function written without a quota gets the default one. */
	flow = flow_insert_new(pkt, sbx, att,
			       fn->port_quota ?: SHARENAT_DEFAULT_PORT_QUOTA,
			       route, key, now, &raced, why);
	if (!flow) {
		if (*why == COUNTER_DROP_NO_PORT)
			count_function(fn->id, FUNCTION_DROP_NO_PORT);
		if (*why == COUNTER_DROP_PORT_QUOTA)
			count_function(fn->id, FUNCTION_DROP_PORT_QUOTA);
		return NULL;
	}
	if (raced)
		return flow;
	if (!flow_enqueue_new(key, flow, now)) {
		*why = COUNTER_DROP_FLOW_TABLE_FULL;
		return NULL;
	}
	count(COUNTER_FLOW_CREATED);
	count_function(fn->id, FUNCTION_FLOWS_CREATED);
	return flow;
}

#endif /* SHARENAT_BPF_FLOW_H */

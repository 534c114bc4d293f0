/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flows: the NAT binding made on a flow's first packet. A flow is two
 * entries of map `flows`, egress and ingress, inserted and removed as a
 * pair: the reverse (ingress) entry is inserted first because its key is
 * what makes a shared port unique, and it is removed again if the egress
 * entry cannot follow, so no half-inserted flow survives. Expiry, too,
 * removes both: the egress entry's timer deletes the pair once the flow
 * has been idle for its timeout, with no process running.
 */
#ifndef SHARENAT_BPF_FLOW_H
#define SHARENAT_BPF_FLOW_H

#include "maps.h"
#include "parse.h"

#define CLOCK_MONOTONIC 1
#define NSEC_PER_SEC 1000000000ull

static __always_inline void egress_key_of(const struct packet *pkt,
					  struct flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src_addr = pkt->src_addr;
	key->dst_addr = pkt->dst_addr;
	key->src_port = pkt->src_port;
	key->dst_port = pkt->dst_port;
	key->proto = pkt->proto;
	key->direction = FLOW_EGRESS;
}

static __always_inline void ingress_key_of(const struct packet *pkt,
					   __u32 attachment,
					   struct flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src_addr = pkt->src_addr;
	key->dst_addr = pkt->dst_addr;
	key->src_port = pkt->src_port;
	key->dst_port = pkt->dst_port;
	key->proto = pkt->proto;
	key->direction = FLOW_INGRESS;
	key->attachment = attachment;
}

static __always_inline void flow_touch(struct flow *flow,
				       const struct packet *pkt)
{
	flow->last_seen_ns = bpf_ktime_get_ns();
	flow->packets += 1;
	if (pkt->proto != IPPROTO_TCP)
		return;
	if (pkt->tcp_flags & TCP_FLAG_SYN)
		flow->tcp_seen |= FLOW_SEEN_SYN;
	if (pkt->tcp_flags & TCP_FLAG_FIN)
		flow->tcp_seen |= FLOW_SEEN_FIN;
	if (pkt->tcp_flags & TCP_FLAG_RST)
		flow->tcp_seen |= FLOW_SEEN_RST;
}

static __always_inline void count_function(__u32 function_id,
					   enum function_counter which)
{
	struct function_counters *counters =
		bpf_map_lookup_elem(&function_counters, &function_id);

	if (counters && which < FUNCTION_COUNTER_MAX)
		counters->values[which] += 1;
}

/* Idle timeout of a flow, from its attachment and TCP state. */
static __always_inline __u64 flow_timeout_ns(const struct flow_key *key,
					     const struct flow *egress,
					     const struct flow *ingress)
{
	const struct attachment *att;
	__u32 attachment = egress->ifindex;
	__u32 seconds;

	att = bpf_map_lookup_elem(&attachments, &attachment);
	if (!att)
		return 0;	/* detached: expire now */
	/* A timeout of 0 (an attachment written without them) means the
	 * default, never "expire at once". */
	if (key->proto == IPPROTO_UDP)
		seconds = att->timeouts.udp ?: SHARENAT_UDP_TIMEOUT;
	else if (key->proto == IPPROTO_ICMP)
		seconds = att->timeouts.icmp ?: SHARENAT_ICMP_TIMEOUT;
	else if (flow_tcp_state(egress->tcp_seen,
				ingress ? ingress->tcp_seen : 0) ==
		 TCP_STATE_ESTABLISHED)
		seconds = att->timeouts.tcp_established ?:
			  SHARENAT_TCP_ESTABLISHED_TIMEOUT;
	else
		seconds = att->timeouts.tcp_transitory ?:
			  SHARENAT_TCP_TRANSITORY_TIMEOUT;
	return (__u64)seconds * NSEC_PER_SEC;
}

/* The egress entry's timer: expire the pair once idle for its timeout,
 * else sleep again until it could be. */
static int flow_expire(void *map, struct flow_key *key, struct flow *egress)
{
	struct flow_key reverse;
	struct flow *ingress;
	struct sandbox *sbx;
	__u64 now = bpf_ktime_get_ns(), last, timeout, idle;

	(void)map;
	flow_reverse_key(key, egress, &reverse);
	ingress = bpf_map_lookup_elem(&flows, &reverse);
	last = egress->last_seen_ns;
	if (ingress && ingress->last_seen_ns > last)
		last = ingress->last_seen_ns;
	timeout = flow_timeout_ns(key, egress, ingress);
	idle = now > last ? now - last : 0;
	if (idle < timeout) {
		bpf_timer_start(&egress->timer, timeout - idle, 0);
		return 0;
	}
	sbx = bpf_map_lookup_elem(&sandboxes, &key->src_addr);
	if (sbx && sbx->ports_in_use)
		__sync_fetch_and_sub(&sbx->ports_in_use, 1);
	bpf_map_delete_elem(&flows, &reverse);
	bpf_map_delete_elem(&flows, key);
	count(COUNTER_FLOW_EXPIRED);
	return 0;
}

static __always_inline void flow_arm_expiry(struct flow *egress,
					    __u64 timeout_ns)
{
	if (bpf_timer_init(&egress->timer, &flows, CLOCK_MONOTONIC))
		return;
	bpf_timer_set_callback(&egress->timer, flow_expire);
	bpf_timer_start(&egress->timer, timeout_ns ? timeout_ns : 1, 0);
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

/* The n-th shared port a new flow tries: the sandbox's own port first
 * (port preservation), then from a random start through the range, so
 * that ports in use do not make every new flow probe the same run. */
static __always_inline __u16 candidate_port(__u32 n, __u16 own_port,
					    __u32 start,
					    const struct attachment *att)
{
	__u32 range = (__u32)att->port_hi - att->port_lo + 1;

	if (n == 0 && own_port >= att->port_lo && own_port <= att->port_hi)
		return own_port;
	return att->port_lo + (start + n) % range;
}

/* Insert the pair for a new flow with its first free shared port. Returns
 * the egress entry, or NULL with *why set to the counter that says why. */
static __always_inline struct flow *
flow_insert_pair(const struct packet *pkt, struct sandbox *sbx,
		 const struct attachment *att, __be32 next_hop,
		 const struct flow_key *egress_key, enum counter *why)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 start = bpf_get_prandom_u32();
	__u16 own_port = bpf_ntohs(pkt->src_port);
	struct flow reverse = {
		.nat_addr = pkt->src_addr,
		.nat_port = pkt->src_port,
		.ifindex = sbx->ifindex,
		.last_seen_ns = now,
	};
	struct flow forward = {
		.ifindex = att->ifindex,
		.next_hop = next_hop,
		.last_seen_ns = now,
	};
	struct flow_key reply_key;
	__u32 addr_index, n;
	long err;

	for (addr_index = 0; addr_index < SHARENAT_MAX_SHARED_ADDRS;
	     addr_index++) {
		if (addr_index >= att->shared_addr_count)
			break;
		forward.nat_addr = att->shared_addrs[addr_index];
		for (n = 0; n < SHARENAT_PORT_PROBES; n++) {
			forward.nat_port = bpf_htons(candidate_port(n, own_port,
								    start,
								    att));
			flow_reverse_key(egress_key, &forward, &reply_key);
			err = bpf_map_update_elem(&flows, &reply_key, &reverse,
						  BPF_NOEXIST);
			if (err == -EEXIST)
				continue;
			if (err) {
				*why = COUNTER_DROP_FLOW_TABLE_FULL;
				return NULL;
			}
			err = bpf_map_update_elem(&flows, egress_key, &forward,
						  BPF_NOEXIST);
			if (err) {
				bpf_map_delete_elem(&flows, &reply_key);
				/* Another CPU made this flow first: use it. */
				if (err == -EEXIST)
					return bpf_map_lookup_elem(&flows,
								   egress_key);
				*why = COUNTER_DROP_FLOW_TABLE_FULL;
				return NULL;
			}
			__sync_fetch_and_add(&sbx->ports_in_use, 1);
			count(COUNTER_FLOW_CREATED);
			return bpf_map_lookup_elem(&flows, egress_key);
		}
	}
	*why = COUNTER_DROP_NO_PORT;
	return NULL;
}

/*
 * Make the pair of entries for a new flow from a sandbox, after the
 * function's security group and the sandbox's port quota let it. Returns
 * the egress entry, or NULL with *why set to the counter that says why.
 */
static __always_inline struct flow *
flow_create(const struct packet *pkt, struct sandbox *sbx,
	    const struct function *fn, const struct attachment *att,
	    __be32 next_hop, const struct flow_key *egress_key,
	    enum counter *why)
{
	struct flow *flow;

	if (!security_group_allows(fn, pkt)) {
		count_function(fn->id, FUNCTION_DROP_SECURITY_GROUP);
		*why = COUNTER_DROP_SECURITY_GROUP;
		return NULL;
	}
	/* 0: a function written without a quota gets the default one. */
	if (sbx->ports_in_use >=
	    (fn->port_quota ?: SHARENAT_DEFAULT_PORT_QUOTA)) {
		count_function(fn->id, FUNCTION_DROP_PORT_QUOTA);
		*why = COUNTER_DROP_PORT_QUOTA;
		return NULL;
	}
	flow = flow_insert_pair(pkt, sbx, att, next_hop, egress_key, why);
	if (!flow) {
		if (*why == COUNTER_DROP_NO_PORT)
			count_function(fn->id, FUNCTION_DROP_NO_PORT);
		return NULL;
	}
	count_function(fn->id, FUNCTION_FLOWS_CREATED);
	flow_arm_expiry(flow, flow_timeout_ns(egress_key, flow, NULL));
	return flow;
}

#endif /* SHARENAT_BPF_FLOW_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flows: the NAT binding made on a flow's first packet. A flow is two
 * entries of map `flows`, egress and ingress, inserted and removed as a
 * pair: the reverse (ingress) entry is inserted first because its key is
 * what makes a shared port unique, and it is removed again if the egress
 * entry cannot follow, so no half-inserted flow survives.
 */
#ifndef SHARENAT_BPF_FLOW_H
#define SHARENAT_BPF_FLOW_H

#include "maps.h"
#include "parse.h"

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

/* The reply a remote sends to a shared address and port, as a key. */
static __always_inline void reply_key_of(const struct packet *pkt,
					 __u32 attachment, __be32 shared_addr,
					 __be16 shared_port,
					 struct flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src_addr = pkt->dst_addr;
	key->dst_addr = shared_addr;
	/* ICMP echo: the reply carries the identifier in dst_port only. */
	key->src_port = pkt->proto == IPPROTO_ICMP ? 0 : pkt->dst_port;
	key->dst_port = shared_port;
	key->proto = pkt->proto;
	key->direction = FLOW_INGRESS;
	key->attachment = attachment;
}

static __always_inline void track_tcp(struct flow *flow, __u8 flags)
{
	if (flags & TCP_FLAG_RST)
		flow->tcp_state = TCP_STATE_CLOSED;
	else if (flags & TCP_FLAG_FIN)
		flow->tcp_state = TCP_STATE_FIN_WAIT;
	else if ((flags & TCP_FLAG_SYN) && !(flags & TCP_FLAG_ACK))
		flow->tcp_state = TCP_STATE_SYN_SENT;
	else if (flow->tcp_state == TCP_STATE_SYN_SENT &&
		 (flags & TCP_FLAG_ACK))
		flow->tcp_state = TCP_STATE_ESTABLISHED;
}

static __always_inline void flow_touch(struct flow *flow,
				       const struct packet *pkt)
{
	flow->last_seen_ns = bpf_ktime_get_ns();
	flow->packets += 1;
	if (pkt->proto == IPPROTO_TCP)
		track_tcp(flow, pkt->tcp_flags);
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

/*
 * Make the pair of entries for a new flow from a sandbox. Returns the
 * egress entry, or NULL with *drop set to the counter that says why.
 */
static __always_inline struct flow *
flow_create(const struct packet *pkt, const struct sandbox *sbx,
	    const struct attachment *att, __be32 next_hop,
	    const struct flow_key *egress_key, enum counter *drop)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 start = bpf_get_prandom_u32();
	__u16 own_port = bpf_ntohs(pkt->src_port);
	struct flow reverse = {
		.nat_addr = pkt->src_addr,
		.nat_port = pkt->src_port,
		.ifindex = sbx->ifindex,
		.created_ns = now,
		.last_seen_ns = now,
	};
	struct flow forward = {
		.ifindex = att->ifindex,
		.next_hop = next_hop,
		.created_ns = now,
		.last_seen_ns = now,
	};
	struct flow_key reply_key;
	__u32 addr_index, n;
	long err;

	for (addr_index = 0; addr_index < SHARENAT_MAX_SHARED_ADDRS;
	     addr_index++) {
		if (addr_index >= att->shared_addr_count)
			break;
		for (n = 0; n < SHARENAT_PORT_PROBES; n++) {
			__be16 port = bpf_htons(candidate_port(n, own_port,
							       start, att));

			reply_key_of(pkt, att->ifindex,
				     att->shared_addrs[addr_index], port,
				     &reply_key);
			err = bpf_map_update_elem(&flows, &reply_key, &reverse,
						  BPF_NOEXIST);
			if (err == -EEXIST)
				continue;
			if (err) {
				*drop = COUNTER_DROP_FLOW_TABLE_FULL;
				return NULL;
			}
			forward.nat_addr = att->shared_addrs[addr_index];
			forward.nat_port = port;
			err = bpf_map_update_elem(&flows, egress_key, &forward,
						  BPF_NOEXIST);
			if (err) {
				bpf_map_delete_elem(&flows, &reply_key);
				/* Another CPU made this flow first: use it. */
				if (err == -EEXIST)
					return bpf_map_lookup_elem(&flows,
								   egress_key);
				*drop = COUNTER_DROP_FLOW_TABLE_FULL;
				return NULL;
			}
			count(COUNTER_FLOW_CREATED);
			return bpf_map_lookup_elem(&flows, egress_key);
		}
	}
	*drop = COUNTER_DROP_NO_PORT;
	return NULL;
}

#endif /* SHARENAT_BPF_FLOW_H */

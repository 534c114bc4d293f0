/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fragments. Only a datagram's first fragment carries the ports that name
 * its flow: it is translated as any packet and leaves behind, in map
 * `fragments`, what it was translated to. The later fragments of the same
 * datagram need only their address rewritten (the L4 checksum, which
 * covers the whole datagram, was fixed in the first) and follow the first
 * fragment's way.
 *
 * A later fragment that comes before its first (reordered on the way, as
 * RFC 4787 REQ-14 expects a NAT to take) is held, whole, in map
 * `held_fragments`, at tc only (XDP hands fragments to tc). When the first
 * comes and is translated, its skb carries each held fragment back in at
 * the same device's ingress, where it now finds its first, and is then
 * restored and sent on. Held fragments are bounded in number, per datagram
 * and in size, and kept SHARENAT_FRAGMENT_TIMEOUT at most (the sweeper);
 * past either they are dropped and counted.
 */
#ifndef SHARENAT_BPF_FRAGMENT_H
#define SHARENAT_BPF_FRAGMENT_H

#include "flow.h"
#include "maps.h"
#include "parse.h"

static __always_inline void fragment_key_of(const struct packet *pkt,
					    enum flow_direction direction,
					    __u32 attachment,
					    struct fragment_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src_addr = pkt->src_addr;
	key->dst_addr = pkt->dst_addr;
	key->ip_id = pkt->ip_id;
	key->proto = pkt->proto;
	key->direction = direction;
	key->attachment = attachment;
}

/* A first fragment was translated: remember how, for the rest. */
static __always_inline void fragment_remember(const struct packet *pkt,
					      enum flow_direction direction,
					      __u32 attachment, __be32 nat_addr,
					      __u32 ifindex, __be32 next_hop,
					      __be16 nat_ip_id)
{
	struct fragment_key key;
	struct fragment value;

	/* Before anything else: the clock is a helper call, which every
	 * packet that is no first fragment would otherwise pay for. */
	if (pkt->fragment != FRAGMENT_FIRST)
		return;
	value = (struct fragment){
		.nat_addr = nat_addr,
		.next_hop = next_hop,
		.ifindex = ifindex,
		.nat_ip_id = nat_ip_id,
		.first_seen_ns = bpf_ktime_get_ns(),
	};
	fragment_key_of(pkt, direction, attachment, &key);
	bpf_map_update_elem(&fragments, &key, &value, BPF_ANY);
}

/* The first fragment's translation for a later one, if it came, and not
 * longer ago than a datagram may take to arrive. */
static __always_inline const struct fragment *
fragment_find(const struct packet *pkt, enum flow_direction direction,
	      __u32 attachment)
{
	struct fragment_key key;
	struct fragment *first;

	fragment_key_of(pkt, direction, attachment, &key);
	first = bpf_map_lookup_elem(&fragments, &key);
	if (!first || bpf_ktime_get_ns() - first->first_seen_ns >
		      (__u64)SHARENAT_FRAGMENT_TIMEOUT * 1000000000ull)
		return NULL;
	return first;
}

static __always_inline bool fragment_held_too_long(const struct held_fragment *held)
{
	return bpf_ktime_get_ns() - held->held_ns >
	       (__u64)SHARENAT_FRAGMENT_TIMEOUT * 1000000000ull;
}

/* Copy the whole frame in skb into *frame. */
static __always_inline int frame_save(struct __sk_buff *skb,
				      struct held_fragment *frame)
{
	__u32 len = skb->len;

	if (len < ETH_HLEN || len > SHARENAT_HELD_FRAME_BYTES)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, frame->frame, len))
		return -1;
	frame->len = len;
	return 0;
}

/* Make skb carry *frame instead. */
static __always_inline int frame_put(struct __sk_buff *skb,
				     const struct held_fragment *frame)
{
	__u32 len = frame->len;

	if (len < ETH_HLEN || len > SHARENAT_HELD_FRAME_BYTES)
		return -1;
	if (bpf_skb_change_tail(skb, len, 0))
		return -1;
	return bpf_skb_store_bytes(skb, 0, frame->frame, len, 0) ? -1 : 0;
}

/* A later fragment with no first yet: hold it. Returns what became of it,
 * to count: held, or dropped past the bound. */
static __always_inline enum counter
fragment_hold(struct __sk_buff *skb, const struct packet *pkt,
	      enum flow_direction direction, __u32 attachment)
{
	struct held_fragment_key key;
	struct held_fragment *frame;
	struct sweeper *sweeper;
	__u32 zero = 0;
	long err;

	frame = bpf_map_lookup_elem(&frame_scratch, &zero);
	sweeper = bpf_map_lookup_elem(&expiry_sweeper, &zero);
	if (!frame || !sweeper || frame_save(skb, frame))
		return COUNTER_DROP_FRAGMENT_HOLD_FULL;
	frame->held_ns = bpf_ktime_get_ns();
	fragment_key_of(pkt, direction, attachment, &key.datagram);
	for (key.slot = 0; key.slot < SHARENAT_HELD_PER_DATAGRAM; key.slot++) {
		err = bpf_map_update_elem(&held_fragments, &key, frame,
					  BPF_NOEXIST);
		if (err == -EEXIST)
			continue;
		if (err)
			break;
		__sync_fetch_and_add(&sweeper->held, 1);
		return COUNTER_FRAGMENT_HELD;
	}
	return COUNTER_DROP_FRAGMENT_HOLD_FULL;
}

/*
 * A first fragment was translated (skb holds it as it is to leave): send
 * the datagram's held fragments back in, then put the first fragment back
 * in skb. Nonzero if skb could not be restored (the caller drops it).
 * bpf_clone_redirect clones skb as it is when called, and unclones skb
 * before it returns, so each clone keeps its own fragment.
 */
static __always_inline int fragment_release(struct __sk_buff *skb,
					    const struct packet *pkt,
					    enum flow_direction direction,
					    __u32 attachment)
{
	struct held_fragment_key key;
	struct held_fragment *first, *held;
	__u32 zero = 0;
	bool saved = false;

	if (pkt->fragment != FRAGMENT_FIRST)
		return 0;
	first = bpf_map_lookup_elem(&frame_scratch, &zero);
	if (!first)
		return 0;
	fragment_key_of(pkt, direction, attachment, &key.datagram);
	for (key.slot = 0; key.slot < SHARENAT_HELD_PER_DATAGRAM; key.slot++) {
		held = bpf_map_lookup_elem(&held_fragments, &key);
		if (!held)
			continue;
		if (!saved) {
			/* A first fragment too large to keep aside leaves
			 * its held ones to time out. */
			if (frame_save(skb, first))
				return 0;
			saved = true;
		}
		if (fragment_held_too_long(held))
			count(COUNTER_DROP_FRAGMENT_TIMEOUT);
		else if (frame_put(skb, held) ||
			 bpf_clone_redirect(skb, skb->ifindex, BPF_F_INGRESS))
			count(COUNTER_DROP_FRAGMENT_UNRELEASED);
		else
			count(COUNTER_FRAGMENT_RELEASED);
		bpf_map_delete_elem(&held_fragments, &key);
	}
	if (saved && frame_put(skb, first))
		return -1;
	return 0;
}

/* The sweeper's round over the held fragments (see flow.h). */
static long sweep_held_fragment(struct bpf_map *map,
				struct held_fragment_key *key,
				struct held_fragment *held,
				struct sweep *sweep)
{
	if (!fragment_held_too_long(held)) {
		__sync_fetch_and_add(&sweep->sweeper->held, 1);
		return 0;
	}
	if (!bpf_map_delete_elem(map, key))
		count(COUNTER_DROP_FRAGMENT_TIMEOUT);
	return 0;
}

#endif /* SHARENAT_BPF_FRAGMENT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map of sharenat. All are pinned by name under the pin directory
 * (default /sys/fs/bpf/sharenat), so each CLI run and bpftool see the same
 * state, and the programs keep it while no sharenat process runs.
 */
#ifndef SHARENAT_BPF_MAPS_H
#define SHARENAT_BPF_MAPS_H

#include "sharenat.h"

/* attachments: shared-device ifindex -> struct attachment.
 * Written by the CLI (attach, detach). Read by egress (the attachment a
 * function's subnet names) and ingress (is this device ours). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_ATTACHMENTS);
	__type(key, __u32);
	__type(value, struct attachment);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} attachments SEC(".maps");

/* functions: function id -> struct function (its subnets and attachments).
 * Written by the CLI (function add/del). Read by egress. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_FUNCTIONS);
	__type(key, __u32);
	__type(value, struct function);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} functions SEC(".maps");

/* function_ids: function name -> function id.
 * Written and read by the CLI only; the programs never see names. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_FUNCTIONS);
	__type(key, struct name_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} function_ids SEC(".maps");

/* security_groups: group id -> struct security_group (egress allow rules).
 * Written by the CLI (sg add/del). Read by egress on a flow's first packet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_SECURITY_GROUPS);
	__type(key, __u32);
	__type(value, struct security_group);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} security_groups SEC(".maps");

/* security_group_ids: group name -> group id. CLI only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_SECURITY_GROUPS);
	__type(key, struct name_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} security_group_ids SEC(".maps");

/* sandboxes: sandbox address (network order) -> struct sandbox.
 * Written by the CLI (sandbox add/del); egress writes the learned MAC and
 * counts ports_in_use up, expiry counts it down.
 * Read by egress (anti-spoofing: the address must belong to the device the
 * packet came in on) and ingress (where and to which MAC to deliver). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_SANDBOXES);
	__type(key, __be32);
	__type(value, struct sandbox);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sandboxes SEC(".maps");

/* sandbox_ids: sandbox id -> sandbox address.
 * Written and read by the CLI only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_SANDBOXES);
	__type(key, struct name_key);
	__type(value, __be32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sandbox_ids SEC(".maps");

/* flows: struct flow_key -> struct flow, one entry per flow, keyed by its
 * sandbox side. Written by egress (a new flow; both directions' counters),
 * by ingress (its direction's counters), by the sweeper (removes an idle
 * flow, see expiry_queue) and by the CLI (removes flows on sandbox del and
 * detach). Read by both programs. A plain hash, not LRU: a full table
 * refuses new flows with a counted drop instead of evicting a live one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

/* xdp_devices: ifindex -> ifindex of every device XDP may redirect to:
 * sandbox devices that take XDP frames (taps), and shared devices attached
 * with --mode xdp. Written by the CLI (sandbox add/del, attach/detach).
 * Read by XDP ingress and XDP egress, which redirect through it (a devmap
 * flushes redirected frames in bulk). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, SHARENAT_MAX_SANDBOXES + SHARENAT_MAX_ATTACHMENTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_devices SEC(".maps");

/* neighbours: struct neighbour_key -> struct neighbour_macs, the hosts on
 * the links of shared devices attached with --mode xdp. Written by XDP
 * ingress from every ARP it sees there (neighbour.h). Read by XDP egress
 * for the MACs of a flow's next hop. LRU: a host not heard from is only a
 * cache miss, which tc's path serves. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SHARENAT_MAX_NEIGHBOURS);
	__type(key, struct neighbour_key);
	__type(value, struct neighbour_macs);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} neighbours SEC(".maps");

/* mappings: struct mapping_key -> struct mapping, on attachments with
 * endpoint-independent mapping. ports: struct port_key -> struct
 * port_hold, the owner of each shared endpoint a mapping holds, which is
 * how a reply finds its flow. A port outlives its mapping by
 * SHARENAT_PORT_HOLD_SECONDS (port_hold_queue), and only its last owner
 * may take it again in that time. Written by egress (new mapping), by the
 * sweeper (the last flow of a mapping expired; a hold ended) and by the
 * CLI (sandbox del, detach). Read by both programs and the sweeper. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_MAPPINGS);
	__type(key, struct mapping_key);
	__type(value, struct mapping);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mappings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_MAPPINGS);
	__type(key, struct port_key);
	__type(value, struct port_hold);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ports SEC(".maps");

/* sandbox_devices: ifindex -> struct sandbox_device, the devices made
 * ready for sandboxes before they come. Written and read by the CLI only
 * (device add/del; sandbox add skips the attach on them, sandbox del
 * leaves their programs); pinned with the rest so that it lives as long
 * as the programs it speaks of. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_SANDBOXES);
	__type(key, __u32);
	__type(value, struct sandbox_device);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sandbox_devices SEC(".maps");

/* replies: struct reply_key -> struct mapping_key, on attachments with
 * endpoint-dependent mapping: the sandbox endpoint each reply key leads
 * to, one per flow; its uniqueness is what lets a shared port serve many
 * remotes. Allocated as used, so attachments with endpoint-independent
 * mapping pay nothing for it. Written by egress (new flow), the sweeper
 * (expiry) and the CLI (sandbox del, detach). Read by ingress. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_FLOWS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct reply_key);
	__type(value, struct mapping_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} replies SEC(".maps");

/* port_hold_queue: FIFO of struct port_hold_ticket, one per released
 * port, each due SHARENAT_PORT_HOLD_SECONDS after it was queued, so the
 * queue stays in due order. Pushed when a mapping's last flow expires,
 * popped by the sweeper, which then frees the port unless its owner has
 * taken it again (or released it again later: that later ticket frees
 * it). A port released with the queue full is freed at once. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, SHARENAT_MAX_MAPPINGS);
	__type(value, struct port_hold_ticket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} port_hold_queue SEC(".maps");

/* fragments: struct fragment_key -> struct fragment, one per fragmented
 * datagram whose first fragment was translated. Written by both programs
 * on a first fragment; read on the later ones. LRU and bounded: an entry
 * only ever serves one datagram's fragments, so evicting the oldest under
 * pressure costs at most that datagram, never a flow. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SHARENAT_MAX_FRAGMENTED);
	__type(key, struct fragment_key);
	__type(value, struct fragment);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fragments SEC(".maps");

/* held_fragments: struct held_fragment_key -> struct held_fragment, the
 * later fragments that came before their first. Written by both programs
 * (held on arrival; released and removed when the first comes) and by the
 * sweeper (removed past SHARENAT_FRAGMENT_TIMEOUT). A plain hash, not
 * LRU: a fragment past the bound is refused and counted, never one held
 * silently evicted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SHARENAT_MAX_HELD_FRAGMENTS);
	__type(key, struct held_fragment_key);
	__type(value, struct held_fragment);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} held_fragments SEC(".maps");

/* frame_scratch: 0 -> struct held_fragment, per CPU: room for one frame,
 * too large for the stack. The frame to hold is built here, a first
 * fragment waits here while its skb carries its held fragments out, and
 * XDP egress sums a segment here to finish its checksum. Only ever used
 * within one program run. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct held_fragment);
} frame_scratch SEC(".maps");

/* datagram_copies: 0 -> one datagram being fragmented (fragmenter.h),
 * per CPU, too large for the stack; used within one program run. Four
 * frames' room, so that any piece's offset and length, which the verifier
 * bounds one by one, fit inside it. */
struct datagram_copy {
	__u8 frame[4 * SHARENAT_HELD_FRAME_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct datagram_copy);
} datagram_copies SEC(".maps");

/* ip_ids: 0 -> the last IP identification egress gave a non-atomic
 * datagram (ip_id.h). One counter for all CPUs, so no two datagrams in a
 * row from one shared address share an id; only DF-clear datagrams and
 * first fragments touch it. Written and read by egress. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ip_ids SEC(".maps");

/* expiry_sweeper: 0 -> struct sweeper. Its timer is started once, by
 * sharenat_init when the programs are loaded, and runs on its own from
 * then on. Written by both programs (a ticket queued, a fragment held)
 * and by the timer. Read by nobody else; bpftool shows how many tickets
 * and held fragments wait for it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sweeper);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} expiry_sweeper SEC(".maps");

/* expiry_queue: FIFO of struct expiry_ticket, one per flow, each due a
 * fixed time after it was queued, so the queue stays in due order. Pushed
 * by egress (a new flow) and by the sweeper (a flow looked at and still
 * live); popped by the sweeper only. Room for a ticket per flow the table
 * holds and the sweeper's headroom. A flow removed by the CLI leaves its
 * ticket behind for up to SHARENAT_EXPIRY_RECHECK_MS: new flows that find
 * the queue full in that time are refused (drop_flow_table_full). */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, SHARENAT_EXPIRY_QUEUE_ROOM(SHARENAT_MAX_FLOWS));
	__type(value, struct expiry_ticket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} expiry_queue SEC(".maps");

/* expiry_queue's max_entries as loaded: a loader that sizes the queue
 * otherwise (the bench's 1M-flow table) sets this to match. */
const volatile __u64 expiry_queue_room =
	SHARENAT_EXPIRY_QUEUE_ROOM(SHARENAT_MAX_FLOWS);

/* counters: enum counter -> packets, one slot per CPU.
 * Written by both programs. Read (summed over CPUs) by `sharenat stats`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

/* function_counters: function id -> struct function_counters, per CPU.
 * Written by both programs; zeroed by the CLI when an id is (re)used.
 * Read (summed) by `sharenat stats`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHARENAT_MAX_FUNCTIONS);
	__type(key, __u32);
	__type(value, struct function_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} function_counters SEC(".maps");

/* latency: enum latency -> struct latency_histogram, the time of each
 * sandbox attach and attachment set-up in log-linear buckets. Written by
 * the CLI (read-modify-write under the pin directory's lock, after each
 * such operation succeeds). Read by `sharenat stats`. The programs never
 * touch it: it lives here to be pinned, with BTF, beside the state it
 * describes and to outlive every CLI run. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LATENCY_MAX);
	__type(key, __u32);
	__type(value, struct latency_histogram);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} latency SEC(".maps");

/* attachment_counters, sandbox_counters: counter_slot -> struct
 * traffic_counters, per CPU; an object's slot is in its entry (and, for
 * attachments, in every flow entry through it). Written by both programs;
 * a slot is zeroed and handed out by the CLI with the object (attach,
 * sandbox add) and given back with it. Read (summed) by `stats`. Arrays,
 * not hashes keyed by the object: a lookup the verifier inlines. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHARENAT_MAX_ATTACHMENTS);
	__type(key, __u32);
	__type(value, struct traffic_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} attachment_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHARENAT_MAX_SANDBOXES);
	__type(key, __u32);
	__type(value, struct traffic_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sandbox_counters SEC(".maps");

/* counter_slots: 0 -> struct counter_slots, the slots handed out. Written
 * and read by the CLI only (under its writer lock). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counter_slots);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counter_slots SEC(".maps");

/* A translated packet of a sandbox, through an attachment. */
static __always_inline void count_traffic(__u32 sandbox_slot,
					  __u32 attachment_slot, bool out,
					  __u32 bytes)
{
	struct traffic_counters *by_sandbox, *by_attachment;

	by_sandbox = bpf_map_lookup_elem(&sandbox_counters, &sandbox_slot);
	by_attachment = bpf_map_lookup_elem(&attachment_counters,
					    &attachment_slot);
	if (out) {
		if (by_sandbox) {
			by_sandbox->packets_out++;
			by_sandbox->bytes_out += bytes;
		}
		if (by_attachment) {
			by_attachment->packets_out++;
			by_attachment->bytes_out += bytes;
		}
	} else {
		if (by_sandbox) {
			by_sandbox->packets_in++;
			by_sandbox->bytes_in += bytes;
		}
		if (by_attachment) {
			by_attachment->packets_in++;
			by_attachment->bytes_in += bytes;
		}
	}
}

static __always_inline void count_refused(const struct sandbox *sbx)
{
	__u32 slot = sbx->counter_slot;
	struct traffic_counters *by_sandbox;

	by_sandbox = bpf_map_lookup_elem(&sandbox_counters, &slot);
	if (by_sandbox)
		by_sandbox->flows_refused++;
}

static __always_inline void count(enum counter which)
{
	__u32 key = which;
	__u64 *value = bpf_map_lookup_elem(&counters, &key);

	if (value)
		*value += 1;
}

#endif /* SHARENAT_BPF_MAPS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fast-path fuzzer (make fuzz): random and mutated frames through the
 * four programs (tc egress, tc ingress, XDP ingress, XDP egress) with
 * BPF_PROG_TEST_RUN, on a populated state, with invariants checked on
 * every run. The pieces:
 *
 *   world.c     a private network namespace with veth devices (so the
 *               runs can come in on several devices), the skeleton loaded
 *               by the unit tests' fixture (tests/unit/bpf_fixture.c),
 *               the configuration, flows made by valid packets first, the
 *               probe, and the global state check;
 *   gen.c       frames from templates (replies to known flows, ICMP
 *               errors quoting them, fragments, ARP, ...) and mutations;
 *   check.c     the invariants of one run;
 *   fastpath.c  the loop, the tallies and the report.
 */
#ifndef SHARENAT_FUZZ_FASTPATH_H
#define SHARENAT_FUZZ_FASTPATH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf_fixture.h"
#include "probe.h"
#include "probe.skel.h"

/* Frames up to this size are generated; BPF_PROG_TEST_RUN refuses the
 * largest (they do not fit a page), which is a case too. */
#define FZ_FRAME_MAX 4600
#define FZ_OUT_MAX 8192

#define POOL_ADDR ADDR(100, 64, 0, 0)
#define POOL_MASK 0xffc00000u
#define IP_MF_FLAG 0x2000
#define IP_OFFSET_MASK 0x1fff
#define IN_POOL(a) (((a) & POOL_MASK) == POOL_ADDR)

/* ---- the world ---- */

enum fz_dev {
	DEV_A,		/* loopback: attachment A (XDP and tc) */
	DEV_B,		/* attachment B: A's subnet again, another customer */
	DEV_C,		/* attachment C: another subnet */
	DEV_SX1,	/* sandbox devices (veth-like) */
	DEV_SX2,
	DEV_TAP,	/* a sandbox device that takes XDP frames */
	DEV_COUNT,
};

struct fz_device {
	const char *name;	/* in the fuzzer's own network namespace */
	__u32 ifindex;
	__u32 mtu;
	__u8 mac[6];		/* host-side MAC the sandboxes see; a shared
				 * device's own */
};

struct fz_sandbox {
	const char *id;
	uint32_t addr;		/* host order */
	__u32 function_id;
	enum fz_dev dev;
	bool xdp_frames;
	bool static_mac;
	__u8 mac[6];
};

/* One flow as the maps held it at the last refresh, and a reply to it
 * as the remote addresses it (reply_key_of). */
struct fz_flow {
	struct flow_key key;
	struct flow flow;
	struct reply_key reply;
};

extern struct fz_device fz_devices[DEV_COUNT];
extern const struct fz_sandbox fz_sandboxes[];
extern const unsigned int fz_sandbox_count;
extern const __u32 fz_function_ids[];
extern const unsigned int fz_function_count;
extern struct fuzz_probe *fz_probe;
extern struct fz_flow *fz_flows;
extern unsigned int fz_flow_count;

/* Into a network namespace of our own, with the devices; 0 or -1. */
int world_netns(void);
/* Load (through the fixture), configure, load the probe. Odd epochs get
 * a small flow table, which fills. */
void world_load(unsigned int epoch_number);
void world_unload(void);
/* Valid packets first: flows in every direction the configuration lets. */
void world_seed(void);
void world_refresh_flows(void);
/* The next hops XDP egress may send to: fresh, stale and missing entries
 * of map `neighbours`, put back as planned (an ARP run may have changed
 * them, and fresh ones must not age out in a long run). */
void world_refresh_neighbours(void);
#define FZ_NEIGHBOUR_FRESH_NS \
	((__u64)SHARENAT_NEIGHBOUR_FRESH_SECONDS * 1000000000ull)
__u64 world_coarse_ns(void);
const struct fz_sandbox *world_sandbox(uint32_t addr);
int world_sandbox_index(uint32_t addr);
int world_function_index(__u32 id);
bool world_function_exists(__u32 id);
const struct attachment *world_attachment(__u32 ifindex);
bool world_is_shared(uint32_t addr);
enum fz_dev world_dev_of(__u32 ifindex);
void probe_read(struct probe_snapshot *snap);
/* Every global invariant of the maps; prints each problem, returns how
 * many there were. */
unsigned int world_state_check(void);

/* ---- one run ---- */

/* Runs counted by enum hook (bpf_fixture.h), whose first is 1. */
#define FZ_HOOKS (XDP_EGRESS + 1)

static inline bool hook_is_xdp(enum hook hook)
{
	return hook == XDP_INGRESS || hook == XDP_EGRESS;
}

/* A sandbox's frame, on a sandbox device. */
static inline bool hook_is_egress(enum hook hook)
{
	return hook == EGRESS || hook == XDP_EGRESS;
}

struct fz_case {
	unsigned long index;	/* case number */
	const char *template;
	enum hook hook;
	__u32 ifindex;
	__u32 flags;		/* BPF_PROG_TEST_RUN flags */
	uint8_t in[FZ_FRAME_MAX];
	size_t in_len;
	uint8_t out[FZ_OUT_MAX];
	size_t out_len;
	int err;
	int verdict;
	struct probe_snapshot before;
	struct probe_snapshot after;
};

void run_case(struct fz_case *c);

/* ---- randomness: splitmix64, deterministic from FUZZ_SEED ---- */

struct rng {
	uint64_t state;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static inline bool rng_chance(struct rng *r, unsigned int percent)
{
	return rng_below(r, 100) < percent;
}

/* ---- generation (gen.c) ---- */

void gen_case(struct rng *r, struct fz_case *c);
/* Frames of the seeding phase. */
size_t gen_frame(const struct frame_spec *spec, uint8_t *buf, size_t cap);
/* Coverage of the sweeps: ICMP (type, code) pairs and TCP flag bytes. */
unsigned int gen_icmp_pairs_covered(void);
unsigned int gen_tcp_flags_covered(void);
void gen_reset(void);

/* ---- invariants (check.c) ---- */

enum invariant {
	INV_VERDICT,
	INV_REFUSED_NO_EFFECT,
	INV_COUNTERS,
	INV_FUNCTION_COUNTERS,
	INV_FLOW_ACCOUNTING,
	INV_DROP_NO_STATE,
	INV_PASS_UNTOUCHED,
	INV_INGRESS_OWNER,
	INV_EGRESS_SOURCE,
	INV_ANTI_SPOOFING,
	INV_IP_CHECKSUM,
	INV_L4_CHECKSUM,
	INV_ICMP_INNER_CHECKSUMS,
	INV_ONLY_NAT_FIELDS,
	INV_TTL,
	INV_ARP_REPLY,
	INV_CHECKSUM_COMPLETE,
	INV_OWN_ICMP_ERROR,
	INV_XDP_EGRESS,
	INV_STATE,
	INV_MAX,
};

struct tally {
	const char *name;
	const char *what;
	unsigned long checked;
	unsigned long violated;
	unsigned long exempt;	/* documented exceptions, see check.c */
};

extern struct tally tallies[INV_MAX];
extern unsigned long fz_show_violations;	/* printed per invariant */
extern uint64_t fz_seed;

void check_case(const struct fz_case *c);
/* A violation found outside a run (the global state check). */
void violation(enum invariant inv, const struct fz_case *c,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void print_hex(const char *label, const uint8_t *p, size_t n);

/* Counters and verdicts seen, for the report. */
struct outcome_stats {
	unsigned long runs[FZ_HOOKS];		/* by enum hook */
	unsigned long verdicts[FZ_HOOKS][8];	/* hook, verdict 0..7 */
	unsigned long refused[FZ_HOOKS];	/* EINVAL: the kernel's */
	unsigned long counter_moved[COUNTER_MAX];
	/* Translated although their checksums were bad on arrival (they
	 * leave as bad: residuals kept; an L4 seed XDP egress finishes is
	 * not counted). */
	unsigned long bad_ip_checksum_in;
	unsigned long bad_l4_checksum_in;
};

extern struct outcome_stats fz_stats;

#endif

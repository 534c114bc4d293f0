/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sharenat library: what the CLI does, callable by an agent that
 * attaches sandboxes without starting a process per call. Every operation
 * is all-or-nothing: on failure it returns -1, leaves the state as it was,
 * and fills err with one line "what: why".
 */
#ifndef LIBSHARENAT_H
#define LIBSHARENAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "sharenat.h"

#define SHARENAT_DEFAULT_PIN_DIR "/sys/fs/bpf/sharenat"
#define SHARENAT_ERROR_MAX 256

struct sharenat_error {
	char message[SHARENAT_ERROR_MAX];
};

/* Opened state: the pinned maps and programs. */
struct sharenat;

enum sharenat_open_mode {
	SHARENAT_OPEN_EXISTING,	/* fail if nothing is loaded */
	SHARENAT_OPEN_CREATE,	/* load and pin the programs if needed */
	/* As EXISTING, for a caller that only reads: it leaves no writer
	 * mark, so its death never makes the next open check the state. */
	SHARENAT_OPEN_READ,
};

struct sharenat *sharenat_open(const char *pin_dir,
			       enum sharenat_open_mode mode,
			       struct sharenat_error *err);
void sharenat_close(struct sharenat *sn);
/* Close after a failed operation: when this open loaded the programs and
 * nothing was configured, unload them too, so the failure leaves no trace. */
void sharenat_close_failed(struct sharenat *sn);
/* Unpin programs and maps when nothing is configured any more (after the
 * last detach); the state reads as "not loaded" again. */
void sharenat_unload_if_empty(struct sharenat *sn);
/* False when the pin directory holds no loaded sharenat (yet). */
bool sharenat_is_loaded(const char *pin_dir);

struct sharenat_attach_spec {
	const char *dev;
	__be32 subnet_addr;
	__be32 subnet_mask;
	__be32 shared_addrs[SHARENAT_MAX_SHARED_ADDRS];
	unsigned int shared_addr_count;
	__be32 gateway_addr;		/* 0: none */
	__u16 port_lo;
	__u16 port_hi;
	enum mapping_behaviour mapping;
	/* Ingress hook; unset: tc on veth (XDP there turns the peer's TSO
	 * off), XDP in front of tc on any other device. */
	bool hook_set;
	enum nat_hook hook;
	struct flow_timeouts timeouts;	/* seconds; 0: the default */
};

int sharenat_attach(struct sharenat *sn,
		    const struct sharenat_attach_spec *spec,
		    struct sharenat_error *err);
int sharenat_detach(struct sharenat *sn, const char *dev,
		    struct sharenat_error *err);

/* A subnet of a function; dev NULL means "the one attachment with this
 * subnet", which is an error when two customers use the same CIDR. */
struct sharenat_subnet_ref {
	__be32 subnet_addr;
	__be32 subnet_mask;
	const char *dev;
};

struct sharenat_function_spec {
	const char *name;
	struct sharenat_subnet_ref subnets[SHARENAT_MAX_FUNCTION_SUBNETS];
	unsigned int subnet_count;
	const char *security_group;	/* NULL: none, everything allowed */
	__u32 port_quota;		/* 0: SHARENAT_DEFAULT_PORT_QUOTA */
};

struct sharenat_sg_spec {
	const char *name;
	struct sg_rule rules[SHARENAT_MAX_SG_RULES];
	unsigned int rule_count;
};

int sharenat_sg_add(struct sharenat *sn, const struct sharenat_sg_spec *spec,
		    struct sharenat_error *err);
int sharenat_sg_del(struct sharenat *sn, const char *name,
		    struct sharenat_error *err);

int sharenat_function_add(struct sharenat *sn,
			  const struct sharenat_function_spec *spec,
			  struct sharenat_error *err);
int sharenat_function_del(struct sharenat *sn, const char *name,
			  struct sharenat_error *err);

struct sharenat_sandbox_spec {
	const char *id;
	const char *function;
	const char *dev;
	__be32 addr;
	__u8 mac[6];
	bool has_mac;
	/* NAT_HOOK_XDP: the XDP egress fast path in front of tc on the
	 * device (packet rate; it turns TSO off for a veth's sandbox). */
	enum nat_hook hook;
};

int sharenat_sandbox_add(struct sharenat *sn,
			 const struct sharenat_sandbox_spec *spec,
			 struct sharenat_error *err);
int sharenat_sandbox_del(struct sharenat *sn, const char *id,
			 struct sharenat_error *err);

/* A device made ready for sandboxes before they come (a pool's tap): its
 * egress programs attached now, so that a sandbox add on it only writes
 * maps. */
struct sharenat_device_spec {
	const char *dev;
	enum nat_hook hook;		/* as a sandbox add's --mode */
};

int sharenat_device_add(struct sharenat *sn,
			const struct sharenat_device_spec *spec,
			struct sharenat_error *err);
int sharenat_device_del(struct sharenat *sn, const char *dev,
			struct sharenat_error *err);

/* Reading the state, for output. Each visitor returns 0 to go on. */
typedef int (*sharenat_attachment_fn)(const struct attachment *att,
				      void *ctx);
typedef int (*sharenat_function_fn)(const struct function *fn, void *ctx);
typedef int (*sharenat_sandbox_fn)(const struct sandbox *sbx, void *ctx);
typedef int (*sharenat_sg_fn)(const struct security_group *sg, void *ctx);
typedef int (*sharenat_device_fn)(__u32 ifindex,
				  const struct sandbox_device *dev, void *ctx);
/* One flow: its key (the sandbox side) and its value. */
typedef int (*sharenat_flow_fn)(const struct flow_key *key,
				const struct flow *flow, void *ctx);

int sharenat_for_each_attachment(struct sharenat *sn,
				 sharenat_attachment_fn fn, void *ctx);
int sharenat_for_each_function(struct sharenat *sn, sharenat_function_fn fn,
			       void *ctx);
int sharenat_for_each_sandbox(struct sharenat *sn, sharenat_sandbox_fn fn,
			      void *ctx);
int sharenat_for_each_flow(struct sharenat *sn, sharenat_flow_fn fn,
			   void *ctx);
int sharenat_for_each_sg(struct sharenat *sn, sharenat_sg_fn fn, void *ctx);
int sharenat_for_each_device(struct sharenat *sn, sharenat_device_fn fn,
			     void *ctx);
int sharenat_sg_lookup(struct sharenat *sn, __u32 id,
		       struct security_group *out);
/* Per-function counters summed over CPUs. */
int sharenat_read_function_counters(struct sharenat *sn, __u32 function_id,
				    struct function_counters *out,
				    struct sharenat_error *err);
const char *sharenat_function_counter_name(enum function_counter which);
/* The traffic of a sandbox or an attachment (slot: its counter_slot),
 * summed over CPUs. */
int sharenat_read_traffic(struct sharenat *sn, bool sandbox, __u32 slot,
			  struct traffic_counters *out,
			  struct sharenat_error *err);
/* One entry by its key; 0, or -1 when there is none. */
int sharenat_sandbox_lookup(struct sharenat *sn, __be32 addr,
			    struct sandbox *out);
int sharenat_function_lookup(struct sharenat *sn, __u32 id,
			     struct function *out);
int sharenat_function_find(struct sharenat *sn, const char *name,
			   struct function *out);
int sharenat_sandbox_find(struct sharenat *sn, const char *id,
			  struct sandbox *out);
/* Sum of every counter over all CPUs, indexed by enum counter. */
int sharenat_read_counters(struct sharenat *sn, __u64 values[COUNTER_MAX],
			   struct sharenat_error *err);
const char *sharenat_counter_name(enum counter which);
const char *sharenat_tcp_state_name(enum flow_tcp_state state);

/*
 * Control-plane latency (map `latency`): a histogram per enum latency.
 * The CLI records each successful sandbox attach and attachment set-up;
 * an agent using this library records its own with
 * sharenat_latency_record(). Durations in nanoseconds.
 */
struct sharenat_latency_summary {
	__u64 count;
	__u64 sum_ns;
	__u64 p50_ns;
	__u64 p90_ns;
	__u64 p99_ns;
	__u64 max_ns;
};

int sharenat_latency_record(struct sharenat *sn, enum latency which,
			    __u64 ns, struct sharenat_error *err);
int sharenat_latency_read(struct sharenat *sn, enum latency which,
			  struct latency_histogram *out,
			  struct sharenat_error *err);
/* Put a histogram back as it was (undoing the records of a failed
 * sequence of operations). */
int sharenat_latency_write(struct sharenat *sn, enum latency which,
			   const struct latency_histogram *h,
			   struct sharenat_error *err);
void sharenat_latency_summarize(const struct latency_histogram *h,
				struct sharenat_latency_summary *out);
const char *sharenat_latency_name(enum latency which);

/*
 * Declarative state (`sharenat apply`, docs/cli.md): a text of one object
 * per line (attachment, sg, function, sandbox). Parsing checks the text
 * alone, never the system: each error names "source:line". Applying
 * converges the state to it: removes what the text lacks, adds what is
 * missing, replaces what differs; on any failure it undoes every step it
 * took. report (may be NULL) hears of each step: action "add", "remove"
 * or "replace", object "attachment", "sg", "function" or "sandbox".
 */
struct sharenat_config;

struct sharenat_config *sharenat_config_parse(const char *text, size_t len,
					      const char *source,
					      struct sharenat_error *err);
void sharenat_config_free(struct sharenat_config *cfg);
/* True when the text holds no object at all. */
bool sharenat_config_empty(const struct sharenat_config *cfg);

typedef void (*sharenat_apply_fn)(const char *action, const char *object,
				  const char *name, void *ctx);

struct sharenat_apply_result {
	unsigned int added;
	unsigned int removed;
	unsigned int replaced;
	unsigned int unchanged;
};

/* dry_run: report the steps, change nothing. */
int sharenat_apply(struct sharenat *sn, const struct sharenat_config *cfg,
		   bool dry_run, sharenat_apply_fn report, void *ctx,
		   struct sharenat_apply_result *result,
		   struct sharenat_error *err);
/* The current state in the same format, sorted by name, every option
 * spelled out: applying it back changes nothing. */
int sharenat_config_write(struct sharenat *sn, FILE *out,
			  struct sharenat_error *err);

#endif /* LIBSHARENAT_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The read verbs: flows, stats and status, as aligned text for people and
 * as JSON (--json) for scripts. A NULL state (nothing loaded yet) prints
 * an empty result, not an error.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cli.h"
#include "error.h"
#include "parse.h"

static void json_string(const char *text)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static const char *proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		return "?";
	}
}

static const char *dev_name(__u32 ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "if%u", ifindex);
	return buf;
}

static void format_endpoint(__be32 addr, __be16 port, char *buf, size_t len)
{
	char text[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", format_ipv4(addr, text), ntohs(port));
}

struct flow_print {
	struct sharenat *sn;
	bool json;
	unsigned int count;
	__u64 now;
	__u32 function_id;	/* 0: every function */
	__be32 sandbox_addr;	/* 0: every sandbox */
};

static int print_flow(const struct flow_key *key, const struct flow *flow,
		      void *ctx)
{
	struct flow_print *p = ctx;
	char sandbox_ep[32], shared_ep[32], remote_ep[32], dev[IF_NAMESIZE];
	struct sandbox sbx;
	const char *id = "-", *state = "-";
	__u64 idle_ms;

	if (p->sandbox_addr && key->src_addr != p->sandbox_addr)
		return 0;
	if (!sharenat_sandbox_lookup(p->sn, key->src_addr, &sbx))
		id = sbx.id;
	else
		sbx.function_id = 0;
	if (p->function_id && sbx.function_id != p->function_id)
		return 0;
	format_endpoint(key->src_addr, key->src_port, sandbox_ep,
			sizeof(sandbox_ep));
	format_endpoint(flow->nat_addr, flow->nat_port, shared_ep,
			sizeof(shared_ep));
	format_endpoint(key->dst_addr, key->dst_port, remote_ep,
			sizeof(remote_ep));
	idle_ms = flow_clock_since(flow->last_seen, p->now) / 1000000;
	dev_name(flow->ifindex, dev);
	if (key->proto == IPPROTO_TCP)
		state = sharenat_tcp_state_name(
			flow_tcp_state(flow->tcp_seen_out, flow->tcp_seen_in));
	if (p->json) {
		printf("%s{\"proto\":\"%s\",\"sandbox\":", p->count ? "," : "",
		       proto_name(key->proto));
		json_string(id);
		printf(",\"sandbox_endpoint\":\"%s\",\"shared_endpoint\":"
		       "\"%s\",\"remote_endpoint\":\"%s\",\"device\":",
		       sandbox_ep, shared_ep, remote_ep);
		json_string(dev);
		printf(",\"state\":\"%s\",\"packets_out\":%llu,"
		       "\"packets_in\":%llu,\"idle_ms\":%llu}", state,
		       (unsigned long long)flow->packets_out,
		       (unsigned long long)flow->packets_in,
		       (unsigned long long)idle_ms);
	} else {
		printf("%-5s %-14s %-21s %-21s %-21s %-8s %-11s %8llu %8llu "
		       "%8llu\n", proto_name(key->proto), id, sandbox_ep,
		       shared_ep, remote_ep, dev, state,
		       (unsigned long long)flow->packets_out,
		       (unsigned long long)flow->packets_in,
		       (unsigned long long)idle_ms);
	}
	p->count++;
	return 0;
}

int show_flows(struct sharenat *sn, const struct read_options *opts,
	       struct sharenat_error *err)
{
	bool json = opts->format == OUTPUT_JSON;
	struct flow_print p = { sn, json, 0, monotonic_ns(), 0, 0 };
	struct function fn;
	struct sandbox sbx;

	if (opts->function &&
	    (!sn || sharenat_function_find(sn, opts->function, &fn)))
		return fail(err, "flows", "function %s does not exist",
			    opts->function);
	if (opts->function)
		p.function_id = fn.id;
	if (opts->sandbox &&
	    (!sn || sharenat_sandbox_find(sn, opts->sandbox, &sbx)))
		return fail(err, "flows", "sandbox %s does not exist",
			    opts->sandbox);
	if (opts->sandbox)
		p.sandbox_addr = sbx.addr;
	if (json)
		putchar('[');
	else
		printf("%-5s %-14s %-21s %-21s %-21s %-8s %-11s %8s %8s %8s\n",
		       "PROTO", "SANDBOX", "SANDBOX-END", "SHARED-END",
		       "REMOTE-END", "DEVICE", "STATE", "PKTS-OUT", "PKTS-IN",
		       "IDLE-MS");
	if (sn && sharenat_for_each_flow(sn, print_flow, &p))
		return fail(err, "flows", "cannot read the flows map");
	if (json)
		puts("]");
	return 0;
}

struct stats_print {
	struct sharenat *sn;
	enum output_format format;
	bool json;
	unsigned int count;
	int rc;
	struct sharenat_error *err;
};

static int print_function_stats(const struct function *fn, void *ctx)
{
	struct stats_print *p = ctx;
	struct function_counters counters;
	unsigned int i;

	if (sharenat_read_function_counters(p->sn, fn->id, &counters, p->err)) {
		p->rc = -1;
		return 1;
	}
	if (p->format == OUTPUT_PROMETHEUS) {
		for (i = 0; i < FUNCTION_COUNTER_MAX; i++)
			printf("sharenat_function_events_total{function=\"%s\","
			       "counter=\"%s\"} %llu\n", fn->name,
			       sharenat_function_counter_name(i),
			       (unsigned long long)counters.values[i]);
		return 0;
	}
	if (p->json) {
		printf("%s", p->count ? "," : "");
		json_string(fn->name);
		putchar(':');
		putchar('{');
	} else {
		printf("\nfunction %s\n", fn->name);
	}
	for (i = 0; i < FUNCTION_COUNTER_MAX; i++) {
		if (p->json)
			printf("%s\"%s\":%llu", i ? "," : "",
			       sharenat_function_counter_name(i),
			       (unsigned long long)counters.values[i]);
		else
			printf("  %-22s %llu\n",
			       sharenat_function_counter_name(i),
			       (unsigned long long)counters.values[i]);
	}
	if (p->json)
		putchar('}');
	p->count++;
	return 0;
}

static int print_sandbox_gauge(const struct sandbox *sbx, void *ctx)
{
	(void)ctx;
	printf("sharenat_sandbox_ports_in_use{sandbox=\"%s\"} %u\n", sbx->id,
	       sbx->ports_in_use);
	return 0;
}

static int count_flow(const struct flow_key *key, const struct flow *flow,
		      void *ctx);
static void print_object_traffic(struct sharenat *sn, struct stats_print *p);

/* Every latency histogram summarised; all zero with nothing loaded. */
static int read_latencies(struct sharenat *sn,
			  struct sharenat_latency_summary *out,
			  struct sharenat_error *err)
{
	struct latency_histogram h;
	unsigned int i;

	for (i = 0; i < LATENCY_MAX; i++) {
		memset(&h, 0, sizeof(h));
		if (sn && sharenat_latency_read(sn, i, &h, err))
			return -1;
		sharenat_latency_summarize(&h, &out[i]);
	}
	return 0;
}

static double us(__u64 ns)
{
	return (double)ns / 1e3;
}

static void print_latencies(const struct sharenat_latency_summary *lat,
			    enum output_format format)
{
	unsigned int i;

	if (format == OUTPUT_PROMETHEUS) {
		printf("# HELP sharenat_latency_seconds Control-plane "
		       "operations: sandbox attach, attachment set-up.\n"
		       "# TYPE sharenat_latency_seconds summary\n");
		for (i = 0; i < LATENCY_MAX; i++) {
			const char *name = sharenat_latency_name(i);

			printf("sharenat_latency_seconds{operation=\"%s\","
			       "quantile=\"0.5\"} %.9f\n"
			       "sharenat_latency_seconds{operation=\"%s\","
			       "quantile=\"0.9\"} %.9f\n"
			       "sharenat_latency_seconds{operation=\"%s\","
			       "quantile=\"0.99\"} %.9f\n"
			       "sharenat_latency_seconds_sum{operation=\"%s\"} "
			       "%.9f\n"
			       "sharenat_latency_seconds_count{operation="
			       "\"%s\"} %llu\n", name, lat[i].p50_ns / 1e9,
			       name, lat[i].p90_ns / 1e9, name,
			       lat[i].p99_ns / 1e9, name, lat[i].sum_ns / 1e9,
			       name, (unsigned long long)lat[i].count);
		}
		printf("# HELP sharenat_latency_max_seconds The slowest of "
		       "each operation.\n"
		       "# TYPE sharenat_latency_max_seconds gauge\n");
		for (i = 0; i < LATENCY_MAX; i++)
			printf("sharenat_latency_max_seconds{operation=\"%s\"} "
			       "%.9f\n", sharenat_latency_name(i),
			       lat[i].max_ns / 1e9);
		return;
	}
	if (format == OUTPUT_JSON) {
		printf(",\"latency\":{");
		for (i = 0; i < LATENCY_MAX; i++)
			printf("%s\"%s\":{\"count\":%llu,\"p50_us\":%.1f,"
			       "\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":"
			       "%.1f,\"sum_us\":%.1f}", i ? "," : "",
			       sharenat_latency_name(i),
			       (unsigned long long)lat[i].count,
			       us(lat[i].p50_ns), us(lat[i].p90_ns),
			       us(lat[i].p99_ns), us(lat[i].max_ns),
			       us(lat[i].sum_ns));
		putchar('}');
		return;
	}
	printf("\nlatency (us)      %8s %10s %10s %10s %10s\n", "count", "p50",
	       "p90", "p99", "max");
	for (i = 0; i < LATENCY_MAX; i++)
		printf("  %-16s %8llu %10.1f %10.1f %10.1f %10.1f\n",
		       sharenat_latency_name(i),
		       (unsigned long long)lat[i].count, us(lat[i].p50_ns),
		       us(lat[i].p90_ns), us(lat[i].p99_ns),
		       us(lat[i].max_ns));
}

/* The Prometheus text format: counters by name, per function, and gauges
 * of flows and of each sandbox's ports. Names are validated, so they need
 * no escaping in label values. */
static int show_prometheus(struct sharenat *sn, const __u64 *values,
			   const struct sharenat_latency_summary *lat,
			   struct stats_print *p)
{
	unsigned int i, flows = 0;

	printf("# HELP sharenat_events_total Events of the fast path: packets "
	       "translated, dropped by reason, flows created and expired.\n"
	       "# TYPE sharenat_events_total counter\n");
	for (i = 0; i < COUNTER_MAX; i++)
		printf("sharenat_events_total{counter=\"%s\"} %llu\n",
		       sharenat_counter_name(i),
		       (unsigned long long)values[i]);
	printf("# HELP sharenat_function_events_total Per-function counters."
	       "\n# TYPE sharenat_function_events_total counter\n");
	if (sn)
		sharenat_for_each_function(sn, print_function_stats, p);
	if (sn)
		sharenat_for_each_flow(sn, count_flow, &flows);
	printf("# HELP sharenat_flows Flows in the table.\n"
	       "# TYPE sharenat_flows gauge\nsharenat_flows %u\n", flows);
	printf("# HELP sharenat_sandbox_ports_in_use Shared ports a sandbox "
	       "holds.\n# TYPE sharenat_sandbox_ports_in_use gauge\n");
	if (sn)
		sharenat_for_each_sandbox(sn, print_sandbox_gauge, NULL);
	printf("# HELP sharenat_attachment_packets_total Packets translated "
	       "through an attachment.\n"
	       "# TYPE sharenat_attachment_packets_total counter\n"
	       "# TYPE sharenat_attachment_bytes_total counter\n"
	       "# HELP sharenat_sandbox_packets_total Packets translated for a "
	       "sandbox.\n# TYPE sharenat_sandbox_packets_total counter\n"
	       "# TYPE sharenat_sandbox_bytes_total counter\n"
	       "# HELP sharenat_sandbox_flows_refused_total New flows of a "
	       "sandbox dropped (group, quota, route, ports, table).\n"
	       "# TYPE sharenat_sandbox_flows_refused_total counter\n");
	print_object_traffic(sn, p);
	print_latencies(lat, OUTPUT_PROMETHEUS);
	return p->rc;
}

/* One object's traffic: text, a JSON member, or Prometheus samples. */
static void print_traffic(struct stats_print *p, const char *kind,
			  const char *name, const struct traffic_counters *t,
			  bool refused)
{
	if (p->format == OUTPUT_PROMETHEUS) {
		printf("sharenat_%s_packets_total{%s=\"%s\",direction=\"out\"}"
		       " %llu\n", kind, kind, name,
		       (unsigned long long)t->packets_out);
		printf("sharenat_%s_packets_total{%s=\"%s\",direction=\"in\"}"
		       " %llu\n", kind, kind, name,
		       (unsigned long long)t->packets_in);
		printf("sharenat_%s_bytes_total{%s=\"%s\",direction=\"out\"}"
		       " %llu\n", kind, kind, name,
		       (unsigned long long)t->bytes_out);
		printf("sharenat_%s_bytes_total{%s=\"%s\",direction=\"in\"}"
		       " %llu\n", kind, kind, name,
		       (unsigned long long)t->bytes_in);
		if (refused)
			printf("sharenat_%s_flows_refused_total{%s=\"%s\"} "
			       "%llu\n", kind, kind, name,
			       (unsigned long long)t->flows_refused);
		return;
	}
	if (p->json) {
		printf("%s", p->count ? "," : "");
		json_string(name);
		printf(":{\"packets_out\":%llu,\"bytes_out\":%llu,"
		       "\"packets_in\":%llu,\"bytes_in\":%llu",
		       (unsigned long long)t->packets_out,
		       (unsigned long long)t->bytes_out,
		       (unsigned long long)t->packets_in,
		       (unsigned long long)t->bytes_in);
		if (refused)
			printf(",\"flows_refused\":%llu",
			       (unsigned long long)t->flows_refused);
		putchar('}');
	} else {
		printf("\n%s %s\n  packets_out            %llu\n"
		       "  bytes_out              %llu\n"
		       "  packets_in             %llu\n"
		       "  bytes_in               %llu\n", kind, name,
		       (unsigned long long)t->packets_out,
		       (unsigned long long)t->bytes_out,
		       (unsigned long long)t->packets_in,
		       (unsigned long long)t->bytes_in);
		if (refused)
			printf("  flows_refused          %llu\n",
			       (unsigned long long)t->flows_refused);
	}
	p->count++;
}

static int print_attachment_traffic(const struct attachment *att, void *ctx)
{
	struct stats_print *p = ctx;
	struct traffic_counters t;
	char dev[IF_NAMESIZE];

	if (sharenat_read_traffic(p->sn, false, att->counter_slot, &t,
				  p->err)) {
		p->rc = -1;
		return 1;
	}
	print_traffic(p, "attachment", dev_name(att->ifindex, dev), &t, false);
	return 0;
}

static int print_sandbox_traffic(const struct sandbox *sbx, void *ctx)
{
	struct stats_print *p = ctx;
	struct traffic_counters t;

	if (sharenat_read_traffic(p->sn, true, sbx->counter_slot, &t,
				  p->err)) {
		p->rc = -1;
		return 1;
	}
	print_traffic(p, "sandbox", sbx->id, &t, true);
	return 0;
}

/* Per attachment and per sandbox; JSON: members "attachments" and
 * "sandboxes", by device and by id. */
static void print_object_traffic(struct sharenat *sn, struct stats_print *p)
{
	if (p->json)
		printf(",\"attachments\":{");
	p->count = 0;
	if (sn)
		sharenat_for_each_attachment(sn, print_attachment_traffic, p);
	if (p->json)
		printf("},\"sandboxes\":{");
	p->count = 0;
	if (sn)
		sharenat_for_each_sandbox(sn, print_sandbox_traffic, p);
	if (p->json)
		putchar('}');
}

/* Global counters, then each function's. JSON: the global counters at the
 * top level, the functions' under "functions" by name. */
int show_stats(struct sharenat *sn, const struct read_options *opts,
	       struct sharenat_error *err)
{
	bool json = opts->format == OUTPUT_JSON;
	struct stats_print p = { sn, opts->format, json, 0, 0, err };
	struct sharenat_latency_summary lat[LATENCY_MAX];
	__u64 values[COUNTER_MAX] = { 0 };
	unsigned int i;

	if (sn && sharenat_read_counters(sn, values, err))
		return -1;
	if (read_latencies(sn, lat, err))
		return -1;
	if (opts->format == OUTPUT_PROMETHEUS)
		return show_prometheus(sn, values, lat, &p);
	if (json)
		putchar('{');
	for (i = 0; i < COUNTER_MAX; i++) {
		if (json)
			printf("%s\"%s\":%llu", i ? "," : "",
			       sharenat_counter_name(i),
			       (unsigned long long)values[i]);
		else
			printf("%-24s %llu\n", sharenat_counter_name(i),
			       (unsigned long long)values[i]);
	}
	if (json)
		print_latencies(lat, OUTPUT_JSON);
	if (json)
		printf(",\"functions\":{");
	if (sn)
		sharenat_for_each_function(sn, print_function_stats, &p);
	if (json)
		putchar('}');
	print_object_traffic(sn, &p);
	if (json)
		puts("}");
	else
		print_latencies(lat, OUTPUT_TEXT);
	return p.rc;
}

struct status_print {
	struct sharenat *sn;
	bool json;
	unsigned int count;
};

static void separator(struct status_print *p)
{
	if (p->json && p->count)
		putchar(',');
	p->count++;
}

static int print_attachment(const struct attachment *att, void *ctx)
{
	struct status_print *p = ctx;
	char dev[IF_NAMESIZE], subnet[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	unsigned int i;

	dev_name(att->ifindex, dev);
	format_ipv4(att->subnet_addr, subnet);
	separator(p);
	if (p->json) {
		printf("{\"dev\":");
		json_string(dev);
		printf(",\"subnet\":\"%s/%u\",\"ips\":[", subnet,
		       mask_prefix_len(att->subnet_mask));
		for (i = 0; i < att->shared_addr_count; i++)
			printf("%s\"%s\"", i ? "," : "",
			       format_ipv4(att->shared_addrs[i], addr));
		printf("],\"gateway\":");
		if (att->gateway_addr)
			printf("\"%s\"", format_ipv4(att->gateway_addr, addr));
		else
			printf("null");
		printf(",\"ports\":\"%u-%u\",\"mapping\":\"%s\",\"mode\":"
		       "\"%s\",\"timeouts\":{\"tcp_established\":%u,"
		       "\"tcp_transitory\":%u,\"udp\":%u,\"icmp\":%u}}",
		       att->port_lo, att->port_hi,
		       att->mapping == MAPPING_DEPENDENT ? "dependent" :
							   "independent",
		       att->hook == NAT_HOOK_XDP ? "xdp" : "tc",
		       att->timeouts.tcp_established,
		       att->timeouts.tcp_transitory, att->timeouts.udp,
		       att->timeouts.icmp);
		return 0;
	}
	printf("attachment %s subnet %s/%u ip", dev, subnet,
	       mask_prefix_len(att->subnet_mask));
	for (i = 0; i < att->shared_addr_count; i++)
		printf(" %s", format_ipv4(att->shared_addrs[i], addr));
	if (att->gateway_addr)
		printf(" gateway %s", format_ipv4(att->gateway_addr, addr));
	printf(" ports %u-%u mapping %s mode %s timeouts tcp %u/%u udp %u "
	       "icmp %u\n", att->port_lo, att->port_hi,
	       att->mapping == MAPPING_DEPENDENT ? "dependent" : "independent",
	       att->hook == NAT_HOOK_XDP ? "xdp" : "tc",
	       att->timeouts.tcp_established, att->timeouts.tcp_transitory,
	       att->timeouts.udp, att->timeouts.icmp);
	return 0;
}

static int print_function(const struct function *fn, void *ctx)
{
	struct status_print *p = ctx;
	char dev[IF_NAMESIZE], subnet[INET_ADDRSTRLEN];
	struct security_group sg;
	const char *group = NULL;
	__u32 i;

	if (fn->security_group &&
	    !sharenat_sg_lookup(p->sn, fn->security_group, &sg))
		group = sg.name;
	separator(p);
	if (p->json) {
		printf("{\"name\":");
		json_string(fn->name);
		printf(",\"sg\":");
		if (group)
			json_string(group);
		else
			printf("null");
		printf(",\"port_quota\":%u,\"subnets\":[", fn->port_quota);
	} else {
		printf("function %s sg %s port-quota %u subnet", fn->name,
		       group ? group : "-", fn->port_quota);
	}
	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++) {
		const struct function_subnet *s = &fn->subnets[i];

		format_ipv4(s->subnet_addr, subnet);
		dev_name(s->attachment, dev);
		if (p->json) {
			printf("%s{\"subnet\":\"%s/%u\",\"dev\":", i ? "," : "",
			       subnet, mask_prefix_len(s->subnet_mask));
			json_string(dev);
			putchar('}');
		} else {
			printf(" %s/%u@%s", subnet,
			       mask_prefix_len(s->subnet_mask), dev);
		}
	}
	if (p->json)
		printf("]}");
	else
		putchar('\n');
	return 0;
}

static int print_sandbox(const struct sandbox *sbx, void *ctx)
{
	struct status_print *p = ctx;
	char dev[IF_NAMESIZE], addr[INET_ADDRSTRLEN], mac[18];
	const char *mode = sbx->hook == NAT_HOOK_XDP ? "xdp" : "tc";
	struct function fn;
	const char *function = "?";

	if (!sharenat_function_lookup(p->sn, sbx->function_id, &fn))
		function = fn.name;
	dev_name(sbx->ifindex, dev);
	format_ipv4(sbx->addr, addr);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 sbx->mac[0], sbx->mac[1], sbx->mac[2], sbx->mac[3],
		 sbx->mac[4], sbx->mac[5]);
	separator(p);
	if (p->json) {
		printf("{\"id\":");
		json_string(sbx->id);
		printf(",\"function\":");
		json_string(function);
		printf(",\"dev\":");
		json_string(dev);
		printf(",\"ip\":\"%s\",\"mac\":\"%s\",\"mac_static\":%s,"
		       "\"mode\":\"%s\",\"ports_in_use\":%u}", addr, mac,
		       sbx->mac_static ? "true" : "false", mode,
		       sbx->ports_in_use);
	} else {
		printf("sandbox %s function %s dev %s ip %s mac %s%s mode %s "
		       "ports %u\n", sbx->id, function, dev, addr, mac,
		       sbx->mac_static ? " (static)" : "", mode,
		       sbx->ports_in_use);
	}
	return 0;
}

static int print_device(__u32 ifindex, const struct sandbox_device *dev,
			void *ctx)
{
	struct status_print *p = ctx;
	const char *mode = dev->hook == NAT_HOOK_XDP ? "xdp" : "tc";
	char name[sizeof(dev->name) + 1];

	snprintf(name, sizeof(name), "%s", dev->name);
	separator(p);
	if (p->json) {
		printf("{\"dev\":");
		json_string(name);
		printf(",\"ifindex\":%u,\"mode\":\"%s\"}", ifindex, mode);
	} else {
		printf("device %s mode %s\n", name, mode);
	}
	return 0;
}

static const char *proto_or_all(__u8 proto)
{
	return proto ? proto_name(proto) : "all";
}

static int print_sg(const struct security_group *sg, void *ctx)
{
	struct status_print *p = ctx;
	char addr[INET_ADDRSTRLEN], ports[16];
	__u32 i;

	separator(p);
	if (p->json) {
		printf("{\"name\":");
		json_string(sg->name);
		printf(",\"allow\":[");
	} else {
		printf("sg %s allow", sg->name);
	}
	for (i = 0; i < sg->rule_count && i < SHARENAT_MAX_SG_RULES; i++) {
		const struct sg_rule *rule = &sg->rules[i];

		ports[0] = '\0';
		if (rule->port_lo != 0 || rule->port_hi != 65535)
			snprintf(ports, sizeof(ports), rule->port_lo ==
				 rule->port_hi ? ":%u" : ":%u-%u",
				 rule->port_lo, rule->port_hi);
		printf(p->json ? "%s\"%s:%s/%u%s\"" : "%s%s:%s/%u%s",
		       p->json ? (i ? "," : "") : " ",
		       proto_or_all(rule->proto),
		       format_ipv4(rule->addr, addr),
		       mask_prefix_len(rule->mask), ports);
	}
	if (p->json)
		printf("]}");
	else
		putchar('\n');
	return 0;
}

static int count_flow(const struct flow_key *key, const struct flow *flow,
		      void *ctx)
{
	(void)key;
	(void)flow;
	(*(unsigned int *)ctx)++;
	return 0;
}

int show_status(struct sharenat *sn, const struct read_options *opts,
		struct sharenat_error *err)
{
	bool json = opts->format == OUTPUT_JSON;
	struct status_print p = { sn, json, 0 };
	unsigned int flows = 0;
	int rc = 0;

	if (!sn) {
		if (json)
			puts("{\"loaded\":false,\"attachments\":[],"
			     "\"security_groups\":[],\"functions\":[],"
			     "\"sandboxes\":[],\"flows\":0}");
		else
			puts("not loaded: no attachment yet");
		return 0;
	}
	if (json)
		printf("{\"loaded\":true,\"attachments\":[");
	rc |= sharenat_for_each_attachment(sn, print_attachment, &p);
	if (json)
		printf("],\"security_groups\":[");
	p.count = 0;
	rc |= sharenat_for_each_sg(sn, print_sg, &p);
	if (json)
		printf("],\"functions\":[");
	p.count = 0;
	rc |= sharenat_for_each_function(sn, print_function, &p);
	if (json)
		printf("],\"sandboxes\":[");
	p.count = 0;
	rc |= sharenat_for_each_sandbox(sn, print_sandbox, &p);
	if (json)
		printf("],\"devices\":[");
	p.count = 0;
	rc |= sharenat_for_each_device(sn, print_device, &p);
	rc |= sharenat_for_each_flow(sn, count_flow, &flows);
	if (json)
		printf("],\"flows\":%u}\n", flows);
	else
		printf("flows %u\n", flows);
	if (rc)
		return fail(err, "status", "cannot read every map: %s",
			    strerror(rc < 0 ? -rc : rc));
	return 0;
}

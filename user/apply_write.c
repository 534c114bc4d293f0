// SPDX-License-Identifier: GPL-2.0
/*
 * `status --format apply`: the state written as a file `sharenat apply`
 * reads, every object on its line, in name order, with every default
 * spelled out, so that applying it back changes nothing.
 */
#include <netinet/in.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "error.h"
#include "parse.h"

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
		return "all";
	}
}

/* PROTO:CIDR[:PORT[-PORT]], as parse_sg_rule reads it. */
static void format_rule(const struct sg_rule *rule, char *buf, size_t len)
{
	char addr[INET_ADDRSTRLEN], ports[16] = "";

	if (rule->port_lo != 0 || rule->port_hi != 65535)
		snprintf(ports, sizeof(ports), rule->port_lo == rule->port_hi ?
			 ":%u" : ":%u-%u", rule->port_lo, rule->port_hi);
	snprintf(buf, len, "%s:%s/%u%s", proto_name(rule->proto),
		 format_ipv4(rule->addr, addr), mask_prefix_len(rule->mask),
		 ports);
}

struct named {
	char name[SHARENAT_NAME_MAX];
	size_t index;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name,
		      ((const struct named *)b)->name);
}

/* The objects of one vector in name order. */
static struct named *sorted(const struct vec *v,
			    void (*name_of)(const void *item, char *buf))
{
	struct named *order = calloc(v->count + 1, sizeof(*order));
	size_t i;

	if (!order)
		return NULL;
	for (i = 0; i < v->count; i++) {
		name_of(v->items + i * v->size, order[i].name);
		order[i].index = i;
	}
	qsort(order, v->count, sizeof(*order), by_name);
	return order;
}

static void attachment_name(const void *item, char *buf)
{
	apply_dev_name(((const struct attachment *)item)->ifindex, buf);
}

static void sg_name(const void *item, char *buf)
{
	memcpy(buf, ((const struct security_group *)item)->name,
	       SHARENAT_NAME_MAX);
}

static void function_name(const void *item, char *buf)
{
	memcpy(buf, ((const struct function *)item)->name, SHARENAT_NAME_MAX);
}

static void sandbox_name(const void *item, char *buf)
{
	memcpy(buf, ((const struct sandbox *)item)->id, SHARENAT_NAME_MAX);
}

static void write_attachment(FILE *out, const struct attachment *att,
			     const char *dev)
{
	char addr[INET_ADDRSTRLEN];
	unsigned int i;

	fprintf(out, "attachment %s subnet %s/%u", dev,
		format_ipv4(att->subnet_addr, addr),
		mask_prefix_len(att->subnet_mask));
	for (i = 0; i < att->shared_addr_count &&
		    i < SHARENAT_MAX_SHARED_ADDRS; i++)
		fprintf(out, " ip %s", format_ipv4(att->shared_addrs[i], addr));
	if (att->gateway_addr)
		fprintf(out, " gateway %s", format_ipv4(att->gateway_addr,
							addr));
	fprintf(out, " ports %u-%u mapping %s mode %s "
		"tcp-established-timeout %u tcp-transitory-timeout %u "
		"udp-timeout %u icmp-timeout %u\n", att->port_lo, att->port_hi,
		att->mapping == MAPPING_DEPENDENT ? "dependent" : "independent",
		att->hook == NAT_HOOK_XDP ? "xdp" : "tc",
		att->timeouts.tcp_established, att->timeouts.tcp_transitory,
		att->timeouts.udp, att->timeouts.icmp);
}

static void write_sg(FILE *out, const struct security_group *sg)
{
	char rule[64];
	__u32 i;

	fprintf(out, "sg %s", sg->name);
	for (i = 0; i < sg->rule_count && i < SHARENAT_MAX_SG_RULES; i++) {
		format_rule(&sg->rules[i], rule, sizeof(rule));
		fprintf(out, " allow %s", rule);
	}
	fputc('\n', out);
}

static void write_function(FILE *out, const struct state *st,
			   const struct function *fn)
{
	char addr[INET_ADDRSTRLEN], dev[IF_NAMESIZE];
	const char *group = apply_sg_name_of(st, fn->security_group);
	__u32 i;

	fprintf(out, "function %s", fn->name);
	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++)
		fprintf(out, " subnet %s/%u@%s",
			format_ipv4(fn->subnets[i].subnet_addr, addr),
			mask_prefix_len(fn->subnets[i].subnet_mask),
			apply_dev_name(fn->subnets[i].attachment, dev));
	if (group)
		fprintf(out, " sg %s", group);
	fprintf(out, " port-quota %u\n", fn->port_quota);
}

static void write_sandbox(FILE *out, const struct state *st,
			  const struct sandbox *sbx)
{
	char addr[INET_ADDRSTRLEN], dev[IF_NAMESIZE];

	fprintf(out, "sandbox %s function %s dev %s ip %s", sbx->id,
		apply_function_name_of(st, sbx->function_id),
		apply_dev_name(sbx->ifindex, dev),
		format_ipv4(sbx->addr, addr));
	if (sbx->mac_static)
		fprintf(out, " mac %02x:%02x:%02x:%02x:%02x:%02x",
			sbx->mac[0], sbx->mac[1], sbx->mac[2], sbx->mac[3],
			sbx->mac[4], sbx->mac[5]);
	if (sbx->hook == NAT_HOOK_XDP)
		fputs(" mode xdp", out);
	fputc('\n', out);
}

int sharenat_config_write(struct sharenat *sn, FILE *out,
			  struct sharenat_error *err)
{
	struct named *atts = NULL, *sgs = NULL, *fns = NULL, *sbxs = NULL;
	struct state st;
	size_t i;
	int rc = -1;

	if (apply_state_read(sn, &st, "status", err))
		return -1;
	atts = sorted(&st.attachments, attachment_name);
	sgs = sorted(&st.sgs, sg_name);
	fns = sorted(&st.functions, function_name);
	sbxs = sorted(&st.sandboxes, sandbox_name);
	if (!atts || !sgs || !fns || !sbxs) {
		fail(err, "status", "out of memory");
		goto out;
	}
	fprintf(out, "# sharenat state: sharenat apply FILE makes it so\n");
	for (i = 0; i < st.attachments.count; i++)
		write_attachment(out, VEC_AT(&st.attachments,
					     struct attachment, atts[i].index),
				 atts[i].name);
	for (i = 0; i < st.sgs.count; i++)
		write_sg(out, VEC_AT(&st.sgs, struct security_group,
				     sgs[i].index));
	for (i = 0; i < st.functions.count; i++)
		write_function(out, &st, VEC_AT(&st.functions, struct function,
						fns[i].index));
	for (i = 0; i < st.sandboxes.count; i++)
		write_sandbox(out, &st, VEC_AT(&st.sandboxes, struct sandbox,
					       sbxs[i].index));
	rc = 0;
out:
	free(atts);
	free(sgs);
	free(fns);
	free(sbxs);
	apply_state_free(&st);
	return rc;
}

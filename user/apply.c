// SPDX-License-Identifier: GPL-2.0
/*
 * Declarative mode: `sharenat apply FILE` converges the state to a file
 * of attachments, security groups, functions and sandboxes, one per line
 * in the words of the CLI (docs/cli.md), and `status --format apply`
 * writes the state in that format.
 *
 * Three stages, so that a bad file never changes anything:
 *  1. parse: the text alone, every error with its line; references inside
 *     the file (a function's group, a sandbox's function) must resolve;
 *  2. plan: compare with the state; an object that differs is replaced,
 *     and so is everything that depends on a replaced object (the CLI
 *     refuses to delete a function that has sandboxes, a group a function
 *     uses, an attachment a function uses);
 *  3. execute: removals (sandboxes, functions, groups, attachments), then
 *     additions in the opposite order, each step journaled; on a failure
 *     the journal is undone backwards, so the state is as before (but for
 *     the flows of a removed sandbox, which cannot be brought back).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "apply.h"
#include "error.h"
#include "latency.h"
#include "netdev.h"
#include "parse.h"
#include "state.h"

/* ---- parsing ------------------------------------------------------------ */

struct parser {
	const char *source;
	unsigned int line;
	struct sharenat_error *err;
	struct sharenat_config *cfg;
	char what[128];		/* "apply: SOURCE:LINE" */
	char key_what[160];	/* what + ": KEY", for parse.c's errors */
};

static int parse_fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_fail(struct parser *p, const char *fmt, ...)
{
	char why[SHARENAT_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return fail(p->err, p->what, "%s", why);
}

static void set_line(struct parser *p, unsigned int line)
{
	p->line = line;
	snprintf(p->what, sizeof(p->what), "apply: %.80s:%u", p->cfg->source,
		 line);
}

/* The role parse.c's parsers name in their errors: "apply: F:N: KEY". */
static const char *key_what(struct parser *p, const char *key)
{
	snprintf(p->key_what, sizeof(p->key_what), "%s: %s", p->what, key);
	return p->key_what;
}

static int check_dev(struct parser *p, const char *dev)
{
	size_t len = strlen(dev);

	if (len == 0 || len >= IF_NAMESIZE)
		return parse_fail(p, "device name '%.40s' must be 1-%d "
				  "characters", dev, IF_NAMESIZE - 1);
	/* '@' separates a subnet from its device, ':' and '/' are never
	 * in a Linux device name. */
	if (strpbrk(dev, "/:@") || !strcmp(dev, ".") || !strcmp(dev, ".."))
		return parse_fail(p, "'%s' is not a device name", dev);
	return 0;
}

/* Words of one line: whitespace separated, '#' starts a comment. */
static int split_words(struct parser *p, char *line, char **words,
		       unsigned int *count)
{
	char *c, *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	*count = 0;
	for (c = line; *c; c++) {
		if ((unsigned char)*c < 0x20 && *c != '\t' && *c != '\r')
			return parse_fail(p, "control character 0x%02x",
					  (unsigned char)*c);
		if ((unsigned char)*c == 0x7f)
			return parse_fail(p, "control character 0x7f");
	}
	for (c = strtok(line, " \t\r"); c; c = strtok(NULL, " \t\r")) {
		if (*count == APPLY_WORDS_MAX)
			return parse_fail(p, "more than %d words",
					  APPLY_WORDS_MAX);
		words[(*count)++] = c;
	}
	return 0;
}

/* Each KEY VALUE pair after the object's name; once-only keys. */
struct pairs {
	char **words;
	unsigned int count;
	unsigned int next;
	unsigned long seen;	/* bit per once-only key */
};

static int next_pair(struct parser *p, struct pairs *pr, const char **key,
		     const char **value)
{
	if (pr->next >= pr->count)
		return 0;
	*key = pr->words[pr->next];
	if (pr->next + 1 >= pr->count)
		return parse_fail(p, "'%s' needs a value", *key) - 1;
	*value = pr->words[pr->next + 1];
	pr->next += 2;
	return 1;
}

static int once(struct parser *p, struct pairs *pr, unsigned int bit,
		const char *key)
{
	if (pr->seen & (1ul << bit))
		return parse_fail(p, "'%s' given twice", key);
	pr->seen |= 1ul << bit;
	return 0;
}

static int unknown_key(struct parser *p, const char *object, const char *key)
{
	return parse_fail(p, "%s: unknown key '%s'", object, key);
}

static bool in_subnet(__be32 addr, __be32 subnet, __be32 mask)
{
	return (addr & mask) == subnet;
}

static int parse_timeout_value(struct parser *p, const char *key,
			       const char *value, __u32 *slot)
{
	unsigned long seconds;

	if (parse_count(value, key_what(p, key), 86400, &seconds, p->err))
		return -1;
	*slot = (__u32)seconds;
	return 0;
}

static int parse_attachment(struct parser *p, char **words,
			    unsigned int count)
{
	struct pairs pr = { words, count, 2, 0 };
	struct sharenat_attach_spec *spec;
	struct sharenat_config *cfg = p->cfg;
	struct flow_timeouts *timeouts;
	struct apply_attachment *att;
	char text[INET_ADDRSTRLEN];
	const char *key, *value;
	bool have_subnet = false;
	unsigned int i, j;
	void *grown;
	int rc;

	if (count < 2)
		return parse_fail(p, "attachment needs a device name");
	if (check_dev(p, words[1]))
		return -1;
	att = calloc(1, sizeof(*att));
	grown = realloc(cfg->attachments,
			(cfg->attachment_count + 1) * sizeof(att));
	if (!att || !grown) {
		free(att);
		return parse_fail(p, "out of memory");
	}
	cfg->attachments = grown;
	cfg->attachments[cfg->attachment_count++] = att;
	att->line = p->line;
	memcpy(att->dev, words[1], strlen(words[1]) + 1);
	spec = &att->spec;
	timeouts = &spec->timeouts;
	spec->dev = att->dev;
	spec->port_lo = 1024;
	spec->port_hi = 65535;
	spec->mapping = MAPPING_INDEPENDENT;
	while ((rc = next_pair(p, &pr, &key, &value)) > 0) {
		if (!strcmp(key, "subnet")) {
			if (once(p, &pr, 0, key) ||
			    parse_cidr(value, key_what(p, key),
				       &spec->subnet_addr, &spec->subnet_mask,
				       p->err))
				return -1;
			have_subnet = true;
		} else if (!strcmp(key, "ip")) {
			unsigned int n = spec->shared_addr_count;

			if (n == SHARENAT_MAX_SHARED_ADDRS)
				return parse_fail(p, "more than %d 'ip'",
						  SHARENAT_MAX_SHARED_ADDRS);
			if (parse_ipv4(value, key_what(p, key),
				       &spec->shared_addrs[n], p->err))
				return -1;
			spec->shared_addr_count++;
		} else if (!strcmp(key, "gateway")) {
			if (once(p, &pr, 1, key) ||
			    parse_ipv4(value, key_what(p, key),
				       &spec->gateway_addr, p->err))
				return -1;
		} else if (!strcmp(key, "ports")) {
			if (once(p, &pr, 2, key) ||
			    parse_port_range(value, key_what(p, key),
					     &spec->port_lo, &spec->port_hi,
					     p->err))
				return -1;
		} else if (!strcmp(key, "mapping")) {
			if (once(p, &pr, 3, key) ||
			    parse_mapping(value, key_what(p, key),
					  &spec->mapping, p->err))
				return -1;
		} else if (!strcmp(key, "mode")) {
			if (once(p, &pr, 4, key))
				return -1;
			if (!strcmp(value, "xdp"))
				spec->hook = INGRESS_HOOK_XDP;
			else if (!strcmp(value, "tc"))
				spec->hook = INGRESS_HOOK_TC;
			else
				return parse_fail(p, "mode: '%s' is not a "
						  "mode: expected xdp or tc",
						  value);
			spec->hook_set = true;
		} else if (!strcmp(key, "tcp-established-timeout")) {
			if (once(p, &pr, 5, key) ||
			    parse_timeout_value(p, key, value,
						&timeouts->tcp_established))
				return -1;
		} else if (!strcmp(key, "tcp-transitory-timeout")) {
			if (once(p, &pr, 6, key) ||
			    parse_timeout_value(p, key, value,
						&timeouts->tcp_transitory))
				return -1;
		} else if (!strcmp(key, "udp-timeout")) {
			if (once(p, &pr, 7, key) ||
			    parse_timeout_value(p, key, value, &timeouts->udp))
				return -1;
		} else if (!strcmp(key, "icmp-timeout")) {
			if (once(p, &pr, 8, key) ||
			    parse_timeout_value(p, key, value, &timeouts->icmp))
				return -1;
		} else {
			return unknown_key(p, "attachment", key);
		}
	}
	if (rc < 0)
		return -1;
	if (!have_subnet)
		return parse_fail(p, "attachment %s: 'subnet' is required",
				  att->dev);
	if (!spec->shared_addr_count)
		return parse_fail(p, "attachment %s: 'ip' is required",
				  att->dev);
	/* What sharenat_attach would refuse, refused before any change. */
	for (i = 0; i < spec->shared_addr_count; i++) {
		format_ipv4(spec->shared_addrs[i], text);
		if (!in_subnet(spec->shared_addrs[i], spec->subnet_addr,
			       spec->subnet_mask))
			return parse_fail(p, "ip %s is not in the subnet",
					  text);
		for (j = 0; j < i; j++)
			if (spec->shared_addrs[i] == spec->shared_addrs[j])
				return parse_fail(p, "ip %s given twice", text);
	}
	if (spec->gateway_addr &&
	    !in_subnet(spec->gateway_addr, spec->subnet_addr,
		       spec->subnet_mask))
		return parse_fail(p, "gateway %s is not in the subnet",
				  format_ipv4(spec->gateway_addr, text));
	return 0;
}

static int parse_sg(struct parser *p, char **words, unsigned int count)
{
	struct pairs pr = { words, count, 2, 0 };
	struct sharenat_config *cfg = p->cfg;
	const char *key, *value;
	struct apply_sg *sg;
	void *grown;
	int rc;

	if (count < 2)
		return parse_fail(p, "sg needs a name");
	if (parse_name(words[1], key_what(p, "sg"), p->err))
		return -1;
	sg = calloc(1, sizeof(*sg));
	grown = realloc(cfg->sgs, (cfg->sg_count + 1) * sizeof(sg));
	if (!sg || !grown) {
		free(sg);
		return parse_fail(p, "out of memory");
	}
	cfg->sgs = grown;
	cfg->sgs[cfg->sg_count++] = sg;
	sg->line = p->line;
	memcpy(sg->name, words[1], strlen(words[1]) + 1);
	sg->spec.name = sg->name;
	while ((rc = next_pair(p, &pr, &key, &value)) > 0) {
		if (strcmp(key, "allow"))
			return unknown_key(p, "sg", key);
		if (sg->spec.rule_count == SHARENAT_MAX_SG_RULES)
			return parse_fail(p, "more than %d 'allow'",
					  SHARENAT_MAX_SG_RULES);
		if (parse_sg_rule(value, key_what(p, key),
				  &sg->spec.rules[sg->spec.rule_count], p->err))
			return -1;
		sg->spec.rule_count++;
	}
	if (rc < 0)
		return -1;
	if (!sg->spec.rule_count)
		return parse_fail(p, "sg %s: 'allow' is required", sg->name);
	return 0;
}

static int parse_function(struct parser *p, char **words, unsigned int count)
{
	struct pairs pr = { words, count, 2, 0 };
	struct sharenat_config *cfg = p->cfg;
	struct sharenat_function_spec *spec;
	struct apply_function *fn;
	const char *key, *value;
	void *grown;
	int rc;

	if (count < 2)
		return parse_fail(p, "function needs a name");
	if (parse_name(words[1], key_what(p, "function"), p->err))
		return -1;
	fn = calloc(1, sizeof(*fn));
	grown = realloc(cfg->functions,
			(cfg->function_count + 1) * sizeof(fn));
	if (!fn || !grown) {
		free(fn);
		return parse_fail(p, "out of memory");
	}
	cfg->functions = grown;
	cfg->functions[cfg->function_count++] = fn;
	fn->line = p->line;
	memcpy(fn->name, words[1], strlen(words[1]) + 1);
	spec = &fn->spec;
	spec->name = fn->name;
	while ((rc = next_pair(p, &pr, &key, &value)) > 0) {
		if (!strcmp(key, "subnet")) {
			unsigned int i = spec->subnet_count;

			if (i == SHARENAT_MAX_FUNCTION_SUBNETS)
				return parse_fail(p, "more than %d 'subnet'",
						  i);
			if (parse_subnet_ref(value, key_what(p, key),
					     &spec->subnets[i], fn->devs[i],
					     IF_NAMESIZE, p->err))
				return -1;
			if (spec->subnets[i].dev &&
			    check_dev(p, spec->subnets[i].dev))
				return -1;
			spec->subnet_count++;
		} else if (!strcmp(key, "sg")) {
			if (once(p, &pr, 0, key) ||
			    parse_name(value, key_what(p, key), p->err))
				return -1;
			memcpy(fn->sg, value, strlen(value) + 1);
			spec->security_group = fn->sg;
		} else if (!strcmp(key, "port-quota")) {
			unsigned long quota;

			if (once(p, &pr, 1, key) ||
			    parse_count(value, key_what(p, key), 65535, &quota,
					p->err))
				return -1;
			spec->port_quota = (__u32)quota;
		} else {
			return unknown_key(p, "function", key);
		}
	}
	if (rc < 0)
		return -1;
	if (!spec->subnet_count)
		return parse_fail(p, "function %s: 'subnet' is required",
				  fn->name);
	return 0;
}

static int parse_sandbox(struct parser *p, char **words, unsigned int count)
{
	struct pairs pr = { words, count, 2, 0 };
	struct sharenat_config *cfg = p->cfg;
	struct sharenat_sandbox_spec *spec;
	struct apply_sandbox *sbx;
	char text[INET_ADDRSTRLEN];
	const char *key, *value;
	void *grown;
	int rc;

	if (count < 2)
		return parse_fail(p, "sandbox needs an id");
	if (parse_name(words[1], key_what(p, "sandbox"), p->err))
		return -1;
	sbx = calloc(1, sizeof(*sbx));
	grown = realloc(cfg->sandboxes,
			(cfg->sandbox_count + 1) * sizeof(sbx));
	if (!sbx || !grown) {
		free(sbx);
		return parse_fail(p, "out of memory");
	}
	cfg->sandboxes = grown;
	cfg->sandboxes[cfg->sandbox_count++] = sbx;
	sbx->line = p->line;
	memcpy(sbx->id, words[1], strlen(words[1]) + 1);
	spec = &sbx->spec;
	spec->id = sbx->id;
	while ((rc = next_pair(p, &pr, &key, &value)) > 0) {
		if (!strcmp(key, "function")) {
			if (once(p, &pr, 0, key) ||
			    parse_name(value, key_what(p, key), p->err))
				return -1;
			memcpy(sbx->function, value, strlen(value) + 1);
			spec->function = sbx->function;
		} else if (!strcmp(key, "dev")) {
			if (once(p, &pr, 1, key) || check_dev(p, value))
				return -1;
			memcpy(sbx->dev, value, strlen(value) + 1);
			spec->dev = sbx->dev;
		} else if (!strcmp(key, "ip")) {
			if (once(p, &pr, 2, key) ||
			    parse_ipv4(value, key_what(p, key), &spec->addr,
				       p->err))
				return -1;
			format_ipv4(spec->addr, text);
			if ((ntohl(spec->addr) & SHARENAT_POOL_MASK) !=
			    SHARENAT_POOL_ADDR)
				return parse_fail(p, "ip %s is outside the "
						  "sandbox pool 100.64.0.0/10",
						  text);
		} else if (!strcmp(key, "mac")) {
			if (once(p, &pr, 3, key) ||
			    parse_mac(value, key_what(p, key), spec->mac,
				      p->err))
				return -1;
			spec->has_mac = true;
		} else {
			return unknown_key(p, "sandbox", key);
		}
	}
	if (rc < 0)
		return -1;
	if (!spec->function)
		return parse_fail(p, "sandbox %s: 'function' is required",
				  sbx->id);
	if (!spec->dev)
		return parse_fail(p, "sandbox %s: 'dev' is required", sbx->id);
	if (!(pr.seen & (1ul << 2)))
		return parse_fail(p, "sandbox %s: 'ip' is required", sbx->id);
	return 0;
}

static struct apply_attachment *
find_attachment(const struct sharenat_config *cfg, const char *dev)
{
	unsigned int i;

	for (i = 0; i < cfg->attachment_count; i++)
		if (!strcmp(cfg->attachments[i]->dev, dev))
			return cfg->attachments[i];
	return NULL;
}

static struct apply_sg *find_sg(const struct sharenat_config *cfg,
				const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->sg_count; i++)
		if (!strcmp(cfg->sgs[i]->name, name))
			return cfg->sgs[i];
	return NULL;
}

static struct apply_function *
find_function(const struct sharenat_config *cfg, const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->function_count; i++)
		if (!strcmp(cfg->functions[i]->name, name))
			return cfg->functions[i];
	return NULL;
}

/* Each subnet of a function names one attachment of the file. */
static int resolve_function(struct parser *p, struct apply_function *fn)
{
	struct sharenat_function_spec *spec = &fn->spec;
	const struct sharenat_config *cfg = p->cfg;
	char text[INET_ADDRSTRLEN];
	unsigned int i, j, k, found;

	set_line(p, fn->line);
	if (spec->security_group && !find_sg(cfg, spec->security_group))
		return parse_fail(p, "function %s: sg %s is not in the file",
				  fn->name, spec->security_group);
	for (i = 0; i < spec->subnet_count; i++) {
		struct sharenat_subnet_ref *ref = &spec->subnets[i];
		const struct apply_attachment *match = NULL;
		unsigned int len = mask_prefix_len(ref->subnet_mask);

		format_ipv4(ref->subnet_addr, text);
		found = 0;
		for (k = 0; k < cfg->attachment_count; k++) {
			const struct apply_attachment *att;

			att = cfg->attachments[k];
			if (att->spec.subnet_addr != ref->subnet_addr ||
			    att->spec.subnet_mask != ref->subnet_mask ||
			    (ref->dev && strcmp(ref->dev, att->dev)))
				continue;
			if (!found)
				match = att;
			else if (!ref->dev)
				return parse_fail(p, "function %s: subnet "
						  "%s/%u is attached on %s and "
						  "%s: name one as %s/%u@DEV",
						  fn->name, text, len,
						  match->dev, att->dev, text,
						  len);
			found++;
		}
		if (!match)
			return parse_fail(p, "function %s: no attachment in "
					  "the file has subnet %s/%u%s%s",
					  fn->name, text, len,
					  ref->dev ? " on " : "",
					  ref->dev ? ref->dev : "");
		memcpy(fn->devs[i], match->dev, sizeof(fn->devs[i]));
		ref->dev = fn->devs[i];
		for (j = 0; j < i; j++) {
			__be32 mask = ref->subnet_mask &
				      spec->subnets[j].subnet_mask;

			if ((ref->subnet_addr & mask) ==
			    (spec->subnets[j].subnet_addr & mask))
				return parse_fail(p, "function %s: subnet %u "
						  "and subnet %u overlap: the "
						  "destination could not "
						  "choose", fn->name, j + 1,
						  i + 1);
		}
	}
	return 0;
}

/* What only the whole file can tell: duplicates and references. */
static int check_file(struct parser *p)
{
	const struct sharenat_config *cfg = p->cfg;
	char text[INET_ADDRSTRLEN];
	unsigned int i, j;

	for (i = 0; i < cfg->attachment_count; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->attachments[i]->dev,
				    cfg->attachments[j]->dev)) {
				set_line(p, cfg->attachments[i]->line);
				return parse_fail(p, "attachment %s is already "
						  "on line %u",
						  cfg->attachments[i]->dev,
						  cfg->attachments[j]->line);
			}
	for (i = 0; i < cfg->sg_count; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->sgs[i]->name, cfg->sgs[j]->name)) {
				set_line(p, cfg->sgs[i]->line);
				return parse_fail(p, "sg %s is already on line "
						  "%u", cfg->sgs[i]->name,
						  cfg->sgs[j]->line);
			}
	for (i = 0; i < cfg->function_count; i++) {
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->functions[i]->name,
				    cfg->functions[j]->name)) {
				set_line(p, cfg->functions[i]->line);
				return parse_fail(p, "function %s is already "
						  "on line %u",
						  cfg->functions[i]->name,
						  cfg->functions[j]->line);
			}
		if (resolve_function(p, cfg->functions[i]))
			return -1;
	}
	for (i = 0; i < cfg->sandbox_count; i++) {
		const struct apply_sandbox *sbx = cfg->sandboxes[i];
		const struct apply_attachment *att;

		set_line(p, sbx->line);
		for (j = 0; j < i; j++) {
			const struct apply_sandbox *other = cfg->sandboxes[j];

			if (!strcmp(sbx->id, other->id))
				return parse_fail(p, "sandbox %s is already on "
						  "line %u", sbx->id,
						  other->line);
			if (sbx->spec.addr == other->spec.addr)
				return parse_fail(p, "sandbox %s: ip %s is "
						  "sandbox %s's (line %u)",
						  sbx->id,
						  format_ipv4(sbx->spec.addr,
							      text),
						  other->id, other->line);
		}
		if (!find_function(cfg, sbx->function))
			return parse_fail(p, "sandbox %s: function %s is not "
					  "in the file", sbx->id,
					  sbx->function);
		att = find_attachment(cfg, sbx->dev);
		if (att)
			return parse_fail(p, "sandbox %s: %s is the device of "
					  "the attachment on line %u, not a "
					  "sandbox device", sbx->id, sbx->dev,
					  att->line);
	}
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	char *words[APPLY_WORDS_MAX];
	unsigned int count;

	if (split_words(p, line, words, &count))
		return -1;
	if (count == 0)
		return 0;
	if (!strcmp(words[0], "attachment"))
		return parse_attachment(p, words, count);
	if (!strcmp(words[0], "sg"))
		return parse_sg(p, words, count);
	if (!strcmp(words[0], "function"))
		return parse_function(p, words, count);
	if (!strcmp(words[0], "sandbox"))
		return parse_sandbox(p, words, count);
	return parse_fail(p, "unknown object '%.40s': expected attachment, sg, "
			  "function or sandbox", words[0]);
}

struct sharenat_config *sharenat_config_parse(const char *text, size_t len,
					      const char *source,
					      struct sharenat_error *err)
{
	struct parser p = { .source = source ? source : "-", .err = err };
	char line[APPLY_LINE_MAX + 1];
	size_t start = 0, end;
	unsigned int number = 0;

	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg) {
		fail(err, "apply", "out of memory");
		return NULL;
	}
	snprintf(p.cfg->source, sizeof(p.cfg->source), "%s", p.source);
	while (start < len) {
		const char *newline = memchr(text + start, '\n', len - start);

		end = newline ? (size_t)(newline - text) : len;
		set_line(&p, ++number);
		if (end - start > APPLY_LINE_MAX) {
			parse_fail(&p, "line longer than %d characters",
				   APPLY_LINE_MAX);
			goto err;
		}
		memcpy(line, text + start, end - start);
		line[end - start] = '\0';
		if (strlen(line) != end - start) {
			parse_fail(&p, "NUL byte");
			goto err;
		}
		if (parse_line(&p, line))
			goto err;
		start = end + 1;
	}
	if (check_file(&p))
		goto err;
	return p.cfg;
err:
	sharenat_config_free(p.cfg);
	return NULL;
}

void sharenat_config_free(struct sharenat_config *cfg)
{
	unsigned int i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->attachment_count; i++)
		free(cfg->attachments[i]);
	for (i = 0; i < cfg->sg_count; i++)
		free(cfg->sgs[i]);
	for (i = 0; i < cfg->function_count; i++)
		free(cfg->functions[i]);
	for (i = 0; i < cfg->sandbox_count; i++)
		free(cfg->sandboxes[i]);
	free(cfg->attachments);
	free(cfg->sgs);
	free(cfg->functions);
	free(cfg->sandboxes);
	free(cfg);
}

bool sharenat_config_empty(const struct sharenat_config *cfg)
{
	return !cfg->attachment_count && !cfg->sg_count &&
	       !cfg->function_count && !cfg->sandbox_count;
}

/* ---- the current state -------------------------------------------------- */

struct vec {
	size_t size;
	size_t count;
	size_t capacity;
	char *items;
};

static int vec_push(struct vec *v, const void *item)
{
	if (v->count == v->capacity) {
		size_t capacity = v->capacity ? v->capacity * 2 : 16;
		char *items = realloc(v->items, capacity * v->size);

		if (!items)
			return -ENOMEM;
		v->items = items;
		v->capacity = capacity;
	}
	memcpy(v->items + v->count * v->size, item, v->size);
	v->count++;
	return 0;
}

#define VEC_AT(v, type, i) (&((type *)(v)->items)[i])

struct state {
	struct vec attachments;		/* struct attachment */
	struct vec sgs;			/* struct security_group */
	struct vec functions;		/* struct function */
	struct vec sandboxes;		/* struct sandbox */
};

static int push_attachment(const struct attachment *att, void *ctx)
{
	return vec_push(&((struct state *)ctx)->attachments, att);
}

static int push_sg(const struct security_group *sg, void *ctx)
{
	return vec_push(&((struct state *)ctx)->sgs, sg);
}

static int push_function(const struct function *fn, void *ctx)
{
	return vec_push(&((struct state *)ctx)->functions, fn);
}

static int push_sandbox(const struct sandbox *sbx, void *ctx)
{
	return vec_push(&((struct state *)ctx)->sandboxes, sbx);
}

static void state_free(struct state *st)
{
	free(st->attachments.items);
	free(st->sgs.items);
	free(st->functions.items);
	free(st->sandboxes.items);
	memset(st, 0, sizeof(*st));
}

static int state_read(struct sharenat *sn, struct state *st, const char *what,
		      struct sharenat_error *err)
{
	int rc;

	memset(st, 0, sizeof(*st));
	st->attachments.size = sizeof(struct attachment);
	st->sgs.size = sizeof(struct security_group);
	st->functions.size = sizeof(struct function);
	st->sandboxes.size = sizeof(struct sandbox);
	rc = sharenat_for_each_attachment(sn, push_attachment, st);
	if (!rc)
		rc = sharenat_for_each_sg(sn, push_sg, st);
	if (!rc)
		rc = sharenat_for_each_function(sn, push_function, st);
	if (!rc)
		rc = sharenat_for_each_sandbox(sn, push_sandbox, st);
	if (rc) {
		state_free(st);
		return fail(err, what, "cannot read the state: %s",
			    strerror(rc < 0 ? -rc : rc));
	}
	return 0;
}

static const char *dev_name(__u32 ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "if%u", ifindex);
	return buf;
}

static const char *sg_name_of(const struct state *st, __u32 id)
{
	size_t i;

	for (i = 0; id && i < st->sgs.count; i++)
		if (VEC_AT(&st->sgs, struct security_group, i)->id == id)
			return VEC_AT(&st->sgs, struct security_group, i)->name;
	return NULL;
}

static const char *function_name_of(const struct state *st, __u32 id)
{
	size_t i;

	for (i = 0; i < st->functions.count; i++)
		if (VEC_AT(&st->functions, struct function, i)->id == id)
			return VEC_AT(&st->functions, struct function, i)->name;
	return "?";
}

/* ---- the plan ----------------------------------------------------------- */

enum step {
	STEP_KEEP,
	STEP_ADD,
	STEP_REMOVE,
	STEP_REPLACE,
};

static const char *const step_names[] = {
	[STEP_KEEP] = "keep",
	[STEP_ADD] = "add",
	[STEP_REMOVE] = "remove",
	[STEP_REPLACE] = "replace",
};

/* For each kind: the step of every current object (keep, remove,
 * replace) and of every wanted one (keep, add, replace), and which
 * current object a wanted one is (-1: none). */
struct kind_plan {
	enum step *current;
	enum step *wanted;
	int *match;
};

struct plan {
	struct state st;
	struct kind_plan attachments, sgs, functions, sandboxes;
	/* Wanted attachments as the map would hold them; their ifindex. */
	struct attachment *want_att;
	/* Wanted sandboxes' and functions' subnet devices, by ifindex. */
	__u32 *want_sbx_ifindex;
};

static void kind_free(struct kind_plan *k)
{
	free(k->current);
	free(k->wanted);
	free(k->match);
}

static void plan_free(struct plan *plan)
{
	kind_free(&plan->attachments);
	kind_free(&plan->sgs);
	kind_free(&plan->functions);
	kind_free(&plan->sandboxes);
	free(plan->want_att);
	free(plan->want_sbx_ifindex);
	state_free(&plan->st);
}

static int kind_alloc(struct kind_plan *k, size_t current, size_t wanted)
{
	size_t i;

	k->current = calloc(current + 1, sizeof(*k->current));
	k->wanted = calloc(wanted + 1, sizeof(*k->wanted));
	k->match = calloc(wanted + 1, sizeof(*k->match));
	if (!k->current || !k->wanted || !k->match)
		return -ENOMEM;
	for (i = 0; i < wanted; i++)
		k->match[i] = -1;
	return 0;
}

/* The two sides of one wanted object: same -> keep, else replace; a
 * current object no wanted one matched is removed. */
static void pair_up(struct kind_plan *k, size_t wanted, size_t current)
{
	size_t i;

	for (i = 0; i < current; i++)
		k->current[i] = STEP_REMOVE;
	for (i = 0; i < wanted; i++) {
		if (k->match[i] < 0) {
			k->wanted[i] = STEP_ADD;
			continue;
		}
		k->current[k->match[i]] = k->wanted[i];
	}
}

static bool gone(enum step step)
{
	return step == STEP_REMOVE || step == STEP_REPLACE;
}

/* The attachment sharenat_attach would write for a spec, defaults
 * filled in; hook: the spec's, or the one attach chooses by driver. */
static int wanted_attachment(const struct apply_attachment *want,
			     struct attachment *att, const char *what,
			     struct sharenat_error *err)
{
	const struct sharenat_attach_spec *spec = &want->spec;
	int ifindex;

	ifindex = netdev_ifindex(want->dev, what, err);
	if (ifindex < 0)
		return -1;
	memset(att, 0, sizeof(*att));
	att->ifindex = (__u32)ifindex;
	att->subnet_addr = spec->subnet_addr;
	att->subnet_mask = spec->subnet_mask;
	att->gateway_addr = spec->gateway_addr;
	att->shared_addr_count = spec->shared_addr_count;
	memcpy(att->shared_addrs, spec->shared_addrs,
	       sizeof(att->shared_addrs[0]) * spec->shared_addr_count);
	att->port_lo = spec->port_lo;
	att->port_hi = spec->port_hi;
	att->mapping = (__u8)spec->mapping;
	att->timeouts = spec->timeouts;
	if (!att->timeouts.tcp_established)
		att->timeouts.tcp_established =
			SHARENAT_TCP_ESTABLISHED_TIMEOUT;
	if (!att->timeouts.tcp_transitory)
		att->timeouts.tcp_transitory = SHARENAT_TCP_TRANSITORY_TIMEOUT;
	if (!att->timeouts.udp)
		att->timeouts.udp = SHARENAT_UDP_TIMEOUT;
	if (!att->timeouts.icmp)
		att->timeouts.icmp = SHARENAT_ICMP_TIMEOUT;
	if (spec->hook_set) {
		att->hook = (__u8)spec->hook;
	} else {
		char driver[32];

		if (netdev_driver(want->dev, driver, sizeof(driver), what,
				  err))
			return -1;
		att->hook = strcmp(driver, "veth") ? INGRESS_HOOK_XDP :
						     INGRESS_HOOK_TC;
	}
	return 0;
}

static bool attachment_same(const struct attachment *a,
			    const struct attachment *b)
{
	return a->subnet_addr == b->subnet_addr &&
	       a->subnet_mask == b->subnet_mask &&
	       a->gateway_addr == b->gateway_addr &&
	       a->shared_addr_count == b->shared_addr_count &&
	       a->shared_addr_count <= SHARENAT_MAX_SHARED_ADDRS &&
	       !memcmp(a->shared_addrs, b->shared_addrs,
		       sizeof(a->shared_addrs[0]) * a->shared_addr_count) &&
	       a->port_lo == b->port_lo && a->port_hi == b->port_hi &&
	       a->mapping == b->mapping && a->hook == b->hook &&
	       !memcmp(&a->timeouts, &b->timeouts, sizeof(a->timeouts));
}

static bool sg_same(const struct security_group *cur,
		    const struct sharenat_sg_spec *want)
{
	unsigned int i;

	if (cur->rule_count != want->rule_count)
		return false;
	for (i = 0; i < want->rule_count; i++) {
		const struct sg_rule *a = &cur->rules[i], *b = &want->rules[i];

		if (a->addr != b->addr || a->mask != b->mask ||
		    a->port_lo != b->port_lo || a->port_hi != b->port_hi ||
		    a->proto != b->proto)
			return false;
	}
	return true;
}

static bool function_same(const struct plan *plan, const struct function *cur,
			  const struct apply_function *want)
{
	const struct sharenat_function_spec *spec = &want->spec;
	const char *group = sg_name_of(&plan->st, cur->security_group);
	__u32 quota = spec->port_quota ? spec->port_quota :
					 SHARENAT_DEFAULT_PORT_QUOTA;
	unsigned int i;

	if (cur->port_quota != quota || cur->subnet_count != spec->subnet_count)
		return false;
	if (!group != !spec->security_group ||
	    (group && strcmp(group, spec->security_group)))
		return false;
	for (i = 0; i < spec->subnet_count; i++) {
		const struct function_subnet *s = &cur->subnets[i];

		if (s->subnet_addr != spec->subnets[i].subnet_addr ||
		    s->subnet_mask != spec->subnets[i].subnet_mask ||
		    s->attachment != if_nametoindex(spec->subnets[i].dev))
			return false;
	}
	return true;
}

static bool sandbox_same(const struct plan *plan, const struct sandbox *cur,
			 const struct apply_sandbox *want, __u32 ifindex)
{
	const struct sharenat_sandbox_spec *spec = &want->spec;

	return cur->addr == spec->addr && cur->ifindex == ifindex &&
	       !strcmp(function_name_of(&plan->st, cur->function_id),
		       spec->function) &&
	       cur->mac_static == spec->has_mac &&
	       (!spec->has_mac || !memcmp(cur->mac, spec->mac, 6));
}

/* Where a runtime error about a wanted object points: its line. */
static const char *line_what(char *buf, size_t len, const char *source,
			     unsigned int line)
{
	snprintf(buf, len, "apply: %.80s:%u", source, line);
	return buf;
}

static int plan_attachments(const struct sharenat_config *cfg,
			    struct plan *plan, struct sharenat_error *err)
{
	struct kind_plan *k = &plan->attachments;
	const struct vec *cur = &plan->st.attachments;
	char what[128];
	unsigned int i;
	size_t c;

	plan->want_att = calloc(cfg->attachment_count + 1,
				sizeof(*plan->want_att));
	if (!plan->want_att)
		return fail(err, "apply", "out of memory");
	for (i = 0; i < cfg->attachment_count; i++) {
		const struct apply_attachment *want = cfg->attachments[i];

		if (wanted_attachment(want, &plan->want_att[i],
				      line_what(what, sizeof(what), cfg->source,
						want->line), err))
			return -1;
		for (c = 0; c < cur->count; c++)
			if (VEC_AT(cur, struct attachment, c)->ifindex ==
			    plan->want_att[i].ifindex)
				k->match[i] = (int)c;
		if (k->match[i] >= 0 &&
		    !attachment_same(VEC_AT(cur, struct attachment,
					    k->match[i]),
				     &plan->want_att[i]))
			k->wanted[i] = STEP_REPLACE;
	}
	pair_up(k, cfg->attachment_count, cur->count);
	return 0;
}

static void plan_sgs(const struct sharenat_config *cfg, struct plan *plan)
{
	struct kind_plan *k = &plan->sgs;
	const struct vec *cur = &plan->st.sgs;
	unsigned int i;
	size_t c;

	for (i = 0; i < cfg->sg_count; i++) {
		for (c = 0; c < cur->count; c++)
			if (!strcmp(VEC_AT(cur, struct security_group, c)->name,
				    cfg->sgs[i]->name))
				k->match[i] = (int)c;
		if (k->match[i] >= 0 &&
		    !sg_same(VEC_AT(cur, struct security_group, k->match[i]),
			     &cfg->sgs[i]->spec))
			k->wanted[i] = STEP_REPLACE;
	}
	pair_up(k, cfg->sg_count, cur->count);
}

/* A function goes with a removed or replaced attachment or group. */
static bool function_loses_dependency(const struct plan *plan,
				      const struct function *fn)
{
	const struct vec *atts = &plan->st.attachments, *sgs = &plan->st.sgs;
	size_t c;
	__u32 i;

	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++)
		for (c = 0; c < atts->count; c++)
			if (VEC_AT(atts, struct attachment, c)->ifindex ==
			    fn->subnets[i].attachment &&
			    gone(plan->attachments.current[c]))
				return true;
	for (c = 0; c < sgs->count; c++)
		if (VEC_AT(sgs, struct security_group, c)->id ==
		    fn->security_group && gone(plan->sgs.current[c]))
			return true;
	return false;
}

static void plan_functions(const struct sharenat_config *cfg,
			   struct plan *plan)
{
	struct kind_plan *k = &plan->functions;
	const struct vec *cur = &plan->st.functions;
	unsigned int i;
	size_t c;

	for (i = 0; i < cfg->function_count; i++) {
		for (c = 0; c < cur->count; c++)
			if (!strcmp(VEC_AT(cur, struct function, c)->name,
				    cfg->functions[i]->name))
				k->match[i] = (int)c;
		if (k->match[i] < 0)
			continue;
		if (!function_same(plan, VEC_AT(cur, struct function,
						k->match[i]),
				   cfg->functions[i]) ||
		    function_loses_dependency(plan,
					      VEC_AT(cur, struct function,
						     k->match[i])))
			k->wanted[i] = STEP_REPLACE;
	}
	pair_up(k, cfg->function_count, cur->count);
}

static bool sandbox_loses_function(const struct plan *plan,
				   const struct sandbox *sbx)
{
	const struct vec *fns = &plan->st.functions;
	size_t c;

	for (c = 0; c < fns->count; c++)
		if (VEC_AT(fns, struct function, c)->id == sbx->function_id)
			return gone(plan->functions.current[c]);
	return false;
}

static int plan_sandboxes(const struct sharenat_config *cfg,
			  struct plan *plan, struct sharenat_error *err)
{
	struct kind_plan *k = &plan->sandboxes;
	const struct vec *cur = &plan->st.sandboxes;
	char what[128];
	unsigned int i;
	size_t c;
	int ifindex;

	plan->want_sbx_ifindex = calloc(cfg->sandbox_count + 1,
					sizeof(*plan->want_sbx_ifindex));
	if (!plan->want_sbx_ifindex)
		return fail(err, "apply", "out of memory");
	for (i = 0; i < cfg->sandbox_count; i++) {
		const struct apply_sandbox *want = cfg->sandboxes[i];
		const struct sandbox *sbx;

		ifindex = netdev_ifindex(want->dev,
					 line_what(what, sizeof(what),
						   cfg->source, want->line),
					 err);
		if (ifindex < 0)
			return -1;
		plan->want_sbx_ifindex[i] = (__u32)ifindex;
		for (c = 0; c < cur->count; c++)
			if (!strcmp(VEC_AT(cur, struct sandbox, c)->id,
				    want->id))
				k->match[i] = (int)c;
		if (k->match[i] < 0)
			continue;
		sbx = VEC_AT(cur, struct sandbox, k->match[i]);
		if (!sandbox_same(plan, sbx, want, (__u32)ifindex) ||
		    sandbox_loses_function(plan, sbx))
			k->wanted[i] = STEP_REPLACE;
	}
	pair_up(k, cfg->sandbox_count, cur->count);
	return 0;
}

/* Cascades go one way (attachment and group -> function -> sandbox), so
 * one pass in that order settles every step; pair_up() copies a wanted
 * object's step to the current object it matches. */
static int plan_make(struct sharenat *sn, const struct sharenat_config *cfg,
		     struct plan *plan, struct sharenat_error *err)
{
	memset(plan, 0, sizeof(*plan));
	if (state_read(sn, &plan->st, "apply", err))
		return -1;
	if (kind_alloc(&plan->attachments, plan->st.attachments.count,
		       cfg->attachment_count) ||
	    kind_alloc(&plan->sgs, plan->st.sgs.count, cfg->sg_count) ||
	    kind_alloc(&plan->functions, plan->st.functions.count,
		       cfg->function_count) ||
	    kind_alloc(&plan->sandboxes, plan->st.sandboxes.count,
		       cfg->sandbox_count))
		return fail(err, "apply", "out of memory");
	if (plan_attachments(cfg, plan, err))
		return -1;
	plan_sgs(cfg, plan);
	plan_functions(cfg, plan);
	return plan_sandboxes(cfg, plan, err);
}

/* ---- execution and undo ------------------------------------------------- */

enum object {
	OBJ_ATTACHMENT,
	OBJ_SG,
	OBJ_FUNCTION,
	OBJ_SANDBOX,
};

/* One step done: what was added (by name), or what was removed (all of
 * it, with the names its references had, to add it back). */
struct journal_entry {
	enum object object;
	bool added;
	char name[SHARENAT_NAME_MAX];	/* device, group, function or id */
	union {
		struct attachment attachment;
		struct security_group sg;
		struct {
			struct function fn;
			char sg[SHARENAT_NAME_MAX];
			char devs[SHARENAT_MAX_FUNCTION_SUBNETS][IF_NAMESIZE];
		} function;
		struct {
			struct sandbox sbx;
			char function[SHARENAT_NAME_MAX];
			char dev[IF_NAMESIZE];
		} sandbox;
	} saved;
};

struct run {
	struct sharenat *sn;
	const struct sharenat_config *cfg;
	struct plan *plan;
	struct journal_entry *journal;
	size_t done;
};

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static struct journal_entry *journal_next(struct run *run, enum object object,
					  bool added, const char *name)
{
	struct journal_entry *entry = &run->journal[run->done];

	memset(entry, 0, sizeof(*entry));
	entry->object = object;
	entry->added = added;
	snprintf(entry->name, sizeof(entry->name), "%s", name);
	return entry;
}

static int remove_sandbox(struct run *run, const struct sandbox *sbx,
			  struct sharenat_error *err)
{
	struct journal_entry *entry;

	entry = journal_next(run, OBJ_SANDBOX, false, sbx->id);
	entry->saved.sandbox.sbx = *sbx;
	snprintf(entry->saved.sandbox.function, SHARENAT_NAME_MAX, "%s",
		 function_name_of(&run->plan->st, sbx->function_id));
	dev_name(sbx->ifindex, entry->saved.sandbox.dev);
	if (sharenat_sandbox_del(run->sn, sbx->id, err))
		return -1;
	run->done++;
	return 0;
}

static int remove_function(struct run *run, const struct function *fn,
			   struct sharenat_error *err)
{
	struct journal_entry *entry;
	const char *group;
	__u32 i;

	entry = journal_next(run, OBJ_FUNCTION, false, fn->name);
	entry->saved.function.fn = *fn;
	group = sg_name_of(&run->plan->st, fn->security_group);
	if (group)
		snprintf(entry->saved.function.sg, SHARENAT_NAME_MAX, "%s",
			 group);
	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++)
		dev_name(fn->subnets[i].attachment,
			 entry->saved.function.devs[i]);
	if (sharenat_function_del(run->sn, fn->name, err))
		return -1;
	run->done++;
	return 0;
}

static int remove_sg(struct run *run, const struct security_group *sg,
		     struct sharenat_error *err)
{
	struct journal_entry *entry;

	entry = journal_next(run, OBJ_SG, false, sg->name);
	entry->saved.sg = *sg;
	if (sharenat_sg_del(run->sn, sg->name, err))
		return -1;
	run->done++;
	return 0;
}

static int remove_attachment(struct run *run, const struct attachment *att,
			     struct sharenat_error *err)
{
	struct journal_entry *entry;
	char dev[IF_NAMESIZE];

	entry = journal_next(run, OBJ_ATTACHMENT, false,
			     dev_name(att->ifindex, dev));
	entry->saved.attachment = *att;
	if (sharenat_detach(run->sn, dev, err))
		return -1;
	run->done++;
	return 0;
}

static int add_attachment(struct run *run,
			  const struct sharenat_attach_spec *spec,
			  struct sharenat_error *err)
{
	__u64 start = monotonic_ns();

	journal_next(run, OBJ_ATTACHMENT, true, spec->dev);
	if (sharenat_attach(run->sn, spec, err))
		return -1;
	sharenat_latency_record(run->sn, LATENCY_ATTACHMENT_SETUP,
				monotonic_ns() - start, NULL);
	run->done++;
	return 0;
}

static int add_sandbox(struct run *run,
		       const struct sharenat_sandbox_spec *spec,
		       struct sharenat_error *err)
{
	__u64 start = monotonic_ns();

	journal_next(run, OBJ_SANDBOX, true, spec->id);
	if (sharenat_sandbox_add(run->sn, spec, err))
		return -1;
	sharenat_latency_record(run->sn, LATENCY_SANDBOX_ATTACH,
				monotonic_ns() - start, NULL);
	run->done++;
	return 0;
}

/* The spec that makes an attachment exactly as it is now. */
static void attach_spec_of(const struct attachment *att, const char *dev,
			   struct sharenat_attach_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->dev = dev;
	spec->subnet_addr = att->subnet_addr;
	spec->subnet_mask = att->subnet_mask;
	spec->shared_addr_count = att->shared_addr_count;
	memcpy(spec->shared_addrs, att->shared_addrs,
	       sizeof(spec->shared_addrs));
	spec->gateway_addr = att->gateway_addr;
	spec->port_lo = att->port_lo;
	spec->port_hi = att->port_hi;
	spec->mapping = att->mapping;
	spec->hook_set = true;
	spec->hook = att->hook;
	spec->timeouts = att->timeouts;
}

/* Put a removed sandbox back, with the MAC it had learned (sandbox add
 * starts from none); its flows are gone for good. */
static int readd_sandbox(struct sharenat *sn, struct journal_entry *entry,
			 struct sharenat_error *err)
{
	const struct sandbox *saved = &entry->saved.sandbox.sbx;
	struct sharenat_sandbox_spec spec = {
		.id = saved->id,
		.function = entry->saved.sandbox.function,
		.dev = entry->saved.sandbox.dev,
		.addr = saved->addr,
		.has_mac = saved->mac_static,
	};
	struct sandbox now;

	memcpy(spec.mac, saved->mac, sizeof(spec.mac));
	if (sharenat_sandbox_add(sn, &spec, err))
		return -1;
	if (!saved->mac_static &&
	    !bpf_map_lookup_elem(sn->sandboxes_fd, &saved->addr, &now)) {
		memcpy(now.mac, saved->mac, sizeof(now.mac));
		bpf_map_update_elem(sn->sandboxes_fd, &saved->addr, &now,
				    BPF_EXIST);
	}
	return 0;
}

static int readd_function(struct sharenat *sn, struct journal_entry *entry,
			  struct sharenat_error *err)
{
	const struct function *fn = &entry->saved.function.fn;
	struct sharenat_function_spec spec = {
		.name = fn->name,
		.subnet_count = fn->subnet_count,
		.port_quota = fn->port_quota,
	};
	__u32 i;

	if (entry->saved.function.sg[0])
		spec.security_group = entry->saved.function.sg;
	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++) {
		spec.subnets[i].subnet_addr = fn->subnets[i].subnet_addr;
		spec.subnets[i].subnet_mask = fn->subnets[i].subnet_mask;
		spec.subnets[i].dev = entry->saved.function.devs[i];
	}
	return sharenat_function_add(sn, &spec, err);
}

static int undo_entry(struct sharenat *sn, struct journal_entry *entry,
		      struct sharenat_error *err)
{
	struct sharenat_attach_spec attach;
	struct sharenat_sg_spec sg;

	if (entry->added) {
		switch (entry->object) {
		case OBJ_ATTACHMENT:
			return sharenat_detach(sn, entry->name, err);
		case OBJ_SG:
			return sharenat_sg_del(sn, entry->name, err);
		case OBJ_FUNCTION:
			return sharenat_function_del(sn, entry->name, err);
		case OBJ_SANDBOX:
			return sharenat_sandbox_del(sn, entry->name, err);
		}
		return -1;
	}
	switch (entry->object) {
	case OBJ_ATTACHMENT:
		attach_spec_of(&entry->saved.attachment, entry->name, &attach);
		return sharenat_attach(sn, &attach, err);
	case OBJ_SG:
		memset(&sg, 0, sizeof(sg));
		sg.name = entry->saved.sg.name;
		sg.rule_count = entry->saved.sg.rule_count;
		memcpy(sg.rules, entry->saved.sg.rules, sizeof(sg.rules));
		return sharenat_sg_add(sn, &sg, err);
	case OBJ_FUNCTION:
		return readd_function(sn, entry, err);
	case OBJ_SANDBOX:
		return readd_sandbox(sn, entry, err);
	}
	return -1;
}

/* Backwards through the journal; every step is tried even when one
 * fails, and the caller's error says so. */
static bool undo(struct run *run)
{
	struct sharenat_error ignored;
	bool complete = true;

	while (run->done > 0) {
		run->done--;
		if (undo_entry(run->sn, &run->journal[run->done], &ignored))
			complete = false;
	}
	return complete;
}

/* Say where a step failed: the wanted object's line, or the current
 * object a removal was for. */
static int step_failed(struct sharenat_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int step_failed(struct sharenat_error *err, const char *fmt, ...)
{
	struct sharenat_error cause = *err;
	char where[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(where, sizeof(where), fmt, ap);
	va_end(ap);
	return fail(err, where, "%s", cause.message);
}

static int execute(struct run *run, struct sharenat_error *err)
{
	const struct sharenat_config *cfg = run->cfg;
	struct plan *plan = run->plan;
	const struct state *st = &plan->st;
	size_t i;

	for (i = 0; i < st->sandboxes.count; i++)
		if (gone(plan->sandboxes.current[i]) &&
		    remove_sandbox(run, VEC_AT(&st->sandboxes, struct sandbox,
					       i), err))
			return step_failed(err, "removing sandbox %s",
					   VEC_AT(&st->sandboxes,
						  struct sandbox, i)->id);
	for (i = 0; i < st->functions.count; i++)
		if (gone(plan->functions.current[i]) &&
		    remove_function(run, VEC_AT(&st->functions,
						struct function, i), err))
			return step_failed(err, "removing function %s",
					   VEC_AT(&st->functions,
						  struct function, i)->name);
	for (i = 0; i < st->sgs.count; i++)
		if (gone(plan->sgs.current[i]) &&
		    remove_sg(run, VEC_AT(&st->sgs, struct security_group, i),
			      err))
			return step_failed(err, "removing sg %s",
					   VEC_AT(&st->sgs,
						  struct security_group,
						  i)->name);
	for (i = 0; i < st->attachments.count; i++)
		if (gone(plan->attachments.current[i]) &&
		    remove_attachment(run, VEC_AT(&st->attachments,
						  struct attachment, i), err))
			return step_failed(err, "removing an attachment");

	for (i = 0; i < cfg->attachment_count; i++) {
		struct sharenat_attach_spec spec = cfg->attachments[i]->spec;

		if (plan->attachments.wanted[i] == STEP_KEEP)
			continue;
		/* The hook the plan compared with, whatever the driver
		 * says by the time of the attach. */
		spec.hook_set = true;
		spec.hook = plan->want_att[i].hook;
		if (add_attachment(run, &spec, err))
			return step_failed(err, "%s:%u", cfg->source,
					   cfg->attachments[i]->line);
	}
	for (i = 0; i < cfg->sg_count; i++) {
		if (plan->sgs.wanted[i] == STEP_KEEP)
			continue;
		journal_next(run, OBJ_SG, true, cfg->sgs[i]->name);
		if (sharenat_sg_add(run->sn, &cfg->sgs[i]->spec, err))
			return step_failed(err, "%s:%u", cfg->source,
					   cfg->sgs[i]->line);
		run->done++;
	}
	for (i = 0; i < cfg->function_count; i++) {
		if (plan->functions.wanted[i] == STEP_KEEP)
			continue;
		journal_next(run, OBJ_FUNCTION, true, cfg->functions[i]->name);
		if (sharenat_function_add(run->sn, &cfg->functions[i]->spec,
					  err))
			return step_failed(err, "%s:%u", cfg->source,
					   cfg->functions[i]->line);
		run->done++;
	}
	for (i = 0; i < cfg->sandbox_count; i++)
		if (plan->sandboxes.wanted[i] != STEP_KEEP &&
		    add_sandbox(run, &cfg->sandboxes[i]->spec, err))
			return step_failed(err, "%s:%u", cfg->source,
					   cfg->sandboxes[i]->line);
	return 0;
}

/* Steps in the order they run: removals from sandboxes up, then adds and
 * replacements from attachments down. */
static void report_plan(const struct sharenat_config *cfg,
			const struct plan *plan, sharenat_apply_fn report,
			void *ctx, struct sharenat_apply_result *result)
{
	const struct state *st = &plan->st;
	char dev[IF_NAMESIZE];
	size_t i;

	memset(result, 0, sizeof(*result));
	for (i = 0; i < st->sandboxes.count; i++)
		if (plan->sandboxes.current[i] == STEP_REMOVE) {
			result->removed++;
			if (report)
				report("remove", "sandbox",
				       VEC_AT(&st->sandboxes, struct sandbox,
					      i)->id, ctx);
		}
	for (i = 0; i < st->functions.count; i++)
		if (plan->functions.current[i] == STEP_REMOVE) {
			result->removed++;
			if (report)
				report("remove", "function",
				       VEC_AT(&st->functions, struct function,
					      i)->name, ctx);
		}
	for (i = 0; i < st->sgs.count; i++)
		if (plan->sgs.current[i] == STEP_REMOVE) {
			result->removed++;
			if (report)
				report("remove", "sg",
				       VEC_AT(&st->sgs, struct security_group,
					      i)->name, ctx);
		}
	for (i = 0; i < st->attachments.count; i++)
		if (plan->attachments.current[i] == STEP_REMOVE) {
			result->removed++;
			if (report)
				report("remove", "attachment",
				       dev_name(VEC_AT(&st->attachments,
						       struct attachment,
						       i)->ifindex, dev), ctx);
		}

#define REPORT_WANTED(kind, count, items, field, object)		\
	for (i = 0; i < (count); i++) {					\
		enum step step = plan->kind.wanted[i];			\
									\
		if (step == STEP_KEEP) {				\
			result->unchanged++;				\
			continue;					\
		}							\
		if (step == STEP_ADD)					\
			result->added++;				\
		else							\
			result->replaced++;				\
		if (report)						\
			report(step_names[step], object,		\
			       (items)[i]->field, ctx);			\
	}
	REPORT_WANTED(attachments, cfg->attachment_count, cfg->attachments,
		      dev, "attachment")
	REPORT_WANTED(sgs, cfg->sg_count, cfg->sgs, name, "sg")
	REPORT_WANTED(functions, cfg->function_count, cfg->functions, name,
		      "function")
	REPORT_WANTED(sandboxes, cfg->sandbox_count, cfg->sandboxes, id,
		      "sandbox")
#undef REPORT_WANTED
}

int sharenat_apply(struct sharenat *sn, const struct sharenat_config *cfg,
		   bool dry_run, sharenat_apply_fn report, void *ctx,
		   struct sharenat_apply_result *result,
		   struct sharenat_error *err)
{
	struct latency_histogram before[LATENCY_MAX];
	struct sharenat_apply_result counts;
	struct run run = { .sn = sn, .cfg = cfg };
	struct plan plan;
	size_t steps;
	unsigned int i;
	int rc = -1;

	if (plan_make(sn, cfg, &plan, err))
		goto out;
	run.plan = &plan;
	report_plan(cfg, &plan, NULL, NULL, &counts);
	if (result)
		*result = counts;
	if (dry_run || !(counts.added + counts.removed + counts.replaced)) {
		if (report)
			report_plan(cfg, &plan, report, ctx, &counts);
		rc = 0;
		goto out;
	}
	for (i = 0; i < LATENCY_MAX; i++)
		if (sharenat_latency_read(sn, i, &before[i], err))
			goto out;
	/* At most: every current object removed, every wanted one added. */
	steps = plan.st.attachments.count + plan.st.sgs.count +
		plan.st.functions.count + plan.st.sandboxes.count +
		cfg->attachment_count + cfg->sg_count + cfg->function_count +
		cfg->sandbox_count;
	run.journal = calloc(steps + 1, sizeof(*run.journal));
	if (!run.journal) {
		fail(err, "apply", "out of memory");
		goto out;
	}
	if (execute(&run, err)) {
		struct sharenat_error cause = *err;

		if (!undo(&run))
			fail(err, "apply", "%s (and undoing failed: the state "
			     "is partly changed)", cause.message);
		else
			fail(err, "apply", "%s", cause.message);
		for (i = 0; i < LATENCY_MAX; i++)
			sharenat_latency_write(sn, i, &before[i], NULL);
		goto out;
	}
	if (report)
		report_plan(cfg, &plan, report, ctx, &counts);
	rc = 0;
out:
	free(run.journal);
	plan_free(&plan);
	return rc;
}

/* ---- writing the state -------------------------------------------------- */

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
	dev_name(((const struct attachment *)item)->ifindex, buf);
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
		att->hook == INGRESS_HOOK_XDP ? "xdp" : "tc",
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
	const char *group = sg_name_of(st, fn->security_group);
	__u32 i;

	fprintf(out, "function %s", fn->name);
	for (i = 0; i < fn->subnet_count && i < SHARENAT_MAX_FUNCTION_SUBNETS;
	     i++)
		fprintf(out, " subnet %s/%u@%s",
			format_ipv4(fn->subnets[i].subnet_addr, addr),
			mask_prefix_len(fn->subnets[i].subnet_mask),
			dev_name(fn->subnets[i].attachment, dev));
	if (group)
		fprintf(out, " sg %s", group);
	fprintf(out, " port-quota %u\n", fn->port_quota);
}

static void write_sandbox(FILE *out, const struct state *st,
			  const struct sandbox *sbx)
{
	char addr[INET_ADDRSTRLEN], dev[IF_NAMESIZE];

	fprintf(out, "sandbox %s function %s dev %s ip %s", sbx->id,
		function_name_of(st, sbx->function_id),
		dev_name(sbx->ifindex, dev), format_ipv4(sbx->addr, addr));
	if (sbx->mac_static)
		fprintf(out, " mac %02x:%02x:%02x:%02x:%02x:%02x",
			sbx->mac[0], sbx->mac[1], sbx->mac[2], sbx->mac[3],
			sbx->mac[4], sbx->mac[5]);
	fputc('\n', out);
}

int sharenat_config_write(struct sharenat *sn, FILE *out,
			  struct sharenat_error *err)
{
	struct named *atts = NULL, *sgs = NULL, *fns = NULL, *sbxs = NULL;
	struct state st;
	size_t i;
	int rc = -1;

	if (state_read(sn, &st, "status", err))
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
	state_free(&st);
	return rc;
}

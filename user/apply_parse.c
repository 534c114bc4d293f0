// SPDX-License-Identifier: GPL-2.0
/*
 * The parser of `sharenat apply` files: text to a struct sharenat_config
 * (apply.h), every error with its line. It reads the text alone, no
 * state and no device, so a bad file is refused before anything changes
 * and the unit tests and the fuzzer need no BPF. References inside the
 * file (a function's group and subnets, a sandbox's function) must
 * resolve.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_internal.h"
#include "error.h"
#include "parse.h"

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

const char *apply_line_what(char *buf, size_t len, const char *source,
			    unsigned int line)
{
	snprintf(buf, len, "apply: %.80s:%u", source, line);
	return buf;
}

static void set_line(struct parser *p, unsigned int line)
{
	p->line = line;
	apply_line_what(p->what, sizeof(p->what), p->cfg->source, line);
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

/*
 * A zeroed object of size bytes for the current line, and its list
 * (list, count long) grown by one slot: *grown, for the caller to store
 * with the object in it. NULL when out of memory, the list as it was.
 */
static void *new_object(struct parser *p, size_t size, void *list,
			unsigned int count, void **grown)
{
	void *object = calloc(1, size);

	*grown = object ? realloc(list, (count + 1) * sizeof(object)) : NULL;
	if (!*grown) {
		free(object);
		parse_fail(p, "out of memory");
		return NULL;
	}
	return object;
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
	att = new_object(p, sizeof(*att), cfg->attachments,
			 cfg->attachment_count, &grown);
	if (!att)
		return -1;
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
			if (once(p, &pr, 4, key) ||
			    parse_mode(value, key_what(p, key), &spec->hook,
				       p->err))
				return -1;
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
	sg = new_object(p, sizeof(*sg), cfg->sgs, cfg->sg_count, &grown);
	if (!sg)
		return -1;
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
	fn = new_object(p, sizeof(*fn), cfg->functions, cfg->function_count,
			&grown);
	if (!fn)
		return -1;
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
	sbx = new_object(p, sizeof(*sbx), cfg->sandboxes, cfg->sandbox_count,
			 &grown);
	if (!sbx)
		return -1;
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
		} else if (!strcmp(key, "mode")) {
			if (once(p, &pr, 4, key) ||
			    parse_mode(value, key_what(p, key), &spec->hook,
				       p->err))
				return -1;
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

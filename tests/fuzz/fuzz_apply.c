// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the file parser of `sharenat apply`
 * (sharenat_config_parse in user/apply.c): any bytes, as a file. Besides
 * memory errors, leaks and undefined behaviour (ASan, LeakSanitizer,
 * UBSan), it checks what the parser promises of a file it accepts
 * (docs/cli.md, "File format"): every name valid, every reference resolved
 * inside the file, addresses where they belong, limits kept; and of a file
 * it refuses, one error naming the source. It never touches the system.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "parse.h"

#define SOURCE "fuzz.conf"

#define REQUIRE(cond) do {						\
		if (!(cond)) {						\
			fprintf(stderr, "broken promise: %s (%s:%d)\n",	\
				#cond, __FILE__, __LINE__);		\
			abort();					\
		}							\
	} while (0)

static bool in_subnet(__be32 addr, __be32 subnet, __be32 mask)
{
	return (addr & mask) == subnet;
}

static void name_is_valid(const char *name)
{
	struct sharenat_error err;

	REQUIRE(memchr(name, '\0', SHARENAT_NAME_MAX));
	REQUIRE(parse_name(name, "name", &err) == 0);
}

static void accepted_is_sound(const struct sharenat_config *cfg)
{
	unsigned int i, j, k;

	for (i = 0; i < cfg->attachment_count; i++) {
		const struct apply_attachment *a = cfg->attachments[i];
		const struct sharenat_attach_spec *s = &a->spec;

		REQUIRE(s->dev == a->dev);
		REQUIRE(a->dev[0] && memchr(a->dev, '\0', sizeof(a->dev)));
		REQUIRE((s->subnet_addr & ~s->subnet_mask) == 0);
		REQUIRE(s->shared_addr_count >= 1 &&
			s->shared_addr_count <= SHARENAT_MAX_SHARED_ADDRS);
		for (j = 0; j < s->shared_addr_count; j++)
			REQUIRE(in_subnet(s->shared_addrs[j], s->subnet_addr,
					  s->subnet_mask));
		REQUIRE(!s->gateway_addr ||
			in_subnet(s->gateway_addr, s->subnet_addr,
				  s->subnet_mask));
		REQUIRE(s->port_lo >= 1 && s->port_lo <= s->port_hi);
		for (j = 0; j < i; j++)
			REQUIRE(strcmp(cfg->attachments[j]->dev, a->dev));
	}
	for (i = 0; i < cfg->sg_count; i++) {
		const struct apply_sg *g = cfg->sgs[i];

		name_is_valid(g->name);
		REQUIRE(g->spec.name == g->name);
		REQUIRE(g->spec.rule_count <= SHARENAT_MAX_SG_RULES);
		for (j = 0; j < g->spec.rule_count; j++) {
			const struct sg_rule *r = &g->spec.rules[j];

			REQUIRE((r->addr & ~r->mask) == 0);
			REQUIRE(r->port_lo <= r->port_hi);
		}
		for (j = 0; j < i; j++)
			REQUIRE(strcmp(cfg->sgs[j]->name, g->name));
	}
	for (i = 0; i < cfg->function_count; i++) {
		const struct apply_function *f = cfg->functions[i];
		const struct sharenat_function_spec *s = &f->spec;

		name_is_valid(f->name);
		REQUIRE(s->subnet_count >= 1 &&
			s->subnet_count <= SHARENAT_MAX_FUNCTION_SUBNETS);
		for (j = 0; j < s->subnet_count; j++) {
			bool found = false;

			REQUIRE(s->subnets[j].dev);
			/* The subnet's device is an attachment of the file
			 * with that very subnet. */
			for (k = 0; k < cfg->attachment_count; k++) {
				const struct apply_attachment *a =
					cfg->attachments[k];

				found |= !strcmp(a->dev, s->subnets[j].dev) &&
					 a->spec.subnet_addr ==
					 s->subnets[j].subnet_addr &&
					 a->spec.subnet_mask ==
					 s->subnets[j].subnet_mask;
			}
			REQUIRE(found);
			/* No two subnets of a function overlap. */
			for (k = 0; k < j; k++) {
				__be32 m = s->subnets[j].subnet_mask &
					   s->subnets[k].subnet_mask;

				REQUIRE((s->subnets[j].subnet_addr & m) !=
					(s->subnets[k].subnet_addr & m));
			}
		}
		if (s->security_group) {
			bool found = false;

			for (k = 0; k < cfg->sg_count; k++)
				found |= !strcmp(cfg->sgs[k]->name,
						 s->security_group);
			REQUIRE(found);
		}
		for (j = 0; j < i; j++)
			REQUIRE(strcmp(cfg->functions[j]->name, f->name));
	}
	for (i = 0; i < cfg->sandbox_count; i++) {
		const struct apply_sandbox *b = cfg->sandboxes[i];
		bool found = false;

		name_is_valid(b->id);
		REQUIRE((ntohl(b->spec.addr) & SHARENAT_POOL_MASK) ==
			SHARENAT_POOL_ADDR);
		for (k = 0; k < cfg->function_count; k++)
			found |= !strcmp(cfg->functions[k]->name, b->function);
		REQUIRE(found);
		for (k = 0; k < cfg->attachment_count; k++)
			REQUIRE(strcmp(cfg->attachments[k]->dev, b->dev));
		for (j = 0; j < i; j++) {
			REQUIRE(strcmp(cfg->sandboxes[j]->id, b->id));
			REQUIRE(cfg->sandboxes[j]->spec.addr != b->spec.addr);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sharenat_error err = { "" };
	struct sharenat_config *cfg;
	/* Exactly the file's bytes, no terminator: the parser takes a
	 * length, so a read past it is ASan's. */
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	cfg = sharenat_config_parse(text, size, SOURCE, &err);
	if (!cfg) {
		REQUIRE(memchr(err.message, '\0', sizeof(err.message)));
		REQUIRE(strstr(err.message, SOURCE) ||
			strstr(err.message, "out of memory"));
	} else {
		accepted_is_sound(cfg);
		sharenat_config_free(cfg);
	}
	free(text);
	return 0;
}

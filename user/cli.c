// SPDX-License-Identifier: GPL-2.0
/*
 * The command line: turns arguments into the library's specs, runs one
 * operation, and maps the outcome to the exit code and one error line
 * `sharenat: what: why`. Nothing here touches a map directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "apply.h"
#include "cli.h"
#include "error.h"
#include "latency.h"
#include "parse.h"

static const char usage_text[] =
"usage: sharenat [--pin-dir DIR] COMMAND ...\n"
"\n"
"  attach DEV --subnet CIDR --ip ADDR [--ip ADDR ...] [--gateway ADDR]\n"
"             [--ports LO-HI] [--mapping independent|dependent]\n"
"             [--mode xdp|tc] [--tcp-established-timeout S]\n"
"             [--tcp-transitory-timeout S] [--udp-timeout S] [--icmp-timeout S]\n"
"  detach DEV\n"
"  sg add NAME --allow PROTO:CIDR[:PORT[-PORT]] [--allow ...]\n"
"  sg del NAME\n"
"  function add NAME --subnet CIDR[@DEV] [--subnet CIDR[@DEV] ...]\n"
"               [--sg NAME] [--port-quota N]\n"
"  function del NAME\n"
"  sandbox add ID --function NAME --dev DEV --ip ADDR [--mac MAC]\n"
"              [--mode xdp|tc]\n"
"  sandbox del ID\n"
"  device add DEV [--mode xdp|tc]\n"
"  device del DEV\n"
"  flows [--function NAME] [--sandbox ID] [--json]\n"
"  stats [--json|--prometheus]\n"
"  status [--json | --format text|json|apply]\n"
"  apply FILE [--dry-run]\n"
"  bench attach N [--dev-prefix P]\n"
"\n"
"State lives under the pin directory (default " SHARENAT_DEFAULT_PIN_DIR
", or $SHARENAT_PIN_DIR).\n";

/* Arguments left to read, and the error that names the command. */
struct args {
	int count;
	char **items;
	const char *what;
	struct sharenat_error *err;
	bool usage_error;
};

/* The error already in a->err (a parser's, or usage_fail's) is bad usage,
 * exit 2. */
static int bad_usage(struct args *a)
{
	a->usage_error = true;
	return -1;
}

static int usage_fail(struct args *a, const char *fmt, const char *detail)
{
	fail(a->err, a->what, fmt, detail);
	return bad_usage(a);
}

static const char *next_word(struct args *a)
{
	if (a->count == 0)
		return NULL;
	a->count--;
	return *a->items++;
}

/* The value of --flag, as "--flag VALUE" or "--flag=VALUE". */
static int flag_value(struct args *a, const char *word, const char **value)
{
	const char *eq = strchr(word, '=');

	if (eq) {
		*value = eq + 1;
		return 0;
	}
	*value = next_word(a);
	if (!*value)
		return usage_fail(a, "%s needs a value", word);
	return 0;
}

static bool is_flag(const char *word, const char *flag)
{
	size_t len = strlen(flag);

	return !strncmp(word, flag, len) &&
	       (word[len] == '\0' || word[len] == '=');
}

/*
 * The DEV, NAME or ID a verb acts on: the next word, not a flag. With
 * check_name (the add verbs) it must be a name parse_name() takes, which
 * also says what is wrong with an empty one; the other verbs leave the
 * check to the library.
 */
static int take_operand(struct args *a, const char *expected,
			bool check_name, const char **word)
{
	*word = next_word(a);
	if (!*word || (*word)[0] == '-' || (!check_name && !(*word)[0]))
		return usage_fail(a, "expected %s", expected);
	if (check_name && parse_name(*word, a->what, a->err))
		return bad_usage(a);
	return 0;
}

/* One of attach's --*-timeout flags, in seconds (at most a day). */
static int parse_timeout(struct args *a, const char *word,
			 struct flow_timeouts *timeouts)
{
	unsigned long seconds;
	const char *value;
	__u32 *slot;

	if (is_flag(word, "--tcp-established-timeout"))
		slot = &timeouts->tcp_established;
	else if (is_flag(word, "--tcp-transitory-timeout"))
		slot = &timeouts->tcp_transitory;
	else if (is_flag(word, "--udp-timeout"))
		slot = &timeouts->udp;
	else
		slot = &timeouts->icmp;
	if (flag_value(a, word, &value) ||
	    parse_count(value, a->what, 86400, &seconds, a->err))
		return -1;
	*slot = (__u32)seconds;
	return 0;
}

static int parse_attach(struct args *a, struct sharenat_attach_spec *spec)
{
	bool have_subnet = false;
	const char *word, *value;

	if (take_operand(a, "DEV", false, &spec->dev))
		return -1;
	spec->port_lo = 1024;
	spec->port_hi = 65535;
	spec->mapping = MAPPING_INDEPENDENT;
	while ((word = next_word(a))) {
		if (is_flag(word, "--subnet")) {
			if (flag_value(a, word, &value) ||
			    parse_cidr(value, a->what, &spec->subnet_addr,
				       &spec->subnet_mask, a->err))
				return bad_usage(a);
			have_subnet = true;
		} else if (is_flag(word, "--ip")) {
			if (spec->shared_addr_count ==
			    SHARENAT_MAX_SHARED_ADDRS)
				return usage_fail(a, "%s", "too many --ip");
			if (flag_value(a, word, &value) ||
			    parse_ipv4(value, a->what,
				       &spec->shared_addrs[spec->shared_addr_count],
				       a->err))
				return bad_usage(a);
			spec->shared_addr_count++;
		} else if (is_flag(word, "--gateway")) {
			if (flag_value(a, word, &value) ||
			    parse_ipv4(value, a->what, &spec->gateway_addr,
				       a->err))
				return bad_usage(a);
		} else if (is_flag(word, "--ports")) {
			if (flag_value(a, word, &value) ||
			    parse_port_range(value, a->what, &spec->port_lo,
					     &spec->port_hi, a->err))
				return bad_usage(a);
		} else if (is_flag(word, "--tcp-established-timeout") ||
			   is_flag(word, "--tcp-transitory-timeout") ||
			   is_flag(word, "--udp-timeout") ||
			   is_flag(word, "--icmp-timeout")) {
			if (parse_timeout(a, word, &spec->timeouts))
				return bad_usage(a);
		} else if (is_flag(word, "--mode")) {
			if (flag_value(a, word, &value) ||
			    parse_mode(value, a->what, &spec->hook, a->err))
				return bad_usage(a);
			spec->hook_set = true;
		} else if (is_flag(word, "--mapping")) {
			if (flag_value(a, word, &value) ||
			    parse_mapping(value, a->what, &spec->mapping,
					  a->err))
				return bad_usage(a);
		} else {
			return usage_fail(a, "unknown argument '%s'", word);
		}
	}
	if (!have_subnet)
		return usage_fail(a, "%s", "--subnet is required");
	if (!spec->shared_addr_count)
		return usage_fail(a, "%s", "--ip is required");
	return 0;
}

static int parse_function_add(struct args *a,
			      struct sharenat_function_spec *spec,
			      char devs[][IF_NAMESIZE])
{
	const char *word, *value;

	if (take_operand(a, "NAME", true, &spec->name))
		return -1;
	while ((word = next_word(a))) {
		if (is_flag(word, "--subnet")) {
			unsigned int i = spec->subnet_count;

			if (i == SHARENAT_MAX_FUNCTION_SUBNETS)
				return usage_fail(a, "%s",
						  "too many --subnet");
			if (flag_value(a, word, &value) ||
			    parse_subnet_ref(value, a->what, &spec->subnets[i],
					     devs[i], IF_NAMESIZE, a->err))
				return bad_usage(a);
			spec->subnet_count++;
		} else if (is_flag(word, "--sg")) {
			if (flag_value(a, word, &spec->security_group) ||
			    parse_name(spec->security_group, a->what, a->err))
				return bad_usage(a);
		} else if (is_flag(word, "--port-quota")) {
			unsigned long quota;

			if (flag_value(a, word, &value) ||
			    parse_count(value, a->what, 65535, &quota, a->err))
				return bad_usage(a);
			spec->port_quota = (__u32)quota;
		} else {
			return usage_fail(a, "unknown argument '%s'", word);
		}
	}
	if (!spec->subnet_count)
		return usage_fail(a, "%s", "--subnet is required");
	return 0;
}

static int parse_sandbox_add(struct args *a,
			     struct sharenat_sandbox_spec *spec)
{
	bool have_ip = false;
	const char *word, *value;

	if (take_operand(a, "ID", true, &spec->id))
		return -1;
	while ((word = next_word(a))) {
		if (is_flag(word, "--function")) {
			if (flag_value(a, word, &spec->function) ||
			    parse_name(spec->function, a->what, a->err))
				return bad_usage(a);
		} else if (is_flag(word, "--dev")) {
			if (flag_value(a, word, &spec->dev))
				return bad_usage(a);
			if (!spec->dev[0])
				return usage_fail(a, "%s", "--dev is empty");
		} else if (is_flag(word, "--ip")) {
			if (flag_value(a, word, &value) ||
			    parse_ipv4(value, a->what, &spec->addr, a->err))
				return bad_usage(a);
			have_ip = true;
		} else if (is_flag(word, "--mac")) {
			if (flag_value(a, word, &value) ||
			    parse_mac(value, a->what, spec->mac, a->err))
				return bad_usage(a);
			spec->has_mac = true;
		} else if (is_flag(word, "--mode")) {
			if (flag_value(a, word, &value) ||
			    parse_mode(value, a->what, &spec->hook, a->err))
				return bad_usage(a);
		} else {
			return usage_fail(a, "unknown argument '%s'", word);
		}
	}
	if (!spec->function)
		return usage_fail(a, "%s", "--function is required");
	if (!spec->dev)
		return usage_fail(a, "%s", "--dev is required");
	if (!have_ip)
		return usage_fail(a, "%s", "--ip is required");
	return 0;
}

static int parse_device_add(struct args *a, struct sharenat_device_spec *spec)
{
	const char *word, *value;

	if (take_operand(a, "DEV", false, &spec->dev))
		return -1;
	while ((word = next_word(a))) {
		if (!is_flag(word, "--mode"))
			return usage_fail(a, "unknown argument '%s'", word);
		if (flag_value(a, word, &value) ||
		    parse_mode(value, a->what, &spec->hook, a->err))
			return bad_usage(a);
	}
	return 0;
}

static int parse_sg_add(struct args *a, struct sharenat_sg_spec *spec)
{
	const char *word, *value;

	if (take_operand(a, "NAME", true, &spec->name))
		return -1;
	while ((word = next_word(a))) {
		if (!is_flag(word, "--allow"))
			return usage_fail(a, "unknown argument '%s'", word);
		if (spec->rule_count == SHARENAT_MAX_SG_RULES)
			return usage_fail(a, "%s", "too many --allow");
		if (flag_value(a, word, &value) ||
		    parse_sg_rule(value, a->what,
				  &spec->rules[spec->rule_count], a->err))
			return bad_usage(a);
		spec->rule_count++;
	}
	if (!spec->rule_count)
		return usage_fail(a, "%s", "--allow is required");
	return 0;
}

/* A lone NAME/ID/DEV argument and nothing after it. */
static int parse_one_word(struct args *a, const char *expected,
			  const char **word)
{
	const char *extra;

	if (take_operand(a, expected, false, word))
		return -1;
	extra = next_word(a);
	if (extra)
		return usage_fail(a, "unknown argument '%s'", extra);
	return 0;
}

/* --json everywhere; --prometheus for stats; --function and --sandbox
 * for flows; --format for status (apply: the format `apply` reads). */
static int parse_read_options(struct args *a, const char *verb,
			      struct read_options *opts, bool *as_apply)
{
	bool flows = !strcmp(verb, "flows");
	const char *word, *value;

	while ((word = next_word(a))) {
		if (!strcmp(word, "--json")) {
			opts->format = OUTPUT_JSON;
		} else if (is_flag(word, "--format") &&
			   !strcmp(verb, "status")) {
			if (flag_value(a, word, &value))
				return bad_usage(a);
			*as_apply = !strcmp(value, "apply");
			if (!strcmp(value, "json"))
				opts->format = OUTPUT_JSON;
			else if (!strcmp(value, "text"))
				opts->format = OUTPUT_TEXT;
			else if (!*as_apply)
				return usage_fail(a, "'%s' is not a format: "
						  "expected text, json or "
						  "apply", value);
		} else if (!strcmp(word, "--prometheus") &&
			   !strcmp(verb, "stats")) {
			opts->format = OUTPUT_PROMETHEUS;
		} else if (flows && is_flag(word, "--function")) {
			if (flag_value(a, word, &opts->function) ||
			    parse_name(opts->function, a->what, a->err))
				return bad_usage(a);
		} else if (flows && is_flag(word, "--sandbox")) {
			if (flag_value(a, word, &opts->sandbox) ||
			    parse_name(opts->sandbox, a->what, a->err))
				return bad_usage(a);
		} else {
			return usage_fail(a, "unknown argument '%s'", word);
		}
	}
	return 0;
}

static int run_write(struct args *a, const char *pin_dir, const char *verb,
		     const char *object, __u64 started_ns)
{
	struct sharenat_attach_spec attach = { 0 };
	struct sharenat_function_spec function = { 0 };
	struct sharenat_sandbox_spec sandbox = { 0 };
	struct sharenat_device_spec device = { 0 };
	struct sharenat_sg_spec sg = { 0 };
	char devs[SHARENAT_MAX_FUNCTION_SUBNETS][IF_NAMESIZE];
	const char *name = NULL;
	struct sharenat *sn;
	__u64 op_start, op_end;
	int rc;

	if (!strcmp(verb, "attach"))
		rc = parse_attach(a, &attach);
	else if (!strcmp(verb, "detach"))
		rc = parse_one_word(a, "DEV", &name);
	else if (!strcmp(object, "add") && !strcmp(verb, "function"))
		rc = parse_function_add(a, &function, devs);
	else if (!strcmp(object, "add") && !strcmp(verb, "sg"))
		rc = parse_sg_add(a, &sg);
	else if (!strcmp(object, "add") && !strcmp(verb, "device"))
		rc = parse_device_add(a, &device);
	else if (!strcmp(object, "add"))
		rc = parse_sandbox_add(a, &sandbox);
	else
		rc = parse_one_word(a, !strcmp(verb, "sandbox") ? "ID" :
				    !strcmp(verb, "device") ? "DEV" : "NAME",
				    &name);
	if (rc)
		return -1;

	sn = sharenat_open(pin_dir, !strcmp(verb, "attach") || !strcmp(verb, "sg") ?
			SHARENAT_OPEN_CREATE : SHARENAT_OPEN_EXISTING, a->err);
	if (!sn)
		return -1;
	op_start = monotonic_ns();
	if (!strcmp(verb, "attach"))
		rc = sharenat_attach(sn, &attach, a->err);
	else if (!strcmp(verb, "detach"))
		rc = sharenat_detach(sn, name, a->err);
	else if (!strcmp(verb, "function") && !strcmp(object, "add"))
		rc = sharenat_function_add(sn, &function, a->err);
	else if (!strcmp(verb, "function"))
		rc = sharenat_function_del(sn, name, a->err);
	else if (!strcmp(verb, "sg") && !strcmp(object, "add"))
		rc = sharenat_sg_add(sn, &sg, a->err);
	else if (!strcmp(verb, "sg"))
		rc = sharenat_sg_del(sn, name, a->err);
	else if (!strcmp(verb, "device") && !strcmp(object, "add"))
		rc = sharenat_device_add(sn, &device, a->err);
	else if (!strcmp(verb, "device"))
		rc = sharenat_device_del(sn, name, a->err);
	else if (!strcmp(object, "add"))
		rc = sharenat_sandbox_add(sn, &sandbox, a->err);
	else
		rc = sharenat_sandbox_del(sn, name, a->err);
	op_end = monotonic_ns();
	if (rc) {
		sharenat_close_failed(sn);
		return -1;
	}
	/* The product figure: a measurement, so failing to keep it does
	 * not fail the operation, which is done. */
	if (!strcmp(verb, "attach"))
		sharenat_latency_record(sn, LATENCY_ATTACHMENT_SETUP,
					op_end - op_start, NULL);
	else if (!strcmp(verb, "sandbox") && !strcmp(object, "add"))
		sharenat_latency_record(sn, LATENCY_SANDBOX_ATTACH,
					op_end - op_start, NULL);
	if (!strcmp(verb, "detach") || !strcmp(verb, "sg") ||
	    !strcmp(verb, "device"))
		sharenat_unload_if_empty(sn);
	sharenat_close(sn);
	if (!strcmp(verb, "sandbox") && !strcmp(object, "add"))
		printf("sandbox %s attached in %.1f us (command %.1f us)\n",
		       sandbox.id, (double)(op_end - op_start) / 1e3,
		       (double)(monotonic_ns() - started_ns) / 1e3);
	return 0;
}

static int run_read(struct args *a, const char *pin_dir, const char *verb)
{
	struct read_options opts = { OUTPUT_TEXT, NULL, NULL };
	struct sharenat *sn = NULL;
	bool as_apply = false;
	int rc;

	if (parse_read_options(a, verb, &opts, &as_apply))
		return -1;
	if (sharenat_is_loaded(pin_dir)) {
		sn = sharenat_open(pin_dir, SHARENAT_OPEN_READ, a->err);
		if (!sn)
			return -1;
	}
	/* Nothing loaded is the empty file: applying it changes nothing. */
	if (as_apply)
		rc = sn ? sharenat_config_write(sn, stdout, a->err) : 0;
	else if (!strcmp(verb, "flows"))
		rc = show_flows(sn, &opts, a->err);
	else if (!strcmp(verb, "stats"))
		rc = show_stats(sn, &opts, a->err);
	else
		rc = show_status(sn, &opts, a->err);
	sharenat_close(sn);
	return rc;
}

/* The whole file (or stdin for "-"), NUL-terminated for the parser's
 * error messages; *len excludes the NUL. */
static char *read_file(const char *path, size_t *len,
		       struct sharenat_error *err)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	size_t capacity = 4096;
	char *text = NULL, *grown;
	ssize_t n;

	*len = 0;
	if (fd < 0) {
		fail_errno(err, "apply", errno, "cannot read %s", path);
		return NULL;
	}
	for (;;) {
		if (!text || *len + 1 >= capacity) {
			capacity *= 2;
			grown = realloc(text, capacity);
			if (!grown) {
				fail_errno(err, "apply", ENOMEM, "cannot read "
					   "%s", path);
				goto err;
			}
			text = grown;
		}
		n = read(fd, text + *len, capacity - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail_errno(err, "apply", errno, "cannot read %s", path);
			goto err;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
		if (*len > APPLY_FILE_MAX) {
			fail(err, "apply", "%s is larger than %u MiB", path,
			     APPLY_FILE_MAX >> 20);
			goto err;
		}
	}
	text[*len] = '\0';
	if (fd)
		close(fd);
	return text;
err:
	free(text);
	if (fd)
		close(fd);
	return NULL;
}

static void print_step(const char *action, const char *object,
		       const char *name, void *ctx)
{
	printf("%s%s %s %s\n", *(bool *)ctx ? "would " : "", action, object,
	       name);
}

/* apply FILE [--dry-run]: a malformed file is bad usage (2), found
 * before anything is opened; a refusal of the system is a failure (1),
 * after which the state is as it was. */
static int run_apply(struct args *a, const char *pin_dir)
{
	struct sharenat_apply_result result = { 0 };
	struct sharenat_config *cfg;
	const char *file = NULL, *word;
	struct sharenat *sn;
	bool dry_run = false;
	char *text;
	size_t len;
	int rc;

	while ((word = next_word(a))) {
		if (!strcmp(word, "--dry-run"))
			dry_run = true;
		else if ((word[0] == '-' && word[1]) || file)
			return usage_fail(a, "unknown argument '%s'", word);
		else
			file = word;
	}
	if (!file || !*file)
		return usage_fail(a, "%s", "expected FILE");
	text = read_file(file, &len, a->err);
	if (!text)
		return -1;
	cfg = sharenat_config_parse(text, len, file, a->err);
	free(text);
	if (!cfg)
		return bad_usage(a);
	if (sharenat_config_empty(cfg) && !sharenat_is_loaded(pin_dir)) {
		sharenat_config_free(cfg);
		printf("apply: no changes (0 unchanged)\n");
		return 0;
	}
	sn = sharenat_open(pin_dir, SHARENAT_OPEN_CREATE, a->err);
	if (!sn) {
		sharenat_config_free(cfg);
		return -1;
	}
	rc = sharenat_apply(sn, cfg, dry_run, print_step, &dry_run, &result,
			    a->err);
	sharenat_config_free(cfg);
	/* A dry run on a state this open loaded leaves nothing behind. */
	if (rc || dry_run) {
		sharenat_close_failed(sn);
		if (rc)
			return -1;
	} else {
		sharenat_unload_if_empty(sn);
		sharenat_close(sn);
	}
	if (!result.added && !result.removed && !result.replaced)
		printf("apply: no changes (%u unchanged)\n", result.unchanged);
	else
		printf("apply: %s%u added, %u removed, %u replaced, "
		       "%u unchanged\n", dry_run ? "would have " : "",
		       result.added, result.removed, result.replaced,
		       result.unchanged);
	return 0;
}

/* bench attach N [--dev-prefix P] */
static int run_bench(struct args *a, const char *pin_dir)
{
	const char *what = next_word(a), *word, *prefix = NULL;
	char default_prefix[16];
	unsigned long count = 0;

	if (!what || strcmp(what, "attach"))
		return usage_fail(a, "%s", "expected 'attach' after bench");
	a->what = "bench attach";
	while ((word = next_word(a))) {
		if (is_flag(word, "--dev-prefix")) {
			if (flag_value(a, word, &prefix))
				return -1;
			if (bench_check_prefix(prefix, a->err))
				return bad_usage(a);
		} else if (word[0] == '-' || count) {
			return usage_fail(a, "unknown argument '%s'", word);
		} else if (parse_count(word, a->what, BENCH_MAX_SANDBOXES,
				       &count, a->err)) {
			return bad_usage(a);
		}
	}
	if (!count)
		return usage_fail(a, "%s", "expected N, the number of "
				  "sandboxes");
	if (!prefix) {
		/* Unique per process; bench refuses it if taken anyway. */
		snprintf(default_prefix, sizeof(default_prefix), "snb%04x",
			 (unsigned int)getpid() & 0xffff);
		prefix = default_prefix;
	}
	return bench_attach(pin_dir, (unsigned int)count, prefix, a->err);
}

int cli_run(int argc, char **argv)
{
	__u64 started_ns = monotonic_ns();
	struct sharenat_error err = { { 0 } };
	struct args a = { argc - 1, argv + 1, "sharenat", &err, false };
	const char *pin_dir = getenv("SHARENAT_PIN_DIR");
	const char *verb, *object = "";
	int rc;

	verb = next_word(&a);
	if (verb && is_flag(verb, "--pin-dir")) {
		if (flag_value(&a, verb, &pin_dir))
			goto out;
		verb = next_word(&a);
	}
	if (!pin_dir || !*pin_dir)
		pin_dir = SHARENAT_DEFAULT_PIN_DIR;
	if (!verb) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(verb, "help") || !strcmp(verb, "--help") ||
	    !strcmp(verb, "-h")) {
		fputs(usage_text, stdout);
		return EXIT_DONE;
	}
	a.what = verb;
	if (!strcmp(verb, "attach") || !strcmp(verb, "detach")) {
		rc = run_write(&a, pin_dir, verb, "", started_ns);
	} else if (!strcmp(verb, "function") || !strcmp(verb, "sandbox") ||
		   !strcmp(verb, "sg") || !strcmp(verb, "device")) {
		static char what[32];

		object = next_word(&a);
		if (!object || (strcmp(object, "add") && strcmp(object, "del"))) {
			usage_fail(&a, "expected 'add' or 'del' after %s",
				   verb);
			goto out;
		}
		snprintf(what, sizeof(what), "%s %s", verb, object);
		a.what = what;
		rc = run_write(&a, pin_dir, verb, object, started_ns);
	} else if (!strcmp(verb, "flows") || !strcmp(verb, "stats") ||
		   !strcmp(verb, "status")) {
		rc = run_read(&a, pin_dir, verb);
	} else if (!strcmp(verb, "apply")) {
		rc = run_apply(&a, pin_dir);
	} else if (!strcmp(verb, "bench")) {
		rc = run_bench(&a, pin_dir);
	} else {
		a.what = "sharenat";
		usage_fail(&a, "unknown command '%s' (try 'sharenat help')",
			   verb);
		goto out;
	}
	if (!rc)
		return EXIT_DONE;
out:
	fprintf(stderr, "sharenat: %s\n", err.message);
	return a.usage_error ? EXIT_USAGE : EXIT_FAILED;
}

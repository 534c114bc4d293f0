// SPDX-License-Identifier: GPL-2.0
/*
 * make fuzz: the fast-path fuzzer (see fastpath.h for its parts).
 *
 *   FUZZ_CASES=N      frames to generate (default 1000000); a frame XDP
 *                     passes goes on to tc (ingress or egress) as well, as
 *                     on a device
 *   FUZZ_SEED=S       the generator's seed (default 1): the same seed makes
 *                     the same frames, but for the shared ports the
 *                     programs choose at random (bpf_get_prandom_u32) when
 *                     a sandbox's own port is taken
 *   FUZZ_SHOW=N       violations printed per invariant (default 3)
 *   FUZZ_SELFTEST=P   percent of translated frames on which the checker
 *                     tests itself with one bit flipped (default 5)
 *   FUZZ_EPOCH=N      reload and reseed every N frames (default: a
 *                     quarter of the run); every other epoch has a flow
 *                     table of 320 entries, which fills (drop_flow_table_full)
 *
 * Prints frames per second, verdicts, the tally of every invariant and
 * coverage, and closes with "fuzz: N passed, M failed": one pass or
 * failure per invariant (an invariant never exercised fails), which
 * tools/run-tests.sh adds to its total. Exit status 0 only when nothing
 * failed. Runs as root, in a network namespace of its own.
 *
 * The run is one Check test (no fork), so the unit tests' fixture, whose
 * helpers fail a test with a message, can be used as it is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastpath.h"

uint64_t fz_seed = 1;
static unsigned long cases = 1000000, epoch;
static unsigned long state_every = 50000, refresh_every = 1000;
static unsigned long selftest_percent = 5;
static unsigned long total_runs, chained_runs;
static double elapsed;

static struct fz_case the_case, chained, corrupted;
static unsigned long selftest_runs, selftest_caught;

/*
 * The checker's own test: now and then, a redirected run's output with one
 * bit flipped must fail some invariant (a NAT that wrote that byte would
 * be wrong). Quiet, and the tallies are put back afterwards.
 */
static void selftest(struct rng *r, const struct fz_case *c)
{
	static struct tally saved[INV_MAX];
	static struct outcome_stats saved_stats;
	unsigned long show = fz_show_violations, before = 0, after = 0;
	unsigned int i;
	size_t at;

	if (!c->out_len)
		return;
	memcpy(saved, tallies, sizeof(saved));
	saved_stats = fz_stats;
	memcpy(&corrupted, c, sizeof(corrupted));
	at = rng_below(r, (uint32_t)c->out_len);
	corrupted.out[at] ^= (uint8_t)(1u << rng_below(r, 8));
	for (i = 0; i < INV_MAX; i++)
		before += tallies[i].violated;
	fz_show_violations = 0;
	check_case(&corrupted);
	fz_show_violations = show;
	for (i = 0; i < INV_MAX; i++)
		after += tallies[i].violated;
	selftest_runs++;
	if (after > before)
		selftest_caught++;
	else if (selftest_runs - selftest_caught <= 3)
		fprintf(stderr, "fuzz: self-test: flipping a bit of output byte "
			"%zu (%s) of case %lu went unnoticed\n", at,
			frame_field_name(c->out, c->out_len, at), c->index);
	memcpy(tallies, saved, sizeof(saved));
	fz_stats = saved_stats;
}

static bool redirected(const struct fz_case *c)
{
	return !c->err && (hook_is_xdp(c->hook) ? c->verdict == XDP_REDIRECT :
			   c->verdict == TC_ACT_REDIRECT);
}

static unsigned long env_ul(const char *name, unsigned long fallback)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return fallback;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end) {
		fprintf(stderr, "fuzz: %s=%s is not a number\n", name, v);
		exit(2);
	}
	return n;
}

void run_case(struct fz_case *c)
{
	struct __sk_buff skb_ctx;
	struct xdp_md xdp_ctx;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = c->in,
		.data_size_in = (__u32)c->in_len,
		.data_out = c->out,
		.data_size_out = sizeof(c->out),
		.repeat = 1,
		.flags = c->flags,
	);

	if (hook_is_xdp(c->hook)) {
		memset(&xdp_ctx, 0, sizeof(xdp_ctx));
		xdp_ctx.ingress_ifindex = c->ifindex;
		xdp_ctx.data_end = (__u32)c->in_len;
		opts.ctx_in = &xdp_ctx;
		opts.ctx_size_in = sizeof(xdp_ctx);
	} else {
		memset(&skb_ctx, 0, sizeof(skb_ctx));
		skb_ctx.ifindex = c->ifindex;
		opts.ctx_in = &skb_ctx;
		opts.ctx_size_in = sizeof(skb_ctx);
	}
	c->err = bpf_prog_test_run_opts(bpf_program__fd(program_of(c->hook)),
					&opts);
	c->verdict = (int)opts.retval;
	c->out_len = c->err ? 0 : opts.data_size_out;
	probe_read(&c->after);
	total_runs++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fuzz(void)
{
	struct probe_snapshot prev;
	struct rng rng = { fz_seed }, self = { fz_seed ^ 0x5e1f7e57 };
	unsigned long i;
	double start;

	world_load(0);
	world_seed();
	probe_read(&prev);
	start = now();
	for (i = 0; i < cases; i++) {
		if (i && epoch && i % epoch == 0) {
			world_state_check();
			world_unload();
			world_load((unsigned int)(i / epoch));
			gen_reset();
			world_seed();
			probe_read(&prev);
		} else if (i && state_every && i % state_every == 0) {
			world_state_check();
		}
		if (i % refresh_every == 0) {
			world_refresh_flows();
			world_refresh_neighbours();
		}
		gen_case(&rng, &the_case);
		the_case.index = i;
		the_case.before = prev;
		run_case(&the_case);
		check_case(&the_case);
		prev = the_case.after;
		if (redirected(&the_case) &&
		    rng_chance(&self, (unsigned int)selftest_percent))
			selftest(&self, &the_case);
		/* On a device, what XDP passes meets tc next. */
		if (!the_case.err && hook_is_xdp(the_case.hook) &&
		    the_case.verdict == XDP_PASS) {
			chained.index = i;
			chained.template = "after XDP_PASS";
			chained.hook = the_case.hook == XDP_EGRESS ? EGRESS :
								     INGRESS;
			chained.ifindex = the_case.ifindex;
			chained.flags = 0;
			memcpy(chained.in, the_case.in, the_case.in_len);
			chained.in_len = the_case.in_len;
			chained.before = prev;
			run_case(&chained);
			check_case(&chained);
			prev = chained.after;
			chained_runs++;
		}
	}
	elapsed = now() - start;
	world_state_check();
	world_unload();
}

START_TEST(test_fuzz)
{
	fuzz();
}
END_TEST

static const char *verdicts_of(enum hook hook, char *buf, size_t len)
{
	size_t n = 0;
	int v;

	buf[0] = '\0';
	for (v = 0; v < 8; v++) {
		if (!fz_stats.verdicts[hook][v])
			continue;
		n += (size_t)snprintf(buf + n, len - n, " %s %lu",
				      verdict_name(hook, v),
				      fz_stats.verdicts[hook][v]);
		if (n >= len)
			break;
	}
	return buf;
}

static void report(void)
{
	static const enum hook hooks[] = { EGRESS, INGRESS, XDP_INGRESS,
					   XDP_EGRESS };
	static const char *const names[FZ_HOOKS] = {
		[EGRESS] = "tc egress", [INGRESS] = "tc ingress",
		[XDP_INGRESS] = "XDP ingress", [XDP_EGRESS] = "XDP egress",
	};
	char buf[256];
	unsigned int i, moved = 0;

	printf("fuzz: FUZZ_SEED=%llu: %lu cases (%lu runs, %lu of them tc "
	       "after XDP_PASS) in %.2f s: %.0f cases/s, %.0f runs/s\n",
	       (unsigned long long)fz_seed, cases, total_runs, chained_runs,
	       elapsed, elapsed > 0 ? (double)cases / elapsed : 0,
	       elapsed > 0 ? (double)total_runs / elapsed : 0);
	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		printf("  %-12s %8lu runs, %lu refused by the kernel (EINVAL);"
		       "%s\n", names[hooks[i]], fz_stats.runs[hooks[i]],
		       fz_stats.refused[hooks[i]],
		       verdicts_of(hooks[i], buf, sizeof(buf)));
	printf("  %-22s %10s %9s %8s\n", "invariant", "checked", "violated",
	       "exempt");
	for (i = 0; i < INV_MAX; i++)
		printf("  %-22s %10lu %9lu %8lu  %s\n", tallies[i].name,
		       tallies[i].checked, tallies[i].violated,
		       tallies[i].exempt, tallies[i].what);
	printf("  counters that moved (runs):");
	for (i = 0; i < COUNTER_MAX; i++) {
		if (!fz_stats.counter_moved[i])
			continue;
		moved++;
		printf(" %s %lu", sharenat_counter_name(i),
		       fz_stats.counter_moved[i]);
	}
	printf("\n  never moved (%u of %u):", COUNTER_MAX - moved, COUNTER_MAX);
	for (i = 0; i < COUNTER_MAX; i++)
		if (!fz_stats.counter_moved[i])
			printf(" %s", sharenat_counter_name(i));
	printf("\n  ICMP (type, code) pairs sent: %u of 65536; TCP flag bytes: "
	       "%u of 256\n", gen_icmp_pairs_covered(),
	       gen_tcp_flags_covered());
	printf("  translated although bad on arrival (and left bad): IPv4 "
	       "header checksum %lu, L4 checksum %lu\n",
	       fz_stats.bad_ip_checksum_in, fz_stats.bad_l4_checksum_in);
	printf("  checker self-test: %lu of %lu translated frames with one bit "
	       "flipped failed an invariant\n", selftest_caught,
	       selftest_runs);
}

int main(void)
{
	unsigned int passed = 0, failed = 0, i;
	SRunner *runner;
	TCase *tcase;
	Suite *suite;

	setvbuf(stdout, NULL, _IOLBF, 0);
	cases = env_ul("FUZZ_CASES", cases);
	fz_seed = env_ul("FUZZ_SEED", fz_seed);
	fz_show_violations = env_ul("FUZZ_SHOW", fz_show_violations);
	selftest_percent = env_ul("FUZZ_SELFTEST", selftest_percent);
	/* Four epochs by default: two with a full-size flow table, two
	 * with one that fills. */
	epoch = env_ul("FUZZ_EPOCH", cases / 4 > 1000 ? cases / 4 : 1000);
	if (state_every > cases / 2 + 1)
		state_every = cases / 2 + 1;

	if (world_netns()) {
		printf("fuzz: 0 passed, 1 failed\n");
		return 1;
	}
	suite = suite_create("fuzz");
	tcase = tcase_create("fastpath");
	tcase_add_test(tcase, test_fuzz);
	suite_add_tcase(suite, tcase);
	runner = srunner_create(suite);
	srunner_set_fork_status(runner, CK_NOFORK);
	srunner_run_all(runner, CK_SILENT);
	if (srunner_ntests_failed(runner)) {
		TestResult **results = srunner_failures(runner);

		fprintf(stderr, "fuzz: the run stopped: %s (%s:%d)\n",
			tr_msg(results[0]), tr_lfile(results[0]),
			tr_lno(results[0]));
		free(results);
		failed++;
	}
	srunner_free(runner);

	report();
	for (i = 0; i < INV_MAX; i++) {
		if (tallies[i].violated || !tallies[i].checked)
			failed++;
		else
			passed++;
		if (!tallies[i].checked)
			printf("  %s was never exercised: that counts as a "
			       "failure\n", tallies[i].name);
	}
	printf("fuzz: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

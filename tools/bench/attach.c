// SPDX-License-Identifier: GPL-2.0
/*
 * attach-parts: what a sandbox add is made of, each part timed alone on
 * devices PREFIX0..PREFIX(N-1) that must exist (veths; run.sh makes them in
 * a namespace of its own): the device queries sharenat makes (ifindex, MAC,
 * driver), the map operations (three lookups, two writes, as
 * user/sandbox.c does them, on a hash map of the same entry size), and the
 * tc attach (clsact qdisc + filter over netlink). The queries and the tc
 * attach are the library's own functions, on a state that holds only the
 * netlink socket they share. The filters go away with the devices.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "error.h"
#include "netdev.h"
#include "sharenat.h"
#include "state.h"
#include "tc.h"
#include "bench.skel.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *ns, int n)
{
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	printf("%s_p50_us=%.1f %s_p99_us=%.1f ", name, ns[n / 2] / 1e3, name,
	       ns[(n * 99 + 99) / 100 - 1] / 1e3);
}

/* attach-parts --dev-prefix P --count N */
int cmd_attach_parts(int argc, char **argv)
{
	const char *prefix = opt_str(argc, argv, "--dev-prefix", NULL);
	int n = (int)opt_num(argc, argv, "--count", 100), i;
	uint64_t *query = calloc((size_t)n, 8), *maps = calloc((size_t)n, 8);
	uint64_t *tc = calloc((size_t)n, 8);
	struct sharenat sn = { .netlink_fd = -1 };
	struct sharenat_error err = { 0 };
	struct bench_bpf *skel;
	int by_addr, by_id;

	if (!prefix || n < 1 || n > 10000 || !query || !maps || !tc)
		die("attach-parts --dev-prefix P --count 1..10000");
	skel = bench_bpf__open_and_load();
	if (!skel)
		die("loading the bench programs: %s", strerror(errno));
	by_addr = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_sbx", sizeof(__be32),
				 sizeof(struct sandbox), SHARENAT_MAX_SANDBOXES,
				 NULL);
	by_id = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_ids",
			       sizeof(struct name_key), sizeof(__be32),
			       SHARENAT_MAX_SANDBOXES, NULL);
	if (by_addr < 0 || by_id < 0)
		die("creating the maps: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		struct name_key id = { 0 };
		struct sandbox sbx = { 0 }, old;
		__be32 addr = htonl(0x64400000u + (uint32_t)i + 1), got;
		char dev[IF_NAMESIZE], driver[32];
		uint64_t t0, t1, t2, t3;
		int ifindex;

		snprintf(dev, sizeof(dev), "%s%d", prefix, i);
		snprintf(id.name, sizeof(id.name), "s%d", i);
		t0 = now_ns();
		ifindex = netdev_ifindex(&sn, dev, "attach-parts", &err);
		if (ifindex < 0 ||
		    netdev_mac(&sn, dev, sbx.host_mac, "attach-parts", &err) ||
		    netdev_driver(&sn, dev, driver, sizeof(driver),
				  "attach-parts", &err))
			die("%s", err.message);
		t1 = now_ns();
		bpf_map_lookup_elem(by_id, &id, &got);
		bpf_map_lookup_elem(by_addr, &addr, &old);
		bpf_map_lookup_elem(by_addr, &addr, &old);
		sbx.addr = addr;
		if (bpf_map_update_elem(by_addr, &addr, &sbx, BPF_NOEXIST) ||
		    bpf_map_update_elem(by_id, &id, &addr, BPF_NOEXIST))
			die("map writes: %s", strerror(errno));
		t2 = now_ns();
		if (tc_attach(&sn, ifindex,
			      bpf_program__fd(skel->progs.floor_tc),
			      "attach-parts", &err))
			die("%s", err.message);
		t3 = now_ns();
		query[i] = t1 - t0;
		maps[i] = t2 - t1;
		tc[i] = t3 - t2;
	}
	report("part_queries", query, n);
	report("part_maps", maps, n);
	report("part_tc", tc, n);
	printf("part_count=%d\n", n);
	close(by_addr);
	close(by_id);
	if (sn.netlink_fd >= 0)
		close(sn.netlink_fd);
	bench_bpf__destroy(skel);
	free(query);
	free(maps);
	free(tc);
	return 0;
}

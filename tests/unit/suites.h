/* SPDX-License-Identifier: GPL-2.0 */
/* Every Check suite of the unit tests; main.c runs them all. */
#ifndef SHARENAT_TEST_SUITES_H
#define SHARENAT_TEST_SUITES_H

#include <check.h>

/* user/parse.c: the CLI's parsers. */
Suite *parse_suite(void);
/* packet.c: the frame builder and checksum verifier the BPF tests trust. */
Suite *packet_suite(void);
/* bpf/: the tc programs on crafted frames through BPF_PROG_TEST_RUN. */
Suite *bpf_suite(void);
/* bpf/: mappings, port parity and flow expiry. */
Suite *nat_state_suite(void);
/* bpf/: security groups, port quotas and per-function counters. */
Suite *nat_policy_suite(void);
/* bpf/fragment.h: later fragments, held ones and their release. */
Suite *fragments_suite(void);
/* user/apply.c: the parser of `sharenat apply` files; latency buckets. */
Suite *apply_suite(void);
/* user/map_iter.c: map walks, in batches and one key at a time. */
Suite *map_iter_suite(void);

#endif /* SHARENAT_TEST_SUITES_H */

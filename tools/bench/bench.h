/* SPDX-License-Identifier: GPL-2.0 */
/* What the parts of sharenat-bench (tools/bench/) share. */
#ifndef SHARENAT_BENCH_H
#define SHARENAT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#define FRAME_LEN 60		/* 64 on the wire with the FCS */
#define HDR_LEN 42		/* Ethernet + IPv4 + UDP */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Print "sharenat-bench: <what>" and exit 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
uint64_t now_ns(void);
void sleep_ns(uint64_t ns);
/* Pin the calling thread to one CPU (best effort). */
void pin_cpu(int cpu);

/* Arguments: "--name value" pairs after the subcommand. */
const char *opt_str(int argc, char **argv, const char *name,
		    const char *fallback);
double opt_num(int argc, char **argv, const char *name, double fallback);
__be32 parse_addr(const char *text);
void mac_arg(const char *text, uint8_t mac[6]);
void dev_mac(const char *dev, uint8_t mac[6]);

/* A 60-byte IPv4 UDP frame with complete checksums; returns FRAME_LEN. */
size_t build_udp(uint8_t *buf, const uint8_t dst_mac[6],
		 const uint8_t src_mac[6], __be32 saddr, __be32 daddr,
		 uint16_t sport, uint16_t dport, uint8_t ttl);
/* Ones' complement sum of len bytes (not folded). */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
uint16_t csum_fold(uint32_t sum);

/* Busy and total jiffies per CPU from /proc/stat; returns the CPU count. */
#define MAX_CPUS 64
struct cpu_times {
	int cpus;
	unsigned long long busy[MAX_CPUS], total[MAX_CPUS];
};
void read_cpu_times(struct cpu_times *t);

int cmd_prog(int argc, char **argv);
int cmd_table(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_rx(int argc, char **argv);
int cmd_crr(int argc, char **argv);
int cmd_fwd(int argc, char **argv);
int cmd_attach_parts(int argc, char **argv);

#endif

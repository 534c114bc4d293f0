// SPDX-License-Identifier: GPL-2.0
/*
 * sharenat-bench: the C side of `make bench` (tools/bench/run.sh drives it).
 * Each subcommand measures one thing and prints key=value lines:
 *
 *   prog    ns/packet through BPF_PROG_TEST_RUN, sharenat beside the floor
 *   table   insert rate, lookup cost and memory with 1M flows
 *   gen     UDP load generator (BPF_F_TEST_XDP_LIVE_FRAMES, XDP_TX)
 *   rx      receiver: counts at XDP, reports packets/s and CPU per packet
 *   crr     connect+close server and client, connections/s and their CPU
 *   fwd     attach the forwarding floor (tc redirect, no NAT) to a device
 *   attach-parts  the parts of a sandbox add (device queries, maps, tc),
 *           each timed alone
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bench.h"
#include "parse.h"

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sharenat-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull),
			       (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

const char *opt_str(int argc, char **argv, const char *name,
		    const char *fallback)
{
	int i;

	for (i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return fallback;
}

double opt_num(int argc, char **argv, const char *name, double fallback)
{
	const char *text = opt_str(argc, argv, name, NULL);
	char *end;
	double v;

	if (!text)
		return fallback;
	v = strtod(text, &end);
	if (*end)
		die("%s: not a number: %s", name, text);
	return v;
}

__be32 parse_addr(const char *text)
{
	struct in_addr a;

	if (!text || inet_pton(AF_INET, text, &a) != 1)
		die("not an IPv4 address: %s", text ? text : "(none)");
	return a.s_addr;
}

void mac_arg(const char *text, uint8_t mac[6])
{
	struct sharenat_error err;

	if (!text || parse_mac(text, "sharenat-bench", mac, &err))
		die("not a MAC address: %s", text ? text : "(none)");
}

void dev_mac(const char *dev, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		die("MAC of %s: %s", dev, strerror(errno));
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t build_udp(uint8_t *buf, const uint8_t dst_mac[6],
		 const uint8_t src_mac[6], __be32 saddr, __be32 daddr,
		 uint16_t sport, uint16_t dport, uint8_t ttl)
{
	uint8_t *ip = buf + 14, *udp = buf + 34;
	uint16_t udp_len = FRAME_LEN - 34, ip_len = FRAME_LEN - 14, c;
	uint8_t pseudo[12];
	uint32_t sum;

	memset(buf, 0, FRAME_LEN);
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	buf[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[6] = 0x40;	/* DF, as Linux sends a datagram that fits the path */
	ip[8] = ttl;
	ip[9] = 17;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	c = csum_fold(csum_add(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	memcpy(pseudo, &saddr, 4);
	memcpy(pseudo + 4, &daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = 17;
	pseudo[10] = (uint8_t)(udp_len >> 8);
	pseudo[11] = (uint8_t)udp_len;
	sum = csum_add(csum_add(0, pseudo, 12), udp, udp_len);
	c = csum_fold(sum);
	if (!c)
		c = 0xffff;
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
	return FRAME_LEN;
}

void read_cpu_times(struct cpu_times *t)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];

	memset(t, 0, sizeof(*t));
	if (!f)
		die("/proc/stat: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[10] = { 0 }, total = 0;
		int cpu, i;

		if (strncmp(line, "cpu", 3) || line[3] == ' ')
			continue;
		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu "
			   "%llu", &cpu, &v[0], &v[1], &v[2], &v[3], &v[4],
			   &v[5], &v[6], &v[7]) < 9 || cpu >= MAX_CPUS)
			continue;
		for (i = 0; i < 8; i++)
			total += v[i];
		t->total[cpu] = total;
		t->busy[cpu] = total - v[3] - v[4];	/* less idle, iowait */
		if (cpu + 1 > t->cpus)
			t->cpus = cpu + 1;
	}
	fclose(f);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "prog", cmd_prog },
	{ "table", cmd_table },
	{ "gen", cmd_gen },
	{ "rx", cmd_rx },
	{ "crr", cmd_crr },
	{ "fwd", cmd_fwd },
	{ "attach-parts", cmd_attach_parts },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: sharenat-bench prog|table|gen|rx|crr|fwd|"
			"attach-parts"
			" [--option value ...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 2, argv + 2);
	fprintf(stderr, "sharenat-bench: unknown command %s\n", argv[1]);
	return 2;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Packet-rate test: `gen` transmits 60-byte UDP frames from a sandbox's
 * eth0 (BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: gen_xdp runs on
 * each frame and returns XDP_TX, so the frame really leaves through the
 * device; the veth's other end must run NAPI, i.e. have GRO on), with the
 * source port cycling through --flows flows. `rx`, on the receiving device,
 * attaches count_xdp, waits for the first packet, lets the rate settle,
 * then counts over a window: packets/s at the receiver, and the CPU the
 * whole machine spent per packet in that window (/proc/stat).
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "bench.skel.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level > LIBBPF_WARN && !getenv("LIBBPF_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int ifindex_of(const char *dev)
{
	int ifindex = (int)if_nametoindex(dev);

	if (!ifindex)
		die("no device %s here: %s", dev, strerror(errno));
	return ifindex;
}

/* fwd --dev S --to E --dst-mac M: attach fwd_tc at tc ingress of S, which
 * sends everything to E with E's MAC as source and M as destination. The
 * filter stays after this process ends; deleting S removes it. */
int cmd_fwd(int argc, char **argv)
{
	const char *dev = opt_str(argc, argv, "--dev", NULL);
	const char *to = opt_str(argc, argv, "--to", NULL);
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);
	struct bench_bpf *skel;
	int err;

	if (!dev || !to)
		die("fwd --dev DEV --to DEV --dst-mac MAC");
	libbpf_set_print(quiet);
	skel = bench_bpf__open();
	if (!skel)
		die("opening the forwarder: %s", strerror(errno));
	*(__u32 *)&skel->rodata->fwd_ifindex = (__u32)ifindex_of(to);
	dev_mac(to, (uint8_t *)skel->rodata->fwd_src);
	mac_arg(opt_str(argc, argv, "--dst-mac", NULL),
		  (uint8_t *)skel->rodata->fwd_dst);
	if (bench_bpf__load(skel))
		die("loading the forwarder: %s", strerror(errno));
	hook.ifindex = ifindex_of(dev);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		die("clsact on %s: %s", dev, strerror(-err));
	opts.prog_fd = bpf_program__fd(skel->progs.fwd_tc);
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		die("attaching the forwarder to %s: %s", dev, strerror(-err));
	bench_bpf__destroy(skel);
	return 0;
}

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

/* gen --dev eth0 --dst-mac MAC --src ADDR --dst ADDR --port P
 *     [--sport-base 10000] [--flows 1024] [--seconds 3] [--max 50000000] */
int cmd_gen(int argc, char **argv)
{
	const char *dev = opt_str(argc, argv, "--dev", "eth0");
	double seconds = opt_num(argc, argv, "--seconds", 3);
	double max = opt_num(argc, argv, "--max", 50e6);

	if (max < 1 || max > 2e9)
		die("--max must be 1..2e9 frames");
	__u32 flows = (__u32)opt_num(argc, argv, "--flows", 1024);
	__u32 sport_base = (__u32)opt_num(argc, argv, "--sport-base", 10000);
	uint16_t dport = (uint16_t)opt_num(argc, argv, "--port", 9);
	__be32 saddr = parse_addr(opt_str(argc, argv, "--src", NULL));
	__be32 daddr = parse_addr(opt_str(argc, argv, "--dst", NULL));
	uint8_t frame[FRAME_LEN], src_mac[6], dst_mac[6];
	struct xdp_md ctx = { 0 };
	struct bench_bpf *skel;
	uint64_t start;
	uint32_t sum;
	int fd, cpu = (int)opt_num(argc, argv, "--cpu", -1);

	if (sport_base + flows > 65536 || !flows)
		die("--sport-base + --flows must stay within 1..65535");
	if (cpu >= 0)
		pin_cpu(cpu);
	mac_arg(opt_str(argc, argv, "--dst-mac", NULL), dst_mac);
	dev_mac(dev, src_mac);
	libbpf_set_print(quiet);
	skel = bench_bpf__open_and_load();
	if (!skel)
		die("loading the generator: %s", strerror(errno));

	/* Source port 0 and UDP checksum 0 in the template; the program adds
	 * the port to the sum and writes both. */
	build_udp(frame, dst_mac, src_mac, saddr, daddr, 0, dport, 64);
	frame[40] = frame[41] = 0;
	memcpy(skel->bss->gen_hdr, frame, HDR_LEN);
	{
		uint8_t pseudo[12] = { 0 };
		uint16_t udp_len = FRAME_LEN - 34;

		memcpy(pseudo, &saddr, 4);
		memcpy(pseudo + 4, &daddr, 4);
		pseudo[9] = 17;
		pseudo[10] = (uint8_t)(udp_len >> 8);
		pseudo[11] = (uint8_t)udp_len;
		sum = csum_add(csum_add(0, pseudo, 12), frame + 34, udp_len);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
	}
	skel->bss->gen_csum_base = sum;
	skel->bss->gen_port_base = sport_base;
	skel->bss->gen_flows = flows;

	ctx.data_end = FRAME_LEN;
	ctx.ingress_ifindex = (__u32)ifindex_of(dev);
	fd = bpf_program__fd(skel->progs.gen_xdp);
	/* One call: each call with .repeat > 1 swaps the XDP dispatcher in
	 * and out (tens of ms asleep here), so chunks would leave gaps. The
	 * call ends after --max frames or at the alarm (EINTR). */
	{
		struct sigaction sa = { .sa_handler = on_alarm };
		LIBBPF_OPTS(bpf_test_run_opts, opts);
		struct itimerval it = { 0 };

		sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
		it.it_value.tv_sec = (time_t)seconds;
		it.it_value.tv_usec = (suseconds_t)((seconds - (time_t)seconds) * 1e6);
		opts.data_in = frame;
		opts.data_size_in = FRAME_LEN;
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
		opts.repeat = (int)max;
		opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
		start = now_ns();
		setitimer(ITIMER_REAL, &it, NULL);
		if (bpf_prog_test_run_opts(fd, &opts) && errno != EINTR)
			die("BPF_PROG_TEST_RUN with live frames on %s: %s", dev,
			    strerror(errno));
		printf("gen_seconds=%.2f gen_stopped_by=%s\n",
		       (now_ns() - start) / 1e9,
		       alarmed ? "time" : "count");
	}
	bench_bpf__destroy(skel);
	return 0;
}

static void read_rx(struct bench_bpf *skel, __u64 out[2])
{
	int cpus = libbpf_num_possible_cpus(), i;
	__u64 values[MAX_CPUS];
	__u32 key;

	for (key = 0; key < 2; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.rx_counts), &key,
					values))
			die("reading the receiver's counter");
		for (i = 0; i < cpus && i < MAX_CPUS; i++)
			out[key] += values[i];
	}
}

/* utime + stime of a task, clock ticks; 0 when it is gone. */
static unsigned long long task_ticks(int pid)
{
	unsigned long long utime = 0, stime = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');	/* the name may hold spaces */
	for (i = 0; p && i < 12; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu %llu", &utime, &stime);
	return utime + stime;
}

static int ksoftirqd_of(int cpu)
{
	char want[32], path[300], name[64];
	struct dirent *d;
	DIR *dir = opendir("/proc");
	int pid = 0;

	snprintf(want, sizeof(want), "ksoftirqd/%d\n", cpu);
	while (dir && (d = readdir(dir)) && !pid) {
		FILE *f;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f) && !strcmp(name, want))
			pid = atoi(d->d_name);
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return pid;
}

static int read_pid_file(const char *path)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	int pid = 0;

	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

/* rx --dev srv --port P [--src ADDR] [--wait 5] [--warmup 0.5] [--seconds 1]
 *    [--windows 3]
 *    [--pid-file FILE --cpu N]
 * Prints rx_pps (all datagrams to the port, the best window's rate; the
 * machine may be shared), rx_translated_share (the share
 * whose source is --src), each CPU's busy share and, with --pid-file, the
 * CPU per packet of the whole path: the CPU time of the generator (whose
 * system calls run the forwarding and the receiver too, in softirq on its
 * CPU) and of ksoftirqd/N (where softirq work goes when it runs long). */
int cmd_rx(int argc, char **argv)
{
	const char *dev = opt_str(argc, argv, "--dev", "srv");
	const char *src = opt_str(argc, argv, "--src", NULL);
	double wait = opt_num(argc, argv, "--wait", 5);
	double warmup = opt_num(argc, argv, "--warmup", 0.5);
	double seconds = opt_num(argc, argv, "--seconds", 1);
	int windows = (int)opt_num(argc, argv, "--windows", 3), w;
	const char *pid_file = opt_str(argc, argv, "--pid-file", NULL);
	int cpu = (int)opt_num(argc, argv, "--cpu", 0), gen_pid = 0, ksoft;
	unsigned long long task0 = 0, task1 = 0, start_task;
	__u64 start_pkts, start_from, start_t;
	double best = 0, best_share = 0;
	struct cpu_times c0, c1, start_cpu;
	struct bench_bpf *skel;
	__u64 n0[2], n1[2] = { 0, 0 }, t0, t1 = 0, deadline;
	unsigned long long busy = 0;
	int ifindex = ifindex_of(dev), err, i;
	double secs, pkts;

	if (windows < 1 || windows > 20 || seconds <= 0 || seconds > 60)
		die("rx: --windows 1..20, --seconds up to 60");
	libbpf_set_print(quiet);
	skel = bench_bpf__open();
	if (!skel)
		die("opening the receiver: %s", strerror(errno));
	*(__be16 *)&skel->rodata->count_port =
		htons((uint16_t)opt_num(argc, argv, "--port", 9));
	*(__be32 *)&skel->rodata->count_src = src ? parse_addr(src) : 0;
	if (bench_bpf__load(skel))
		die("loading the receiver: %s", strerror(errno));
	err = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.count_xdp),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		die("attaching the counter to %s: %s", dev, strerror(-err));
	printf("rx_ready=1\n");
	fflush(stdout);

	deadline = now_ns() + (uint64_t)(wait * 1e9);
	do {
		sleep_ns(10000000);
		read_rx(skel, n0);
	} while (!n0[0] && now_ns() < deadline);
	if (!n0[0]) {
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
		die("no packet reached %s within %.1f s", dev, wait);
	}
	sleep_ns((uint64_t)(warmup * 1e9));
	gen_pid = read_pid_file(pid_file);
	ksoft = ksoftirqd_of(cpu);
	if (pid_file && !gen_pid)
		die("no generator pid in %s", pid_file);
	/* Windows of --seconds each: the machine may be shared, so the best
	 * window is the rate; CPU per packet is over all of them. */
	read_rx(skel, n0);
	read_cpu_times(&c0);
	task0 = gen_pid ? task_ticks(gen_pid) + task_ticks(ksoft) : 0;
	t0 = now_ns();
	start_pkts = n0[0];
	start_from = n0[1];
	start_task = task0;
	start_cpu = c0;
	start_t = t0;
	for (w = 0; w < windows; w++) {
		double rate, share;

		sleep_ns((uint64_t)(seconds * 1e9));
		read_rx(skel, n1);
		task1 = gen_pid ? task_ticks(gen_pid) + task_ticks(ksoft) : 0;
		t1 = now_ns();
		rate = (double)(n1[0] - n0[0]) / ((t1 - t0) / 1e9);
		share = (task1 - task0) / (double)sysconf(_SC_CLK_TCK) /
			((t1 - t0) / 1e9);
		printf("rx_window%d_pps=%.0f rx_window%d_cpu_share=%.2f\n", w,
		       rate, w, share);
		if (rate > best) {
			best = rate;
			best_share = share;
		}
		memcpy(n0, n1, sizeof(n0));
		task0 = task1;
		t0 = t1;
	}
	read_cpu_times(&c1);
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);

	secs = (t1 - start_t) / 1e9;
	pkts = (double)(n1[0] - start_pkts);
	for (i = 0; i < c1.cpus; i++)
		busy += c1.busy[i] - start_cpu.busy[i];
	printf("rx_pps=%.0f rx_pps_mean=%.0f rx_translated_share=%.3f "
	       "rx_packets=%.0f rx_seconds=%.3f path_cpu_share=%.2f "
	       "path_cpu_ns=%.0f system_cpu_ns=%.0f", best, pkts / secs,
	       pkts ? (double)(n1[1] - start_from) / pkts : 0, pkts, secs,
	       best_share,
	       pkts ? (task1 - start_task) * (1e9 / sysconf(_SC_CLK_TCK)) / pkts
		    : 0,
	       pkts ? busy * (1e9 / sysconf(_SC_CLK_TCK)) / pkts : 0);
	for (i = 0; i < c1.cpus; i++)
		printf(" cpu%d_busy=%.2f", i,
		       (double)(c1.busy[i] - start_cpu.busy[i]) /
		       (double)(c1.total[i] - start_cpu.total[i] ?: 1));
	printf("\n");
	bench_bpf__destroy(skel);
	return 0;
}

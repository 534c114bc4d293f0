// SPDX-License-Identifier: GPL-2.0
/*
 * New connections per second: `crr server` accepts and closes; `crr client`
 * keeps --conns non-blocking connects in flight and, as each completes,
 * closes it with SO_LINGER 0 (an RST: no TIME_WAIT on either side, so the
 * client's ports are not the limit) and opens the next. Each connection is
 * SYN, SYN-ACK, ACK, RST through the NAT: the first packet makes the flow.
 * Both stop by themselves after --seconds; each prints its own CPU time
 * (user + system, which here includes the softirq work that ran in its
 * context) as a share of one CPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench.h"

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int server(__be32 addr, uint16_t port, double seconds)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr,
				  .sin_port = htons(port) };
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t deadline = now_ns() + (uint64_t)(seconds * 1e9);
	uint64_t first = 0, last = 0;
	unsigned long long accepted = 0;
	double cpu_first = 0;
	int one = 1, fd, ep;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096))
		die("crr server on port %u: %s", port, strerror(errno));
	ep = epoll_create1(0);
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	printf("crr_server_ready=1\n");
	fflush(stdout);
	while (now_ns() < deadline) {
		struct epoll_event got;
		int c;

		if (epoll_wait(ep, &got, 1, 100) <= 0)
			continue;
		while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
			close(c);
			if (!accepted++) {
				first = now_ns();
				cpu_first = cpu_seconds();
			}
			last = now_ns();
		}
	}
	/* Its CPU while connections came: first to last accept. */
	printf("crr_server_accepted=%llu crr_server_cpu=%.2f\n", accepted,
	       last > first ? (cpu_seconds() - cpu_first) /
			      ((last - first) / 1e9) : 0);
	return 0;
}

struct conn {
	int fd;
};

static int open_conn(int ep, const struct sockaddr_in *sa)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return fd;
}

static int client(__be32 addr, uint16_t port, double seconds, int conns,
		  double warmup, double max)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = addr,
				  .sin_port = htons(port) };
	struct linger lin = { 1, 0 };
	uint64_t start = now_ns(), measure_from = start + (uint64_t)(warmup * 1e9);
	uint64_t deadline = measure_from + (uint64_t)(seconds * 1e9), t0 = 0;
	unsigned long long done = 0, failed = 0, counted = 0;
	struct cpu_times c0, c1;
	double cpu0 = 0;
	unsigned long long busy = 0, total = 0;
	int ep = epoll_create1(0), i, open_now = 0;

	for (i = 0; i < conns; i++)
		if (open_conn(ep, &sa) >= 0)
			open_now++;
	while (now_ns() < deadline && done + failed < (unsigned long long)max) {
		struct epoll_event got[64];
		int n = epoll_wait(ep, got, 64, 100);

		if (!t0 && now_ns() >= measure_from) {
			t0 = now_ns();
			counted = done;
			cpu0 = cpu_seconds();
			read_cpu_times(&c0);
		}
		for (i = 0; i < n; i++) {
			int fd = got[i].data.fd, err = 0;
			socklen_t len = sizeof(err);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err || !(got[i].events & EPOLLOUT))
				failed++;
			else
				done++;
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
			close(fd);
			open_now--;
			if (open_conn(ep, &sa) >= 0)
				open_now++;
		}
		if (open_now < conns && open_conn(ep, &sa) >= 0)
			open_now++;
	}
	if (!t0)
		die("crr client: ended before the measurement started");
	read_cpu_times(&c1);
	for (i = 0; i < c1.cpus; i++) {
		busy += c1.busy[i] - c0.busy[i];
		total += c1.total[i] - c0.total[i];
	}
	{
		double secs = (now_ns() - t0) / 1e9;

		printf("crr_cps=%.0f crr_connections=%llu crr_failed=%llu "
		       "crr_seconds=%.2f crr_client_cpu=%.2f crr_system_cpu=%.2f "
		       "crr_cpus=%d\n", (done - counted) / secs, done, failed,
		       secs, (cpu_seconds() - cpu0) / secs,
		       total ? (double)busy * c1.cpus / (double)total : 0,
		       c1.cpus);
	}
	return failed > done / 100 ? 1 : 0;
}

/* crr server --addr A --port P --seconds S
 * crr client --addr A --port P --seconds S [--conns 64] [--warmup 0.5]
 *            [--max 5000000] */
int cmd_crr(int argc, char **argv)
{
	const char *role = argc > 0 ? argv[0] : "";
	__be32 addr = parse_addr(opt_str(argc, argv, "--addr", NULL));
	uint16_t port = (uint16_t)opt_num(argc, argv, "--port", 8080);
	double seconds = opt_num(argc, argv, "--seconds", 3);

	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(role, "server"))
		return server(addr, port, seconds);
	if (!strcmp(role, "client"))
		return client(addr, port, seconds,
			      (int)opt_num(argc, argv, "--conns", 64),
			      opt_num(argc, argv, "--warmup", 0.5),
			      opt_num(argc, argv, "--max", 5e6));
	die("crr server|client ...");
}

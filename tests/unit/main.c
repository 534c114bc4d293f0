// SPDX-License-Identifier: GPL-2.0
/*
 * The unit test runner: every suite of suites.h in one Check run. The
 * output ends with Check's own summary line, which tools/run-tests.sh
 * reads, and the exit status says whether anything failed.
 *
 * It runs in a network namespace of its own: a test run's skb comes in on
 * loopback, and what the programs send back in there (fragment release)
 * must reach no network but the tests'.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf_fixture.h"
#include "suites.h"

/* A fresh network namespace with loopback up, MTU TEST_MTU; 0, or -1
 * with the reason printed. */
static int own_network_namespace(void)
{
	struct ifreq lo = { .ifr_name = "lo" };
	int fd, err;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unit-tests: unshare(CLONE_NEWNET): %s (run "
			"as root)\n", strerror(errno));
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		fprintf(stderr, "unit-tests: socket: %s\n", strerror(errno));
		return -1;
	}
	err = ioctl(fd, SIOCGIFFLAGS, &lo);
	lo.ifr_flags |= IFF_UP;
	if (!err)
		err = ioctl(fd, SIOCSIFFLAGS, &lo);
	lo.ifr_mtu = TEST_MTU;
	if (!err)
		err = ioctl(fd, SIOCSIFMTU, &lo);
	if (err)
		fprintf(stderr, "unit-tests: bringing loopback up with MTU "
			"%d: %s\n", TEST_MTU, strerror(errno));
	close(fd);
	return err ? -1 : 0;
}

int main(void)
{
	SRunner *runner;
	int failed;

	if (own_network_namespace())
		return EXIT_FAILURE;
	runner = srunner_create(parse_suite());

	srunner_add_suite(runner, packet_suite());
	srunner_add_suite(runner, bpf_suite());
	srunner_add_suite(runner, nat_state_suite());
	srunner_add_suite(runner, nat_policy_suite());
	srunner_add_suite(runner, fragments_suite());
	srunner_add_suite(runner, apply_suite());
	srunner_add_suite(runner, map_iter_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The unit test runner: every suite of suites.h in one Check run. The
 * output ends with Check's own summary line, which tools/run-tests.sh
 * reads, and the exit status says whether anything failed.
 */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *runner = srunner_create(parse_suite());
	int failed;

	srunner_add_suite(runner, packet_suite());
	srunner_add_suite(runner, bpf_suite());
	srunner_add_suite(runner, nat_state_suite());
	srunner_add_suite(runner, nat_policy_suite());
	srunner_add_suite(runner, apply_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

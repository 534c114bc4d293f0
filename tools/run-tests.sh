#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every test suite and close with one line "tests: N passed, M failed".
# Usage: tools/run-tests.sh BUILD_DIR
set -uo pipefail

build=${1:-build}
passed=0
failed=0

if [ "$(id -u)" -ne 0 ]; then
	echo "tests: need root (BPF programs, network namespaces)" >&2
	echo "tests: 0 passed, 1 failed"
	exit 1
fi

# Check unit tests: userspace logic and the BPF programs on crafted
# packets (BPF_PROG_TEST_RUN). Check closes with
# "NN%: Checks: N, Failures: F, Errors: E".
unit_log=$(mktemp)
"$build/unit-tests" 2>&1 | tee "$unit_log"
summary=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$unit_log" | tail -1)
if [ -z "$summary" ]; then
	echo "tests: the unit tests printed no Check summary" >&2
	failed=$((failed + 1))
else
	checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$summary")
	fails=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/' <<<"$summary")
	fails=$((fails))
	passed=$((passed + checks - fails))
	failed=$((failed + fails))
fi
rm -f "$unit_log"

# netns end-to-end tests with real tools: the single-customer suite, the
# multi-tenant one, then the control plane's. Each closes with "e2e: N
# passed, M failed"; a script that prints no such line counts as one
# failure.
run_e2e() {
	local script=$1 log summary

	log=$(mktemp)
	"$script" "$build/sharenat" 2>&1 | tee "$log"
	summary=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$summary" ]; then
		echo "tests: $script printed no summary" >&2
		failed=$((failed + 1))
	else
		passed=$((passed + $(sed -E 's/e2e: ([0-9]+) passed.*/\1/' <<<"$summary")))
		failed=$((failed + $(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$summary")))
	fi
	rm -f "$log"
}
run_e2e tests/e2e/run.sh
run_e2e tests/e2e/tenants.sh
run_e2e tests/e2e/control_plane.sh
# RFC 4787/5382/5508/6888/7857 behaviour with real peers (docs/conformance.md).
run_e2e tests/e2e/conformance.sh
. tests/fuzz/make-test.sh	# a short fuzz run, ASan+UBSan unit tests

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the unit tests built with ASan+UBSan (make sanitize-unit) and close
# with "sanitize: N passed, M failed".
#
# They run in one process (CK_FORK=no): LeakSanitizer checks at the exit of
# the process it started in, and does not report from Check's forked
# children, so in fork mode a leak would go unseen. Any sanitizer report
# fails the run, as does a test failure; a run that dies before Check's
# summary counts as one failure.
# Usage (as root): tests/fuzz/sanitize-unit.sh PATH_TO_UNIT_TESTS
set -u

log=$(mktemp)
trap 'rm -f "$log"' EXIT
CK_FORK=no \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$1" >"$log" 2>&1
rc=$?
cat "$log"
summary=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -1)
reports=$(grep -cE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$log")
if [ -z "$summary" ]; then
	echo "sanitize: the unit tests stopped (exit $rc) before Check's summary"
	echo "sanitize: 0 passed, 1 failed"
	exit 1
fi
checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$summary")
fails=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/' <<<"$summary")
fails=$((fails))
if [ "$reports" -gt 0 ] || { [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ]; }; then
	echo "sanitize: $reports sanitizer report(s), exit $rc"
	fails=$((fails + 1))
fi
echo "sanitize: $((checks - fails < 0 ? 0 : checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]

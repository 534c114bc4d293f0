#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run each libFuzzer target for SECONDS, starting from its seed corpus in
# tests/fuzz/corpus/NAME (read only: what libFuzzer finds goes to
# DIR/corpus/NAME), and close with "fuzz-parsers: N passed, M failed".
# A crash, a sanitizer report, a leak or a broken promise leaves its input
# in DIR/artifacts/ and the log in DIR/TARGET.log.
# Usage: tests/fuzz/run-parsers.sh DIR SECONDS TARGET...
set -u

dir=$1
seconds=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
passed=0
failed=0

mkdir -p "$dir/artifacts"
for target in "$@"; do
	name=${target#parse_}
	name=${name#config_}
	work=$dir/corpus/$name
	log=$dir/$target.log
	mkdir -p "$work"
	"$dir/$target" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/$target-" \
		"$work" "$here/corpus/$name" >"$log" 2>&1
	rc=$?
	runs=$(awk '/^stat::number_of_executed_units/ { print $2 }' "$log")
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $target: ${runs:-?} inputs in ${seconds}s, ${cov:-cov: ?}, corpus $(find "$work" -type f | wc -l) files"
	else
		failed=$((failed + 1))
		echo "FAIL $target (exit $rc), log $log:"
		grep -E 'ERROR|broken promise|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/  /'
	fi
done
echo "fuzz-parsers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

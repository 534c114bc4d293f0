# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2154  # build, passed, failed: run-tests.sh's
# What tests/fuzz/ adds to `make test`. Sourced by tools/run-tests.sh,
# whose variables it uses: build (the build directory), passed and failed
# (the totals it adds to). Two runs, each closing with a summary line added
# up as run-tests.sh adds the e2e scripts' (a run that prints none counts
# as one failure):
#  - a short fast-path fuzz run (FUZZ_SHORT_CASES, default 20000 frames),
#    "fuzz: N passed, M failed", one per invariant;
#  - the unit tests built with ASan+UBSan (make sanitize-unit, about 40 s
#    with its build), "sanitize: N passed, M failed", one per check;
#  - the CLI under valgrind through a sandbox's life (about 20 s),
#    "valgrind: N passed, M failed", one per command.

fuzz_add_summary() {
	local tag=$1 log=$2 summary

	summary=$(grep -E "^$tag: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
	if [ -z "$summary" ]; then
		echo "tests: $tag printed no summary" >&2
		failed=$((failed + 1))
	else
		passed=$((passed + $(sed -E 's/^[a-z]+: ([0-9]+) passed.*/\1/' <<<"$summary")))
		failed=$((failed + $(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$summary")))
	fi
}

fuzz_log=$(mktemp)
if make --no-print-directory -s BUILD="$build" fuzz-build >"$fuzz_log" 2>&1; then
	FUZZ_CASES=${FUZZ_SHORT_CASES:-20000} "$build/fuzz/fastpath" 2>&1 | tee "$fuzz_log"
else
	cat "$fuzz_log"
	echo "tests: building the fuzzer failed" >&2
fi
fuzz_add_summary fuzz "$fuzz_log"
make --no-print-directory BUILD="$build" sanitize-unit 2>&1 | tee "$fuzz_log"
fuzz_add_summary sanitize "$fuzz_log"
tests/fuzz/valgrind-cli.sh "$build/sharenat" 2>&1 | tee "$fuzz_log"
fuzz_add_summary valgrind "$fuzz_log"
rm -f "$fuzz_log"
unset -f fuzz_add_summary

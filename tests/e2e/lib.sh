#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The end-to-end tests' runner and helpers; sourced by tests/e2e/run.sh.
#
# A test is a function test_NAME that returns 0 to pass. To fail, it calls
# `fail REASON`, which records the reason and returns 1, so a check reads
#	some_command || fail "why" || return
# Tests run in the runner's shell, not a subshell: they share the topology,
# the servers and the temp dir that earlier tests set up.

E2E_PASSED=0
E2E_FAILED=0
E2E_REASON=

# Python with the standard json module; the first python3 on PATH may be
# another installation, /usr/bin/python3 is Debian's (see design.md).
E2E_PYTHON=/usr/bin/python3

fail() {
	E2E_REASON=$*
	return 1
}

# run_test NAME: run test_NAME and print exactly one PASS or FAIL line.
run_test() {
	local name=$1

	E2E_REASON=
	if "test_$name"; then
		echo "PASS $name"
		E2E_PASSED=$((E2E_PASSED + 1))
	else
		echo "FAIL $name: ${E2E_REASON:-test returned non-zero}"
		E2E_FAILED=$((E2E_FAILED + 1))
	fi
}

# The one closing line that tools/run-tests.sh reads.
e2e_summary() {
	echo "e2e: $E2E_PASSED passed, $E2E_FAILED failed"
	[ "$E2E_FAILED" -eq 0 ]
}

# need TOOL...: fail naming every tool that is missing. A missing tool is
# a failure, never a skip: a skipped test would read as a pass.
need() {
	local tool missing=()

	for tool in "$@"; do
		if [ "$tool" = python3 ]; then
			[ -x "$E2E_PYTHON" ] || missing+=("$E2E_PYTHON")
		elif ! command -v "$tool" >/dev/null 2>&1; then
			missing+=("$tool")
		fi
	done
	[ ${#missing[@]} -eq 0 ] ||
		fail "missing tool(s): ${missing[*]} (install with 'make deps' as root)"
}

# json EXPR: evaluate a Python expression over the JSON document on stdin,
# bound to d; lists and dicts print as JSON, anything else as str(). Input
# that is not JSON, or an expression that raises, is a quiet exit 1: the
# caller says what it was reading.
json() {
	"$E2E_PYTHON" -c '
import json, sys
try:
    d = json.load(sys.stdin)
    r = eval(sys.argv[1])
except Exception:
    sys.exit(1)
print(json.dumps(r) if isinstance(r, (list, dict)) else r)' "$1"
}

# query COMMAND EXPR: json EXPR over `sharenat COMMAND --json`.
query() {
	sn "$1" --json 2>/dev/null | json "$2"
}

# is_json: stdin parses as JSON.
is_json() {
	"$E2E_PYTHON" -m json.tool >/dev/null 2>&1
}

# counter NAME: one counter from `sharenat stats --json`.
counter() {
	query stats "d['$1']"
}

# listening NS tcp|udp PORT: something in namespace NS listens on PORT.
listening() {
	local flag=-Hltn

	[ "$2" = udp ] && flag=-Hlun
	[ -n "$(in_ns "$1" ss "$flag" "sport = :$3")" ]
}

# cli_error CODE ARGS...: sharenat ARGS fails with exit CODE, one stderr
# line "sharenat: ...", nothing on stdout;
# the error line stays in $E2E_TMP/stderr for the caller.
cli_error() {
	cli_error_by sn "$@"
}

# cli_error_by RUNNER CODE ARGS...: the same, run by RUNNER (a function
# that runs sharenat ARGS in some way).
cli_error_by() {
	local run=$1 want=$2 rc out err

	shift 2
	out=$("$run" "$@" 2>"$E2E_TMP/stderr")
	rc=$?
	err=$(cat "$E2E_TMP/stderr")
	[ "$rc" -eq "$want" ] || fail "'sharenat $*' exited $rc, want $want ($err)" || return
	[ "$(wc -l <"$E2E_TMP/stderr")" -eq 1 ] && [[ $err == "sharenat: "* ]] ||
		fail "'sharenat $*' stderr is not one 'sharenat: ' line: '$err'" || return
	[ -z "$out" ] || fail "'sharenat $*' printed '$out'" || return
}

# ---- servers -------------------------------------------------------------------

SERVER_PIDS=()

# vpc_server_start NS NAME: vpc_server.py, named NAME, on $SERVER in
# namespace NS for SERVER_SECONDS; its log is $E2E_TMP/server-NAME.log.
# Returns once it is ready.
vpc_server_start() {
	local ns=$1 name=$2 ready=$E2E_TMP/server-$2.ready

	in_ns "$ns" timeout $((SERVER_SECONDS + 10)) "$E2E_PYTHON" \
		"$E2E_DIR/vpc_server.py" "vpc$name" "$SERVER" "$E2E_TMP/server-$name.log" \
		"$SERVER_SECONDS" >"$ready" 2>"$E2E_TMP/server-$name.err" </dev/null &
	SERVER_PIDS+=($!)
	wait_until 50 grep -qx ready "$ready"
}

# kill_servers: every process in SERVER_PIDS.
kill_servers() {
	kill_listed SERVER_PIDS
}

# teardown_all [GROUP...]: the CLI takes down everything a script made, in
# order: its sandboxes (ADDED: numbers N of sandboxes sN), its functions
# (FUNCTIONS), the security groups named, its attachments (ATTACHED: vpc
# names, devices by shared_dev); then status shows nothing left. A test:
# returns 1 through fail.
teardown_all() {
	local n fn sg vpc out status

	for n in "${ADDED[@]}"; do
		out=$(sn sandbox del "s$n" 2>&1) || fail "sandbox del s$n exited $?: $out" || return
	done
	ADDED=()
	for fn in "${FUNCTIONS[@]}"; do
		out=$(sn function del "$fn" 2>&1) || fail "function del $fn exited $?: $out" || return
	done
	FUNCTIONS=()
	for sg in "$@"; do
		out=$(sn sg del "$sg" 2>&1) || fail "sg del $sg after function del exited $?: $out" || return
	done
	for vpc in "${ATTACHED[@]}"; do
		out=$(sn detach "$(shared_dev "$vpc")" 2>&1) ||
			fail "detach $(shared_dev "$vpc") exited $?: $out" || return
	done
	ATTACHED=()
	status=$(sn status --json) || fail "status --json after detach failed" || return
	[ "$(json "[d['attachments'], d['functions'], d['sandboxes'], d['security_groups'], d['flows']]" <<<"$status")" = \
		"[[], [], [], [], 0]" ] || fail "state left after teardown: $status" || return
}

# ---- start and cleanup, shared by every script --------------------------------

# e2e_cleanup: what every script's cleanup does, once: stop its servers,
# remove its namespaces (topo_init may not have run: a missing tool, no
# root) and its temp directory.
e2e_cleanup() {
	[ -n "${E2E_CLEANED:-}" ] && return
	E2E_CLEANED=1
	stop_servers
	[ -n "${TOPO_NAMESPACES+set}" ] && topo_destroy
	[ -n "${E2E_TMP:-}" ] && rm -rf "$E2E_TMP"
}

# e2e_start CLEANUP PATH_TO_SHARENAT: check the usage, set SHARENAT and
# the prefix, arm CLEANUP on exit and signals, make E2E_TMP.
e2e_start() {
	local cleanup=$1

	if [ $# -ne 2 ]; then
		echo "usage: $0 PATH_TO_SHARENAT" >&2
		exit 2
	fi
	SHARENAT=$(realpath -e "$2" 2>/dev/null || echo "$2")
	# topo_init takes PREFIX from the environment, where it often means an
	# install prefix (/usr/local); only SHARENAT_E2E_PREFIX chooses it here.
	PREFIX=${SHARENAT_E2E_PREFIX:-}
	# shellcheck disable=SC2064  # the function's name, fixed now
	trap "$cleanup" EXIT
	trap "$cleanup; exit 130" INT
	trap "$cleanup; exit 143" TERM
	E2E_TMP=$(mktemp -d /tmp/sharenat-e2e.XXXXXX)
	chmod 755 "$E2E_TMP"	# nginx workers run as nobody
}

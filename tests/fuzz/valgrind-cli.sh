#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The CLI under valgrind (memcheck, --leak-check=full): every command of a
# sandbox's life, and some refusals, in a netns topology of its own
# (tools/topology.sh: one customer namespace, two sandboxes). A command
# passes when it exits as expected and valgrind reports no error (invalid
# accesses, uninitialised values, definite or possible leaks); the log of a
# failing one is printed.
#
# Usage (as root): tests/fuzz/valgrind-cli.sh PATH_TO_SHARENAT
# Closes with "valgrind: N passed, M failed"; exits 0 only if nothing
# failed. Traffic (two pings) goes only to the customer namespace's server,
# every namespace and pin carries a per-run prefix and is removed on exit.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=../../tools/topology.sh
. "$REPO/tools/topology.sh"

SUBNET=10.0.1.0/24
SERVER=10.0.1.10
SHARED=10.0.1.5
VG_PASSED=0
VG_FAILED=0

if [ $# -ne 1 ]; then
	echo "usage: $0 PATH_TO_SHARENAT" >&2
	exit 2
fi
SHARENAT=$(realpath -e "$1" 2>/dev/null || echo "$1")
if [ "$(id -u)" -ne 0 ] || ! command -v valgrind >/dev/null; then
	echo "valgrind: needs root and valgrind (make deps)" >&2
	echo "valgrind: 0 passed, 1 failed"
	exit 1
fi

VG_TMP=$(mktemp -d /tmp/sharenat-valgrind.XXXXXX)
cleanup() {
	[ -n "${TOPO_NAMESPACES+set}" ] && topo_destroy
	rm -rf "$VG_TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# PREFIX in the environment often means an install prefix: only
# SHARENAT_VG_PREFIX chooses the topology's.
PREFIX=${SHARENAT_VG_PREFIX:-vg$(printf '%04x' $((RANDOM ^ $$ & 0xffff)))}

# vg WANT_EXIT ARGS...: sharenat ARGS under valgrind in the host
# namespace; passes when it exits WANT_EXIT and valgrind found nothing.
vg() {
	local want=$1 rc log errors
	shift
	log=$VG_TMP/vg.$((VG_PASSED + VG_FAILED)).log
	in_ns "$HOST_NS" timeout 120 valgrind --error-exitcode=1 \
		--leak-check=full --errors-for-leak-kinds=definite,possible \
		--track-origins=yes --suppressions="$HERE/valgrind.supp" \
		--log-file="$log" \
		"$SHARENAT" --pin-dir "$PIN_DIR" "$@" >"$VG_TMP/stdout" 2>"$VG_TMP/stderr"
	rc=$?
	errors=$(sed -nE 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/p' "$log" | tail -1)
	if [ "$rc" -eq "$want" ] && [ "${errors:-x}" = 0 ]; then
		VG_PASSED=$((VG_PASSED + 1))
		echo "PASS sharenat $* (exit $rc, valgrind clean)"
		return 0
	fi
	VG_FAILED=$((VG_FAILED + 1))
	echo "FAIL sharenat $*: exit $rc (want $want), valgrind errors: ${errors:-none reported}"
	sed 's/^/  stderr: /' "$VG_TMP/stderr" | head -5
	grep -vE '^==[0-9]+== *$' "$log" | sed 's/^/  /' | head -${VG_SHOW_LINES:-60}
	return 1
}

setup() {
	topo_init && topo_vpc A 10.0.1 && topo_sandbox 1 && topo_sandbox 2
}

if ! setup; then
	echo "valgrind: the topology could not be made" >&2
	echo "valgrind: 0 passed, 1 failed"
	exit 1
fi

echo "valgrind: $(valgrind --version), topology $PREFIX"
vg 0 attach "${PREFIX}eA" --subnet "$SUBNET" --ip "$SHARED"
vg 0 sg add web --allow tcp:10.0.1.0/24:80-8080 --allow icmp:0.0.0.0/0
vg 0 function add f1 --subnet "$SUBNET" --sg web --port-quota 64
vg 0 function add f2 --subnet "$SUBNET@${PREFIX}eA"
vg 0 sandbox add s1 --function f1 --dev "${PREFIX}s1" --ip 100.64.0.1
vg 0 sandbox add s2 --function f2 --dev "${PREFIX}s2" --ip 100.64.0.2 \
	--mac "$(ip -n "${PREFIX}-sbx2" -br link show eth0 | awk '{ print $3 }')"

# Flows for the read commands to show: bounded pings to the server.
for n in 1 2; do
	in_ns "${PREFIX}-sbx$n" timeout 10 ping -c 2 -i 0.2 -W 2 -q "$SERVER" >/dev/null 2>&1 ||
		echo "valgrind: (ping from sandbox $n got no answer; the read commands see fewer flows)"
done

vg 0 status
vg 0 status --json
vg 0 status --format apply
vg 0 flows
vg 0 flows --json
vg 0 flows --sandbox s1
vg 0 flows --function f2 --json
vg 0 stats
vg 0 stats --json
vg 0 stats --prometheus

# The declarative path, read only: the state as a file, applied back.
if in_ns "$HOST_NS" "$SHARENAT" --pin-dir "$PIN_DIR" status --format apply >"$VG_TMP/state.conf" 2>/dev/null; then
	vg 0 apply "$VG_TMP/state.conf" --dry-run
	vg 0 apply "$VG_TMP/state.conf"
fi

# Refusals: bad usage (2) and run-time failures (1) free what they took.
vg 2 attach "${PREFIX}eA" --subnet 10.0.1.0/33 --ip "$SHARED"
vg 2 sandbox add 'bad name!' --function f1 --dev "${PREFIX}s1" --ip 100.64.0.9
vg 1 sandbox add s1 --function f1 --dev "${PREFIX}s1" --ip 100.64.0.1
vg 1 sandbox add s3 --function nope --dev "${PREFIX}s1" --ip 100.64.0.3
vg 1 function del f1
vg 1 detach "${PREFIX}eA"
vg 1 sandbox del nope

vg 0 sandbox del s1
vg 0 sandbox del s2
vg 0 function del f1
vg 0 function del f2
vg 0 sg del web
vg 0 detach "${PREFIX}eA"
vg 0 status

echo "valgrind: $VG_PASSED passed, $VG_FAILED failed"
[ "$VG_FAILED" -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# netns end-to-end tests of the control plane: bad input refused without
# a trace, the attach latency histogram, `bench attach`, declarative
# `apply`, and CLI runs killed with SIGKILL while traffic flows.
#
# Usage (as root): tests/e2e/control_plane.sh PATH_TO_SHARENAT
# Prints PASS/FAIL per test and closes with "e2e: N passed, M failed";
# exits 0 only if nothing failed.
#
# Topology (tools/topology.sh, one per-run PREFIX, all removed on exit):
#  [sbx1..4 100.64.0.N] --+--[host] eA 10.0.1.5 ==== [vpcA 10.0.1.0/24:
#  spare devices kN, jN --+                            echo servers on .10]
#
# The spare veth devices ${PREFIX}k1.. carry no traffic: the sandboxes the
# tests add and delete around the ones that do. Traffic goes only to
# addresses inside the namespaces made here, and every client runs under
# a timeout.
set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck source=../../tools/topology.sh
. "$REPO/tools/topology.sh"
# shellcheck source=lib.sh
. "$E2E_DIR/lib.sh"

SUBNET=10.0.1.0/24
SERVER=10.0.1.10
SHARED=10.0.1.5
TCP_PORT=7000		# echo, for the long-lived streams
UDP_PORT=9000		# echo
SERVER_SECONDS=400	# servers end by themselves after this
STREAM_SECONDS=170	# and the streams after this
SPARES=(1 2 3 4 5 6)
KILL_ROUNDS=40
BENCH_SANDBOXES=50
STREAMS=()		# NAME:N:PROTO of each running stream

vpc_ns() { echo "$PREFIX-vpcA"; }
sbx_ns() { echo "$PREFIX-sbx$1"; }
shared_dev() { echo "${PREFIX}eA"; }
sbx_dev() { echo "${PREFIX}s$1"; }
spare_dev() { echo "${PREFIX}k$1"; }

# ---- helpers -------------------------------------------------------------------

# The CLI in the host namespace without the run's --pin-dir.
sn_raw() {
	nsenter --net=/run/netns/"$HOST_NS" "$SHARENAT" "$@"
}

start_servers() {
	local proto

	for proto in TCP4 UDP4; do
		local port=$TCP_PORT

		[ "$proto" = UDP4 ] && port=$UDP_PORT
		# -T: a UDP child ends once its peer goes quiet.
		in_ns "$(vpc_ns)" timeout "$SERVER_SECONDS" socat -T 20 \
			"$proto-LISTEN:$port,bind=$SERVER,fork,reuseaddr" EXEC:cat \
			</dev/null >/dev/null 2>&1 &
		SERVER_PIDS+=($!)
	done
	wait_until 50 listening "$(vpc_ns)" tcp "$TCP_PORT" &&
		wait_until 50 listening "$(vpc_ns)" udp "$UDP_PORT"
}

stop_servers() {
	kill_servers
}

# udp_ask N LINE: one datagram from sandbox N to the echo server; prints
# the answer.
udp_ask() {
	in_ns "$(sbx_ns "$1")" timeout 5 socat -t 1 - UDP4:$SERVER:$UDP_PORT <<<"$2" 2>&1
}

# tcp_ask N LINE: the same over a TCP connection.
tcp_ask() {
	in_ns "$(sbx_ns "$1")" timeout 5 socat -t 1 - TCP4:$SERVER:$TCP_PORT,connect-timeout=2 \
		<<<"$2" 2>&1
}

# stream_start NAME N tcp|udp: a line every 100 ms from sandbox N to the
# echo server, for STREAM_SECONDS at most; the echoes land in
# $E2E_TMP/stream.NAME.
stream_start() {
	local name=$1 n=$2 proto=$3 address

	address=TCP4:$SERVER:$TCP_PORT
	[ "$proto" = udp ] && address=UDP4:$SERVER:$UDP_PORT
	: >"$E2E_TMP/stream.$name"
	(
		i=0
		while [ "$i" -lt $((STREAM_SECONDS * 10)) ]; do
			echo "$name $i" || exit
			i=$((i + 1))
			sleep 0.1
		done
	) | in_ns "$(sbx_ns "$n")" timeout "$STREAM_SECONDS" socat -t 2 - "$address" \
		>"$E2E_TMP/stream.$name" 2>/dev/null &
	STREAMS+=("$name:$n:$proto")
}

stream_lines() {
	wc -l <"$E2E_TMP/stream.$1"
}

# stream_has NAME MIN: stream NAME has echoed at least MIN lines.
stream_has() {
	[ "$(stream_lines "$1")" -ge "$2" ]
}

# established N: TCP connections sandbox N has established to the echo
# server.
established() {
	in_ns "$(sbx_ns "$1")" ss -Htn state established "( dport = :$TCP_PORT )" | wc -l
}

# latency FIELD [OPERATION]: one figure of stats --json's latency.
latency() {
	query stats "d['latency']['${2:-sandbox_attach}']['$1']"
}

# sandbox_ids: the sandboxes' ids in status --json, sorted, one line.
sandbox_ids() {
	query status "' '.join(sorted(s['id'] for s in d['sandboxes']))"
}

# consistent: bpftool's view of the pinned maps agrees with itself: every
# id in sandbox_ids names a sandbox with that id and address, every
# sandbox has its id, and every flow and reply key belongs to a sandbox.
# Prints what is wrong.
consistent() {
	local map

	for map in sandbox_ids sandboxes flows replies; do
		bpftool -j map dump pinned "$PIN_DIR/$map" >"$E2E_TMP/dump.$map" 2>&1 ||
			{ echo "bpftool cannot dump $map: $(head -c 200 "$E2E_TMP/dump.$map")"; return 1; }
	done
	"$E2E_PYTHON" - "$E2E_TMP" <<-'EOF'
		import json, sys
		tmp = sys.argv[1]
		load = lambda m: [e['formatted'] for e in json.load(open(f'{tmp}/dump.{m}'))]
		ids = {e['key']['name']: e['value'] for e in load('sandbox_ids')}
		sbx = {e['key']: e['value']['id'] for e in load('sandboxes')}
		bad = []
		for name, addr in ids.items():
		    if sbx.get(addr) != name:
		        bad.append(f'id {name} -> {addr}: sandbox there is {sbx.get(addr)}')
		for addr, name in sbx.items():
		    if ids.get(name) != addr:
		        bad.append(f'sandbox {name} at {addr}: its id names {ids.get(name)}')
		for f in load('flows'):
		    if f['key']['src_addr'] not in sbx:
		        bad.append(f'flow {f["key"]} of no sandbox')
		for r in load('replies'):
		    if r['value']['sandbox_addr'] not in sbx:
		        bad.append(f'reply key {r["key"]} of no sandbox')
		if bad:
		    print('; '.join(bad[:5]))
		    sys.exit(1)
	EOF
}

# cli_error_raw CODE ARGS...: cli_error without the run's --pin-dir.
cli_error_raw() {
	cli_error_by sn_raw "$@"
}

# spin N: a busy wait of N shell iterations (a few microseconds each), a
# finer and cheaper random delay than sleep.
spin() {
	local i

	for ((i = 0; i < $1; i++)); do :; done
}

# ---- tests ---------------------------------------------------------------------

test_tools() {
	[ "$(id -u)" -eq 0 ] || fail "must run as root (netns, BPF)" || return
	need ip nsenter ss timeout socat bpftool tc python3 || return
	[ -x "$SHARENAT" ] || fail "$SHARENAT is not an executable" || return
}

# One customer, four sandbox namespaces, the spare devices, the echo
# servers, and sharenat attached with one function and three sandboxes.
test_topology() {
	local n out

	topo_init || fail "topo_init failed" || return
	topo_vpc A 10.0.1 || fail "topo_vpc A failed" || return
	for n in 1 2 3 4; do
		topo_sandbox "$n" || fail "topo_sandbox $n failed" || return
	done
	for n in "${SPARES[@]}"; do
		ip -n "$HOST_NS" link add "$(spare_dev "$n")" type veth peer name "${PREFIX}j$n" ||
			fail "cannot make spare device $n" || return
	done
	start_servers || fail "the echo servers did not listen on $SERVER" || return
	out=$(sn attach "$(shared_dev)" --subnet "$SUBNET" --ip "$SHARED" 2>&1) ||
		fail "attach exited $?: $out" || return
	out=$(sn function add f1 --subnet "$SUBNET" 2>&1) ||
		fail "function add f1 exited $?: $out" || return
	for n in 1 2 3; do
		out=$(sn sandbox add "s$n" --function f1 --dev "$(sbx_dev "$n")" \
			--ip "100.64.0.$n" 2>&1) ||
			fail "sandbox add s$n exited $?: $out" || return
	done
}

# The attach latency is a product figure: stats keeps its distribution
# across CLI runs, in text, JSON and Prometheus, and each add counts.
test_latency_histogram() {
	local count after p50 p90 p99 max out

	need python3 || return
	count=$(latency count) || fail "stats --json has no latency.sandbox_attach" || return
	[ "$count" -ge 3 ] || fail "sandbox_attach count is $count after 3 adds" || return
	[ "$(latency count attachment_setup)" -ge 1 ] ||
		fail "attachment_setup count is $(latency count attachment_setup) after an attach" || return
	out=$(sn sandbox add k1 --function f1 --dev "$(spare_dev 1)" --ip 100.64.1.1 2>&1) ||
		fail "sandbox add k1 exited $?: $out" || return
	after=$(latency count)
	[ "$after" -eq $((count + 1)) ] || fail "count went $count -> $after over one add" || return
	p50=$(latency p50_us) && p90=$(latency p90_us) && p99=$(latency p99_us) &&
		max=$(latency max_us) || fail "stats --json lacks a percentile" || return
	"$E2E_PYTHON" -c "import sys; sys.exit(not (0 < $p50 <= $p90 <= $p99 <= $max))" ||
		fail "percentiles out of order: p50 $p50 p90 $p90 p99 $p99 max $max" || return
	sn stats | grep -Eq '^  sandbox_attach +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' ||
		fail "stats text has no sandbox_attach latency line" || return
	sn stats --prometheus | grep -qx "sharenat_latency_seconds_count{operation=\"sandbox_attach\"} $after" ||
		fail "stats --prometheus lacks sharenat_latency_seconds_count $after" || return
	sn stats --prometheus | grep -q '^sharenat_latency_seconds{operation="sandbox_attach",quantile="0.99"} ' ||
		fail "stats --prometheus lacks the p99" || return
	out=$(sn sandbox del k1 2>&1) || fail "sandbox del k1 exited $?: $out" || return
}

# Bad input of every kind: the right exit code, one error line, nothing
# on stdout, and the state byte for byte as it was.
test_bad_inputs() {
	local before after dev sdev free bad=$E2E_TMP/bad.conf name32

	before=$(sn status --json) || fail "status --json failed" || return
	dev=$(shared_dev)
	sdev=$(sbx_dev 1)
	free=$(spare_dev 2)
	name32=abcdefghijklmnopqrstuvwxyz012345
	# Malformed addresses, CIDRs, port ranges, names, flags: usage (2).
	cli_error 2 attach "$free" --subnet 10.0.2.0 --ip 10.0.2.5 || return
	cli_error 2 attach "$free" --subnet 10.0.2.0/33 --ip 10.0.2.5 || return
	cli_error 2 attach "$free" --subnet 10.0.2.1/24 --ip 10.0.2.5 || return
	cli_error 2 attach "$free" --subnet 10.0.2.0/24 --ip 10.0.2.256 || return
	cli_error 2 attach "$free" --subnet 10.0.2.0/24 --ip 10.0.2.5 --ports 0-100 || return
	cli_error 2 attach "$free" --subnet 10.0.2.0/24 --ip 10.0.2.5 --ports 2000-1000 || return
	cli_error 2 attach "$free" --subnet 10.0.2.0/24 --ip 10.0.2.5 --ports 1-65536 || return
	cli_error 2 attach "$free" --subnet 10.0.2.0/24 --ip 10.0.2.5 --mapping sideways || return
	cli_error 2 attach "" --subnet 10.0.2.0/24 --ip 10.0.2.5 || return
	cli_error 2 sg add g1 --allow tcp:10.0.0.0/8:70000 || return
	cli_error 2 sg add g1 --allow sctp:10.0.0.0/8 || return
	cli_error 2 function add "$name32" --subnet "$SUBNET" || return
	cli_error 2 sandbox add s9 --function f1 --dev "$free" --ip 100.64.0.300 || return
	cli_error 2 sandbox add s9 --function f1 --dev "$free" --ip 100.64.0.9 --mac 01:00:5e:00:00:01 || return
	cli_error 2 sandbox add "" --function f1 --dev "$free" --ip 100.64.0.9 || return
	cli_error 2 sandbox add s9 --function f1 --dev "" --ip 100.64.0.9 || return
	cli_error 2 sandbox add s9 --function "" --dev "$free" --ip 100.64.0.9 || return
	cli_error 2 sandbox add s9 || return
	cli_error 2 detach "" || return
	cli_error 2 frobnicate || return
	cli_error 2 stats --bogus || return
	cli_error 2 status --format yaml || return
	cli_error 2 bench attach 0 || return
	cli_error 2 bench attach 5 --dev-prefix BAD! || return
	printf 'attachment %s subnet 10.0.1.0/24 ip 10.0.1.5\nfunction f1 subnet 10.0.1.0/24 sg nosuchsg\n' \
		"$dev" >"$bad"
	cli_error 2 apply "$bad" || return
	grep -q "apply: $bad:2: function f1: sg nosuchsg is not in the file" "$E2E_TMP/stderr" ||
		fail "apply error lacks its line: $(cat "$E2E_TMP/stderr")" || return
	printf 'attachment %s subnet 10.0.1.0/24 ip 10.0.1.5 ports 9-1\n' "$dev" >"$bad"
	cli_error 2 apply "$bad" || return
	# Unknown objects, duplicates, conflicts: runtime (1).
	cli_error 1 attach nosuchdev0 --subnet 10.0.2.0/24 --ip 10.0.2.5 || return
	cli_error 1 attach "$dev" --subnet 10.0.2.0/24 --ip 10.0.2.5 || return
	cli_error 1 attach "$sdev" --subnet 10.0.2.0/24 --ip 10.0.2.5 || return
	cli_error 1 function add f9 --subnet 10.0.9.0/24 || return
	cli_error 1 function add f1 --subnet "$SUBNET" || return
	cli_error 1 function add f9 --subnet "$SUBNET" --sg nosuchsg || return
	cli_error 1 function add f9 --subnet "$SUBNET" --subnet "$SUBNET@$dev" || return
	cli_error 1 function add f9 --subnet "$SUBNET@nosuchdev0" || return
	cli_error 1 function del nosuchfn || return
	cli_error 1 function del f1 || return
	cli_error 1 sg del nosuchsg || return
	cli_error 1 sandbox add s9 --function nosuchfn --dev "$free" --ip 100.64.0.9 || return
	cli_error 1 sandbox add s1 --function f1 --dev "$free" --ip 100.64.0.9 || return
	cli_error 1 sandbox add s9 --function f1 --dev "$free" --ip 100.64.0.1 || return
	cli_error 1 sandbox add s9 --function f1 --dev "$free" --ip 10.0.1.99 || return
	cli_error 1 sandbox add s9 --function f1 --dev nosuchdev0 --ip 100.64.0.9 || return
	cli_error 1 sandbox add s9 --function f1 --dev "$dev" --ip 100.64.0.9 || return
	cli_error 1 sandbox del nosuchsbx || return
	cli_error 1 detach "$dev" || return
	cli_error 1 detach nosuchdev0 || return
	cli_error 1 flows --function nosuchfn || return
	cli_error 1 apply "$E2E_TMP/no-such-file" || return
	printf 'attachment nosuchdev0 subnet 10.0.1.0/24 ip 10.0.1.5\n' >"$bad"
	cli_error 1 apply "$bad" || return
	mkdir -p "$E2E_TMP/notbpffs"
	cli_error_raw 1 --pin-dir "$E2E_TMP/notbpffs/sn" attach "$free" --subnet 10.0.2.0/24 --ip 10.0.2.5 || return
	grep -q 'is not on a bpf filesystem' "$E2E_TMP/stderr" ||
		fail "pin dir error says: $(cat "$E2E_TMP/stderr")" || return
	after=$(sn status --json)
	[ "$before" = "$after" ] ||
		fail "status --json changed: before $before after $after" || return
	# The failed attaches must not have left their address behind.
	! ip -n "$HOST_NS" -4 addr show dev "$free" | grep -q 10.0.2.5 ||
		fail "10.0.2.5 was left on $free" || return
}

# Declarative mode: the state as a file, applied back as a no-op; a new
# file converges, traffic works, applying twice changes nothing; a bad
# file changes nothing, also when it fails half way.
test_apply() {
	local file=$E2E_TMP/state.conf out before after reply n dev

	dev=$(shared_dev)
	out=$(sn status --format apply 2>&1) || fail "status --format apply exited $?: $out" || return
	grep -q "^attachment $dev subnet $SUBNET ip $SHARED " <<<"$out" ||
		fail "status --format apply lacks the attachment: $out" || return
	echo "$out" >"$file"
	out=$(sn apply "$file" 2>&1) || fail "apply of the state exited $?: $out" || return
	[[ $out == "apply: no changes ("*")" ]] || fail "apply of the state said: $out" || return

	cat >"$file" <<-EOF
		# the wanted state
		attachment $dev subnet $SUBNET ip $SHARED
		sg echo allow tcp:$SUBNET:$TCP_PORT allow udp:$SUBNET:$UDP_PORT
		function f1 subnet $SUBNET
		function f2 subnet $SUBNET@$dev sg echo port-quota 64
		sandbox s1 function f1 dev $(sbx_dev 1) ip 100.64.0.1
		sandbox s2 function f1 dev $(sbx_dev 2) ip 100.64.0.2
		sandbox s3 function f2 dev $(sbx_dev 3) ip 100.64.0.3
		sandbox s4 function f2 dev $(sbx_dev 4) ip 100.64.0.4
	EOF
	out=$(sn apply "$file" 2>&1) || fail "apply exited $?: $out" || return
	grep -qx 'add sg echo' <<<"$out" && grep -qx 'add function f2' <<<"$out" &&
		grep -qx 'replace sandbox s3' <<<"$out" && grep -qx 'add sandbox s4' <<<"$out" &&
		grep -qx 'apply: 3 added, 0 removed, 1 replaced, 4 unchanged' <<<"$out" ||
		fail "apply said: $out" || return
	for n in 3 4; do
		reply=$(udp_ask "$n" "apply-udp-$n") && [ "$reply" = "apply-udp-$n" ] ||
			fail "udp echo from s$n after apply: '$reply'" || return
		reply=$(tcp_ask "$n" "apply-tcp-$n") && [ "$reply" = "apply-tcp-$n" ] ||
			fail "tcp echo from s$n after apply: '$reply'" || return
	done
	[ "$(query status "[s['function'] for s in d['sandboxes'] if s['id'] == 's3'][0]")" = f2 ] ||
		fail "s3 is not f2's after apply" || return
	out=$(sn apply "$file" 2>&1) || fail "second apply exited $?: $out" || return
	[ "$out" = "apply: no changes (8 unchanged)" ] || fail "second apply said: $out" || return

	# status --format apply round-trips, and is stable.
	sn status --format apply >"$E2E_TMP/round1.conf" || fail "status --format apply failed" || return
	out=$(sn apply "$E2E_TMP/round1.conf" 2>&1) || fail "apply of round1 exited $?: $out" || return
	[ "$out" = "apply: no changes (8 unchanged)" ] || fail "apply of status --format apply said: $out" || return
	sn status --format apply >"$E2E_TMP/round2.conf"
	cmp -s "$E2E_TMP/round1.conf" "$E2E_TMP/round2.conf" ||
		fail "status --format apply changed: $(diff "$E2E_TMP/round1.conf" "$E2E_TMP/round2.conf")" || return

	# Bad files change nothing: a syntax error (2), and a file that
	# fails half way (1: s2 is removed and f3 added before the sandbox
	# on lo is refused, and both are undone).
	before=$(sn status --json) || fail "status --json failed" || return
	sed 's/port-quota 64/port-quota 0/' "$file" >"$E2E_TMP/bad.conf"
	cli_error 2 apply "$E2E_TMP/bad.conf" || return
	grep -q "bad.conf:5: port-quota" "$E2E_TMP/stderr" ||
		fail "apply error lacks its line: $(cat "$E2E_TMP/stderr")" || return
	grep -v '^sandbox s2 ' "$file" >"$E2E_TMP/bad.conf"
	echo "function f3 subnet $SUBNET" >>"$E2E_TMP/bad.conf"
	echo "sandbox s9 function f3 dev lo ip 100.64.0.9" >>"$E2E_TMP/bad.conf"
	cli_error 1 apply "$E2E_TMP/bad.conf" || return
	grep -q "bad.conf:10: sandbox add: lo is not an Ethernet device" "$E2E_TMP/stderr" ||
		fail "apply error says: $(cat "$E2E_TMP/stderr")" || return
	after=$(sn status --json)
	[ "$before" = "$after" ] ||
		fail "a failed apply changed status --json: before $before after $after" || return
	reply=$(udp_ask 4 after-failed-apply) && [ "$reply" = after-failed-apply ] ||
		fail "udp echo from s4 after a failed apply: '$reply'" || return
}

# An interrupted operation, made on purpose: the next open finds the
# writer mark and repairs. First an add killed between its two map writes
# (the sandbox without its id), then a del killed between them (the id
# without its sandbox).
test_repair_after_crash() {
	local out key dev

	dev=$(spare_dev 3)
	need bpftool tc || return
	out=$(sn sandbox add k3 --function f1 --dev "$dev" --ip 100.64.1.3 2>&1) ||
		fail "sandbox add k3 exited $?: $out" || return
	key="6b 33$(printf ' 00%.0s' $(seq 30))"
	# shellcheck disable=SC2086 # the key is words
	bpftool map delete pinned "$PIN_DIR/sandbox_ids" key hex $key ||
		fail "bpftool cannot delete k3's id" || return
	mkdir "$PIN_DIR/writer-mark" || fail "cannot leave a writer mark" || return
	out=$(sn status --json) || fail "status --json after the crash failed" || return
	[ ! -e "$PIN_DIR/writer-mark" ] || fail "the writer mark is still there" || return
	out=$(consistent) || fail "after a half add: $out" || return
	[[ " $(sandbox_ids) " != *" k3 "* ]] || fail "the half-added k3 is still a sandbox" || return
	[ -z "$(in_ns "$HOST_NS" tc filter show dev "$dev" ingress 2>/dev/null)" ] ||
		fail "the half-added k3's program is still on $dev" || return

	out=$(sn sandbox add k3 --function f1 --dev "$dev" --ip 100.64.1.3 2>&1) ||
		fail "sandbox add k3 again exited $?: $out" || return
	bpftool map delete pinned "$PIN_DIR/sandboxes" key hex 64 40 01 03 ||
		fail "bpftool cannot delete k3's entry" || return
	mkdir "$PIN_DIR/writer-mark" || fail "cannot leave a writer mark" || return
	out=$(sn sandbox add k3 --function f1 --dev "$dev" --ip 100.64.1.3 2>&1) ||
		fail "sandbox add k3 after a half del exited $?: $out" || return
	out=$(consistent) || fail "after a half del: $out" || return
	out=$(sn sandbox del k3 2>&1) || fail "sandbox del k3 exited $?: $out" || return

	# The same with --mode xdp: a half-added sandbox's XDP program goes
	# with it, and a whole sandbox's lost program comes back.
	out=$(sn sandbox add k3 --function f1 --dev "$dev" --ip 100.64.1.3 --mode xdp 2>&1) ||
		fail "sandbox add k3 --mode xdp exited $?: $out" || return
	xdp_on "$dev" || fail "sandbox add k3 --mode xdp left no XDP program on $dev" || return
	# shellcheck disable=SC2086 # the key is words
	bpftool map delete pinned "$PIN_DIR/sandbox_ids" key hex $key ||
		fail "bpftool cannot delete k3's id" || return
	mkdir "$PIN_DIR/writer-mark" || fail "cannot leave a writer mark" || return
	out=$(sn status --json) || fail "status --json after the crash failed" || return
	! xdp_on "$dev" || fail "the half-added k3's XDP program is still on $dev" || return
	out=$(sn sandbox add k3 --function f1 --dev "$dev" --ip 100.64.1.3 --mode xdp 2>&1) ||
		fail "sandbox add k3 --mode xdp again exited $?: $out" || return
	in_ns "$HOST_NS" ip link set dev "$dev" xdp off || fail "cannot take $dev's XDP program off" || return
	mkdir "$PIN_DIR/writer-mark" || fail "cannot leave a writer mark" || return
	out=$(sn status --json) || fail "status --json after the loss failed" || return
	xdp_on "$dev" || fail "the repair did not put k3's XDP program back on $dev" || return
	out=$(sn sandbox del k3 2>&1) || fail "sandbox del k3 exited $?: $out" || return
	! xdp_on "$dev" || fail "sandbox del k3 left its XDP program on $dev" || return
}

# A prepared device (device add) whose program is lost (a device add or
# del killed midway, or a hand) gets it back from the next run's repair: a
# sandbox add on it trusts the entry and attaches nothing. device del
# takes every program of ours off, an XDP one a sandbox left too.
test_prepared_device_repair() {
	local out dev

	dev=$(spare_dev 3)
	need tc || return
	out=$(sn device add "$dev" 2>&1) || fail "device add exited $?: $out" || return
	in_ns "$HOST_NS" tc filter del dev "$dev" ingress ||
		fail "cannot take $dev's filter off" || return
	mkdir "$PIN_DIR/writer-mark" || fail "cannot leave a writer mark" || return
	out=$(sn status --json) || fail "status --json after the loss failed" || return
	[ -n "$(in_ns "$HOST_NS" tc filter show dev "$dev" ingress 2>/dev/null)" ] ||
		fail "the repair did not put the prepared $dev's program back" || return
	# A sandbox with --mode xdp on the device prepared for tc leaves its
	# XDP program there on del (the device keeps its programs); device
	# del takes both.
	out=$(sn sandbox add k3 --function f1 --dev "$dev" --ip 100.64.1.3 --mode xdp 2>&1) ||
		fail "sandbox add k3 --mode xdp exited $?: $out" || return
	out=$(sn sandbox del k3 2>&1) || fail "sandbox del k3 exited $?: $out" || return
	xdp_on "$dev" || fail "sandbox del took the XDP program off the prepared $dev" || return
	out=$(sn device del "$dev" 2>&1) || fail "device del exited $?: $out" || return
	[ -z "$(in_ns "$HOST_NS" tc filter show dev "$dev" ingress 2>/dev/null)" ] ||
		fail "device del left the program on $dev" || return
	! xdp_on "$dev" || fail "device del left the XDP program on $dev" || return
}

# xdp_on DEV: an XDP program is attached to DEV in the host namespace.
xdp_on() {
	in_ns "$HOST_NS" ip -d link show dev "$1" | grep -q 'prog/xdp'
}

# SIGKILL at random points of CLI runs that add and delete other
# sandboxes and read the state, while TCP streams and UDP flows run:
# no established connection is lost, the maps agree with each other, and
# every sandbox left over can be deleted.
test_kill9_under_traffic() {
	local s name n proto round pid args before_lines=() lines out left tcp_before=() i

	need socat ss bpftool python3 || return
	stream_start t1 1 tcp
	stream_start t2 1 tcp
	stream_start t3 2 tcp
	stream_start t4 2 tcp
	stream_start u1 1 udp
	stream_start u2 2 udp
	for s in "${STREAMS[@]}"; do
		wait_until 50 stream_has "${s%%:*}" 5 ||
			fail "stream ${s%%:*} carries nothing before the kills" || return
	done
	for n in 1 2; do
		tcp_before[n]=$(established "$n")
		[ "${tcp_before[n]}" -eq 2 ] ||
			fail "sbx$n has ${tcp_before[n]} established connections, want 2" || return
	done

	for ((round = 1; round <= KILL_ROUNDS; round++)); do
		n=${SPARES[RANDOM % ${#SPARES[@]}]}
		case $((RANDOM % 6)) in
		0 | 1 | 2) args=(sandbox add "k$n" --function f1 --dev "$(spare_dev "$n")" --ip "100.64.1.$n") ;;
		3) args=(sandbox del "k$n") ;;
		4) args=(status --json) ;;
		5) args=(flows --json) ;;
		esac
		# A simple command, so $! is nsenter, which execs sharenat.
		nsenter --net=/run/netns/"$HOST_NS" "$SHARENAT" --pin-dir "$PIN_DIR" \
			"${args[@]}" >/dev/null 2>&1 &
		pid=$!
		spin $((RANDOM % 1200))
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done

	# The first run after the kills repairs what a killed one left.
	out=$(sn status --json) || fail "status --json after the kills failed" || return
	out=$(consistent) || fail "inconsistent after $KILL_ROUNDS kills: $out" || return
	[ "$(query flows "len([f for f in d if f['sandbox'] == '-'])")" = 0 ] ||
		fail "flows of deleted sandboxes: $(query flows "[f for f in d if f['sandbox'] == '-']")" || return

	# Every connection is still there and still carries data.
	for n in 1 2; do
		[ "$(established "$n")" -eq "${tcp_before[n]}" ] ||
			fail "sbx$n had ${tcp_before[n]} established connections, now $(established "$n")" || return
	done
	for s in "${STREAMS[@]}"; do
		before_lines+=("$(stream_lines "${s%%:*}")")
	done
	sleep 2
	i=0
	for s in "${STREAMS[@]}"; do
		name=${s%%:*}
		lines=$(stream_lines "$name")
		[ "$lines" -ge $((before_lines[i] + 10)) ] ||
			fail "stream $name went from ${before_lines[i]} to $lines lines in 2 s" || return
		i=$((i + 1))
	done

	# What the kills left can be deleted.
	for left in $(sandbox_ids); do
		[[ $left == k* ]] || continue
		out=$(sn sandbox del "$left" 2>&1) || fail "sandbox del $left exited $?: $out" || return
	done
	[ "$(sandbox_ids)" = "s1 s2 s3 s4" ] || fail "sandboxes left: $(sandbox_ids)" || return
	out=$(consistent) || fail "after deleting the leftovers: $out" || return
}

# bench attach: the table, new way next to old, and nothing left behind;
# also when interrupted. Of 50 samples the p99 is the largest, so one
# moment the scheduler or another process's RTNL work takes from the
# bench decides it; on a small, busy machine a run may lose to that
# alone, so up to three runs are made and the first that compares counts.
test_bench_attach() {
	local out new old prefix=${PREFIX}b rc attempt

	for attempt in 1 2 3; do
		out=$(timeout 120 nsenter --net=/run/netns/"$HOST_NS" "$SHARENAT" \
			--pin-dir "$PIN_DIR" bench attach "$BENCH_SANDBOXES" \
			--dev-prefix "$prefix" 2>&1) ||
			fail "bench attach exited $?: $out" || return
		sed 's/^/  | /' <<<"$out"
		new=$(awk '/^sandbox add \(sharenat\) / { print $(NF - 1) }' <<<"$out")
		old=$(awk '/^interface add \(old way\) / { print $(NF - 1) }' <<<"$out")
		[ -n "$new" ] && [ -n "$old" ] || fail "bench printed no table: $out" || return
		grep -Eq "^sandbox add \(sharenat\) +$BENCH_SANDBOXES " <<<"$out" ||
			fail "bench did not add $BENCH_SANDBOXES sandboxes: $out" || return
		"$E2E_PYTHON" -c "import sys; sys.exit(not ($new < $old))" && break
		echo "  | (run $attempt: sandbox add p99 $new us is not below $old us)"
	done
	"$E2E_PYTHON" -c "import sys; sys.exit(not ($new < $old))" ||
		fail "in 3 runs, sandbox add p99 $new us never below the old way's $old us" || return
	! ip -n "$HOST_NS" -br link | grep -q "^$prefix" ||
		fail "bench left devices: $(ip -n "$HOST_NS" -br link | grep "^$prefix" | head -3)" || return
	[ ! -e "/sys/fs/bpf/$prefix-bench" ] || fail "bench left /sys/fs/bpf/$prefix-bench" || return

	prefix=${PREFIX}c
	nsenter --net=/run/netns/"$HOST_NS" timeout 120 "$SHARENAT" --pin-dir "$PIN_DIR" \
		bench attach 400 --dev-prefix "$prefix" >/dev/null 2>"$E2E_TMP/bench.err" &
	sleep 0.5
	kill -TERM $!
	wait $!
	rc=$?
	[ "$rc" -eq 1 ] || fail "interrupted bench exited $rc: $(cat "$E2E_TMP/bench.err")" || return
	grep -qx 'sharenat: bench attach: interrupted' "$E2E_TMP/bench.err" ||
		fail "interrupted bench said: $(cat "$E2E_TMP/bench.err")" || return
	! ip -n "$HOST_NS" -br link | grep -q "^$prefix" ||
		fail "interrupted bench left devices: $(ip -n "$HOST_NS" -br link | grep -c "^$prefix")" || return
	[ ! -e "/sys/fs/bpf/$prefix-bench" ] || fail "interrupted bench left /sys/fs/bpf/$prefix-bench" || return
}

# A state another version loaded (here: one of this version's maps not
# pinned) is refused with one line that says so, reads and writes alike,
# and is left as it was; with the map back, everything works again.
test_other_version_state() {
	local out before moved=$PIN_DIR/replies_moved

	before=$(sandbox_ids)
	mv "$PIN_DIR/replies" "$moved" || fail "cannot move the replies pin" || return
	cli_error 1 status || { mv "$moved" "$PIN_DIR/replies"; return 1; }
	grep -q "no pinned map replies: the state there was loaded by another version" "$E2E_TMP/stderr" ||
		{ fail "status said: $(cat "$E2E_TMP/stderr")"; mv "$moved" "$PIN_DIR/replies"; return 1; }
	cli_error 1 sandbox del s1 || { mv "$moved" "$PIN_DIR/replies"; return 1; }
	mv "$moved" "$PIN_DIR/replies" || fail "cannot move the replies pin back" || return
	[ "$(sandbox_ids)" = "$before" ] || fail "sandboxes changed: $before -> $(sandbox_ids)" || return
	out=$(consistent) || fail "after the refused commands: $out" || return
}

# The empty file is the empty state: apply removes everything and unloads.
test_apply_empty() {
	local out

	: >"$E2E_TMP/empty.conf"
	out=$(sn apply "$E2E_TMP/empty.conf" 2>&1) || fail "apply of nothing exited $?: $out" || return
	grep -qx "apply: 0 added, 8 removed, 0 replaced, 0 unchanged" <<<"$out" ||
		fail "apply of nothing said: $out" || return
	[ "$(query status "d['loaded']")" = False ] || fail "still loaded after applying nothing" || return
	[ ! -e "$PIN_DIR" ] || fail "$PIN_DIR is still there" || return
	! ip -n "$HOST_NS" -4 addr show dev "$(shared_dev)" | grep -q " $SHARED/" ||
		fail "$SHARED is still on $(shared_dev)" || return
	out=$(sn apply "$E2E_TMP/empty.conf" 2>&1) && [ "$out" = "apply: no changes (0 unchanged)" ] ||
		fail "applying nothing to nothing said: $out" || return
}

# ---- runner ----------------------------------------------------------------------

cleanup() {
	# The bench's own state, should it have been killed.
	[ -n "${PREFIX:-}" ] &&
		rm -rf "/sys/fs/bpf/${PREFIX}b-bench" "/sys/fs/bpf/${PREFIX}c-bench"
	e2e_cleanup
}

main() {
	e2e_start cleanup "$@"

	run_test tools
	run_test topology
	run_test latency_histogram
	run_test bad_inputs
	run_test apply
	run_test repair_after_crash
	run_test prepared_device_repair
	run_test kill9_under_traffic
	run_test bench_attach
	run_test other_version_state
	run_test apply_empty
	e2e_summary
}

main "$@"

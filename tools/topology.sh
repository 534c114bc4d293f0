#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The netns harness: the design's test topology, with a per-run prefix.
# Source it, then: topo_init; topo_vpc A 10.0.1; topo_sandbox 1 ...;
# everything it made is removed by topo_destroy (call it from a trap).
#
#  [sbx-N 100.64.0.N]--veth--+
#                            +--[host]--eniA ====== [vpcA 10.0.1.0/24, server .10]
#                            +        --eniB ====== [vpcB 10.0.1.0/24, server .10]

# PREFIX: short (device names have 15 characters) and unique per run.
topo_init() {
	PREFIX=${PREFIX:-sn$(printf '%04x' $((RANDOM ^ $$ & 0xffff)))}
	HOST_NS=${PREFIX}-host
	PIN_DIR=/sys/fs/bpf/${PREFIX}
	TOPO_NAMESPACES=()
	ip netns add "$HOST_NS" || return 1
	TOPO_NAMESPACES+=("$HOST_NS")
	ip -n "$HOST_NS" link set lo up
}

# Run a command in a namespace without `ip netns exec`, which would give
# it a fresh /sys without our bpffs.
in_ns() {
	local ns=$1
	shift
	nsenter --net=/run/netns/"$ns" "$@"
}

# wait_until TRIES CMD...: retry CMD every 0.1 s, at most TRIES times;
# for servers that need a moment to listen.
wait_until() {
	local tries=$1

	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		tries=$((tries - 1))
		sleep 0.1
	done
	return 1
}

# kill_listed ARRAY: kill every process whose pid the array named ARRAY
# holds, and empty it.
kill_listed() {
	local -n listed=$1
	local pid

	for pid in "${listed[@]}"; do
		kill "$pid" 2>/dev/null
	done
	listed=()
}

# sharenat, in the host namespace, on this run's pin directory.
sn() {
	in_ns "$HOST_NS" "$SHARENAT" --pin-dir "$PIN_DIR" "$@"
}

# topo_vpc NAME NET: a customer namespace ${PREFIX}-vpcNAME whose device
# "srv" has NET.10/24, linked to host device ${PREFIX}e${NAME}.
topo_vpc() {
	local name=$1 net=$2 ns=${PREFIX}-vpc$1 dev=${PREFIX}e$1
	ip netns add "$ns" || return 1
	TOPO_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
	ip link add "$dev" netns "$HOST_NS" type veth peer name srv netns "$ns" || return 1
	ip -n "$ns" addr add "$net.10/24" dev srv
	ip -n "$ns" link set srv up
	ip -n "$HOST_NS" link set "$dev" up
}

# topo_sandbox N: namespace ${PREFIX}-sbxN with eth0 at 100.64.0.N/32 and
# a default route through 169.254.1.1; host side ${PREFIX}s${N}.
topo_sandbox() {
	local n=$1 ns=${PREFIX}-sbx$1 dev=${PREFIX}s$1
	ip netns add "$ns" || return 1
	TOPO_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
	ip link add "$dev" netns "$HOST_NS" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$ns" addr add "100.64.0.$n/32" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
	ip -n "$ns" route add default via 169.254.1.1 dev eth0
	ip -n "$HOST_NS" link set "$dev" up
}

topo_destroy() {
	local ns
	# Every step tolerates what is gone already (a process that exited
	# between the listing and the kill): under set -e, a failure here
	# would end the cleanup with namespaces left behind.
	for ns in "${TOPO_NAMESPACES[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	TOPO_NAMESPACES=()
	if [ -n "$PIN_DIR" ]; then rm -rf "$PIN_DIR"; fi
}

# topo_tap_sandbox N SECONDS: like topo_sandbox, but the sandbox reaches the
# host through a tap device ${PREFIX}t${N}, as a microVM does; a relay
# process (tools/tap_relay.py) stands in for the VM for SECONDS.
topo_tap_sandbox() {
	local n=$1 seconds=$2 ns=${PREFIX}-sbx$1 dev=${PREFIX}t$1 ready
	local here
	here=$(dirname "${BASH_SOURCE[0]}")
	ip netns add "$ns" || return 1
	TOPO_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
	coproc TAP_RELAY { in_ns "$HOST_NS" /usr/bin/python3 "$here/tap_relay.py" "$dev" "$ns" eth0 "$seconds"; }
	read -r -t 5 ready <&"${TAP_RELAY[0]}"
	[ "$ready" = ready ] || return 1
	ip -n "$ns" addr add "100.64.0.$n/32" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
	ip -n "$ns" route add default via 169.254.1.1 dev eth0
	ip -n "$HOST_NS" link set "$dev" up
}

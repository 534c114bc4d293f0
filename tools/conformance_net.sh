#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Pieces of customer network that the conformance tests
# (tests/e2e/conformance.sh) and the netfilter comparison
# (tools/compare-netfilter.sh) both build, on top of tools/topology.sh
# (source that first: these use in_ns, wait_until, PREFIX and
# TOPO_NAMESPACES).
#
# A STUN server for RFC 5780 discovery (coturn):
#   conf_stun_server NS DIR ADDR OTHER_ADDR
# A routed customer network behind a narrow link, for path MTU discovery:
#   conf_pmtu_chain R1_NS R1_ADDR
#
#   [R1_NS R1_ADDR] --r1r2 10.9.0.1/30 == MTU 1200 == 10.9.0.2/30-- [${PREFIX}-r2]
#        --10.0.3.1/24 == MTU 1500 == 10.0.3.10/24-- [${PREFIX}-far]

CONF_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF_PEER=$CONF_HERE/conformance_peer.py
CONF_PYTHON=/usr/bin/python3
CONF_LINK_MTU=1200
CONF_R1_LINK=10.9.0.1
CONF_R2_LINK=10.9.0.2
CONF_FAR_NET=10.0.3.0/24
CONF_FAR_GW=10.0.3.1
CONF_FAR_SERVER=10.0.3.10
CONF_STUN_PORT=3478
CONF_PIDS=()

# peer NS ARGS...: tools/conformance_peer.py in namespace NS.
peer() {
	local ns=$1

	shift
	in_ns "$ns" "$CONF_PYTHON" "$CONF_PEER" "$@"
}

# conf_stun_server NS DIR ADDR OTHER_ADDR: coturn's STUN server on two
# addresses of NS (OTHER_ADDR is added to NS's device srv), ports 3478 and
# 3479, with RFC 5780 (OTHER-ADDRESS, RESPONSE-ORIGIN, CHANGE-REQUEST).
#
# It must not read Debian's /etc/turnserver.conf: that file sets
# no-rfc5780 (and response-origin-only-with-rfc5780), so a server started
# without -c answers every binding request but leaves out OTHER-ADDRESS, and
# turnutils_natdiscovery then prints no verdict at all. -c with a file of
# our own replaces it. userdb and pidfile keep the server out of /var/lib
# and /var/run.
conf_stun_server() {
	local ns=$1 dir=$2 addr=$3 other=$4

	mkdir -p "$dir" || return 1
	ip -n "$ns" addr add "$other/24" dev srv 2>/dev/null
	cat >"$dir/turnserver.conf" <<-EOF
		# sharenat conformance: a STUN-only server with RFC 5780
		listening-ip=$addr
		listening-ip=$other
		listening-port=$CONF_STUN_PORT
		alt-listening-port=$((CONF_STUN_PORT + 1))
		stun-only
		no-tcp
		no-tls
		no-dtls
		no-cli
		log-file=stdout
		simple-log
		pidfile=$dir/turnserver.pid
		userdb=$dir/turndb
	EOF
	in_ns "$ns" timeout 300 turnserver -c "$dir/turnserver.conf" \
		>"$dir/turnserver.log" 2>&1 </dev/null &
	CONF_PIDS+=($!)
	wait_until 50 conf_udp_listening "$ns" "$addr" "$CONF_STUN_PORT" &&
		wait_until 50 conf_udp_listening "$ns" "$other" $((CONF_STUN_PORT + 1))
}

# conf_udp_listening NS ADDR PORT
conf_udp_listening() {
	[ -n "$(in_ns "$1" ss -Hlun "src $2:$3")" ]
}

# conf_natdiscovery NS LOCAL_ADDR SERVER ARGS...: turnutils_natdiscovery
# from LOCAL_ADDR in NS (each probe waits 3 s at most for an answer).
conf_natdiscovery() {
	local ns=$1 local_addr=$2 server=$3

	shift 3
	in_ns "$ns" timeout 30 turnutils_natdiscovery "$@" -L "$local_addr" "$server" 2>&1
}

# conf_verdict mapping|filtering: the tool's verdict in its output on stdin,
# shortened ("Endpoint Independent", "Address and Port Dependent", ...), or
# "no verdict".
conf_verdict() {
	local what=Mapping verdict

	[ "$1" = filtering ] && what=Filtering
	verdict=$(grep -o "NAT with [A-Za-z ]* $what!" | head -1 |
		sed -E "s/^NAT with (.*) $what!$/\1/")
	echo "${verdict:-no verdict}"
}

# conf_hairpin_verdict: turnutils_natdiscovery -H output on stdin: the
# first socket hears its own mapping being asked, or not.
conf_hairpin_verdict() {
	if grep -q 'Received a request' ; then
		echo "hairpinned"
	else
		echo "not delivered"
	fi
}

# conf_pmtu_chain R1_NS R1_ADDR: R1_NS (a customer namespace whose device
# srv holds R1_ADDR) becomes a router to CONF_FAR_NET through a second
# router ${PREFIX}-r2 over a link of MTU CONF_LINK_MTU; the server
# CONF_FAR_SERVER in ${PREFIX}-far sits on an MTU 1500 link, so neither end
# clamps its MSS below 1460 and only the routers know the path's MTU. R1's
# ICMP errors (fragmentation needed, time exceeded) come from R1_ADDR.
conf_pmtu_chain() {
	local r1=$1 r1_addr=$2 r2=${PREFIX}-r2 far=${PREFIX}-far

	ip netns add "$r2" || return 1
	TOPO_NAMESPACES+=("$r2")
	ip netns add "$far" || return 1
	TOPO_NAMESPACES+=("$far")
	ip -n "$r2" link set lo up
	ip -n "$far" link set lo up
	ip link add r1r2 netns "$r1" mtu "$CONF_LINK_MTU" type veth \
		peer name r2r1 netns "$r2" mtu "$CONF_LINK_MTU" || return 1
	ip link add r2far netns "$r2" type veth peer name srv netns "$far" || return 1
	ip -n "$r1" addr add "$CONF_R1_LINK/30" dev r1r2
	ip -n "$r2" addr add "$CONF_R2_LINK/30" dev r2r1
	ip -n "$r2" addr add "$CONF_FAR_GW/24" dev r2far
	ip -n "$far" addr add "$CONF_FAR_SERVER/24" dev srv
	ip -n "$r1" link set r1r2 up
	ip -n "$r2" link set r2r1 up
	ip -n "$r2" link set r2far up
	ip -n "$far" link set srv up
	in_ns "$r1" sysctl -qw net.ipv4.ip_forward=1 || return 1
	in_ns "$r2" sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n "$r1" route add "$CONF_FAR_NET" via "$CONF_R2_LINK" || return 1
	ip -n "$r2" route add "${r1_addr%.*}.0/24" via "$CONF_R1_LINK" || return 1
	ip -n "$far" route add default via "$CONF_FAR_GW" || return 1
}

# conf_sha_server NS ADDR PORT: a TCP server that answers with the SHA-256
# of what it received; for one upload, within 60 s.
conf_sha_server() {
	in_ns "$1" timeout 60 socat TCP4-LISTEN:"$3",bind="$2",reuseaddr \
		SYSTEM:sha256sum </dev/null 2>/dev/null &
	CONF_PIDS+=($!)
	wait_until 50 conf_tcp_listening "$1" "$2" "$3"
}

# conf_tcp_listening NS ADDR PORT
conf_tcp_listening() {
	[ -n "$(in_ns "$1" ss -Hltn "src $2:$3")" ]
}

# conf_upload NS FILE ADDR PORT: send FILE from NS to a conf_sha_server;
# prints the hash that came back.
conf_upload() {
	in_ns "$1" timeout 30 socat -t 10 - TCP4:"$3":"$4" <"$2" 2>&1 | cut -d' ' -f1
}

# conf_route_mtu NS DST: the path MTU NS has learnt for DST, or nothing.
conf_route_mtu() {
	ip -n "$1" route get "$2" 2>/dev/null | grep -o 'mtu [0-9]*' | cut -d' ' -f2
}

# conf_ttl_probe NS DST TTL: one echo request with TTL; prints ping's line
# about it ("From A icmp_seq=1 Time to live exceeded", "64 bytes from ...")
# or "no answer".
conf_ttl_probe() {
	local out line

	out=$(in_ns "$1" ping -n -c 1 -W 2 -t "$3" "$2" 2>&1)
	line=$(grep -E 'icmp_seq=1' <<<"$out" | head -1)
	echo "${line:-no answer}"
}

conf_stop() {
	kill_listed CONF_PIDS
}

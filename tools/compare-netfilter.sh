#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The same real-peer probes against sharenat and against Linux's own NAT
# (netfilter MASQUERADE in the host namespace), on the same topology, and a
# side-by-side table of what each showed. docs/conformance.md carries a run.
#
# Usage (as root): tools/compare-netfilter.sh PATH_TO_SHARENAT
#
# Each world, built in turn with its own per-run prefix and removed after:
#
#  [sbx1 100.64.0.1] --+                 +-- eS 10.0.1.5 == [vpcS .10 .11: coturn STUN]
#  [sbx2 100.64.0.2] --+--[host: NAT]----+
#  [sbx3 100.64.0.3] --+                 +-- eP 10.0.2.5 == [vpcP = R1 10.0.2.10]
#                                               == MTU 1200 == [r2] == [far 10.0.3.10]
#
#  sharenat:  sharenat attach/function/sandbox add, exactly as the e2e tests.
#  netfilter: forwarding on, the sandboxes' gateway 169.254.1.1 on the
#             host's side of their veths, and
#             iptables -t nat -A POSTROUTING -o DEV -j MASQUERADE (or the nft
#             equivalent) for each shared device.
#
# Probes: turnutils_natdiscovery -m -f (mapping, filtering), -H
# (hairpinning), -P -m -f (1500 bytes of padding: IP fragments); a 4 MiB
# upload across the 1200-byte link (path MTU discovery); ping with TTL 2
# (R1's time exceeded) and TTL 1 (the NAT's own hop). Nothing is installed:
# a missing tool fails the run, naming its package.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=topology.sh
. "$HERE/topology.sh"
# shellcheck source=conformance_net.sh
. "$HERE/conformance_net.sh"

SUBNET=10.0.1.0/24
SERVER=10.0.1.10
STUN_OTHER=10.0.1.11
SHARED=10.0.1.5
P_SUBNET=10.0.2.0/24
P_SHARED=10.0.2.5
R1=10.0.2.10
GATEWAY=169.254.1.1
SHA_PORT=9100
ROWS=(mapping filtering port hairpin padded upload ttl2 ttl1 toobig udp_timer tcp_timer)
declare -A LABEL=(
	[mapping]="mapping (natdiscovery -m)"
	[filtering]="filtering (natdiscovery -f)"
	[port]="port preserved (-m: reflexive = local)"
	[hairpin]="hairpinning (natdiscovery -H)"
	[padded]="-P: 1500-byte padding (IP fragments)"
	[upload]="4 MiB upload over a 1200-byte link"
	[ttl2]="ping TTL 2: R1's time exceeded"
	[ttl1]="ping TTL 1: the NAT's own hop"
	[toobig]="DF ping 1428 B, shared device MTU 1300"
	[udp_timer]="UDP mapping timer, default"
	[tcp_timer]="TCP established timeout, default"
)
declare -A RESULT=()
TMP=

die() {
	echo "compare-netfilter: $*" >&2
	exit 1
}

vpc_ns() { echo "$PREFIX-vpc$1"; }
sbx_ns() { echo "$PREFIX-sbx$1"; }
shared_dev() { echo "${PREFIX}e$1"; }
sbx_dev() { echo "${PREFIX}s$1"; }

sn() {
	in_ns "$HOST_NS" "$SHARENAT" --pin-dir "$PIN_DIR" "$@"
}

# The NAT of the netfilter world: iptables if there, else nft.
NAT_TOOL=
pick_nat_tool() {
	if command -v iptables >/dev/null; then
		NAT_TOOL=iptables
	elif command -v nft >/dev/null; then
		NAT_TOOL=nft
	else
		die "missing tool: iptables or nft (Debian package iptables or nftables); install nothing by hand, add it to tools/deps.sh"
	fi
}

masquerade() {
	local dev=$1

	if [ "$NAT_TOOL" = iptables ]; then
		in_ns "$HOST_NS" iptables -t nat -A POSTROUTING -o "$dev" -j MASQUERADE
	else
		in_ns "$HOST_NS" nft add table ip sncompare &&
			in_ns "$HOST_NS" nft add chain ip sncompare post \
				'{ type nat hook postrouting priority srcnat; policy accept; }' &&
			in_ns "$HOST_NS" nft add rule ip sncompare post oifname "$dev" masquerade
	fi
}

# build KIND: the topology, its servers, and its NAT.
build() {
	local kind=$1 n out

	PREFIX=$PREFIX_BASE${kind:0:1}
	topo_init || die "topo_init failed"
	topo_vpc S 10.0.1 || die "topo_vpc S failed"
	topo_vpc P 10.0.2 || die "topo_vpc P failed"
	for n in 1 2 3; do
		topo_sandbox "$n" || die "topo_sandbox $n failed"
	done
	conf_pmtu_chain "$(vpc_ns P)" "$R1" || die "the routers behind vpcP could not be set up"
	conf_stun_server "$(vpc_ns S)" "$TMP/$kind-stun" "$SERVER" "$STUN_OTHER" ||
		die "turnserver did not listen: $(tail -3 "$TMP/$kind-stun/turnserver.log")"

	if [ "$kind" = sharenat ]; then
		out=$(sn attach "$(shared_dev S)" --subnet "$SUBNET" --ip "$SHARED" 2>&1) &&
			out=$(sn attach "$(shared_dev P)" --subnet "$P_SUBNET" --ip "$P_SHARED" \
				--gateway "$R1" 2>&1) &&
			out=$(sn function add fS --subnet "$SUBNET" 2>&1) &&
			out=$(sn function add fP --subnet "$P_SUBNET" 2>&1) &&
			out=$(sn sandbox add s1 --function fS --dev "$(sbx_dev 1)" --ip 100.64.0.1 2>&1) &&
			out=$(sn sandbox add s2 --function fS --dev "$(sbx_dev 2)" --ip 100.64.0.2 2>&1) &&
			out=$(sn sandbox add s3 --function fP --dev "$(sbx_dev 3)" --ip 100.64.0.3 2>&1) ||
			die "sharenat setup: $out"
		return
	fi
	in_ns "$HOST_NS" sysctl -qw net.ipv4.ip_forward=1 || die "cannot enable forwarding"
	for n in 1 2 3; do
		ip -n "$HOST_NS" addr add "$GATEWAY/32" dev "$(sbx_dev "$n")" &&
			ip -n "$HOST_NS" route add "100.64.0.$n/32" dev "$(sbx_dev "$n")" ||
			die "host side of sbx$n"
	done
	ip -n "$HOST_NS" addr add "$SHARED/24" dev "$(shared_dev S)" &&
		ip -n "$HOST_NS" addr add "$P_SHARED/24" dev "$(shared_dev P)" &&
		ip -n "$HOST_NS" route add "$CONF_FAR_NET" via "$R1" ||
		die "host addresses and routes"
	masquerade "$(shared_dev S)" && masquerade "$(shared_dev P)" ||
		die "$NAT_TOOL could not install MASQUERADE"
}

# measure KIND: every probe, into RESULT[KIND,ROW].
measure() {
	local kind=$1 out local_port reflexive_port want got mtu

	out=$(conf_natdiscovery "$(sbx_ns 1)" 100.64.0.1 "$SERVER" -m -f)
	echo "$out" >"$TMP/$kind-mf.log"
	RESULT[$kind,mapping]=$(conf_verdict mapping <<<"$out")
	RESULT[$kind,filtering]=$(conf_verdict filtering <<<"$out")
	local_port=$(grep -m1 -o 'Local addr: : [0-9.]*:[0-9]*' <<<"$out" | cut -d: -f4)
	reflexive_port=$(grep -m1 -o 'UDP reflexive addr: [0-9.]*:[0-9]*' <<<"$out" | cut -d: -f3)
	if [ -z "$reflexive_port" ]; then
		RESULT[$kind,port]="no answer"
	elif [ "$local_port" = "$reflexive_port" ]; then
		RESULT[$kind,port]="yes ($reflexive_port)"
	else
		RESULT[$kind,port]="no ($local_port -> $reflexive_port)"
	fi

	out=$(conf_natdiscovery "$(sbx_ns 2)" 100.64.0.2 "$SERVER" -H)
	echo "$out" >"$TMP/$kind-h.log"
	RESULT[$kind,hairpin]=$(conf_hairpin_verdict <<<"$out")

	out=$(conf_natdiscovery "$(sbx_ns 1)" 100.64.0.1 "$SERVER" -P -m -f)
	echo "$out" >"$TMP/$kind-p.log"
	RESULT[$kind,padded]="$(abbreviate "$(conf_verdict mapping <<<"$out")") mapping, $(abbreviate "$(conf_verdict filtering <<<"$out")") filtering"

	conf_sha_server "$PREFIX-far" "$CONF_FAR_SERVER" "$SHA_PORT" ||
		die "the upload server did not listen"
	head -c 4194304 /dev/urandom >"$TMP/blob" || die "cannot write $TMP/blob"
	want=$(sha256sum <"$TMP/blob" | cut -d' ' -f1)
	got=$(conf_upload "$(sbx_ns 3)" "$TMP/blob" "$CONF_FAR_SERVER" "$SHA_PORT")
	mtu=$(conf_route_mtu "$(sbx_ns 3)" "$CONF_FAR_SERVER")
	if [ "$got" = "$want" ]; then
		RESULT[$kind,upload]="byte-exact, sandbox mtu ${mtu:-none}"
	else
		RESULT[$kind,upload]="FAILED (${got:-nothing back}), sandbox mtu ${mtu:-none}"
	fi

	RESULT[$kind,ttl2]=$(short_ping "$(conf_ttl_probe "$(sbx_ns 3)" "$CONF_FAR_SERVER" 2)")
	RESULT[$kind,ttl1]=$(short_ping "$(conf_ttl_probe "$(sbx_ns 3)" "$CONF_FAR_SERVER" 1)")

	# RFC 4787 REQ-13: a DF packet too big for the shared device must be
	# answered with "fragmentation needed" by the NAT itself.
	ip -n "$HOST_NS" link set "$(shared_dev P)" mtu 1300 &&
		ip -n "$(vpc_ns P)" link set srv mtu 1300 || die "cannot lower the MTU of $(shared_dev P)"
	# To R2's far address: the sandbox has learnt no MTU for it yet.
	out=$(in_ns "$(sbx_ns 3)" ping -n -c 2 -i 0.3 -W 1 -M "do" -s 1400 "$CONF_FAR_GW" 2>&1)
	mtu=$(conf_route_mtu "$(sbx_ns 3)" "$CONF_FAR_GW")
	if grep -q 'Frag needed' <<<"$out" || [ "$mtu" = 1300 ]; then
		RESULT[$kind,toobig]="frag needed, sandbox mtu ${mtu:-?}"
	else
		RESULT[$kind,toobig]="no answer, sandbox mtu ${mtu:-none}"
	fi

	if [ "$kind" = sharenat ]; then
		out=$(sn status --json 2>/dev/null)
		RESULT[$kind,udp_timer]="$(json_get "$out" "[a['timeouts']['udp'] for a in d['attachments']][0]") s"
		RESULT[$kind,tcp_timer]="$(json_get "$out" "[a['timeouts']['tcp_established'] for a in d['attachments']][0]") s"
	else
		RESULT[$kind,udp_timer]="$(nf_sysctl nf_conntrack_udp_timeout) s; $(nf_sysctl nf_conntrack_udp_timeout_stream) s if answered, alive > 2 s"
		RESULT[$kind,tcp_timer]="$(nf_sysctl nf_conntrack_tcp_timeout_established) s"
	fi
}

# nf_sysctl NAME: a conntrack sysctl of the host namespace.
nf_sysctl() {
	in_ns "$HOST_NS" cat "/proc/sys/net/netfilter/$1" 2>/dev/null || echo "?"
}

# json_get JSON EXPR
json_get() {
	/usr/bin/python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' \
		"$1" "$2" 2>/dev/null || echo "?"
}

# abbreviate VERDICT: "Endpoint Independent" -> EI, "Address and Port
# Dependent" -> APD, "Address Dependent" -> AD.
abbreviate() {
	case $1 in
	"Endpoint Independent") echo EI ;;
	"Address and Port Dependent") echo APD ;;
	"Address Dependent") echo AD ;;
	*) echo "$1" ;;
	esac
}

# short_ping LINE: "From A icmp_seq=1 Time to live exceeded" -> "time
# exceeded from A".
short_ping() {
	case $1 in
	From*"Time to live exceeded"*) echo "time exceeded from $(cut -d' ' -f2 <<<"$1")" ;;
	*"bytes from"*) echo "echo reply" ;;
	*) echo "$1" ;;
	esac
}

destroy() {
	conf_stop
	[ -n "${TOPO_NAMESPACES+set}" ] && topo_destroy
}

CLEANED=
cleanup() {
	[ -n "$CLEANED" ] && return
	CLEANED=1
	destroy
	[ -n "$TMP" ] && rm -rf "$TMP"
}

main() {
	local row missing=() tool

	[ $# -eq 1 ] || { echo "usage: $0 PATH_TO_SHARENAT" >&2; exit 2; }
	SHARENAT=$(realpath -e "$1" 2>/dev/null || echo "$1")
	[ "$(id -u)" -eq 0 ] || die "must run as root (netns, BPF, netfilter)"
	[ -x "$SHARENAT" ] || die "$SHARENAT is not an executable"
	for tool in turnserver:coturn turnutils_natdiscovery:coturn socat:socat \
		ping:iputils-ping sha256sum:coreutils nsenter:util-linux ip:iproute2 \
		ss:iproute2 /usr/bin/python3:python3; do
		command -v "${tool%%:*}" >/dev/null || missing+=("${tool%%:*} (package ${tool#*:})")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing tool(s): ${missing[*]}"
	pick_nat_tool
	PREFIX_BASE=${SHARENAT_E2E_PREFIX:-sn$(printf '%04x' $((RANDOM ^ $$ & 0xffff)))}
	trap cleanup EXIT
	trap 'cleanup; exit 130' INT
	trap 'cleanup; exit 143' TERM
	TMP=$(mktemp -d /tmp/sharenat-compare.XXXXXX)

	build sharenat
	measure sharenat
	destroy
	build netfilter
	measure netfilter
	destroy

	printf '| %-39s | %-30s | %s |\n' "probe" "sharenat" "netfilter ($NAT_TOOL MASQUERADE)"
	printf '|-%s-|-%s-|-%s-|\n' "$(printf '%.0s-' {1..39})" "$(printf '%.0s-' {1..30})" \
		"$(printf '%.0s-' {1..30})"
	for row in "${ROWS[@]}"; do
		printf '| %-39s | %-30s | %s |\n' "${LABEL[$row]}" "${RESULT[sharenat,$row]}" \
			"${RESULT[netfilter,$row]}"
	done
}

main "$@"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# netns end-to-end tests of sharenat's NAT behaviour against the RFCs
# (4787 UDP, 5382 TCP, 5508 ICMP, 6888, 7857) with real peers: RFC 5780
# discovery by coturn, path MTU discovery through routers behind a narrow
# link, mapping timers with short per-attachment timeouts, several shared
# addresses, hairpinning. docs/conformance.md maps each requirement to the
# test here (or elsewhere) that shows it.
#
# Usage (as root): tests/e2e/conformance.sh PATH_TO_SHARENAT
# Prints PASS/FAIL per test and closes with "e2e: N passed, M failed";
# exits 0 only if nothing failed.
#
# Topology (tools/topology.sh and tools/conformance_net.sh, one per-run
# PREFIX, all removed on exit):
#
#  [sbx1,2 fS] --+-- eS 10.0.1.5 ==== [vpcS .10 .11: coturn STUN, echo]   default
#  [sbx4 fT] ----+-- eT 10.0.1.5 ==== [vpcT .10: echo]     udp/icmp 2 s, tcp 5 s / 1 s
#  [sbx5,6 fM] --+-- eM 10.0.1.5, .6 ==== [vpcM .10: echo] --ports 40000-40003
#  [sbx7 fR] ----+-- eR 10.0.1.5 ==== [vpcR .10: echo on 10 ports]
#                                       --mapping dependent --ports 40000-40003
#  [sbx3 fP] ----+-- eP 10.0.2.5 ==== [vpcP = router R1 10.0.2.10]
#                                       == MTU 1200 == [r2] == [far 10.0.3.10]
#
# Traffic goes only to addresses inside the namespaces made here, and every
# client runs under a timeout.
set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
# shellcheck source=../../tools/topology.sh
. "$REPO/tools/topology.sh"
# shellcheck source=../../tools/conformance_net.sh
. "$REPO/tools/conformance_net.sh"
# shellcheck source=lib.sh
. "$E2E_DIR/lib.sh"

SUBNET=10.0.1.0/24
SERVER=10.0.1.10	# every vpc's server (vpc_server.py)
STUN_OTHER=10.0.1.11	# the STUN server's second address, in vpcS
SHARED=10.0.1.5
SHARED2=10.0.1.6	# vpcM's second shared address
UDP_PORT=9000		# vpc_server.py: one datagram in, "NAME PEER LINE" back
HOLD_PORT=9090		# vpc_server.py: a greeting, then every line echoed
CLOSED_PORT=9555	# nothing listens there
P_SUBNET=10.0.2.0/24
P_SHARED=10.0.2.5
R1=10.0.2.10		# vpcP's srv: the customer's first router
SHA_PORT=9100
SPILL_PORTS=40000-40003
ECHO_PORTS=$(seq 9200 9209)	# vpcR's echo ports: one remote per probe
SERVER_SECONDS=150	# servers end by themselves after this
declare -A VPC_NET=([S]=10.0.1 [T]=10.0.1 [M]=10.0.1 [R]=10.0.1 [P]=10.0.2)
declare -A ATTACH_ARGS=(
	[S]="--subnet $SUBNET --ip $SHARED"
	[T]="--subnet $SUBNET --ip $SHARED --udp-timeout 2 --icmp-timeout 2 --tcp-established-timeout 5 --tcp-transitory-timeout 1"
	[M]="--subnet $SUBNET --ip $SHARED --ip $SHARED2 --ports $SPILL_PORTS"
	[R]="--subnet $SUBNET --ip $SHARED --ports $SPILL_PORTS --mapping dependent"
	[P]="--subnet $P_SUBNET --ip $P_SHARED --gateway $R1"
)
declare -A FUNCTION_OF=([1]=fS [2]=fS [3]=fP [4]=fT [5]=fM [6]=fM [7]=fR)
VPCS=(S T M R P)
SANDBOXES=(1 2 3 4 5 6 7)
ATTACHED=()
FUNCTIONS=()
ADDED=()

vpc_ns() { echo "$PREFIX-vpc$1"; }
sbx_ns() { echo "$PREFIX-sbx$1"; }
shared_dev() { echo "${PREFIX}e$1"; }
sbx_dev() { echo "${PREFIX}s$1"; }

# ---- helpers ---------------------------------------------------------------

# now_ms: a wall clock in milliseconds.
now_ms() {
	local t=${EPOCHREALTIME/./}

	echo $((10#$t / 1000))
}

# sleep_until T0 MS: sleep until MS milliseconds after T0 (now_ms).
sleep_until() {
	local left=$(($1 + $2 - $(now_ms)))

	[ "$left" -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
	return 0
}

# flow PROTO SANDBOX_EP REMOTE_EP: that flow from flows --json, or nothing.
flow() {
	query flows "([f for f in d if f['proto'] == '$1' and f['sandbox_endpoint'] == '$2'
		and f['remote_endpoint'] == '$3'] or [''])[0]"
}

# flow_field PROTO SANDBOX_EP REMOTE_EP FIELD
flow_field() {
	local f

	f=$(flow "$1" "$2" "$3") && [ -n "$f" ] && json "d['$4']" <<<"$f"
}

# no_flow PROTO SANDBOX_EP REMOTE_EP: the flow is gone (and flows --json
# could be read).
no_flow() {
	local f

	f=$(flow "$1" "$2" "$3") && [ -z "$f" ]
}

# wait_gone MS PROTO SANDBOX_EP REMOTE_EP: poll until the flow is gone, at
# most MS ms; prints how long it took.
wait_gone() {
	local limit=$1 t0

	shift
	t0=$(now_ms)
	while ! no_flow "$@"; do
		[ $(($(now_ms) - t0)) -ge "$limit" ] && return 1
		sleep 0.05
	done
	echo $(($(now_ms) - t0))
}

# icmp_in NS FIELD: an Icmp counter of /proc/net/snmp in namespace NS.
icmp_in() {
	in_ns "$1" awk -v f="$2" '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 }
		else print $col[f] }' /proc/net/snmp
}

# endpoint_of LINE: the PEER of vpc_server.py's answer "NAME PEER LINE".
endpoint_of() {
	cut -d' ' -f2 <<<"$1"
}

start_server() {
	vpc_server_start "$(vpc_ns "$1")" "$1"
}

stop_servers() {
	kill_servers
	conf_stop
}

# ---- setup -------------------------------------------------------------------

test_tools() {
	[ "$(id -u)" -eq 0 ] || fail "must run as root (netns, BPF)" || return
	[ -x "$SHARENAT" ] || fail "$SHARENAT is not an executable" || return
	need ip nsenter ss timeout socat ping sha256sum python3 || return
	need_coturn || return
}

# need_coturn: coturn's STUN server and client, else fail naming the
# package (tools/deps.sh installs it on a fresh machine).
need_coturn() {
	command -v turnserver >/dev/null && command -v turnutils_natdiscovery >/dev/null ||
		fail "missing tool(s): turnserver, turnutils_natdiscovery (Debian package coturn)"
}

test_topology() {
	local vpc n out

	topo_init || fail "topo_init failed" || return
	for vpc in "${VPCS[@]}"; do
		topo_vpc "$vpc" "${VPC_NET[$vpc]}" || fail "topo_vpc $vpc failed" || return
	done
	for n in "${SANDBOXES[@]}"; do
		topo_sandbox "$n" || fail "topo_sandbox $n failed" || return
	done
	conf_pmtu_chain "$(vpc_ns P)" "$R1" || fail "the routers behind vpcP could not be set up" || return
	# Servers first: a sharenat failure must never read as a server one.
	for vpc in S T M R; do
		start_server "$vpc" ||
			fail "vpc_server.py did not start in vpc$vpc: $(cat "$E2E_TMP/server-$vpc.err")" || return
	done
	# Without coturn the STUN tests fail by themselves, naming it.
	! command -v turnserver >/dev/null ||
		conf_stun_server "$(vpc_ns S)" "$E2E_TMP/stun" "$SERVER" "$STUN_OTHER" ||
		fail "turnserver did not listen on $SERVER and $STUN_OTHER: $(tail -3 "$E2E_TMP/stun/turnserver.log")" || return
	# shellcheck disable=SC2086 # ECHO_PORTS are words
	peer "$(vpc_ns R)" udp-echo "$SERVER" "$SERVER_SECONDS" $ECHO_PORTS \
		>"$E2E_TMP/echo-R.ready" 2>&1 </dev/null &
	CONF_PIDS+=($!)
	wait_until 50 grep -qx ready "$E2E_TMP/echo-R.ready" ||
		fail "the echo on vpcR did not start: $(cat "$E2E_TMP/echo-R.ready")" || return
	conf_sha_server "${PREFIX}-far" "$CONF_FAR_SERVER" "$SHA_PORT" ||
		fail "the upload server did not listen on $CONF_FAR_SERVER:$SHA_PORT" || return

	for vpc in "${VPCS[@]}"; do
		# shellcheck disable=SC2086 # ATTACH_ARGS are words
		out=$(sn attach "$(shared_dev "$vpc")" ${ATTACH_ARGS[$vpc]} 2>&1) ||
			fail "attach $(shared_dev "$vpc") ${ATTACH_ARGS[$vpc]} exited $?: $out" || return
		ATTACHED+=("$vpc")
	done
	for vpc in S T M R; do
		out=$(sn function add "f$vpc" --subnet "$SUBNET@$(shared_dev "$vpc")" 2>&1) ||
			fail "function add f$vpc exited $?: $out" || return
		FUNCTIONS+=("f$vpc")
	done
	out=$(sn function add fP --subnet "$P_SUBNET" 2>&1) ||
		fail "function add fP exited $?: $out" || return
	FUNCTIONS+=(fP)
	for n in "${SANDBOXES[@]}"; do
		out=$(sn sandbox add "s$n" --function "${FUNCTION_OF[$n]}" \
			--dev "$(sbx_dev "$n")" --ip "100.64.0.$n" 2>&1) ||
			fail "sandbox add s$n exited $?: $out" || return
		ADDED+=("$n")
	done
}

# ---- a. RFC 5780 discovery with coturn (RFC 4787 REQ-1, REQ-8; RFC 5382 REQ-1)

# Mapping: the same sandbox endpoint asks the primary and the other
# address and must be told one reflexive endpoint (endpoint-independent).
# Filtering: the server answers from the other address and port, then from
# the other port: both must be dropped (address-and-port-dependent), and
# they are dropped by sharenat before any host stack (drop_unsolicited).
test_stun_discovery() {
	local out before after mapping filtering reflexive

	need_coturn || return
	before=$(counter drop_unsolicited) || fail "cannot read stats --json" || return
	out=$(conf_natdiscovery "$(sbx_ns 1)" 100.64.0.1 "$SERVER" -m -f)
	echo "$out" >"$E2E_TMP/natdiscovery-mf.log"
	grep -q 'RFC 5780 response' <<<"$out" ||
		fail "no RFC 5780 response (no OTHER-ADDRESS): is the STUN server reading /etc/turnserver.conf? $(head -c 300 <<<"$out")" || return
	mapping=$(conf_verdict mapping <<<"$out")
	filtering=$(conf_verdict filtering <<<"$out")
	[ "$mapping" = "Endpoint Independent" ] ||
		fail "natdiscovery says mapping: $mapping" || return
	[ "$filtering" = "Address and Port Dependent" ] ||
		fail "natdiscovery says filtering: $filtering" || return
	reflexive=$(grep -o 'UDP reflexive addr: [0-9.]*' <<<"$out" | sort -u | awk '{print $4}')
	[ "$reflexive" = "$SHARED" ] ||
		fail "the server saw reflexive address(es) '$reflexive', want $SHARED only" || return
	after=$(counter drop_unsolicited)
	[ "$after" -ge $((before + 2)) ] ||
		fail "drop_unsolicited went $before -> $after, want +2 (the two filtered answers)" || return
}

# Hairpinning as natdiscovery -H probes it: a second socket asks the first
# socket's mapping. The first socket's only flow is to the STUN server, so
# address-and-port-dependent filtering applies to the hairpinned packet
# as to any inbound one: it is dropped and counted (drop_hairpin_no_flow).
# Delivery once the filter admits the source is test_hairpinning.
test_stun_hairpinning() {
	local out before after verdict

	need_coturn || return
	before=$(counter drop_hairpin_no_flow) || fail "cannot read stats --json" || return
	out=$(conf_natdiscovery "$(sbx_ns 2)" 100.64.0.2 "$SERVER" -H)
	echo "$out" >"$E2E_TMP/natdiscovery-h.log"
	grep -q "UDP reflexive addr: $SHARED:" <<<"$out" ||
		fail "natdiscovery -H got no mapping: $(head -c 300 <<<"$out")" || return
	verdict=$(conf_hairpin_verdict <<<"$out")
	[ "$verdict" = "not delivered" ] ||
		fail "the hairpinned request reached a socket whose filter does not admit it" || return
	after=$(counter drop_hairpin_no_flow)
	[ "$after" -ge $((before + 1)) ] ||
		fail "drop_hairpin_no_flow went $before -> $after, want +1" || return
}

# The same discovery with 1500 bytes of PADDING in every request (coturn
# pads its answers alike): each datagram is two IP fragments, both ways.
# The verdicts must not change (RFC 4787 REQ-14, in-order fragments: the
# later fragments follow the first one's translation, fragment_translated).
test_stun_fragments() {
	local out before after mapping filtering

	need_coturn || return
	before=$(counter fragment_translated) ||
		fail "stats --json has no fragment_translated" || return
	out=$(conf_natdiscovery "$(sbx_ns 1)" 100.64.0.1 "$SERVER" -P -m -f)
	echo "$out" >"$E2E_TMP/natdiscovery-p.log"
	mapping=$(conf_verdict mapping <<<"$out")
	filtering=$(conf_verdict filtering <<<"$out")
	[ "$mapping/$filtering" = "Endpoint Independent/Address and Port Dependent" ] ||
		fail "with padding (fragments) natdiscovery says mapping: $mapping, filtering: $filtering" || return
	after=$(counter fragment_translated)
	[ "$after" -ge $((before + 6)) ] ||
		fail "fragment_translated went $before -> $after, want +6 (three requests and answers)" || return
}

# A datagram whose fragments arrive last first, both ways: sbx1 sends 2000
# bytes to vpcS last fragment first, and vpcS answers with 2500 bytes, last
# fragment first, to the shared endpoint. Each later fragment is held
# until its first has been translated, then follows it (RFC 4787 REQ-14,
# out-of-order fragments): both ends get every byte.
test_reordered_fragments() {
	local ready=$E2E_TMP/frag-answer.out out before_held before_released held released

	before_held=$(counter fragment_held) ||
		fail "stats --json has no fragment_held" || return
	before_released=$(counter fragment_released)
	peer "$(vpc_ns S)" frag-answer "$SERVER" 9300 2500 10 >"$ready" 2>&1 &
	SERVER_PIDS+=($!)
	wait_until 50 grep -qx ready "$ready" ||
		fail "frag-answer did not start: $(cat "$ready")" || return
	out=$(peer "$(sbx_ns 1)" frag-ask 100.64.0.1 5300 "$SERVER" 9300 2000 3)
	grep -qx "asked 2000 from $SHARED:[0-9]* intact" "$ready" ||
		fail "vpcS heard: '$(grep asked "$ready")', want 2000 intact bytes from $SHARED" || return
	[[ $out == "answer 2500 from $SERVER:9300 intact" ]] ||
		fail "sbx1 got '$out', want 2500 intact bytes from $SERVER:9300" || return
	held=$(counter fragment_held)
	released=$(counter fragment_released)
	[ "$held" -ge $((before_held + 2)) ] && [ "$released" -ge $((before_released + 2)) ] ||
		fail "fragment_held $before_held -> $held, fragment_released $before_released -> $released, want +2 each (one per direction)" || return
}

# ---- b. ICMP errors from routers: time exceeded, path MTU discovery ----------

# TTL 2 leaves sharenat with TTL 1, so R1 answers "time exceeded"; TTL 3
# reaches R2. Both errors come back to the shared address and must be
# translated to the sandbox (RFC 5508 REQ-4); a plain ping is the control.
test_ttl_exceeded() {
	local ns out before after

	ns=$(sbx_ns 3)
	before=$(counter icmp_error_translated) || fail "cannot read stats --json" || return
	out=$(conf_ttl_probe "$ns" "$CONF_FAR_SERVER" 64)
	[[ $out == *"bytes from $CONF_FAR_SERVER"* ]] ||
		fail "ping $CONF_FAR_SERVER from sbx3: $out" || return
	out=$(conf_ttl_probe "$ns" "$CONF_FAR_SERVER" 2)
	[[ $out == "From $R1 "*"Time to live exceeded"* ]] ||
		fail "ping -t 2 from sbx3: '$out', want time exceeded from $R1" || return
	out=$(conf_ttl_probe "$ns" "$CONF_FAR_SERVER" 3)
	[[ $out == "From $CONF_R2_LINK "*"Time to live exceeded"* ]] ||
		fail "ping -t 3 from sbx3: '$out', want time exceeded from $CONF_R2_LINK" || return
	after=$(counter icmp_error_translated)
	[ "$after" -ge $((before + 2)) ] ||
		fail "icmp_error_translated went $before -> $after, want +2" || return
}

# A 4 MiB upload crosses the 1200-byte link: R1 answers the 1500-byte
# segments with "fragmentation needed, mtu 1200"; translated, it lowers the
# sandbox's path MTU and the upload completes byte for byte (RFC 4787
# REQ-12b, RFC 5382 REQ-9, RFC 5508 REQ-4; the Cilium 33844 hang otherwise).
test_pmtu_upload() {
	local ns blob=$E2E_TMP/upload.bin want got mtu before after

	ns=$(sbx_ns 3)
	mtu=$(conf_route_mtu "$ns" "$CONF_FAR_SERVER")
	[ -z "$mtu" ] || fail "sbx3 knows mtu $mtu for $CONF_FAR_SERVER before any traffic" || return
	head -c 4194304 /dev/urandom >"$blob" || fail "cannot write $blob" || return
	want=$(sha256sum <"$blob" | cut -d' ' -f1)
	before=$(counter icmp_error_translated) || fail "cannot read stats --json" || return
	got=$(conf_upload "$ns" "$blob" "$CONF_FAR_SERVER" "$SHA_PORT")
	[ "$got" = "$want" ] ||
		fail "4 MiB upload from sbx3 arrived as '$got', want $want" || return
	mtu=$(conf_route_mtu "$ns" "$CONF_FAR_SERVER")
	[ "$mtu" = "$CONF_LINK_MTU" ] ||
		fail "sbx3's route to $CONF_FAR_SERVER has mtu '$mtu', want $CONF_LINK_MTU: $(ip -n "$ns" route get "$CONF_FAR_SERVER")" || return
	after=$(counter icmp_error_translated)
	[ "$after" -gt "$before" ] ||
		fail "icmp_error_translated did not rise ($before -> $after)" || return
}

# The NAT's own hop: it is the sandbox's router, so it answers as one
# (RFC 5508 REQ-10, RFC 1812 4.3): TTL 1 gets "time exceeded" from the
# gateway 169.254.1.1; with the shared device's MTU cut to 1300, a 1428-byte
# DF packet gets "fragmentation needed, mtu 1300" (RFC 4787 REQ-13), and the
# sandbox's kernel learns the path MTU from it; without DF the NAT cuts it
# into fragments and the answer comes back (REQ-13a).
test_own_icmp_errors() {
	local ns out before after mtu cut frag0 frag1

	ns=$(sbx_ns 3)
	before=$(counter icmp_error_sent) || fail "stats --json has no icmp_error_sent" || return
	out=$(conf_ttl_probe "$ns" "$R1" 1)
	[[ $out == "From 169.254.1.1 "*"Time to live exceeded"* ]] ||
		fail "ping -t 1 from sbx3: '$out', want time exceeded from 169.254.1.1" || return
	ip -n "$HOST_NS" link set "$(shared_dev P)" mtu 1300 &&
		ip -n "$(vpc_ns P)" link set srv mtu 1300 ||
		fail "cannot set the MTU of $(shared_dev P) to 1300" || return
	frag0=$(counter fragmented)
	cut=$(in_ns "$ns" ping -n -c 1 -W 2 -M dont -s 1400 "$R1" 2>&1 | grep -m1 'icmp_seq=1')
	frag1=$(counter fragmented)
	out=$(in_ns "$ns" ping -n -c 1 -W 2 -M do -s 1400 "$R1" 2>&1 | grep -m1 'icmp_seq=1')
	mtu=$(conf_route_mtu "$ns" "$R1")
	ip -n "$HOST_NS" link set "$(shared_dev P)" mtu 1500
	ip -n "$(vpc_ns P)" link set srv mtu 1500
	[[ $cut == "1408 bytes from $R1"* ]] && [ "$frag1" = $((frag0 + 1)) ] ||
		fail "1428-byte ping without DF over a 1300-byte shared device: '$cut', fragmented $frag0 -> $frag1; want an answer, cut up once (RFC 4787 REQ-13a)" || return
	[[ $out == "From 169.254.1.1 "*"Frag needed and DF set (mtu = 1300)"* ]] ||
		fail "1428-byte DF ping over a 1300-byte shared device: '$out', want frag needed from 169.254.1.1" || return
	[ "$mtu" = 1300 ] || fail "sbx3's route to $R1 has mtu '$mtu', want 1300" || return
	after=$(counter icmp_error_sent)
	[ "$after" -ge $((before + 2)) ] ||
		fail "icmp_error_sent went $before -> $after, want +2" || return
}

# ---- c. timers (vpcT: udp 2 s, icmp 2 s, tcp established 5 s, transitory 1 s)

# A UDP mapping lives while the sandbox sends every second for 5 s
# (outbound refresh, RFC 4787 REQ-6), is gone about 2 s after the last
# packet, and its filter with it: the server's datagram to the old
# endpoint is dropped. Its port is held for its owner (RFC 6888 REQ-8),
# so the same sandbox endpoint gets the same shared endpoint back.
test_udp_mapping_timer() {
	local ns sep=100.64.0.4:41000 rep=$SERVER:$UDP_PORT out eps ep t_last took
	local before after heard pid

	ns=$(sbx_ns 4)
	out=$(peer "$ns" udp-keepalive "$SERVER" "$UDP_PORT" 41000 6 1) ||
		fail "keepalive from $sep: not every datagram was answered: $(tr '\n' '|' <<<"$out")" || return
	t_last=$(now_ms)
	eps=$(while read -r line; do endpoint_of "$line"; done <<<"$out" | sort -u)
	[ "$(wc -l <<<"$eps")" = 1 ] ||
		fail "the server saw several endpoints for $sep over 5 s: $(tr '\n' ' ' <<<"$eps")" || return
	ep=$eps
	# One flow all along: one made again after an expiry counts from 1.
	out=$(flow_field udp "$sep" "$rep" packets_out),$(flow_field udp "$sep" "$rep" packets_in)
	[ "$out" = "6,6" ] ||
		fail "flow $sep -> $rep counts packets out,in '$out', want 6,6 (expired in between?)" || return

	took=$(wait_gone 5000 udp "$sep" "$rep") ||
		fail "flow $sep -> $rep still there 5 s after its last packet (udp timeout 2 s)" || return
	took=$(($(now_ms) - t_last))
	[ "$took" -ge 1500 ] ||
		fail "flow $sep -> $rep gone $took ms after its last packet, before its 2 s timeout" || return

	before=$(counter drop_unsolicited)
	peer "$ns" udp-listen 41000 2 >"$E2E_TMP/late.heard" 2>&1 &
	pid=$!
	wait_until 30 grep -q listening "$E2E_TMP/late.heard" ||
		{ kill "$pid" 2>/dev/null; fail "listener in sbx4 did not start"; return; }
	peer "$(vpc_ns T)" udp-send "$SERVER" "$UDP_PORT" "${ep%:*}" "${ep#*:}" late-datagram
	wait "$pid"
	heard=$(grep -v listening "$E2E_TMP/late.heard")
	[ -z "$heard" ] || fail "sbx4 heard '$heard' through an expired mapping" || return
	after=$(counter drop_unsolicited)
	[ "$after" -ge $((before + 1)) ] ||
		fail "drop_unsolicited went $before -> $after for the late datagram, want +1" || return

	out=$(peer "$ns" udp-keepalive "$SERVER" "$UDP_PORT" 41000 1 0) ||
		fail "$sep after expiry: no answer" || return
	[ "$(endpoint_of "$out")" = "$ep" ] ||
		fail "$sep came back as $(endpoint_of "$out"), not its held $ep" || return
}

# ICMP errors about a UDP flow are translated but never end or refresh it
# (RFC 4787 REQ-12, RFC 5508 REQ-6, RFC 7857 3.7.1): the server's port
# unreachable, then two crafted ones 0.8 and 1.6 s later; the flow stays,
# its idle time keeps growing, and it expires 2 s after its only packet.
# Afterwards an error about it has no flow and is dropped.
test_icmp_error_keeps_flow() {
	local ns vns sep=100.64.0.4:41001 rep=$SERVER:$CLOSED_PORT out t0 ep
	local tr0 tr1 unreach0 unreach1 idle took nf0 nf1

	ns=$(sbx_ns 4)
	vns=$(vpc_ns T)
	tr0=$(counter icmp_error_translated) || fail "cannot read stats --json" || return
	unreach0=$(icmp_in "$ns" InDestUnreachs)
	t0=$(now_ms)
	out=$(peer "$ns" udp-refused "$SERVER" "$CLOSED_PORT" 41001)
	[ "$out" = refused ] ||
		fail "$sep -> $rep: '$out', want the server's port unreachable" || return
	ep=$(flow_field udp "$sep" "$rep" shared_endpoint) ||
		fail "the port unreachable ended flow $sep -> $rep" || return
	sleep_until "$t0" 800
	peer "$vns" icmp-unreach "$SERVER" "${ep%:*}" "${ep%:*}" "${ep#*:}" "$SERVER" "$CLOSED_PORT" ||
		fail "cannot send a crafted port unreachable from vpcT" || return
	sleep_until "$t0" 1600
	peer "$vns" icmp-unreach "$SERVER" "${ep%:*}" "${ep%:*}" "${ep#*:}" "$SERVER" "$CLOSED_PORT"
	idle=$(flow_field udp "$sep" "$rep" idle_ms) ||
		fail "flow $sep -> $rep gone after the errors, before its 2 s timeout" || return
	[ "$idle" -ge 1400 ] ||
		fail "flow $sep -> $rep idle $idle ms at 1.6 s: an ICMP error refreshed it" || return
	tr1=$(counter icmp_error_translated)
	[ "$tr1" -ge $((tr0 + 3)) ] ||
		fail "icmp_error_translated went $tr0 -> $tr1, want +3" || return
	sleep 0.1
	unreach1=$(icmp_in "$ns" InDestUnreachs)
	[ "$unreach1" -ge $((unreach0 + 3)) ] ||
		fail "sbx4 received $((unreach1 - unreach0)) destination unreachables, want 3" || return
	wait_gone 3000 udp "$sep" "$rep" >/dev/null ||
		fail "flow $sep -> $rep still there 4.6 s after its only packet" || return
	took=$(($(now_ms) - t0))
	[ "$took" -le 3300 ] ||
		fail "flow $sep -> $rep lived $took ms: the errors at 0.8 and 1.6 s refreshed it (timeout 2 s)" || return

	nf0=$(counter drop_icmp_error_no_flow)
	peer "$vns" icmp-unreach "$SERVER" "${ep%:*}" "${ep%:*}" "${ep#*:}" "$SERVER" "$CLOSED_PORT"
	sleep 0.2
	nf1=$(counter drop_icmp_error_no_flow)
	[ "$nf1" -ge $((nf0 + 1)) ] ||
		fail "an error about the expired flow: drop_icmp_error_no_flow went $nf0 -> $nf1, want +1" || return
}

# TCP: three connections to vpcT's echo at once.
#  A: a line a second for 5 s, then silent (established; test_tcp_established_timer)
#  B: two lines a second apart, then closed both ways (FIN each way)
#  C: one line, then reset (SO_LINGER 0)
# C stays after its RST for the transitory timeout (RFC 7857 3.2: not at
# once), then goes; B goes the transitory timeout (1 s) after its close,
# not up to the established one (5 s) later (RFC 5382 REQ-5, RFC 7857 3.1;
# with the defaults that is 4 min against 2 h 4 min of a port held by a
# closed connection). B closes just after the flow's first expiry check,
# which found it established.
TCP_A=100.64.0.4:42000
TCP_A_PID=
test_tcp_transitory_timer() {
	local ns rep=$SERVER:$HOLD_PORT sep_b=100.64.0.4:42001 sep_c=100.64.0.4:42002
	local pid_b pid_c state t took

	ns=$(sbx_ns 4)
	peer "$ns" tcp-timeline "$SERVER" "$HOLD_PORT" 42000 6 hold 8 >"$E2E_TMP/tcp-a" 2>&1 &
	TCP_A_PID=$!
	peer "$ns" tcp-timeline "$SERVER" "$HOLD_PORT" 42001 2 close >"$E2E_TMP/tcp-b" 2>&1 &
	pid_b=$!
	peer "$ns" tcp-timeline "$SERVER" "$HOLD_PORT" 42002 1 rst >"$E2E_TMP/tcp-c" 2>&1 &
	pid_c=$!

	wait_until 30 grep -q reset "$E2E_TMP/tcp-c" ||
		{ kill "$pid_b" "$pid_c" 2>/dev/null; fail "connection C: $(tr '\n' '|' <"$E2E_TMP/tcp-c")"; return; }
	t=$(now_ms)
	state=$(flow_field tcp "$sep_c" "$rep" state) ||
		{ kill "$pid_b" 2>/dev/null; fail "flow $sep_c went with its RST, want it kept for the transitory timeout"; return; }
	[ "$state" = closed ] ||
		{ kill "$pid_b" 2>/dev/null; fail "flow $sep_c after its RST is in state '$state', want closed"; return; }
	took=$(wait_gone 3000 tcp "$sep_c" "$rep") ||
		{ kill "$pid_b" 2>/dev/null; fail "flow $sep_c still there 3 s after its RST (transitory 1 s)"; return; }
	took=$(($(now_ms) - t))
	[ "$took" -le 2000 ] ||
		{ kill "$pid_b" 2>/dev/null; fail "flow $sep_c went $took ms after its RST, want about 1 s"; return; }

	wait_until 80 grep -q closed "$E2E_TMP/tcp-b" ||
		{ kill "$pid_b" 2>/dev/null; fail "connection B: $(tr '\n' '|' <"$E2E_TMP/tcp-b")"; return; }
	t=$(now_ms)
	wait "$pid_b" "$pid_c" 2>/dev/null
	state=$(flow_field tcp "$sep_b" "$rep" state)
	[ -z "$state" ] || [ "$state" = closed ] ||
		fail "flow $sep_b after FIN both ways is in state '$state', want closed" || return
	took=$(wait_gone 6000 tcp "$sep_b" "$rep") ||
		fail "flow $sep_b still there 6 s after its close (transitory 1 s)" || return
	took=$(($(now_ms) - t))
	[ "$took" -le 1600 ] ||
		fail "flow $sep_b went $took ms after FIN both ways, want about 1 s (transitory timeout; established 5 s): the close did not shorten its expiry" || return
}

# A: established and silent after 5 s of lines, it outlives the transitory
# timeout (1 s) and goes after the established one (5 s).
test_tcp_established_timer() {
	local rep=$SERVER:$HOLD_PORT state t_last took

	[ -n "$TCP_A_PID" ] || fail "connection A was not started (test_tcp_transitory_timer)" || return
	wait_until 80 grep -q 'echo 5' "$E2E_TMP/tcp-a" ||
		{ kill "$TCP_A_PID" 2>/dev/null; fail "connection A: $(tr '\n' '|' <"$E2E_TMP/tcp-a")"; return; }
	t_last=$(now_ms)
	state=$(flow_field tcp "$TCP_A" "$rep" state) ||
		{ kill "$TCP_A_PID" 2>/dev/null; fail "flow $TCP_A gone while its lines flowed"; return; }
	[ "$state" = established ] ||
		{ kill "$TCP_A_PID" 2>/dev/null; fail "flow $TCP_A is in state '$state', want established"; return; }
	sleep_until "$t_last" 2500
	state=$(flow_field tcp "$TCP_A" "$rep" state) ||
		{ kill "$TCP_A_PID" 2>/dev/null; fail "established flow $TCP_A gone after 2.5 s idle (established timeout 5 s)"; return; }
	took=$(wait_gone 5000 tcp "$TCP_A" "$rep") ||
		{ kill "$TCP_A_PID" 2>/dev/null; fail "established flow $TCP_A still there 7.5 s after its last packet"; return; }
	took=$(($(now_ms) - t_last))
	# The connection ends by itself (it holds 8 s, then closes).
	wait "$TCP_A_PID" 2>/dev/null
	TCP_A_PID=
	[ "$took" -ge 4000 ] ||
		fail "established flow $TCP_A went $took ms after its last packet, before its 5 s timeout" || return
}

# ---- d. several shared addresses, spill-over, exhaustion ----------------------

# spill_round N SPORTS...: one datagram from each of sandbox N's SPORTS to
# vpcM's echo; prints "SPORT ENDPOINT" or "SPORT none".
spill_round() {
	local n=$1 sport line

	shift
	peer "$(sbx_ns "$n")" udp-each "$SERVER" "$UDP_PORT" 0.5 "$@" |
		while read -r sport line; do
			if [ "$line" = none ]; then
				echo "$sport none"
			else
				echo "$sport $(endpoint_of "$line")"
			fi
		done
}

# vpcM: two shared addresses, 4 ports each. sbx5 sends from 40000-40003
# and keeps its ports on the first address (port preservation, RFC 4787
# REQ-3a/4); sbx6 sends from the same four ports: the first address has
# none left, so its mappings spill to the second, each with its own port
# again. No shared endpoint serves two (no port overloading, REQ-3). A
# ninth and tenth endpoint find every port taken: dropped and counted
# (drop_no_port, RFC 6888 REQ-11's resource limit, no eviction), and the
# eight live mappings keep working with the same endpoints.
test_spill_over() {
	local out before after n sport ep want first=() all unreachable

	before=$(counter drop_no_port) || fail "cannot read stats --json" || return
	for n in 5 6; do
		out=$(spill_round "$n" 40000 40001 40002 40003)
		while read -r sport ep; do
			if [ "$n" = 5 ]; then want=$SHARED:$sport; else want=$SHARED2:$sport; fi
			[ "$ep" = "$want" ] ||
				fail "sbx$n:$sport mapped to '$ep', want $want" || return
			first+=("$n:$sport=$ep")
		done <<<"$out"
	done
	[ ${#first[@]} = 8 ] || fail "${#first[@]} endpoints mapped, want 8: ${first[*]}" || return
	all=$(printf '%s\n' "${first[@]}" | cut -d= -f2 | sort -u | wc -l)
	[ "$all" = 8 ] || fail "two endpoints share a shared endpoint: ${first[*]}" || return

	out=$(spill_round 5 50000)$'\n'$(spill_round 6 50001)
	[ "$(cut -d' ' -f2 <<<"$out" | sort -u)" = none ] ||
		fail "with every shared port taken: $(tr '\n' ' ' <<<"$out")" || return
	after=$(counter drop_no_port)
	[ "$after" -ge $((before + 2)) ] ||
		fail "drop_no_port went $before -> $after, want +2" || return
	unreachable=$(icmp_in "$(sbx_ns 5)" InDestUnreachs)
	[ "$unreachable" -ge 1 ] ||
		fail "sbx5 heard no destination unreachable for its refused flow (RFC 5508 REQ-8)" || return

	for n in 5 6; do
		out=$(spill_round "$n" 40000 40001 40002 40003)
		while read -r sport ep; do
			printf '%s\n' "${first[@]}" | grep -qx "$n:$sport=$ep" ||
				fail "sbx$n:$sport answered as '$ep' after the drops, not as before: ${first[*]}" || return
		done <<<"$out"
	done
}

# A free port of the right parity is found however small the range: not
# dropped (RFC 6888 REQ-13, maximize port utilization) and not given a port
# of the other parity (RFC 4787 REQ-4) while one of its own is free.
# vpcR: endpoint-dependent mapping, ports 40000-40003. For each of ten
# remotes, sbx7:40002 first takes 40002 (its own port); then an even port
# from outside the range must get 40000, the only even port left towards
# that remote. Each try draws a new random start for the probes; with an
# odd start, candidate_port()'s parity probes ask for 40001 and 40003 and
# turn both into 40002, so 40000 is only found by chance or not at all.
test_port_range_probing() {
	local port out ep dropped=0 odd=0 tries=0 sport d0 d1

	d0=$(counter drop_no_port) || fail "cannot read stats --json" || return
	for port in $ECHO_PORTS; do
		tries=$((tries + 1))
		sport=$((50000 + 2 * tries))
		out=$(peer "$(sbx_ns 7)" udp-each "$SERVER" "$port" 0.5 40002)
		[ "$(cut -d' ' -f3 <<<"$out")" = "$SHARED:40002" ] ||
			fail "sbx7:40002 -> $SERVER:$port: '$out', want its own port $SHARED:40002" || return
		out=$(peer "$(sbx_ns 7)" udp-each "$SERVER" "$port" 0.5 "$sport")
		ep=$(cut -d' ' -f3 <<<"$out")
		case $ep in
		"$SHARED:40000") ;;
		"$SHARED:40001" | "$SHARED:40003") odd=$((odd + 1)) ;;
		"") dropped=$((dropped + 1)) ;;
		*) fail "sbx7:$sport -> $SERVER:$port: '$out', want $SHARED:40000" || return ;;
		esac
	done
	d1=$(counter drop_no_port)
	[ "$dropped" = 0 ] && [ "$odd" = 0 ] ||
		fail "of $tries new flows from an even port while $SHARED:40000 was free towards their remote, $dropped were dropped (drop_no_port $d0 -> $d1) and $odd got an odd port" || return
}

# An ICMP error from a sandbox about a packet it received goes out
# translated (RFC 5508 REQ-5): sbx1 opens a flow to vpcS's closed port
# 9555; a socket on that very port in vpcS then sends to sbx1's shared
# endpoint (the flow's remote, so the filter admits it); nothing listens
# on sbx1:44001, sbx1's port unreachable must reach the vpcS socket.
test_outbound_icmp_error() {
	local out ep tr0 tr1

	out=$(peer "$(sbx_ns 1)" udp-refused "$SERVER" "$CLOSED_PORT" 44001)
	[ "$out" = refused ] ||
		fail "sbx1:44001 -> $SERVER:$CLOSED_PORT: '$out', want the server's port unreachable" || return
	ep=$(flow_field udp 100.64.0.1:44001 "$SERVER:$CLOSED_PORT" shared_endpoint) ||
		fail "no flow 100.64.0.1:44001 -> $SERVER:$CLOSED_PORT" || return
	tr0=$(counter icmp_error_translated) || fail "cannot read stats --json" || return
	out=$(peer "$(vpc_ns S)" udp-refused "${ep%:*}" "${ep#*:}" "$CLOSED_PORT")
	tr1=$(counter icmp_error_translated)
	[ "$out" = refused ] ||
		fail "vpcS:$CLOSED_PORT -> $ep got '$out', want sbx1's port unreachable (icmp_error_translated $tr0 -> $tr1)" || return
	[ "$tr1" -ge $((tr0 + 1)) ] ||
		fail "icmp_error_translated went $tr0 -> $tr1, want +1" || return
}

# ---- e. hairpinning (RFC 4787 REQ-9, 9a; RFC 5382 REQ-8) ----------------------

# Two sandboxes of vpcS learn their shared endpoints from the echo server.
# a punches b's endpoint (dropped: b's filter does not know a yet), b sends
# to a's endpoint (delivered: a's punch opened it), a answers; each must
# see the other's shared endpoint as the source.
test_hairpinning() {
	local dir=$E2E_TMP/hairpin pid_a pid_b a b ma mb hp0 hp1 nf0 nf1

	mkdir -p "$dir"
	hp0=$(counter hairpinned) && nf0=$(counter drop_hairpin_no_flow) ||
		fail "cannot read stats --json" || return
	peer "$(sbx_ns 1)" hairpin a "$SERVER" "$UDP_PORT" 43001 "$dir" >"$dir/a.out" 2>&1 &
	pid_a=$!
	peer "$(sbx_ns 2)" hairpin b "$SERVER" "$UDP_PORT" 43002 "$dir" >"$dir/b.out" 2>&1 &
	pid_b=$!
	wait "$pid_a" "$pid_b"
	a=$(cat "$dir/a.out") b=$(cat "$dir/b.out")
	ma=$(sed -n 's/^mapped //p' <<<"$a")
	mb=$(sed -n 's/^mapped //p' <<<"$b")
	[ -n "$ma" ] && [ -n "$mb" ] || fail "no mappings: a '$a', b '$b'" || return
	[[ $ma == "$SHARED:"* && $mb == "$SHARED:"* && $ma != "$mb" ]] ||
		fail "mappings $ma and $mb" || return
	grep -qx "heard hello-from-b from $mb" <<<"$a" ||
		fail "sbx1 ($ma) heard '$(grep heard <<<"$a")', want hello-from-b from $mb" || return
	grep -qx "heard answer-from-a from $ma" <<<"$b" ||
		fail "sbx2 ($mb) heard '$(grep heard <<<"$b")', want answer-from-a from $ma" || return
	hp1=$(counter hairpinned) && nf1=$(counter drop_hairpin_no_flow)
	[ "$hp1" -ge $((hp0 + 2)) ] || fail "hairpinned went $hp0 -> $hp1, want +2" || return
	[ "$nf1" -ge $((nf0 + 1)) ] ||
		fail "drop_hairpin_no_flow went $nf0 -> $nf1, want +1 (the punch)" || return
}

# Hairpinned ICMP errors (RFC 5508 REQ-7, RFC 7857 3.12): after
# test_hairpinning, nothing listens on sbx1:43001 any more. sbx2 sends to
# sbx1's shared endpoint again: hairpinned to sbx1, whose kernel answers
# "port unreachable" to sbx2's shared endpoint. That error must be
# hairpinned too, and reach sbx2's socket as ECONNREFUSED.
test_hairpinned_icmp_error() {
	local out ma hp0 hp1 tr0 tr1 out1 out0

	ma=$(sed -n 's/^mapped //p' "$E2E_TMP/hairpin/a.out" 2>/dev/null)
	[ -n "$ma" ] || fail "no mapping of sbx1 from test_hairpinning" || return
	hp0=$(counter hairpinned) && tr0=$(counter icmp_error_translated) ||
		fail "cannot read stats --json" || return
	out0=$(icmp_in "$(sbx_ns 1)" OutDestUnreachs)
	out=$(peer "$(sbx_ns 2)" udp-refused "${ma%:*}" "${ma#*:}" 43002)
	hp1=$(counter hairpinned) && tr1=$(counter icmp_error_translated)
	out1=$(icmp_in "$(sbx_ns 1)" OutDestUnreachs)
	[ "$hp1" -ge $((hp0 + 1)) ] ||
		fail "sbx2's datagram to $ma was not hairpinned (hairpinned $hp0 -> $hp1)" || return
	[ "$out1" -ge $((out0 + 1)) ] ||
		fail "sbx1 sent no port unreachable for the hairpinned datagram" || return
	[ "$out" = refused ] ||
		fail "sbx2 got '$out', want the port unreachable from sbx1 (icmp_error_translated $tr0 -> $tr1: the error was translated but not hairpinned)" || return
}

# TCP hairpinning (RFC 5382 REQ-8) through a simultaneous open (REQ-2):
# sbx1 (a) and sbx2 (b) learn their TCP mappings from vpcS's greeting and
# keep that connection open, so each mapping stays; then each connects from
# the same port to the other's shared endpoint. a's SYN goes first and is
# filtered (drop_hairpin_no_flow: b has no flow to a yet); b's SYN,
# hairpinned, meets a's socket in SYN-SENT (nothing listens on sbx1), which
# answers SYN-ACK: both connects complete, a's by simultaneous open, and
# each hears the other's line. Both flows use the mapping the server saw
# (endpoint-independent, REQ-1).
test_tcp_hairpinning() {
	local dir=$E2E_TMP/tcp-hairpin pid_a pid_b a b ma mb ep hp0 hp1 nf0 nf1

	mkdir -p "$dir"
	hp0=$(counter hairpinned) && nf0=$(counter drop_hairpin_no_flow) ||
		fail "cannot read stats --json" || return
	peer "$(sbx_ns 1)" tcp-hairpin a "$SERVER" "$HOLD_PORT" 43101 "$dir" >"$dir/a.out" 2>&1 &
	pid_a=$!
	peer "$(sbx_ns 2)" tcp-hairpin b "$SERVER" "$HOLD_PORT" 43102 "$dir" >"$dir/b.out" 2>&1 &
	pid_b=$!
	wait "$pid_a" "$pid_b"
	a=$(cat "$dir/a.out") b=$(cat "$dir/b.out")
	hp1=$(counter hairpinned) && nf1=$(counter drop_hairpin_no_flow)
	ma=$(sed -n 's/^mapped //p' <<<"$a")
	mb=$(sed -n 's/^mapped //p' <<<"$b")
	[ -n "$ma" ] && [ -n "$mb" ] ||
		fail "no mappings: a '$(tr '\n' '|' <<<"$a")', b '$(tr '\n' '|' <<<"$b")'" || return
	[[ $ma == "$SHARED:"* && $mb == "$SHARED:"* && $ma != "$mb" ]] ||
		fail "mappings $ma and $mb" || return
	grep -qx "connected to $mb" <<<"$a" && grep -qx "connected to $ma" <<<"$b" ||
		fail "no connection: sbx1 ($ma) '$(tr '\n' '|' <<<"$a")', sbx2 ($mb) '$(tr '\n' '|' <<<"$b")' (hairpinned $hp0 -> $hp1, drop_hairpin_no_flow $nf0 -> $nf1)" || return
	grep -qx "heard hello-from-b" <<<"$a" && grep -qx "heard hello-from-a" <<<"$b" ||
		fail "lines: sbx1 '$(grep heard <<<"$a")', sbx2 '$(grep heard <<<"$b")', want each the other's hello" || return
	ep=$(flow_field tcp 100.64.0.1:43101 "$mb" shared_endpoint)
	[ "$ep" = "$ma" ] ||
		fail "flow 100.64.0.1:43101 -> $mb has shared endpoint '$ep', want $ma (the server's)" || return
	ep=$(flow_field tcp 100.64.0.2:43102 "$ma" shared_endpoint)
	[ "$ep" = "$mb" ] ||
		fail "flow 100.64.0.2:43102 -> $ma has shared endpoint '$ep', want $mb (the server's)" || return
	[ "$hp1" -ge $((hp0 + 5)) ] ||
		fail "hairpinned went $hp0 -> $hp1, want +5 (SYN, SYN-ACK, ACK, two lines)" || return
	[ "$nf1" -ge $((nf0 + 1)) ] ||
		fail "drop_hairpin_no_flow went $nf0 -> $nf1, want +1 (a's first SYN)" || return
}

test_teardown() {
	teardown_all
}

# ---- runner --------------------------------------------------------------------

cleanup() {
	[ -n "${TCP_A_PID:-}" ] && kill "$TCP_A_PID" 2>/dev/null
	e2e_cleanup
}

main() {
	e2e_start cleanup "$@"

	run_test tools
	run_test topology
	run_test stun_discovery
	run_test stun_hairpinning
	run_test stun_fragments
	run_test reordered_fragments
	run_test ttl_exceeded
	run_test pmtu_upload
	run_test own_icmp_errors
	run_test udp_mapping_timer
	run_test icmp_error_keeps_flow
	run_test tcp_transitory_timer
	run_test tcp_established_timer
	run_test spill_over
	run_test port_range_probing
	run_test outbound_icmp_error
	run_test hairpinning
	run_test tcp_hairpinning
	run_test hairpinned_icmp_error
	run_test teardown
	e2e_summary
}

main "$@"

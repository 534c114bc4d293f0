#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# netns end-to-end tests: real clients in sandbox namespaces reach real
# servers in a customer (vpc) namespace through sharenat, and the CLI is
# driven the way users drive it.
#
# Usage (as root): tests/e2e/run.sh PATH_TO_SHARENAT
# Prints PASS/FAIL per test and closes with "e2e: N passed, M failed";
# exits 0 only if nothing failed.
#
# Topology (tools/topology.sh, one per-run PREFIX, all removed on exit):
#  [sbx1 100.64.0.1] f1 --+
#  [sbx2 100.64.0.2] f1 --+--[host] eA 10.0.1.5 ==== [vpcA 10.0.1.0/24:
#  [sbx3 100.64.0.3] f2 --+                           nginx and socat on .10]
#
# Traffic goes only to addresses inside the namespaces made here, and every
# client runs under a timeout (timeout, curl --max-time, ping -c/-W).
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
HTTP_PORT=8080
UDP_PORT=9000
PROBE_PORT=5555		# nothing ever opens a flow on it
SAME_PORT=40000		# the source port two sandboxes share
BULK_PORT=9100
IPERF_PORT=5201
URL=http://$SERVER:$HTTP_PORT/
SANDBOXES=(1 2 3)
declare -A FUNCTION_OF=([1]=f1 [2]=f1 [3]=f2)
ALIVE=(1 2 3)		# sandboxes not deleted yet

# Names that exist once topo_init has chosen PREFIX.
vpc_ns() { echo "$PREFIX-vpcA"; }
sbx_ns() { echo "$PREFIX-sbx$1"; }
shared_dev() { echo "${PREFIX}eA"; }
sbx_dev() { echo "${PREFIX}s$1"; }

# ---- servers in the vpc namespace ------------------------------------

# nginx with its own config, logs and pid under the temp dir; the access
# log records the address the server saw, which must be the shared one.
start_nginx() {
	local dir=$E2E_TMP/nginx

	mkdir -p "$dir" || return 1
	# 16 MiB of noise for the bulk test; nginx workers run as nobody.
	head -c 16777216 /dev/urandom >"$dir/blob" && chmod 644 "$dir/blob" || return 1
	cat >"$dir/nginx.conf" <<-EOF
		worker_processes 1;
		pid $dir/nginx.pid;
		error_log $dir/error.log warn;
		events { worker_connections 512; }
		http {
			log_format peer '\$remote_addr \$remote_port \$status';
			access_log $dir/access.log peer;
			client_body_temp_path $dir/body;
			proxy_temp_path $dir/proxy;
			fastcgi_temp_path $dir/fastcgi;
			uwsgi_temp_path $dir/uwsgi;
			scgi_temp_path $dir/scgi;
			server {
				listen $SERVER:$HTTP_PORT backlog=512;
				default_type text/plain;
				location / {
					return 200 "hello from vpcA, you are \$remote_addr\n";
				}
				location = /blob {
					alias $dir/blob;
				}
			}
		}
	EOF
	# Daemonised: it returns once the master runs; -e keeps even the
	# startup log out of /var/log.
	in_ns "$(vpc_ns)" nginx -p "$dir" -e "$dir/error.log" \
		-c "$dir/nginx.conf" || return 1
	# Wait on the socket, not with a request: a request from inside the
	# vpc would put the server's own address into the access log.
	wait_until 50 listening "$(vpc_ns)" tcp "$HTTP_PORT"
}

stop_nginx() {
	local pidfile=${E2E_TMP:-/nonexistent}/nginx/nginx.pid

	[ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
}

# A UDP echo server: one line in, the line and the peer's address out; the
# peer is also logged so the test can see what the server saw. The
# timeout only backs up the cleanup.
start_udp_echo() {
	local log=$E2E_TMP/udp-peers.log

	: >"$log"
	# shellcheck disable=SC2016 # $line and $SOCAT_PEERADDR are the server's
	in_ns "$(vpc_ns)" timeout 300 socat \
		UDP4-LISTEN:$UDP_PORT,bind=$SERVER,fork,reuseaddr \
		SYSTEM:'read -r line; echo "$line from $SOCAT_PEERADDR"; echo "$SOCAT_PEERADDR" >>'"$log" \
		</dev/null >/dev/null 2>&1 &
	UDP_ECHO_PID=$!
	wait_until 50 listening "$(vpc_ns)" udp "$UDP_PORT"
}

stop_servers() {
	stop_nginx
	[ -n "${UDP_ECHO_PID:-}" ] && kill "$UDP_ECHO_PID" 2>/dev/null
	UDP_ECHO_PID=
}

# ---- clients in sandboxes ----------------------------------------------

# ping_ok N: three echo requests from sandbox N, all answered.
ping_ok() {
	local out

	out=$(in_ns "$(sbx_ns "$1")" ping -n -c 3 -i 0.2 -W 1 "$SERVER" 2>&1)
	grep -q ' 3 received, 0% packet loss' <<<"$out" || {
		grep -E 'received|unreachable' <<<"$out" | head -1
		return 1
	}
	# The very first packet too: its reply waited on two ARP resolutions.
	grep -q 'icmp_seq=1 ' <<<"$out" || { echo "no reply to icmp_seq=1"; return 1; }
}

# http_get N [CURL_ARGS...]: GET from sandbox N; prints the body.
http_get() {
	local n=$1

	shift
	in_ns "$(sbx_ns "$n")" curl -sS --fail --max-time 5 "$@" "$URL" 2>&1
}

# udp_ask N LINE: send LINE from sandbox N to the echo server, print the
# reply. socat waits -t 1 s after stdin ends for the answer.
udp_ask() {
	in_ns "$(sbx_ns "$1")" timeout 5 socat -t 1 - \
		UDP4:$SERVER:$UDP_PORT <<<"$2" 2>&1
}

# flows_of N: sharenat's flows whose sandbox end is sandbox N's address
# (by address, not id, so a flow left behind a deleted sandbox shows too).
flows_of() {
	query flows "[f for f in d if f['sandbox_endpoint'].startswith('100.64.0.$1:')]"
}

# ---- tests ---------------------------------------------------------------

test_tools() {
	[ "$(id -u)" -eq 0 ] || fail "must run as root (netns, BPF)" || return
	need ip nsenter ss timeout curl socat nginx ping iperf3 python3 || return
	[ -x "$SHARENAT" ] || fail "$SHARENAT is not an executable" || return
}

# The design's topology with one vpc, the servers listening (before any
# sharenat command, so a sharenat failure never reads as a server one), the
# shared device attached and both functions defined.
test_topology() {
	local n fn dev err

	topo_init || fail "topo_init failed" || return
	topo_vpc A 10.0.1 || fail "topo_vpc A failed" || return
	for n in "${SANDBOXES[@]}"; do
		topo_sandbox "$n" || fail "topo_sandbox $n failed" || return
	done
	start_nginx || fail "nginx did not listen on $SERVER:$HTTP_PORT: $(tail -2 "$E2E_TMP/nginx/error.log" 2>/dev/null)" || return
	start_udp_echo || fail "socat did not listen on $SERVER:$UDP_PORT/udp" || return
	dev=$(shared_dev)
	err=$(sn attach "$dev" --subnet "$SUBNET" --ip "$SHARED" 2>&1) ||
		fail "attach $dev exited $?: $err" || return
	for fn in f1 f2; do
		err=$(sn function add "$fn" --subnet "$SUBNET" 2>&1) ||
			fail "function add $fn exited $?: $err" || return
	done
}

# 1. sandbox add is the cold start path: it reports its latency.
test_sandbox_add_latency() {
	local n out

	for n in "${SANDBOXES[@]}"; do
		out=$(sn sandbox add "s$n" --function "${FUNCTION_OF[$n]}" \
			--dev "$(sbx_dev "$n")" --ip "100.64.0.$n" 2>&1) ||
			fail "sandbox add s$n exited $?: $out" || return
		grep -Eq "^sandbox s$n attached in [0-9]+(\.[0-9]+)? us" <<<"$out" ||
			fail "sandbox add s$n printed no latency: '$out'" || return
	done
}

# 2. ICMP echo through the NAT from every sandbox, first packet included:
# this is each sandbox's first traffic, so nothing is cached anywhere.
test_ping() {
	local n why

	need ping || return
	for n in "${SANDBOXES[@]}"; do
		why=$(ping_ok "$n") || fail "sbx$n -> $SERVER: $why" || return
	done
}

# 3. TCP: the body arrives, and the server saw only the shared address.
test_http_get() {
	local n body log=$E2E_TMP/nginx/access.log

	need curl || return
	for n in "${SANDBOXES[@]}"; do
		body=$(http_get "$n") || fail "curl from sbx$n: $body" || return
		[ "$body" = "hello from vpcA, you are $SHARED" ] ||
			fail "sbx$n got body '$body'" || return
	done
	[ "$(grep -c "^$SHARED " "$log")" -ge 3 ] ||
		fail "access log has fewer than 3 requests from $SHARED: $(head -3 "$log")" || return
	! grep -q '^100\.' "$log" ||
		fail "the server saw a sandbox address: $(grep -m1 '^100\.' "$log")" || return
	! grep -vq "^$SHARED " "$log" ||
		fail "the server saw another address: $(grep -vm1 "^$SHARED " "$log")" || return
}

# 4. UDP: request and reply, and the server saw the shared address.
test_udp_echo() {
	local n reply log=$E2E_TMP/udp-peers.log

	need socat || return
	for n in "${SANDBOXES[@]}"; do
		reply=$(udp_ask "$n" "ping-from-sbx$n")
		[ "$reply" = "ping-from-sbx$n from $SHARED" ] ||
			fail "sbx$n got '$reply' over udp" || return
	done
	[ "$(grep -c "^$SHARED\$" "$log")" -eq 3 ] ||
		fail "udp server saw: $(sort "$log" | uniq -c | tr '\n' ' ')" || return
}

# 5. Two sandboxes, one source port, one server port: the NAT must give
# them two shared ports or the replies would collide.
test_same_source_port() {
	local n body ports

	need curl python3 || return
	for n in 1 2; do
		body=$(http_get "$n" --local-port "$SAME_PORT") ||
			fail "curl --local-port $SAME_PORT from sbx$n: $body" || return
		[ "$body" = "hello from vpcA, you are $SHARED" ] ||
			fail "sbx$n got body '$body'" || return
	done
	ports=$(query flows "sorted(f['shared_endpoint'] for f in d
		if f['proto'] == 'tcp' and f['remote_endpoint'] == '$SERVER:$HTTP_PORT'
		and f['sandbox_endpoint'].endswith(':$SAME_PORT'))") ||
		fail "cannot read flows --json" || return
	[ "$(json 'len(d)' <<<"$ports")" = 2 ] ||
		fail "want 2 flows from port $SAME_PORT, have $ports" || return
	[ "$(json 'len(set(d))' <<<"$ports")" = 2 ] ||
		fail "both flows share one shared endpoint: $ports" || return
	json "all(p.startswith('$SHARED:') for p in d)" <<<"$ports" | grep -qx True ||
		fail "shared endpoints not on $SHARED: $ports" || return
}

# 6. 100 concurrent requests spread over the sandboxes, all answered.
test_concurrent_100() {
	local i n dir=$E2E_TMP/concurrent ok codes pids=()

	need curl || return
	mkdir -p "$dir"
	for i in $(seq 1 100); do
		n=${SANDBOXES[$((i % ${#SANDBOXES[@]}))]}
		in_ns "$(sbx_ns "$n")" curl -s -o /dev/null -w '%{http_code}\n' \
			--max-time 5 "$URL" >"$dir/$i" 2>/dev/null &
		pids+=($!)
	done
	# Only these: a bare `wait` would also wait for the servers.
	wait "${pids[@]}"
	ok=$(cat "$dir"/* | grep -cx 200)
	codes=$(cat "$dir"/* | sort | uniq -c | tr -s ' \n' ' ')
	[ "$ok" -eq 100 ] || fail "$ok of 100 answered 200 (codes:$codes)" || return
}

# 7. The read commands, text and JSON, and the counters that prove both
# directions were translated.
test_read_commands() {
	local cmd out egress ingress

	need python3 || return
	for cmd in flows stats status; do
		out=$(sn "$cmd" 2>&1) || fail "$cmd failed: $out" || return
		[ -n "$out" ] || fail "$cmd printed nothing" || return
		out=$(sn "$cmd" --json 2>&1) || fail "$cmd --json failed: $out" || return
		is_json <<<"$out" || fail "$cmd --json is not JSON: ${out:0:200}" || return
	done
	sn flows | head -1 | grep -q '^PROTO ' || fail "flows text has no header" || return
	sn stats | grep -q '^egress_translated ' || fail "stats text lacks egress_translated" || return
	sn status | grep -q "^attachment $(shared_dev) subnet $SUBNET ip $SHARED" ||
		fail "status text lacks the attachment" || return
	[ "$(query status "len(d['sandboxes'])")" = 3 ] ||
		fail "status --json does not list 3 sandboxes" || return
	[ "$(query status "d['flows'] > 0")" = True ] ||
		fail "status --json counts no flows" || return
	egress=$(counter egress_translated) && ingress=$(counter ingress_translated) ||
		fail "stats --json lacks the translation counters" || return
	[ "$egress" -gt 0 ] || fail "egress_translated is $egress" || return
	[ "$ingress" -gt 0 ] || fail "ingress_translated is $ingress" || return
	# Per attachment and per sandbox: every sandbox sent and received.
	[ "$(query stats "all(c['packets_out'] > 0 and c['packets_in'] > 0 for c in d['sandboxes'].values()) and len(d['sandboxes']) == 3")" = True ] ||
		fail "stats --json: a sandbox without traffic counted" || return
	[ "$(query stats "sum(c['packets_out'] for c in d['attachments'].values()) >= $egress")" = True ] ||
		fail "stats --json: the attachment counted fewer packets than egress_translated" || return
}

# 8. Unsolicited traffic to the shared address, on a port no flow uses,
# never reaches a sandbox: listeners in every sandbox hear nothing.
test_unsolicited_ingress() {
	local n before after pids=() heard used

	need socat python3 || return
	used=$(query flows "len([f for f in d if f['shared_endpoint'] == '$SHARED:$PROBE_PORT'])") ||
		fail "cannot read flows --json" || return
	[ "$used" = 0 ] || fail "a flow already uses shared port $PROBE_PORT" || return
	before=$(counter drop_unsolicited) || fail "cannot read stats --json" || return
	for n in "${SANDBOXES[@]}"; do
		: >"$E2E_TMP/heard.$n"
		in_ns "$(sbx_ns "$n")" timeout 3 socat -u \
			UDP4-RECV:$PROBE_PORT,reuseaddr OPEN:"$E2E_TMP/heard.$n",append \
			2>/dev/null &
		pids+=($!)
		in_ns "$(sbx_ns "$n")" timeout 3 socat -u \
			TCP4-LISTEN:$PROBE_PORT,reuseaddr OPEN:"$E2E_TMP/heard.$n",append \
			2>/dev/null &
		pids+=($!)
	done
	for n in "${SANDBOXES[@]}"; do
		wait_until 30 listening "$(sbx_ns "$n")" udp "$PROBE_PORT" &&
			wait_until 30 listening "$(sbx_ns "$n")" tcp "$PROBE_PORT" ||
			fail "listeners in sbx$n did not start" || return
	done
	# Five datagrams and one TCP connect: the shared address was added by
	# sharenat, so all are dropped and counted before the host stack.
	for n in 1 2 3 4 5; do
		echo "unsolicited $n" | in_ns "$(vpc_ns)" timeout 2 socat -u - \
			UDP4:$SHARED:$PROBE_PORT 2>/dev/null
	done
	echo "unsolicited tcp" | in_ns "$(vpc_ns)" timeout 2 socat -u - \
		TCP4:$SHARED:$PROBE_PORT,connect-timeout=1 2>/dev/null
	sleep 0.3
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	heard=$(cat "$E2E_TMP"/heard.*)
	[ -z "$heard" ] || fail "a sandbox received: $heard" || return
	after=$(counter drop_unsolicited) || fail "cannot read stats --json" || return
	[ "$after" -ge $((before + 6)) ] ||
		fail "drop_unsolicited went $before -> $after, want +6" || return
}

# Extra, with 8. Address-and-port-dependent filtering: a live UDP flow's shared port
# answers only the remote it was opened to; the same server from another
# port is refused. The right remote's datagram is the control: it proves
# the listener would have heard the wrong one.
test_filtering_other_remote() {
	local port reply shared pid heard

	need socat python3 || return
	port=$((SAME_PORT + 1))
	: >"$E2E_TMP/filtered"
	reply=$(in_ns "$(sbx_ns 1)" timeout 5 socat -t 1 - \
		UDP4:$SERVER:$UDP_PORT,sourceport=$port <<<"open" 2>&1)
	[ "$reply" = "open from $SHARED" ] || fail "udp flow not opened: '$reply'" || return
	shared=$(query flows "[f['shared_endpoint'] for f in d
		if f['proto'] == 'udp' and f['sandbox_endpoint'] == '100.64.0.1:$port'][0]") ||
		fail "flows --json has no flow for 100.64.0.1:$port" || return
	in_ns "$(sbx_ns 1)" timeout 3 socat -u UDP4-RECV:$port,reuseaddr \
		OPEN:"$E2E_TMP/filtered",append 2>/dev/null &
	pid=$!
	wait_until 30 listening "$(sbx_ns 1)" udp "$port" ||
		fail "listener in sbx1 did not start" || return
	echo "from the wrong port" | in_ns "$(vpc_ns)" timeout 2 socat -u - \
		UDP4:"$shared",bind=$SERVER,sourceport=$((UDP_PORT + 1)) 2>/dev/null
	# The echo server holds $SERVER:$UDP_PORT with SO_REUSEADDR too.
	echo "from the flow's remote" | in_ns "$(vpc_ns)" timeout 2 socat -u - \
		UDP4:"$shared",bind=$SERVER:$UDP_PORT,reuseaddr 2>/dev/null
	wait_until 20 grep -q "from the flow's remote" "$E2E_TMP/filtered"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	heard=$(cat "$E2E_TMP/filtered")
	[ "$heard" = "from the flow's remote" ] ||
		fail "sbx1 via $shared heard '$heard', want only the flow's remote" || return
}

# 9. sandbox del takes the sandbox's flows with it; its traffic stops, the
# others' does not.
test_sandbox_del() {
	local out n why

	need ping curl python3 || return
	out=$(flows_of 2) || fail "cannot read flows --json" || return
	[ "$out" != "[]" ] || fail "sbx2 has no flows to remove" || return
	out=$(sn sandbox del s2 2>&1) || fail "sandbox del s2 exited $?: $out" || return
	ALIVE=(1 3)
	out=$(flows_of 2) || fail "cannot read flows --json" || return
	[ "$out" = "[]" ] || fail "flows left for s2: $out" || return
	if in_ns "$(sbx_ns 2)" ping -n -c 1 -W 1 "$SERVER" >/dev/null 2>&1; then
		fail "sbx2 still pings after sandbox del"
		return
	fi
	if http_get 2 --max-time 2 >/dev/null; then
		fail "sbx2 still gets HTTP after sandbox del"
		return
	fi
	for n in "${ALIVE[@]}"; do
		why=$(ping_ok "$n") || fail "sbx$n after del: $why" || return
		out=$(http_get "$n") || fail "sbx$n http after del: $out" || return
	done
}

# 10. Bad input fails with the right exit code and one error line, and
# leaves the state exactly as it was.
test_cli_errors() {
	local before after free_dev

	free_dev=$(sbx_dev 2)	# s2 is gone: its device is free again
	before=$(sn status --json) || fail "status --json failed" || return
	cli_error 1 sandbox add s9 --function nosuchfn --dev "$free_dev" --ip 100.64.0.9 || return
	cli_error 1 sandbox add s1 --function f1 --dev "$free_dev" --ip 100.64.0.9 || return
	cli_error 1 sandbox add s9 --function f1 --dev "$free_dev" --ip 10.0.1.99 || return
	cli_error 1 sandbox add s9 --function f1 --dev nosuchdev0 --ip 100.64.0.9 || return
	cli_error 1 sandbox add s9 --function f1 --dev "$free_dev" --ip 100.64.0.1 || return
	cli_error 2 sandbox add s9 --function f1 --dev "$free_dev" --ip 100.64.0.999 || return
	cli_error 2 function add f9 --subnet 10.0.1.0/33 || return
	cli_error 2 function add f9 --subnet 10.0.1.1/24 || return
	cli_error 2 attach "$free_dev" --subnet 10.0.2.0 --ip 10.0.2.5 || return
	cli_error 1 function add f9 --subnet 10.0.9.0/24 || return
	cli_error 1 function add f1 --subnet "$SUBNET" || return
	cli_error 1 function del f1 || return
	cli_error 1 attach nosuchdev0 --subnet 10.0.2.0/24 --ip 10.0.2.5 || return
	cli_error 1 attach "$(shared_dev)" --subnet "$SUBNET" --ip "$SHARED" || return
	cli_error 1 detach nosuchdev0 || return
	cli_error 1 detach "$(shared_dev)" || return
	cli_error 1 sandbox del s2 || return
	cli_error 2 sandbox add || return
	cli_error 2 frobnicate || return
	after=$(sn status --json)
	[ "$before" = "$after" ] ||
		fail "status --json changed: before $before after $after" || return
}

# 10, continued. A device prepared before its sandbox (device add: a pool's
# tap) carries the egress program with no sandbox on it, and drops what it
# sends; a sandbox added on it takes no attach and has traffic at once; its
# del leaves the program for the next one; device del takes it off. Bad
# device commands fail with one line. s2's device is free since its del.
test_prepared_device() {
	local dev out

	dev=$(sbx_dev 2)
	need ping curl tc python3 || return
	out=$(sn device add "$dev" 2>&1) || fail "device add exited $?: $out" || return
	[ -n "$(in_ns "$PREFIX-host" tc filter show dev "$dev" ingress)" ] ||
		fail "no tc filter on $dev after device add" || return
	[ "$(query status "' '.join(x['dev'] for x in d['devices'])")" = "$dev" ] ||
		fail "status --json devices: $(sn status --json)" || return
	! in_ns "$(sbx_ns 2)" ping -n -c 1 -W 1 "$SERVER" >/dev/null 2>&1 ||
		fail "sbx2 pings through a prepared device without a sandbox" || return
	out=$(sn sandbox add s2 --function f1 --dev "$dev" --ip 100.64.0.2 2>&1) ||
		fail "sandbox add on the prepared device exited $?: $out" || return
	out=$(ping_ok 2) || fail "sbx2 on the prepared device: $out" || return
	out=$(http_get 2) || fail "sbx2 http on the prepared device: $out" || return
	out=$(sn sandbox del s2 2>&1) || fail "sandbox del s2 exited $?: $out" || return
	[ -n "$(in_ns "$PREFIX-host" tc filter show dev "$dev" ingress)" ] ||
		fail "sandbox del took the program off the prepared $dev" || return
	! in_ns "$(sbx_ns 2)" ping -n -c 1 -W 1 "$SERVER" >/dev/null 2>&1 ||
		fail "sbx2 still pings after its del" || return
	cli_error 2 device add || return
	cli_error 2 device add "$dev" --mode sideways || return
	cli_error 1 device add "$(shared_dev)" || return
	cli_error 1 attach "$dev" --subnet 10.0.2.0/24 --ip 10.0.2.5 || return
	cli_error 1 device add nosuchdev0 || return
	cli_error 1 device del "$(sbx_dev 1)" || return
	cli_error 1 device del nosuchdev0 || return
	out=$(sn device del "$dev" 2>&1) || fail "device del exited $?: $out" || return
	[ -z "$(in_ns "$PREFIX-host" tc filter show dev "$dev" ingress)" ] ||
		fail "device del left the tc filter on $dev" || return
	[ "$(query status "d['devices']")" = "[]" ] ||
		fail "status --json devices after del: $(sn status --json)" || return
}

# 11. The CLI is a control plane, not a daemon: once its commands have
# exited, traffic still flows.
test_state_survives_cli() {
	local why

	sn status >/dev/null || fail "status failed" || return
	why=$(ping_ok 1) || fail "sbx1 after the CLI exited: $why" || return
}

# 11, continued: take everything down in order; nothing may be left.
test_teardown() {
	local n fn out status

	for n in "${ALIVE[@]}"; do
		out=$(sn sandbox del "s$n" 2>&1) || fail "sandbox del s$n exited $?: $out" || return
	done
	for fn in f1 f2; do
		out=$(sn function del "$fn" 2>&1) || fail "function del $fn exited $?: $out" || return
	done
	out=$(sn detach "$(shared_dev)" 2>&1) || fail "detach exited $?: $out" || return
	status=$(sn status --json) || fail "status --json after detach failed" || return
	[ "$(json "[d['attachments'], d['functions'], d['sandboxes'], d['flows']]" <<<"$status")" = "[[], [], [], 0]" ] ||
		fail "state left after teardown: $status" || return
	# attach added the shared address to the device; detach takes it back.
	! ip -n "$PREFIX-host" -4 addr show dev "$(shared_dev)" | grep -q " $SHARED/" ||
		fail "$SHARED is still on $(shared_dev) after detach" || return
}

# Extra. Bulk TCP both ways with the bytes checked: large GSO packets through
# the NAT exercise the checksum handling of CHECKSUM_PARTIAL skbs, which the
# small segments above do not. Download from nginx, upload to a socat that
# answers with the SHA-256 of what it received.
test_bulk_tcp() {
	local want got pid blob=$E2E_TMP/nginx/blob

	need curl socat sha256sum || return
	want=$(sha256sum <"$blob" | cut -d' ' -f1)
	got=$(in_ns "$(sbx_ns 1)" curl -sS --fail --max-time 10 "${URL}blob" 2>"$E2E_TMP/curl.err" |
		sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] ||
		fail "download of 16 MiB to sbx1 came out as $got, want $want $(cat "$E2E_TMP/curl.err")" || return
	in_ns "$(vpc_ns)" timeout 15 socat TCP4-LISTEN:$BULK_PORT,bind=$SERVER,reuseaddr \
		SYSTEM:sha256sum 2>/dev/null &
	pid=$!
	wait_until 50 listening "$(vpc_ns)" tcp "$BULK_PORT" ||
		{ kill "$pid" 2>/dev/null; fail "bulk upload server did not listen"; return; }
	# socat half-closes after the file and waits up to 5 s for the hash.
	got=$(in_ns "$(sbx_ns 3)" timeout 15 socat -t 5 - TCP4:$SERVER:$BULK_PORT <"$blob" 2>&1 | cut -d' ' -f1)
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ "$got" = "$want" ] || fail "upload of 16 MiB from sbx3 arrived as '$got', want $want" || return
}

# Extra. iperf3 through the NAT, one second each way: it must run clean and
# move data; a flow stalled by bad checksums moves next to nothing. The
# bar (8 MB) is far below what a veth pair does, so it never flakes.
test_iperf3() {
	local out pid

	need iperf3 python3 || return
	in_ns "$(vpc_ns)" timeout 20 iperf3 -s -B "$SERVER" -p "$IPERF_PORT" >/dev/null 2>&1 &
	pid=$!
	wait_until 50 listening "$(vpc_ns)" tcp "$IPERF_PORT" ||
		{ kill "$pid" 2>/dev/null; fail "iperf3 -s did not listen"; return; }
	out=$(in_ns "$(sbx_ns 1)" timeout 10 iperf3 -c "$SERVER" -p "$IPERF_PORT" -t 1 -J 2>&1)
	check_iperf "sbx1 upload" "$out" || { kill "$pid" 2>/dev/null; return 1; }
	out=$(in_ns "$(sbx_ns 3)" timeout 10 iperf3 -c "$SERVER" -p "$IPERF_PORT" -t 1 -R -J 2>&1)
	check_iperf "sbx3 download" "$out" || { kill "$pid" 2>/dev/null; return 1; }
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# check_iperf WHAT JSON: no error, and the receiver got at least 8 MB.
check_iperf() {
	local bytes

	bytes=$(json "d['end']['sum_received']['bytes'] if 'error' not in d else 0" <<<"$2" 2>/dev/null)
	[ "${bytes:-0}" -ge 8000000 ] 2>/dev/null ||
		fail "iperf3 $1 received '${bytes:-nothing}' bytes: $(json "d.get('error', '')" <<<"$2" 2>/dev/null || head -c 200 <<<"$2")"
}

# ---- runner ----------------------------------------------------------------

main() {
	e2e_start e2e_cleanup "$@"

	run_test tools
	run_test topology
	run_test sandbox_add_latency
	run_test ping
	run_test http_get
	run_test udp_echo
	run_test same_source_port
	run_test concurrent_100
	run_test read_commands
	run_test unsolicited_ingress
	run_test filtering_other_remote
	run_test bulk_tcp
	run_test iperf3
	run_test sandbox_del
	run_test cli_errors
	run_test prepared_device
	run_test state_survives_cli
	run_test teardown
	e2e_summary
}

main "$@"

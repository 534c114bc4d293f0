#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Soak: sandboxes are added and removed continuously while traffic runs,
# then nothing of the removed ones may be left, no packet may go
# unaccounted for, and no connection of a sandbox that stayed may be lost.
#
# Usage (as root): tools/soak.sh PATH_TO_SHARENAT     (make soak)
#   SOAK_SECONDS   how long the churn runs (default 120)
#   SOAK_POOL      churned sandbox namespaces (default 16)
#   SOAK_INTERVAL  seconds between churn steps (default 0.25)
#
# Topology (tools/topology.sh, per-run prefix, removed on exit):
#   sbx1, sbx2      function "steady", never removed: two long-lived TCP
#                   echo streams each, to 10.0.1.10:9100
#   sbx3 .. sbxN+2  function "churn": each step picks one; if it is a
#                   sandbox it stops its UDP client and `sandbox del`s it,
#                   else `sandbox add`s it and starts a UDP echo client
#                   (4 sockets, 20 datagrams/s, counts sends and replies)
#   vpcA            10.0.1.10: UDP echo :9000 and TCP echo :9100 servers
#                   that count what they receive and send
# Traffic goes only to that server, every loop is bounded in time, and
# every process is started here and stopped by its id.
#
# Checks, printed with their figures; exit 1 if one fails:
#   - after every churned sandbox is deleted: their flows, mappings, ports,
#     sandbox entries, id entries and tc programs left: 0;
#   - UDP: datagrams the clients sent = the churn function's packets_out +
#     egress drops; packets_out = datagrams the server received = echoes
#     it sent; echoes = packets_in + ingress drops; packets_in = replies
#     the clients received; the functions' packets add up to the global
#     translated counters;
#   - TCP: every stream of the steady sandboxes still established at the
#     end (its flow too), and every byte echoed intact.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=topology.sh
. "$HERE/topology.sh"

PY=/usr/bin/python3
SOAK_SECONDS=${SOAK_SECONDS:-120}
POOL=${SOAK_POOL:-16}
INTERVAL=${SOAK_INTERVAL:-0.25}
SERVER=10.0.1.10
UDP_PORT=9000
TCP_PORT=9100
STEADY=(1 2)
STREAMS_PER_SANDBOX=2
FIRST_CHURN=3
LAST_CHURN=$((FIRST_CHURN + POOL - 1))
# No flow may expire during the run (an expired mapping's port is held
# 120 s for its owner, RFC 6888, and would read as a leak).
TIMEOUT=$((SOAK_SECONDS + 900))
[ "$TIMEOUT" -gt 86400 ] && TIMEOUT=86400

if [ $# -ne 1 ]; then
	echo "usage: $0 PATH_TO_SHARENAT" >&2
	exit 2
fi
# shellcheck disable=SC2034 # used by topology.sh's sn
SHARENAT=$(realpath -e "$1" 2>/dev/null || echo "$1")
if [ "$(id -u)" -ne 0 ]; then
	echo "soak: needs root (BPF, network namespaces)" >&2
	exit 1
fi
for tool in bpftool nsenter tc "$PY"; do
	command -v "$tool" >/dev/null || { echo "soak: missing $tool (make deps)" >&2; exit 1; }
done
if [ "$POOL" -gt 200 ] || [ "$POOL" -lt 1 ]; then
	echo "soak: SOAK_POOL must be 1-200" >&2
	exit 2
fi

SOAK_TMP=$(mktemp -d /tmp/sharenat-soak.XXXXXX)
TRAFFIC=$SOAK_TMP/traffic.py
declare -A CLIENT_PID=()	# churned sandbox -> its UDP client
STREAM_PIDS=()
SERVER_PIDS=()
CLEANED=

stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	local pid
	[ -n "$CLEANED" ] && return
	CLEANED=1
	for pid in "${CLIENT_PID[@]}" "${STREAM_PIDS[@]}" "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${TOPO_NAMESPACES+set}" ] && topo_destroy
	rm -rf "$SOAK_TMP"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# ---- the traffic: servers and clients that count ---------------------------

cat >"$TRAFFIC" <<'EOF'
import select, signal, socket, struct, sys, threading, time

stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)

def write(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")

def udp_server(addr, port, out, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((addr, int(port)))
    s.setblocking(False)
    rx = tx = 0
    end = time.time() + float(seconds)
    print("ready", flush=True)
    while not stop and time.time() < end:
        r, _, _ = select.select([s], [], [], 0.2)
        while r:
            try:
                data, peer = s.recvfrom(4096)
            except BlockingIOError:
                break
            rx += 1
            s.sendto(data, peer)
            tx += 1
    write(out, "%d %d" % (rx, tx))

def udp_client(server, port, sockets, pps, out, seconds):
    socks = []
    for _ in range(int(sockets)):
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.connect((server, int(port)))
        c.setblocking(False)
        socks.append(c)
    sent = recv = errors = 0
    interval = 1.0 / float(pps)
    now = time.time()
    end, due = now + float(seconds), now
    def drain(timeout):
        nonlocal recv
        r, _, _ = select.select(socks, [], [], timeout)
        for c in r:
            while True:
                try:
                    c.recv(4096)
                except BlockingIOError:
                    break
                except OSError:
                    break
                recv += 1
    while not stop and now < end:
        if now >= due:
            try:
                socks[sent % len(socks)].send(struct.pack("!Q", sent) * 8)
                sent += 1
            except OSError:
                errors += 1
            due += interval
        drain(max(0.0, min(due - time.time(), 0.2)))
        now = time.time()
    # What is in flight comes back (or is lost) within a second.
    deadline = time.time() + 1.0
    while recv < sent and time.time() < deadline:
        drain(0.05)
    write(out, "%d %d %d" % (sent, recv, errors))

def tcp_server(addr, port, seconds):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, int(port)))
    srv.listen(64)
    srv.settimeout(0.2)
    end = time.time() + float(seconds)
    def echo(conn):
        conn.settimeout(1.0)
        while not stop and time.time() < end:
            try:
                data = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            conn.sendall(data)
        conn.close()
    print("ready", flush=True)
    while not stop and time.time() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=echo, args=(conn,), daemon=True).start()

def tcp_client(server, port, name, out, seconds):
    sent = 0
    try:
        s = socket.create_connection((server, int(port)), timeout=5)
        s.settimeout(5)
        end = time.time() + float(seconds)
        n = 0
        while not stop and time.time() < end:
            msg = struct.pack("!Q", n) * 128
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    raise OSError("closed by the peer")
                got += chunk
            if got != msg:
                raise OSError("echo corrupted")
            sent += len(msg)
            n += 1
            time.sleep(0.05)
        s.shutdown(socket.SHUT_WR)
        s.close()
        write(out, "%s ok %d" % (name, sent))
    except Exception as e:
        write(out, "%s lost %d %s" % (name, sent, str(e).replace(" ", "_")))

{"udp-server": udp_server, "udp-client": udp_client,
 "tcp-server": tcp_server, "tcp-client": tcp_client}[sys.argv[1]](*sys.argv[2:])
EOF

# ---- helpers ---------------------------------------------------------------

sbx_addr() { echo "100.64.0.$1"; }

# ns_exec NS CMD...: CMD in namespace NS, as this very process (nsenter
# execs it), so `ns_exec ... &` leaves in $! the id to stop it by.
ns_exec() {
	local ns=$1
	shift
	exec nsenter --net=/run/netns/"$ns" "$@"
}

start_udp_client() {
	local k=$1
	(ns_exec "$PREFIX-sbx$k" timeout -s TERM $((SOAK_SECONDS + 30)) \
		"$PY" "$TRAFFIC" udp-client "$SERVER" "$UDP_PORT" 4 20 \
		"$SOAK_TMP/udp-clients" $((SOAK_SECONDS + 20))) &
	CLIENT_PID[$k]=$!
}

stop_udp_client() {
	stop_pid "${CLIENT_PID[$1]}"
	unset "CLIENT_PID[$1]"
}

# stats_json FILE: `sharenat stats --json` into FILE.
stats_json() {
	sn stats --json >"$1" 2>"$SOAK_TMP/stderr" ||
		{ echo "soak: stats failed: $(cat "$SOAK_TMP/stderr")" >&2; return 1; }
}

# json FILE EXPR: a Python expression over the JSON document d.
json() {
	"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

CHECKS_FAILED=0
check() {	# check NAME OK_EXPR DETAIL
	if [ "$2" = 1 ]; then
		printf '  ok    %-42s %s\n' "$1" "$3"
	else
		printf '  FAIL  %-42s %s\n' "$1" "$3"
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
	fi
}

# ---- setup -----------------------------------------------------------------

# PREFIX in the environment often means an install prefix: only
# SHARENAT_SOAK_PREFIX chooses the topology's.
PREFIX=${SHARENAT_SOAK_PREFIX:-sk$(printf '%04x' $((RANDOM ^ $$ & 0xffff)))}
echo "soak: ${SOAK_SECONDS}s of churn over $POOL sandboxes, ${#STEADY[@]} steady ones; prefix $PREFIX"
topo_init && topo_vpc A 10.0.1 || { echo "soak: topology failed" >&2; exit 1; }
for k in "${STEADY[@]}" $(seq "$FIRST_CHURN" "$LAST_CHURN"); do
	topo_sandbox "$k" || { echo "soak: sandbox namespace $k failed" >&2; exit 1; }
done

# start_server KIND ARGS...: a counting server in the customer namespace,
# waited for until it listens.
start_server() {
	local kind=$1 tries=50
	shift
	(ns_exec "$PREFIX-vpcA" timeout -s TERM $((SOAK_SECONDS + 120)) \
		"$PY" "$TRAFFIC" "$kind-server" "$@" >"$SOAK_TMP/$kind-server.ready") &
	SERVER_PIDS+=("$!")
	while [ "$tries" -gt 0 ] && ! grep -qs ready "$SOAK_TMP/$kind-server.ready"; do
		sleep 0.1
		tries=$((tries - 1))
	done
	[ "$tries" -gt 0 ] || { echo "soak: the $kind server did not start" >&2; exit 1; }
}
start_server udp "$SERVER" "$UDP_PORT" "$SOAK_TMP/udp-server" $((SOAK_SECONDS + 90))
start_server tcp "$SERVER" "$TCP_PORT" $((SOAK_SECONDS + 90))

sn attach "${PREFIX}eA" --subnet 10.0.1.0/24 --ip 10.0.1.5 \
	--udp-timeout "$TIMEOUT" --tcp-transitory-timeout "$TIMEOUT" >/dev/null &&
	sn function add steady --subnet 10.0.1.0/24 >/dev/null &&
	sn function add churn --subnet 10.0.1.0/24 >/dev/null ||
	{ echo "soak: configuring sharenat failed" >&2; exit 1; }
for k in "${STEADY[@]}"; do
	sn sandbox add "s$k" --function steady --dev "${PREFIX}s$k" \
		--ip "$(sbx_addr "$k")" >/dev/null ||
		{ echo "soak: sandbox add s$k failed" >&2; exit 1; }
	for n in $(seq 1 "$STREAMS_PER_SANDBOX"); do
		(ns_exec "$PREFIX-sbx$k" timeout -s TERM $((SOAK_SECONDS + 60)) \
			"$PY" "$TRAFFIC" tcp-client "$SERVER" "$TCP_PORT" "s$k.$n" \
			"$SOAK_TMP/tcp-clients" $((SOAK_SECONDS + 50))) &
		STREAM_PIDS+=("$!")
	done
done
sleep 1
stats_json "$SOAK_TMP/before.json" || exit 1

# ---- churn -----------------------------------------------------------------

adds=0 dels=0 add_failed=0 del_failed=0
: >"$SOAK_TMP/add-latency"
end=$((SECONDS + SOAK_SECONDS))
next_report=$((SECONDS + 30))
while [ "$SECONDS" -lt "$end" ]; do
	k=$((FIRST_CHURN + RANDOM % POOL))
	if [ -n "${CLIENT_PID[$k]:-}" ]; then
		stop_udp_client "$k"
		if sn sandbox del "s$k" >/dev/null 2>"$SOAK_TMP/stderr"; then
			dels=$((dels + 1))
		else
			del_failed=$((del_failed + 1))
			echo "soak: sandbox del s$k: $(cat "$SOAK_TMP/stderr")" >&2
		fi
	else
		if out=$(sn sandbox add "s$k" --function churn --dev "${PREFIX}s$k" \
				--ip "$(sbx_addr "$k")" 2>"$SOAK_TMP/stderr"); then
			adds=$((adds + 1))
			sed -nE 's/.* attached in ([0-9.]+) us.*/\1/p' <<<"$out" >>"$SOAK_TMP/add-latency"
			start_udp_client "$k"
		else
			add_failed=$((add_failed + 1))
			echo "soak: sandbox add s$k: $(cat "$SOAK_TMP/stderr")" >&2
		fi
	fi
	if [ "$SECONDS" -ge "$next_report" ]; then
		echo "soak: $((SECONDS - end + SOAK_SECONDS))s: $adds adds, $dels deletes, ${#CLIENT_PID[@]} churned sandboxes live"
		next_report=$((SECONDS + 30))
	fi
	sleep "$INTERVAL"
done

# Every churned sandbox goes, its client first.
for k in "${!CLIENT_PID[@]}"; do
	stop_udp_client "$k"
	if sn sandbox del "s$k" >/dev/null 2>"$SOAK_TMP/stderr"; then
		dels=$((dels + 1))
	else
		del_failed=$((del_failed + 1))
		echo "soak: sandbox del s$k: $(cat "$SOAK_TMP/stderr")" >&2
	fi
done
sleep 1

# ---- what is left ----------------------------------------------------------

churn_addrs=$(for k in $(seq "$FIRST_CHURN" "$LAST_CHURN"); do printf '%s ' "$(sbx_addr "$k")"; done)
sn flows --json >"$SOAK_TMP/flows.json" 2>/dev/null || echo '[]' >"$SOAK_TMP/flows.json"
sn status --json >"$SOAK_TMP/status.json" 2>/dev/null || echo '{}' >"$SOAK_TMP/status.json"
for map in mappings ports sandboxes sandbox_ids; do
	bpftool map dump pinned "$PIN_DIR/$map" -j >"$SOAK_TMP/$map.json" 2>/dev/null ||
		echo '[]' >"$SOAK_TMP/$map.json"
done
stats_json "$SOAK_TMP/after.json" || exit 1

# Bytes of an address as bpftool prints them, in a key or a value.
left=$("$PY" - "$SOAK_TMP" $churn_addrs <<'EOF'
import json, sys
tmp, churn = sys.argv[1], set(sys.argv[2:])
def addr(b):
    return ".".join(str(int(x, 16)) for x in b[:4])
load = lambda n: json.load(open("%s/%s.json" % (tmp, n)))
flows = sum(1 for f in load("flows") if f["sandbox_endpoint"].split(":")[0] in churn)
mappings = sum(1 for e in load("mappings") if addr(e["key"]) in churn)
ports = sum(1 for e in load("ports") if addr(e["value"]) in churn)
sandboxes = sum(1 for e in load("sandboxes") if addr(e["key"]) in churn)
ids = len(load("sandbox_ids")) - sum(1 for s in load("status").get("sandboxes", []) if s["function"] == "steady")
print(flows, mappings, ports, sandboxes, ids)
EOF
)
read -r left_flows left_mappings left_ports left_sandboxes left_ids <<<"$left"
left_tc=0
for k in $(seq "$FIRST_CHURN" "$LAST_CHURN"); do
	[ -n "$(in_ns "$HOST_NS" tc filter show dev "${PREFIX}s$k" ingress 2>/dev/null)" ] &&
		left_tc=$((left_tc + 1))
done

# The steady streams: still established in the flow table, then stopped.
established=$("$PY" -c '
import json, sys
print(sum(1 for f in json.load(open(sys.argv[1]))
          if f["proto"] == "tcp" and f["sandbox"] in ("s1", "s2")
          and f["state"] == "established"))' "$SOAK_TMP/flows.json")
for pid in "${STREAM_PIDS[@]}"; do
	stop_pid "$pid"
done
STREAM_PIDS=()
for pid in "${SERVER_PIDS[@]}"; do
	stop_pid "$pid"
done
SERVER_PIDS=()

# ---- the figures -----------------------------------------------------------

delta() {	# delta EXPR: after - before
	echo $(( $(json "$SOAK_TMP/after.json" "$1") - $(json "$SOAK_TMP/before.json" "$1") ))
}
read -r sent received client_errors <<<"$(awk '{ s += $1; r += $2; e += $3 } END { print s+0, r+0, e+0 }' "$SOAK_TMP/udp-clients" 2>/dev/null)"
read -r server_rx server_tx <<<"$(awk '{ print $1, $2 }' "$SOAK_TMP/udp-server" 2>/dev/null)"
clients=$(wc -l <"$SOAK_TMP/udp-clients" 2>/dev/null || echo 0)
out=$(delta "d['functions']['churn']['packets_out']")
in=$(delta "d['functions']['churn']['packets_in']")
steady_out=$(delta "d['functions']['steady']['packets_out']")
steady_in=$(delta "d['functions']['steady']['packets_in']")
egress=$(delta "d['egress_translated']")
ingress=$(delta "d['ingress_translated']")
drops_out=$(delta "sum(d[k] for k in ('drop_spoofed_source', 'drop_no_route', 'drop_security_group', 'drop_port_quota', 'drop_malformed', 'drop_ttl_exceeded', 'drop_no_port', 'drop_flow_table_full'))")
drops_in=$(delta "sum(d[k] for k in ('drop_unsolicited', 'drop_stale_flow'))")
all_drops=$("$PY" -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(" ".join("%s=%d" % (k, a[k] - b[k]) for k in sorted(a)
               if k.startswith("drop_") and a[k] != b[k]) or "none")' "$SOAK_TMP/after.json" "$SOAK_TMP/before.json")
streams=$((${#STEADY[@]} * STREAMS_PER_SANDBOX))
streams_ok=$(grep -c ' ok ' "$SOAK_TMP/tcp-clients" 2>/dev/null)
stream_bytes=$(awk '{ b += $3 } END { print b+0 }' "$SOAK_TMP/tcp-clients" 2>/dev/null)
lat=$(sort -n "$SOAK_TMP/add-latency" | awk '{ v[NR] = $1 } END { if (NR) { i = int(NR * 0.99); if (i < 1) i = 1; printf "p50 %s us, p99 %s us, max %s us", v[int((NR + 1) / 2)], v[i], v[NR] } }')

echo "soak: churn: $adds sandbox adds, $dels deletes ($add_failed/$del_failed failed), $clients UDP client runs; add ${lat:-no latency}"
echo "soak: UDP: clients sent $sent, server received ${server_rx:-?} and echoed ${server_tx:-?}, clients received $received ($client_errors send errors)"
echo "soak: counters: churn packets_out $out packets_in $in; steady packets_out $steady_out packets_in $steady_in; egress_translated $egress, ingress_translated $ingress"
echo "soak: drops during the run: $all_drops"
echo "soak: TCP: $streams_ok of $streams streams intact, $stream_bytes bytes echoed; $established established flows at the end"
echo "soak: left after deleting every churned sandbox: flows $left_flows, mappings $left_mappings, ports $left_ports, sandbox entries $left_sandboxes, id entries $left_ids, tc programs $left_tc"
echo "soak: checks"
check "churn operations all succeeded" "$([ "$add_failed" -eq 0 ] && [ "$del_failed" -eq 0 ] && [ "$adds" -gt 0 ] && echo 1)" "$adds adds, $dels deletes"
check "no flow of a churned sandbox left" "$([ "$left_flows" = 0 ] && echo 1)" "$left_flows"
check "no mapping of a churned sandbox left" "$([ "$left_mappings" = 0 ] && echo 1)" "$left_mappings"
check "no port of a churned sandbox left" "$([ "$left_ports" = 0 ] && echo 1)" "$left_ports"
check "no sandbox entry leaked" "$([ "$left_sandboxes" = 0 ] && [ "$left_ids" = 0 ] && echo 1)" "sandboxes $left_sandboxes, ids $left_ids"
check "no program left on a churned device" "$([ "$left_tc" = 0 ] && echo 1)" "$left_tc"
check "sent = packets_out + egress drops" "$([ "$sent" -gt 0 ] && [ "$sent" -eq $((out + drops_out)) ] && echo 1)" "$sent = $out + $drops_out"
check "packets_out = received by the server" "$([ "$out" -eq "${server_rx:--1}" ] && echo 1)" "$out = ${server_rx:-?}"
check "echoed = packets_in + ingress drops" "$([ "${server_tx:--1}" -eq $((in + drops_in)) ] && echo 1)" "${server_tx:-?} = $in + $drops_in"
check "packets_in = received by the clients" "$([ "$in" -eq "$received" ] && echo 1)" "$in = $received"
check "functions add up to the global counters" "$([ "$egress" -eq $((out + steady_out)) ] && [ "$ingress" -eq $((in + steady_in)) ] && echo 1)" "out $egress = $out + $steady_out, in $ingress = $in + $steady_in"
check "established connections of live sandboxes lost: 0" "$([ "$streams_ok" -eq "$streams" ] && [ "$established" -eq "$streams" ] && echo 1)" "$((streams - streams_ok)) lost, $established/$streams flows established"
if [ "$CHECKS_FAILED" -ne 0 ]; then
	grep -h lost "$SOAK_TMP/tcp-clients" 2>/dev/null | sed 's/^/soak: stream /'
	echo "soak: $CHECKS_FAILED check(s) failed"
	exit 1
fi
echo "soak: all checks passed"

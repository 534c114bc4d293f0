#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Exhaustion under load: a TCP stream runs through an attachment whose
# shared port range is small; another sandbox then asks for far more new
# flows than ports are left. Prints the stream's rate before and during
# the exhaustion, and how many new flows were refused and counted. Fails if
# the refusals were not counted or the stream broke; the rates are figures
# (compare them within one run), not a timed assertion.
# Usage: tools/exhaustion.sh PATH_TO_SHARENAT
set -uo pipefail

SHARENAT=$(realpath "${1:-build/sharenat}")
cd "$(dirname "$0")/.."
. tools/topology.sh

for tool in iperf3 nsenter /usr/bin/python3; do
	command -v "$tool" >/dev/null || { echo "exhaustion: missing $tool" >&2; exit 1; }
done

topo_init || exit 1
trap topo_destroy EXIT INT TERM
topo_vpc A 10.0.1 && topo_sandbox 1 && topo_sandbox 2 || exit 1
# Eight shared ports: the stream holds two (control and data).
sn attach "${PREFIX}eA" --subnet 10.0.1.0/24 --ip 10.0.1.5 --ports 40000-40007 \
	--tcp-transitory-timeout 1 --udp-timeout 30 >/dev/null &&
	sn function add f --subnet 10.0.1.0/24 >/dev/null &&
	sn sandbox add s1 --function f --dev "${PREFIX}s1" --ip 100.64.0.1 >/dev/null &&
	sn sandbox add s2 --function f --dev "${PREFIX}s2" --ip 100.64.0.2 >/dev/null || exit 1

counter() {
	sn stats --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# One iperf3 run of SECONDS from sandbox 1: its rate in Gbit/s.
stream_rate() {
	in_ns "$PREFIX-vpcA" timeout $(($1 + 10)) iperf3 -s -1 -B 10.0.1.10 -p 5201 >/dev/null 2>&1 &
	sleep 0.3
	in_ns "$PREFIX-sbx1" timeout $(($1 + 10)) iperf3 -c 10.0.1.10 -p 5201 -t "$1" -J 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

# Sandbox 2 asks for 2000 new UDP flows, one source port each, for at
# most SECONDS.
flood_new_flows() {
	in_ns "$PREFIX-sbx2" timeout "$1" /usr/bin/python3 - <<'PY'
import socket
for port in range(20000, 22000):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("100.64.0.2", port))
    s.sendto(b"new flow", ("10.0.1.10", 9))
    s.close()
PY
}

before_rate=$(stream_rate 3) || { echo "exhaustion: the baseline stream failed" >&2; exit 1; }
sleep 2	# the baseline's flows close and leave (transitory timeout 1 s)
refused_before=$(counter drop_no_port)
in_ns "$PREFIX-vpcA" timeout 14 iperf3 -s -1 -B 10.0.1.10 -p 5201 >/dev/null 2>&1 &
sleep 0.3
in_ns "$PREFIX-sbx1" timeout 14 iperf3 -c 10.0.1.10 -p 5201 -t 4 -J >"$PREFIX.iperf.json" 2>/dev/null &
stream=$!
sleep 0.5
flood_new_flows 3
wait "$stream"
stream_rc=$?
during_rate=$(/usr/bin/python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$PREFIX.iperf.json" 2>/dev/null)
rm -f "$PREFIX.iperf.json"
refused=$(($(counter drop_no_port) - refused_before))

printf '%-46s %s\n' "stream before exhaustion, Gbit/s" "$before_rate" \
	"stream while the pool is exhausted, Gbit/s" "${during_rate:-failed}" \
	"new flows refused and counted (drop_no_port)" "$refused"
[ "$stream_rc" -eq 0 ] && [ -n "$during_rate" ] ||
	{ echo "exhaustion: FAIL: the existing stream broke" >&2; exit 1; }
[ "$refused" -gt 0 ] ||
	{ echo "exhaustion: FAIL: no refusal was counted" >&2; exit 1; }
echo "exhaustion: existing stream kept $(/usr/bin/python3 -c "print('%.0f' % (100 * $during_rate / $before_rate))")% of its rate"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo: the design's topology in network namespaces, sharenat attached
# to it through its CLI, real traffic from three sandboxes of two functions
# to a customer's servers, then the attach latency and the flows.
# Usage: tools/demo.sh PATH_TO_SHARENAT
set -euo pipefail

SHARENAT=$(realpath "${1:-build/sharenat}")
cd "$(dirname "$0")/.."
. tools/topology.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ sharenat %s\n' "$*"; sn "$@"; }

topo_init
trap topo_destroy EXIT INT TERM

step "Topology (prefix $PREFIX): customer vpcA 10.0.1.0/24, server 10.0.1.10; three sandboxes"
topo_vpc A 10.0.1
for n in 1 2 3; do topo_sandbox "$n"; done
ENI=${PREFIX}eA

# A small HTTP server that tells who it saw, and a UDP echo, in the VPC.
# (socat parses ':' and ',' in its addresses, so the responses are scripts.)
WORK=$(mktemp -d)
trap 'topo_destroy; rm -rf "$WORK"' EXIT INT TERM
# The request is read to its blank line before the answer: a socket closed
# with unread data is reset, and the reset can beat the answer to curl.
cat > "$WORK/http" <<'SCRIPT'
#!/bin/sh
while read -r line && [ "$line" != "$(printf '\r')" ]; do :; done
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello, I saw you as %s\n' "$SOCAT_PEERADDR"
SCRIPT
cat > "$WORK/udp" <<'SCRIPT'
#!/bin/sh
read -r line
echo "udp reply to '$line', seen from $SOCAT_PEERADDR"
SCRIPT
chmod +x "$WORK/http" "$WORK/udp"
in_ns "$PREFIX-vpcA" timeout 60 socat TCP4-LISTEN:80,bind=10.0.1.10,fork,reuseaddr EXEC:"$WORK/http" &
in_ns "$PREFIX-vpcA" timeout 60 socat UDP4-LISTEN:53,bind=10.0.1.10,fork,reuseaddr EXEC:"$WORK/udp" &
sleep 0.3

step "Attach the shared interface and configure two functions"
show attach "$ENI" --subnet 10.0.1.0/24 --ip 10.0.1.5
show function add orders --subnet 10.0.1.0/24
show function add billing --subnet 10.0.1.0/24

step "Add sandboxes (this is the cold-start path: a few map writes)"
show sandbox add orders-1 --function orders --dev "${PREFIX}s1" --ip 100.64.0.1
show sandbox add orders-2 --function orders --dev "${PREFIX}s2" --ip 100.64.0.2
show sandbox add billing-1 --function billing --dev "${PREFIX}s3" --ip 100.64.0.3

step "Traffic from the sandboxes to the customer's server"
for n in 1 2 3; do
	echo "sandbox $n:"
	in_ns "$PREFIX-sbx$n" ping -c 2 -W 1 -q 10.0.1.10 | sed -n 's/^/  /;/packets/p'
	printf '  HTTP: '
	in_ns "$PREFIX-sbx$n" curl -s --max-time 3 http://10.0.1.10/
	printf '  UDP:  '
	echo "hi-from-$n" | in_ns "$PREFIX-sbx$n" timeout 3 socat -t 1 - UDP4:10.0.1.10:53
done

step "Flows, counters and state"
show flows
show stats
show status
echo
echo "demo: done; everything it made is removed on exit"

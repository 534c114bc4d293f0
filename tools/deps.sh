#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install, from Debian's packages, whatever the build, tests and demo need
# and this machine lacks; mount bpffs. Safe to run again: it does nothing
# when all is there.
set -euo pipefail

PACKAGES=(
	# build
	clang llvm libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
	check pkg-config make gcc
	# tests: real peers, crafted packets, sanitizers and fuzzing
	iproute2 ethtool iputils-ping curl socat iperf3 nginx-light
	util-linux procps python3 python3-scapy tcpdump coturn
	valgrind libclang-rt-14-dev
	# benchmarks: the netfilter baseline, the generator, the chart
	iptables netsniff-ng gnuplot-nox
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	# nginx and coturn start themselves on install; the tests start
	# their own, in their own namespaces.
	if command -v systemctl >/dev/null; then
		systemctl disable --now nginx coturn >/dev/null 2>&1 || true
	fi
	pkill -x nginx 2>/dev/null || true
	pkill -x turnserver 2>/dev/null || true
fi

if [ "$(id -u)" -eq 0 ] && ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
fi

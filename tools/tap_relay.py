#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A stand-in for a microVM on a tap device, for tests.

A Firecracker-style sandbox reaches the host through a tap device whose
other end is a userspace process. This relay is that process: it opens tap
HOST_TAP in the current network namespace (the host side sharenat attaches
to) and tap GUEST_TAP inside namespace GUEST_NS (the guest's "eth0"), and
copies Ethernet frames between them until it is killed or SECONDS pass.

usage: tap_relay.py HOST_TAP GUEST_NS GUEST_TAP SECONDS
"""
import ctypes
import fcntl
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def enter_netns(name):
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    ns_fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(ns_fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + name)
    os.close(ns_fd)


def main():
    host_tap, guest_ns, guest_tap, seconds = sys.argv[1:5]
    host_fd = open_tap(host_tap)
    enter_netns(guest_ns)
    guest_fd = open_tap(guest_tap)
    # Tell the caller both taps exist, so it can configure them.
    print("ready", flush=True)
    peer = {host_fd: guest_fd, guest_fd: host_fd}
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        readable, _, _ = select.select([host_fd, guest_fd], [], [], 0.2)
        for fd in readable:
            try:
                os.write(peer[fd], os.read(fd, 65536))
            except OSError:
                pass  # the other side is not up yet: the frame is lost


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Small clients and senders for the conformance tests (tests/e2e/conformance.sh
and tools/compare-netfilter.sh). Each command runs inside one network
namespace (the caller enters it), is bounded in time, and prints plain lines
the shell reads.

  udp-keepalive SERVER PORT SPORT COUNT INTERVAL
        COUNT datagrams from SPORT, one every INTERVAL s; prints each answer
        (the server's line) or "none"; exits 1 if one went unanswered.
  udp-refused SERVER PORT SPORT
        one datagram on a connected socket; prints "refused" when an ICMP
        port unreachable came back within 2 s, else what happened.
  udp-listen PORT SECONDS
        prints "DATA from ADDR:PORT" for every datagram heard on PORT.
  udp-send SRC_ADDR SRC_PORT DST_ADDR DST_PORT DATA
        one datagram from SRC_ADDR:SRC_PORT (SO_REUSEADDR).
  icmp-unreach SRC DST INNER_SRC INNER_SPORT INNER_DST INNER_DPORT
        a crafted ICMP port unreachable from SRC to DST quoting the UDP
        header INNER_SRC:INNER_SPORT -> INNER_DST:INNER_DPORT (raw socket).
  udp-each SERVER PORT WAIT SPORT...
        one datagram from each SPORT in turn (answer within WAIT s); prints
        "SPORT ANSWER" or "SPORT none".
  udp-echo ADDR SECONDS PORT...
        a UDP echo on each PORT of ADDR: "echo PEER LINE" back; prints
        "ready" once bound.
  tcp-timeline SERVER PORT SPORT LINES END [HOLD]
        connect from SPORT, read the greeting, send LINES lines one second
        apart (each echoed), then END: "close" (shutdown, wait for the
        server's FIN), "rst" (SO_LINGER 0) or "hold" (stay silent HOLD s,
        then close). Prints "greeting ...", "echo N", "closed"/"reset"/
        "held", each with seconds since start.
  hairpin ROLE SERVER PORT SPORT DIR
        two sandboxes meet through their shared endpoints: ROLE a or b;
        each learns its mapping from the echo server, writes it to
        DIR/ROLE, and then a punches b's endpoint, b sends to a's, a answers.
        Prints "mapped EP", "heard DATA from EP" or "heard nothing".
  tcp-hairpin ROLE SERVER PORT SPORT DIR
        the same for TCP: ROLE a or b learns its mapping from the greeting
        of the held-connection server (kept open, so the mapping stays),
        writes it to DIR/ROLE, then connects from SPORT to the other's
        endpoint: a first (its SYN is filtered), b once a's SYN is out, so
        a's connect completes by simultaneous open. Each sends one line and
        reads the other's; all within 12 s. Prints "mapped EP", "connected
        to EP" or "no connection to EP: ERROR", "heard LINE" or "heard
        nothing".
  frag-ask SRC SPORT SERVER PORT SIZE WAIT
        a SIZE-byte UDP datagram from SRC:SPORT to SERVER:PORT in 1480-byte
        IP fragments, sent last fragment first (raw socket); prints the
        answer's size, peer and whether its bytes are the expected pattern
        ("answer N from EP intact"), or "none" after WAIT s.
  frag-answer ADDR PORT SIZE SECONDS
        answers each datagram to ADDR:PORT with a SIZE-byte datagram, in
        fragments sent last first; prints "ready" once bound and "asked N
        from EP" for each question.
"""
import os
import select
import socket
import struct
import sys
import time


def udp_socket(sport, wait):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sport)))
    s.settimeout(float(wait))
    return s


def udp_keepalive(server, port, sport, count, interval):
    s = udp_socket(sport, 1)
    missing = 0
    for i in range(int(count)):
        if i:
            time.sleep(float(interval))
        s.sendto(b"keepalive-%d\n" % i, (server, int(port)))
        try:
            print(s.recv(2048).decode().strip(), flush=True)
        except socket.timeout:
            print("none", flush=True)
            missing += 1
    return 1 if missing else 0


def udp_refused(server, port, sport):
    s = udp_socket(sport, 2)
    s.connect((server, int(port)))
    s.send(b"anyone there?\n")
    try:
        data = s.recv(2048)
        print("answer %r" % data)
    except ConnectionRefusedError:
        print("refused")
        return 0
    except socket.timeout:
        print("no error within 2 s")
    return 1


def udp_listen(port, seconds):
    s = udp_socket(port, 0.2)
    end = time.monotonic() + float(seconds)
    print("listening", flush=True)
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        print("%s from %s:%d" % (data.decode(errors="replace").strip(),
                                 peer[0], peer[1]), flush=True)
    return 0


def udp_send(src, sport, dst, dport, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, int(sport)))
    s.sendto(data.encode() + b"\n", (dst, int(dport)))
    return 0


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def icmp_unreach(src, dst, inner_src, inner_sport, inner_dst, inner_dport):
    payload = b"conformance"
    udp = struct.pack("!HHHH", int(inner_sport), int(inner_dport),
                      8 + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(payload),
                     0x1234, 0x4000, 63, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(inner_src), socket.inet_aton(inner_dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    body = ip + udp + payload
    icmp = struct.pack("!BBHI", 3, 3, 0, 0) + body
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((src, 0))
    s.sendto(icmp, (dst, 0))
    return 0


def udp_each(server, port, wait, *sports):
    for sport in sports:
        s = udp_socket(sport, float(wait))
        s.sendto(b"each-%s\n" % sport.encode(), (server, int(port)))
        try:
            answer = s.recv(2048).decode().strip()
        except socket.timeout:
            answer = None
        s.close()
        print("%s %s" % (sport, answer or "none"), flush=True)
    return 0


def udp_echo(addr, seconds, *ports):
    import selectors
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(port)))
        sel.register(s, selectors.EVENT_READ)
    print("ready", flush=True)
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        for key, _ in sel.select(0.5):
            data, peer = key.fileobj.recvfrom(2048)
            line = data.decode(errors="replace").strip()
            key.fileobj.sendto(("echo %s:%d %s\n" % (peer[0], peer[1], line)
                                ).encode(), peer)
    return 0


def tcp_timeline(server, port, sport, lines, end, hold="0"):
    t0 = time.monotonic()

    def say(what):
        print("%.2f %s" % (time.monotonic() - t0, what), flush=True)

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sport)))
    s.settimeout(3)
    try:
        s.connect((server, int(port)))
        f = s.makefile("rb")
        say("greeting " + f.readline().decode().strip())
        for i in range(int(lines)):
            if i:
                time.sleep(1)
            s.sendall(b"line-%d\n" % i)
            if f.readline().strip() != b"line-%d" % i:
                say("no echo %d" % i)
                return 1
            say("echo %d" % i)
        if end == "rst":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()
            say("reset")
            return 0
        if end == "hold":
            time.sleep(float(hold))
            say("held")
        s.shutdown(socket.SHUT_WR)
        rest = f.read()
        say("closed%s" % (" with %r" % rest if rest else ""))
        s.close()
    except OSError as e:
        say("error %s" % e)
        return 1
    return 0


def hairpin(role, server, port, sport, folder):
    s = udp_socket(sport, 3)
    s.sendto(b"map-%s\n" % role.encode(), (server, int(port)))
    try:
        # The echo server answers "NAME PEER LINE": PEER is our mapping.
        mine = s.recv(2048).decode().split()[1]
    except (socket.timeout, IndexError):
        print("no mapping from the server")
        return 1
    print("mapped %s" % mine, flush=True)
    with open(os.path.join(folder, role + ".tmp"), "w") as f:
        f.write(mine)
    os.rename(os.path.join(folder, role + ".tmp"), os.path.join(folder, role))

    def wait_file(name):
        path = os.path.join(folder, name)
        for _ in range(50):
            if os.path.exists(path):
                return open(path).read().strip()
            time.sleep(0.1)
        return None

    def endpoint(text):
        addr, p = text.rsplit(":", 1)
        return (addr, int(p))

    def hear():
        try:
            data, peer = s.recvfrom(2048)
            print("heard %s from %s:%d" % (data.decode().strip(), *peer),
                  flush=True)
        except socket.timeout:
            print("heard nothing", flush=True)

    other = wait_file("b" if role == "a" else "a")
    if not other:
        print("the other side never mapped")
        return 1
    if role == "a":
        # The punch opens a's filter to b's endpoint; b's filter does not
        # know a yet, so the punch itself is dropped.
        s.sendto(b"punch-from-a\n", endpoint(other))
        open(os.path.join(folder, "punched"), "w").close()
        hear()
        s.sendto(b"answer-from-a\n", endpoint(other))
    else:
        if wait_file("punched") is None:
            print("a never punched")
            return 1
        s.sendto(b"hello-from-b\n", endpoint(other))
        hear()
    return 0


def tcp_hairpin(role, server, port, sport, folder):
    end = time.monotonic() + 12

    def left(most):
        return max(0.1, min(most, end - time.monotonic()))

    def tcp_socket():
        # Two sockets on SPORT: the held connection and the hairpin one.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("0.0.0.0", int(sport)))
        return s

    def wait_file(name):
        path = os.path.join(folder, name)
        while time.monotonic() < end:
            if os.path.exists(path):
                return open(path).read().strip()
            time.sleep(0.05)
        return None

    def mark(name, text=""):
        with open(os.path.join(folder, name + ".tmp"), "w") as f:
            f.write(text)
        os.rename(os.path.join(folder, name + ".tmp"),
                  os.path.join(folder, name))

    held = tcp_socket()
    held.settimeout(left(3))
    try:
        held.connect((server, int(port)))
        # The greeting is "NAME PEER": PEER is our mapping.
        mine = held.makefile("rb").readline().decode().split()[1]
    except (OSError, IndexError):
        print("no mapping from the server")
        return 1
    print("mapped %s" % mine, flush=True)
    mark(role, mine)

    other = wait_file("b" if role == "a" else "a")
    if not other:
        print("the other side never mapped")
        return 1
    addr, p = other.rsplit(":", 1)
    s = tcp_socket()
    try:
        if role == "a":
            # The SYN goes out now and is dropped: b's filter does not
            # know a yet. b's SYN then meets this socket in SYN-SENT.
            s.setblocking(False)
            s.connect_ex((addr, int(p)))
            mark("syn-sent")
            ready = select.select([], [s], [], left(8))[1]
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if not ready or err:
                raise OSError(os.strerror(err) if err else "timed out")
        else:
            if wait_file("syn-sent") is None:
                print("a never sent its SYN")
                return 1
            s.settimeout(left(8))
            s.connect((addr, int(p)))
    except OSError as e:
        print("no connection to %s: %s" % (other, e), flush=True)
        return 1
    print("connected to %s:%d" % s.getpeername(), flush=True)
    s.settimeout(left(3))
    try:
        s.sendall(b"hello-from-%s\n" % role.encode())
        line = s.makefile("rb").readline().decode().strip()
    except OSError:
        line = ""
    print("heard %s" % (line or "nothing"), flush=True)
    s.close()
    held.close()
    return 0 if line else 1


FRAGMENT_DATA = 1480  # bytes of IP payload per fragment: a 1500-byte MTU


def pattern(size):
    return bytes((i * 7 + 3) & 0xff for i in range(size))


def send_reversed_fragments(src, sport, dst, dport, size, ip_id):
    """One UDP datagram as IP fragments, the last sent first."""
    payload = pattern(size)
    length = 8 + len(payload)
    pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src),
                         socket.inet_aton(dst), 0, socket.IPPROTO_UDP, length)
    udp = struct.pack("!HHHH", sport, dport, length, 0) + payload
    csum = checksum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    pieces = []
    for offset in range(0, len(udp), FRAGMENT_DATA):
        chunk = udp[offset:offset + FRAGMENT_DATA]
        more = 0x2000 if offset + FRAGMENT_DATA < len(udp) else 0
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ip_id,
                         more | (offset // 8), 64, socket.IPPROTO_UDP, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        pieces.append(ip + chunk)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for piece in reversed(pieces):
        raw.sendto(piece, (dst, 0))
    raw.close()


def frag_ask(src, sport, server, port, size, wait):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, int(sport)))
    s.settimeout(float(wait))
    send_reversed_fragments(src, int(sport), server, int(port), int(size),
                            os.getpid() & 0xffff)
    try:
        data, peer = s.recvfrom(65536)
    except socket.timeout:
        print("none", flush=True)
        return 1
    state = "intact" if data == pattern(len(data)) else "corrupt"
    print("answer %d from %s:%d %s" % (len(data), peer[0], peer[1], state),
          flush=True)
    return 0


def frag_answer(addr, port, size, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.settimeout(0.5)
    print("ready", flush=True)
    end = time.monotonic() + float(seconds)
    ip_id = 0x5a00
    while time.monotonic() < end:
        try:
            data, peer = s.recvfrom(65536)
        except socket.timeout:
            continue
        state = "intact" if data == pattern(len(data)) else "corrupt"
        print("asked %d from %s:%d %s" % (len(data), peer[0], peer[1], state),
              flush=True)
        ip_id += 1
        send_reversed_fragments(addr, int(port), peer[0], peer[1], int(size),
                                ip_id)
    return 0


COMMANDS = {
    "udp-keepalive": udp_keepalive,
    "udp-refused": udp_refused,
    "udp-listen": udp_listen,
    "udp-send": udp_send,
    "icmp-unreach": icmp_unreach,
    "udp-each": udp_each,
    "udp-echo": udp_echo,
    "tcp-timeline": tcp_timeline,
    "hairpin": hairpin,
    "tcp-hairpin": tcp_hairpin,
    "frag-ask": frag_ask,
    "frag-answer": frag_answer,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))

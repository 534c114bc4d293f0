#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A customer's server for the tenant tests: every answer names its VPC and
the peer address:port it saw, so a test can tell which customer answered
and which shared endpoint the NAT chose.

usage: vpc_server.py NAME ADDR LOG SECONDS

  tcp ADDR:8080  HTTP/1.0; the body is "NAME PEER\\n"
  tcp ADDR:9090  a held connection: "NAME PEER\\n", then every line echoed
                 back until the client closes
  udp ADDR:9000  one datagram in, "NAME PEER LINE" back
  udp ADDR:9001  the same, a second remote endpoint on the same address

Every connection and datagram is logged to LOG as "PROTO PORT PEER". The
UDP sockets use SO_REUSEADDR so a test can send from ADDR:9000 itself.
"ready" goes to stdout once every socket is bound; the process ends after
SECONDS whatever happens.
"""
import socket
import socketserver
import sys
import threading
import time

NAME, ADDR, LOG, SECONDS = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
HTTP_PORT, HOLD_PORT, UDP_PORTS = 8080, 9090, (9000, 9001)
log_lock = threading.Lock()


def log(proto, port, peer):
    with log_lock, open(LOG, "a") as f:
        f.write("%s %d %s:%d\n" % (proto, port, peer[0], peer[1]))


def peer_text(peer):
    return "%s:%d" % (peer[0], peer[1])


class Http(socketserver.StreamRequestHandler):
    timeout = 10

    def handle(self):
        log("tcp", HTTP_PORT, self.client_address)
        while True:
            line = self.rfile.readline(4096)
            if not line or line in (b"\r\n", b"\n"):
                break
        body = ("%s %s\n" % (NAME, peer_text(self.client_address))).encode()
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                         % len(body) + body)


class Hold(socketserver.StreamRequestHandler):
    timeout = 60

    def handle(self):
        log("tcp", HOLD_PORT, self.client_address)
        self.wfile.write(("%s %s\n" % (NAME, peer_text(self.client_address))).encode())
        for line in self.rfile:
            self.wfile.write(line)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64


def udp_echo(sock, port):
    while True:
        data, peer = sock.recvfrom(2048)
        log("udp", port, peer)
        line = data.decode(errors="replace").strip()
        sock.sendto(("%s %s %s\n" % (NAME, peer_text(peer), line)).encode(), peer)


def main():
    servers = [Server((ADDR, HTTP_PORT), Http), Server((ADDR, HOLD_PORT), Hold)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    for port in UDP_PORTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ADDR, port))
        threading.Thread(target=udp_echo, args=(sock, port), daemon=True).start()
    print("ready", flush=True)
    time.sleep(SECONDS)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What an idle WebSocket costs livd, in RSS.

Connects N clients, then holds a long-poll for each (the reference), lets
them go, and opens a WebSocket for each instead: livd's VmRSS is read
before and after each step. Then every socket receives one event and
sends one input frame, and RSS is read again once they are idle: wslay's
per-connection context must be gone by then. Prints bytes per connection
for each step; exits 1 when an idle WebSocket costs over 1 KiB.

usage: wsrss.py PORT LIVD_PID [N]   (N: 10000 by default)
"""
import base64
import json
import os
import resource
import socket
import sys
import time

PORT, PID = int(sys.argv[1]), int(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
LIMIT = 1024


def rss():
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmRSS for %d" % PID)


def settle():
    time.sleep(1.0)
    return rss()


def dial():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.setblocking(True)
    return s


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("closed by livd")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def connect_all(s):
    uuids = []
    for i in range(N):
        body = b"location=/rss&principal=p%d" % i
        s.sendall(b"POST /connect HTTP/1.1\r\nHost: livd\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        head, rest = read_head(s)
        n = int([l for l in head.split(b"\r\n")
                 if l.lower().startswith(b"content-length:")][0].split(b":")[1])
        while len(rest) < n:
            rest += s.recv(4096)
        uuids.append(json.loads(rest)["uuid"])
    return uuids


def frame(payload):
    """A masked text frame (a zero mask: the payload as is)."""
    return bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctl = dial()
    uuids = connect_all(ctl)
    base = settle()

    polls = []
    for u in uuids:
        s = dial()
        s.sendall(b"GET /client/%s/output HTTP/1.1\r\nHost: livd\r\n\r\n"
                  % u.encode())
        polls.append(s)
    held = settle()
    for s in polls:
        s.close()
    polls = None
    time.sleep(1.0)
    before = settle()

    sockets = []
    key = base64.b64encode(b"0123456789abcdef")
    for u in uuids:
        s = dial()
        s.sendall(b"GET /client/%s/ws HTTP/1.1\r\nHost: livd\r\n"
                  b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                  % (u.encode(), key))
        head, _ = read_head(s)
        if not head.startswith(b"HTTP/1.1 101 "):
            raise SystemExit(head.decode())
        sockets.append(s)
    idle = settle()

    # One input, which every socket receives; then a frame from each.
    sockets[0].sendall(frame(json.dumps({"verb": "append", "id": "log",
                                         "html": "to all"}).encode()))
    time.sleep(2.0)
    for s in sockets:
        s.setblocking(False)
        try:
            while s.recv(65536):
                pass
        except BlockingIOError:
            pass
        s.setblocking(True)
        s.sendall(frame(b'{"ack": 0}'))
    used = settle()

    per = lambda a, b: (b - a) / N
    print("clients: %d" % N)
    print("held poll:             %7.0f bytes each" % per(base, held))
    print("idle WebSocket:        %7.0f bytes each" % per(before, idle))
    print("after an event out and a frame in: %7.0f bytes each" %
          per(before, used))
    for s in sockets:
        s.close()
    ok = per(before, idle) <= LIMIT and per(before, used) <= LIMIT
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A raw client of livd's control socket, for the bats suites.

usage: ctlclient.py SOCKET [--keep-open] [--timeout SECONDS] < REQUESTS

Writes stdin to the socket in one go, then shuts down writing unless
--keep-open is given. Prints every answer line as it arrives, then `EOF`
when livd closed the connection, or `TIMEOUT` when it stayed open for
SECONDS (default 3) with nothing more to read.
"""
import socket
import sys


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    keep_open = False
    timeout = 3.0
    while args:
        a = args.pop(0)
        if a == "--keep-open":
            keep_open = True
        elif a == "--timeout":
            timeout = float(args.pop(0))
        else:
            sys.exit("unknown argument " + a)
    data = sys.stdin.buffer.read()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    if not keep_open:
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    s.settimeout(timeout)
    buf = b""
    out = sys.stdout.buffer
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            if buf:
                out.write(buf + b"\n")
            out.write(b"TIMEOUT\n")
            break
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if buf:
                out.write(buf + b"\n")
            out.write(b"EOF\n")
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.write(line + b"\n")
            out.flush()
    s.close()


main()

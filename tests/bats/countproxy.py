#!/usr/bin/env python3
"""Forward a Unix socket to livd's control socket and count connections.

usage: countproxy.py LISTEN TARGET COUNTFILE

Each accepted connection is forwarded both ways to TARGET; COUNTFILE
holds the number of connections accepted so far.
"""
import os
import socket
import sys
import threading

listen, target, countfile = sys.argv[1:4]
count = 0
lock = threading.Lock()


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(conn):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    up.connect(target)
    a = threading.Thread(target=pump, args=(conn, up), daemon=True)
    b = threading.Thread(target=pump, args=(up, conn), daemon=True)
    a.start()
    b.start()
    a.join()
    b.join()
    conn.close()
    up.close()


srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(listen + ".tmp")
os.rename(listen + ".tmp", listen)
srv.listen(16)
with open(countfile, "w") as f:
    f.write("0\n")
while True:
    conn, _ = srv.accept()
    with lock:
        count += 1
        with open(countfile + ".tmp", "w") as f:
            f.write("%d\n" % count)
        os.rename(countfile + ".tmp", countfile)
    threading.Thread(target=serve, args=(conn,), daemon=True).start()

#!/usr/bin/env python3
"""A small application for hooks.bats: livd's hooks, answered by code livd
did not write. Every request's X-Livd-Signature is checked with Python's
hmac; a bad one is answered 400 and logged.

usage: hookapp.py SECRET_FILE LOG PORTFILE [PORT]

Each request is appended to LOG as one JSON line {"path", "sig", "body"}.
connect: Cookie user=NAME -> 200 {"principal": NAME}; locs=A,B adds
"locations"; slow sleeps 3 s; boom 500; garbage a non-JSON 200; else 401.
input (verb post, arg text): "" -> 400 {"error":"empty post"}; slow: 3 s;
boom: 500; big: a body of 300 KB; badverb: a send of an unknown verb;
else a send line appending text to "board" at the page's location.
presence: 200.
"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = open(sys.argv[1], "rb").read()
SECRET = SECRET[:-1] if SECRET.endswith(b"\n") else SECRET
LOG = sys.argv[2]


def connect(d):
    c = d["headers"].get("cookie", "")
    if c.startswith("user="):
        out = {"principal": c[5:]}
        return 200, json.dumps(out).encode()
    if c.startswith("locs="):
        out = {"principal": "multi", "locations": c[5:].split(",")}
        return 200, json.dumps(out).encode()
    if c == "slow":
        time.sleep(3)
        return 200, b'{"principal":"slow"}'
    if c == "boom":
        return 500, b"no"
    if c == "garbage":
        return 200, b"<html>"
    return 401, b'{"error":"log in first"}'


def post(d):
    t = d.get("text", "")
    if t == "":
        return 400, b'{"error":"empty post"}'
    if t == "slow":
        time.sleep(3)
        return 200, b""
    if t == "boom":
        return 500, b""
    if t == "big":
        return 200, b" " * 300000
    if t == "badverb":
        return 200, b'{"cmd":"send","verb":"special","args":["x"]}\n'
    line = {"cmd": "send", "verb": "append", "args": ["board", t],
            "location": d["location"]}
    return 200, (json.dumps(line) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        want = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(want,
                                   self.headers.get("X-Livd-Signature", ""))
        d = json.loads(body)
        with open(LOG, "a") as f:
            f.write(json.dumps({"path": self.path, "sig": good,
                                "type": self.headers.get("Content-Type"),
                                "body": d}) + "\n")
        if not good:
            st, out = 400, b'{"error":"bad signature"}'
        elif self.path == "/connect":
            st, out = connect(d)
        elif self.path == "/input":
            st, out = post(d)
        else:
            st, out = 200, b""
        self.send_response(st)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[4]) if
                              len(sys.argv) > 4 else 0), Handler)
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
server.serve_forever()

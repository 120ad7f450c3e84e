#!/usr/bin/python3
"""What a hook costs (see livd(8) HOOKS).

usage: bench/hooklat.py [BUILD_DIR] [N]

Starts livd (auth: hook, every hook at a local application in this
process, answering at once) and measures, over keep-alive connections:
- the round trip of POST /client/UUID/input for a verb with forward: true
  (through the input hook, whose answer is one send line) against a plain
  from_client verb, N of each: p50 and p99;
- 10,000 pages connecting in a burst through the connect hook: the time
  until every join reached the presence hook, and in how many posts.
"""
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
PAGES = 10000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tmp = tempfile.mkdtemp()
secret = os.urandom(24).hex().encode()
joins = {"events": 0, "posts": 0, "last": 0.0}


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(sig, self.headers["X-Livd-Signature"])
        d = json.loads(body)
        out = b""
        if self.path == "/connect":
            out = json.dumps({"principal": "p" + str(time.monotonic_ns())}
                             ).encode()
        elif self.path == "/input":
            out = (json.dumps({"cmd": "send", "verb": "text", "args":
                               ["t", d["text"]], "location": d["location"]})
                   + "\n").encode()
        elif self.path == "/presence":
            joins["events"] += sum(e["type"] == "join" for e in d["events"])
            joins["posts"] += 1
            joins["last"] = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


app = ThreadingHTTPServer(("127.0.0.1", 0), App)
threading.Thread(target=app.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d" % app.server_address[1]
with open(tmp + "/secret", "wb") as f:
    f.write(secret)
os.chmod(tmp + "/secret", 0o600)
with open(ROOT + "/share/livd/verbs.yaml") as f:
    verbs = f.read()
with open(tmp + "/verbs.yaml", "w") as f:
    f.write(verbs + "\npost:\n  args: [text]\n  forward: true\n")
with open(tmp + "/livd.yaml", "w") as f:
    f.write("auth: hook\nsecret_file: %s/secret\nverbs: %s/verbs.yaml\n"
            "input_rate: 0\nhooks:\n  connect: %s/connect\n"
            "  input: %s/input\n  presence: %s/presence\n"
            % (tmp, tmp, base, base, base))
livd = subprocess.Popen([ROOT + "/" + BUILD + "/livd", "-q", "-c",
                         tmp + "/livd.yaml", "-l", "127.0.0.1:18771", "-s",
                         tmp + "/sock"])
time.sleep(0.5)


def post(conn, path, form):
    body = urllib.parse.urlencode(form)
    conn.request("POST", path, body, {"Content-Type":
                                      "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


conn = http.client.HTTPConnection("127.0.0.1", 18771)
st, data = post(conn, "/connect", {"location": "/bench"})
uuid = json.loads(data)["uuid"]
for name, form in (("plain POST /input (verb text)",
                    {"verb": "text", "id": "t", "text": "x"}),
                   ("through the input hook (verb post)",
                    {"verb": "post", "text": "x"})):
    times = []
    for i in range(N):
        t0 = time.perf_counter()
        st, _ = post(conn, "/client/%s/input" % uuid, form)
        times.append(time.perf_counter() - t0)
        assert st == 200, st
    print("%-40s p50 %.3f ms  p99 %.3f ms  (%d requests)" %
          (name, pct(times, 0.5), pct(times, 0.99), N))

joins.update(events=0, posts=0)
t0 = time.monotonic()
conns = [http.client.HTTPConnection("127.0.0.1", 18771) for _ in range(8)]
for i in range(PAGES):
    st, _ = post(conns[i % 8], "/connect", {"location": "/burst"})
    assert st == 200
t1 = time.monotonic()
while joins["events"] < PAGES and time.monotonic() - t1 < 60:
    time.sleep(0.01)
print("%d pages connected through the connect hook in %.2f s; all %d joins "
      "at the presence hook %.2f s after the first connect, in %d posts" %
      (PAGES, t1 - t0, joins["events"], joins["last"] - t0, joins["posts"]))
livd.terminate()
livd.wait()

#!/usr/bin/python3
"""What a hook costs (see livd(8) HOOKS).

usage: bench/hooklat.py [BUILD_DIR] [N] [PAGES]

Starts livd (auth: hook, every hook at a local application in this
process, answering at once) and measures, over one keep-alive connection:
- the round trip of POST /client/UUID/input for a verb with forward: true
  (post: through the input hook, whose answer is one send line appending
  the text at the page's location) against the same append sent as plain
  input (verb append, from_client), N of each (default 2,000, after 100
  untimed): p50 and p99;
- PAGES pages (default 10,000) connecting in a burst through the connect
  hook, from 16 keep-alive connections at once: how long the connects
  take, when the last join reached the presence hook, and in how many
  posts; then PAGES more connected at once through the control socket
  (one write of PAGES connect lines), which times the presence hook
  alone.

livd runs on CPU 0 when taskset is there (this process may use any CPU);
its log is in the temporary directory printed at the end when it fails.
It is stopped however this script ends: a livd left running would hold
the caller's pipe open (that is how this script once "hung").
"""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
PAGES = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
THREADS = 16
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tmp = tempfile.mkdtemp(prefix="hooklat-")
secret = os.urandom(24).hex().encode()
joins = {"events": 0, "posts": 0, "last": 0.0, "batch": 0}
lock = threading.Lock()


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Answer at once: the head and body in one write, and no Nagle. By
    # default http.server writes them apart and curl's delayed ACK adds
    # 40 ms to each answer: the application's cost, not livd's.
    wbufsize = 65536
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(sig, self.headers["X-Livd-Signature"])
        d = json.loads(body)
        out = b""
        if self.path == "/connect":
            out = b'{"principal": "p%d"}' % threading.get_ident()
        elif self.path == "/input":
            out = (json.dumps({"cmd": "send", "verb": "append", "args":
                               ["t", d["text"]], "location": d["location"]})
                   + "\n").encode()
        elif self.path == "/presence":
            n = sum(e["type"] == "join" for e in d["events"])
            with lock:
                joins["events"] += n
                joins["posts"] += 1
                joins["batch"] = max(joins["batch"], len(d["events"]))
                joins["last"] = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


class Server(ThreadingHTTPServer):
    # curl opens connections in a burst: the default backlog of 5 would
    # drop SYNs and time the kernel's retransmits, not livd.
    request_queue_size = 4096
    daemon_threads = True


def post(conn, path, form):
    body = urllib.parse.urlencode(form)
    conn.request("POST", path, body, {"Content-Type":
                                      "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    return r.status, r.read()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


def start_livd(port):
    with open(tmp + "/secret", "wb") as f:
        f.write(secret)
    os.chmod(tmp + "/secret", 0o600)
    with open(ROOT + "/share/livd/verbs.yaml") as f:
        verbs = f.read()
    with open(tmp + "/verbs.yaml", "w") as f:
        f.write(verbs + "\npost:\n  args: [text]\n  forward: true\n")
    base = "http://127.0.0.1:%d" % port
    with open(tmp + "/livd.yaml", "w") as f:
        f.write("auth: hook\nsecret_file: %s/secret\nverbs: %s/verbs.yaml\n"
                "input_rate: 0\nqueue_limit: 100000\nhooks:\n"
                "  connect: %s/connect\n  input: %s/input\n"
                "  presence: %s/presence\n" % (tmp, tmp, base, base, base))
    cmd = [ROOT + "/" + BUILD + "/livd", "-q", "-c", tmp + "/livd.yaml",
           "-l", "127.0.0.1:0", "-s", tmp + "/sock"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    log = open(tmp + "/livd.log", "w")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log)
    for _ in range(200):
        st = subprocess.run([ROOT + "/" + BUILD + "/livctl", "-s",
                             tmp + "/sock", "status"], capture_output=True,
                            text=True)
        for line in st.stdout.splitlines():
            if line.startswith("listen: "):
                return proc, int(line.rsplit(":", 1)[1])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit("hooklat: livd did not start; see %s/livd.log" % tmp)


def roundtrips(port):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    st, data = post(conn, "/connect", {"location": "/bench"})
    assert st == 200, (st, data)
    uuid = json.loads(data)["uuid"]
    for name, form in (("plain POST /input (verb append)",
                        {"verb": "append", "id": "t", "html": "x"}),
                       ("through the input hook (verb post)",
                        {"verb": "post", "text": "x"})):
        times = []
        for i in range(100 + N):
            t0 = time.perf_counter()
            st, data = post(conn, "/client/%s/input" % uuid, form)
            if i >= 100:
                times.append(time.perf_counter() - t0)
            assert st == 200, (st, data)
        print("%-38s p50 %.3f ms  p99 %.3f ms  (%d requests)" %
              (name, pct(times, 0.5), pct(times, 0.99), N))
    conn.close()


def burst(port):
    failed = []

    def pages(k):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for _ in range(k):
            st, data = post(conn, "/connect", {"location": "/burst"})
            if st != 200:
                failed.append((st, data))
        conn.close()

    with lock:
        joins.update(events=0, posts=0, batch=0)
    each = [PAGES // THREADS + (i < PAGES % THREADS) for i in range(THREADS)]
    threads = [threading.Thread(target=pages, args=(k,)) for k in each]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1 = time.monotonic()
    while joins["events"] < PAGES and time.monotonic() - t1 < 60:
        time.sleep(0.01)
    assert not failed, failed[:3]
    print("%d pages connected through the connect hook in %.2f s "
          "(%d connections); %d of %d joins at the presence hook %.2f s "
          "after the first connect, in %d posts (the largest %d events)" %
          (PAGES, t1 - t0, THREADS, joins["events"], PAGES,
           joins["last"] - t0, joins["posts"], joins["batch"]))
    return joins["events"] == PAGES


def burst_control():
    """PAGES connects in one write to the control socket: joins alone."""
    with lock:
        joins.update(events=0, posts=0, batch=0)
    lines = b"".join(b'{"cmd":"connect","location":"/ctl","principal":'
                     b'"c%d"}\n' % i for i in range(PAGES))
    s = socket.socket(socket.AF_UNIX)
    s.connect(tmp + "/sock")
    t0 = time.monotonic()
    s.sendall(lines)
    got = 0
    while got < PAGES:
        chunk = s.recv(1 << 20)
        assert chunk, "livd closed the control socket"
        got += chunk.count(b"\n")
    t1 = time.monotonic()
    s.close()
    while joins["events"] < PAGES and time.monotonic() - t1 < 60:
        time.sleep(0.01)
    print("%d pages connected through the control socket in %.2f s; %d of "
          "%d joins at the presence hook %.2f s after the first, in %d "
          "posts (the largest %d events)" %
          (PAGES, t1 - t0, joins["events"], PAGES, joins["last"] - t0,
           joins["posts"], joins["batch"]))
    return joins["events"] == PAGES


def main():
    app = Server(("127.0.0.1", 0), App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    proc = None
    ok = False
    try:
        proc, port = start_livd(app.server_address[1])
        roundtrips(port)
        ok = burst(port) and burst_control()
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        app.shutdown()
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("hooklat: joins missing; livd's log: %s/livd.log" % tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

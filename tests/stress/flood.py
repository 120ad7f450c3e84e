#!/usr/bin/python3
"""The flood of issue 15: can hostile input make livd hold unbounded memory?

SENDERS pages connect at /flood0 (or spread over LOCATIONS of them,
/flood0 to /floodN-1) and each posts EVENTS `append` events whose html
is SIZE characters (of PAD, x by default), as fast as livd answers.
Meanwhile HONEST pages keep long-polling with since=, half at /flood0
and half at /elsewhere, where one small event is sent by the control
socket every 0.1 s. A thread asks `livctl status` every 0.25 s throughout.

Each event's html starts with a marker "S.J:" (sender, number), so every
honest page can check what it received against what livd accepted: a
page that never got a `reload` must have received every accepted event
of its location, each once and in order; one that got a reload must have
received, after its last reload, each sender's accepted events without a
gap. Any other outcome is a silent gap, and the run fails.

It prints livd's RSS before, at its peak during and after the flood
(after LINGER seconds with one page polling without since=), the time
to the first 503 (or 429), and how many honest pages got a reload. With
--max-rss MiB it fails when the peak RSS of any node exceeds it.

usage: flood.py --port P[,P2...] --pid PID[,PID2...] --sock S --livctl L
       [--senders 50] [--events 20] [--size 60000] [--honest 10]
       [--locations 1] [--pad x] [--token JWT] [--linger 3]
       [--max-rss MIB] [--redis PORT]
Several ports and pids: a cluster; pages are spread over the nodes.
"""
import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse

args = None
problems = []
lock = threading.Lock()
accepted = {}           # sender -> [event numbers answered 200]
statuses = {}           # status -> count
first_refusal = [None]  # seconds since the flood began
t0 = [0.0]


def problem(msg):
    with lock:
        if len(problems) < 50:
            problems.append(msg)


def rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def dial(port, timeout=30):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def post(conn, path, form):
    body = urllib.parse.urlencode(form)
    conn.request("POST", path, body,
                 {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    return r.status, r.read()


def connect(port, location, principal):
    form = {"location": location, "principal": principal}
    if args.token:
        form = {"location": location, "token": args.token}
    conn = dial(port)
    try:
        st, body = post(conn, "/connect", form)
    except OSError as e:
        return conn, None, "connect: %s" % e
    if st != 200:
        return conn, None, "%d %s" % (st, body[:200])
    return conn, json.loads(body), None


def count(status):
    with lock:
        statuses[status] = statuses.get(status, 0) + 1
        if status in (429, 503) and first_refusal[0] is None:
            first_refusal[0] = time.monotonic() - t0[0]


def sender(i, port, go):
    conn, c, err = connect(port, "/flood%d" % (i % args.locations),
                           "attacker%d" % i)
    if c is None:
        count(int(err.split()[0]) if err[0].isdigit() else 0)
        return
    go.wait()
    pad = args.pad * args.size
    for j in range(args.events):
        html = ("%d.%d:" % (i, j) + pad)[:args.size]
        try:
            st, _ = post(conn, "/client/%s/input" % c["uuid"],
                         {"verb": "append", "id": "log", "html": html})
        except OSError:
            count(0)
            conn = dial(port)
            continue
        count(st)
        if st == 200:
            with lock:
                accepted.setdefault(i, []).append(j)


class Honest:
    def __init__(self, n, port, location):
        self.n, self.port, self.location = n, port, location
        self.seen = []          # markers since the last reload
        self.ticks = []         # /elsewhere's ticks since the last reload
        self.reloads = 0
        self.last = 0
        self.error = None

    def run(self, stop):
        conn, c, err = connect(self.port, self.location, "honest%d" % self.n)
        if c is None:
            self.error = err
            return
        uuid, since = c["uuid"], c["seq"]
        conn.timeout = 60
        while not stop.is_set():
            try:
                conn.request("GET", "/client/%s/output?since=%d"
                             % (uuid, since))
                r = conn.getresponse()
                body = r.read()
            except OSError as e:
                self.error = "poll: %s" % e
                return
            if r.status != 200:
                self.error = "poll: %d %s" % (r.status, body[:200])
                return
            d = json.loads(body)
            for e in d["events"]:
                if e["seq"] <= self.last:
                    problem("%s page %d: seq %d after %d" % (
                        self.location, self.n, e["seq"], self.last))
                self.last = e["seq"]
                if e["verb"] == "reload":
                    self.reloads += 1
                    self.seen, self.ticks = [], []
                elif e["verb"] == "append" and e.get("id") == "log":
                    s, j = e["html"].split(":", 1)[0].split(".")
                    self.seen.append((int(s), int(j)))
                elif e["verb"] == "text" and e.get("id") == "tick":
                    self.ticks.append(int(e["text"]))
            since = d["seq"]

    def check(self, ticks_sent):
        where = "%s page %d" % (self.location, self.n)
        if self.error:
            problem("%s: %s" % (where, self.error))
            return
        if self.location == "/elsewhere":
            got = self.ticks
            if self.reloads == 0 and got != ticks_sent:
                problem("%s: ticks %d of %d, no reload" % (
                    where, len(got), len(ticks_sent)))
            elif got != ticks_sent[len(ticks_sent) - len(got):]:
                problem("%s: a gap in the ticks after its reload" % where)
            return
        per = {}
        for s, j in self.seen:
            per.setdefault(s, []).append(j)
        for s, js in accepted.items():
            if s % args.locations != 0:
                continue        # sent elsewhere
            got = per.get(s, [])
            if self.reloads == 0 and got != js:
                problem("%s: sender %d: got %d of %d events, no reload" % (
                    where, s, len(got), len(js)))
            elif got != js[len(js) - len(got):]:
                problem("%s: sender %d: a gap after its reload" % (
                    where, s))


def ticker(stop, sent):
    n = 0
    while not stop.is_set():
        r = subprocess.run([args.livctl, "-s", args.sock[0], "send", "-l",
                            "/elsewhere", "text", "tick", str(n)],
                           capture_output=True, text=True)
        if r.returncode == 0:
            sent.append(n)
        n += 1
        stop.wait(0.1)


def statuser(stop, out):
    while not stop.is_set():
        for s in args.sock:
            t = time.monotonic()
            try:
                r = subprocess.run([args.livctl, "-s", s, "status"],
                                   capture_output=True, timeout=10)
                ok = r.returncode == 0
            except subprocess.TimeoutExpired:
                ok = False
            dt = time.monotonic() - t
            out["max"] = max(out.get("max", 0), dt)
            if not ok:
                problem("livctl -s %s status failed" % s)
        stop.wait(0.25)


def sampler(stop, peak):
    while not stop.is_set():
        for k, pid in enumerate(args.pid):
            peak[k] = max(peak[k], rss(pid))
        stop.wait(0.05)


def lingerer(port, stop):
    """One page polling without since= at /flood0 (item 1's last step)."""
    conn, c, err = connect(port, "/flood0", "lingerer")
    if c is None:
        return
    while not stop.is_set():
        try:
            conn.request("GET", "/client/%s/output" % c["uuid"])
            conn.getresponse().read()
        except OSError:
            return


def redis_info():
    if not args.redis:
        return ""
    r = subprocess.run(["redis-cli", "-p", str(args.redis), "info",
                        "memory"], capture_output=True, text=True)
    mem = [l for l in r.stdout.splitlines()
           if l.startswith("used_memory:")]
    keys = subprocess.run(["redis-cli", "-p", str(args.redis), "--scan",
                           "--pattern", "livd:history:*"],
                          capture_output=True, text=True).stdout.split()
    ttls = []
    for k in keys:
        t = subprocess.run(["redis-cli", "-p", str(args.redis), "pttl", k],
                           capture_output=True, text=True).stdout.strip()
        if k.startswith("livd:history:"):
            ttls.append("%s expires in %s ms" % (k, t))
    return "redis %s; streams: %s" % (
        mem[0].split(":")[1] if mem else "?", "; ".join(ttls[:4]))


def mib(n):
    return "%.1f MiB" % (n / 1048576.0)


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", required=True)
    p.add_argument("--pid", required=True)
    p.add_argument("--sock", required=True)
    p.add_argument("--livctl", required=True)
    p.add_argument("--senders", type=int, default=50)
    p.add_argument("--events", type=int, default=20)
    p.add_argument("--size", type=int, default=60000)
    p.add_argument("--honest", type=int, default=10)
    p.add_argument("--locations", type=int, default=1,
                   help="senders spread over /flood0 ... /floodN-1")
    p.add_argument("--pad", default="x",
                   help="the html's filler character")
    p.add_argument("--token")
    p.add_argument("--linger", type=float, default=3)
    p.add_argument("--max-rss", type=float)
    p.add_argument("--redis", type=int)
    args = p.parse_args()
    args.port = [int(x) for x in args.port.split(",")]
    args.pid = [int(x) for x in args.pid.split(",")]
    args.sock = args.sock.split(",")
    nodes = len(args.port)

    before = [rss(pid) for pid in args.pid]
    peak = list(before)
    stop, go, done = threading.Event(), threading.Event(), threading.Event()
    st_out, ticks = {}, []
    bg = [threading.Thread(target=sampler, args=(done, peak)),
          threading.Thread(target=statuser, args=(done, st_out))]
    pages = [Honest(k, args.port[k % nodes],
                    "/flood0" if k % 2 == 0 else "/elsewhere")
             for k in range(args.honest)]
    bg += [threading.Thread(target=h.run, args=(stop,)) for h in pages]
    for t in bg:
        t.start()
    time.sleep(0.5)
    tick = threading.Thread(target=ticker, args=(stop, ticks))
    tick.start()
    senders = [threading.Thread(target=sender,
                                args=(i, args.port[i % nodes], go))
               for i in range(args.senders)]
    for t in senders:
        t.start()
    time.sleep(0.2)
    t0[0] = time.monotonic()
    go.set()
    for t in senders:
        t.join()
    flood = time.monotonic() - t0[0]
    during = list(peak)
    # The honest pages catch up, then the ticker stops, then they drain.
    time.sleep(1.5)
    stop.set()
    tick.join()
    for t in bg[2:]:
        t.join(timeout=90)
    for h in pages:
        h.check(ticks)
    linger = threading.Event()
    lt = threading.Thread(target=lingerer, args=(args.port[0], linger))
    lt.start()
    time.sleep(args.linger)
    after = [rss(pid) for pid in args.pid]
    linger.set()
    done.set()
    for t in bg[:2]:
        t.join()
    lt.join(timeout=60)

    sent = args.senders * args.events
    ok200 = statuses.get(200, 0)
    reloaded = sum(1 for h in pages if h.reloads)
    print("flood: %d senders x %d events x %d bytes at %d location%s, "
          "%d node%s%s" % (
              args.senders, args.events, args.size, args.locations,
              "s" if args.locations > 1 else "", nodes,
              "s" if nodes > 1 else "", ", token" if args.token else ""))
    print("answers: %s in %.1f s" % (
        ", ".join("%s: %d" % (k, v) for k, v in sorted(statuses.items())),
        flood))
    print("accepted: %d of %d events (%s)" % (ok200, sent,
                                             mib(ok200 * args.size)))
    print("first refusal: %s" % ("%.2f s" % first_refusal[0]
                                 if first_refusal[0] is not None else
                                 "none"))
    for k in range(nodes):
        print("rss node %d: before %s, peak %s, after %s" % (
            k, mib(before[k]), mib(during[k]), mib(after[k])))
    print("honest pages: %d, reloaded: %d (%d at /flood0, %d elsewhere); "
          "ticks sent: %d" % (
              len(pages), reloaded,
              sum(1 for h in pages if h.reloads and h.location == "/flood0"),
              sum(1 for h in pages if h.reloads and
                  h.location == "/elsewhere"), len(ticks)))
    print("livctl status: slowest %.2f s" % st_out.get("max", 0))
    if args.redis:
        print(redis_info())
    if args.max_rss is not None:
        for k in range(nodes):
            if during[k] > args.max_rss * 1048576:
                problem("node %d: peak RSS %s over %.0f MiB" % (
                    k, mib(during[k]), args.max_rss))
    for msg in problems:
        print("PROBLEM: " + msg)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

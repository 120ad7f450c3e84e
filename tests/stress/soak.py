#!/usr/bin/env python3
"""A bounded soak: hundreds of pages connect, long-poll, drop mid-poll and
come back with their cursor while events flow to their locations; then
every page must have seen every event addressed to it exactly once and in
order, and livd's memory must come back near where it started.

Events are streamed through one `livctl send -` (JSON lines, each with its
own location, a few to everyone), and recorded as livd sends them by a
`tail` on the control socket: that record, with the seq livd gave each
event, is what every page is checked against.

Pages drop in the ways a browser does: a poll reset or closed while held,
half a request and gone, an idle connection closed; they come back either
polling their uuid again with their cursor, or (their client given up for
lost) connecting again and passing the old cursor as since, the way
livepage.js catches up. A reload event is a legitimate resync: from then on
the page is checked from the reload's seq. Reloads are counted and must be
rare.

usage: soak.py PORT SOCKET LIVCTL LIVD_PID [--clients N] [--seconds S]
               [--locations L] [--rate EVENTS_PER_SECOND] [--max-reloads N]
               [--rss-slack-kib K] [--rss-slack-ratio R] [--warmup S]
               [--no-rss] [--seed N]
Exits 0 when every check passed; prints a summary either way.
"""
import argparse
import asyncio
import json
import random
import socket
import struct
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("socket")
p.add_argument("livctl")
p.add_argument("pid", type=int)
p.add_argument("--clients", type=int, default=300)
p.add_argument("--seconds", type=float, default=10)
p.add_argument("--locations", type=int, default=6)
p.add_argument("--rate", type=float, default=200)
p.add_argument("--max-reloads", type=int, default=None)
p.add_argument("--rss-slack-kib", type=int, default=2048)
p.add_argument("--rss-slack-ratio", type=float, default=0.25)
p.add_argument("--seed", type=int, default=None)
p.add_argument("--no-rss", action="store_true",
               help="report RSS but do not check it (under valgrind, whose "
               "RSS is its own and which checks leaks itself)")
p.add_argument("--warmup", type=float, default=0,
               help="a first, shorter round; memory is then measured from "
               "its end (for allocators that keep pools, such as ASan's)")
args = p.parse_args()

seed = args.seed if args.seed is not None else random.randrange(1 << 30)
random.seed(seed)
LOC = ["/soak%d" % i for i in range(args.locations)]
stats = {"polls": 0, "answers": 0, "events_seen": 0, "reloads": 0,
         "resets": 0, "closes": 0, "halfreq": 0, "idle_drop": 0,
         "same_uuid": 0, "reconnects": 0, "abandoned": 0, "sent": 0}
problems = []


def rss_kib():
    with open("/proc/%d/status" % args.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS for pid %d" % args.pid)


class Http:
    """One keep-alive HTTP/1.1 connection to livd."""

    def __init__(self):
        self.r = self.w = None

    async def open(self):
        self.r, self.w = await asyncio.open_connection("127.0.0.1", args.port)

    async def send(self, method, path, body=b""):
        if self.w is None:
            await self.open()
        head = "%s %s HTTP/1.1\r\nHost: soak\r\n" % (method, path)
        if method == "POST":
            head += ("Content-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: %d\r\n" % len(body))
        self.w.write(head.encode() + b"\r\n" + body)
        await self.w.drain()

    async def answer(self):
        head = await self.r.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await self.r.readexactly(length)
        if b"connection: close" in head.lower():
            self.drop()
        return status, body

    async def request(self, method, path, body=b""):
        await self.send(method, path, body)
        return await asyncio.wait_for(self.answer(), 30)

    def drop(self, reset=False):
        if self.w is not None:
            if reset:
                sock = self.w.get_extra_info("socket")
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.w.close()
        self.r = self.w = None


async def post_form(conn, path, form):
    body = "&".join("%s=%s" % kv for kv in form.items()).encode()
    return await conn.request("POST", path, body)


class Page:
    def __init__(self, i):
        self.i = i
        self.loc = LOC[i % len(LOC)]
        self.principal = "p%d" % i
        self.conn = Http()
        self.uuid = None
        self.cursor = None
        # Segments of what was seen: [base, [(seq, html)...]]; a reload
        # starts a new segment from its answer's seq.
        self.segments = []
        self.reloads = 0
        self.old_uuids = []

    async def connect(self, since=None):
        st, body = await post_form(self.conn, "/connect", {
            "location": self.loc, "principal": self.principal})
        if st != 200:
            raise RuntimeError("connect: %d %r" % (st, body))
        c = json.loads(body)
        self.uuid = c["uuid"]
        if since is None:               # a new page: it starts here
            self.cursor = c["seq"]
            self.segments.append([c["seq"], []])
        elif c["seq"] < since:
            problems.append("page %d: connect seq %d below its old "
                            "cursor %d" % (self.i, c["seq"], since))

    def take(self, d, since):
        stats["answers"] += 1
        if d["seq"] < since and not any(e["verb"] == "reload"
                                        for e in d["events"]):
            problems.append("page %d: answer seq %d below since %d"
                            % (self.i, d["seq"], since))
        for e in d["events"]:
            if e["verb"] == "reload":
                self.reloads += 1
                stats["reloads"] += 1
                self.segments.append([d["seq"], []])
            else:
                self.segments[-1][1].append((e["seq"], e["html"]))
                stats["events_seen"] += 1
        self.cursor = d["seq"]

    def poll_path(self):
        return "/client/%s/output?since=%d" % (self.uuid, self.cursor)

    async def poll(self):
        stats["polls"] += 1
        since = self.cursor
        st, body = await self.conn.request("GET", self.poll_path())
        if st != 200:
            raise RuntimeError("poll: %d %r" % (st, body))
        self.take(json.loads(body), since)

    async def come_back(self):
        """After a drop: poll the same uuid again, or connect again and
        catch up with the old cursor."""
        if random.random() < 0.6:
            stats["same_uuid"] += 1
            return
        stats["reconnects"] += 1
        old = self.uuid
        await self.connect(since=self.cursor)
        if random.random() < 0.5:
            # The old client is closed (the page knew it), or left to time
            # out; the driver closes those at the end.
            other = Http()
            await post_form(other, "/client/%s/close" % old, {})
            other.drop()
        else:
            stats["abandoned"] += 1
            self.old_uuids.append(old)

    async def drop_mid_poll(self):
        fate = random.random()
        path = self.poll_path()
        if fate < 0.3:                  # half a request, then gone
            req = ("GET %s HTTP/1.1\r\nHost: soak\r\n\r\n" % path).encode()
            if self.conn.w is None:
                await self.conn.open()
            self.conn.w.write(req[:random.randint(1, len(req) - 1)])
            await self.conn.w.drain()
            self.conn.drop(reset=True)
            stats["halfreq"] += 1
        else:                           # the poll is held (or answered)
            await self.conn.send("GET", path)
            await asyncio.sleep(random.random() * 0.1)
            reset = fate < 0.65
            self.conn.drop(reset=reset)
            stats["resets" if reset else "closes"] += 1
        await self.come_back()

    async def run(self, stop):
        await asyncio.sleep(random.random() * 1.5)
        await self.connect()
        while not stop.is_set():
            fate = random.random()
            try:
                if fate < 0.12:
                    await self.drop_mid_poll()
                elif fate < 0.15:
                    self.conn.drop()        # an idle connection closed
                    stats["idle_drop"] += 1
                    await self.poll()
                else:
                    await self.poll()
            except (ConnectionError, asyncio.IncompleteReadError,
                    RuntimeError, asyncio.TimeoutError) as e:
                problems.append("page %d: %r" % (self.i, e))
                self.conn.drop()
            await asyncio.sleep(random.random() * 0.2)

    async def finish(self, last_seq):
        """Poll until everything up to last_seq is seen; then leave."""
        deadline = time.time() + 20
        self.conn.drop()
        while self.cursor < last_seq and time.time() < deadline:
            await self.poll()
        if self.cursor < last_seq:
            problems.append("page %d: cursor %d never reached %d"
                            % (self.i, self.cursor, last_seq))
        for u in [self.uuid] + self.old_uuids:
            st, body = await post_form(self.conn, "/client/%s/close" % u, {})
            # A client left behind may have timed out already.
            if st not in (200, 404) or (u == self.uuid and st != 200):
                problems.append("page %d: close %s: %d" % (self.i, u, st))
        self.conn.drop()


async def tail(sent_log, ready):
    r, w = await asyncio.open_unix_connection(args.socket, limit=1 << 24)
    w.write(b'{"cmd": "tail"}\n')
    await w.drain()
    first = json.loads(await r.readline())
    if first.get("ok") is not True:
        raise SystemExit("tail: %r" % first)
    ready.set()
    while True:
        line = await r.readline()
        if not line:
            return
        d = json.loads(line)
        if "event" not in d:
            problems.append("tail: %r" % d)
            return
        e = d["event"]
        sent_log.append((e["seq"], d.get("location"), e["html"]))


async def sender(stop):
    proc = await asyncio.create_subprocess_exec(
        args.livctl, "-s", args.socket, "send", "-", stdin=asyncio.subprocess.PIPE)
    n = 0
    step = 0.02
    per_step = max(1, int(args.rate * step))
    while not stop.is_set():
        lines = []
        for _ in range(per_step):
            n += 1
            if n % 25 == 0:
                lines.append({"verb": "append", "id": "log",
                              "html": "all#%d" % n})
            else:
                loc = random.choice(LOC)
                lines.append({"verb": "append", "id": "log",
                              "html": "%s#%d" % (loc, n), "location": loc})
        proc.stdin.write("".join(json.dumps(x) + "\n"
                                 for x in lines).encode())
        await proc.stdin.drain()
        await asyncio.sleep(step)
    proc.stdin.close()
    rc = await proc.wait()
    stats["sent"] = n
    if rc != 0:
        problems.append("livctl send - exited %d" % rc)
    return n


def check(page, sent_log):
    expected = [(seq, html) for seq, loc, html in sent_log
                if loc is None or loc == page.loc]
    for k, (base, seen) in enumerate(page.segments):
        final = k == len(page.segments) - 1
        seqs = [s for s, _ in seen]
        if seqs != sorted(set(seqs)):
            return "segment %d: seqs not strictly increasing: %r" % (k, seqs[:20])
        if seen and seen[0][0] <= base:
            return "segment %d: event %d at or before its base %d" % (
                k, seen[0][0], base)
        top = seen[-1][0] if seen else base
        want = [e for e in expected if base < e[0] and (final or e[0] <= top)]
        if seen != want:
            miss = [e for e in want if e not in set(seen)]
            extra = [e for e in seen if e not in set(want)]
            return ("segment %d from %d: %d seen, %d expected; missing %r; "
                    "not expected %r" % (k, base, len(seen), len(want),
                                         miss[:5], extra[:5]))
    return None


async def soak_round(seconds, rss):
    """One round: pages come, soak, catch up, leave. Returns the peak RSS."""
    sent_log, ready, stop = [], asyncio.Event(), asyncio.Event()
    tail_task = asyncio.create_task(tail(sent_log, ready))
    await asyncio.wait_for(ready.wait(), 10)
    pages = [Page(i) for i in range(args.clients)]
    page_tasks = [asyncio.create_task(pg.run(stop)) for pg in pages]
    send_task = asyncio.create_task(sender(stop))
    t0 = time.time()
    peak = rss
    while time.time() - t0 < seconds:
        await asyncio.sleep(0.5)
        peak = max(peak, rss_kib())
    stop.set()
    n = await send_task
    await asyncio.gather(*page_tasks)
    # Every event sent has been through the tail: the record is complete.
    deadline = time.time() + 15
    while len(sent_log) < n and time.time() < deadline:
        await asyncio.sleep(0.05)
    if len(sent_log) != n:
        problems.append("tail saw %d events of %d sent" % (len(sent_log), n))
    last = {loc: max([s for s, l, _ in sent_log if l in (None, loc)] or [0])
            for loc in LOC}
    await asyncio.gather(*[pg.finish(last[pg.loc]) for pg in pages])
    tail_task.cancel()
    bad = 0
    for pg in pages:
        why = check(pg, sent_log)
        if why is not None:
            bad += 1
            if bad <= 10:
                problems.append("page %d (%s, %d reloads): %s" % (
                    pg.i, pg.loc, pg.reloads, why))
    if bad > 10:
        problems.append("... %d pages in all failed the check" % bad)
    return peak


async def settle():
    """RSS once the pages have gone, given a moment to come down."""
    await asyncio.sleep(1.0)
    return rss_kib()


async def main():
    rss_start = rss_kib()
    base = rss_start
    if args.warmup > 0:
        await soak_round(args.warmup, rss_start)
        base = await settle()
    for k in stats:
        stats[k] = 0
    rss_peak = await soak_round(args.seconds, base)
    max_reloads = args.max_reloads
    if max_reloads is None:
        max_reloads = max(3, (stats["reconnects"] + stats["same_uuid"]) // 20)
    if stats["reloads"] > max_reloads:
        problems.append("%d reloads: more than %d" % (stats["reloads"],
                                                      max_reloads))
    # Memory: back near the start once the pages are gone.
    limit = base + max(args.rss_slack_kib, base * args.rss_slack_ratio)
    rss_end = await settle()
    for _ in range(0 if args.no_rss else 20):
        if rss_end <= limit:
            break
        await asyncio.sleep(0.25)
        rss_end = rss_kib()
    if rss_end > limit and not args.no_rss:
        problems.append("RSS %d KiB after the pages left: started at %d "
                        "(%d after the warm-up), peak %d, limit %d" % (
                            rss_end, rss_start, base, rss_peak, limit))
    print("soak: seed=%d clients=%d seconds=%g %s" % (
        seed, args.clients, args.seconds,
        " ".join("%s=%d" % kv for kv in sorted(stats.items()))))
    print("soak: rss start=%d after-warmup=%d peak=%d end=%d limit=%d KiB" % (
        rss_start, base, rss_peak, rss_end, limit))
    if stats["resets"] == 0 or stats["reconnects"] == 0 or \
            stats["events_seen"] == 0:
        problems.append("the run did not exercise livd")
    for pr in problems:
        print("soak: FAIL: " + pr)
    return 1 if problems else 0


sys.exit(asyncio.run(main()))

#!/usr/bin/env python3
"""Kill clients mid-poll while events flow.

Holds long-polls on many connections and, while livctl streams events to
their location, drops connections at random moments: a reset (RST) while a
poll is held, a half-close, a close before the reply is read, a close in
the middle of a request, and a close right after a reply starts. Meant to
run against livd built with AddressSanitizer: any use of a freed request
aborts livd, which the caller notices.

usage: midpoll.py PORT LIVCTL SECONDS
"""
import asyncio, json, random, socket, struct, subprocess, sys, time

PORT, LIVCTL, SECONDS = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
LOCATION = "/stress"
stats = {"answers": 0, "resets": 0, "halfclose": 0, "midrequest": 0,
         "early": 0, "events": 0}


async def request(reader, writer, text):
    writer.write(text.encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


def reset(writer):
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    writer.close()


async def page(i, deadline):
    while time.time() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        try:
            body = "location=%s&principal=p%d" % (LOCATION, i % 7)
            _, c = await request(reader, writer,
                "POST /connect HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                "\r\n%s" % (len(body), body))
            c = json.loads(c)
            seq = c["seq"]
            for _ in range(random.randint(1, 6)):
                poll = ("GET /client/%s/output?since=%d HTTP/1.1\r\n"
                        "Host: x\r\n\r\n" % (c["uuid"], seq))
                fate = random.random()
                if fate < 0.15:           # reset while the poll is held
                    writer.write(poll.encode())
                    await writer.drain()
                    await asyncio.sleep(random.random() * 0.05)
                    reset(writer)
                    stats["resets"] += 1
                    break
                if fate < 0.25:           # half the request, then gone
                    writer.write(poll[:random.randint(1, len(poll) - 1)]
                                 .encode())
                    await writer.drain()
                    reset(writer)
                    stats["midrequest"] += 1
                    break
                if fate < 0.35:           # half-close after asking
                    writer.write(poll.encode())
                    await writer.drain()
                    writer.write_eof()
                    stats["halfclose"] += 1
                    await asyncio.sleep(random.random() * 0.05)
                    writer.close()
                    break
                if fate < 0.45:           # gone as the reply starts
                    writer.write(poll.encode())
                    await writer.drain()
                    await reader.read(1)
                    reset(writer)
                    stats["early"] += 1
                    break
                _, answer = await request(reader, writer, poll)
                answer = json.loads(answer)
                seq = answer["seq"]
                stats["answers"] += 1
            else:
                writer.close()
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()


async def events(deadline):
    proc = await asyncio.create_subprocess_exec(
        LIVCTL, "send", "-l", LOCATION, "-", stdin=subprocess.PIPE)
    n = 0
    while time.time() < deadline:
        for _ in range(20):
            n += 1
            proc.stdin.write(b"append target <p>%d</p>\n" % n)
        proc.stdin.write(b"update box <b>%d</b>\n" % n)
        await proc.stdin.drain()
        await asyncio.sleep(0.005)
    proc.stdin.close()
    rc = await proc.wait()
    stats["events"] = n
    if rc != 0:
        raise SystemExit("livctl send - exited %d" % rc)


async def main():
    deadline = time.time() + SECONDS
    await asyncio.gather(events(deadline),
                         *[page(i, deadline) for i in range(60)])
    print(" ".join("%s=%d" % kv for kv in sorted(stats.items())))
    if stats["answers"] == 0 or stats["resets"] == 0:
        raise SystemExit("the run did not exercise livd")


asyncio.run(main())

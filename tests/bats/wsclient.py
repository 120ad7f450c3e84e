"""WebSocket clients for ws.bats: Debian's python3-websockets (a client
livd did not write) for the protocol, and a raw one (frames built here)
for what a correct client never sends: unmasked frames, invalid UTF-8,
control frames between fragments.

    wsclient.py PORT UUID COMMAND [ARGS...]

Each command prints what it saw, one line each, for bats to compare.
"""
import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import sys

import websockets

TIMEOUT = 10.0
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def url(port, uuid, query=""):
    return "ws://127.0.0.1:%s/client/%s/ws%s" % (port, uuid, query)


# ---- the raw client -------------------------------------------------------

class Raw:
    """A WebSocket by hand: handshake, frames masked or not."""

    def __init__(self, port, uuid, query=""):
        self.s = socket.create_connection(("127.0.0.1", int(port)),
                                          timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16))
        self.s.sendall(b"GET /client/%s/ws%s HTTP/1.1\r\nHost: livd\r\n"
                       b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: %s\r\n"
                       b"Sec-WebSocket-Version: 13\r\n\r\n"
                       % (uuid.encode(), query.encode(), key))
        self.data = b""
        while b"\r\n\r\n" not in self.data:
            chunk = self.s.recv(4096)
            if not chunk:
                raise SystemExit("raw: closed during the handshake")
            self.data += chunk
        head, _, self.data = self.data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101 "):
            raise SystemExit("raw: " + head.decode().split("\r\n")[0])
        want = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if b"Sec-WebSocket-Accept: " + want not in head:
            raise SystemExit("raw: wrong Sec-WebSocket-Accept")

    def send(self, opcode, payload=b"", fin=True, mask=True):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack("!H", n)
        else:
            head += bytes([m | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            head += key
        self.s.sendall(head + payload)

    def need(self, n):
        while len(self.data) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.data += chunk

    def recv(self):
        """(opcode, payload) of the next frame; (None, b"") at EOF."""
        try:
            self.need(2)
            op, n = self.data[0] & 0x0f, self.data[1] & 0x7f
            off = 2
            if n == 126:
                self.need(4)
                n, off = struct.unpack("!H", self.data[2:4])[0], 4
            elif n == 127:
                self.need(10)
                n, off = struct.unpack("!Q", self.data[2:10])[0], 10
            self.need(off + n)
        except EOFError:
            return None, b""
        payload = self.data[off:off + n]
        self.data = self.data[off + n:]
        return op, payload

    def close_code(self):
        """Read up to the close frame: its code, or EOF."""
        while True:
            op, payload = self.recv()
            if op is None:
                return "EOF"
            if op == 8:
                return struct.unpack("!H", payload[:2])[0] if payload \
                    else "none"


def raw(port, uuid, what, *args):
    r = Raw(port, uuid)
    if what == "unmasked":
        r.send(1, '{"ack": 0}', mask=False)
        print("close", r.close_code())
    elif what == "badutf8":
        r.send(1, b'{"verb": "\xc3\x28"}')
        print("close", r.close_code())
    elif what == "badutf8-split":
        # Valid so far in the first fragment, invalid in the second.
        r.send(1, b'{"verb": "\xc3', fin=False)
        r.send(0, b'\x28"}')
        print("close", r.close_code())
    elif what == "binary":
        r.send(2, b"\x00\x01")
        print("close", r.close_code())
    elif what == "toobig":
        r.send(1, b"x" * int(args[0]))
        print("close", r.close_code())
    elif what == "toobig-fragments":
        # Each fragment within max_body, the message over it.
        part = b"x" * (int(args[0]) // 2 + 1)
        r.send(1, part, fin=False)
        r.send(0, part)
        print("close", r.close_code())
    elif what == "interleaved":
        # A message in three fragments with a ping and a pong between:
        # the ping is answered at once, the message is taken whole.
        msg = json.dumps({"verb": "append", "id": "log",
                          "html": "in three parts"}).encode()
        r.send(1, msg[:5], fin=False)
        r.send(9, b"between")
        op, payload = r.recv()
        print("answer", op, payload.decode())
        r.send(0, msg[5:12], fin=False)
        r.send(10, b"unasked")
        r.send(0, msg[12:])
        op, payload = r.recv()
        print("answer", op, payload.decode())
        op, payload = r.recv()
        print("frame", op, json.loads(payload)["events"][0]["html"])
    elif what == "empty-fragments":
        msg = b'{"ack": 0}'
        r.send(1, b"", fin=False)
        r.send(0, msg, fin=False)
        r.send(0, b"")
        r.send(9, b"after")
        op, payload = r.recv()
        print("answer", op, payload.decode())
    elif what == "silent":
        # Pings are not answered: livd gives up on the page.
        pings = 0
        while True:
            op, payload = r.recv()
            if op == 9:
                pings += 1
                continue
            print("pings", pings, "then", "EOF" if op is None else op)
            break
    elif what == "pings":
        # Pings answered: the socket stays.
        pings = 0
        while pings < int(args[0]):
            op, payload = r.recv()
            if op is None:
                print("EOF")
                return
            if op == 9:
                pings += 1
                r.send(10, payload)
        print("pings", pings)
    elif what == "close":
        r.send(8, struct.pack("!H", 1000) + b"bye")
        print("close", r.close_code())
    else:
        raise SystemExit("raw: unknown " + what)


# ---- python3-websockets ---------------------------------------------------

async def session(port, uuid, lines, query="", protocols=None):
    """Send each line (JSON) and print each frame that comes back; a line
    "recv" only waits for a frame, "sleep N" waits."""
    async with websockets.connect(url(port, uuid, query),
                                  subprotocols=protocols,
                                  max_size=None, open_timeout=TIMEOUT,
                                  ping_interval=None) as ws:
        print("subprotocol", ws.subprotocol)
        for line in lines:
            if line == "recv":
                print(await asyncio.wait_for(ws.recv(), TIMEOUT))
            elif line.startswith("sleep "):
                await asyncio.sleep(float(line[6:]))
            elif line == "ping":
                await asyncio.wait_for(await ws.ping(b"hello"), TIMEOUT)
                print("pong")
            elif line == "fragments":
                await ws.send(iter(['{"verb": "append", ', '"id": "log", ',
                                    '"html": "in fragments"}']))
            else:
                await ws.send(line)
        await ws.close()
        print("closed", ws.close_code)


async def big(port, uuid, size):
    """One input frame of size bytes; its event comes back whole."""
    async with websockets.connect(url(port, uuid), max_size=None,
                                  ping_interval=None) as ws:
        head = '{"verb": "append", "id": "log", "html": "'
        html = "y" * (size - len(head) - 2)
        await ws.send(head + html + '"}')
        print(await asyncio.wait_for(ws.recv(), TIMEOUT))
        answer = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        print("html", len(answer["events"][0]["html"]),
              answer["events"][0]["html"] == html)


async def replaced(port, uuid):
    """A second socket on the uuid: the first is closed 1000."""
    async with websockets.connect(url(port, uuid), ping_interval=None) as a:
        async with websockets.connect(url(port, uuid),
                                      ping_interval=None) as b:
            try:
                await asyncio.wait_for(a.recv(), TIMEOUT)
            except websockets.ConnectionClosed:
                pass
            print("first closed", a.close_code)
            print("second open", b.open)


async def wait_close(port, uuid):
    """Open a socket and wait for livd to close it."""
    async with websockets.connect(url(port, uuid), ping_interval=None) as ws:
        print("open")
        sys.stdout.flush()
        try:
            while True:
                await asyncio.wait_for(ws.recv(), TIMEOUT)
        except websockets.ConnectionClosed:
            pass
        print("closed", ws.close_code)


def main():
    port, uuid, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3], \
        sys.argv[4:]
    if cmd == "session":
        query, protocols = "", None
        while args and args[0] in ("-q", "-p"):
            if args[0] == "-q":
                query = args[1]
            else:
                protocols = args[1].split(",")
            args = args[2:]
        asyncio.run(session(port, uuid, args, query, protocols))
    elif cmd == "big":
        asyncio.run(big(port, uuid, int(args[0])))
    elif cmd == "replaced":
        asyncio.run(replaced(port, uuid))
    elif cmd == "wait-close":
        asyncio.run(wait_close(port, uuid))
    elif cmd == "raw":
        raw(port, uuid, *args)
    else:
        raise SystemExit("wsclient: unknown command " + cmd)


if __name__ == "__main__":
    main()

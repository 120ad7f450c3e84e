"""Raw HTTP/1.1 and control-socket helpers for the bats suites' Python
snippets (trust, limits2, badinput, stream): exact bytes out, status, headers and
body back, on sockets the test holds open as long as it likes.

    import sys; sys.path.insert(0, TESTDIR); from rawhttp import *
"""
import json
import socket
import subprocess

TIMEOUT = 10.0


def dial(port, timeout=TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_answer(s):
    """Read one answer: (status, {lower-case name: value}, body bytes).
    Status 0 when the connection closed before a full head came."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return 0, {}, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    n = int(headers.get("content-length", "0"))
    while len(body) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def request(s, method, path, body=b"", headers=()):
    """Send one request on socket s and read its answer."""
    if isinstance(body, str):
        body = body.encode()
    head = "%s %s HTTP/1.1\r\nHost: livd\r\n" % (method, path)
    for h in headers:
        head += h + "\r\n"
    if body or method == "POST":
        head += "Content-Length: %d\r\n" % len(body)
    s.sendall(head.encode() + b"\r\n" + body)
    return read_answer(s)


def send_raw(port, raw, timeout=TIMEOUT):
    """Send exact bytes on a new connection; return the answer."""
    s = dial(port, timeout)
    try:
        s.sendall(raw)
        return read_answer(s)
    finally:
        s.close()


def connect_page(s, location, principal):
    """POST /connect on socket s; the JSON answer."""
    status, _, body = request(s, "POST", "/connect",
                              "location=%s&principal=%s" % (location, principal))
    assert status == 200, (status, body)
    return json.loads(body)


def poll(s, uuid, since=None):
    q = "" if since is None else "?since=%d" % since
    status, _, body = request(s, "GET", "/client/%s/output%s" % (uuid, q))
    assert status == 200, (status, body)
    return json.loads(body)


def stalled_stream(port, target):
    """GET target as a reader that stalls: a 4 KiB receive buffer, and
    only the head read (which must be 200). The socket."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target.encode())
    s.settimeout(TIMEOUT)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 200"), head
    return s


def flood(livctl, where, n):
    """n events of 1 KB each (append log N...), by livctl send WHERE -
    over one connection; where is e.g. ["-l", "/a"]."""
    p = subprocess.Popen([livctl, "send"] + where + ["-"],
                         stdin=subprocess.PIPE)
    pad = "x" * 1000
    p.stdin.write("".join("append log %d%s\n" % (i, pad)
                          for i in range(n)).encode())
    p.stdin.close()
    assert p.wait() == 0


def drain(s):
    """Read until the peer closes; what came."""
    s.settimeout(TIMEOUT)
    data = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            return data
        data += chunk


class Control:
    """A control-socket connection: one JSON request, one answer line."""

    def __init__(self, path, timeout=TIMEOUT):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("control connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def ask(self, req):
        self.s.sendall((json.dumps(req) + "\n").encode())
        return self.line()

    def close(self):
        self.s.close()

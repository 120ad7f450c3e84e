#!/usr/bin/env python3
"""Drive a program on a pseudo-terminal, as a person at a keyboard would.

usage: ptydrive.py [--timeout S] [--cols N] [--raw FILE] -- COMMAND [ARG...]

The script comes on stdin, one action a line:

    send TEXT     type TEXT (Python escapes: \\t tab, \\n enter, \\x04 Ctrl-D,
                  \\x1b[A up arrow, \\\\ a backslash)
    expect RE     wait until the screen text matches the regular expression
                  RE (Python syntax), searching from the start of the line
                  where the last match ended (so "> stat$" finds the line
                  typed after a prompt); what it matched is then behind us
    prompt        expect the next prompt (the regular expression given with
                  `set prompt RE`; default "livctl [^\\n]*> ")
    set prompt RE
    sleep S
    wait          wait for the program to exit

Blank lines and lines starting with # are skipped. At the end (or when an
expect times out) the transcript goes to stdout: what a plain terminal
would show, lines of text with CR, backspace and erase-to-end-of-line
applied and other escape sequences and bells dropped. Readline shows the
prompt again under a list of completions: expect the line there before
typing on, or the next `prompt` matches that one. The exit status
is the program's (after `wait`), 124 when an expect or the wait timed out
(the reason on stderr), 125 when the script is bad.
"""
import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

TOKENS = re.compile(
    r"\x1b\[([0-?]*)[ -/]*([@-~])"      # CSI: parameters, final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[()][0-9A-Za-z]"          # charset
    r"|\x1b[=>78DEHMNOZc]"           # keypad modes and the like
    r"|[\x00-\x1f]"                  # other control characters
    r"|[^\x00-\x1f\x1b]+"             # text
)


def clean(raw):
    """What a simple terminal shows: lines of text, with the cursor
    moves a dumb terminal gets (CR, BS, erase to end of line) applied."""
    text = raw.decode("utf-8", "replace")
    lines = []
    line = []
    col = 0
    for m in TOKENS.finditer(text):
        tok = m.group(0)
        if tok == "\n":
            lines.append("".join(line))
            line, col = [], 0
        elif tok == "\r":
            col = 0
        elif tok == "\b":
            col = max(col - 1, 0)
        elif tok == "\t":
            col = (col // 8 + 1) * 8
            while len(line) < col:
                line.append(" ")
        elif m.group(2) == "K":         # erase to the end of the line
            del line[col:]
        elif m.group(2) == "C":         # cursor forward
            col += int(m.group(1) or 1)
            while len(line) < col:
                line.append(" ")
        elif m.group(2) == "D":         # cursor back
            col = max(col - int(m.group(1) or 1), 0)
        elif tok[0] in "\x1b" or ord(tok[0]) < 32:
            pass
        else:
            for ch in tok:
                if col < len(line):
                    line[col] = ch
                else:
                    line.append(ch)
                col += 1
    lines.append("".join(line))
    return "\n".join(lines)


def main():
    args = sys.argv[1:]
    timeout = 5.0
    cols = 400
    rawfile = None
    while args and args[0] != "--":
        if args[0] == "--timeout":
            timeout = float(args[1])
            args = args[2:]
        elif args[0] == "--cols":
            cols = int(args[1])
            args = args[2:]
        elif args[0] == "--raw":
            rawfile = args[1]
            args = args[2:]
        else:
            print("ptydrive: unknown option %s" % args[0], file=sys.stderr)
            return 125
    if not args or len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 125
    argv = args[1:]
    script = sys.stdin.read().splitlines()

    pid, fd = pty.fork()
    if pid == 0:
        # The size is set before the program starts, so it never sees
        # another (and no SIGWINCH redraws a line half typed).
        fcntl.ioctl(0, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 50, cols, 0, 0))
        os.environ.setdefault("TERM", "dumb")
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            os.write(2, ("ptydrive: %s: %s\n" % (argv[0], e)).encode())
            os._exit(127)

    raw = bytearray()
    mark = 0            # in the cleaned text: where the next expect looks
    prompt = r"livctl [^\n]*> "
    eof = False
    status = None

    def pump(seconds):
        nonlocal eof
        if eof:
            return False
        r, _, _ = select.select([fd], [], [], seconds)
        if not r:
            return False
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            eof = True
            return False
        raw.extend(data)
        return True

    def finish(code, why=None):
        nonlocal status
        while pump(0.05):
            pass
        if rawfile:
            with open(rawfile, "wb") as f:
                f.write(raw)
        sys.stdout.write(clean(bytes(raw)))
        sys.stdout.flush()
        if why:
            print("ptydrive: %s" % why, file=sys.stderr)
        if status is None:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        return code

    def expect(regex, from_line=False):
        nonlocal mark
        pat = re.compile(regex)
        deadline = time.monotonic() + timeout
        while True:
            text = clean(bytes(raw))
            start = mark
            if from_line:
                start = text.rfind("\n", 0, mark) + 1
            m = pat.search(text, start)
            if m:
                mark = m.end()
                return True
            left = deadline - time.monotonic()
            if left <= 0 or (eof and not pump(0)):
                return False
            pump(min(left, 0.1))

    for line in script:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "send":
            data = codecs.decode(rest, "unicode_escape").encode("latin-1")
            os.write(fd, data)
        elif word == "expect":
            if not expect(rest, True):
                return finish(124, "timed out expecting /%s/" % rest)
        elif word == "prompt":
            if not expect(prompt):
                return finish(124, "timed out expecting the prompt /%s/"
                              % prompt)
        elif word == "set" and rest.startswith("prompt "):
            prompt = rest[len("prompt "):]
        elif word == "sleep":
            end = time.monotonic() + float(rest)
            while time.monotonic() < end:
                pump(end - time.monotonic())
        elif word == "wait":
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not pump(0.05) and eof:
                    time.sleep(0.01)
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(st)
                    break
            if status is None:
                return finish(124, "timed out waiting for the exit")
        else:
            print("ptydrive: bad script line: %s" % line, file=sys.stderr)
            return finish(125)
    code = finish(0)
    if status is None:
        return code
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())

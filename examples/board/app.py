#!/usr/bin/python3
"""A message board on livd: Flask, SQLite, a cookie login, and livd's hooks.

    /usr/bin/python3 app.py        (examples/board/run.sh starts it with livd)

What each part shows (see README.md beside this file):
- GET / renders the board from the database and loads livepage.js from
  livd; POST /login puts a name in Flask's signed session cookie.
- POST /livd/connect: livd asks who a page is, passing on its Cookie
  header; the session says, or 401. No tokens.
- POST /livd/input: a page's post, which livd forwards (forward: true in
  verbs.yaml); refused with 400 and a reason the page shows, or stored and
  answered with a send line that appends it to every page's board.
- POST /livd/presence: pages joining and leaving, batched; kept in the
  database, and the "online now" list is sent to the pages through
  livd's POST /api.
- A thread sends the clock and the message count every second through
  POST /api, with a JWT that allows only send.

Settings, from the environment (run.sh's defaults):
  BOARD_PORT    where the app listens (5080)
  BOARD_LIVD    livd's URL, for the browser and for /api (http://127.0.0.1:8089)
  BOARD_SECRET  livd's secret_file, which signs both ways (var/secret)
  BOARD_DB      the SQLite database (var/board.db)
"""
import hashlib
import hmac
import json
import logging
import os
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from functools import wraps

import jwt
from flask import (Flask, abort, g, redirect, render_template, request,
                   session, url_for)
from itsdangerous import BadSignature
from werkzeug.http import parse_cookie
from werkzeug.serving import WSGIRequestHandler

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = int(os.environ.get("BOARD_PORT", "5080"))
LIVD = os.environ.get("BOARD_LIVD", "http://127.0.0.1:8089").rstrip("/")
SECRET_FILE = os.environ.get("BOARD_SECRET", os.path.join(HERE, "var/secret"))
DB = os.environ.get("BOARD_DB", os.path.join(HERE, "var/board.db"))
BOARD = "/board"                # the pages' livd location
MAX_TEXT = 280
NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")

with open(SECRET_FILE, "rb") as f:
    LIVD_SECRET = f.read()
if LIVD_SECRET.endswith(b"\n"):    # as livd reads it
    LIVD_SECRET = LIVD_SECRET[:-1]

app = Flask(__name__)
# The session cookie's key is the app's own; livd never sees inside it.
app.secret_key = hashlib.sha256(b"board session " + LIVD_SECRET).digest()
log = logging.getLogger("board")


# ---- the database ------------------------------------------------------

def db():
    if "db" not in g:
        g.db = sqlite3.connect(DB)
        g.db.row_factory = sqlite3.Row
    return g.db


@app.teardown_appcontext
def db_close(exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def db_init():
    with sqlite3.connect(DB) as conn:
        conn.executescript("""
            CREATE TABLE IF NOT EXISTS messages (
                id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                text TEXT NOT NULL, at TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS online (
                uuid TEXT PRIMARY KEY, name TEXT NOT NULL,
                since TEXT NOT NULL);
            -- Pages of an earlier run are gone: livd posts every join
            -- again as pages connect.
            DELETE FROM online;
        """)


def online_names():
    return [r["name"] for r in db().execute(
        "SELECT DISTINCT name FROM online ORDER BY name")]


def message_count(conn):
    return conn.execute("SELECT count(*) FROM messages").fetchone()[0]


# ---- livd: POST /api ---------------------------------------------------

_token = {"value": None, "exp": 0}


def api_token():
    """A JWT for /api that may only send, minted by PyJWT, kept an hour."""
    now = time.time()
    if _token["exp"] - now < 60:
        _token["exp"] = now + 3600
        _token["value"] = jwt.encode(
            {"livd": {"cmds": ["send"]}, "exp": int(_token["exp"])},
            LIVD_SECRET, algorithm="HS256")
    return _token["value"]


def livd_api(*requests):
    """Run control requests through livd's POST /api, one line each."""
    body = "".join(json.dumps(r) + "\n" for r in requests).encode()
    req = urllib.request.Request(LIVD + "/api", body, {
        "Content-Type": "application/x-ndjson",
        "Authorization": "Bearer " + api_token()})
    with urllib.request.urlopen(req, timeout=5) as r:
        answers = [json.loads(line) for line in r.read().splitlines()]
    for a in answers:
        if not a.get("ok"):
            log.warning("livd /api: %s", a.get("error"))
    return answers


def send_online():
    html = render_template("_online.html", names=online_names())
    livd_api({"cmd": "send", "location": BOARD, "verb": "update",
              "args": ["online", html]})


def clock():
    """Every second, the time and the message count, as one /api call."""
    down = False
    while True:
        time.sleep(1 - time.time() % 1)
        try:
            with sqlite3.connect(DB) as conn:
                n = message_count(conn)
            livd_api({"cmd": "send", "location": BOARD, "verb": "text",
                      "args": ["clock", time.strftime("%H:%M:%S")]},
                     {"cmd": "send", "location": BOARD, "verb": "text",
                      "args": ["count", "%d message%s" %
                               (n, "" if n == 1 else "s")]})
            if down:
                log.warning("livd /api answers again")
            down = False
        except (OSError, ValueError) as e:
            if not down:
                log.warning("livd /api: %s (retrying every second)", e)
            down = True


# ---- livd's hooks ------------------------------------------------------

def signed(view):
    """A hook request must carry livd's signature of its body."""
    @wraps(view)
    def check():
        want = "sha256=" + hmac.new(LIVD_SECRET, request.get_data(),
                                    hashlib.sha256).hexdigest()
        if not hmac.compare_digest(
                want, request.headers.get("X-Livd-Signature", "")):
            abort(403)
        return view(request.get_json(force=True))
    return check


def session_name(cookie_header):
    """The name in a Flask session cookie, read as Flask reads it."""
    value = parse_cookie(cookie_header).get(app.config["SESSION_COOKIE_NAME"])
    if not value:
        return None
    serializer = app.session_interface.get_signing_serializer(app)
    try:
        data = serializer.loads(value, max_age=int(
            app.permanent_session_lifetime.total_seconds()))
    except BadSignature:
        return None
    return data.get("name")


@app.post("/livd/connect")
@signed
def hook_connect(d):
    name = session_name(d["headers"].get("cookie", ""))
    if name is None:
        return {"error": "log in first"}, 401
    return {"principal": name, "locations": [BOARD]}


@app.post("/livd/input")
@signed
def hook_input(d):
    if d["verb"] != "post":
        return {"error": "this board takes posts only"}, 400
    text = d["text"].strip()
    if not text:
        return {"error": "write something first"}, 400
    if len(text) > MAX_TEXT:
        return {"error": "a message has at most %d characters (this one "
                "has %d)" % (MAX_TEXT, len(text))}, 400
    conn = db()
    cur = conn.execute("INSERT INTO messages (name, text, at) VALUES "
                       "(?, ?, ?)", (d["principal"], text,
                                     time.strftime("%H:%M")))
    conn.commit()
    m = conn.execute("SELECT * FROM messages WHERE id = ?",
                     (cur.lastrowid,)).fetchone()
    # livd runs these lines as it runs /api's, then answers the page 200.
    line = {"cmd": "send", "location": BOARD, "verb": "append",
            "args": ["messages", render_template("_message.html", m=m)]}
    return json.dumps(line) + "\n", 200, {
        "Content-Type": "application/x-ndjson"}


@app.post("/livd/presence")
@signed
def hook_presence(d):
    conn = db()
    for e in d["events"]:
        if e["type"] == "join":
            conn.execute("INSERT OR REPLACE INTO online VALUES (?, ?, ?)",
                         (e["uuid"], e["principal"], time.strftime("%H:%M")))
        else:
            conn.execute("DELETE FROM online WHERE uuid = ?", (e["uuid"],))
    conn.commit()
    try:
        send_online()
    except (OSError, ValueError) as e:
        # livd retries a post that fails: a later one sends the list.
        log.warning("livd /api: %s", e)
        return {"error": "livd is not answering"}, 503
    return "", 204


# ---- the pages ---------------------------------------------------------

@app.get("/")
def board():
    if "name" not in session:
        return redirect(url_for("login"))
    messages = db().execute(
        "SELECT * FROM (SELECT * FROM messages ORDER BY id DESC LIMIT 50) "
        "ORDER BY id").fetchall()
    return render_template("board.html", name=session["name"],
                           messages=messages, names=online_names(),
                           count=message_count(db()), livd=LIVD,
                           location=BOARD, max_text=MAX_TEXT)


@app.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        if NAME.fullmatch(name):
            session["name"] = name
            return redirect(url_for("board"))
        error = "a name is 1 to 32 letters, digits, '.', '_' or '-'"
    return render_template("login.html", error=error), 400 if error else 200


@app.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("login"))


class Handler(WSGIRequestHandler):
    # Werkzeug writes an answer's head and body apart; with Nagle on,
    # livd's delayed ACK would hold each hook's answer 40 ms.
    disable_nagle_algorithm = True


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    db_init()
    threading.Thread(target=clock, daemon=True).start()
    app.run("127.0.0.1", PORT, threaded=True, request_handler=Handler)

#!/usr/bin/env bats
# POST /api: the control protocol over HTTP (SPEC Part two). Request
# lines go in the body, one answer line comes back for each, exactly what
# the control socket answers for it; an API token (minted by livctl token
# or by Debian's python3-jwt) is required, and says which commands run.

load helper

JWTPY=/usr/bin/python3

# Start livd with a secret_file (32 random bytes in base64) and the
# config lines given; TOKEN is an API token for every command.
start_api_livd() {
	SECRET="$BATS_TEST_TMPDIR/secret"
	(umask 077 && head -c 32 /dev/urandom | base64 >"$SECRET")
	{
		printf 'secret_file: %s\n' "$SECRET"
		printf '%s\n' "$@"
	} >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
	TOKEN=$(livctl token --cmds '*')
}

# mint CLAIMS: a JWT made by PyJWT; CLAIMS is a Python expression in
# which now is the time.
mint() {
	"$JWTPY" -c '
import jwt, sys, time
now = int(time.time())
key = open(sys.argv[1], "rb").read()
key = key[:-1] if key.endswith(b"\n") else key
print(jwt.encode(eval(sys.argv[2]), key, algorithm="HS256"))
' "$SECRET" "$1"
}

# api BODY [curl args...]: POST BODY to /api (at API_URL, else URL) with
# TOKEN; sets code, body and headers (the head, CRs removed).
api() {
	local data=$1 url=${API_URL:-$URL}
	shift
	printf '%s' "$data" >"$BATS_TEST_TMPDIR/api.body"
	code=$(curl -s -o "$BATS_TEST_TMPDIR/api.out" \
	    -D "$BATS_TEST_TMPDIR/api.head" -w '%{http_code}' --max-time 10 \
	    -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/x-ndjson' "$@" \
	    --data-binary @"$BATS_TEST_TMPDIR/api.body" "$url/api")
	body=$(cat "$BATS_TEST_TMPDIR/api.out")
	headers=$(tr -d '\r' <"$BATS_TEST_TMPDIR/api.head")
}

# api_python: connect a page of bob's at /chat (its uuid in u), then run
# the Python on stdin with rawhttp's helpers and port, token and uuid set.
api_python() {
	u=$(connect /chat bob)
	{
		printf '%s\n' 'import json, sys, threading, time' \
		    'sys.path.insert(0, sys.argv[1])' 'from rawhttp import *' \
		    'port, token, uuid = int(sys.argv[2]), sys.argv[3], sys.argv[4]'
		cat
	} >"$BATS_TEST_TMPDIR/api.py"
	python3 "$BATS_TEST_TMPDIR/api.py" "$BATS_TEST_DIRNAME" "$PORT" \
	    "$TOKEN" "$u"
}

# The control socket's answers to the same lines, one a line.
socket_answers() {
	printf '%s' "$1" | python3 "$BATS_TEST_DIRNAME/ctlclient.py" "$SOCK" |
	    grep -v '^EOF$'
}

# Lines with every "seq" number made SEQ: sends get new ones each time.
noseq() {
	sed -E 's/"seq":[0-9]+/"seq":SEQ/g'
}

@test "api: a batch of sends and a who: one answer line each, exactly the socket's" {
	start_api_livd
	u=$(connect /chat bob)
	req='{"cmd":"send","location":"/chat","verb":"append","id":"log","html":"<p>1</p>"}
{"cmd":"send","principal":"bob","verb":"append","id":"log","html":"two"}
{"cmd":"send","client":"'$u'","verb":"remove","id":"x"}
{"cmd":"who","location":"/chat"}'
	for TOKEN in "$(livctl token --cmds send,who)" \
	    "$(mint 'dict(livd=dict(cmds=["send", "who"]), exp=now + 600)')"; do
		api "$req"
		assert_eq "$code" 200
		assert_contains "$headers" $'\nContent-Type: application/x-ndjson\n'
		[ "$(printf '%s\n' "$body" | wc -l)" = 4 ]
		assert_eq "$(printf '%s\n' "$body" | noseq)" \
		    "$(socket_answers "$req" | noseq)"
		assert_eq "$(printf '%s\n' "$body" | sed -n 4p)" \
		    '{"ok":true,"location":"/chat","principals":["bob"]}'
	done
	# every event reached the page, in order, once per request
	output "$u" | jassert '[e.get("html") for e in d["events"]] == ["<p>1</p>", "two", None] * 4'
}

@test "api: each line is answered as the control socket answers it, bad ones included" {
	start_api_livd
	req='{"cmd":"verbs"}
not json
{"cmd":"frobnicate"}
{"verb":"append"}
[1,2]

{"cmd":"send","location":"/x","verb":"nosuchverb"}
{"cmd":"send","location":"/x","verb":"append","id":"a"}
{"cmd":"refresh","seconds":"soon"}
{"cmd":"who","location":"/x","extra":1}
{"cmd":"status"}
{"cmd":"token","location":"/x","principal":"p","ttl":"1h"}
{"cmd":"send","location":"/x","verb":"append","id":"a","html":"b"}'
	api "$req"
	assert_eq "$code" 200
	# the blank line has no answer, on the socket as here
	[ "$(printf '%s\n' "$body" | wc -l)" = 12 ]
	assert_eq "$(printf '%s\n' "$body" | sed -E 's/"(uptime|clients)":[0-9]+/"\1":N/' | noseq)" \
	    "$(socket_answers "$req" | sed -E 's/"(uptime|clients)":[0-9]+/"\1":N/' | noseq)"
	assert_eq "$(printf '%s\n' "$body" | sed -n 2p)" \
	    "$(socket_answers 'not json')"
	assert_contains "$body" '{"ok":false,"error":"invalid JSON:'
	# and livd goes on
	run livctl status
	assert_status 0
}

@test "api: a send read by the fast reader answers and publishes as jansson's reading of it" {
	# livd reads a flat send line of ASCII strings without jansson; the
	# same line with "client":null (not given) goes through jansson.
	# Both must answer the same and publish the same events.
	start_api_livd
	u=$(connect /chat bob)
	lines='{"cmd":"send","location":"/chat","verb":"append","id":"log","html":"\u003cp\u003e1\u003c/p\u003e \"q\" \\ \/"}
{"cmd":"send","location":"/chat","verb":"append","id":"log","html":"caf\u00e9 é"}
{ "cmd" : "send", "location" : "/chat", "verb" : "append", "args" : [ "log", "<i>x</i>" ] }
{"cmd":"send","location":"/chat","verb":"append","args":["log",2]}
{"cmd":"send","location":"/chat","line":"append log <b>l</b>"}
{"cmd":"send","principal":"bob","verb":"remove","args":["x"]}
{"cmd":"send","location":"/chat","verb":"append","args":["log"],"html":"x"}
{"cmd":"send","location":"no slash","verb":"append","id":"a","html":"b"}
{"cmd":"send","location":"/a","principal":"p","verb":"append","id":"a","html":"b"}
{"cmd":"send","location":"/chat","verb":"nosuchverb","id":"a"}
{"cmd":"send","location":"/chat","verb":"append","id":"a","html":"b","bogus":"c"}
{"cmd":"send","location":"/chat","verb":"append","args":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r"]}
{"cmd":"send","location":"/chat","line":"append"}
{"cmd":"send","line":"append log x","verb":"append"}
{"cmd":"send","location":"/other","verb":"append","seq":"1","id":"a","html":"b"}
{"cmd":"send","location":"/chat","verb":"append","id":"a","id":"b"}
{"cmd":"send","location":"/chat","verb":"append","id":"log","html":"\u0000"}'
	api "$lines"
	fast=$body
	api "$(printf '%s\n' "$lines" | sed -E 's/ ?\}$/,"client":null}/')"
	assert_eq "$code" 200
	[ "$(printf '%s\n' "$fast" | wc -l)" = 17 ]
	assert_eq "$(printf '%s\n' "$fast" | noseq)" "$(printf '%s\n' "$body" | noseq)"
	# the answers say what each line is: sent, or why not
	assert_eq "$(printf '%s\n' "$fast" | sed -E 's/^\{"ok":(true|false).*/\1/' | tr '\n' ' ')" \
	    "true true true true true true false false false false false false false false true false false "
	assert_contains "$fast" "send takes 'args' or named arguments, not both ('html')"
	assert_contains "$fast" 'invalid JSON: duplicate object key'
	# the page has each batch's events, the same twice over
	output "$u" | jassert '[(e["verb"], e.get("html")) for e in d["events"]][:6] == [("append", "<p>1</p> \"q\" \\ /"), ("append", "café é"), ("append", "<i>x</i>"), ("append", "2"), ("append", "<b>l</b>"), ("remove", None)] and [(e["verb"], e.get("html")) for e in d["events"]][6:] == [(e["verb"], e.get("html")) for e in d["events"]][:6]'
}

@test "api: application/json is one request, which may span lines" {
	start_api_livd
	api '{
  "cmd": "who",
  "location": "/nobody"
}' -H 'Content-Type: application/json'
	assert_eq "$code" 200
	assert_eq "$body" '{"ok":true,"location":"/nobody","principals":[]}'
	api '{"cmd":"who","location":"/nobody"}' -H 'Content-Type: application/json; charset=utf-8'
	assert_eq "$body" '{"ok":true,"location":"/nobody","principals":[]}'
}

@test "api: no token is 401 missing token with WWW-Authenticate; bad ones as for page tokens" {
	start_api_livd
	code=$(curl -s -o "$BATS_TEST_TMPDIR/o" -D "$BATS_TEST_TMPDIR/h" \
	    -w '%{http_code}' --data-binary '{"cmd":"who"}' "$URL/api")
	assert_eq "$code" 401
	assert_eq "$(cat "$BATS_TEST_TMPDIR/o")" '{"error":"missing token"}'
	tr -d '\r' <"$BATS_TEST_TMPDIR/h" | grep -qx 'WWW-Authenticate: Bearer'
	TOKEN=
	api '{"cmd":"who"}'
	assert_eq "$code 401" "401 401"
	assert_eq "$body" '{"error":"missing token"}'
	good=$(livctl token --cmds who)
	cases=(
		"invalid token|${good%?}"
		"invalid token|${good%.*}"
		"invalid token|not-a-jwt"
		"invalid token|$(livctl token -l /chat -p alice)"
		"invalid token|$(mint 'dict(sub="alice", locations=["/chat"])')"
		"invalid token|$(mint 'dict(livd=dict(cmds="who"))')"
		"invalid token|$(mint 'dict(livd=dict(cmds=[]))')"
		"token expired|$(mint 'dict(livd=dict(cmds=["who"]), exp=now - 10)')"
	)
	for c in "${cases[@]}"; do
		TOKEN=${c#*|}
		api '{"cmd":"who"}'
		if [ "$code" != 401 ] || [ "$body" != "{\"error\":\"${c%%|*}\"}" ]; then
			echo "token $TOKEN: got $code $body, want 401 ${c%%|*}"
			return 1
		fi
		grep -qx 'WWW-Authenticate: Bearer' <<<"$headers"
	done
	# a token that is both kinds works for both
	TOKEN=$(livctl token -l /chat -p alice --cmds who)
	api '{"cmd":"who","location":"/chat"}'
	assert_eq "$code $body" '200 {"ok":true,"location":"/chat","principals":[]}'
}

@test "api: a line whose command the token does not allow gets its own error; the others run" {
	start_api_livd
	u=$(connect /chat bob)
	TOKEN=$(livctl token --cmds send)
	api '{"cmd":"who"}
{"cmd":"send","location":"/chat","verb":"append","id":"a","html":"x"}
{"cmd":"reload"}'
	assert_eq "$code" 200
	assert_eq "$(printf '%s\n' "$body" | noseq)" '{"ok":false,"error":"command '"'who'"' not allowed"}
{"ok":true,"seq":SEQ,"reached":1}
{"ok":false,"error":"command '"'reload'"' not allowed"}'
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["x"]'
	# PyJWT's token names its commands the same way
	TOKEN=$(mint 'dict(livd=dict(cmds=["who", "verbs"]))')
	api '{"cmd":"status"}
{"cmd":"who","location":"/chat"}'
	assert_eq "$body" '{"ok":false,"error":"command '"'status'"' not allowed"}
{"ok":true,"location":"/chat","principals":["bob"]}'
}

@test "api: tail and shell are not available over HTTP, whatever the token" {
	start_api_livd
	api '{"cmd":"tail"}
{"cmd":"shell"}
{"cmd":"tail","location":"/chat"}
{"cmd":"who","location":"/chat"}'
	assert_eq "$code" 200
	assert_eq "$body" '{"ok":false,"error":"command '"'tail'"' is not available over HTTP"}
{"ok":false,"error":"command '"'shell'"' is not available over HTTP"}
{"ok":false,"error":"command '"'tail'"' is not available over HTTP"}
{"ok":true,"location":"/chat","principals":[]}'
}

@test "api: a body over max_api_body is 413, an empty one 400; livd keeps serving and loses nothing" {
	start_api_livd 'max_api_body: 1K'
	u=$(connect /chat bob)
	big=$(python3 -c 'print("{\"cmd\":\"who\"}\n" * 100, end="")')
	api "$big"
	assert_eq "$code" 413
	assert_eq "$body" '{"error":"request body over 1024 bytes"}'
	api ''
	assert_eq "$code" 400
	printf '%s' "$body" | jassert 'list(d) == ["error"]'
	api $'\n\r\n  \n'
	assert_eq "$code" 400
	# the default is 1 MiB, above max_body's 64K
	livd_stop
	start_api_livd
	u=$(connect /chat bob)
	line='{"cmd":"send","location":"/chat","verb":"append","id":"a","html":"'$(head -c 100000 /dev/zero | tr '\0' x)'"}'
	api "$line"
	assert_eq "$code" 200
	assert_contains "$body" '{"ok":true,"seq":'
	api "$(python3 -c 'print("{\"cmd\":\"who\"}\n" * 80000, end="")')"
	assert_eq "$code" 413
	assert_eq "$body" '{"error":"request body over 1048576 bytes"}'
	output "$u" | jassert '[len(e["html"]) for e in d["events"]] == [100000]'
	api '{"cmd":"who","location":"/chat"}'
	assert_eq "$body" '{"ok":true,"location":"/chat","principals":["bob"]}'
}

@test "api: without a secret_file /api does not exist (404)" {
	livd_start
	TOKEN=anything
	api '{"cmd":"who"}'
	assert_eq "$code" 404
	assert_eq "$body" '{"error":"not found"}'
	TOKEN=
	api '{"cmd":"who"}'
	assert_eq "$code" 404
}

@test "api: api_listen serves /api on its own address only; the main listener answers 404" {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	start_api_livd "api_listen: 127.0.0.1:$port"
	api '{"cmd":"who"}'
	assert_eq "$code $body" '404 {"error":"not found"}'
	API_URL="http://127.0.0.1:$port"
	api '{"cmd":"who","location":"/chat"}'
	assert_eq "$code $body" '200 {"ok":true,"location":"/chat","principals":[]}'
	# only /api there
	run curl -s -w ' %{http_code}' "$API_URL/livepage.js"
	assert_eq "$output" '{"error":"not found"} 404'
	run curl -s -w ' %{http_code}' "$API_URL/api"
	assert_eq "$output" '{"error":"method not allowed"} 405'
	run curl -s -o /dev/null -w '%{http_code}' -d location=/chat -d principal=bob "$API_URL/connect"
	assert_eq "$output" 404
	assert_contains "$(cat "$BATS_TEST_TMPDIR/livd.log")" "POST /api on http://127.0.0.1:$port/api only"
	# restart-only, as listen is
	printf 'secret_file: %s\napi_listen: 127.0.0.1:1\n' "$SECRET" \
	    >"$BATS_TEST_TMPDIR/livd.yaml"
	run livctl reload
	assert_status 0
	api '{"cmd":"who","location":"/chat"}'
	assert_eq "$code" 200
}

@test "api: keep-alive: several requests on one connection, sync and held answers alike" {
	start_api_livd
	api_python <<'EOF'
auth = ["Authorization: Bearer " + token]
s = dial(port)
for i in range(20):
    st, h, b = request(s, "POST", "/api",
        '{"cmd":"send","location":"/chat","verb":"append","id":"a","html":"%d"}\n{"cmd":"who","location":"/chat"}\n' % i, auth)
    assert st == 200 and h["content-type"] == "application/x-ndjson", (st, h)
    lines = b.decode().split("\n")
    assert lines[2] == "" and len(lines) == 3, b
    assert json.loads(lines[0])["ok"] and lines[1] == '{"ok":true,"location":"/chat","principals":["bob"]}', b
# a poll over /api is held as on the socket, then answered in order
st, h, b = request(s, "POST", "/api", '{"cmd":"poll","client":"%s"}' % uuid, auth)
seq = json.loads(b)["seq"]
threading.Timer(0.3, lambda: request(dial(port), "POST", "/api",
    '{"cmd":"send","location":"/chat","verb":"append","id":"a","html":"late"}', auth)).start()
t0 = time.time()
st, h, b = request(s, "POST", "/api",
    '{"cmd":"ack","client":"%s","seq":%d}\n{"cmd":"poll","client":"%s"}\n'
    '{"cmd":"who","location":"/nowhere"}\n' % (uuid, seq, uuid), auth)
assert st == 200 and time.time() - t0 >= 0.25, (st, time.time() - t0)
lines = b.decode().split("\n")
assert lines[0] == '{"ok":true}', b
assert [e["html"] for e in json.loads(lines[1])["events"]] == ["late"], b
assert lines[2] == '{"ok":true,"location":"/nowhere","principals":[]}', b
# pipelined: two requests written at once, answered in turn
req = ("POST /api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
       "Content-Length: 14\r\n\r\n{\"cmd\":\"who\"}\n" % token).encode()
s.sendall(req + req)
data = b""
while data.count(b'{"ok":true,"online":') < 2:
    data += s.recv(65536)
assert data.count(b"HTTP/1.1 200 OK\r\n") == 2, data
EOF
}

@test "api: a client that closes mid-request or while its answer is held leaves livd running" {
	start_api_livd
	api_python <<'EOF'
# half a body, then gone
s = dial(port)
s.sendall(("POST /api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Length: 100\r\n\r\n{\"cmd\":\"wh" % token).encode())
s.close()
# a held poll, a line waiting behind it, then gone
for _ in range(3):
    s = dial(port)
    body = '{"cmd":"poll","client":"%s"}\n{"cmd":"who"}\n' % uuid
    s.sendall(("POST /api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: %d\r\n\r\n%s" % (token, len(body), body)).encode())
    time.sleep(0.1)
    s.close()
EOF
	sleep 0.2
	# the page's own poll is not taken from it, and livd serves on
	api '{"cmd":"send","location":"/chat","verb":"append","id":"a","html":"after"}
{"cmd":"who","location":"/chat"}'
	assert_eq "$code" 200
	assert_eq "$(printf '%s\n' "$body" | sed -n 2p)" '{"ok":true,"location":"/chat","principals":["bob"]}'
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["after"]'
	run livctl status
	assert_status 0
}

@test "livctl token: -l again adds a location, --cmds mints an API token, both verified by PyJWT" {
	start_api_livd 'auth: token'
	decode() {
		"$JWTPY" -c '
import jwt, sys
key = open(sys.argv[1], "rb").read()[:-1]
d = jwt.decode(sys.argv[2], key, algorithms=["HS256"])
d.pop("iat"); d.pop("exp")
print(sorted(d.items()))' "$SECRET" "$1"
	}
	run decode "$(livctl token -p alice -l /chat -l '/user/alice/*')"
	assert_eq "$output" "[('locations', ['/chat', '/user/alice/*']), ('sub', 'alice')]"
	run decode "$(livctl token -l /chat -p alice)"
	assert_eq "$output" "[('locations', ['/chat']), ('sub', 'alice')]"
	run decode "$(livctl token --cmds send,who)"
	assert_eq "$output" "[('livd', {'cmds': ['send', 'who']})]"
	run decode "$(livctl token --cmds send --cmds=who -p app)"
	assert_eq "$output" "[('livd', {'cmds': ['send', 'who']}), ('sub', 'app')]"
	run decode "$(livctl token --cmds '*')"
	assert_eq "$output" "[('livd', {'cmds': ['*']})]"
	# a two-location page token connects at either
	t=$(livctl token -p alice -l /chat -l '/user/alice/*')
	run curl -s -o /dev/null -w '%{http_code}' -d location=/user/alice/inbox --data-urlencode "token=$t" "$URL/connect"
	assert_eq "$output" 200
	run --separate-stderr livctl token --cmds send,frob
	assert_status 1
	assert_eq "$stderr" "livctl: unknown command 'frob'"
	run --separate-stderr livctl token -l /chat
	assert_status 1
	assert_eq "$stderr" "livctl: token needs a location and a principal"
	run --separate-stderr livctl token -l /chat --cmds who
	assert_status 1
	assert_eq "$stderr" "livctl: a page token needs a principal"
	run --separate-stderr livctl token --cmds who --ttl 0
	assert_status 1
	assert_eq "$stderr" "livctl: ttl must be 1 to 31622400 seconds"
	# the socket takes a list or a string for location
	run --separate-stderr livctl token -l /chat -p alice -l 7
	assert_status 0
	printf '{"cmd":"token","location":["/a",7],"principal":"p"}\n' |
	    python3 "$BATS_TEST_DIRNAME/ctlclient.py" "$SOCK" | head -1 |
	    jassert 'd == {"ok": False, "error": "'"'location'"' must be a string or a list of strings"}'
}

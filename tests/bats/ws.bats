#!/usr/bin/env bats
# GET /client/UUID/ws: the WebSocket transport, checked with Debian's
# python3-websockets (a client livd did not write) and, for what a
# correct client never sends, raw frames (wsclient.py).

load helper

config() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/livd.yaml"
	printf '%s' "$BATS_TEST_TMPDIR/livd.yaml"
}

ws() {
	python3 "$BATS_TEST_DIRNAME/wsclient.py" "$PORT" "$@"
}

# A socket on uuid $1 held open in the background until livd closes it;
# what it saw goes to $2. Sets WS_PID.
ws_held() {
	ws "$1" wait-close >"${2:-/dev/null}" &
	WS_PID=$!
	bg_track "$WS_PID"
}

# An upgrade request with the given extra header lines (a key and
# version 13 unless given); prints the status, then the headers named.
KEY=dGhlIHNhbXBsZSBub25jZQ==
handshake() {
	python3 - "$PORT" "$@" <<-'PY'
	import sys; sys.path.insert(0, "tests/bats")
	from rawhttp import dial, request
	port, path, *rest = sys.argv[1:]
	heads = [h for h in rest if ":" in h]
	show = [h for h in rest if ":" not in h]
	names = [h.split(":")[0].lower() for h in heads]
	if "upgrade" not in names and "-" not in show:
	    heads = ["Upgrade: websocket", "Connection: Upgrade"] + heads
	if "sec-websocket-key" not in names:
	    heads.append("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
	if "sec-websocket-version" not in names:
	    heads.append("Sec-WebSocket-Version: 13")
	heads = [h for h in heads if not h.endswith(": -")]
	s = dial(int(port), 5)
	status, h, body = request(s, "GET", path, headers=heads)
	print(status)
	for name in show:
	    if name != "-":
	        print("%s: %s" % (name, h.get(name.lower(), "(none)")))
	if status != 101 and body:
	    print(body.decode())
	PY
}

setup() {
	cd "$ROOT"
}

@test "ws: the handshake answers 101 with the accept of RFC 6455's example key" {
	livd_start -r 5
	u=$(connect /chat alice)
	run handshake "/client/$u/ws" Upgrade Connection Sec-WebSocket-Accept \
	    Sec-WebSocket-Protocol
	assert_status 0
	assert_lines 101 "Upgrade: websocket" "Connection: Upgrade" \
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" \
	    "Sec-WebSocket-Protocol: (none)"
	# Header names and the upgrade token in any case, among others.
	run handshake "/client/$u/ws" "upgrade: WebSocket" \
	    "connection: keep-alive, Upgrade" Sec-WebSocket-Accept
	assert_lines 101 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
}

@test "ws: subprotocol livd.v1 is echoed when offered, and only then" {
	livd_start -r 5
	u=$(connect /chat alice)
	run handshake "/client/$u/ws" "Sec-WebSocket-Protocol: chat, livd.v1" \
	    Sec-WebSocket-Protocol
	assert_lines 101 "Sec-WebSocket-Protocol: livd.v1"
	run handshake "/client/$u/ws" "Sec-WebSocket-Protocol: chat" \
	    Sec-WebSocket-Protocol
	assert_lines 101 "Sec-WebSocket-Protocol: (none)"
	run ws "$u" session -p livd.v1
	assert_lines "subprotocol livd.v1" "closed 1000"
	run ws "$u" session
	assert_lines "subprotocol None" "closed 1000"
}

@test "ws: a bad key, version or upgrade is refused before anything changes" {
	livd_start -r 5
	u=$(connect /chat alice)
	run handshake "/client/$u/ws" "Sec-WebSocket-Key: short"
	assert_lines 400 '{"error":"invalid Sec-WebSocket-Key"}'
	# 16 bytes are 24 characters of base64; 15 or 17 are not a key.
	run handshake "/client/$u/ws" "Sec-WebSocket-Key: $(head -c 15 /dev/zero | base64)"
	assert_lines 400 '{"error":"invalid Sec-WebSocket-Key"}'
	run handshake "/client/$u/ws" "Sec-WebSocket-Key: $(head -c 17 /dev/zero | base64)"
	assert_lines 400 '{"error":"invalid Sec-WebSocket-Key"}'
	run handshake "/client/$u/ws" "Sec-WebSocket-Key: -"
	assert_lines 400 '{"error":"invalid Sec-WebSocket-Key"}'
	run handshake "/client/$u/ws" "Sec-WebSocket-Version: 8" \
	    Sec-WebSocket-Version
	assert_lines 426 "Sec-WebSocket-Version: 13" \
	    '{"error":"unsupported WebSocket version"}'
	run handshake "/client/$u/ws" "Sec-WebSocket-Version: -"
	assert_lines 400 '{"error":"missing Sec-WebSocket-Version"}'
	# A plain GET: the route wants an upgrade.
	run handshake "/client/$u/ws" - Upgrade
	assert_lines 426 "Upgrade: websocket" \
	    '{"error":"WebSocket upgrade required"}'
	run handshake "/client/$u/ws" "Upgrade: h2c" "Connection: Upgrade"
	assert_lines 426 '{"error":"WebSocket upgrade required"}'
	run handshake "/client/$u/ws?since=x"
	assert_lines 400 '{"error":"invalid since"}'
	run http POST "/client/$u/ws"
	assert_eq "${lines[0]}" 405
	# Refused upgrades leave the client idle, and it still works.
	run ws "$u" session '{"verb": "append", "id": "log", "html": "after"}' recv recv
	assert_status 0
	assert_eq "${lines[1]}" '{"status":200}'
	assert_contains "${lines[2]}" '"html":"after"'
}

@test "ws: an unknown uuid is 404, as on every client route" {
	livd_start -r 5
	run handshake "/client/$NOUUID/ws"
	assert_lines 404 '{"error":"unknown client"}'
}

@test "ws: events arrive as text frames, each a poll answer" {
	livd_start -r 5
	u=$(connect /chat alice)
	ws "$u" session recv recv >"$BATS_TEST_TMPDIR/frames" &
	bg_track $!
	pid=$!
	sleep 0.5
	livctl send -l /chat append log '<p>one</p>' >/dev/null
	sleep 0.2
	livctl send -l /chat append log '<p>two</p>' >/dev/null
	wait_for "$pid" 10
	assert_eq "$WAIT_STATUS" 0
	sed -n 2p "$BATS_TEST_TMPDIR/frames" | jassert '
set(d) == {"seq", "refresh", "events"} and d["refresh"] == 5 and
[e["html"] for e in d["events"]] == ["<p>one</p>"] and
d["seq"] == d["events"][0]["seq"]'
	sed -n 3p "$BATS_TEST_TMPDIR/frames" | jassert '
[e["html"] for e in d["events"]] == ["<p>two</p>"]'
}

@test "ws: events queued before the upgrade come in the first frame; ?since= goes back" {
	livd_start -r 5
	u=$(connect /chat alice)
	livctl send -l /chat append log one >/dev/null
	livctl send -l /chat append log two >/dev/null
	run ws "$u" session recv
	assert_status 0
	printf '%s' "${lines[1]}" | jassert '[e["html"] for e in d["events"]] == ["one", "two"]'
	first=$(printf '%s' "${lines[1]}" | jget 'd["events"][0]["seq"]')
	# Sent counts as acknowledged: a new socket gets nothing again...
	livctl send -l /chat append log three >/dev/null
	run ws "$u" session recv
	printf '%s' "${lines[1]}" | jassert '[e["html"] for e in d["events"]] == ["three"]'
	# ...unless it says what it got last (a page that lost a frame).
	run ws "$u" session -q "?since=$first" recv
	printf '%s' "${lines[1]}" | jassert '[e["html"] for e in d["events"]] == ["two", "three"]'
}

@test "ws: {\"ack\": SEQ} acknowledges; a bad one is answered with an error frame" {
	livd_start -r 5
	u=$(connect /chat alice)
	run ws "$u" session '{"ack": 0}' '{"ack": "x"}' recv '{"ack": -1}' recv \
	    '[1]' recv '{"ack": 1' recv
	assert_status 0
	assert_lines "subprotocol None" \
	    '{"error":"invalid ack","status":400}' \
	    '{"error":"invalid ack","status":400}' \
	    '{"error":"expected a JSON object","status":400}' \
	    "$(printf '%s' "${lines[4]}" | grep '^{"error":"invalid JSON: .*","status":400}$')" \
	    "closed 1000"
	run livctl clients
	assert_contains "$output" "$u"
}

@test "ws: input frames follow every rule of POST /input" {
	livd_start -r 5 -c "$(config 'input_rate: 100' 'max_event: 300')" \
	    -V "$(verbs_with <<-'YAML'
	shout:
	  args: [text]
	  from_client: true
	  scope: self
	YAML
	)"
	u=$(connect /chat alice)
	run ws "$u" session \
	    '{"verb": "nope"}' recv \
	    '{"id": "log", "html": "x"}' recv \
	    '{"verb": "append", "id": "log"}' recv \
	    '{"verb": "append", "id": "log", "html": "x", "extra": "y"}' recv \
	    '{"verb": "update", "id": "log", "html": "x"}' recv \
	    '{"verb": "append", "id": "log", "html": "x", "location": "/other"}' recv \
	    '{"verb": "append", "id": "log", "html": 3}' recv \
	    '{"verb": "append", "id": "log", "html": "x", "html": "y"}' recv \
	    "{\"verb\": \"append\", \"id\": \"log\", \"html\": \"$(head -c 400 /dev/zero | tr '\0' x)\"}" recv \
	    '{"verb": "shout", "text": "<b>me</b>"}' recv recv \
	    '{"verb": "append", "id": "log", "html": "<i>here</i>", "location": "/chat"}' recv recv
	assert_status 0
	printf '%s\n' "${lines[@]}" >"$BATS_TEST_TMPDIR/frames"
	assert_eq "${lines[1]}" '{"error":"unknown verb '"'"'nope'"'"'","status":400}'
	assert_eq "${lines[2]}" '{"error":"missing field '"'"'verb'"'"'","status":400}'
	assert_eq "${lines[3]}" "$(input "$u" verb=append id=log | sed 1d | sed 's/}$/,"status":400}/')"
	assert_eq "${lines[4]}" "$(input "$u" verb=append id=log html=x extra=y | sed 1d | sed 's/}$/,"status":400}/')"
	assert_eq "${lines[5]}" "$(input "$u" verb=update id=log html=x | sed 1d | sed 's/}$/,"status":403}/')"
	assert_eq "${lines[6]}" '{"error":"not one of the client'"'"'s locations","status":403}'
	assert_eq "${lines[7]}" '{"error":"field '"'"'html'"'"' is not a string","status":400}'
	assert_contains "${lines[8]}" '"status":400}'
	assert_contains "${lines[8]}" 'duplicate'
	assert_eq "${lines[9]}" "$(input "$u" verb=append id=log "html=$(head -c 400 /dev/zero | tr '\0' x)" | sed 1d | sed 's/}$/,"status":413}/')"
	# Accepted: answered 200 at once, then the event comes as any does.
	assert_eq "${lines[10]}" '{"status":200}'
	printf '%s' "${lines[11]}" | jassert '[(e["verb"], e["text"]) for e in d["events"]] == [("shout", "&lt;b&gt;me&lt;/b&gt;")]'
	assert_eq "${lines[12]}" '{"status":200}'
	printf '%s' "${lines[13]}" | jassert '[e["html"] for e in d["events"]] == ["&lt;i&gt;here&lt;/i&gt;"]'
	assert_eq "${lines[14]}" "closed 1000"
}

@test "ws: input frames are rate limited as POST /input is, per client" {
	livd_start -r 5 -c "$(config 'input_rate: 1' 'input_burst: 2')"
	u=$(connect /chat alice)
	v=$(connect /chat vera)
	run ws "$u" session \
	    '{"verb": "append", "id": "log", "html": "m1"}' recv recv \
	    '{"verb": "append", "id": "log", "html": "m2"}' recv recv \
	    '{"verb": "append", "id": "log", "html": "m3"}' recv
	assert_status 0
	assert_eq "${lines[1]}" '{"status":200}'
	assert_eq "${lines[3]}" '{"status":200}'
	assert_eq "${lines[5]}" '{"error":"too many events: at most 1 a second","status":429}'
	# The refused one was not sent; the same bucket as POST /input.
	run input "$u" verb=append id=log html=m4
	assert_eq "${lines[0]}" 429
	output "$v" | jassert '[e["html"] for e in d["events"]] == ["m1", "m2"]'
}

@test "ws: fragmented messages, with control frames between the fragments" {
	livd_start -r 5
	u=$(connect /chat alice)
	run ws "$u" session fragments recv recv
	assert_status 0
	assert_eq "${lines[1]}" '{"status":200}'
	printf '%s' "${lines[2]}" | jassert '[e["html"] for e in d["events"]] == ["in fragments"]'
	run ws "$u" raw interleaved
	assert_status 0
	assert_lines "answer 10 between" 'answer 1 {"status":200}' \
	    "frame 1 in three parts"
	run ws "$u" raw empty-fragments
	assert_lines "answer 10 after"
}

@test "ws: an unmasked frame closes with 1002, invalid UTF-8 with 1007, binary with 1003" {
	livd_start -r 5
	u=$(connect /chat alice)
	run ws "$u" raw unmasked
	assert_lines "close 1002"
	run ws "$u" raw badutf8
	assert_lines "close 1007"
	run ws "$u" raw badutf8-split
	assert_lines "close 1007"
	run ws "$u" raw binary
	assert_lines "close 1003"
	# The client outlives its sockets.
	run ws "$u" session '{"verb": "append", "id": "log", "html": "still"}' recv recv
	assert_contains "${lines[2]}" '"html":"still"'
}

@test "ws: a message over max_body closes with 1009, in one frame or in fragments" {
	livd_start -r 5 -c "$(config 'max_body: 1000')"
	u=$(connect /chat alice)
	run ws "$u" raw toobig 1001
	assert_lines "close 1009"
	run ws "$u" raw toobig-fragments 1000
	assert_lines "close 1009"
	run ws "$u" raw toobig 70000
	assert_lines "close 1009"
}

@test "ws: a 1 MiB frame goes through with max_body raised" {
	livd_start -r 5 -c "$(config 'max_body: 2M' 'max_event: 2M')"
	u=$(connect /chat alice)
	run ws "$u" big 1048576
	assert_status 0
	assert_lines '{"status":200}' "html $((1048576 - 43)) True"
}

@test "ws: the page's pings are answered; livd pings each refresh interval" {
	livd_start -r 1
	u=$(connect /chat alice)
	run ws "$u" session ping
	assert_lines "subprotocol None" pong "closed 1000"
	# Pings answered: the socket stays open past several intervals.
	run timeout 10 "$PYTHON" "$BATS_TEST_DIRNAME/wsclient.py" "$PORT" "$u" raw pings 3
	assert_lines "pings 3"
	livctl clients | grep -q "$u"
}

@test "ws: a page that answers no ping is let go, and its client goes idle" {
	livd_start -r 1
	u=$(connect /chat alice)
	start=$(now)
	run timeout 10 "$PYTHON" "$BATS_TEST_DIRNAME/wsclient.py" "$PORT" "$u" raw silent
	assert_lines "pings 1 then EOF"
	elapsed_between "$(now)" "$start" 1.5 4
	# Idle again: a long-poll is held as usual.
	poll_bg p "$u"
	sleep 0.3
	livctl send -l /chat append log back >/dev/null
	wait_for "$BG_PID" 5
	jassert '[e["html"] for e in d["events"]] == ["back"]' <"$BATS_TEST_TMPDIR/p.body"
}

@test "ws: the page's close is answered with the same code" {
	livd_start -r 5
	u=$(connect /chat alice)
	run ws "$u" raw close
	assert_lines "close 1000"
}

@test "ws: a second socket or a poll on the uuid releases the first; /close ends it" {
	livd_start -r 5
	u=$(connect /chat alice)
	run ws "$u" replaced
	assert_status 0
	assert_lines "first closed 1000" "second open True"
	# A long-poll takes over from a socket...
	ws_held "$u" "$BATS_TEST_TMPDIR/w1"
	pid=$WS_PID
	sleep 0.5
	poll_bg p "$u"
	wait_for "$pid" 5
	assert_eq "$(cat "$BATS_TEST_TMPDIR/w1")" "$(printf 'open\nclosed 1000')"
	# ...and a socket from a long-poll, which is answered idle.
	sleep 0.2
	ws_held "$u" "$BATS_TEST_TMPDIR/w2"
	pid=$WS_PID
	wait_for "$BG_PID" 5
	jassert 'd.get("idle") is True' <"$BATS_TEST_TMPDIR/p.body"
	# The client leaves: its socket is closed.
	run http POST "/client/$u/close"
	assert_eq "${lines[0]}" 200
	wait_for "$pid" 5
	assert_eq "$(cat "$BATS_TEST_TMPDIR/w2")" "$(printf 'open\nclosed 1000')"
}

@test "ws: a socket counts as a held poll for max_polls; closing it frees it" {
	livd_start -r 5 -c "$(config 'max_polls: 1')"
	u=$(connect /chat alice)
	v=$(connect /chat vera)
	ws_held "$u"
	sleep 0.5
	run handshake "/client/$v/ws"
	assert_lines 503 '{"error":"too many polls"}'
	run http GET "/client/$v/output"
	assert_eq "${lines[0]}" 503
	run http POST "/client/$u/close"
	sleep 0.3
	run ws "$v" session
	assert_lines "subprotocol None" "closed 1000"
}

@test "ws: with allowed_origins, an upgrade from another origin is 403" {
	livd_start -r 5 -c "$(config 'allowed_origins: http://app.example')"
	u=$(connect /chat alice)
	run handshake "/client/$u/ws" "Origin: http://evil.example"
	assert_lines 403 '{"error":"origin not allowed"}'
	run handshake "/client/$u/ws" "Origin: http://app.example" \
	    Access-Control-Allow-Origin
	assert_lines 101 "Access-Control-Allow-Origin: http://app.example"
}

@test "ws: max_connections counts sockets; livd exits cleanly with sockets open" {
	livd_start -r 5 -c "$(config 'max_connections: 2')"
	u=$(connect /chat alice)
	v=$(connect /chat vera)
	ws_held "$u"
	ws_held "$v"
	sleep 0.5
	run http GET /verbs.json
	assert_eq "${lines[0]}" 503
	livd_stop TERM
	assert_eq "$LIVD_STATUS" 0
}

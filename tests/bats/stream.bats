#!/usr/bin/env bats
# GET /stream (SPEC Part two, "Streams for the frontends people use"):
# connect and stream in one request, as livd's JSON, Turbo Streams or
# htmx's named HTML; the client lives as long as the stream; errors as
# POST /connect's; Last-Event-ID resumes, through a restart with
# state_file too. Streams are read with curl -N, as a frontend's
# EventSource would read them.

load helper

# stream_bg NAME QUERY [curl args...]: open /stream?QUERY in the
# background; the head goes to NAME.head, the body to NAME.out. Sets
# BG_PID (tracked for teardown).
stream_bg() {
	local name=$1 q=$2
	shift 2
	curl -s -N --max-time 60 -D "$BATS_TEST_TMPDIR/$name.head" \
	    "$@" "$URL/stream?$q" >"$BATS_TEST_TMPDIR/$name.out" \
	    2>/dev/null </dev/null 3>&- &
	BG_PID=$!
	bg_track "$BG_PID"
}

# Wait (5 s at most) until livd has N clients (`livctl clients` has a
# line per client and location).
wait_clients() {
	local n=$1 i
	for ((i = 0; i < 100; i++)); do
		[ "$(livctl clients | cut -d' ' -f1 | sort -u | grep -c .)" = "$n" ] &&
		    return 0
		sleep 0.05
	done
	echo "expected $n clients, have:" >&2
	livctl clients >&2
	return 1
}

# Wait (5 s at most) until the stream NAME has received text.
wait_text() {
	local name=$1 text=$2 i
	for ((i = 0; i < 100; i++)); do
		grep -qF -- "$text" "$BATS_TEST_TMPDIR/$name.out" && return 0
		sleep 0.05
	done
	echo "stream $name never received [$text]; it has:" >&2
	cat "$BATS_TEST_TMPDIR/$name.out" >&2
	return 1
}

# The messages of stream NAME as the SSE parser of a browser reads them,
# one JSON line each: [last event id, event type, data], with the
# messages that dispatch nothing (comments, retry, an id alone) left out,
# and last the id the page would resume from (["last-id", ID]).
messages() {
	python3 -c '
import json, re, sys
raw = open(sys.argv[1], "rb").read().decode()
last, etype, data = "", "", []
for line in re.split(r"\r\n|\r|\n", raw):
    if line == "":
        if data:
            print(json.dumps([last, etype or "message", "\n".join(data)]))
        etype, data = "", []
        continue
    if line.startswith(":"):
        continue
    field, _, value = line.partition(":")
    value = value[1:] if value.startswith(" ") else value
    if field == "id":
        last = value
    elif field == "event":
        etype = value
    elif field == "data":
        data.append(value)
print(json.dumps(["last-id", last]))
' "$BATS_TEST_TMPDIR/$1.out"
}

# The messages of stream NAME without their ids: "TYPE DATA" lines, with
# the line breaks in DATA written \n.
typed_data() {
	messages "$1" | python3 -c '
import json, sys
for m in [json.loads(l) for l in sys.stdin.read().splitlines()][:-1]:
    print(m[1] + " " + m[2].replace("\n", "\\n"))
'
}

# Every shipped verb once, at LOCATION, then a marker the test waits for.
send_every_verb() {
	local l=$1
	livctl send -l "$l" append list '<li id="a">a</li>'
	livctl send -l "$l" prepend list '<li>p</li>'
	livctl send -l "$l" before list '<p>b</p>'
	livctl send -l "$l" after list '<p>f</p>'
	livctl send -l "$l" update box '<i>u</i>'
	livctl send -l "$l" replace box '<div id="box">r</div>'
	livctl send -l "$l" text note '<b> & "q"'
	livctl send -l "$l" attr box class big
	livctl send -l "$l" remove a
	livctl send -l "$l" change something
	livctl send -l "$l" reload
	livctl send -l "$l" append list 'two
lines'
}

@test "stream: format=turbo sends each verb with a turbo action as one unnamed Turbo Stream message" {
	livd_start -r 1
	stream_bg t "location=/board&format=turbo"
	wait_clients 1
	send_every_verb /board
	wait_text t 'lines</template>'
	grep -qi '^content-type: text/event-stream' "$BATS_TEST_TMPDIR/t.head"
	# Compare without the ids, which are seqs; they are checked below.
	run typed_data t
	assert_lines \
	    'message <turbo-stream action="append" target="list"><template><li id="a">a</li></template></turbo-stream>' \
	    'message <turbo-stream action="prepend" target="list"><template><li>p</li></template></turbo-stream>' \
	    'message <turbo-stream action="before" target="list"><template><p>b</p></template></turbo-stream>' \
	    'message <turbo-stream action="after" target="list"><template><p>f</p></template></turbo-stream>' \
	    'message <turbo-stream action="update" target="box"><template><i>u</i></template></turbo-stream>' \
	    'message <turbo-stream action="replace" target="box"><template><div id="box">r</div></template></turbo-stream>' \
	    'message <turbo-stream action="update" target="note"><template>&lt;b&gt; &amp; &quot;q&quot;</template></turbo-stream>' \
	    'message <turbo-stream action="remove" target="a"></turbo-stream>' \
	    'message <turbo-stream action="refresh"></turbo-stream>' \
	    'message <turbo-stream action="append" target="list"><template>two\nlines</template></turbo-stream>'
	# Two data lines for two lines of HTML, as the SSE format wants.
	grep -qx 'data: <turbo-stream action="append" target="list"><template>two' \
	    "$BATS_TEST_TMPDIR/t.out"
	grep -qx 'data: lines</template></turbo-stream>' "$BATS_TEST_TMPDIR/t.out"
}

@test "stream: each message's id is its event's seq; verbs a format skips still move the last id" {
	livd_start -r 1
	stream_bg t "location=/board&format=turbo"
	stream_bg h "location=/board&format=htmx"
	stream_bg j "location=/board"
	wait_clients 3
	local s1 s2
	s1=$(livctl -j send -l /board append list x | jget 'd.get("seq", "")')
	livctl send -l /board append list '<li>1</li>'
	livctl send -l /board change last
	wait_text j '"argument":"last"'
	wait_text t '<li>1</li>'
	wait_text h '<li>1</li>'
	sleep 0.3
	# The JSON stream's ids are its events' seqs, and its last id is the
	# change's; the others skip the change but end at the same id.
	run messages j
	local want
	want=$(python3 -c '
import json, sys
msgs = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert all(m[0] == str(json.loads(m[2])["seq"]) for m in msgs[:-1]), msgs
print(msgs[-1][1])' <<<"$output")
	run messages t
	assert_eq "$(tail -1 <<<"$output")" "[\"last-id\", \"$want\"]"
	run messages h
	assert_eq "$(tail -1 <<<"$output")" "[\"last-id\", \"$want\"]"
	assert_eq "$(grep -c . <<<"$output")" 3
}

@test "stream: format=htmx sends each verb with id and html as a message named by its id" {
	livd_start -r 1
	stream_bg h "location=/board&format=htmx"
	wait_clients 1
	send_every_verb /board
	wait_text h 'data: lines'
	run typed_data h
	assert_lines \
	    'list <li id="a">a</li>' \
	    'list <li>p</li>' \
	    'list <p>b</p>' \
	    'list <p>f</p>' \
	    'box <i>u</i>' \
	    'box <div id="box">r</div>' \
	    'list two\nlines'
}

@test "stream: format=json (the default) sends every event as /client/UUID/events does" {
	livd_start -r 1
	stream_bg d "location=/board"
	stream_bg j "location=/board&format=json"
	u=$(connect /board carol)
	# Read until every event is in, not for a fixed 2 s: on a busy
	# machine the sending alone may take longer.
	curl -s -N --max-time 60 "$URL/client/$u/events" \
	    >"$BATS_TEST_TMPDIR/e.out" 2>/dev/null &
	bg_track $!
	wait_clients 3
	send_every_verb /board
	wait_text d 'lines'
	wait_text j 'lines'
	wait_text e 'lines'
	run messages e
	local events=$output
	[ "$(grep -c . <<<"$events")" = 13 ]
	run messages d
	assert_eq "$output" "$events"
	run messages j
	assert_eq "$output" "$events"
	python3 -c '
import json, sys
msgs = [json.loads(l) for l in sys.stdin.read().splitlines()]
verbs = [json.loads(m[2])["verb"] for m in msgs[:-1]]
assert verbs == ["append", "prepend", "before", "after", "update", "replace",
    "text", "attr", "remove", "change", "reload", "append"], verbs
assert all(m[1] == "message" for m in msgs[:-1])
' <<<"$events"
}

@test "stream: the client lives as long as the stream: open, it is online; closed, it leaves at once" {
	livd_start -r 1
	u=$(curl -s --data 'location=/board&principal=watcher&presence=1' \
	    "$URL/connect" | jget 'd["uuid"]')
	output "$u" >/dev/null
	stream_bg a "location=/board&format=turbo&principal=alice"
	stream_bg b "location=/board&format=htmx"
	wait_clients 3
	run livctl who /board
	assert_lines alice anonymous watcher
	kill "$BG_PID"
	wait_clients 2
	run livctl who /board
	assert_lines alice watcher
	local t0=$(now)
	kill "${BG_PIDS[-2]}"
	wait_clients 1
	elapsed_between "$(now)" "$t0" 0 2
	# The watcher heard both join and leave.
	output "$u" | jassert 'sorted((e["verb"], e["user"]) for e in d["events"]
    if e["user"] != "watcher")[:2] == [("join", "alice"), ("join", "anonymous")]
and [(e["verb"], e["user"]) for e in d["events"]][-2:] ==
[("leave", "anonymous"), ("leave", "alice")]'
}

@test "stream: SIGTERM ends every stream, and livd exits 0" {
	livd_start -r 1
	stream_bg a "location=/board&principal=alice"
	stream_bg b "location=/board&format=turbo"
	wait_clients 2
	livctl send -l /board append x y
	wait_text a '"html":"y"'
	livd_stop
	wait_for "$BG_PID" 5
	wait_for "${BG_PIDS[-2]}" 5
}

@test "stream: Last-Event-ID (or ?since=) resumes: the new client gets what came after it" {
	livd_start -r 1
	stream_bg a "location=/board&format=turbo"
	wait_clients 1
	livctl send -l /board append list '<li>1</li>'
	livctl send -l /board append list '<li>2</li>'
	wait_text a '<li>2</li>'
	local id1
	id1=$(messages a | head -1 | jget 'd[0]')
	kill "$BG_PID"
	wait_clients 0
	livctl send -l /board append list '<li>3</li>'
	stream_bg b "location=/board&format=turbo" -H "Last-Event-ID: $id1"
	wait_text b '<li>3</li>'
	run messages b
	[ "$(grep -c . <<<"$output")" = 3 ]
	assert_contains "$(sed -n 1p <<<"$output")" '<li>2</li>'
	assert_contains "$(sed -n 2p <<<"$output")" '<li>3</li>'
	stream_bg c "location=/board&format=htmx&since=$id1"
	wait_text c '<li>3</li>'
	run messages c
	[ "$(grep -c . <<<"$output")" = 3 ]
	# Without either, a stream gets only what is sent after it opens.
	stream_bg d "location=/board&format=turbo"
	wait_clients 3
	livctl send -l /board append list '<li>4</li>'
	wait_text d '<li>4</li>'
	run messages d
	[ "$(grep -c . <<<"$output")" = 2 ]
}

@test "stream: a page resumes through a restart with state_file and misses nothing" {
	local state="$BATS_TEST_TMPDIR/state.json"
	printf 'state_file: %s\n' "$state" >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
	local port=$PORT
	stream_bg a "location=/board&format=turbo"
	wait_clients 1
	livctl send -l /board append list '<li>before</li>'
	wait_text a '<li>before</li>'
	local id
	id=$(messages a | head -1 | jget 'd[0]')
	livd_stop
	wait_for "$BG_PID" 5
	# The stream was no client to keep.
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["clients"] == [], d' "$state"
	livd_spawn -l "127.0.0.1:$port" -s "$SOCK" -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
	run livctl clients
	assert_eq "$output" ""
	# Sent while the page is still away, then the page reconnects.
	livctl send -l /board append list '<li>while away</li>'
	stream_bg b "location=/board&format=turbo" -H "Last-Event-ID: $id"
	wait_text b '<li>while away</li>'
	livctl send -l /board append list '<li>after</li>'
	wait_text b '<li>after</li>'
	run messages b
	[ "$(grep -c . <<<"$output")" = 3 ]
	run grep -c 'before' "$BATS_TEST_TMPDIR/b.out"
	assert_eq "$output" 0
}

@test "stream: several locations: events of each reach the stream, an event to all once" {
	livd_start -r 1
	stream_bg a "location=/a&location=/b&location=/a&format=htmx&principal=al"
	wait_clients 1
	run livctl who
	assert_lines "/a al" "/b al"
	livctl send -l /a append x '<i>a</i>'
	livctl send -l /b append x '<i>b</i>'
	livctl send -l /c append x '<i>c</i>'
	livctl send append x '<i>all</i>'
	wait_text a '<i>all</i>'
	run messages a
	run python3 -c '
import json, sys
for l in sys.stdin.read().splitlines()[:-1]:
    print(json.loads(l)[2])' <<<"$output"
	assert_lines '<i>a</i>' '<i>b</i>' '<i>all</i>'
}

@test "stream: token mode: the token's sub and locations; every refusal as POST /connect's" {
	SECRET="$BATS_TEST_TMPDIR/secret"
	(umask 077 && head -c 32 /dev/urandom | base64 >"$SECRET")
	printf 'auth: token\nsecret_file: %s\n' "$SECRET" \
	    >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
	local t
	t=$(livctl token -p alice -l /board -l '/user/alice/*')
	run http GET "/stream?location=/board&format=turbo"
	assert_lines 401 '{"error":"missing token"}'
	run http GET "/stream?location=/board&token=x.y.z"
	assert_lines 401 '{"error":"invalid token"}'
	run http GET "/stream?location=/lobby&token=$t"
	assert_lines 403 "{\"error\":\"token does not allow location '/lobby'\"}"
	run http GET "/stream?location=/board&location=/lobby&token=$t"
	assert_lines 403 "{\"error\":\"token does not allow location '/lobby'\"}"
	run livctl clients
	assert_eq "$output" ""
	# principal= is not how a token page names itself.
	stream_bg a "location=/user/alice/inbox&format=turbo&principal=mallory&token=$t"
	# Without a location: every exact location of the token.
	stream_bg b "format=htmx&token=$t"
	wait_clients 2
	run livctl who
	assert_lines "/board alice" "/user/alice/inbox alice"
	livctl send -l /user/alice/inbox update box '<b>hi</b>'
	livctl send -l /board append list '<li>b</li>'
	wait_text a '<b>hi</b>'
	wait_text b '<li>b</li>'
}

@test "stream: bad requests are refused before anyone connects" {
	livd_start -r 1
	while IFS='|' read -r code query body; do
		run http GET "/stream$query"
		assert_lines "$code" "$body"
	done <<'EOF'
400||{"error":"missing field 'location'"}
400|?format=turbo|{"error":"missing field 'location'"}
400|?location=/b&format=xml|{"error":"unknown format 'xml' (json, turbo or htmx)"}
400|?location=/b&format=|{"error":"unknown format '' (json, turbo or htmx)"}
400|?location=/b&format=TURBO|{"error":"unknown format 'TURBO' (json, turbo or htmx)"}
400|?location=/b&since=x1|{"error":"invalid since"}
400|?location=/b&location=%zz|{"error":"malformed percent-encoding"}
400|?location=a%20b|{"error":"invalid location"}
400|?location=/b&principal=a%0Ab|{"error":"invalid principal"}
EOF
	run http GET "/stream?location=/b" -H 'Last-Event-ID: 12x'
	assert_lines 400 '{"error":"invalid since"}'
	local q="location=/l0" i
	for ((i = 1; i <= 16; i++)); do
		q="$q&location=/l$i"
	done
	run http GET "/stream?$q"
	assert_lines 400 '{"error":"too many locations (max 16)"}'
	run http POST "/stream?location=/b"
	assert_eq "${lines[0]}" 405
	run livctl clients
	assert_eq "$output" ""
	run livctl who
	assert_eq "$output" ""
}

@test "stream: with allowed_origins, a listed origin reads the stream; another origin is 403" {
	printf 'allowed_origins: [https://app.example]\n' \
	    >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
	run http GET "/stream?location=/b" -H 'Origin: https://evil.example'
	assert_lines 403 '{"error":"origin not allowed"}'
	stream_bg a "location=/b&format=turbo" -H 'Origin: https://app.example'
	wait_clients 1
	grep -qix 'access-control-allow-origin: https://app.example.' \
	    "$BATS_TEST_TMPDIR/a.head"
	grep -qix 'access-control-allow-credentials: true.' \
	    "$BATS_TEST_TMPDIR/a.head"
}

@test "stream: a stream counts as a held poll against max_polls" {
	printf 'max_polls: 1\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
	stream_bg a "location=/b"
	wait_clients 1
	run http GET "/stream?location=/b"
	assert_lines 503 '{"error":"too many polls"}'
	run livctl clients
	assert_eq "$(grep -c . <<<"$output")" 1
}

@test "stream: the Turbo and htmx example pages are served at /examples/ with the demo" {
	livd_start -r 1
	run http GET /examples/turbo.html
	assert_eq "${lines[0]}" 200
	assert_contains "$output" '<turbo-stream-source src="/stream?location=/board&amp;format=turbo">'
	run http GET /examples/htmx.html
	assert_eq "${lines[0]}" 200
	assert_contains "$output" 'sse-connect="/stream?location=/board&amp;format=htmx"'
	curl -s -D - -o /dev/null "$URL/examples/htmx.html" |
	    grep -qi '^content-type: text/html; charset=utf-8'
	run http GET /examples/nope.html
	assert_lines 404 '{"error":"not found"}'
	run http GET /examples/
	assert_lines 404 '{"error":"not found"}'
	livd_stop
	printf 'demo: false\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
	run http GET /examples/turbo.html
	assert_lines 404 '{"error":"not found"}'
}

@test "stream: a stalled reader is cut off past max_output, and its client leaves" {
	printf 'max_output: 4K\nqueue_limit: 100000\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
	stream_bg ok "location=/a&principal=vera&format=htmx"
	PORT=$PORT LIVCTL=$LIVCTL TESTDIR=$BATS_TEST_DIRNAME python3 - <<'PY'
import os, sys
sys.path.insert(0, os.environ["TESTDIR"])
from rawhttp import stalled_stream, flood, drain
s = stalled_stream(int(os.environ["PORT"]),
                   "/stream?location=/a&principal=uwe&format=turbo")
# 8 MB for a reader that reads nothing: far more than the socket buffers.
flood(os.environ["LIVCTL"], ["-l", "/a"], 8000)
total = len(drain(s))
assert total < 8000 * 1000, total
PY
	grep -q 'stream reader stalled' "$BATS_TEST_TMPDIR/livd.log"
	run livctl who /a
	assert_lines vera
	livctl send -l /a append log '<i>fine</i>'
	wait_text ok '<i>fine</i>'
}

@test "stream: events sent to the stream's client alone, or to its principal, arrive once each" {
	livd_start -r 1
	stream_bg a "location=/a&principal=alice&format=htmx"
	wait_clients 1
	local uuid
	uuid=$(livctl clients | cut -d' ' -f1)
	livctl send -c "$uuid" append box '<i>1</i>'
	livctl send -p alice append box '<i>2</i>'
	printf 'append box <i>3</i>\nappend box <i>4</i>\n' | livctl send -c "$uuid" -
	wait_text a '<i>4</i>'
	run typed_data a
	assert_lines 'box <i>1</i>' 'box <i>2</i>' 'box <i>3</i>' 'box <i>4</i>'
}

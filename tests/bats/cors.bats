#!/usr/bin/env bats
# CORS (SPEC "CORS"): with allowed_origins set, a page of a listed origin
# passes its preflights and reads every answer, held polls and event
# streams included; the origin is echoed, never "*", with credentials
# allowed. A preflight from any other origin is 403 without a CORS header.

load helper

APP=https://app.example

config() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/livd.yaml"
	printf '%s' "$BATS_TEST_TMPDIR/livd.yaml"
}

start_cors() {
	livd_start -r 1 -c "$(config "allowed_origins: [$APP, http://localhost:8080]" \
	    'input_rate: 1' 'input_burst: 1' "$@")"
}

# The head of an answer (CR stripped): heads METHOD PATH [curl args...].
heads() {
	local method=$1 path=$2
	shift 2
	curl -s -o /dev/null -D - -X "$method" --max-time 10 "$@" "$URL$path" |
	    tr -d '\r'
}

# The value of header NAME in the head on stdin (case-insensitive name).
header() {
	awk -v name="$1" 'BEGIN { FS = ": " } tolower($1) == tolower(name) {
	    sub(/^[^:]*: /, ""); print }'
}

# Assert that the head in $output is an answer to ORIGIN: echoed, with
# credentials, varying on Origin.
assert_cors() {
	assert_eq "$(header Access-Control-Allow-Origin <<<"$output")" "$1"
	assert_eq "$(header Access-Control-Allow-Credentials <<<"$output")" true
	assert_eq "$(header Vary <<<"$output")" Origin
}

assert_no_cors() {
	if grep -i '^access-control-' <<<"$output"; then
		echo "CORS headers where none belong:"
		printf '%s\n' "$output"
		return 1
	fi
}

@test "cors: a preflight from a listed origin is 204 with every header" {
	start_cors
	for path in /connect "/client/$NOUUID/input" "/client/$NOUUID/output" \
	    "/client/$NOUUID/events" /stream /api; do
		run heads OPTIONS "$path" -H "Origin: $APP" \
		    -H 'Access-Control-Request-Method: POST' \
		    -H 'Access-Control-Request-Headers: content-type'
		assert_contains "$output" "HTTP/1.1 204 No Content"
		assert_cors "$APP"
		assert_eq "$(header Access-Control-Allow-Methods <<<"$output")" \
		    "GET, POST, OPTIONS"
		assert_eq "$(header Access-Control-Allow-Headers <<<"$output")" \
		    "Authorization, Content-Type, Last-Event-ID"
		assert_eq "$(header Access-Control-Max-Age <<<"$output")" 7200
		# A 204 has no body, so no length either.
		assert_eq "$(header Content-Length <<<"$output")" ""
	done
	run heads OPTIONS /connect -H 'Origin: http://localhost:8080'
	assert_contains "$output" "HTTP/1.1 204 No Content"
	assert_cors http://localhost:8080
}

@test "cors: a preflight from another origin, or none, is 403 with no CORS header" {
	start_cors
	for origin in https://evil.example https://app.example.evil \
	    http://app.example "$APP:443"; do
		run http OPTIONS /connect -H "Origin: $origin"
		assert_lines 403 '{"error":"origin not allowed"}'
		run heads OPTIONS /connect -H "Origin: $origin"
		assert_no_cors
	done
	run http OPTIONS /connect
	assert_lines 403 '{"error":"origin not allowed"}'
	run heads OPTIONS "/client/$NOUUID/input" -H 'Origin: https://evil.example'
	assert_contains "$output" "HTTP/1.1 403 Forbidden"
	assert_no_cors
}

@test "cors: without allowed_origins every preflight is 403 and no answer has CORS headers" {
	livd_start -r 1
	run http OPTIONS /connect -H "Origin: $APP"
	assert_lines 403 '{"error":"origin not allowed"}'
	run heads OPTIONS /connect -H "Origin: $APP"
	assert_no_cors
	run heads POST /connect -H "Origin: $APP" --data 'location=/c&principal=a'
	assert_contains "$output" "HTTP/1.1 200 OK"
	assert_no_cors
}

@test "cors: every kind of answer to a listed origin carries the headers, errors too" {
	start_cors
	u=$(connect /chat alice)
	o=(-H "Origin: $APP")
	# Over max_body: refused before it is read.
	head -c 70000 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/big"
	# status, then the request
	while IFS='|' read -r code method path args; do
		# shellcheck disable=SC2086
		run heads "$method" "$path" "${o[@]}" $args
		assert_contains "$output" "HTTP/1.1 $code "
		assert_cors "$APP"
	done <<EOF
200|POST|/connect|--data location=/chat&principal=bob
400|POST|/connect|--data location=/chat
415|POST|/connect|--data x -H Content-Type:application/json
200|GET|/client/$u/who|
200|POST|/client/$u/input|--data verb=append&id=t&html=x
429|POST|/client/$u/input|--data verb=append&id=t&html=x
404|POST|/client/$NOUUID/input|--data verb=append&id=t&html=x
400|GET|/client/$u/output?since=x|
200|GET|/client/$u/output|
200|GET|/livepage.js|
200|GET|/verbs.json|
200|GET|/demo/x|
200|GET|/metrics|
404|GET|/nowhere|
405|GET|/connect|
405|OPTIONS|/metrics|
411|POST|/connect|-H Transfer-Encoding:chunked --data x
413|POST|/connect|--data-binary @$BATS_TEST_TMPDIR/big
200|POST|/client/$u/close|
EOF
}

@test "cors: answers to another origin carry no CORS header; its POST is 403" {
	start_cors
	run heads GET /livepage.js -H 'Origin: https://evil.example'
	assert_contains "$output" "HTTP/1.1 200 OK"
	assert_no_cors
	run heads POST /connect -H 'Origin: https://evil.example' \
	    --data 'location=/c&principal=a'
	assert_contains "$output" "HTTP/1.1 403 Forbidden"
	assert_no_cors
}

@test "cors: a held poll answered later carries the headers" {
	start_cors
	u=$(connect /chat alice)
	curl -s -o "$BATS_TEST_TMPDIR/poll.body" -D "$BATS_TEST_TMPDIR/poll.head" \
	    --max-time 10 -H "Origin: $APP" "$URL/client/$u/output" \
	    </dev/null 3>&- &
	pid=$!
	bg_track $pid
	sleep 0.3
	running $pid
	livctl send -l /chat append t later >/dev/null
	wait_for $pid 5
	run jget '[e["html"] for e in d["events"]]' <"$BATS_TEST_TMPDIR/poll.body"
	assert_lines '["later"]'
	output=$(tr -d '\r' <"$BATS_TEST_TMPDIR/poll.head")
	assert_contains "$output" "HTTP/1.1 200 OK"
	assert_cors "$APP"
	# The refresh interval passing: the idle answer carries them too.
	curl -s -o /dev/null -D "$BATS_TEST_TMPDIR/idle.head" --max-time 10 \
	    -H "Origin: $APP" "$URL/client/$u/output" </dev/null 3>&-
	output=$(tr -d '\r' <"$BATS_TEST_TMPDIR/idle.head")
	assert_contains "$output" "HTTP/1.1 200 OK"
	assert_cors "$APP"
}

@test "cors: an event stream carries the headers" {
	start_cors
	u=$(connect /chat alice)
	curl -s -N -o "$BATS_TEST_TMPDIR/sse.body" -D "$BATS_TEST_TMPDIR/sse.head" \
	    --max-time 2 -H "Origin: $APP" "$URL/client/$u/events" \
	    </dev/null 3>&- &
	pid=$!
	bg_track $pid
	sleep 0.3
	livctl send -l /chat append t streamed >/dev/null
	wait_for $pid 5
	output=$(tr -d '\r' <"$BATS_TEST_TMPDIR/sse.head")
	assert_contains "$output" "HTTP/1.1 200 OK"
	assert_contains "$output" "Content-Type: text/event-stream"
	assert_cors "$APP"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/sse.body")" '"html":"streamed"'
}

@test "cors: allowed_origins \"*\" echoes each origin, never *" {
	livd_start -r 1 -c "$(config 'allowed_origins: ["*"]')"
	for origin in https://one.example http://127.0.0.1:9999; do
		run heads OPTIONS /connect -H "Origin: $origin"
		assert_contains "$output" "HTTP/1.1 204 No Content"
		assert_cors "$origin"
		run heads POST /connect -H "Origin: $origin" \
		    --data 'location=/c&principal=a'
		assert_contains "$output" "HTTP/1.1 200 OK"
		assert_cors "$origin"
	done
	# Two origins on one keep-alive connection: each answer names its own.
	run curl -s -o /dev/null -o /dev/null -D - -H 'Origin: https://a.example' \
	    "$URL/verbs.json" --next -s -o /dev/null -D - \
	    -H 'Origin: https://b.example' "$URL/verbs.json" --next -s \
	    -o /dev/null -D - "$URL/verbs.json"
	output=$(tr -d '\r' <<<"$output")
	assert_eq "$(header Access-Control-Allow-Origin <<<"$output")" \
	    "https://a.example
https://b.example"
	# An Origin longer than any web origin is none.
	long=https://$(head -c 300 /dev/zero | tr '\0' a).example
	run heads OPTIONS /connect -H "Origin: $long"
	assert_contains "$output" "HTTP/1.1 403 Forbidden"
	assert_no_cors
}

@test "cors: a reload that drops the origin stops the headers" {
	start_cors
	run heads OPTIONS /connect -H "Origin: $APP"
	assert_contains "$output" "HTTP/1.1 204 No Content"
	config 'allowed_origins: [https://other.example]' >/dev/null
	livctl reload >/dev/null
	run heads OPTIONS /connect -H "Origin: $APP"
	assert_contains "$output" "HTTP/1.1 403 Forbidden"
	assert_no_cors
}

# trusted_proxies: behind a trusted proxy the client's address is the one
# X-Forwarded-For gives, in the log lines about requests and clients.
# Loopback is a /8: curl --interface picks the peer livd sees.

# The "from ADDR" of the log's last line about PATH.
logged_from() {
	grep -F " $1 from " "$BATS_TEST_TMPDIR/livd.log" | tail -n 1 |
	    sed 's/.* from //'
}

@test "trusted_proxies: a trusted peer's X-Forwarded-For gives the client, right-most untrusted first" {
	livd_start -c "$(config 'log_level: debug' \
	    'trusted_proxies: [127.0.0.2, 10.0.0.0/8]')"
	curl -s -o /dev/null --interface 127.0.0.2 \
	    -H 'X-Forwarded-For: 6.6.6.6, 203.0.113.7, 10.1.1.1' "$URL/verbs.json?a"
	assert_eq "$(logged_from '/verbs.json')" 203.0.113.7
	curl -s -o /dev/null --interface 127.0.0.2 "$URL/livepage.js"
	assert_eq "$(logged_from /livepage.js)" 127.0.0.2
	# An untrusted peer's header is its own say: ignored.
	curl -s -o /dev/null --interface 127.0.0.3 \
	    -H 'X-Forwarded-For: 203.0.113.9' "$URL/demo/x"
	assert_eq "$(logged_from /demo/x)" 127.0.0.3
	# The client-connected line names it too.
	u=$(curl -s --interface 127.0.0.2 -H 'X-Forwarded-For: 198.51.100.4' \
	    --data 'location=/c&principal=a' "$URL/connect" | jget 'd["uuid"]')
	run grep -F "client $u from 198.51.100.4" "$BATS_TEST_TMPDIR/livd.log"
	assert_status 0
	# A reload that trusts another peer.
	config 'log_level: debug' 'trusted_proxies: [127.0.0.3]' >/dev/null
	livctl reload >/dev/null
	curl -s -o /dev/null --interface 127.0.0.3 \
	    -H 'X-Forwarded-For: 203.0.113.9' "$URL/demo/y"
	assert_eq "$(logged_from /demo/y)" 203.0.113.9
	curl -s -o /dev/null --interface 127.0.0.2 \
	    -H 'X-Forwarded-For: 203.0.113.9' "$URL/demo/z"
	assert_eq "$(logged_from /demo/z)" 127.0.0.2
}

@test "trusted_proxies: without it X-Forwarded-For is ignored" {
	livd_start -c "$(config 'log_level: debug')"
	curl -s -o /dev/null -H 'X-Forwarded-For: 203.0.113.7' "$URL/verbs.json"
	assert_eq "$(logged_from /verbs.json)" 127.0.0.1
}

@test "trusted_proxies: a word that is no address or net is refused" {
	run "$LIVD" -t -c "$(config 'trusted_proxies: [10.0.0.0/8, proxy.example]')"
	assert_status 1
	assert_contains "$output" "trusted_proxies: 'proxy.example' is not an address or ADDR/BITS"
	run "$LIVD" -t -c "$(config 'trusted_proxies: [10.0.0.0/33]')"
	assert_status 1
	run "$LIVD" -t -c "$(config 'trusted_proxies: ["2001:db8::/32", 192.0.2.1]')"
	assert_status 0
}

@test "metrics: false and demo: false take their routes away; a reload brings them back" {
	livd_start -c "$(config 'metrics: false' 'demo: false')"
	for path in /metrics /demo/ /demo/room; do
		run http GET "$path"
		assert_lines 404 '{"error":"not found"}'
	done
	run http POST /metrics --data x
	assert_lines 404 '{"error":"not found"}'
	run http GET /livepage.js
	assert_eq "${lines[0]}" 200
	config 'metrics: true' >/dev/null
	livctl reload >/dev/null
	run http GET /metrics
	assert_eq "${lines[0]}" 200
	run http GET /demo/room
	assert_eq "${lines[0]}" 200
	config 'metrics: off' 'demo: no' >/dev/null
	livctl reload >/dev/null
	run http GET /metrics
	assert_lines 404 '{"error":"not found"}'
	run http GET /demo/room
	assert_lines 404 '{"error":"not found"}'
}

@test "metrics and demo take true or false only" {
	run "$LIVD" -t -c "$(config 'metrics: sometimes')"
	assert_status 1
	assert_contains "$output" "metrics must be true or false, not 'sometimes'"
	run "$LIVD" -t -c "$(config 'demo: 2')"
	assert_status 1
	assert_contains "$output" "demo must be true or false, not '2'"
}

# livepage.js and verbs.json carry a validator: browsers keep them and ask
# again with If-None-Match, answered 304 without the body.

@test "livepage.js: ETag and no-cache; If-None-Match is 304 without a body" {
	livd_start
	run heads GET /livepage.js
	assert_contains "$output" "HTTP/1.1 200 OK"
	assert_eq "$(header Cache-Control <<<"$output")" no-cache
	assert_eq "$(header Vary <<<"$output")" Origin
	etag=$(header ETag <<<"$output")
	[[ $etag =~ ^\"[0-9a-f]{32}\"$ ]] || { echo "ETag: $etag"; false; }
	assert_eq "$(header Content-Length <<<"$output")" \
	    "$(wc -c <"$ROOT/share/livd/livepage.js" | tr -d ' ')"
	for inm in "$etag" "W/$etag" "\"other\", $etag" '*'; do
		run heads GET /livepage.js -H "If-None-Match: $inm"
		assert_contains "$output" "HTTP/1.1 304 Not Modified"
		assert_eq "$(header ETag <<<"$output")" "$etag"
		assert_eq "$(header Content-Length <<<"$output")" ""
		assert_eq "$(header Content-Type <<<"$output")" ""
		run curl -s -o /dev/null -w '%{http_code} %{size_download}' \
		    -H "If-None-Match: $inm" "$URL/livepage.js"
		assert_eq "$output" "304 0"
	done
	run heads GET /livepage.js -H 'If-None-Match: "other"'
	assert_contains "$output" "HTTP/1.1 200 OK"
	run curl -s -H 'If-None-Match: "other"' "$URL/livepage.js"
	assert_eq "$output" "$(cat "$ROOT/share/livd/livepage.js")"
	# A keep-alive connection goes on after a 304.
	run curl -s -o /dev/null -w '%{http_code} ' -H "If-None-Match: $etag" \
	    "$URL/livepage.js" "$URL/livepage.js"
	assert_eq "$output" "304 304 "
	# The rest is still not stored.
	run heads GET /demo/x
	assert_eq "$(header Cache-Control <<<"$output")" no-store
	assert_eq "$(header ETag <<<"$output")" ""
}

@test "livepage.js, verbs.json: the ETag follows the file across a reload" {
	mkdir "$BATS_TEST_TMPDIR/share"
	cp -r "$ROOT"/share/livd/* "$BATS_TEST_TMPDIR/share/"
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs.yaml"
	livd_start -c "$(config "share: $BATS_TEST_TMPDIR/share" \
	    "verbs: $BATS_TEST_TMPDIR/verbs.yaml")"
	js=$(heads GET /livepage.js | header ETag)
	verbs=$(heads GET /verbs.json | header ETag)
	run heads GET /verbs.json -H "If-None-Match: $verbs"
	assert_contains "$output" "HTTP/1.1 304 Not Modified"
	# Unchanged files keep their tags over a reload.
	livctl reload >/dev/null
	assert_eq "$(heads GET /livepage.js | header ETag)" "$js"
	assert_eq "$(heads GET /verbs.json | header ETag)" "$verbs"
	echo '// changed' >>"$BATS_TEST_TMPDIR/share/livepage.js"
	printf '\nextra:\n  args: [id]\n' >>"$BATS_TEST_TMPDIR/verbs.yaml"
	livctl reload >/dev/null
	run heads GET /livepage.js -H "If-None-Match: $js"
	assert_contains "$output" "HTTP/1.1 200 OK"
	[ "$(header ETag <<<"$output")" != "$js" ]
	run heads GET /verbs.json -H "If-None-Match: $verbs"
	assert_contains "$output" "HTTP/1.1 200 OK"
	[ "$(header ETag <<<"$output")" != "$verbs" ]
	run curl -s "$URL/livepage.js"
	assert_contains "$output" "// changed"
}

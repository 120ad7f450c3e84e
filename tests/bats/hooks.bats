#!/usr/bin/env bats
# Hooks (SPEC Part two, "Hooks: the application hears its pages"): a real
# Python application (hookapp.py) answers livd's connect, input and
# presence hooks and checks every signature with Python's hmac.

load helper
load nodes

# The cluster test adds redis and two nodes to the usual livd's teardown.
teardown() {
	if [ -n "$REDIS_PORT" ]; then
		nodes_teardown
	fi
	helper_teardown
}

# app_start [PORT]: start hookapp.py; APP is its base URL.
app_start() {
	rm -f "$BATS_TEST_TMPDIR/app.port"
	(exec python3 "$BATS_TEST_DIRNAME/hookapp.py" "$SECRET" \
	    "$BATS_TEST_TMPDIR/app.log" "$BATS_TEST_TMPDIR/app.port" \
	    ${1:-}) 3>&- &
	APP_PID=$!
	bg_track "$APP_PID"
	for ((i = 0; i < 100; i++)); do
		[ -e "$BATS_TEST_TMPDIR/app.port" ] && break
		sleep 0.05
	done
	APP="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/app.port")"
}

# Start the app, then livd with auth: hook, every hook at the app, a
# verb post (forward: true) and the config lines given.
start_hooked() {
	SECRET="$BATS_TEST_TMPDIR/secret"
	(umask 077 && head -c 32 /dev/urandom | base64 >"$SECRET")
	app_start
	verbs=$(verbs_with <<'V'
post:
  args: [text]
  forward: true
V
)
	{
		printf 'secret_file: %s\nverbs: %s\nauth: hook\n' "$SECRET" \
		    "$verbs"
		printf 'max_api_body: 256K\n'
		printf 'hooks:\n  connect: %s/connect\n  input: %s/input\n' \
		    "$APP" "$APP"
		printf '  presence: %s/presence\n  timeout: 1\n' "$APP"
		printf '%s\n' "$@"
	} >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
}

# hconnect COOKIE [LOCATION]: POST /connect with that Cookie.
hconnect() {
	http POST /connect -H "Cookie: $1" --data-urlencode \
	    "location=${2:-/board}"
}

app_log() {
	cat "$BATS_TEST_TMPDIR/app.log"
}

@test "livd -t refuses auth: hook without hooks.connect, and hooks without a secret_file" {
	printf 'auth: hook\n' >"$BATS_TEST_TMPDIR/a.yaml"
	run "$LIVD" -t -c "$BATS_TEST_TMPDIR/a.yaml"
	assert_status 1
	assert_contains "$output" "auth: hook needs hooks.connect"
	printf 'hooks:\n  presence: http://127.0.0.1:1/p\n' >"$BATS_TEST_TMPDIR/b.yaml"
	run "$LIVD" -t -c "$BATS_TEST_TMPDIR/b.yaml"
	assert_status 1
	assert_contains "$output" "hooks need a secret_file"
	printf 'hooks:\n  conect: http://x/\n' >"$BATS_TEST_TMPDIR/c.yaml"
	run "$LIVD" -t -c "$BATS_TEST_TMPDIR/c.yaml"
	assert_status 1
	assert_contains "$output" "c.yaml:2: unknown key 'hooks.conect'"
	printf 'hooks:\n  input: ftp://x/\n' >"$BATS_TEST_TMPDIR/d.yaml"
	run "$LIVD" -t -c "$BATS_TEST_TMPDIR/d.yaml"
	assert_status 1
	assert_contains "$output" "hooks.input must be an http:// or https:// URL"
}

@test "connect hook: the application's answer decides principal and locations; 401 reaches the page" {
	start_hooked
	run hconnect "user=alice"
	assert_eq "${lines[0]}" 200
	printf '%s' "${lines[1]}" | jassert 'd["principal"] == "alice" and d["locations"] == ["/board"]'
	run hconnect "locs=/a,/b"
	assert_eq "${lines[0]}" 200
	printf '%s' "${lines[1]}" | jassert 'd["principal"] == "multi" and d["locations"] == ["/a", "/b"]'
	run hconnect "nobody"
	assert_eq "${lines[0]}" 401
	assert_eq "${lines[1]}" '{"error":"refused by the application"}'
	# What the application heard, signed.
	app_log | head -1 | jassert 'd["path"] == "/connect" and d["sig"] and d["type"] == "application/json" and d["body"] == {"locations": ["/board"], "headers": {"cookie": "user=alice"}, "remote_addr": "127.0.0.1"}'
	run bash -c "grep -c '\"sig\": false' '$BATS_TEST_TMPDIR/app.log'"
	assert_eq "$output" 0
}

@test "connect hook faults: 500, garbage, app down, an unresolvable URL: 503 application unreachable" {
	start_hooked
	run hconnect boom
	assert_eq "${lines[0]}" 503
	assert_eq "${lines[1]}" '{"error":"application unreachable"}'
	run hconnect garbage
	assert_eq "${lines[0]}" 503
	kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true
	run hconnect user=alice
	assert_eq "${lines[0]}" 503
	sed -i "s|connect: .*|connect: http://nonexistent.invalid/connect|" "$BATS_TEST_TMPDIR/livd.yaml"
	livctl reload
	run hconnect user=alice
	assert_eq "${lines[0]}" 503
	# One log line for the burst.
	assert_eq "$(grep -c 'hook connect: failing' "$BATS_TEST_TMPDIR/livd.log")" 1
	run livctl status
	assert_contains "$output" "hooks.connect.state: failing"
}

@test "input hook: forward: true goes to the application, its send lines run, its 4xx reaches the page" {
	start_hooked
	a=$(hconnect user=alice | tail -1 | jget 'd["uuid"]')
	b=$(hconnect user=bob | tail -1 | jget 'd["uuid"]')
	run input "$a" verb=post 'text=<b>hi</b>'
	assert_eq "${lines[0]}" 200
	output "$b" | jassert '[(e["verb"], e["html"]) for e in d["events"]] == [("append", "<b>hi</b>")]'
	grep '"/input"' "$BATS_TEST_TMPDIR/app.log" | head -1 | jassert 'd["sig"] and d["body"] == {"uuid": "'"$a"'", "principal": "alice", "location": "/board", "verb": "post", "text": "<b>hi</b>"}'
	run input "$a" verb=post text=
	assert_eq "${lines[0]}" 400
	assert_eq "${lines[1]}" '{"error":"empty post"}'
	# A line that fails is logged and counted; the page gets 200.
	run input "$a" verb=post text=badverb
	assert_eq "${lines[0]}" 200
	grep -q "hook input: a line of the application's answer failed: .*unknown verb 'special'" "$BATS_TEST_TMPDIR/livd.log"
	livctl -j stats | jassert 'd["hooks"]["line_errors"] == 1'
	# The rules of POST /input come first: a missing argument never leaves.
	run input "$a" verb=post
	assert_eq "${lines[0]}" 400
}

@test "input hook faults: 500 and an answer over max_api_body: 502; past timeout: 504, and only that page waits" {
	start_hooked
	a=$(hconnect user=alice | tail -1 | jget 'd["uuid"]')
	b=$(hconnect user=bob | tail -1 | jget 'd["uuid"]')
	run input "$a" verb=post text=boom
	assert_eq "${lines[0]}" 502
	assert_eq "${lines[1]}" '{"error":"application error"}'
	run input "$a" verb=post text=big
	assert_eq "${lines[0]}" 502
	input "$a" verb=post text=slow >"$BATS_TEST_TMPDIR/slow.out" &
	slow=$!
	sleep 0.2
	# Meanwhile another page is served at once.
	t0=$(now)
	run input "$b" verb=post text=quick
	assert_eq "${lines[0]}" 200
	elapsed_between "$(now)" "$t0" 0 0.5
	wait "$slow"
	assert_eq "$(head -1 "$BATS_TEST_TMPDIR/slow.out")" 504
	assert_eq "$(tail -1 "$BATS_TEST_TMPDIR/slow.out")" '{"error":"application timeout"}'
	metrics_file="$BATS_TEST_TMPDIR/m"
	curl -s "$URL/metrics" >"$metrics_file"
	python3 "$BATS_TEST_DIRNAME/promcheck.py" format "$metrics_file"
	assert_eq "$(python3 "$BATS_TEST_DIRNAME/promcheck.py" get "$metrics_file" 'livd_hook_requests_total{hook="input",status="timeout"}')" 1
	assert_eq "$(python3 "$BATS_TEST_DIRNAME/promcheck.py" get "$metrics_file" 'livd_hook_requests_total{hook="input",status="500"}')" 1
	assert_eq "$(python3 "$BATS_TEST_DIRNAME/promcheck.py" get "$metrics_file" 'livd_hook_seconds_count{hook="input"}')" 4
}

@test "a reload that changes the hooks while a request is in flight: it ends, and the next uses the new URL" {
	start_hooked
	a=$(hconnect user=alice | tail -1 | jget 'd["uuid"]')
	input "$a" verb=post text=slow >"$BATS_TEST_TMPDIR/slow.out" &
	slow=$!
	sleep 0.2
	sed -i "s|input: .*|input: http://127.0.0.1:1/input|" "$BATS_TEST_TMPDIR/livd.yaml"
	livctl reload
	wait "$slow"
	assert_eq "$(head -1 "$BATS_TEST_TMPDIR/slow.out")" 504
	run input "$a" verb=post text=x
	assert_eq "${lines[0]}" 502
	assert_eq "${lines[1]}" '{"error":"application unreachable"}'
}

@test "presence hook: joins and leaves in order, batched, and none lost across an application restart" {
	start_hooked
	a=$(hconnect user=alice | tail -1 | jget 'd["uuid"]')
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c '"/presence"' "$BATS_TEST_TMPDIR/app.log")" -ge 1 ] && break
		sleep 0.05
	done
	port=$(cat "$BATS_TEST_TMPDIR/app.port")
	kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true
	b=$(livctl connect -l /board -p bob)
	curl -s -X POST "$URL/client/$b/close" >/dev/null
	curl -s -X POST "$URL/client/$a/close" >/dev/null
	sleep 1
	app_start "$port"
	for ((i = 0; i < 240; i++)); do
		n=$(grep -h '"/presence"' "$BATS_TEST_TMPDIR/app.log" | python3 -c '
import json, sys
print(sum(len(json.loads(l)["body"]["events"]) for l in sys.stdin))')
		[ "$n" -ge 4 ] && break
		sleep 0.05
	done
	grep -h '"/presence"' "$BATS_TEST_TMPDIR/app.log" | python3 -c '
import json, sys
ev = [e for l in sys.stdin for e in json.loads(l)["body"]["events"]]
got = [(e["type"], e["principal"], e["location"]) for e in ev]
want = [("join", "alice", "/board"), ("join", "bob", "/board"),
        ("leave", "bob", "/board"), ("leave", "alice", "/board")]
assert got == want, got
'
	grep -q 'hook presence: failing' "$BATS_TEST_TMPDIR/livd.log"
	grep -q 'hook presence: answering again' "$BATS_TEST_TMPDIR/livd.log"
}

@test "presence hook: a full queue drops new events and counts them" {
	start_hooked '  queue_limit: 3'
	kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true
	for p in p1 p2 p3 p4 p5; do
		livctl connect -l /q -p "$p" >/dev/null
	done
	livctl -j stats | jassert 'd["hooks"]["dropped"] == 2'
	curl -s "$URL/metrics" | grep -qx 'livd_hook_dropped_total 2'
	grep -q 'hook presence: the queue is full' "$BATS_TEST_TMPDIR/livd.log"
}

@test "connect hook on GET /stream: the application's cookie session names the principal; a refusal reaches the request" {
	start_hooked
	curl -s -N --max-time 30 -H 'Cookie: user=carol' \
	    "$URL/stream?location=/board&format=htmx" \
	    >"$BATS_TEST_TMPDIR/s.out" 2>/dev/null </dev/null 3>&- &
	bg_track $!
	for ((i = 0; i < 100; i++)); do
		livctl clients | grep -q carol && break
		sleep 0.05
	done
	run livctl clients
	assert_contains "$output" "carol"
	livctl send -l /board append board '<li>for carol</li>'
	for ((i = 0; i < 100; i++)); do
		grep -q 'for carol' "$BATS_TEST_TMPDIR/s.out" && break
		sleep 0.05
	done
	assert_contains "$(cat "$BATS_TEST_TMPDIR/s.out")" "data: <li>for carol</li>"
	grep '"/connect"' "$BATS_TEST_TMPDIR/app.log" | head -1 | jassert 'd["sig"] and d["body"]["locations"] == ["/board"] and d["body"]["headers"] == {"cookie": "user=carol"}'
	run http GET "/stream?location=/board" -H 'Cookie: nobody'
	assert_eq "${lines[0]}" 401
	assert_eq "${lines[1]}" '{"error":"refused by the application"}'
	run http GET "/stream?location=/board" -H 'Cookie: boom'
	assert_eq "${lines[0]}" 503
	assert_eq "${lines[1]}" '{"error":"application unreachable"}'
}

@test "input hook over a WebSocket: each frame answered in order, the application's refusal as a frame" {
	start_hooked
	a=$(hconnect user=alice | tail -1 | jget 'd["uuid"]')
	# The slow one (504 after the 1 s timeout) is answered before the
	# quick refusal sent after it, and the append after both.
	run python3 "$BATS_TEST_DIRNAME/wsclient.py" "$PORT" "$a" session \
	    '{"verb": "post", "text": "slow"}' '{"verb": "post", "text": ""}' \
	    '{"verb": "nope"}' recv recv recv
	assert_lines "subprotocol None" \
	    '{"error":"application timeout","status":504}' \
	    '{"error":"empty post","status":400}' \
	    "{\"error\":\"unknown verb 'nope'\",\"status\":400}" \
	    "closed 1000"
	run python3 "$BATS_TEST_DIRNAME/wsclient.py" "$PORT" "$a" session \
	    '{"verb": "post", "text": "over ws"}' recv recv
	assert_contains "$output" '{"status":200}'
	assert_contains "$output" '"html":"over ws"'
	grep '"/input"' "$BATS_TEST_TMPDIR/app.log" | tail -1 | jassert 'd["sig"] and d["body"]["verb"] == "post" and d["body"]["text"] == "over ws" and d["body"]["uuid"] == "'"$a"'"'
}

@test "presence hook in a cluster: a page on node 2 has its join and leave posted once" {
	SECRET="$BATS_TEST_TMPDIR/secret"
	(umask 077 && head -c 32 /dev/urandom | base64 >"$SECRET")
	app_start
	redis_start
	for n in 1 2; do
		node_start "$n" "secret_file: $SECRET" \
		    "hooks:" "  presence: $APP/presence"
	done
	read -r u _ < <(node_connect 2 /board carol)
	curl -s -X POST "$(node_url 2)/client/$u/close" >/dev/null
	# Both nodes know of carol (node 1 through Redis): only node 2 posts.
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c '"leave"' "$BATS_TEST_TMPDIR/app.log")" -ge 1 ] && break
		sleep 0.05
	done
	sleep 1
	grep -h '"/presence"' "$BATS_TEST_TMPDIR/app.log" | python3 -c '
import json, sys
ev = [(e["type"], e["principal"], e["location"], e["uuid"])
      for l in sys.stdin for e in json.loads(l)["body"]["events"]]
want = [("join", "carol", "/board", "'"$u"'"),
        ("leave", "carol", "/board", "'"$u"'")]
assert ev == want, ev
'
	run bash -c "grep -c '\"sig\": false' '$BATS_TEST_TMPDIR/app.log'"
	assert_eq "$output" 0
}

#!/usr/bin/env bats
# livd behind Debian's nginx with the shipped recipe (contrib/nginx):
# every route a page uses works through it, a poll held past nginx's
# default 60 s timeout included, and the prefix variant with base "/live".

load helper

# Start nginx in front of livd ($PORT) on a free port of its own, the
# server block including contrib/nginx/$1; sets NGINX_URL.
nginx_start() {
	local snippet=$1 dir="$BATS_TEST_TMPDIR/nginx" f nport i
	command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
	mkdir -p "$dir/snippets" "$dir/logs" "$dir/tmp"
	for f in livd.conf livd-prefix.conf livd-proxy.conf; do
		sed "s/127\.0\.0\.1:8088/127.0.0.1:$PORT/" \
		    "$ROOT/contrib/nginx/$f" >"$dir/snippets/$f"
	done
	nport=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 127.0.0.1:$nport;
		include snippets/$snippet;
		location / { return 200 "the application\n"; }
	}
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" </dev/null >"$dir/logs/out" 2>&1 3>&- &
	bg_track $!
	NGINX_URL="http://127.0.0.1:$nport"
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null "$NGINX_URL/" && return 0
		sleep 0.05
	done
	cat "$dir/logs/error.log" "$dir/logs/out" >&2
	return 1
}

@test "proxy: connect, poll, input, close and livepage.js through nginx" {
	livd_start
	nginx_start livd.conf
	run curl -s "$NGINX_URL/"
	assert_lines "the application"
	run curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/livepage.js"
	assert_lines 200
	uuid=$(curl -s --data-urlencode location=/chat --data-urlencode principal=alice \
	    "$NGINX_URL/connect" | jget 'd["uuid"]')
	[ ${#uuid} = 32 ]
	curl -s -o "$BATS_TEST_TMPDIR/poll" --max-time 10 \
	    "$NGINX_URL/client/$uuid/output?since=0" &
	pid=$!
	bg_track $pid
	sleep 0.3
	run curl -s -o /dev/null -w '%{http_code}' --data-urlencode verb=append \
	    --data-urlencode id=target --data-urlencode 'html=<b>hi</b>' \
	    "$NGINX_URL/client/$uuid/input"
	assert_lines 200
	wait_for $pid 10
	jassert 'd["events"][0]["verb"] == "append" and d["events"][0]["html"] == "&lt;b&gt;hi&lt;/b&gt;"' \
	    <"$BATS_TEST_TMPDIR/poll"
	run curl -s -o /dev/null -w '%{http_code}' -X POST "$NGINX_URL/client/$uuid/close"
	assert_lines 200
}

@test "proxy: Server-Sent Events reach the page at once, not when a buffer fills" {
	livd_start
	nginx_start livd.conf
	uuid=$(curl -s --data-urlencode location=/chat --data-urlencode principal=alice \
	    "$NGINX_URL/connect" | jget 'd["uuid"]')
	curl -s -N --max-time 10 "$NGINX_URL/client/$uuid/events" \
	    >"$BATS_TEST_TMPDIR/sse" &
	bg_track $!
	sleep 0.3
	livctl send -l /chat append target '<p>one small event</p>'
	for ((i = 0; i < 40; i++)); do
		grep -q 'one small event' "$BATS_TEST_TMPDIR/sse" && break
		sleep 0.05
	done
	grep -q 'one small event' "$BATS_TEST_TMPDIR/sse"
}

@test "proxy: a poll held longer than nginx's default 60 s is answered idle, not 504" {
	livd_start -r 62
	nginx_start livd.conf
	uuid=$(curl -s --data-urlencode location=/chat --data-urlencode principal=alice \
	    "$NGINX_URL/connect" | jget 'd["uuid"]')
	start=$(now)
	run curl -s -w '\n%{http_code}' --max-time 90 "$NGINX_URL/client/$uuid/output"
	end=$(now)
	[ "${lines[1]}" = 200 ]
	echo "${lines[0]}" | jassert 'd["idle"] is True and d["refresh"] == 62'
	elapsed_between "$end" "$start" 61 75
}

@test "proxy: under a prefix, /live/... reaches livd's routes" {
	livd_start
	nginx_start livd-prefix.conf
	run curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/live/livepage.js"
	assert_lines 200
	run curl -s "$NGINX_URL/live/verbs.json"
	echo "$output" | jassert '"append" in d'
	uuid=$(curl -s --data-urlencode location=/chat --data-urlencode principal=alice \
	    "$NGINX_URL/live/connect" | jget 'd["uuid"]')
	livctl send -l /chat append target '<p>x</p>'
	curl -s --max-time 5 "$NGINX_URL/live/client/$uuid/output?since=0" |
	    jassert 'd["events"][0]["html"] == "<p>x</p>"'
}

@test "proxy: POST /api through nginx, and the client's address from X-Forwarded-For" {
	local secret="$BATS_TEST_TMPDIR/secret" token
	(umask 077 && head -c 32 /dev/urandom | base64 >"$secret")
	printf 'auth: token\nsecret_file: %s\nlog_level: debug\ntrusted_proxies: [127.0.0.1]\n' \
	    "$secret" >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml"
	nginx_start livd.conf
	token=$(livctl token --cmds send,who)
	# The page connects through nginx from "203.0.113.7": nginx appends
	# its own peer (127.0.0.1), which livd trusts, so the client is the
	# address before it.
	uuid=$(curl -s -H 'X-Forwarded-For: 203.0.113.7' \
	    -d location=/chat -d token="$(livctl token -l /chat -p alice)" \
	    "$NGINX_URL/connect" | jget 'd["uuid"]')
	[ ${#uuid} = 32 ]
	grep -q "client $uuid from 203.0.113.7" "$BATS_TEST_TMPDIR/livd.log"
	printf '%s\n' \
	    '{"cmd":"send","location":"/chat","verb":"append","id":"t","html":"<p>via nginx</p>"}' \
	    '{"cmd":"who","location":"/chat"}' >"$BATS_TEST_TMPDIR/body"
	run curl -s -w '\n%{http_code}' -H "Authorization: Bearer $token" \
	    -H 'Content-Type: application/x-ndjson' \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "$NGINX_URL/api"
	echo "$output"
	[ "${#lines[@]}" = 3 ]
	[ "${lines[2]}" = 200 ]
	echo "${lines[0]}" | jassert 'd["ok"] is True and d["reached"] == 1'
	echo "${lines[1]}" | jassert 'd["ok"] is True and d["principals"] == ["alice"]'
	curl -s --max-time 5 "$NGINX_URL/client/$uuid/output?since=0" |
	    jassert 'd["events"][0]["html"] == "<p>via nginx</p>"'
	# Without a token nginx passes livd's 401 through, unchanged.
	run curl -s -w '\n%{http_code}' --data-binary @"$BATS_TEST_TMPDIR/body" \
	    "$NGINX_URL/api"
	[ "${lines[1]}" = 401 ]
	echo "${lines[0]}" | jassert 'd["error"] == "missing token"'
}

@test "proxy: a WebSocket works through nginx: events, input, pings, close" {
	livd_start -r 1
	nginx_start livd.conf
	uuid=$(curl -s --data-urlencode location=/chat --data-urlencode principal=alice \
	    "$NGINX_URL/connect" | jget 'd["uuid"]')
	[ ${#uuid} = 32 ]
	ws=(python3 "$BATS_TEST_DIRNAME/wsclient.py" "${NGINX_URL##*:}" "$uuid")
	run "${ws[@]}" session -p livd.v1 \
	    '{"verb": "append", "id": "log", "html": "<b>hi</b>"}' recv recv ping
	assert_status 0
	assert_eq "${lines[0]}" "subprotocol livd.v1"
	assert_eq "${lines[1]}" '{"status":200}'
	printf '%s' "${lines[2]}" | jassert '[e["html"] for e in d["events"]] == ["&lt;b&gt;hi&lt;/b&gt;"]'
	assert_eq "${lines[3]}" pong
	assert_eq "${lines[4]}" "closed 1000"
	# livd's pings come through and are answered: the socket stays.
	run timeout 10 "$PYTHON" "$BATS_TEST_DIRNAME/wsclient.py" "${NGINX_URL##*:}" "$uuid" raw pings 2
	assert_lines "pings 2"
}

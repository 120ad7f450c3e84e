#!/usr/bin/env bats
# The browser side: every HTTP route of SPEC.md, its answers and errors.

load helper

# Is the body a JSON error object {"error": "..."}?
is_error_json() {
	jassert 'isinstance(d, dict) and isinstance(d.get("error"), str) and d["error"] != ""'
}

@test "GET /demo/ANY: the seed's demo LivePage" {
	livd_start
	run curl -s -D "$BATS_TEST_TMPDIR/head" -o "$BATS_TEST_TMPDIR/body" \
	    -w '%{http_code}' "$URL/demo/chat"
	assert_lines 200
	grep -qi '^content-type: text/html' "$BATS_TEST_TMPDIR/head"
	body=$(cat "$BATS_TEST_TMPDIR/body")
	assert_contains "$body" '<p id="target">Text goes here:</p>'
	assert_contains "$body" '<input'
	assert_contains "$body" 'append'
	assert_contains "$body" 'target'
	assert_contains "$body" 'livepage.js'
}

@test "GET /demo/ANY: any path under /demo/ is a demo page" {
	livd_start
	for p in /demo/ /demo/x /demo/a/b/c; do
		run curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' "$URL$p"
		assert_lines 200
		grep -qF '<p id="target">Text goes here:</p>' "$BATS_TEST_TMPDIR/body"
	done
}

@test "GET /livepage.js: the client script" {
	livd_start
	run curl -s -D "$BATS_TEST_TMPDIR/head" -o "$BATS_TEST_TMPDIR/body" \
	    -w '%{http_code}' "$URL/livepage.js"
	assert_lines 200
	grep -qi '^content-type: .*javascript' "$BATS_TEST_TMPDIR/head"
	[ -s "$BATS_TEST_TMPDIR/body" ]
}

@test "GET /verbs.json: the shipped verbs table as JSON" {
	livd_start
	run http GET /verbs.json
	[ "${lines[0]}" = 200 ]
	printf '%s' "$output" | sed 1d | python3 -c '
import json, sys
d = json.load(sys.stdin)
exp = {
  "append":  (["id", "html"], "beforeend", True, "id", False),
  "prepend": (["id", "html"], "afterbegin", False, "id", False),
  "before":  (["id", "html"], "beforebegin", False, "id", False),
  "after":   (["id", "html"], "afterend", False, "id", False),
  "update":  (["id", "html"], "inner", False, "content", True),
  "replace": (["id", "html"], "outer", False, "content", True),
  "text":    (["id", "text"], "text", False, "content", True),
  "attr":    (["id", "name", "value"], "attr", False, "content", False),
  "remove":  (["id"], "remove", False, None, False),
  "reload":  ([], "reload", False, None, False),
  "change":  (["argument"], None, True, None, False),
}
bad = []
for verb, (args, dom, fc, dedupe, coalesce) in exp.items():
    v = d.get(verb)
    if not isinstance(v, dict):
        bad.append("%s missing" % verb); continue
    if v.get("args") != args: bad.append("%s args %r" % (verb, v.get("args")))
    if v.get("dom") != dom: bad.append("%s dom %r" % (verb, v.get("dom")))
    if bool(v.get("from_client")) != fc: bad.append("%s from_client %r" % (verb, v.get("from_client")))
    got = v.get("dedupe")
    if dedupe is None:
        if got not in (None, False, "", "none"): bad.append("%s dedupe %r" % (verb, got))
    elif got != dedupe: bad.append("%s dedupe %r" % (verb, got))
    if bool(v.get("coalesce")) != coalesce: bad.append("%s coalesce %r" % (verb, v.get("coalesce")))
if d["append"].get("scope", "location") != "location": bad.append("append scope")
if bad:
    print("\n".join(bad)); sys.exit(1)
'
}

@test "GET /verbs.json: follows the verbs file given with -V" {
	cat >"$BATS_TEST_TMPDIR/verbs.yaml" <<-'YAML'
	ping:
	  args: [x, y]
	shout:
	  args: [id, html]
	  dom: beforeend
	  from_client: true
	  scope: all
	  raw: true
	YAML
	livd_start -V "$BATS_TEST_TMPDIR/verbs.yaml"
	curl -s "$URL/verbs.json" | jassert '
sorted(d) == ["ping", "shout"] and d["ping"]["args"] == ["x", "y"]
and d["ping"].get("dom") is None and not d["ping"].get("from_client")
and d["shout"]["args"] == ["id", "html"] and d["shout"]["dom"] == "beforeend"
and d["shout"]["from_client"] is True and d["shout"]["scope"] == "all"
and d["shout"]["raw"] is True'
}

@test "POST /connect: answers uuid, location, principal, refresh and seq" {
	livd_start
	run http POST /connect --data-urlencode location=/chat \
	    --data-urlencode principal=zorg.member.uwe
	[ "${lines[0]}" = 200 ]
	printf '%s' "$output" | sed 1d | jassert '
isinstance(d, dict)
and isinstance(d["uuid"], str) and len(d["uuid"]) == 32
and all(c in "0123456789abcdef" for c in d["uuid"])
and d["location"] == "/chat" and d["principal"] == "zorg.member.uwe"
and d["refresh"] == 25 and isinstance(d["seq"], int) and d["seq"] >= 0'
}

@test "POST /connect: refresh is the interval in force" {
	livd_start -r 0.5
	curl -s -d location=/a -d principal=p "$URL/connect" | jassert 'd["refresh"] == 0.5'
	livctl refresh -l /b 0.25
	curl -s -d location=/b -d principal=p "$URL/connect" | jassert 'd["refresh"] == 0.25'
}

@test "POST /connect: every uuid is new, 32 lowercase hex digits" {
	livd_start
	for i in 1 2 3 4 5 6 7 8; do
		connect /chat uwe
	done >"$BATS_TEST_TMPDIR/uuids"
	[ "$(grep -cE '^[0-9a-f]{32}$' "$BATS_TEST_TMPDIR/uuids")" = 8 ]
	[ "$(sort -u "$BATS_TEST_TMPDIR/uuids" | wc -l)" = 8 ]
}

@test "POST /connect: a missing location or principal is 400 with an error object" {
	livd_start
	run http POST /connect -d principal=uwe
	[ "${lines[0]}" = 400 ]
	printf '%s' "$output" | sed 1d | is_error_json
	run http POST /connect -d location=/chat
	[ "${lines[0]}" = 400 ]
	printf '%s' "$output" | sed 1d | is_error_json
	run http POST /connect -d ''
	[ "${lines[0]}" = 400 ]
	printf '%s' "$output" | sed 1d | is_error_json
	run livctl who
	assert_lines
}

@test "POST /connect: seq is the new client's cursor; it receives only events sent after it" {
	livd_start -r 0.3
	old=$(connect /chat early)
	livctl send -l /chat append target before
	livctl send append target before-all
	body=$(curl -s -d location=/chat -d principal=uwe "$URL/connect")
	u=$(printf '%s' "$body" | jget 'd["uuid"]')
	seq=$(printf '%s' "$body" | jget 'd["seq"]')
	run livctl -j send -l /chat append target after
	assert_status 0
	after=$(printf '%s' "$output" | jget 'd["seq"]')
	[ "$after" -gt "$seq" ]
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["after"]'
	output "$u" "since=$seq" | jassert '[e["html"] for e in d["events"]] == ["after"]'
}

@test "output: answers at once when events with seq > since are queued" {
	livd_start
	u=$(connect /chat uwe)
	livctl send -c "$u" append target '<p>42</p>'
	t0=$(now)
	body=$(output "$u")
	t1=$(now)
	elapsed_between "$t1" "$t0" 0 2
	printf '%s' "$body" | jassert '
set(d) == {"seq", "refresh", "events"} or (set(d) == {"seq", "refresh", "events", "idle"} and d["idle"] is False)'
	printf '%s' "$body" | jassert '
len(d["events"]) == 1 and set(d["events"][0]) == {"seq", "verb", "id", "html"}
and d["events"][0]["verb"] == "append" and d["events"][0]["id"] == "target"
and d["events"][0]["html"] == "<p>42</p>" and isinstance(d["events"][0]["seq"], int)
and d["seq"] >= d["events"][0]["seq"] and d["refresh"] == 25'
}

@test "output: holds the poll until an event arrives" {
	livd_start
	u=$(connect /chat uwe)
	poll_bg p1 "$u"
	sleep 0.4
	running "$BG_PID"
	livctl send -l /chat append target '<p>late</p>'
	wait_for "$BG_PID" 2
	[ "$(cat "$BATS_TEST_TMPDIR/p1.code")" = 200 ]
	jassert '[e["html"] for e in d["events"]] == ["<p>late</p>"] and not d.get("idle")' \
	    <"$BATS_TEST_TMPDIR/p1.body"
}

@test "output: with nothing pending, answers idle once the refresh interval passes" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	t0=$(now)
	body=$(output "$u")
	t1=$(now)
	elapsed_between "$t1" "$t0" 0.25 2
	printf '%s' "$body" | jassert '
set(d) == {"seq", "refresh", "events", "idle"} and d["events"] == []
and d["idle"] is True and d["refresh"] == 0.3 and isinstance(d["seq"], int)'
}

@test "output: S is at least every event's seq; events come in increasing seq order" {
	livd_start -r 0.3
	u=$(connect /a uwe)
	v=$(connect /b dominik)
	livctl send -l /a append target 1
	livctl send -l /b append target x
	livctl send -c "$u" append target 2
	livctl send -p uwe append target 3
	livctl send append target 4
	body=$(output "$u")
	printf '%s' "$body" | jassert '
[e["html"] for e in d["events"]] == ["1", "2", "3", "4"]
and all(a["seq"] < b["seq"] for a, b in zip(d["events"], d["events"][1:]))
and d["seq"] >= max(e["seq"] for e in d["events"])'
	# seq is livd-wide: the event sent to /b lies between 1 and 2.
	xs=$(output "$v" | jget 'd["events"][0]["seq"]')
	s1=$(printf '%s' "$body" | jget 'd["events"][0]["seq"]')
	s2=$(printf '%s' "$body" | jget 'd["events"][1]["seq"]')
	[ "$s1" -lt "$xs" ] && [ "$xs" -lt "$s2" ]
}

@test "output: since=S acknowledges every returned event" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	livctl send -l /chat append target 1
	livctl send -l /chat append target 2
	s=$(output "$u" | jget 'd["seq"]')
	output "$u" "since=$s" | jassert 'd["events"] == [] and d["idle"] is True and d["seq"] >= '"$s"
	livctl send -l /chat append target 3
	output "$u" "since=$s" | jassert '[e["html"] for e in d["events"]] == ["3"]'
}

@test "output: events stay queued until a later poll's since acknowledges them" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	livctl send -l /chat append target 1
	livctl send -c "$u" append target 2
	first=$(output "$u")
	# The answer is "lost": the same poll again gets the same events.
	second=$(output "$u")
	printf '%s' "$first" | jassert '[e["html"] for e in d["events"]] == ["1", "2"]'
	assert_eq "$(printf '%s' "$second" | jget '[(e["seq"], e["html"]) for e in d["events"]]')" \
	    "$(printf '%s' "$first" | jget '[(e["seq"], e["html"]) for e in d["events"]]')"
	s1=$(printf '%s' "$first" | jget 'd["events"][0]["seq"]')
	s=$(printf '%s' "$first" | jget 'd["seq"]')
	# Acknowledging the first leaves the second; without since, all
	# that is still queued is sent.
	output "$u" "since=$s1" | jassert '[e["html"] for e in d["events"]] == ["2"]'
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["2"]'
	output "$u" "since=$s" | jassert 'd["events"] == [] and d["idle"] is True'
	output "$u" | jassert 'd["events"] == [] and d["idle"] is True'
}

@test "output: refresh in every answer is the interval now in force (livctl refresh)" {
	livd_start -r 0.4
	u=$(connect /chat uwe)
	output "$u" | jassert 'd["refresh"] == 0.4'
	livctl refresh 0.2
	t0=$(now)
	body=$(output "$u")
	t1=$(now)
	printf '%s' "$body" | jassert 'd["refresh"] == 0.2 and d["idle"] is True'
	elapsed_between "$t1" "$t0" 0.15 1.5
	livctl send -l /chat append target x
	output "$u" | jassert 'd["refresh"] == 0.2 and len(d["events"]) == 1'
}

@test "output: refresh -l LOCATION reaches only the pages at that location" {
	livd_start -r 0.4
	a=$(connect /a uwe)
	b=$(connect /b uwe)
	livctl refresh -l /a 0.2
	output "$a" | jassert 'd["refresh"] == 0.2'
	output "$b" | jassert 'd["refresh"] == 0.4'
	livctl refresh 0.3
	output "$a" | jassert 'd["refresh"] == 0.2'
	output "$b" | jassert 'd["refresh"] == 0.3'
}

@test "output: refresh -u -l LOCATION drops the location's own interval" {
	livd_start -r 0.4
	a=$(connect /a uwe)
	livctl refresh -l /a 0.2
	output "$a" | jassert 'd["refresh"] == 0.2'
	run livctl refresh -u -l /a
	assert_status 0
	assert_eq "$output" 0.4
	output "$a" | jassert 'd["refresh"] == 0.4'
	livctl refresh 0.3
	output "$a" | jassert 'd["refresh"] == 0.3'
	# a location that never had its own: nothing to drop, no error
	run livctl refresh -u -l /elsewhere
	assert_status 0
	assert_eq "$output" 0.3
	for bad in "-u" "-u -l /a 5"; do
		# shellcheck disable=SC2086
		run --separate-stderr livctl refresh $bad
		assert_status 1
		assert_eq "$stderr" "livctl: refresh -u takes -l LOCATION and no SECONDS"
	done
	run livctl refresh
	assert_eq "$output" 0.3
}

@test "output: a second poll on the same uuid releases the first with an idle answer" {
	livd_start
	u=$(connect /chat uwe)
	poll_bg p1 "$u"
	p1=$BG_PID
	sleep 0.3
	running "$p1"
	poll_bg p2 "$u"
	p2=$BG_PID
	wait_for "$p1" 2
	[ "$(cat "$BATS_TEST_TMPDIR/p1.code")" = 200 ]
	jassert 'd["events"] == [] and d["idle"] is True' <"$BATS_TEST_TMPDIR/p1.body"
	running "$p2"
	livctl send -c "$u" append target x
	wait_for "$p2" 2
	jassert '[e["html"] for e in d["events"]] == ["x"]' <"$BATS_TEST_TMPDIR/p2.body"
}

@test "output, input and close: an unknown uuid is 404 with an error object" {
	livd_start
	for u in "$NOUUID" nonsense; do
		run http GET "/client/$u/output"
		[ "${lines[0]}" = 404 ]
		printf '%s' "$output" | sed 1d | is_error_json
		run http GET "/client/$u/output?since=1"
		[ "${lines[0]}" = 404 ]
		run http POST "/client/$u/input" -d verb=append -d id=t -d html=x
		[ "${lines[0]}" = 404 ]
		printf '%s' "$output" | sed 1d | is_error_json
		run http POST "/client/$u/close"
		[ "${lines[0]}" = 404 ]
		printf '%s' "$output" | sed 1d | is_error_json
	done
}

@test "input: 200 with an empty body; the event goes to the verb's scope" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	v=$(connect /chat dominik)
	w=$(connect /other uwe)
	run curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' \
	    -d verb=append -d id=target -d html=hi "$URL/client/$u/input"
	assert_lines 200
	[ ! -s "$BATS_TEST_TMPDIR/body" ]
	output "$u" | jassert '[(e["verb"], e["id"], e["html"]) for e in d["events"]] == [("append", "target", "hi")]'
	output "$v" | jassert '[(e["verb"], e["id"], e["html"]) for e in d["events"]] == [("append", "target", "hi")]'
	output "$w" | jassert 'd["events"] == [] and d["idle"] is True'
}

@test "close: the client leaves at once, its held poll is answered idle, its uuid is gone" {
	livd_start
	u=$(connect /chat uwe)
	v=$(connect /chat dominik)
	poll_bg p1 "$u"
	sleep 0.3
	running "$BG_PID"
	run curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' -X POST \
	    "$URL/client/$u/close"
	assert_lines 200
	wait_for "$BG_PID" 2
	[ "$(cat "$BATS_TEST_TMPDIR/p1.code")" = 200 ]
	jassert 'd["events"] == [] and d["idle"] is True' <"$BATS_TEST_TMPDIR/p1.body"
	run livctl who /chat
	assert_lines dominik
	run http GET "/client/$u/output"
	[ "${lines[0]}" = 404 ]
	run http POST "/client/$u/close"
	[ "${lines[0]}" = 404 ]
	run livctl clients
	[ "${#lines[@]}" = 1 ]
	assert_contains "$output" "$v"
}

@test "errors are 4xx with a JSON object {\"error\": ...}: unknown path" {
	livd_start
	run http GET /no/such/thing
	[ "${lines[0]}" = 404 ]
	printf '%s' "$output" | sed 1d | is_error_json
}

@test "JSON bodies are UTF-8: non-ASCII text travels unchanged" {
	livd_start -r 0.2
	u=$(connect /chat uwe)
	livctl send -l /chat append target 'Grüße, € und 日本 😀'
	input "$u" verb=change 'argument=naïve café' >/dev/null
	curl -s "$URL/client/$u/output" -o "$BATS_TEST_TMPDIR/body"
	python3 -c '
import json, sys
raw = open(sys.argv[1], "rb").read()
d = json.loads(raw.decode("utf-8"))
assert isinstance(d, dict)
assert [e.get("html", e.get("argument")) for e in d["events"]] == ["Grüße, € und 日本 😀", "naïve café"], d
' "$BATS_TEST_TMPDIR/body"
}

@test "output: a first poll with since below the connect seq (a page connecting again) gets what it missed" {
	livd_start -r 0.3
	connect /chat early >/dev/null
	livctl send -l /chat append target first
	old=$(curl -s -d location=/chat -d principal=uwe "$URL/connect" | jget 'd["seq"]')
	livctl send -l /chat append target missed
	body=$(curl -s -d location=/chat -d principal=uwe "$URL/connect")
	u=$(printf '%s' "$body" | jget 'd["uuid"]')
	output "$u" "since=$old" | jassert '[e["html"] for e in d["events"]] == ["missed"]'
}

@test "output: since=0 on a new client is held and answered idle (no events, no reload)" {
	livd_start -r 0.3
	u=$(connect /fresh uwe)
	output "$u" "since=0" | jassert 'd["events"] == [] and d["idle"] is True'
}

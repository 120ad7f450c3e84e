#!/usr/bin/env bats
# Several locations per page: POST /connect with location more than once.
# The page is at each; an event to any of them reaches it once.

load helper
load nodes

# The cluster test starts redis and nodes; the others one livd.
teardown() {
	if [ -n "$REDIS_PORT" ]; then
		nodes_teardown
	else
		helper_teardown
	fi
}

config() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/livd.yaml"
	printf '%s' "$BATS_TEST_TMPDIR/livd.yaml"
}

# connect_at PRINCIPAL LOCATION... [-- FIELD=VALUE...]: the whole answer.
connect_at() {
	local principal=$1 args=() a
	shift
	for a in "$@"; do
		case $a in
		*=*) args+=(--data-urlencode "$a") ;;
		*) args+=(--data-urlencode "location=$a") ;;
		esac
	done
	curl -s --max-time 5 --data-urlencode "principal=$principal" \
	    "${args[@]}" "$URL/connect"
}

# The uuid of a page of PRINCIPAL at LOCATION...
connect_uuid() {
	connect_at "$@" | jget 'd["uuid"]'
}

@test "locations: the connect answer keeps location (the first) and adds locations in order, repeats dropped" {
	livd_start
	connect_at uwe /chat /user/uwe /chat /news | jassert '
d["location"] == "/chat" and d["locations"] == ["/chat", "/user/uwe", "/news"]
and d["principal"] == "uwe" and len(d["uuid"]) == 32
and set(d) == {"uuid", "location", "locations", "principal", "refresh", "seq"}'
	connect_at anna /solo | jassert 'd["location"] == "/solo" and d["locations"] == ["/solo"]'
}

@test "locations: an event to either location, to all, to the principal or to the client reaches the page once, in order" {
	livd_start
	u=$(connect_uuid uwe /a /b)
	o=$(connect_uuid otto /b)
	livctl send -l /a append log e1
	livctl send -l /b append log e2
	livctl send append log e3
	livctl send -p uwe append log e4
	livctl send -c "$u" append log e5
	livctl send -l /elsewhere append log e6
	output "$u" | jassert '
[e["html"] for e in d["events"]] == ["e1", "e2", "e3", "e4", "e5"]
and [e["seq"] for e in d["events"]] == sorted(set(e["seq"] for e in d["events"]))'
	output "$o" | jassert '[e["html"] for e in d["events"]] == ["e2", "e3"]'
	# An event to all counts each page once.
	livctl -j send append log e7 | jassert 'd["reached"] == 2'
}

@test "locations: a poll held by a page at two locations is woken by an event at its second" {
	livd_start -r 5
	u=$(connect_uuid uwe /a /b)
	seq=$(output "$u" | jget 'd["seq"]')
	poll_bg p "$u" "since=$seq"
	sleep 0.3
	t0=$(now)
	livctl send -l /b append log woke
	wait_for "$BG_PID" 4
	elapsed_between "$(now)" "$t0" 0 2
	assert_eq "$(cat "$BATS_TEST_TMPDIR/p.code")" 200
	jassert '[e["html"] for e in d["events"]] == ["woke"]' <"$BATS_TEST_TMPDIR/p.body"
}

@test "locations: who lists the principal at each location; clients has a line per client and location" {
	livd_start
	u=$(connect_uuid uwe /a /b)
	v=$(connect_uuid vera /b)
	run livctl who /a
	assert_lines uwe
	run livctl who /b
	assert_lines uwe vera
	curl -s "$URL/client/$u/who" | jassert 'd == {"location": "/a", "principals": ["uwe"]}'
	run livctl clients
	assert_contains "$output" "$u uwe /a"
	assert_contains "$output" "$u uwe /b"
	assert_contains "$output" "$v vera /b"
	assert_eq "$(printf '%s\n' "$output" | grep -c "$u")" 2
	run livctl clients /a
	assert_contains "$output" "$u uwe /a"
	assert_eq "$(printf '%s\n' "$output" | grep -c .)" 1
	# Closed: gone from both.
	curl -s -X POST "$URL/client/$u/close" >/dev/null
	run livctl who /a
	assert_lines
	run livctl who /b
	assert_lines vera
}

@test "locations: join and leave are per location" {
	livd_start -r 1
	wa=$(connect_uuid watcher.a /a presence=1)
	wb=$(connect_uuid watcher.b /b presence=1)
	wab=$(connect_uuid watcher.ab /a /b presence=1)
	sa=$(output "$wa" | jget 'd["seq"]')
	sb=$(output "$wb" | jget 'd["seq"]')
	sab=$(output "$wab" | jget 'd["seq"]')
	u=$(connect_uuid uwe /a /b)
	output "$wa" "since=$sa" | jassert '[(e["verb"], e["user"]) for e in d["events"]] == [("join", "uwe")]'
	output "$wb" "since=$sb" | jassert '[(e["verb"], e["user"]) for e in d["events"]] == [("join", "uwe")]'
	# At both: it hears of the join at each.
	output "$wab" "since=$sab" | jassert '[(e["verb"], e["user"]) for e in d["events"]] == [("join", "uwe"), ("join", "uwe")]'
	sa=$(output "$wa" | jget 'd["seq"]')
	sb=$(output "$wb" | jget 'd["seq"]')
	# A second page of uwe at /b only: no news at /b.
	u2=$(connect_uuid uwe /b)
	curl -s -X POST "$URL/client/$u/close" >/dev/null
	output "$wa" "since=$sa" | jassert '[(e["verb"], e["user"]) for e in d["events"]] == [("leave", "uwe")]'
	output "$wb" "since=$sb" | jassert 'd["events"] == []'
	curl -s -X POST "$URL/client/$u2/close" >/dev/null
	output "$wb" "since=$sb" | jassert '[(e["verb"], e["user"]) for e in d["events"]] == [("leave", "uwe")]'
}

@test "locations: more than max_locations (default 16) is 400; repeats do not count" {
	livd_start
	locs=()
	for i in $(seq 1 16); do locs+=("/l$i"); done
	connect_at uwe "${locs[@]}" | jassert 'len(d["locations"]) == 16'
	run http POST /connect -d principal=uwe $(printf -- '-d location=/l%s ' $(seq 1 17))
	assert_eq "${lines[0]}" 400
	printf '%s' "${lines[1]}" | jassert 'd == {"error": "too many locations (max 16)"}'
	connect_at uwe "${locs[@]}" /l1 /l2 | jassert 'len(d["locations"]) == 16'
}

@test "locations: max_locations is configurable" {
	livd_start -c "$(config 'max_locations: 2')"
	connect_at uwe /a /b /a | jassert 'd["locations"] == ["/a", "/b"]'
	run http POST /connect -d principal=uwe -d location=/a -d location=/b -d location=/c
	assert_eq "${lines[0]}" 400
	assert_contains "${lines[1]}" "too many locations (max 2)"
	run livctl clients
	assert_eq "$(printf '%s\n' "$output" | grep -c .)" 2
}

@test "locations: an input with scope location goes to the first location, or to the one named by a location field" {
	livd_start -r 1
	u=$(connect_uuid uwe /a /b)
	pa=$(connect_uuid anna /a)
	pb=$(connect_uuid bert /b)
	run input "$u" verb=append id=log html=first
	assert_eq "${lines[0]}" 200
	run input "$u" verb=append id=log html=second location=/b
	assert_eq "${lines[0]}" 200
	seq=$(output "$pa" | tee "$BATS_TEST_TMPDIR/pa" | jget 'd["seq"]')
	jassert '[e["html"] for e in d["events"]] == ["first"]' <"$BATS_TEST_TMPDIR/pa"
	output "$pb" | jassert '[e["html"] for e in d["events"]] == ["second"]'
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["first", "second"]'
	# Not one of its own: refused, and nobody hears of it.
	run input "$u" verb=append id=log html=third location=/c
	assert_eq "${lines[0]}" 403
	printf '%s' "${lines[1]}" | jassert 'd == {"error": "not one of the client'"'"'s locations"}'
	run input "$u" verb=append id=log html=x location=/a location=/b
	assert_eq "${lines[0]}" 400
	assert_contains "${lines[1]}" "duplicate field"
	# The location field is not an argument: the checks still count.
	run input "$u" verb=append id=log location=/a
	assert_eq "${lines[0]}" 400
	assert_contains "${lines[1]}" "needs argument 'html'"
	output "$pa" "since=$seq" | jassert 'd["events"] == []'
}

@test "locations: a restart with state_file keeps every location of a page" {
	state="$BATS_TEST_TMPDIR/state.json"
	cfg=$(config "state_file: $state")
	livd_start -r 1 -c "$cfg"
	u=$(connect_uuid uwe /a /b)
	seq=$(output "$u" | jget 'd["seq"]')
	livctl send -l /b append log before
	livd_stop
	livd_start -r 1 -c "$cfg"
	run livctl clients
	assert_contains "$output" "$u uwe /a"
	assert_contains "$output" "$u uwe /b"
	run livctl who /b
	assert_lines uwe
	livctl send -l /a append log after.a
	livctl send -l /b append log after.b
	livctl send append log after.all
	output "$u" "since=$seq" | jassert '[e["html"] for e in d["events"]] == ["before", "after.a", "after.b", "after.all"]'
}

@test "locations: in a cluster, events sent on one node reach a page at two locations on another once" {
	redis_start
	node_start 1
	node_start 2
	url2=$(node_url 2)
	read -r u seq < <(curl -s -d location=/a -d location=/b -d principal=uwe \
	    "$url2/connect" | jget 'd["uuid"] + " " + str(d["seq"])')
	n 1 send -l /a append log e1
	n 1 send -l /b append log e2
	n 1 send append log e3
	n 1 send -p uwe append log e4
	node_poll 2 "$u" "$seq" | jassert '[e["html"] for e in d["events"]] == ["e1", "e2", "e3", "e4"]'
	run n 1 who /b
	assert_lines uwe
	run n 1 clients
	assert_contains "$output" "$u uwe /a"
	assert_contains "$output" "$u uwe /b"
}

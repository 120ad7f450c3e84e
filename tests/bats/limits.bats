#!/usr/bin/env bats
# Bounded queues (queue_limit: one reload event), coalescing, and the
# HTTP size limits (max_body: 413, headers over 8 KiB: 431).

load helper

config() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/livd.yaml"
	printf '%s' "$BATS_TEST_TMPDIR/livd.yaml"
}

send_n() {
	local target=$1 n=$2 i
	for ((i = 1; i <= n; i++)); do
		echo "append log e$i"
	done | livctl send $target -
}

@test "queue_limit: a client within the limit gets every event" {
	livd_start -r 0.3 -c "$(config 'queue_limit: 5' 'history_limit: 2')"
	u=$(connect /a uwe)
	send_n "-c $u" 5
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["e1", "e2", "e3", "e4", "e5"]'
}

@test "queue_limit: a client that falls further behind gets one reload event" {
	livd_start -r 0.3 -c "$(config 'queue_limit: 5' 'history_limit: 2')"
	u=$(connect /a uwe)
	send_n "-c $u" 6
	body=$(output "$u")
	printf '%s' "$body" | jassert '
len(d["events"]) == 1 and d["events"][0]["verb"] == "reload"
and set(d["events"][0]) == {"seq", "verb"} and d["seq"] >= d["events"][0]["seq"]'
	s=$(printf '%s' "$body" | jget 'd["seq"]')
	output "$u" "since=$s" | jassert 'd["events"] == [] and d["idle"] is True'
	livctl send -c "$u" append log after
	output "$u" "since=$s" | jassert '[e["html"] for e in d["events"]] == ["after"]'
}

@test "queue_limit: events sent to the client's location count too" {
	livd_start -r 0.3 -c "$(config 'queue_limit: 5' 'history_limit: 2')"
	u=$(connect /a uwe)
	v=$(connect /b dominik)
	send_n "-l /a" 7
	output "$u" | jassert '[e["verb"] for e in d["events"]] == ["reload"]'
	run livctl poll "$v"
	assert_lines idle
	run livctl poll "$u"
	assert_lines reload
	run livctl poll "$u"
	assert_lines idle
}

@test "queue_limit: only unacknowledged events count" {
	livd_start -r 0.3 -c "$(config 'queue_limit: 5' 'history_limit: 2')"
	u=$(connect /a uwe)
	send_n "-c $u" 4
	s=$(output "$u" | jget 'd["seq"]')
	send_n "-c $u" 4
	output "$u" "since=$s" | jassert '[e["html"] for e in d["events"]] == ["e1", "e2", "e3", "e4"]'
}

@test "queue_limit: livctl poll prints the reload event" {
	livd_start -r 0.3 -c "$(config 'queue_limit: 3' 'history_limit: 1')"
	u=$(connect /a uwe)
	send_n "" 10
	run livctl poll "$u"
	assert_lines reload
}

@test "coalesce: of the queued events with a coalescing verb and the same id, only the newest is kept" {
	livd_start -r 0.3
	u=$(connect /a uwe)
	livctl send -l /a update box A
	livctl send -l /a update box B
	livctl send -l /a update other C
	livctl send -l /a text box T1
	livctl send -l /a replace box R
	livctl send -l /a text box T2
	livctl send -l /a append box x
	livctl send -l /a append box y
	run livctl poll "$u"
	assert_lines 'update box' B 'update other' C 'replace box' R 'text box' T2 \
	    'append box' x 'append box' y
}

@test "coalesce: an acknowledged event is not taken back" {
	livd_start -r 0.3
	u=$(connect /a uwe)
	livctl send -l /a update box A
	run livctl poll "$u"
	assert_lines 'update box' A
	livctl send -l /a update box B
	run livctl poll "$u"
	assert_lines 'update box' B
}

@test "max_body: a POST /connect body over 64 KiB is 413" {
	livd_start
	python3 -c 'import sys; sys.stdout.write("location=/a&principal=" + "p" * 65536)' \
	    >"$BATS_TEST_TMPDIR/form"
	run http POST /connect -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-binary @"$BATS_TEST_TMPDIR/form"
	[ "${lines[0]}" = 413 ]
	printf '%s' "$output" | sed 1d | jassert 'isinstance(d["error"], str)'
}

@test "max_body: the limit comes from the config file" {
	livd_start -r 0.3 -c "$(config 'max_body: 1024')"
	u=$(connect /a uwe)
	python3 -c 'import sys; h = "verb=append&id=t&html="; sys.stdout.write(h + "x" * (1024 - len(h)))' \
	    >"$BATS_TEST_TMPDIR/ok"
	python3 -c 'import sys; h = "verb=append&id=t&html="; sys.stdout.write(h + "x" * (1025 - len(h)))' \
	    >"$BATS_TEST_TMPDIR/big"
	run http POST "/client/$u/input" --data-binary @"$BATS_TEST_TMPDIR/ok"
	[ "${lines[0]}" = 200 ]
	run http POST "/client/$u/input" --data-binary @"$BATS_TEST_TMPDIR/big"
	[ "${lines[0]}" = 413 ]
}

@test "headers over 8 KiB are refused with 431" {
	livd_start
	small=$(head -c 7000 /dev/zero | tr '\0' a)
	big=$(head -c 9000 /dev/zero | tr '\0' a)
	run http GET /verbs.json -H "X-Pad: $small"
	[ "${lines[0]}" = 200 ]
	run http GET /verbs.json -H "X-Pad: $big"
	[ "${lines[0]}" = 431 ]
	printf '%s' "$output" | sed 1d | jassert 'isinstance(d["error"], str)'
	u=$(connect /a uwe)
	run http POST "/client/$u/input" -H "X-Pad: $big" -d verb=append -d id=t -d html=x
	[ "${lines[0]}" = 431 ]
}

@test "coalesce: an event returned but not yet acknowledged is still queued, and superseded" {
	livd_start -r 0.3
	u=$(connect /a uwe)
	livctl send -l /a update box A
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["A"]'
	livctl send -l /a update box B
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["B"]'
}

@test "queue_limit: unacknowledged events survive livd's housekeeping" {
	livd_start -r 0.3 -c "$(config 'queue_limit: 5' 'history_limit: 2')"
	u=$(connect /a uwe)
	send_n "-l /a" 4
	sleep 1.3
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["e1", "e2", "e3", "e4"]'
}

@test "queue_limit: the default is 1000 events" {
	livd_start -r 0.3
	u=$(connect /a uwe)
	v=$(connect /b dominik)
	send_n "-l /a" 1000
	send_n "-l /b" 1001
	# All 1000, perhaps over several answers.
	since=
	got=0
	for ((i = 0; i < 20 && got < 1000; i++)); do
		body=$(output "$u" ${since:+"since=$since"})
		n=$(printf '%s' "$body" | jget 'len([e for e in d["events"] if e["verb"] == "append"])')
		[ "$(printf '%s' "$body" | jget 'len(d["events"])')" = "$n" ]
		got=$((got + n))
		since=$(printf '%s' "$body" | jget 'd["seq"]')
	done
	assert_eq "$got" 1000
	output "$v" | jassert '[e["verb"] for e in d["events"]] == ["reload"]'
}

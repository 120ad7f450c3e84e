#!/usr/bin/env bats
# Issue 2's user story, the seed's doctest in livd's terms.

load helper

@test "story: two pages connect at one location; who prints dominik then uwe" {
	livd_start
	u1=$(connect /zorg/page zorg.member.uwe)
	u2=$(connect /zorg/page zorg.member.dominik)
	[[ $u1 =~ ^[0-9a-f]{32}$ ]]
	[[ $u2 =~ ^[0-9a-f]{32}$ ]]
	[ "$u1" != "$u2" ]
	run --separate-stderr livctl who /zorg/page
	assert_status 0
	assert_lines zorg.member.dominik zorg.member.uwe
	assert_eq "$stderr" ""
}

@test "story: pages registered with livctl connect show up in who" {
	livd_start
	run livctl connect -l /zorg/page -p zorg.member.uwe
	assert_status 0
	[[ $output =~ ^[0-9a-f]{32}$ ]]
	run livctl connect -l /zorg/page -p zorg.member.dominik
	assert_status 0
	[[ $output =~ ^[0-9a-f]{32}$ ]]
	run livctl who /zorg/page
	assert_status 0
	assert_lines zorg.member.dominik zorg.member.uwe
}

@test "story: refresh 0.1, a poll with nothing pending prints idle after about 0.1 s" {
	livd_start
	u=$(connect /zorg/page zorg.member.uwe)
	run livctl refresh 0.1
	assert_status 0
	run livctl refresh
	assert_lines 0.1
	t0=$(now)
	run --separate-stderr livctl poll "$u"
	t1=$(now)
	assert_status 0
	assert_lines idle
	elapsed_between "$t1" "$t0" 0.08 1.0
}

@test "story: send -c UUID append target '<p>42</p>'; poll prints it; again with 43" {
	livd_start -r 2
	u=$(connect /zorg/page zorg.member.uwe)
	run --separate-stderr livctl send -c "$u" append target '<p>42</p>'
	assert_status 0
	assert_eq "$output" ""
	assert_eq "$stderr" ""
	run livctl poll "$u"
	assert_status 0
	assert_lines 'append target' '<p>42</p>'
	run livctl send -c "$u" append target '<p>43</p>'
	assert_status 0
	run livctl poll "$u"
	assert_status 0
	assert_lines 'append target' '<p>43</p>'
}

@test "story: the page's next HTTP poll returns the event sent with send -c" {
	livd_start -r 2
	u=$(connect /zorg/page zorg.member.uwe)
	livctl send -c "$u" append target '<p>42</p>'
	output "$u" | jassert 'd["events"][0]["verb"] == "append" and d["events"][0]["id"] == "target" and d["events"][0]["html"] == "<p>42</p>" and len(d["events"]) == 1'
}

@test "story: send without a target flag reaches every page" {
	livd_start -r 0.3
	u1=$(connect /zorg/page zorg.member.uwe)
	u2=$(connect /zorg/page zorg.member.dominik)
	u3=$(connect /elsewhere someone)
	run livctl send append target '<p>42</p>'
	assert_status 0
	for u in "$u1" "$u2" "$u3"; do
		run livctl poll "$u"
		assert_status 0
		assert_lines 'append target' '<p>42</p>'
	done
}

@test "story: send special 42 is refused until special is added to the verbs file and livctl reload" {
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs.yaml"
	livd_start -r 2 -V "$BATS_TEST_TMPDIR/verbs.yaml"
	u=$(connect /zorg/page zorg.member.uwe)
	run --separate-stderr livctl send special 42
	assert_status 1
	assert_eq "$stderr" "livctl: unknown verb 'special'"
	assert_eq "$output" ""
	printf '\nspecial: {args: [arg]}\n' >>"$BATS_TEST_TMPDIR/verbs.yaml"
	run --separate-stderr livctl reload
	assert_status 0
	run --separate-stderr livctl send special 42
	assert_status 0
	assert_eq "$stderr" ""
	run livctl poll "$u"
	assert_status 0
	assert_lines special 42
}

@test "story: SIGHUP makes a verb added to the verbs file known" {
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs.yaml"
	livd_start -r 2 -V "$BATS_TEST_TMPDIR/verbs.yaml"
	u=$(connect /zorg/page zorg.member.uwe)
	run livctl send special 42
	assert_status 1
	printf '\nspecial: {args: [arg]}\n' >>"$BATS_TEST_TMPDIR/verbs.yaml"
	kill -HUP "$LIVD_PID"
	for ((i = 0; i < 100; i++)); do
		livctl verbs | grep -qx 'special arg' && break
		sleep 0.05
	done
	run livctl send special 42
	assert_status 0
	run livctl poll "$u"
	assert_lines special 42
}

@test "story: a browser's input append reaches every page at its location, HTML-escaped" {
	livd_start -r 0.3
	u1=$(connect /chat zorg.member.uwe)
	u2=$(connect /chat zorg.member.dominik)
	u3=$(connect /other someone)
	run input "$u1" verb=append id=target 'html=<p>42 & "x" '"'y'"'</p>'
	assert_lines 200
	for u in "$u1" "$u2"; do
		run livctl poll "$u"
		assert_status 0
		[ "${lines[0]}" = 'append target' ]
		[ "${#lines[@]}" = 2 ]
		assert_escaped "${lines[1]}" '<p>42 & "x" '"'y'"'</p>'
	done
	run livctl poll "$u3"
	assert_lines idle
}

@test "story: the seed's input verb=change&argument=42 reaches the pages at the location" {
	livd_start -r 0.3
	u1=$(connect /zorg/page zorg.member.uwe)
	u2=$(connect /zorg/page zorg.member.dominik)
	run input "$u2" verb=change argument=42
	assert_lines 200
	run livctl poll "$u1"
	assert_lines change 42
	run livctl poll "$u2"
	assert_lines change 42
}

@test "story: tail -f app.log | sed -u 's/^/append log /' | livctl send -l /log - streams each line at once and goes past a bad line" {
	livd_start -r 3
	u=$(livctl connect -l /log -p ops)
	: >"$BATS_TEST_TMPDIR/app.log"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	sed -u 's/^/append log /' <"$BATS_TEST_TMPDIR/fifo" |
	    "$LIVCTL" send -l /log - >"$BATS_TEST_TMPDIR/send.out" \
	    2>"$BATS_TEST_TMPDIR/send.err" 3>&- &
	lpid=$!
	bg_track "$lpid"
	tail -n +1 -f "$BATS_TEST_TMPDIR/app.log" >"$BATS_TEST_TMPDIR/fifo" 3>&- &
	tpid=$!
	bg_track "$tpid"

	echo 'first <b>a b</b>' >>"$BATS_TEST_TMPDIR/app.log"
	run livctl poll "$u"
	assert_lines 'append log' 'first <b>a b</b>'
	running "$lpid"

	echo '' >>"$BATS_TEST_TMPDIR/app.log"
	echo 'third' >>"$BATS_TEST_TMPDIR/app.log"
	run livctl poll "$u"
	assert_lines 'append log' 'third'
	running "$lpid"

	kill "$tpid"
	wait_for "$lpid" 5
	assert_eq "$WAIT_STATUS" 1
	assert_eq "$(cat "$BATS_TEST_TMPDIR/send.err")" \
	    "livctl: stdin:2: verb 'append' needs argument 'html'"
}

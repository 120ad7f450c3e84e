#!/usr/bin/env bats
# SIGHUP reloads without dropping a connection; SIGTERM and SIGINT answer
# held polls idle, remove the socket and exit 0.

load helper

@test "SIGHUP: re-reads config and verbs without dropping a connection" {
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'refresh: 3\nverbs: %s\n' "$BATS_TEST_TMPDIR/verbs.yaml" \
	    >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml"
	u=$(connect /chat uwe)
	v=$(connect /chat dominik)
	poll_bg p1 "$u"
	hp=$BG_PID
	"$LIVCTL" poll "$v" >"$BATS_TEST_TMPDIR/cpoll.out" 2>&1 3>&- &
	cp=$!
	bg_track "$cp"
	sleep 0.3
	printf '\nspecial: {args: [arg]}\n' >>"$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'refresh: 2\nverbs: %s\n' "$BATS_TEST_TMPDIR/verbs.yaml" \
	    >"$BATS_TEST_TMPDIR/livd.yaml"
	kill -HUP "$LIVD_PID"
	for ((i = 0; i < 100; i++)); do
		livctl verbs | grep -qx 'special arg' && break
		sleep 0.05
	done
	run livctl refresh
	assert_lines 2
	# The polls held across the reload are still there and get the event.
	running "$hp"
	running "$cp"
	run livctl send -l /chat special 42
	assert_status 0
	wait_for "$hp" 2
	wait_for "$cp" 2
	assert_eq "$WAIT_STATUS" 0
	[ "$(cat "$BATS_TEST_TMPDIR/p1.code")" = 200 ]
	jassert '[(e["verb"], e["arg"]) for e in d["events"]] == [("special", "42")]' \
	    <"$BATS_TEST_TMPDIR/p1.body"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/cpoll.out")" $'special\n42'
	running "$LIVD_PID"
}

@test "SIGHUP: a broken verbs file is logged as FILE:LINE: message and the old table stays" {
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs.yaml"
	livd_start -r 0.3 -V "$BATS_TEST_TMPDIR/verbs.yaml"
	u=$(connect /chat uwe)
	before=$(livctl verbs)
	printf 'append:\n  args: [id, html]\n  dom: sideways\n' >"$BATS_TEST_TMPDIR/verbs.yaml"
	kill -HUP "$LIVD_PID"
	for ((i = 0; i < 100; i++)); do
		grep -qF "$BATS_TEST_TMPDIR/verbs.yaml:3: " "$BATS_TEST_TMPDIR/livd.log" && break
		sleep 0.05
	done
	grep -qF "$BATS_TEST_TMPDIR/verbs.yaml:3: " "$BATS_TEST_TMPDIR/livd.log"
	running "$LIVD_PID"
	assert_eq "$(livctl verbs)" "$before"
	run livctl send -l /chat remove x
	assert_status 0
	run livctl poll "$u"
	assert_lines remove x
}

@test "SIGHUP: a broken config file is logged as FILE:LINE: message and the old config stays" {
	printf 'refresh: 0.5\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml"
	printf 'refresh: 0.2\n\nnot_a_key: 1\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	kill -HUP "$LIVD_PID"
	for ((i = 0; i < 100; i++)); do
		grep -qF "$BATS_TEST_TMPDIR/livd.yaml:3: " "$BATS_TEST_TMPDIR/livd.log" && break
		sleep 0.05
	done
	grep -qF "$BATS_TEST_TMPDIR/livd.yaml:3: " "$BATS_TEST_TMPDIR/livd.log"
	run livctl refresh
	assert_lines 0.5
}

stop_with() {
	livd_start
	u=$(connect /chat uwe)
	v=$(connect /chat dominik)
	poll_bg p1 "$u"
	hp=$BG_PID
	"$LIVCTL" poll "$v" >"$BATS_TEST_TMPDIR/cpoll.out" 2>&1 3>&- &
	cp=$!
	bg_track "$cp"
	sleep 0.3
	running "$hp"
	running "$cp"
	t0=$(now)
	livd_stop "$1"
	t1=$(now)
	assert_eq "$LIVD_STATUS" 0
	elapsed_between "$t1" "$t0" 0 3
	wait_for "$hp" 2
	[ "$(cat "$BATS_TEST_TMPDIR/p1.code")" = 200 ]
	jassert 'd["events"] == [] and d["idle"] is True' <"$BATS_TEST_TMPDIR/p1.body"
	wait_for "$cp" 2
	assert_eq "$WAIT_STATUS" 0
	assert_eq "$(cat "$BATS_TEST_TMPDIR/cpoll.out")" idle
	[ ! -e "$SOCK" ]
}

@test "SIGTERM: held polls are answered idle, the socket is removed, exit 0" {
	stop_with TERM
}

@test "SIGINT: held polls are answered idle, the socket is removed, exit 0" {
	stop_with INT
}

@test "SIGTERM with no clients: the socket is removed, exit 0" {
	livd_start
	livd_stop TERM
	[ ! -e "$SOCK" ]
	run livctl -s "$SOCK" status
	assert_status 3
}

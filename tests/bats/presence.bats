#!/usr/bin/env bats
# Presence: online from connect until close, or until a client has neither
# polled nor held a poll for presence_timeout; then its uuid is gone.

load helper

config() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/livd.yaml"
	printf '%s' "$BATS_TEST_TMPDIR/livd.yaml"
}

# Wait (at most $2 s) until `livctl who $1` no longer lists principal $3.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		livctl who "$1" | grep -qxF "$3" || return 0
		sleep 0.05
	done
	return 1
}

@test "presence: a client that neither polls nor holds a poll times out; one holding a poll stays" {
	livd_start -c "$(config 'presence_timeout: 0.5' 'refresh: 2.5')"
	held=$(connect /chat holder)
	idle=$(connect /chat sleeper)
	poll_bg p1 "$held"
	t0=$(now)
	wait_gone /chat 3 sleeper
	t1=$(now)
	elapsed_between "$t1" "$t0" 0.3 2.5
	run livctl who /chat
	assert_lines holder
	running "$BG_PID"
}

@test "presence: a client that keeps polling stays online past presence_timeout" {
	# Room between polls for a busy machine (a curl may take half a
	# second to start); the loop still outlasts presence_timeout thrice.
	livd_start -c "$(config 'presence_timeout: 1' 'refresh: 0.1')"
	u=$(connect /chat poller)
	v=$(connect /chat sleeper)
	t0=$(now)
	while elapsed_between "$(now)" "$t0" 0 3 2>/dev/null; do
		output "$u" >/dev/null
	done
	run livctl who /chat
	assert_lines poller
}

@test "presence: a timed-out uuid answers 404 everywhere; the page must connect again" {
	livd_start -c "$(config 'presence_timeout: 0.3' 'refresh: 0.2')"
	u=$(connect /chat sleeper)
	wait_gone /chat 3 sleeper
	run http GET "/client/$u/output"
	[ "${lines[0]}" = 404 ]
	run http POST "/client/$u/input" -d verb=append -d id=t -d html=x
	[ "${lines[0]}" = 404 ]
	run http POST "/client/$u/close"
	[ "${lines[0]}" = 404 ]
	run livctl poll "$u"
	assert_status 1
	run livctl send -c "$u" append t x
	assert_status 1
	run livctl clients
	assert_eq "$output" ""
	run livctl status
	assert_contains "$output" $'\nclients: 0'
	v=$(connect /chat sleeper)
	[ "$v" != "$u" ]
	run livctl who /chat
	assert_lines sleeper
}

@test "presence: the default timeout is not shorter than twice the refresh interval plus 5 s" {
	livd_start -r 0.1
	connect /chat sleeper >/dev/null
	sleep 1.6
	run livctl who /chat
	assert_lines sleeper
}

@test "presence: livctl poll counts as polling" {
	livd_start -c "$(config 'presence_timeout: 1' 'refresh: 0.2')"
	u=$(livctl connect -l /chat -p poller)
	connect /chat sleeper >/dev/null
	t0=$(now)
	while elapsed_between "$(now)" "$t0" 0 3 2>/dev/null; do
		livctl poll "$u" >/dev/null
	done
	run livctl who /chat
	assert_lines poller
}

#!/usr/bin/env bats
# Pages that vanish mid-poll while events flow: livd keeps going and still
# exits 0 on SIGTERM (under LIVD_BUILD=build-asan, any use of freed memory
# aborts it and fails the test).

load helper

@test "robust: polls killed mid-way while events flow" {
	livd_start -r 1
	uuids=()
	for i in 1 2 3 4 5 6 7 8; do
		uuids+=("$(connect /s "p$i")")
	done
	pids=()
	for i in 0 1 2 3 4 5 6 7; do
		poll_bg "poll$i" "${uuids[$i]}"
		pids+=("$BG_PID")
	done
	"$LIVCTL" poll "${uuids[0]}" >/dev/null 2>&1 3>&- &
	cpid=$!
	bg_track "$cpid"
	sleep 0.3
	# Half the pages go away without a word, one control poll too.
	for i in 0 2 4 6; do
		kill -KILL "${pids[$i]}" 2>/dev/null || true
	done
	kill -KILL "$cpid" 2>/dev/null || true
	seq 1 50 | sed 's/^/append log e/' | livctl send -l /s -
	# More polls, killed while the events are being answered.
	for round in 1 2 3; do
		for i in 0 1 2 3 4 5 6 7; do
			poll_bg "r$round.$i" "${uuids[$i]}"
			[ $((i % 2)) = 1 ] || kill -KILL "$BG_PID" 2>/dev/null || true
		done
		livctl send -l /s append log "round $round"
		livctl send append log "all $round"
	done
	for i in 0 1 2 3 4 5 6 7; do
		curl -s -o /dev/null --max-time 0.1 "$URL/client/${uuids[$i]}/output" || true
	done
	sleep 0.2
	running "$LIVD_PID"
	run livctl status
	assert_status 0
	assert_contains "$output" $'\nclients: 8'
	# Every page can still read its events.
	output "${uuids[1]}" | jassert 'len(d["events"]) > 0'
	curl -s -X POST "$URL/client/${uuids[3]}/close" >/dev/null
	run livctl who /s
	assert_status 0
	[ "${#lines[@]}" = 7 ]
}

@test "robust: a control connection that goes away with a poll held" {
	livd_start -r 1
	u=$(connect /s uwe)
	for i in 1 2 3 4 5; do
		"$LIVCTL" poll "$u" >/dev/null 2>&1 3>&- &
		p=$!
		bg_track "$p"
		sleep 0.05
		kill -KILL "$p" 2>/dev/null || true
		livctl send -c "$u" append log "e$i"
	done
	livctl send -c "$u" append log last
	run livctl poll "$u"
	assert_status 0
	[ "${lines[-1]}" = last ]
	running "$LIVD_PID"
}

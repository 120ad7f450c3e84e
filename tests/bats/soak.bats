#!/usr/bin/env bats
# A bounded soak (tests/stress/soak.py): 300 pages connect, long-poll,
# drop mid-poll and come back with their cursor while events stream to
# six locations. Every page must see every event addressed to it exactly
# once and in seq order (a reload is a resync, and must be rare), and
# livd's RSS must come back near where it started once they leave.

load helper

@test "soak: 300 pages dropping mid-poll and coming back lose nothing, see nothing twice; RSS comes back" {
	warmup=0 rss=
	if grep -q __asan_init "$LIVD"; then
		# ASan keeps freed memory in a quarantine (256 MB by default)
		# and in pools it does not give back: a small quarantine, and
		# memory measured from after a first round, once the pools
		# are made.
		export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
		warmup=3
	elif grep -q valgrind "$LIVD"; then
		# Under valgrind (make check-valgrind) the RSS is valgrind's,
		# and valgrind itself checks for leaks when livd exits.
		rss=--no-rss
	fi
	livd_start -r 1
	run timeout 90 python3 "$ROOT/tests/stress/soak.py" "$PORT" "$SOCK" \
	    "$LIVCTL" "$LIVD_PID" --clients 300 --seconds 10 --locations 6 \
	    --rate 200 --warmup "$warmup" $rss
	printf '%s\n' "$output"
	assert_status 0
	running "$LIVD_PID"
	run livctl status
	assert_status 0
	assert_contains "$output" $'\nclients: 0'
}

#!/usr/bin/env bats
# Hostile load cannot exhaust livd (issue 15): the memory budget
# (max_memory: the oldest history goes first, then 503), history_bytes per
# location, connect_rate per address and principal (429), location_limit
# in open mode (503), history_ttl for a cluster's streams, every bad
# value's livd -t message, and the flood of tests/stress/flood.py, short.

load helper
load nodes

config() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/livd.yaml"
	printf '%s' "$BATS_TEST_TMPDIR/livd.yaml"
}

# A string of n x's.
xs() {
	python3 -c 'import sys; sys.stdout.write("x" * int(sys.argv[1]))' "$1"
}

# One control command as raw JSON (for arguments too long for argv).
ctl_json() {
	printf '%s\n' "$1" | ctl_raw
}

teardown() {
	for n in "${!NODE_PIDS[@]}"; do
		kill "${NODE_PIDS[$n]}" 2>/dev/null || true
	done
	[ -n "$REDIS_PORT" ] && redis_stop
	helper_teardown
}

@test "budget: bad values of the new keys are FILE:LINE errors from livd -t" {
	for bad in 'max_memory: 512K|max_memory must be 1M to 1024G' \
	    'max_memory: lots|max_memory: invalid size' \
	    'history_bytes: 1K|history_bytes must be 64K to 64G' \
	    'history_ttl: soon|history_ttl: invalid number' \
	    'history_ttl: 40000000|history_ttl must be 0 to 31622400' \
	    'connect_rate: fast|connect_rate: invalid number' \
	    'connect_burst: 0|connect_burst must be 1 to 1000000' \
	    'location_limit: 0|location_limit must be 1 to 100000000' \
	    'location_limit: 1K|location_limit: invalid number'; do
		run "$LIVD" -t -c "$(config "${bad%%|*}")"
		assert_status 1
		assert_contains "$output" "livd.yaml:1: ${bad#*|}"
	done
	run "$LIVD" -t -c "$(config 'max_memory: 8M' 'history_bytes: 1M' \
	    'history_ttl: 60' 'connect_rate: 0' 'connect_burst: 5' \
	    'location_limit: 10')"
	assert_status 0
}

@test "budget: livctl status, stats and /metrics show the counted memory and max_memory" {
	livd_start -r 1 -c "$(config 'max_memory: 8M')"
	run livctl status
	assert_status 0
	assert_contains "$output" $'\nmax_memory: 8388608'
	run livctl stats
	[[ "$output" =~ $'\n'memory\.bytes:\ [0-9]+ ]]
	assert_contains "$output" $'\nmemory.limit_bytes: 8388608'
	assert_contains "$output" $'\nmemory.refused: 0'
	body=$(curl -s "$URL/metrics")
	assert_contains "$body" $'\nlivd_memory_limit_bytes 8388608\n'
	[[ "$body" =~ $'\n'livd_memory_bytes\ [0-9]+$'\n' ]]
	assert_contains "$body" $'\nlivd_memory_refused_total 0\n'
	assert_contains "$body" 'livd_input_rejected_total{reason="memory"} 0'
}

@test "budget: an event livd has no room for is refused: 503 to a page, an error to the control socket" {
	livd_start -r 1 -c "$(config 'max_memory: 1M' 'max_event: 4M' \
	    'max_body: 4M' 'max_line: 8M')"
	u=$(connect /big uwe)
	printf 'verb=append&id=log&html=%s' "$(xs 1200000)" >"$BATS_TEST_TMPDIR/big"
	run http POST "/client/$u/input" --data-binary "@$BATS_TEST_TMPDIR/big"
	assert_lines 503 '{"error":"out of memory budget"}'
	run ctl_json "{\"cmd\":\"send\",\"location\":\"/big\",\"verb\":\"append\",\"id\":\"log\",\"html\":\"$(xs 1200000)\"}"
	assert_contains "$output" '"error":"out of memory budget"'
	# A small one still goes: nothing was kept of the big ones.
	run input "$u" verb=append id=log html=small
	assert_lines 200 ''
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["small"]'
	curl -s "$URL/metrics" | grep -q '^livd_memory_refused_total 2$'
	curl -s "$URL/metrics" | grep -q '^livd_input_rejected_total{reason="memory"} 1$'
}

@test "budget: connection buffers count: a request held half-read takes the room, and connects get 503 until it goes" {
	livd_start -r 1 -c "$(config 'max_memory: 1M' 'max_body: 4M')"
	# A body announced at 3 MB of which 1.5 MB arrive, then nothing.
	python3 - "$PORT" "$BATS_TEST_TMPDIR/held" <<'PY' &
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /connect HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n"
          b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
s.sendall(b"x" * 1500000)
open(sys.argv[2], "w").close()
time.sleep(4)
s.close()
PY
	holder=$!
	bg_track "$holder"
	for ((i = 0; i < 100; i++)); do
		[ -e "$BATS_TEST_TMPDIR/held" ] && break
		sleep 0.05
	done
	sleep 0.3
	run http POST /connect -d location=/a -d principal=p
	assert_lines 503 '{"error":"out of memory budget"}'
	wait_for "$holder" 10
	sleep 0.2
	run http POST /connect -d location=/a -d principal=p
	assert_contains "${lines[0]}" 200
}

@test "history_bytes: a location keeps at most that many bytes; a page whose events went gets a reload, never a gap" {
	livd_start -r 1 -c "$(config 'history_bytes: 64K')"
	slow=$(connect /h slow)
	fast=$(connect /h fast)
	s=$(output "$fast" | jget 'd["seq"]')
	livctl send -l /h append log "a$(xs 30000)"
	fast_body=$(output "$fast" "since=$s")
	printf '%s' "$fast_body" | jassert '[e["html"][:1] for e in d["events"]] == ["a"]'
	s=$(printf '%s' "$fast_body" | jget 'd["seq"]')
	livctl send -l /h append log "b$(xs 30000)"
	livctl send -l /h append log "c$(xs 30000)"
	# fast had acknowledged a: it gets b and c; slow gets a reload.
	output "$fast" "since=$s" | jassert '[e["html"][:1] for e in d["events"]] == ["b", "c"]'
	output "$slow" "since=1" | jassert '[e["verb"] for e in d["events"]] == ["reload"]'
}

@test "max_memory: near it the oldest history goes everywhere first; pages that had not read it get a reload" {
	livd_start -r 1 -c "$(config 'max_memory: 1M' 'history_bytes: 512K')"
	u=$(connect /l0 idle)
	for ((i = 0; i < 24; i++)); do
		livctl send -l "/l$i" append log "$(xs 60000)"
	done
	run livctl stats
	[[ "$output" =~ memory\.dropped:\ ([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -gt 0 ]
	[[ "$output" =~ memory\.peak_bytes:\ ([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -le 1048576 ]
	output "$u" "since=1" | jassert '[e["verb"] for e in d["events"]] == ["reload"]'
	grep -q 'memory budget: dropped the oldest' "$BATS_TEST_TMPDIR/livd.log"
}

@test "connect_rate: past the burst a source address is answered 429, each connect and input counting" {
	livd_start -r 1 -c "$(config 'connect_rate: 1' 'connect_burst: 3')"
	u=$(connect /a p1)
	run input "$u" verb=append id=log html=1
	assert_lines 200 ''
	run input "$u" verb=append id=log html=2
	assert_lines 200 ''
	run input "$u" verb=append id=log html=3
	assert_lines 429 '{"error":"too many requests from this address: at most 1 a second"}'
	run http POST /connect -d location=/a -d principal=p2
	assert_lines 429 '{"error":"too many requests from this address: at most 1 a second"}'
	sleep 1.1
	run http POST /connect -d location=/a -d principal=p2
	assert_contains "${lines[0]}" 200
	curl -s "$URL/metrics" | grep -q '^livd_input_rejected_total{reason="connect_rate"} 2$'
}

@test "connect_rate: one principal from many addresses is answered 429 too" {
	livd_start -r 1 -c "$(config 'connect_rate: 1' 'connect_burst: 2' \
	    'trusted_proxies: 127.0.0.1')"
	for a in 192.0.2.1 192.0.2.2; do
		run http POST /connect -H "X-Forwarded-For: $a" -d location=/a \
		    -d principal=bob
		assert_contains "${lines[0]}" 200
	done
	run http POST /connect -H "X-Forwarded-For: 192.0.2.3" -d location=/a \
	    -d principal=bob
	assert_lines 429 '{"error":"too many requests for this principal: at most 1 a second"}'
	# An IPv6 host's addresses are one source: its /64.
	for a in 1 2; do
		run http POST /connect -H "X-Forwarded-For: 2001:db8::$a" \
		    -d location=/a -d principal="p$a"
		assert_contains "${lines[0]}" 200
	done
	run http POST /connect -H "X-Forwarded-For: 2001:db8::3" \
	    -d location=/a -d principal=carol
	assert_lines 429 '{"error":"too many requests from this address: at most 1 a second"}'
}

@test "location_limit: in open mode a connect that would make one location too many is answered 503" {
	livd_start -r 1 -c "$(config 'location_limit: 2')"
	connect /a p >/dev/null
	connect /b p >/dev/null
	run http POST /connect -d location=/c -d principal=p
	assert_lines 503 '{"error":"too many locations in all"}'
	run http POST /connect -d location=/a -d location=/c -d principal=p
	assert_lines 503 '{"error":"too many locations in all"}'
	run http POST /connect -d location=/b -d principal=p
	assert_contains "${lines[0]}" 200
}

@test "history_ttl: a cluster's location stream expires after history_ttl, by default the presence timeout plus 300 s" {
	redis_start
	node_start 1
	node_start 2 'history_ttl: 30'
	n 1 send -l /t append log one
	ttl=$(rcli pttl "livd:history:/t")
	[ "$ttl" -gt 300000 ] && [ "$ttl" -le 303000 ]
	n 2 send -l /u append log two
	ttl=$(rcli pttl "livd:history:/u")
	[ "$ttl" -gt 25000 ] && [ "$ttl" -le 30000 ]
}

@test "flood (short): pages posting big events at one location cannot take livd past max_memory; honest pages see no gap" {
	livd_start -r 1 -c "$(config 'max_memory: 8M' 'history_bytes: 2M')"
	run timeout 120 python3 "$ROOT/tests/stress/flood.py" --port "$PORT" \
	    --pid "$LIVD_PID" --sock "$SOCK" --livctl "$LIVCTL" \
	    --senders 10 --events 10 --size 30000 --honest 4 --linger 1
	printf '%s\n' "$output"
	assert_status 0
	run livctl stats
	[[ "$output" =~ memory\.peak_bytes:\ ([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -le 8388608 ]
}

#!/usr/bin/env bats
# The operator's view: versions, log levels and log lines, livctl stats and
# GET /metrics, livctl tail, clients -v, send --dry-run, bulk send -.

load helper

prom() {
	python3 "$BATS_TEST_DIRNAME/promcheck.py" "$@"
}

# GET /metrics into FILE; the status must be 200.
metrics_to() {
	curl -s -f --max-time 5 -o "$1" "$URL/metrics"
}

# Assert that SAMPLE rose by at least MIN (default 1) from OLD to NEW.
assert_rose() {
	local old=$1 new=$2 sample=$3 min=${4:-1} d
	d=$(prom delta "$old" "$new" "$sample") || { echo "$d"; return 1; }
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' \
	    "$d" "$min" || {
		echo "$sample rose by $d, expected at least $min"
		return 1
	}
}

# Each line of a log file as "LEVEL<TAB>line", or "BAD<TAB>line" when it
# has no leading timestamp and level (one word, e.g. the program name, may
# stand between them).
log_levels() {
	python3 -c '
import re, sys
pat = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
                 r"\s+(?:[^\s:]+\s+)?\[?(debug|info|notice|warn|warning|error|fatal)\]?:?\s",
                 re.I)
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    m = pat.match(line)
    print("%s\t%s" % (m.group(1).lower() if m else "BAD", line))
' "$1"
}

# Wait until FILE holds a line that is exactly TEXT (3 s at most).
wait_line() {
	local file=$1 text=$2 i
	for ((i = 0; i < 60; i++)); do
		grep -qxF -- "$text" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "no line [$text] in $file after 3 s; it holds:"
	sed 's/^/  |/' "$file"
	return 1
}

# Start livctl [-j] tail [-l LOCATION] into $BATS_TEST_TMPDIR/tail.out and
# wait until it follows: warm-up events (append warm ping, sent to WARMTO
# until one shows) prove it is there. Drop them with no_warmups.
tail_start() {
	local i
	TAILOUT="$BATS_TEST_TMPDIR/tail.out"
	"$LIVCTL" "$@" >"$TAILOUT" 2>"$BATS_TEST_TMPDIR/tail.err" </dev/null 3>&- &
	TAIL_PID=$!
	bg_track "$TAIL_PID"
	for ((i = 0; i < 100; i++)); do
		livctl send ${WARMTO:+-l "$WARMTO"} append warm ping
		sleep 0.05
		grep -q ping "$TAILOUT" && return 0
	done
	echo "livctl tail showed nothing in 5 s"
	cat "$BATS_TEST_TMPDIR/tail.err"
	return 1
}

# The tail output without the warm-up events (text form).
no_warmups() {
	python3 -c '
import sys
print(open(sys.argv[1]).read().replace("append warm\nping\n", ""), end="")
' "$TAILOUT"
}

@test "livd --version and livctl --version print the version livctl status reports" {
	run "$LIVD" --version
	assert_status 0
	assert_eq "${#lines[@]}" 1
	[[ $output =~ ^livd\ [0-9]+\.[0-9]+ ]] || { echo "livd --version: [$output]"; return 1; }
	v=${output##* }
	run livctl --version
	assert_status 0
	assert_lines "livctl $v"
	livd_start
	run livctl status
	assert_status 0
	grep -qxF "version: $v" <<<"$output"
}

@test "livd -v logs every control command, naming it, and the client a line concerns" {
	livd_start -v -r 0.2
	n0=$(wc -l <"$BATS_TEST_TMPDIR/livd.log")
	u=$(connect /x alice)
	livctl who >/dev/null
	livctl who /x >/dev/null
	livctl verbs >/dev/null
	livctl clients >/dev/null
	livctl refresh >/dev/null
	livctl stats >/dev/null
	livctl send -l /x append t hi
	livctl send -n -l /x append t hi >/dev/null
	livctl poll "$u" >/dev/null
	livctl connect -l /y -p bob >/dev/null
	livctl reload
	sleep 0.1
	new=$(tail -n +"$((n0 + 1))" "$BATS_TEST_TMPDIR/livd.log")
	for c in who:2 verbs:1 clients:1 refresh:1 stats:1 send:2 poll:1 \
	    connect:1 reload:1; do
		name=${c%:*} want=${c#*:}
		got=$(grep -cE "(^|[^[:alnum:]_])$name([^[:alnum:]_]|$)" <<<"$new" || true)
		[ "$got" -ge "$want" ] || {
			echo "the log names '$name' $got times, expected $want or more:"
			printf '%s\n' "$new" | sed 's/^/  |/'
			return 1
		}
	done
	# A line about the page that connected names its uuid.
	grep -qF "$u" <<<"$new" || {
		echo "no log line names client $u:"
		printf '%s\n' "$new" | sed 's/^/  |/'
		return 1
	}
	# Every line has a timestamp and a level.
	run log_levels "$BATS_TEST_TMPDIR/livd.log"
	if grep -q '^BAD' <<<"$output"; then
		echo "log lines without a timestamp and a level:"
		grep '^BAD' <<<"$output"
		return 1
	fi
}

@test "log lines have a timestamp and a level; livd -q hides info lines but keeps warnings" {
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs.yaml"
	livd_start -V "$BATS_TEST_TMPDIR/verbs.yaml" -r 0.2
	livctl refresh 3
	livd_stop
	run log_levels "$BATS_TEST_TMPDIR/livd.log"
	if grep -q '^BAD' <<<"$output"; then
		echo "log lines without a timestamp and a level:"
		printf '%s\n' "$output"
		return 1
	fi
	# The default level tells what livd does (it started, it stopped).
	grep -q '^info' <<<"$output" || {
		echo "no info line at the default level:"
		printf '%s\n' "$output"
		return 1
	}
	# -q: the same, and a broken verbs file on SIGHUP (a warning).
	livd_start -q -V "$BATS_TEST_TMPDIR/verbs.yaml" -r 0.2
	livctl refresh 3
	u=$(connect /x alice)
	printf 'bogus: [\n' >>"$BATS_TEST_TMPDIR/verbs.yaml"
	kill -HUP "$LIVD_PID"
	for ((i = 0; i < 60; i++)); do
		grep -q verbs.yaml "$BATS_TEST_TMPDIR/livd.log" && break
		sleep 0.05
	done
	livd_stop
	run log_levels "$BATS_TEST_TMPDIR/livd.log"
	if grep -qE '^(BAD|info|debug|notice)' <<<"$output"; then
		echo "livd -q logged info lines (or lines without a level):"
		printf '%s\n' "$output"
		return 1
	fi
	grep -qE "^warn(ing)?	.*verbs\.yaml:[0-9]+:" <<<"$output" || {
		echo "livd -q did not log the broken verbs file as a warning:"
		printf '%s\n' "$output"
		return 1
	}
}

@test "livctl stats: key: value lines; livctl -j stats: one JSON object; both agree with GET /metrics" {
	livd_start -r 0.2
	u=$(connect /x alice)
	livctl send -l /x append t one
	livctl send -l /x append t two
	output "$u" >/dev/null
	run --separate-stderr livctl stats
	assert_status 0
	assert_eq "$stderr" ""
	[ "${#lines[@]}" -gt 3 ]
	for l in "${lines[@]}"; do
		[[ $l =~ ^[a-z_][a-z0-9_.]*:\ [^\ ].*$ ]] || {
			echo "not a key: value line: [$l]"
			return 1
		}
	done
	grep -qx 'events: 2' <<<"$output"
	run --separate-stderr livctl -j stats
	assert_status 0
	assert_eq "${#lines[@]}" 1
	printf '%s\n' "$output" | jassert 'isinstance(d, dict) and d.get("ok") is True
	    and d["events"] == 2 and d["clients"] == 1'
	json=$output
	metrics_to "$BATS_TEST_TMPDIR/m"
	for pair in events:livd_events_total clients:livd_clients \
	    resyncs:livd_resyncs_total bytes_out:livd_bytes_out_total; do
		key=${pair%%:*} sample=${pair#*:}
		want=$(prom get "$BATS_TEST_TMPDIR/m" "$sample")
		printf '%s\n' "$json" | jassert "d['$key'] == $want"
	done
	# Deliveries by verb, in both.
	assert_eq "$(prom get "$BATS_TEST_TMPDIR/m" 'livd_deliveries_total{verb="append"}')" 2
	printf '%s\n' "$json" | jassert 'd["deliveries"]["append"] == 2'
}

@test "GET /metrics: Prometheus text with the livd_ names, a poll-wait histogram and the fan-out time" {
	livd_start -r 0.2
	u=$(connect /x alice)
	livctl send -l /x append t one
	output "$u" >/dev/null
	run curl -s -f --max-time 5 -D "$BATS_TEST_TMPDIR/head" -o "$BATS_TEST_TMPDIR/m" "$URL/metrics"
	assert_status 0
	grep -qi '^content-type: text/plain' "$BATS_TEST_TMPDIR/head" || {
		echo "content type:"; cat "$BATS_TEST_TMPDIR/head"; return 1
	}
	run prom format "$BATS_TEST_TMPDIR/m"
	assert_status 0
	m="$BATS_TEST_TMPDIR/m"
	for pair in livd_clients:gauge livd_polls_pending:gauge \
	    livd_events_total:counter livd_deliveries_total:counter \
	    livd_resyncs_total:counter livd_input_rejected_total:counter \
	    livd_bytes_out_total:counter livd_poll_wait_seconds:histogram \
	    livd_fanout_seconds:histogram; do
		assert_eq "${pair%%:*} $(prom type "$m" "${pair%%:*}")" "${pair%%:*} ${pair#*:}"
	done
	assert_eq "$(prom get "$m" livd_clients)" 1
	assert_eq "$(prom get "$m" livd_events_total)" 1
	assert_eq "$(prom get "$m" 'livd_deliveries_total{verb="append"}')" 1
	prom get "$m" livd_resyncs_total >/dev/null
	prom get "$m" livd_bytes_out_total >/dev/null
	prom get "$m" livd_poll_wait_seconds_count >/dev/null
	prom get "$m" 'livd_poll_wait_seconds_bucket{le="+Inf"}' >/dev/null
	prom get "$m" livd_fanout_seconds_count >/dev/null
	# Rejected input is counted by reason: label reason="...".
	grep -qE '^livd_input_rejected_total\{reason="[a-z_]+"\} [0-9]' "$m"
}

@test "GET /metrics: counters move as events flow, and only grow" {
	livd_start -r 2
	a=$(connect /x alice)
	b=$(connect /x bob)
	m0="$BATS_TEST_TMPDIR/m0" m1="$BATS_TEST_TMPDIR/m1" m2="$BATS_TEST_TMPDIR/m2"
	metrics_to "$m0"
	# A poll held, then an event that answers it: poll wait and fan-out.
	poll_bg pa "$a"
	for ((i = 0; i < 100; i++)); do
		metrics_to "$m1"
		[ "$(prom get "$m1" livd_polls_pending)" = 1 ] && break
		sleep 0.05
	done
	assert_eq "$(prom get "$m1" livd_polls_pending)" 1
	livctl send -l /x append t one
	wait_for "$BG_PID"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/pa.code")" 200
	output "$b" >/dev/null
	# Input the browser may not send: counted by reason.
	run input "$a" verb=special id=t
	assert_eq "${lines[0]}" 400
	run input "$a" verb=remove id=t
	assert_eq "${lines[0]}" 403
	run input "$a" verb=append id=t
	assert_eq "${lines[0]}" 400
	metrics_to "$m1"
	run prom grow "$m0" "$m1"
	assert_status 0
	assert_rose "$m0" "$m1" livd_events_total 1
	assert_rose "$m0" "$m1" 'livd_deliveries_total{verb="append"}' 2
	assert_rose "$m0" "$m1" livd_bytes_out_total 1
	assert_rose "$m0" "$m1" livd_poll_wait_seconds_count 1
	assert_rose "$m0" "$m1" livd_fanout_seconds_count 1
	assert_rose "$m0" "$m1" 'livd_input_rejected_total{reason="unknown_verb"}' 1
	assert_rose "$m0" "$m1" 'livd_input_rejected_total{reason="not_from_client"}' 1
	assert_rose "$m0" "$m1" 'livd_input_rejected_total{reason="bad_arguments"}' 1
	assert_eq "$(prom get "$m1" livd_polls_pending)" 0
	# A page leaves: the clients gauge falls, no counter does.
	curl -s -f --max-time 5 -X POST "$URL/client/$b/close" >/dev/null
	livctl send -l /x text t two
	metrics_to "$m2"
	assert_eq "$(prom get "$m2" livd_clients)" 1
	run prom grow "$m1" "$m2"
	assert_status 0
	assert_rose "$m1" "$m2" livd_events_total 1
	assert_rose "$m1" "$m2" 'livd_deliveries_total{verb="text"}' 1
}

@test "GET /metrics: livd_resyncs_total counts a client that fell behind" {
	printf 'queue_limit: 2\nhistory_limit: 2\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml" -r 0.2
	u=$(connect /x alice)
	metrics_to "$BATS_TEST_TMPDIR/m0"
	for i in 1 2 3 4 5; do
		livctl send -c "$u" append t "$i"
	done
	output "$u" | jassert '[e["verb"] for e in d["events"]] == ["reload"]'
	metrics_to "$BATS_TEST_TMPDIR/m1"
	assert_rose "$BATS_TEST_TMPDIR/m0" "$BATS_TEST_TMPDIR/m1" livd_resyncs_total 1
	run livctl -j stats
	printf '%s\n' "$output" | jassert 'd["resyncs"] >= 1'
}

@test "livctl tail prints every event in text form, each flushed as it is sent" {
	livd_start -r 0.2
	a=$(connect /a alice)
	connect /b bob >/dev/null
	tail_start tail
	# Each event shows before the next is sent.
	livctl send -l /a append log 'line 1'
	wait_line "$TAILOUT" 'line 1'
	livctl send -l /b update box '<b>line 2</b>'
	wait_line "$TAILOUT" '<b>line 2</b>'
	livctl send -c "$a" attr box class 'big  line 3'
	wait_line "$TAILOUT" 'big  line 3'
	livctl send -p bob remove line4
	wait_line "$TAILOUT" 'remove'
	livctl send reload
	wait_line "$TAILOUT" reload
	run no_warmups
	assert_lines 'append log' 'line 1' 'update box' '<b>line 2</b>' \
	    'attr box class' 'big  line 3' remove line4 reload
}

@test "livctl tail -l LOCATION prints only the events that go there" {
	livd_start -r 0.2
	a=$(connect /a alice)
	b=$(connect /b bob)
	WARMTO=/a tail_start tail -l /a
	livctl send -l /b append log not-here-1
	livctl send -l /a append log here-1
	wait_line "$TAILOUT" here-1
	livctl send -c "$b" append log not-here-2
	livctl send -c "$a" append log here-2
	wait_line "$TAILOUT" here-2
	livctl send -p bob append log not-here-3
	livctl send -p alice append log here-3
	wait_line "$TAILOUT" here-3
	livctl send append log everyone
	wait_line "$TAILOUT" everyone
	run no_warmups
	assert_lines 'append log' here-1 'append log' here-2 'append log' here-3 \
	    'append log' everyone
}

@test "livctl -j tail prints one JSON line per event as it is sent" {
	livd_start -r 0.2
	connect /a alice >/dev/null
	TAILOUT="$BATS_TEST_TMPDIR/tail.out"
	"$LIVCTL" -j tail >"$TAILOUT" 2>"$BATS_TEST_TMPDIR/tail.err" </dev/null 3>&- &
	bg_track $!
	for ((i = 0; i < 100; i++)); do
		livctl send -l /warm append warm ping
		sleep 0.05
		grep -q ping "$TAILOUT" && break
	done
	n0=$(wc -l <"$TAILOUT")
	for i in 1 2 3; do
		livctl send -l /a append log "json $i"
		for ((k = 0; k < 60; k++)); do
			grep -qF "json $i" "$TAILOUT" && break
			sleep 0.05
		done
		grep -qF "json $i" "$TAILOUT" || {
			echo "event $i not shown:"; cat "$TAILOUT"; return 1
		}
	done
	livctl send -l /a reload
	for ((k = 0; k < 60; k++)); do
		[ "$(wc -l <"$TAILOUT")" -ge $((n0 + 4)) ] && break
		sleep 0.05
	done
	# Every line is one JSON object; the events' lines come one each, in
	# order (an {"ok": true} answer may stand first).
	python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
events = []
for i, line in enumerate(lines):
    d = json.loads(line)
    assert isinstance(d, dict), line
    if i == 0 and d == {"ok": True}:
        continue
    e = d.get("event", d)
    assert "verb" in e, line
    if e.get("id") != "warm":
        events.append({k: v for k, v in e.items() if k != "seq"})
want = [{"verb": "append", "id": "log", "html": "json %d" % i} for i in (1, 2, 3)]
want.append({"verb": "reload"})
assert events == want, events
' "$TAILOUT"
}

@test "livctl clients -v adds idle seconds and queue length after UUID PRINCIPAL LOCATION" {
	livd_start -r 0.2
	a=$(connect /a alice)
	b=$(connect /b bob)
	livctl send -l /a append t one
	livctl send -l /a append t two
	livctl send -c "$b" append t three
	sleep 1
	# Plain clients: exactly the contract's three columns.
	run livctl clients
	assert_status 0
	assert_lines "$a alice /a" "$b bob /b"
	run livctl clients -v
	assert_status 0
	assert_eq "${#lines[@]}" 2
	read -r u p l idle queue extra <<<"${lines[0]}"
	assert_eq "$u $p $l" "$a alice /a"
	assert_eq "$extra" ""
	[[ $idle =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "idle: [$idle]"; return 1; }
	python3 -c 'import sys; sys.exit(0 if 1 <= float(sys.argv[1]) < 30 else 1)' "$idle" || {
		echo "idle $idle after a second without a poll"
		return 1
	}
	assert_eq "$queue" 2
	read -r u p l idle queue extra <<<"${lines[1]}"
	assert_eq "$u $p $l $queue" "$b bob /b 1"
	# Acknowledged events leave the queue; a poll makes the client fresh.
	seq=$(output "$a" | jget 'd["seq"]')
	output "$a" "since=$seq" >/dev/null
	run livctl clients -v /a
	assert_status 0
	read -r u p l idle queue extra <<<"${lines[0]}"
	assert_eq "$u $queue" "$a 0"
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1 else 1)' "$idle" || {
		echo "idle $idle right after a poll"
		return 1
	}
	run livctl clients --verbose /b
	assert_status 0
	assert_eq "$(cut -d' ' -f1-3,5 <<<"$output")" "$b bob /b 1"
}

@test "livctl send --dry-run / -n prints who would receive, sends nothing" {
	livd_start -r 0.3
	a1=$(connect /a alice)
	a2=$(connect /a bob)
	b1=$(connect /b alice)
	c1=$(connect /c carol)
	clients_a=$(livctl clients /a)
	run --separate-stderr livctl send -n -l /a append t hi
	assert_status 0
	assert_eq "$stderr" ""
	assert_eq "$output" "$clients_a"
	assert_eq "${#lines[@]}" 2
	run livctl send --dry-run -p alice append t hi
	assert_status 0
	assert_eq "$output" "$(livctl clients | grep -E '^[0-9a-f]{32} alice ')"
	assert_eq "${#lines[@]}" 2
	run livctl send -n -c "$c1" reload
	assert_status 0
	assert_lines "$c1 carol /c"
	run livctl send -n text t everyone
	assert_status 0
	assert_eq "$output" "$(livctl clients)"
	assert_eq "${#lines[@]}" 4
	# Nobody got anything, and nothing was counted as sent.
	run livctl -j stats
	printf '%s\n' "$output" | jassert 'd["events"] == 0'
	for u in "$a1" "$a2" "$b1" "$c1"; do
		run livctl poll "$u"
		assert_lines idle
	done
	# A dry run nobody would receive prints nothing.
	run --separate-stderr livctl send -n -l /nowhere append t hi
	assert_status 0
	assert_eq "$output" ""
	# A bad event is refused as send refuses it.
	for args in "-l /a special t hi" "-l /a append t" "-l /a remove t extra"; do
		run --separate-stderr livctl send $args
		want_status=$status want_err=$stderr
		run --separate-stderr livctl send -n $args
		assert_eq "$status $stderr" "$want_status $want_err"
		assert_eq "$output" ""
	done
	assert_eq "$want_status" 1
	run --separate-stderr livctl send --dry-run -l /a special t hi
	assert_status 1
	assert_eq "$stderr" "livctl: unknown verb 'special'"
}

@test "livctl send -: JSON lines to many locations go over one connection" {
	livd_start -r 0.2
	declare -A u
	for i in 1 2 3 4 5 6 7 8 9 10; do
		u[$i]=$(connect "/loc$i" "p$i")
	done
	count_proxy
	for i in 1 2 3 4 5 6 7 8 9 10; do
		printf '{"verb": "append", "id": "t", "html": "to %s", "location": "/loc%s"}\n' "$i" "$i"
	done | "$LIVCTL" -s "$BATS_TEST_TMPDIR/proxy.sock" send -
	assert_eq "$(cat "$BATS_TEST_TMPDIR/count")" 1
	for i in 1 2 3 4 5 6 7 8 9 10; do
		run livctl poll "${u[$i]}"
		assert_lines 'append t' "to $i"
	done
}

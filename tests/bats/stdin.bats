#!/usr/bin/env bats
# livctl send -: events from stdin, one a line, over one connection.

load helper

@test "send -: VERB ARG... lines, the last argument is the rest of the line" {
	livd_start -r 0.2
	u=$(connect /log ops)
	run --separate-stderr livctl send -l /log - <<-'EOF'
	append log <b>a b</b>
	attr box class big  small
	remove gone
	reload
	EOF
	assert_status 0
	assert_eq "$output" ""
	assert_eq "$stderr" ""
	output "$u" | jassert '[{k: v for k, v in e.items() if k != "seq"} for e in d["events"]] == [
	    {"verb": "append", "id": "log", "html": "<b>a b</b>"},
	    {"verb": "attr", "id": "box", "name": "class", "value": "big  small"},
	    {"verb": "remove", "id": "gone"},
	    {"verb": "reload"}]'
}

@test "send -: blank lines and # lines are skipped" {
	livd_start -r 0.2
	u=$(connect /log ops)
	run --separate-stderr livctl send -l /log - <<-'EOF'

	# a comment
	   
	append log one

	#append log not-sent
	append log two
	EOF
	assert_status 0
	assert_eq "$stderr" ""
	run livctl poll "$u"
	assert_lines 'append log' one 'append log' two
}

@test "send -: a bad line is reported as livctl: stdin:LINE: message, the rest is still sent, exit 1" {
	livd_start -r 0.2
	u=$(connect /log ops)
	run --separate-stderr livctl send -l /log - <<-'EOF'
	append log one
	special 42

	# comment
	append log
	{"verb": "append", "id": "log"
	append log two
	EOF
	assert_status 1
	assert_eq "$output" ""
	# One line per bad input line, in whatever order they are found.
	assert_eq "${#stderr_lines[@]}" 3
	sorted=$(printf '%s\n' "$stderr" | sort)
	grep -qxF "livctl: stdin:2: unknown verb 'special'" <<<"$sorted"
	grep -qxF "livctl: stdin:5: verb 'append' needs argument 'html'" <<<"$sorted"
	grep -qE '^livctl: stdin:6: .+' <<<"$sorted"
	run livctl poll "$u"
	assert_lines 'append log' one 'append log' two
}

@test "send -: JSON lines with verb and named arguments go to the command line's target" {
	livd_start -r 0.2
	u=$(connect /log ops)
	v=$(connect /other ops2)
	run --separate-stderr livctl send -l /log - <<-'EOF'
	{"verb": "append", "id": "log", "html": "<i>j</i>"}
	{"verb": "reload"}
	EOF
	assert_status 0
	assert_eq "$stderr" ""
	run livctl poll "$u"
	assert_lines 'append log' '<i>j</i>' reload
	run livctl poll "$v"
	assert_lines idle
}

@test "send -: a JSON line's own target wins over the command line's" {
	livd_start -r 0.2
	l=$(connect /log ops)
	o=$(connect /other ops2)
	c=$(connect /third solo)
	p=$(connect /fourth alice)
	run --separate-stderr livctl send -l /log - <<-EOF
	append log plain
	{"verb": "append", "id": "log", "html": "to-other", "location": "/other"}
	{"verb": "append", "id": "log", "html": "to-client", "client": "$c"}
	{"verb": "append", "id": "log", "html": "to-alice", "principal": "alice"}
	EOF
	assert_status 0
	assert_eq "$stderr" ""
	run livctl poll "$l"
	assert_lines 'append log' plain
	run livctl poll "$o"
	assert_lines 'append log' to-other
	run livctl poll "$c"
	assert_lines 'append log' to-client
	run livctl poll "$p"
	assert_lines 'append log' to-alice
}

@test "send -c UUID - and send -p PRINCIPAL -: text lines go to that target" {
	livd_start -r 0.2
	a=$(connect /x alice)
	b=$(connect /x bob)
	printf 'append t for-a\n' | livctl send -c "$a" -
	printf 'append t for-bob\n' | livctl send -p bob -
	run livctl poll "$a"
	assert_lines 'append t' for-a
	run livctl poll "$b"
	assert_lines 'append t' for-bob
}

@test "send -: without a target flag, every client" {
	livd_start -r 0.2
	a=$(connect /x alice)
	b=$(connect /y bob)
	printf 'append t everyone\n' | livctl send -
	run livctl poll "$a"
	assert_lines 'append t' everyone
	run livctl poll "$b"
	assert_lines 'append t' everyone
}

@test "send -: all lines go over one connection" {
	livd_start -r 0.2
	u=$(connect /log ops)
	count_proxy
	for i in 1 2 3 4 5 6 7 8 9 10; do
		echo "append log line $i"
	done | "$LIVCTL" -s "$BATS_TEST_TMPDIR/proxy.sock" send -l /log -
	assert_eq "$(cat "$BATS_TEST_TMPDIR/count")" 1
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["line %d" % i for i in range(1, 11)]'
}

@test "send -: lines are sent as they are read, not at the end of input" {
	livd_start -r 3
	u=$(connect /log ops)
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	"$LIVCTL" send -l /log - <"$BATS_TEST_TMPDIR/fifo" \
	    >"$BATS_TEST_TMPDIR/send.out" 2>"$BATS_TEST_TMPDIR/send.err" 3>&- &
	pid=$!
	bg_track "$pid"
	exec 5>"$BATS_TEST_TMPDIR/fifo"
	echo 'append log first' >&5
	t0=$(now)
	run livctl poll "$u"
	t1=$(now)
	assert_lines 'append log' first
	elapsed_between "$t1" "$t0" 0 2
	running "$pid"
	echo 'special 1' >&5
	echo 'append log second' >&5
	run livctl poll "$u"
	assert_lines 'append log' second
	running "$pid"
	exec 5>&-
	wait_for "$pid" 5
	assert_eq "$WAIT_STATUS" 1
	assert_eq "$(cat "$BATS_TEST_TMPDIR/send.err")" "livctl: stdin:2: unknown verb 'special'"
}

@test "send -: many lines, all delivered in order" {
	livd_start -r 0.2
	u=$(connect /log ops)
	seq 1 500 | sed 's/^/append log n/' | livctl send -l /log -
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["n%d" % i for i in range(1, 501)]'
}

@test "send -: a last line without a newline is sent too" {
	livd_start -r 0.2
	u=$(connect /log ops)
	printf 'append log a\nappend log b' | livctl send -l /log -
	run livctl poll "$u"
	assert_lines 'append log' a 'append log' b
}

@test "send -: a line livd refuses is reported with its line number too" {
	livd_start -r 0.2
	u=$(connect /log ops)
	run --separate-stderr livctl send -l /log - <<-EOF
	append log one
	{"verb": "append", "id": "log", "html": "x", "client": "$NOUUID"}
	append log two
	EOF
	assert_status 1
	[ "${#stderr_lines[@]}" = 1 ]
	[[ $stderr == "livctl: stdin:2: "?* ]]
	run livctl poll "$u"
	assert_lines 'append log' one 'append log' two
}

@test "send -n -: each line prints who would receive it, and nothing is sent" {
	livd_start -r 0.2
	u=$(connect /log ops)
	run --separate-stderr livctl send -n -l /log - <<-'EOF'
	append log one
	append log two
	EOF
	assert_status 0
	assert_eq "$stderr" ""
	assert_lines "$u ops /log" "$u ops /log"
	run livctl poll "$u"
	assert_eq "$output" idle
}

#!/usr/bin/env bats
# livctl: every command (but shell), its text output, -j, -s and the
# socket it finds by itself.

load helper

SHIPPED_VERB_LINES=(
	'after id html' 'append id html' 'attr id name value' 'before id html'
	'change argument' 'prepend id html' 'reload' 'remove id'
	'replace id html' 'text id text' 'update id html'
)

@test "livctl -s SOCKET wins over LIVD_SOCKET" {
	livd_start
	LIVD_SOCKET="$BATS_TEST_TMPDIR/nothing-here.sock" run livctl -s "$SOCK" status
	assert_status 0
	LIVD_SOCKET="$SOCK" run livctl status
	assert_status 0
}

@test "socket: livd and livctl both default to \$LIVD_SOCKET" {
	SOCK="$BATS_TEST_TMPDIR/env.sock"
	LIVD_SOCKET="$SOCK" XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/xdg" \
	    livd_spawn -l 127.0.0.1:0
	[ -S "$SOCK" ]
	[ ! -e "$BATS_TEST_TMPDIR/xdg/livd.sock" ]
	LIVD_SOCKET="$SOCK" XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/xdg" run livctl status
	assert_status 0
	assert_contains "$output" "socket: $SOCK"
}

@test "socket: without LIVD_SOCKET, livd and livctl use \$XDG_RUNTIME_DIR/livd.sock" {
	mkdir -m 700 "$BATS_TEST_TMPDIR/xdg"
	SOCK="$BATS_TEST_TMPDIR/xdg/livd.sock"
	XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/xdg" livd_spawn -l 127.0.0.1:0
	[ -S "$SOCK" ]
	unset LIVD_SOCKET
	XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/xdg" run livctl status
	assert_status 0
	assert_contains "$output" "socket: $SOCK"
}

@test "socket: with neither variable, livd and livctl use /tmp/livd-UID/livd.sock" {
	path="/tmp/livd-$(id -u)/livd.sock"
	run --separate-stderr env -u LIVD_SOCKET -u XDG_RUNTIME_DIR "$LIVCTL" status
	if [ "$status" = 0 ]; then
		# Some other livd runs there: it says so; leave it alone.
		assert_contains "$output" "socket: $path"
		return 0
	fi
	assert_status 3
	[[ $stderr == "livctl: cannot connect to $path: "?* ]]
	SOCK=$path
	unset XDG_RUNTIME_DIR
	livd_spawn -l 127.0.0.1:0
	[ -S "$path" ]
	run env -u LIVD_SOCKET -u XDG_RUNTIME_DIR "$LIVCTL" status
	assert_status 0
	assert_contains "$output" "socket: $path"
	livd_stop TERM
	[ ! -e "$path" ]
}

@test "send: no target flag reaches every client; -l, -c and -p narrow it" {
	livd_start -r 0.2
	a1=$(connect /a uwe)
	a2=$(connect /a dominik)
	b1=$(connect /b uwe)
	c1=$(connect /c carol)
	run --separate-stderr livctl send append t all
	assert_status 0
	assert_eq "$output" ""
	assert_eq "$stderr" ""
	livctl send -l /a append t loc-a
	livctl send -c "$c1" append t client-c1
	livctl send -p uwe append t principal-uwe
	run livctl poll "$a1"
	assert_lines 'append t' all 'append t' loc-a 'append t' principal-uwe
	run livctl poll "$a2"
	assert_lines 'append t' all 'append t' loc-a
	run livctl poll "$b1"
	assert_lines 'append t' all 'append t' principal-uwe
	run livctl poll "$c1"
	assert_lines 'append t' all 'append t' client-c1
}

@test "send: exactly the verb's arguments, one a word" {
	livd_start -r 0.2
	u=$(connect /a uwe)
	run livctl send -l /a append target '<p class="x">one word</p>'
	assert_status 0
	run livctl poll "$u"
	assert_lines 'append target' '<p class="x">one word</p>'
	run livctl send -l /a append target '<p>a' 'b</p>'
	assert_status 1
	run livctl send -l /a attr box class big
	assert_status 0
	run livctl send -l /a reload
	assert_status 0
	run livctl send -l /a reload now
	assert_status 1
	run livctl poll "$u"
	assert_lines 'attr box class' big reload
}

@test "send: refused requests exit 1 with livd's message on stderr" {
	livd_start
	run --separate-stderr livctl send special 42
	assert_status 1
	assert_eq "$stderr" "livctl: unknown verb 'special'"
	assert_eq "$output" ""
	run --separate-stderr livctl send append target
	assert_status 1
	assert_eq "$stderr" "livctl: verb 'append' needs argument 'html'"
	run --separate-stderr livctl send -c "$NOUUID" append target x
	assert_status 1
	[[ $stderr == livctl:\ ?* ]]
}

@test "send -j: prints livd's answer {\"ok\": true, \"seq\": N, \"reached\": M}" {
	livd_start
	connect /a uwe >/dev/null
	connect /a dominik >/dev/null
	connect /b carol >/dev/null
	run --separate-stderr livctl -j send -l /a append target x
	assert_status 0
	printf '%s' "$output" | jassert 'd["ok"] is True and isinstance(d["seq"], int) and d["reached"] == 2'
	s1=$(printf '%s' "$output" | jget 'd["seq"]')
	run livctl -j send append target y
	printf '%s' "$output" | jassert 'd["ok"] is True and d["reached"] == 3 and d["seq"] > '"$s1"
	run --separate-stderr livctl -j send special 42
	assert_status 1
	printf '%s' "$output" | jassert 'd == {"ok": False, "error": "unknown verb '"'special'"'"}'
}

@test "who LOCATION: the principals online there, sorted, unique, one a line" {
	livd_start
	for p in zorg.member.uwe zorg.member.dominik zorg.member.uwe anna Zed; do
		connect /chat "$p" >/dev/null
	done
	connect /other bob >/dev/null
	run --separate-stderr livctl who /chat
	assert_status 0
	assert_lines Zed anna zorg.member.dominik zorg.member.uwe
	run livctl who /nobody-here
	assert_status 0
	assert_eq "$output" ""
}

@test "who: without LOCATION, LOCATION PRINCIPAL lines, sorted, unique" {
	livd_start
	connect /chat zorg.member.uwe >/dev/null
	connect /chat zorg.member.dominik >/dev/null
	connect /chat zorg.member.uwe >/dev/null
	connect /b zorg.member.uwe >/dev/null
	connect /a bob >/dev/null
	run --separate-stderr livctl who
	assert_status 0
	assert_lines '/a bob' '/b zorg.member.uwe' '/chat zorg.member.dominik' \
	    '/chat zorg.member.uwe'
}

@test "refresh: prints the interval as %g; sets it for polls from now on" {
	livd_start
	run --separate-stderr livctl refresh
	assert_status 0
	assert_lines 25
	run livctl refresh 0.1
	assert_status 0
	run livctl refresh
	assert_lines 0.1
	run livctl refresh 2.5
	assert_status 0
	run livctl refresh
	assert_lines 2.5
	run livctl refresh 3600
	assert_status 0
	run livctl refresh
	assert_lines 3600
	run livctl status
	assert_contains "$output" "refresh: 3600"
}

@test "refresh: 0 < SECONDS <= 3600, else livd refuses (exit 1) and keeps the interval" {
	livd_start -r 0.5
	for s in 0 3600.5 3601 100000; do
		run --separate-stderr livctl refresh "$s"
		assert_status 1
		[[ $stderr == livctl:\ ?* ]]
	done
	run livctl refresh
	assert_lines 0.5
}

@test "refresh: a malformed number is a usage error (exit 2)" {
	livd_start -r 0.5
	for s in abc 1x 0.1.2 ''; do
		run --separate-stderr livctl refresh "$s"
		assert_status 2
	done
	run livctl refresh
	assert_lines 0.5
}

@test "refresh -l LOCATION: a name connect refuses (over 1024 bytes) is refused alike (exit 1); nothing is recorded" {
	state="$BATS_TEST_TMPDIR/state.json"
	printf 'state_file: %s\n' "$state" >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 0.5 -c "$BATS_TEST_TMPDIR/livd.yaml"
	long="/$(printf 'a%.0s' {1..2000})"
	run --separate-stderr livctl connect -l "$long" -p uwe
	assert_status 1
	assert_eq "$stderr" "livctl: invalid location"
	run --separate-stderr livctl refresh -l "$long" 5
	assert_status 1
	assert_eq "$stderr" "livctl: invalid location"
	run --separate-stderr livctl refresh -l "$long"
	assert_status 1
	assert_eq "$stderr" "livctl: invalid location"
	run livctl refresh
	assert_lines 0.5
	# The state file lists every location livd keeps: none.
	livd_stop
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["locations"] == [] and d["refresh"] == 0.5, d' "$state"
}

@test "refresh -l LOCATION: for that location only, overriding the global one there" {
	livd_start -r 0.5
	u=$(connect /fast uwe)
	run livctl refresh -l /fast 0.1
	assert_status 0
	run livctl refresh -l /fast
	assert_lines 0.1
	run livctl refresh
	assert_lines 0.5
	run livctl refresh 3
	run livctl refresh -l /fast
	assert_lines 0.1
	run livctl refresh -l /slow
	assert_lines 3
	t0=$(now)
	run livctl poll "$u"
	t1=$(now)
	assert_lines idle
	elapsed_between "$t1" "$t0" 0.08 2
}

@test "verbs: VERB ARG... lines, sorted (the shipped table)" {
	livd_start
	run --separate-stderr livctl verbs
	assert_status 0
	assert_eq "$output" "$(printf '%s\n' "$output" | sort)"
	for l in "${SHIPPED_VERB_LINES[@]}"; do
		printf '%s\n' "$output" | grep -qxF "$l" || {
			echo "missing: $l"
			return 1
		}
	done
}

@test "verbs: exactly the verbs file's table" {
	cat >"$BATS_TEST_TMPDIR/verbs.yaml" <<-'YAML'
	zeta:
	  args: [b, a]
	alpha:
	  args: []
	mid:
	  args: [id, html]
	  dom: inner
	YAML
	livd_start -V "$BATS_TEST_TMPDIR/verbs.yaml"
	run livctl verbs
	assert_status 0
	assert_lines alpha 'mid id html' 'zeta b a'
}

@test "connect -l LOCATION [-p PRINCIPAL]: registers a client and prints its uuid" {
	livd_start -r 0.2
	run --separate-stderr livctl connect -l /chat -p zorg.member.uwe
	assert_status 0
	[[ $output =~ ^[0-9a-f]{32}$ ]]
	u=$output
	run livctl connect -l /chat
	assert_status 0
	[[ $output =~ ^[0-9a-f]{32}$ ]]
	run livctl who /chat
	assert_lines anonymous zorg.member.uwe
	livctl send -l /chat append target x
	curl -s "$URL/client/$u/output" | jassert '[e["html"] for e in d["events"]] == ["x"]'
	run livctl connect -p uwe
	[ "$status" -ne 0 ]
}

@test "clients [LOCATION]: UUID PRINCIPAL LOCATION lines" {
	livd_start
	a=$(connect /a uwe)
	b=$(connect /b dominik)
	c=$(connect /a anna)
	run --separate-stderr livctl clients
	assert_status 0
	assert_eq "$(printf '%s\n' "$output" | sort)" \
	    "$(printf '%s\n' "$a uwe /a" "$b dominik /b" "$c anna /a" | sort)"
	run livctl clients /a
	assert_status 0
	assert_eq "$(printf '%s\n' "$output" | sort)" \
	    "$(printf '%s\n' "$a uwe /a" "$c anna /a" | sort)"
	run livctl clients /none
	assert_status 0
	assert_eq "$output" ""
}

@test "poll UUID: prints the events in text form and acknowledges them" {
	livd_start -r 0.2
	u=$(connect /chat uwe)
	livctl send -l /chat append target '<p>1</p>'
	livctl send -c "$u" remove old
	livctl send -l /chat attr box class big
	livctl send reload
	run --separate-stderr livctl poll "$u"
	assert_status 0
	assert_lines 'append target' '<p>1</p>' remove old 'attr box class' big reload
	run livctl poll "$u"
	assert_lines idle
	livctl send -l /chat text t newer
	run livctl poll "$u"
	assert_lines 'text t' newer
}

@test "poll UUID: a held poll prints the event as soon as it is sent" {
	livd_start
	u=$(connect /chat uwe)
	"$LIVCTL" poll "$u" >"$BATS_TEST_TMPDIR/poll.out" 2>&1 3>&- &
	pid=$!
	bg_track "$pid"
	sleep 0.3
	running "$pid"
	livctl send -c "$u" append target '<p>42</p>'
	wait_for "$pid" 2
	assert_eq "$WAIT_STATUS" 0
	assert_eq "$(cat "$BATS_TEST_TMPDIR/poll.out")" $'append target\n<p>42</p>'
}

@test "poll UUID: an unknown uuid is refused (exit 1)" {
	livd_start
	run --separate-stderr livctl poll "$NOUUID"
	assert_status 1
	[[ $stderr == livctl:\ ?* ]]
	assert_eq "$output" ""
}

@test "status: key: value lines version, uptime, listen, socket, clients, refresh" {
	livd_start
	connect /a uwe >/dev/null
	connect /b dominik >/dev/null
	run --separate-stderr livctl status
	assert_status 0
	keys=$(printf '%s\n' "$output" | sed -n 's/^\([a-z_]*\): .*/\1/p' | tr '\n' ' ')
	for k in version uptime listen socket clients refresh; do
		assert_contains " $keys" " $k "
	done
	# Every line is key: value.
	! printf '%s\n' "$output" | grep -vqE '^[a-z_]+: .+$'
	assert_contains "$output" "listen: 127.0.0.1:$PORT"
	assert_contains "$output" "socket: $SOCK"
	assert_contains "$output" $'\nclients: 2'
	assert_contains "$output" "refresh: 25"
	printf '%s\n' "$output" | grep -qE '^uptime: [0-9]'
	version=$(printf '%s\n' "$output" | sed -n 's/^version: //p')
	[ -n "$version" ]
	"$LIVD" --version | grep -qF "$version"
}

@test "reload: re-reads the config file" {
	printf 'refresh: 0.5\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml"
	run livctl refresh
	assert_lines 0.5
	printf 'refresh: 0.3\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	run --separate-stderr livctl reload
	assert_status 0
	assert_eq "$output" ""
	run livctl refresh
	assert_lines 0.3
}

@test "reload: a broken verbs file is refused with FILE:LINE and the old table stays" {
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs.yaml"
	livd_start -r 0.2 -V "$BATS_TEST_TMPDIR/verbs.yaml"
	u=$(connect /chat uwe)
	before=$(livctl verbs)
	printf 'special:\n  args: [arg]\n  colour: red\n' >"$BATS_TEST_TMPDIR/verbs.yaml"
	run --separate-stderr livctl reload
	assert_status 1
	[[ $stderr == "livctl: $BATS_TEST_TMPDIR/verbs.yaml:3: "?* ]]
	assert_eq "$(livctl verbs)" "$before"
	run livctl send special 42
	assert_status 1
	run livctl send -c "$u" append target x
	assert_status 0
	run livctl poll "$u"
	assert_lines 'append target' x
}

@test "reload: a broken config file is refused with FILE:LINE and the old config stays" {
	printf 'refresh: 0.5\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml"
	printf 'refresh: 0.3\nrefesh: 2\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	run --separate-stderr livctl reload
	assert_status 1
	[[ $stderr == "livctl: $BATS_TEST_TMPDIR/livd.yaml:2: "?* ]]
	run livctl refresh
	assert_lines 0.5
}

@test "-j prints the daemon's JSON answer instead of text" {
	livd_start -r 0.2
	u=$(connect /chat uwe)
	for cmd in status who verbs clients refresh "who /chat" "clients /chat"; do
		run livctl -j $cmd
		assert_status 0
		[ "${#lines[@]}" = 1 ]
		printf '%s' "$output" | jassert 'isinstance(d, dict) and d["ok"] is True'
	done
	livctl send -c "$u" append target x
	run livctl -j poll "$u"
	assert_status 0
	printf '%s' "$output" | jassert 'd["ok"] is True and [e["html"] for e in d["events"]] == ["x"]'
	run livctl -j connect -l /chat -p dominik
	printf '%s' "$output" | jassert 'd["ok"] is True and len(d["uuid"]) == 32'
}

@test "exit 2: an unknown command" {
	livd_start
	run --separate-stderr livctl frobnicate
	assert_status 2
	[[ $stderr == livctl:* ]] || [[ $stderr == usage:* ]]
}

@test "exit 2: an unknown option, global or of a command" {
	livd_start
	run livctl -Z status
	assert_status 2
	run livctl send -Z append target x
	assert_status 2
	run livctl who -Z
	assert_status 2
	run livctl poll -x "$NOUUID"
	assert_status 2
}

@test "exit 2: usage errors are reported even when livd is not reachable" {
	run livctl -s "$BATS_TEST_TMPDIR/none.sock" frobnicate
	assert_status 2
	run livctl -s "$BATS_TEST_TMPDIR/none.sock" refresh abc
	assert_status 2
	run livctl -s "$BATS_TEST_TMPDIR/none.sock" -Z status
	assert_status 2
}

@test "exit 3: livd not reachable: livctl: cannot connect to SOCKET: REASON" {
	sock="$BATS_TEST_TMPDIR/none.sock"
	for cmd in status who verbs clients "send append t x" refresh "poll $NOUUID" \
	    reload "connect -l /a"; do
		run --separate-stderr livctl -s "$sock" $cmd
		assert_status 3
		assert_eq "$stderr" "livctl: cannot connect to $sock: No such file or directory"
	done
	run --separate-stderr livctl -s "$sock" send -l /a - <<<'append t x'
	assert_status 3
	assert_eq "$stderr" "livctl: cannot connect to $sock: No such file or directory"
	LIVD_SOCKET="$sock" run --separate-stderr livctl status
	assert_status 3
	[[ $stderr == "livctl: cannot connect to $sock: "?* ]]
}

@test "exit 3: a socket file that nobody listens on" {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])' "$BATS_TEST_TMPDIR/dead.sock"
	run --separate-stderr livctl -s "$BATS_TEST_TMPDIR/dead.sock" status
	assert_status 3
	assert_eq "$stderr" "livctl: cannot connect to $BATS_TEST_TMPDIR/dead.sock: Connection refused"
}

@test "poll UUID: a browser's poll on the same uuid releases it with idle, and the other way round" {
	livd_start
	u=$(connect /chat uwe)
	"$LIVCTL" poll "$u" >"$BATS_TEST_TMPDIR/poll.out" 2>&1 3>&- &
	pid=$!
	bg_track "$pid"
	sleep 0.3
	running "$pid"
	poll_bg p1 "$u"
	wait_for "$pid" 2
	assert_eq "$WAIT_STATUS" 0
	assert_eq "$(cat "$BATS_TEST_TMPDIR/poll.out")" idle
	hp=$BG_PID
	sleep 0.2
	running "$hp"
	"$LIVCTL" poll "$u" >"$BATS_TEST_TMPDIR/poll2.out" 2>&1 3>&- &
	pid=$!
	bg_track "$pid"
	wait_for "$hp" 2
	jassert 'd["events"] == [] and d["idle"] is True' <"$BATS_TEST_TMPDIR/p1.body"
	livctl send -c "$u" append target x
	wait_for "$pid" 2
	assert_eq "$(cat "$BATS_TEST_TMPDIR/poll2.out")" $'append target\nx'
}

@test "poll UUID: events are acknowledged only once printed (a poll killed before printing loses nothing)" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	"$LIVCTL" poll "$u" >"$BATS_TEST_TMPDIR/poll.out" 2>&1 3>&- &
	pid=$!
	bg_track "$pid"
	sleep 0.2
	running "$pid"
	kill -STOP "$pid"
	livctl send -c "$u" append target '<p>42</p>'
	sleep 0.2
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	assert_eq "$(cat "$BATS_TEST_TMPDIR/poll.out")" ""
	run livctl poll "$u"
	assert_lines 'append target' '<p>42</p>'
}

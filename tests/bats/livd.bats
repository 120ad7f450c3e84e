#!/usr/bin/env bats
# livd's command line, the config file, and livd -t.

load helper

@test "livd -h prints the usage and exits 0" {
	run "$LIVD" -h
	assert_status 0
	assert_contains "$output" usage
	for opt in -c -l -s -V -r -t; do
		assert_contains "$output" "$opt"
	done
}

@test "livd --version prints the version livctl status reports" {
	run --separate-stderr "$LIVD" --version
	assert_status 0
	version=$output
	[ -n "$version" ]
	livd_start
	v=$(livctl status | sed -n 's/^version: //p')
	assert_contains "$version" "$v"
}

@test "livd: an unknown option is refused" {
	run "$LIVD" --no-such-option
	[ "$status" -ne 0 ]
	run "$LIVD" -Z
	[ "$status" -ne 0 ]
}

@test "livd runs in the foreground and logs to stderr" {
	livd_start
	running "$LIVD_PID"
	livctl send append t x >/dev/null
	livd_stop TERM
	[ -s "$BATS_TEST_TMPDIR/livd.log" ]
	[ ! -s "$BATS_TEST_TMPDIR/livd.out" ]
}

@test "-l: the default HTTP listen address is 127.0.0.1:8088" {
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	if python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8088))'; then
		livd_spawn -s "$SOCK"
		run livctl status
		assert_contains "$output" "listen: 127.0.0.1:8088"
		run curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8088/verbs.json
		assert_lines 200
	else
		# Port 8088 is taken: livd must fail to start, not pick another.
		run timeout 5 "$LIVD" -s "$SOCK"
		[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	fi
}

@test "-l PORT: a port alone is enough" {
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	livd_spawn -l 0 -s "$SOCK"
	[ -n "$PORT" ] && [ "$PORT" -gt 0 ]
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/verbs.json"
	assert_lines 200
}

@test "-l ADDR:PORT: livd listens there" {
	port=$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	livd_spawn -l "127.0.0.1:$port" -s "$SOCK"
	assert_eq "$PORT" "$port"
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/verbs.json"
	assert_lines 200
}

@test "-s SOCKET: the control socket is there" {
	livd_start
	[ -S "$BATS_TEST_TMPDIR/livd.sock" ]
	run livctl -s "$BATS_TEST_TMPDIR/livd.sock" status
	assert_status 0
}

@test "-V: without it, the source tree's verbs file when run from it" {
	livd_start
	expected=$(python3 -c '
import re, sys
names = re.findall(r"^([a-z][a-z0-9_-]*):", open(sys.argv[1]).read(), re.M)
print("\n".join(sorted(names)))' "$SHIPPED_VERBS")
	assert_eq "$(livctl verbs | cut -d' ' -f1)" "$expected"
}

@test "-r SECONDS: the refresh interval" {
	livd_start -r 0.2
	run livctl refresh
	assert_lines 0.2
	u=$(connect /a uwe)
	t0=$(now)
	output "$u" | jassert 'd["idle"] is True and d["refresh"] == 0.2'
	t1=$(now)
	elapsed_between "$t1" "$t0" 0.15 1.5
}

@test "-c: a YAML config file with listen, socket, verbs and refresh" {
	printf 'ping:\n  args: [a]\n' >"$BATS_TEST_TMPDIR/verbs.yaml"
	SOCK="$BATS_TEST_TMPDIR/from-config.sock"
	cat >"$BATS_TEST_TMPDIR/livd.yaml" <<-EOF
	listen: 127.0.0.1:0
	socket: $SOCK
	verbs: $BATS_TEST_TMPDIR/verbs.yaml
	refresh: 0.3
	EOF
	livd_spawn -c "$BATS_TEST_TMPDIR/livd.yaml"
	[ -S "$SOCK" ]
	run livctl verbs
	assert_lines 'ping a'
	run livctl refresh
	assert_lines 0.3
}

@test "-c: flags win over the file" {
	printf 'ping:\n  args: [a]\n' >"$BATS_TEST_TMPDIR/file-verbs.yaml"
	printf 'pong:\n  args: [b]\n' >"$BATS_TEST_TMPDIR/flag-verbs.yaml"
	cat >"$BATS_TEST_TMPDIR/livd.yaml" <<-EOF
	listen: 127.0.0.1:1
	socket: $BATS_TEST_TMPDIR/file.sock
	verbs: $BATS_TEST_TMPDIR/file-verbs.yaml
	refresh: 0.3
	EOF
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml" -r 0.2 \
	    -V "$BATS_TEST_TMPDIR/flag-verbs.yaml"
	[ -S "$BATS_TEST_TMPDIR/livd.sock" ]
	[ ! -e "$BATS_TEST_TMPDIR/file.sock" ]
	[ "$PORT" != 1 ]
	run livctl verbs
	assert_lines 'pong b'
	run livctl refresh
	assert_lines 0.2
}

@test "-c: auth: open (the default) takes the principal from the request" {
	printf 'auth: open\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml"
	curl -s -d location=/a -d principal=zorg.member.uwe "$URL/connect" |
	    jassert 'd["principal"] == "zorg.member.uwe"'
	run livctl who /a
	assert_lines zorg.member.uwe
}

@test "livd -t: a valid config and verbs file exit 0" {
	run "$LIVD" -t
	assert_status 0
	printf 'refresh: 0.5\nauth: open\nqueue_limit: 10\nhistory_limit: 5\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	run "$LIVD" -t -c "$BATS_TEST_TMPDIR/livd.yaml" -V "$SHIPPED_VERBS"
	assert_status 0
	# It only checks: no socket, no daemon.
	run "$LIVD" -t -s "$BATS_TEST_TMPDIR/t.sock"
	assert_status 0
	[ ! -e "$BATS_TEST_TMPDIR/t.sock" ]
}

# Run livd -t and check: exit 1, exactly one stderr line "FILE:LINE: ...".
check_t() {
	local file=$1 line=$2
	shift 2
	run --separate-stderr "$LIVD" -t "$@"
	assert_status 1
	assert_eq "${#stderr_lines[@]}" 1
	[[ $stderr == "$file:$line: "?* ]] || {
		echo "expected $file:$line: message, got: $stderr"
		return 1
	}
}

@test "livd -t: an unknown key in the verbs file is FILE:LINE: message" {
	f="$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'append:\n  args: [id, html]\n  dom: beforeend\n  colour: red\n' >"$f"
	check_t "$f" 4 -V "$f"
}

@test "livd -t: an unknown dom value is FILE:LINE: message" {
	f="$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'reload:\n  args: []\n\nappend:\n  args: [id, html]\n  dom: sideways\n' >"$f"
	check_t "$f" 6 -V "$f"
}

@test "livd -t: only the first error is printed" {
	f="$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'a:\n  args: [id, html]\n  dom: sideways\nb:\n  args: [x]\n  colour: red\n' >"$f"
	check_t "$f" 3 -V "$f"
}

@test "livd -t: a YAML syntax error in the verbs file is FILE:LINE: message" {
	f="$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'append:\n  args: [id, html\n  dom: beforeend\n' >"$f"
	run --separate-stderr "$LIVD" -t -V "$f"
	assert_status 1
	[[ $stderr =~ ^"$f":[0-9]+:\ .+ ]]
}

@test "livd -t: an unknown key in the config file is FILE:LINE: message" {
	f="$BATS_TEST_TMPDIR/livd.yaml"
	printf 'refresh: 1\nrefesh: 2\n' >"$f"
	check_t "$f" 2 -c "$f"
}

@test "livd -t: a bad value in the config file is FILE:LINE: message" {
	f="$BATS_TEST_TMPDIR/livd.yaml"
	printf 'queue_limit: 10\nrefresh: soon\n' >"$f"
	check_t "$f" 2 -c "$f"
	printf '# livd\n\nauth: sometimes\n' >"$f"
	check_t "$f" 3 -c "$f"
}

@test "livd -t: the verbs file named in the config file is checked too" {
	v="$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'append:\n  args: [id, html]\n  dom: nowhere\n' >"$v"
	f="$BATS_TEST_TMPDIR/livd.yaml"
	printf 'verbs: %s\n' "$v" >"$f"
	check_t "$v" 3 -c "$f"
}

@test "livd -t: history_limit over queue_limit is an error" {
	f="$BATS_TEST_TMPDIR/livd.yaml"
	printf 'queue_limit: 5\nhistory_limit: 10\n' >"$f"
	run --separate-stderr "$LIVD" -t -c "$f"
	assert_status 1
	[ -n "$stderr" ]
}

@test "livd -t: a missing verbs or config file is an error" {
	run --separate-stderr "$LIVD" -t -V "$BATS_TEST_TMPDIR/none.yaml"
	assert_status 1
	assert_contains "$stderr" "$BATS_TEST_TMPDIR/none.yaml"
	run --separate-stderr "$LIVD" -t -c "$BATS_TEST_TMPDIR/none.yaml"
	assert_status 1
	assert_contains "$stderr" "$BATS_TEST_TMPDIR/none.yaml"
}

@test "livd: a broken verbs file at start is FILE:LINE: message and exit 1" {
	f="$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'append:\n  args: [id, html]\n  colour: red\n' >"$f"
	run --separate-stderr timeout 5 "$LIVD" -l 127.0.0.1:0 \
	    -s "$BATS_TEST_TMPDIR/livd.sock" -V "$f"
	assert_status 1
	assert_contains "$stderr" "$f:3: "
	[ ! -e "$BATS_TEST_TMPDIR/livd.sock" ]
}

@test "verbs file: every documented dom value is accepted and served in /verbs.json" {
	f="$BATS_TEST_TMPDIR/verbs.yaml"
	cat >"$f" <<-'YAML'
	d_beforeend: {args: [id, html], dom: beforeend}
	d_afterbegin: {args: [id, html], dom: afterbegin}
	d_beforebegin: {args: [id, html], dom: beforebegin}
	d_afterend: {args: [id, html], dom: afterend}
	d_inner: {args: [id, html], dom: inner}
	d_outer: {args: [id, html], dom: outer}
	d_text: {args: [id, text], dom: text}
	d_remove: {args: [id], dom: remove}
	d_attr: {args: [id, name, value], dom: attr}
	d_reload: {args: [], dom: reload}
	d_none: {args: [argument]}
	YAML
	run --separate-stderr "$LIVD" -t -V "$f"
	assert_status 0
	livd_start -V "$f"
	curl -s "$URL/verbs.json" | jassert '
all(d["d_" + k]["dom"] == k for k in ["beforeend", "afterbegin", "beforebegin",
    "afterend", "inner", "outer", "text", "remove", "attr", "reload"])
and d["d_none"].get("dom") is None and len(d) == 11'
}

@test "verbs file: every documented scope value and the raw, dedupe and coalesce keys are accepted" {
	f="$BATS_TEST_TMPDIR/verbs.yaml"
	cat >"$f" <<-'YAML'
	s_location: {args: [x], from_client: true, scope: location}
	s_self: {args: [x], from_client: true, scope: self}
	s_principal: {args: [x], from_client: true, scope: principal}
	s_all: {args: [x], from_client: true, scope: all, raw: true}
	d_id: {args: [id, html], dom: beforeend, dedupe: id}
	d_content: {args: [id, html], dom: inner, dedupe: content, coalesce: true}
	YAML
	run --separate-stderr "$LIVD" -t -V "$f"
	assert_status 0
	printf 's_bad: {args: [x], scope: planet}\n' >"$f"
	run --separate-stderr "$LIVD" -t -V "$f"
	assert_status 1
	[[ $stderr == "$f:1: "?* ]]
}

@test "verbs file: args are in the order livctl send takes them" {
	f="$BATS_TEST_TMPDIR/verbs.yaml"
	printf 'pair:\n  args: [second, first]\n' >"$f"
	livd_start -r 0.2 -V "$f"
	u=$(connect /a uwe)
	livctl send pair one two
	output "$u" | jassert 'd["events"][0]["second"] == "one" and d["events"][0]["first"] == "two"'
	livctl send pair three four
	run livctl poll "$u"
	assert_lines 'pair one' two 'pair three' four
}

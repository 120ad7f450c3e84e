#!/usr/bin/env bats
# The control socket: newline-delimited JSON, pipelined, answered in order.

load helper

# The answer lines of a ctl_raw run, without the EOF/TIMEOUT marker.
answers() {
	printf '%s\n' "$output" | grep -v -e '^EOF$' -e '^TIMEOUT$'
}

# Line N (from 1) of the answers.
answer() {
	answers | sed -n "${1}p"
}

@test "control: a stream Unix socket of mode 0600" {
	livd_start
	[ -S "$SOCK" ]
	assert_eq "$(stat -c %a "$SOCK")" 600
}

@test "control: one request line with cmd, one answer line with ok: true" {
	livd_start
	run ctl_raw <<<'{"cmd": "status"}'
	assert_status 0
	[ "${#lines[@]}" = 2 ]
	assert_eq "${lines[1]}" EOF
	printf '%s' "${lines[0]}" | jassert 'd["ok"] is True and "error" not in d'
}

@test "control: a failed request answers ok: false with an error" {
	livd_start
	run ctl_raw <<-'EOF'
	{"cmd": "no-such-command"}
	{"verb": "append"}
	{"cmd": "send", "verb": "special", "arg": "42"}
	this is not JSON
	["cmd", "status"]
	EOF
	[ "$(answers | wc -l)" = 5 ]
	for i in 1 2 3 4 5; do
		answer "$i" | jassert 'd["ok"] is False and isinstance(d["error"], str) and d["error"]'
	done
	answer 3 | jassert 'd["error"] == "unknown verb '"'special'"'"'
}

@test "control: many requests on one connection are answered in order" {
	livd_start
	u=$(connect /chat zorg.member.uwe)
	connect /chat zorg.member.dominik >/dev/null
	run ctl_raw <<-EOF
	{"cmd": "status"}
	{"cmd": "who", "location": "/chat"}
	{"cmd": "bogus"}
	{"cmd": "verbs"}
	{"cmd": "send", "client": "$u", "verb": "append", "id": "target", "html": "<p>42</p>"}
	{"cmd": "send", "verb": "append", "id": "target"}
	{"cmd": "status"}
	EOF
	assert_eq "${lines[7]}" EOF
	answer 1 | jassert 'd["ok"] is True'
	answer 1 | jassert '"version" in str(d) and "listen" in str(d)'
	answer 2 | jassert 'd["ok"] is True and str(d).index("zorg.member.dominik") < str(d).index("zorg.member.uwe")'
	answer 3 | jassert 'd["ok"] is False'
	answer 4 | jassert 'd["ok"] is True and "append" in str(d) and "change" in str(d)'
	answer 5 | jassert 'd["ok"] is True'
	answer 6 | jassert 'd == {"ok": False, "error": "verb '"'append'"' needs argument '"'html'"'"}'
	answer 7 | jassert 'd["ok"] is True and "version" in str(d)'
}

@test "control: a held poll keeps the answers after it in order" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	t0=$(now)
	run ctl_raw <<-EOF
	{"cmd": "poll", "client": "$u"}
	{"cmd": "status"}
	{"cmd": "send", "client": "$u", "verb": "append", "id": "target", "html": "x"}
	{"cmd": "poll", "client": "$u"}
	EOF
	t1=$(now)
	elapsed_between "$t1" "$t0" 0.25 3
	assert_eq "${lines[4]}" EOF
	answer 1 | jassert 'd["ok"] is True and d["events"] == [] and d["idle"] is True'
	answer 2 | jassert 'd["ok"] is True and "version" in d'
	answer 3 | jassert 'd["ok"] is True'
	answer 4 | jassert 'd["ok"] is True and [(e["verb"], e["id"], e["html"]) for e in d["events"]] == [("append", "target", "x")]'
}

@test "control: the SPEC's send request by location, with named arguments" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	v=$(connect /elsewhere uwe)
	run ctl_raw <<<'{"cmd": "send", "location": "/chat", "verb": "append", "id": "target", "html": "<p>42</p>"}'
	answer 1 | jassert 'd["ok"] is True'
	output "$u" | jassert '[(e["verb"], e["id"], e["html"]) for e in d["events"]] == [("append", "target", "<p>42</p>")]'
	output "$v" | jassert 'd["events"] == []'
}

@test "control: send to a client and to a principal" {
	livd_start -r 0.3
	u=$(connect /a uwe)
	u2=$(connect /b uwe)
	v=$(connect /a dominik)
	run ctl_raw <<-EOF
	{"cmd": "send", "client": "$v", "verb": "text", "id": "t", "text": "to v"}
	{"cmd": "send", "principal": "uwe", "verb": "text", "id": "t", "text": "to uwe"}
	EOF
	answer 1 | jassert 'd["ok"] is True'
	answer 2 | jassert 'd["ok"] is True'
	output "$u" | jassert '[e["text"] for e in d["events"]] == ["to uwe"]'
	output "$u2" | jassert '[e["text"] for e in d["events"]] == ["to uwe"]'
	output "$v" | jassert '[e["text"] for e in d["events"]] == ["to v"]'
}

@test "control: the SPEC's who request" {
	livd_start
	connect /chat zorg.member.uwe >/dev/null
	connect /chat zorg.member.dominik >/dev/null
	connect /chat zorg.member.uwe >/dev/null
	connect /other someone.else >/dev/null
	run ctl_raw <<<'{"cmd": "who", "location": "/chat"}'
	answer 1 | jassert 'd["ok"] is True and "someone.else" not in str(d)'
	answer 1 | jassert 'str(d).count("zorg.member.uwe") == 1 and str(d).index("zorg.member.dominik") < str(d).index("zorg.member.uwe")'
}

@test "control: livd checks verbs and arguments (the SPEC's three messages)" {
	livd_start
	run ctl_raw <<-'EOF'
	{"cmd": "send", "verb": "special", "arg": "42"}
	{"cmd": "send", "verb": "append", "id": "target"}
	{"cmd": "send", "verb": "remove", "id": "target", "html": "x"}
	{"cmd": "send", "verb": "append", "id": "target", "html": "x", "foo": "y"}
	EOF
	answer 1 | jassert 'd == {"ok": False, "error": "unknown verb '"'special'"'"}'
	answer 2 | jassert 'd == {"ok": False, "error": "verb '"'append'"' needs argument '"'html'"'"}'
	answer 3 | jassert 'd == {"ok": False, "error": "verb '"'remove'"' takes no argument '"'html'"'"}'
	answer 4 | jassert 'd == {"ok": False, "error": "verb '"'append'"' takes no argument '"'foo'"'"}'
}

@test "control: every livctl command is a control command of the same name" {
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs.yaml"
	livd_start -r 0.2 -V "$BATS_TEST_TMPDIR/verbs.yaml"
	u=$(connect /chat uwe)
	run ctl_raw <<-EOF
	{"cmd": "status"}
	{"cmd": "who"}
	{"cmd": "who", "location": "/chat"}
	{"cmd": "verbs"}
	{"cmd": "clients"}
	{"cmd": "clients", "location": "/chat"}
	{"cmd": "refresh"}
	{"cmd": "connect", "location": "/chat", "principal": "dominik"}
	{"cmd": "send", "verb": "reload"}
	{"cmd": "poll", "client": "$u"}
	{"cmd": "reload"}
	EOF
	[ "$(answers | wc -l)" = 11 ]
	for i in $(seq 1 11); do
		answer "$i" | jassert 'd["ok"] is True'
	done
	answer 2 | jassert '"/chat" in str(d) and "uwe" in str(d)'
	answer 5 | jassert '"'"$u"'" in str(d)'
	answer 7 | jassert '0.2 in d.values()'
	answer 8 | jassert '"dominik" in str(d)'
	answer 10 | jassert '[e["verb"] for e in d["events"]] == ["reload"]'
	run livctl who /chat
	assert_lines dominik uwe
}

@test "control: a line of exactly max_line (1 MiB) is read as a request" {
	livd_start
	python3 -c '
import sys
head, tail = "{\"cmd\": \"send\", \"verb\": \"special\", \"arg\": \"", "\"}"
sys.stdout.write(head + "x" * (1048576 - len(head) - len(tail)) + tail + "\n")
sys.stdout.write("{\"cmd\": \"status\"}\n")' >"$BATS_TEST_TMPDIR/req"
	# under valgrind a 1 MiB line takes seconds, not a fraction of one
	run ctl_raw --keep-open --timeout \
	    "$([ "${LIVD_BUILD:-}" = build-valgrind ] && echo 10 || echo 0.5)" \
	    <"$BATS_TEST_TMPDIR/req"
	[ "$(answers | wc -l)" = 2 ]
	answer 1 | jassert 'd == {"ok": False, "error": "unknown verb '"'special'"'"}'
	answer 2 | jassert 'd["ok"] is True'
	assert_eq "${lines[2]}" TIMEOUT
}

@test "control: a line over max_line (1 MiB) gets an error answer, then the connection is closed" {
	livd_start
	python3 -c '
import sys
head, tail = "{\"cmd\": \"send\", \"verb\": \"special\", \"arg\": \"", "\"}"
sys.stdout.write(head + "x" * (1048577 - len(head) - len(tail)) + tail + "\n")
sys.stdout.write("{\"cmd\": \"status\"}\n")' >"$BATS_TEST_TMPDIR/req"
	run ctl_raw --keep-open --timeout 3 <"$BATS_TEST_TMPDIR/req"
	[ "$(answers | wc -l)" = 1 ]
	answer 1 | jassert 'd["ok"] is False and isinstance(d["error"], str) and d["error"]'
	assert_eq "${lines[1]}" EOF
	# livd itself is fine.
	run livctl status
	assert_status 0
}

@test "control: max_line from the config file" {
	printf 'max_line: 2048\n' >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -c "$BATS_TEST_TMPDIR/livd.yaml"
	python3 -c '
import sys
head, tail = "{\"cmd\": \"send\", \"verb\": \"special\", \"arg\": \"", "\"}"
sys.stdout.write(head + "x" * (2000 - len(head) - len(tail)) + tail + "\n")
sys.stdout.write(head + "x" * (3000 - len(head) - len(tail)) + tail + "\n")
sys.stdout.write("{\"cmd\": \"status\"}\n")' >"$BATS_TEST_TMPDIR/req"
	run ctl_raw --keep-open --timeout 3 <"$BATS_TEST_TMPDIR/req"
	[ "$(answers | wc -l)" = 2 ]
	answer 1 | jassert 'd == {"ok": False, "error": "unknown verb '"'special'"'"}'
	answer 2 | jassert 'd["ok"] is False and d["error"] != "unknown verb '"'special'"'"'
	assert_eq "${lines[2]}" EOF
}

@test "control: an answer is one line even when the event holds newlines" {
	livd_start -r 0.2
	u=$(connect /chat uwe)
	run ctl_raw <<-EOF
	{"cmd": "send", "client": "$u", "verb": "append", "id": "t", "html": "a\nb\r\nc"}
	{"cmd": "poll", "client": "$u"}
	EOF
	[ "${#lines[@]}" = 3 ]
	assert_eq "${lines[2]}" EOF
	answer 2 | jassert 'd["ok"] is True and d["events"][0]["html"] == "a\nb\r\nc"'
}

@test "control: a seq or refresh out of range is refused before it is converted (ack 1e300, refresh 1e-320)" {
	livd_start -r 0.5
	u=$(connect /range uwe)
	run ctl_raw <<-EOF
	{"cmd": "ack", "client": "$u", "seq": 1e300}
	{"cmd": "ack", "client": "$u", "seq": -1}
	{"cmd": "ack", "client": "$u", "seq": 1.5}
	{"cmd": "ack", "client": "$u", "seq": 18446744073709551616.0}
	{"cmd": "ack", "client": "$u", "seq": 0}
	{"cmd": "ack", "client": "$u", "seq": 1e3}
	{"cmd": "refresh", "seconds": 1e-320}
	{"cmd": "refresh", "seconds": 0.0009}
	{"cmd": "refresh", "seconds": 1e300}
	{"cmd": "refresh", "seconds": 0.001}
	{"cmd": "refresh", "location": "/range", "seconds": 5e-324}
	EOF
	seq_err="'seq' must be a whole number from 0 to 18446744073709551615"
	range_err="refresh must be more than 0 and at most 3600 seconds"
	for i in 1 2 3 4; do
		answer "$i" | jassert "d == {'ok': False, 'error': \"$seq_err\"}"
	done
	answer 5 | jassert 'd == {"ok": True}'
	answer 6 | jassert 'd == {"ok": True}'
	for i in 7 8 9 11; do
		answer "$i" | jassert "d == {'ok': False, 'error': '$range_err'}"
	done
	answer 10 | jassert 'd == {"ok": True, "refresh": 0.001}'
	run livctl refresh 0.0009
	assert_status 1
	assert_eq "$output" "livctl: $range_err"
	printf 'refresh: 0.0009\n' >"$BATS_TEST_TMPDIR/fast.yaml"
	run "$LIVD" -t -c "$BATS_TEST_TMPDIR/fast.yaml"
	assert_status 1
	assert_eq "$output" "$BATS_TEST_TMPDIR/fast.yaml:1: refresh must be more than 0 and at most 3600"
}

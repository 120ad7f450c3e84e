#!/usr/bin/env bats
# POST /client/UUID/input: scopes, HTML-escaping, raw, and the order in
# which its errors are checked.

load helper

# A form body of exactly $1 bytes: verb=$2&id=t&html=xxx...
big_form() {
	python3 -c '
import sys
n, verb = int(sys.argv[1]), sys.argv[2]
head = "verb=%s&id=t&html=" % verb
sys.stdout.write(head + "x" * (n - len(head)))' "$1" "$2" >"$BATS_TEST_TMPDIR/form"
}

post_file() {
	http POST "$1" -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data-binary @"$BATS_TEST_TMPDIR/form"
}

error_is() {
	printf '%s' "$output" | sed 1d | jassert "d == {'error': \"$1\"}"
}

scoped_verbs() {
	verbs_with <<-'YAML'
	say_loc:
	  args: [text]
	  from_client: true
	say_self:
	  args: [text]
	  from_client: true
	  scope: self
	say_principal:
	  args: [text]
	  from_client: true
	  scope: principal
	say_all:
	  args: [text]
	  from_client: true
	  scope: all
	say_raw:
	  args: [id, html]
	  from_client: true
	  raw: true
	YAML
}

setup_scopes() {
	livd_start -r 0.2 -V "$(scoped_verbs)"
	A=$(connect /a alice)
	A2=$(connect /b alice)
	B=$(connect /a bob)
	C=$(connect /c carol)
}

# Which of A A2 B C received "VERB hello"; the others must poll idle.
receivers() {
	local verb=$1 name u out got=()
	for name in A A2 B C; do
		u=${!name}
		out=$(livctl poll "$u")
		if [ "$out" = "$verb"$'\n'hello ]; then
			got+=("$name")
		elif [ "$out" != idle ]; then
			echo "$name polled: $out" >&2
			got+=("$name?")
		fi
	done
	echo "${got[*]}"
}

@test "scope: location (the default) reaches every client at the sender's location, the sender included" {
	setup_scopes
	run input "$A" verb=say_loc text=hello
	assert_lines 200
	assert_eq "$(receivers say_loc)" "A B"
}

@test "scope: self reaches only the sender" {
	setup_scopes
	run input "$A" verb=say_self text=hello
	assert_lines 200
	assert_eq "$(receivers say_self)" "A"
}

@test "scope: principal reaches every client of the sender's principal, at any location" {
	setup_scopes
	run input "$A" verb=say_principal text=hello
	assert_lines 200
	assert_eq "$(receivers say_principal)" "A A2"
}

@test "scope: all reaches every client" {
	setup_scopes
	run input "$A" verb=say_all text=hello
	assert_lines 200
	assert_eq "$(receivers say_all)" "A A2 B C"
}

@test "escaping: & < > \" ' in every browser-sent argument are HTML entities" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	id='t"'"'"'<&>'
	html='<p class="x">Tom & Jerry'"'"'s <b>fish</b></p>'
	run input "$u" verb=append "id=$id" "html=$html"
	assert_lines 200
	body=$(output "$u")
	assert_escaped "$(printf '%s' "$body" | jget 'd["events"][0]["id"]')" "$id"
	assert_escaped "$(printf '%s' "$body" | jget 'd["events"][0]["html"]')" "$html"
	# Text without those characters is left as it is.
	s=$(printf '%s' "$body" | jget 'd["seq"]')
	input "$u" verb=change 'argument=plain text, 42; ok' >/dev/null
	output "$u" "since=$s" | jassert 'd["events"][0]["argument"] == "plain text, 42; ok"'
}

@test "escaping: a raw: true verb lets browser-sent arguments through unescaped" {
	livd_start -r 0.3 -V "$(scoped_verbs)"
	u=$(connect /chat uwe)
	run input "$u" verb=say_raw id=t 'html=<b class="x">a & '"'"'b'"'"'</b>'
	assert_lines 200
	output "$u" | jassert 'd["events"][0]["html"] == "<b class=\"x\">a & '"'"'b'"'"'</b>"'
}

@test "escaping: events sent by livctl are not escaped" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	livctl send -l /chat append target '<p class="x">a & '"'"'b'"'"'</p>'
	output "$u" | jassert 'd["events"][0]["html"] == "<p class=\"x\">a & '"'"'b'"'"'</p>"'
}

@test "input errors: an unknown uuid is 404 before an oversized body" {
	livd_start
	connect /chat uwe >/dev/null
	big_form 70000 special
	run post_file "/client/$NOUUID/input"
	[ "${lines[0]}" = 404 ]
}

@test "input errors: a body over max_body (64 KiB) is 413 before an unknown verb" {
	livd_start
	u=$(connect /chat uwe)
	big_form 65537 special
	run post_file "/client/$u/input"
	[ "${lines[0]}" = 413 ]
	printf '%s' "$output" | sed 1d | jassert 'isinstance(d["error"], str)'
}

@test "input errors: a body of exactly 64 KiB is within max_body" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	big_form 65536 append
	run post_file "/client/$u/input"
	assert_lines 200
	output "$u" | jassert 'len(d["events"][0]["html"]) == 65536 - len("verb=append&id=t&html=")'
}

@test "input errors: an unknown verb is 400 unknown verb 'special', before argument checks" {
	livd_start
	u=$(connect /chat uwe)
	run input "$u" verb=special arg=42
	[ "${lines[0]}" = 400 ]
	error_is "unknown verb 'special'"
	run input "$u" verb=special html=x id=y foo=z
	[ "${lines[0]}" = 400 ]
	error_is "unknown verb 'special'"
	run input "$u" verb=special
	[ "${lines[0]}" = 400 ]
	error_is "unknown verb 'special'"
}

@test "input errors: a verb without from_client: true is 403, before argument checks" {
	livd_start
	u=$(connect /chat uwe)
	run input "$u" verb=prepend id=t html=x
	[ "${lines[0]}" = 403 ]
	printf '%s' "$output" | sed 1d | jassert 'isinstance(d["error"], str)'
	run input "$u" verb=remove id=t html=extra
	[ "${lines[0]}" = 403 ]
	run input "$u" verb=update id=t
	[ "${lines[0]}" = 403 ]
	run input "$u" verb=reload
	[ "${lines[0]}" = 403 ]
}

@test "input errors: a missing argument is 400 verb 'append' needs argument 'html'" {
	livd_start
	u=$(connect /chat uwe)
	run input "$u" verb=append id=target
	[ "${lines[0]}" = 400 ]
	error_is "verb 'append' needs argument 'html'"
}

@test "input errors: an extra argument is 400 verb 'append' takes no argument 'foo'" {
	livd_start
	u=$(connect /chat uwe)
	run input "$u" verb=append id=target html=x foo=1
	[ "${lines[0]}" = 400 ]
	error_is "verb 'append' takes no argument 'foo'"
	run input "$u" verb=change argument=1 html=x
	[ "${lines[0]}" = 400 ]
	error_is "verb 'change' takes no argument 'html'"
}

@test "input errors: refused events reach nobody" {
	livd_start -r 0.3
	u=$(connect /chat uwe)
	input "$u" verb=special arg=42 >/dev/null
	input "$u" verb=prepend id=t html=x >/dev/null
	input "$u" verb=append id=t >/dev/null
	input "$u" verb=append id=t html=x foo=1 >/dev/null
	run livctl poll "$u"
	assert_lines idle
}

#!/usr/bin/env bats
# Who may connect: signed tokens (auth: token; the JWT details are in
# jwt.bats), auth: open only on loopback, allowed_origins, the per-client
# input rate, and the control socket (its mode and group, a stale socket
# replaced, a live one never stolen).

load helper

config() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/livd.yaml"
	printf '%s' "$BATS_TEST_TMPDIR/livd.yaml"
}

# A secret of 32 random bytes, readable by its owner only.
make_secret() {
	SECRET="$BATS_TEST_TMPDIR/secret"
	(umask 077 && head -c 32 /dev/urandom | base64 >"$SECRET")
}

start_token_livd() {
	make_secret
	livd_start -r 1 -c "$(config 'auth: token' "secret_file: $SECRET" "$@")"
}

# POST /connect with url-encoded fields NAME=VALUE...
connect_form() {
	local a args=()
	for a in "$@"; do
		args+=(--data-urlencode "$a")
	done
	http POST /connect "${args[@]}"
}

# The first line of $output (the status) and the rest (the body).
split_answer() {
	code=${output%%$'\n'*}
	body=${output#*$'\n'}
}

@test "token: livctl token mints one; POST /connect with it is 200 with the token's principal" {
	start_token_livd
	run livctl token -l /chat -p alice
	assert_status 0
	[ "${#lines[@]}" = 1 ]
	token=$output
	run connect_form location=/chat "token=$token"
	split_answer
	assert_eq "$code" 200
	printf '%s' "$body" | jassert '
d["principal"] == "alice" and d["location"] == "/chat"
and len(d["uuid"]) == 32 and isinstance(d["seq"], int)'
	uuid=$(printf '%s' "$body" | jget 'd["uuid"]')
	# A principal field cannot override the token's.
	run connect_form location=/chat "token=$token" principal=mallory
	split_answer
	assert_eq "$code" 200
	printf '%s' "$body" | jassert 'd["principal"] == "alice"'
	run livctl who /chat
	assert_lines alice
	# The client is a real one: it polls and gets its events.
	livctl send -c "$uuid" append log hello
	output "$uuid" | jassert '[e["html"] for e in d["events"]] == ["hello"]'
	# -j: the token and its expiry (an hour by default).
	livctl -j token -l /chat -p alice | jassert '
d["ok"] is True and isinstance(d["token"], str)
and abs(d["expires"] - __import__("time").time() - 3600) < 60'
}

@test "token: a bad or tampered token is 401 'invalid token'" {
	start_token_livd
	token=$(livctl token -l /chat -p alice)
	for bad in "garbage" "${token}x" "x$token" "${token%.*}" \
	    "${token%.*}.AAAA" "." ""; do
		run connect_form location=/chat "token=$bad"
		split_answer
		assert_eq "$code" 401
		assert_eq "$body" '{"error":"invalid token"}'
	done
	# The claims changed to another principal, the signature kept.
	forged=$(python3 -c '
import base64, sys
t = sys.argv[1]
h, p, mac = t.split(".")
raw = base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))
raw = raw.replace(b"alice", b"admin")
print(h + "." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac)' "$token")
	[ "$forged" != "$token" ]
	run connect_form location=/chat "token=$forged"
	split_answer
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"invalid token"}'
	# A token signed with another secret.
	other=$(python3 -c '
import jwt, time
print(jwt.encode({"sub": "alice", "locations": ["/chat"],
    "exp": int(time.time()) + 3600}, "not the secret of this livd!!!!!",
    algorithm="HS256"))')
	run connect_form location=/chat "token=$other"
	split_answer
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"invalid token"}'
	run livctl clients
	assert_status 0
	assert_eq "$output" ""
}

@test "token: an expired token is 401 'token expired'" {
	start_token_livd
	run livctl token -l /chat -p alice --ttl 1
	assert_status 0
	token=$output
	sleep 2.1
	run connect_form location=/chat "token=$token"
	split_answer
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"token expired"}'
	run livctl token -l /chat -p alice --ttl 0
	assert_status 1
}

@test "token: a token for another location is 403 'token does not allow location'" {
	start_token_livd
	token=$(livctl token -l /chat -p alice)
	run connect_form location=/admin "token=$token"
	split_answer
	assert_eq "$code" 403
	assert_eq "$body" "{\"error\":\"token does not allow location '/admin'\"}"
	run livctl clients
	assert_eq "$output" ""
}

@test "token: a connect without a token is 401 'missing token'" {
	start_token_livd
	run connect_form location=/chat principal=alice
	split_answer
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"missing token"}'
	run livctl clients
	assert_eq "$output" ""
}

@test "token: auth: token without a secret_file is a FILE:LINE error for livd -t" {
	cfg=$(config 'refresh: 1' 'auth: token')
	run "$LIVD" -t -c "$cfg"
	assert_status 1
	[ "${#lines[@]}" = 1 ]
	[[ "$output" =~ ^"$cfg":[0-9]+:\ .*secret_file ]] || {
		echo "not a FILE:LINE: message about secret_file: $output"
		return 1
	}
}

@test "token: a secret shorter than 16 bytes is refused" {
	(umask 077 && printf 'short\n' >"$BATS_TEST_TMPDIR/secret")
	cfg=$(config 'auth: token' "secret_file: $BATS_TEST_TMPDIR/secret")
	run "$LIVD" -t -c "$cfg"
	assert_status 1
	assert_contains "$output" "at least 16 bytes"
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	run timeout 10 "$LIVD" -l 127.0.0.1:0 -s "$SOCK" -c "$cfg"
	assert_status 1
	assert_contains "$output" "at least 16 bytes"
	[ ! -e "$SOCK" ]
	# A secret file that does not exist.
	cfg=$(config 'auth: token' "secret_file: $BATS_TEST_TMPDIR/nothing")
	run "$LIVD" -t -c "$cfg"
	assert_status 1
	assert_contains "$output" "$BATS_TEST_TMPDIR/nothing"
}

@test "token: with a good secret livd -t is happy; open mode mints no token" {
	make_secret
	run "$LIVD" -t -c "$(config 'auth: token' "secret_file: $SECRET")"
	assert_status 0
	livd_start -r 1
	run livctl token -l /chat -p alice
	assert_status 1
	assert_contains "$output" "secret_file"
}

@test "auth: open on a non-loopback address is refused unless --insecure-open" {
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	run timeout 10 "$LIVD" -l 0.0.0.0:0 -s "$SOCK" -r 1
	assert_status 1
	assert_contains "$output" "--insecure-open"
	[ ! -e "$SOCK" ]
	run timeout 10 "$LIVD" -c "$(config 'listen: 0.0.0.0:0')" -s "$SOCK" -r 1
	assert_status 1
	[ ! -e "$SOCK" ]
	for addr in '*:0' '[::]:0'; do
		run timeout 10 "$LIVD" -l "$addr" -s "$SOCK" -r 1
		assert_status 1
		assert_contains "$output" "--insecure-open"
	done
	[ ! -e "$SOCK" ]
	# Loopback is fine, IPv6 too.
	if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
		livd_spawn -l '[::1]:0' -s "$SOCK" -r 1
		livd_stop
	fi
	livd_spawn -l 0.0.0.0:0 -s "$SOCK" -r 1 --insecure-open
	run livctl status
	assert_contains "$output" $'\nlisten: 0.0.0.0:'
	u=$(connect /chat uwe)
	[ ${#u} = 32 ]
	livd_stop
	livd_spawn -s "$SOCK" -r 1 -c "$(config 'listen: 0.0.0.0:0' 'insecure_open: true')"
	run livctl status
	assert_contains "$output" $'\nlisten: 0.0.0.0:'
}

@test "auth: token may listen on a non-loopback address" {
	make_secret
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	livd_spawn -l 0.0.0.0:0 -s "$SOCK" -r 1 \
	    -c "$(config 'auth: token' "secret_file: $SECRET")"
	token=$(livctl token -l /chat -p alice)
	run connect_form location=/chat "token=$token"
	split_answer
	assert_eq "$code" 200
}

@test "allowed_origins: a foreign Origin is 403 'origin not allowed'; a listed one or none is 200" {
	livd_start -r 1 -c "$(config \
	    'allowed_origins: [https://good.example, http://localhost:8080]')"
	run http POST /connect -H 'Origin: https://evil.example' \
	    --data 'location=/chat&principal=eve'
	split_answer
	assert_eq "$code" 403
	assert_eq "$body" '{"error":"origin not allowed"}'
	run livctl clients
	assert_eq "$output" ""
	for origin in https://good.example http://localhost:8080; do
		run http POST /connect -H "Origin: $origin" \
		    --data 'location=/chat&principal=uwe'
		split_answer
		assert_eq "$code" 200
	done
	run http POST /connect --data 'location=/chat&principal=uwe'
	split_answer
	assert_eq "$code" 200
	u=$(printf '%s' "$body" | jget 'd["uuid"]')
	# Input too: a page on a foreign origin may not post as this client.
	run http POST "/client/$u/input" -H 'Origin: https://evil.example' \
	    --data 'verb=append&id=log&html=x'
	split_answer
	assert_eq "$code" 403
	assert_eq "$body" '{"error":"origin not allowed"}'
	# A near miss is foreign too.
	run http POST "/client/$u/input" -H 'Origin: https://good.example.evil' \
	    --data 'verb=append&id=log&html=x'
	split_answer
	assert_eq "$code" 403
	run http POST "/client/$u/input" -H 'Origin: https://good.example' \
	    --data 'verb=append&id=log&html=ok'
	split_answer
	assert_eq "$code" 200
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["ok"]'
}

@test "input_rate: past the burst input is 429, allowed again after a pause, per client" {
	livd_start -r 1 -c "$(config 'input_rate: 0.5' 'input_burst: 3')"
	u=$(connect /chat uwe)
	v=$(connect /chat vera)
	for i in 1 2 3; do
		run input "$u" verb=append id=log "html=m$i"
		assert_eq "${lines[0]}" 200
	done
	run input "$u" verb=append id=log html=m4
	split_answer
	assert_eq "$code" 429
	assert_eq "$body" '{"error":"too many events: at most 0.5 a second"}'
	# Another client is not limited by this one.
	run input "$v" verb=append id=log html=v1
	assert_eq "${lines[0]}" 200
	# One token back after 2 s; the next one 2 s later: room for a busy
	# machine between m5 and m6.
	sleep 2.2
	run input "$u" verb=append id=log html=m5
	assert_eq "${lines[0]}" 200
	run input "$u" verb=append id=log html=m6
	assert_eq "${lines[0]}" 429
	# The refused events were not sent.
	output "$v" | jassert '[e["html"] for e in d["events"]] == ["m1", "m2", "m3", "v1", "m5"]'
}

@test "control socket: mode 0600 by default, in a directory made 0700" {
	SOCK="$BATS_TEST_TMPDIR/rundir/livd.sock"
	livd_spawn -l 127.0.0.1:0 -s "$SOCK" -r 1
	[ -S "$SOCK" ]
	assert_eq "$(stat -c %a "$SOCK")" 600
	assert_eq "$(stat -c %a "$BATS_TEST_TMPDIR/rundir")" 700
	# Whatever the umask of whoever starts it.
	livd_stop
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	umask 000
	livd_spawn -l 127.0.0.1:0 -s "$SOCK" -r 1
	umask 022
	assert_eq "$(stat -c %a "$SOCK")" 600
}

@test "control socket: socket_mode and socket_group from the config" {
	group=$(id -gn)
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	livd_spawn -l 127.0.0.1:0 -s "$SOCK" -r 1 \
	    -c "$(config 'socket_mode: 0660' "socket_group: $group")"
	assert_eq "$(stat -c %a "$SOCK")" 660
	assert_eq "$(stat -c %G "$SOCK")" "$group"
	run livctl status
	assert_status 0
	livd_stop
	run "$LIVD" -t -c "$(config 'socket_mode: rw-rw----')"
	assert_status 1
	assert_contains "$output" "socket_mode"
}

@test "control socket: a stale socket from a dead livd is replaced" {
	livd_start -r 1
	kill -KILL "$LIVD_PID"
	wait "$LIVD_PID" || true
	LIVD_PID=
	[ -S "$SOCK" ]
	run livctl status
	assert_status 3
	livd_start -r 1
	run livctl status
	assert_status 0
	u=$(connect /chat uwe)
	livctl send -l /chat append log again
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["again"]'
}

@test "control socket: a second livd on a live socket exits 1 with a clear message; the first keeps serving" {
	livd_start -r 1
	u=$(connect /chat uwe)
	inode=$(stat -c %i "$SOCK")
	run timeout 10 "$LIVD" -l 127.0.0.1:0 -s "$SOCK" -r 1
	assert_status 1
	assert_contains "$output" "another livd is running on $SOCK"
	[ -S "$SOCK" ]
	assert_eq "$(stat -c %i "$SOCK")" "$inode"
	running "$LIVD_PID"
	run livctl status
	assert_status 0
	assert_contains "$output" $'\nclients: 1'
	livctl send -l /chat append log still
	output "$u" | jassert '[e["html"] for e in d["events"]] == ["still"]'
}

@test "token: a reload with a new secret invalidates old tokens; a broken secret keeps the old one" {
	start_token_livd
	old=$(livctl token -l /chat -p alice)
	(umask 077 && head -c 32 /dev/urandom | base64 >"$SECRET")
	run livctl reload
	assert_status 0
	run connect_form location=/chat "token=$old"
	split_answer
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"invalid token"}'
	new=$(livctl token -l /chat -p alice)
	run connect_form location=/chat "token=$new"
	split_answer
	assert_eq "$code" 200
	# A secret made too short: the reload fails, the secret in force stays.
	(umask 077 && printf 'tiny\n' >"$SECRET")
	run livctl reload
	assert_status 1
	assert_contains "$output" "at least 16 bytes"
	running "$LIVD_PID"
	run connect_form location=/chat "token=$new"
	split_answer
	assert_eq "$code" 200
}

@test "auth: a reload to auth: open on a non-loopback address is refused; tokens are still required" {
	make_secret
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	cfg=$(config 'auth: token' "secret_file: $SECRET" 'listen: 0.0.0.0:0')
	livd_spawn -s "$SOCK" -r 1 -c "$cfg"
	config 'auth: open' 'listen: 0.0.0.0:0' >/dev/null
	run livctl reload
	assert_status 1
	assert_contains "$output" "open"
	kill -HUP "$LIVD_PID"
	sleep 0.3
	running "$LIVD_PID"
	run connect_form location=/chat principal=eve
	split_answer
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"missing token"}'
}

@test "control socket: a directory others can write is refused; a missing one is made 0700" {
	mkdir -m 777 "$BATS_TEST_TMPDIR/open"
	chmod 777 "$BATS_TEST_TMPDIR/open"
	run "$LIVD" -l 127.0.0.1:0 -s "$BATS_TEST_TMPDIR/open/livd.sock"
	assert_status 1
	assert_contains "$output" "can be written by others"
	SOCK="$BATS_TEST_TMPDIR/new/livd.sock"
	livd_spawn -l 127.0.0.1:0 -s "$SOCK"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/new")" = 700 ]
	livd_stop
	# missing parents too, as mkdir -p would, each 0700
	SOCK="$BATS_TEST_TMPDIR/a/b/c/livd.sock"
	livd_spawn -l 127.0.0.1:0 -s "$SOCK"
	[ -S "$SOCK" ]
	for d in a a/b a/b/c; do
		assert_eq "$(stat -c %a "$BATS_TEST_TMPDIR/$d")" 700
	done
}

@test "control socket: a directory of another user is refused, sticky or not, and so is one under a directory of another user" {
	T=$BATS_TEST_TMPDIR
	install -d -m 1777 -o nobody "$T/theirs-sticky"
	install -d -m 755 -o nobody "$T/theirs"
	install -d -m 755 -o nobody "$T/bob"
	install -d -m 700 "$T/bob/mine"
	for d in theirs-sticky theirs bob/mine; do
		run timeout 5 "$LIVD" -l 127.0.0.1:0 -s "$T/$d/livd.sock"
		assert_status 1
		case $d in
		bob/mine) what="$T/bob belongs to another user" ;;
		*) what="$T/$d belongs to another user" ;;
		esac
		assert_contains "$output" "$what: not putting the control socket there"
		[ ! -e "$T/$d/livd.sock" ]
	done
}

@test "control socket: in a directory others may write, only if sticky and root's, and then the one below it is writable by us alone" {
	T=$BATS_TEST_TMPDIR
	install -d -m 1777 "$T/tmp"
	install -d -m 1775 "$T/tmp/livd-0"
	run timeout 5 "$LIVD" -l 127.0.0.1:0 -s "$T/tmp/livd-0/livd.sock"
	assert_status 1
	assert_contains "$output" "$T/tmp/livd-0 must be writable by its owner alone in $T/tmp, which others can write: not putting the control socket there"
	# 0755, as a clone in /tmp is, will do.
	chmod 755 "$T/tmp/livd-0"
	SOCK="$T/tmp/livd-0/livd.sock"
	livd_spawn -l 127.0.0.1:0 -s "$SOCK"
	livd_stop
	# A missing one is made 0700 there.
	SOCK="$T/tmp/new/livd.sock"
	livd_spawn -l 127.0.0.1:0 -s "$SOCK"
	assert_eq "$(stat -c %a "$T/tmp/new")" 700
	livd_stop
	# A shared directory that is not sticky is no place for it.
	install -d -m 777 "$T/open"
	install -d -m 700 "$T/open/livd-0"
	run timeout 5 "$LIVD" -l 127.0.0.1:0 -s "$T/open/livd-0/livd.sock"
	assert_status 1
	assert_contains "$output" "$T/open can be written by others: not putting the control socket there"
}

# A stand-in for livd on a socket: PATH [OWNER]; it answers every line
# with {"ok":true,"impostor":true} and logs each to PATH.log.
impostor() {
	# exec: $! must be python's own pid, for teardown to end it
	(exec "$PYTHON" - "$1" <<'EOF' >/dev/null 2>&1 3>&-
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(4)
open(path + ".ready", "w").close()
while True:
    c, _ = s.accept()
    for line in c.makefile("rb"):
        open(path + ".log", "ab").write(line)
        c.sendall(b'{"ok":true,"impostor":true}\n')
    c.close()
EOF
	) &
	bg_track $!
	wait_until -e "$1.ready"
	[ -z "${2:-}" ] || chown "$2" "$1"
}

@test "livctl: a socket of another user is refused before anything is sent (exit 3); root's, its own, or a service user's in the directory root gave it are used" {
	T=$BATS_TEST_TMPDIR
	impostor "$T/their.sock" nobody
	run livctl -s "$T/their.sock" send append log secret
	assert_status 3
	assert_eq "$output" "livctl: cannot connect to $T/their.sock: it belongs to nobody, not to you or root"
	[ ! -e "$T/their.sock.log" ]
	# Its own (here root's) is used.
	impostor "$T/mine.sock"
	run livctl -j -s "$T/mine.sock" status
	assert_status 0
	assert_eq "$output" '{"ok":true,"impostor":true}'
	# A service user's, in the directory root made for it (/run/livd).
	install -d -m 755 "$T/run"
	install -d -m 750 -o nobody "$T/run/livd"
	impostor "$T/run/livd/livd.sock" nobody
	run livctl -j -s "$T/run/livd/livd.sock" status
	assert_status 0
	# ... but not in one its user could have made (their parent is
	# theirs, or others may write it).
	install -d -m 1777 "$T/shared"
	install -d -m 700 -o nobody "$T/shared/livd-1"
	impostor "$T/shared/livd-1/livd.sock" nobody
	run livctl -s "$T/shared/livd-1/livd.sock" status
	assert_status 3
	assert_contains "$output" "it belongs to nobody, not to you or root"
}

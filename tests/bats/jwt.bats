#!/usr/bin/env bats
# Tokens are JWTs (HS256 with the secret of secret_file): tokens minted by
# another JWT library (Debian's python3-jwt) connect, every way a token can
# be wrong gets its own status and message, and what livctl token prints is
# a JWT that library verifies.

load helper

# Debian's python3 with its python3-jwt, whatever python3 is first on PATH.
JWTPY=/usr/bin/python3

# Start livd with auth: token and a secret_file holding the printf format
# given, or else 32 random bytes in base64 and a newline.
start_jwt_livd() {
	SECRET="$BATS_TEST_TMPDIR/secret"
	if [ $# -gt 0 ]; then
		(umask 077 && printf "$1" >"$SECRET")
	else
		(umask 077 && head -c 32 /dev/urandom | base64 >"$SECRET")
	fi
	printf 'auth: token\nsecret_file: %s\n' "$SECRET" \
	    >"$BATS_TEST_TMPDIR/livd.yaml"
	livd_start -r 1 -c "$BATS_TEST_TMPDIR/livd.yaml"
}

# mint CLAIMS [ALG [KEY]]: a JWT made by PyJWT. CLAIMS is a Python
# expression in which now is the time; KEY is the secret of secret_file
# (its bytes less one trailing newline) unless given.
mint() {
	"$JWTPY" -c '
import jwt, sys, time
now = int(time.time())
claims = eval(sys.argv[2])
alg = sys.argv[3] if len(sys.argv) > 3 else "HS256"
if len(sys.argv) > 4:
    key = sys.argv[4].encode()
else:
    key = open(sys.argv[1], "rb").read()
    key = key[:-1] if key.endswith(b"\n") else key
print(jwt.encode(claims, None if alg == "none" else key, algorithm=alg))
' "$SECRET" "$@"
}

# POST /connect with url-encoded fields NAME=VALUE...; sets code and body.
connect_as() {
	local a args=() out
	for a in "$@"; do
		args+=(--data-urlencode "$a")
	done
	out=$(http POST /connect "${args[@]}")
	code=${out%%$'\n'*}
	body=${out#*$'\n'}
}

@test "jwt: a token minted by PyJWT connects as its sub" {
	start_jwt_livd
	t=$(mint 'dict(sub="alice", locations=["/chat"], iat=now, exp=now + 600)')
	connect_as location=/chat "token=$t"
	assert_eq "$code" 200
	printf '%s' "$body" | jassert '
d["principal"] == "alice" and d["location"] == "/chat" and len(d["uuid"]) == 32'
	# Neither exp nor nbf is required; an nbf in the past is fine.
	t=$(mint 'dict(sub="bob", locations=["/chat"])')
	connect_as location=/chat "token=$t"
	assert_eq "$code" 200
	t=$(mint 'dict(sub="carol", locations=["/chat"], nbf=now - 5, exp=now + 60.5)')
	connect_as location=/chat "token=$t"
	assert_eq "$code" 200
	run livctl who /chat
	assert_lines alice bob carol
}

@test "jwt: locations are exact or a prefix ending in '*'; without a location field, the first exact one" {
	start_jwt_livd
	t=$(mint 'dict(sub="alice", locations=["/user/alice/*", "/lobby", "/chat"])')
	for loc in /user/alice/inbox /user/alice/ /lobby /chat; do
		connect_as "location=$loc" "token=$t"
		assert_eq "$code" 200
		printf '%s' "$body" | jassert "d['location'] == '$loc'"
	done
	for loc in /user/alice /user/bob/x /lobby/x /cha; do
		connect_as "location=$loc" "token=$t"
		assert_eq "$code" 403
		assert_eq "$body" "{\"error\":\"token does not allow location '$loc'\"}"
	done
	connect_as "token=$t"
	assert_eq "$code" 200
	printf '%s' "$body" | jassert 'd["location"] == "/lobby" and d["principal"] == "alice"'
	# At every exact location of the token (Several locations per page).
	printf '%s' "$body" | jassert 'd["locations"] == ["/lobby", "/chat"]'
	# Only patterns: the page must say where it is.
	t=$(mint 'dict(sub="alice", locations=["/user/alice/*"])')
	connect_as "token=$t"
	assert_eq "$code" 400
	assert_eq "$body" "{\"error\":\"missing field 'location'\"}"
	# Four pages at one location, one at two: a line per location.
	run livctl clients
	assert_eq "${#lines[@]}" 6
}

@test "jwt: a page at several locations: each must be one the token allows" {
	start_jwt_livd
	t=$(mint 'dict(sub="alice", locations=["/user/alice/*", "/chat"])')
	connect_as location=/chat location=/user/alice/inbox "token=$t"
	assert_eq "$code" 200
	printf '%s' "$body" | jassert 'd["locations"] == ["/chat", "/user/alice/inbox"] and d["principal"] == "alice"'
	connect_as location=/chat location=/lobby "token=$t"
	assert_eq "$code" 403
	assert_eq "$body" "{\"error\":\"token does not allow location '/lobby'\"}"
	run livctl clients
	assert_eq "${#lines[@]}" 2
}

@test "jwt: every bad token gets its status and message, and connects no one" {
	start_jwt_livd
	good=$(mint 'dict(sub="alice", locations=["/chat"], exp=now + 600)')
	cases=(
		"401 invalid token|$(mint 'dict(sub="alice", locations=["/chat"])' none)"
		"401 invalid token|$(mint 'dict(sub="alice", locations=["/chat"])' HS512)"
		"401 invalid token|$(mint 'dict(sub="alice", locations=["/chat"])' HS256 'not the secret of this livd!!!!!')"
		"401 invalid token|${good%?}"
		"401 invalid token|${good%.*}"
		"401 invalid token|${good:0:40}"
		"401 token expired|$(mint 'dict(sub="alice", locations=["/chat"], exp=now - 10)')"
		"401 invalid token|$(mint 'dict(sub="alice", locations=["/chat"], nbf=now + 600)')"
		"401 invalid token|$(mint 'dict(sub="alice", locations=["/chat"], exp=str(now + 600))')"
		"401 invalid token|$(mint 'dict(locations=["/chat"])')"
		"401 invalid token|$(mint 'dict(sub=42, locations=["/chat"])')"
		"401 invalid token|$(mint 'dict(sub="alice")')"
		"401 invalid token|$(mint 'dict(sub="alice", locations="/chat")')"
		"401 invalid token|$(mint 'dict(sub="alice", locations=["/chat", 7])')"
		"401 invalid token|$(mint 'dict(sub="alice", locations=[["/chat"]])')"
		"401 invalid token|$(mint 'dict(sub="alice", locations=[])')"
		"401 invalid token|$(mint 'dict(livd=dict(cmds=["*"]))')"
		"403 token does not allow location '/chat'|$(mint 'dict(sub="alice", locations=["/admin", "/chat/*"])')"
	)
	for c in "${cases[@]}"; do
		want=${c%%|*}
		connect_as location=/chat "token=${c#*|}"
		[ "$code $(printf '%s' "$body" | jget 'd["error"]')" = "$want" ] || {
			echo "token ${c#*|}: got $code $body, want $want"
			return 1
		}
	done
	run livctl clients
	assert_eq "$output" ""
	# The good one, to show the cases failed for their own reason.
	connect_as location=/chat "token=$good"
	assert_eq "$code" 200
}

@test "jwt: no token is 401 'missing token'; a long location is quoted capped" {
	start_jwt_livd
	connect_as location=/chat
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"missing token"}'
	connect_as
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"missing token"}'
	t=$(mint 'dict(sub="alice", locations=["/chat"])')
	long=/$(printf 'x%.0s' {1..300})
	connect_as "location=$long" "token=$t"
	assert_eq "$code" 403
	printf '%s' "$body" | jassert '
d["error"].startswith("token does not allow location \u0027/xxx")
and d["error"].endswith("...\u0027") and len(d["error"]) < 120'
}

@test "jwt: livctl token prints a JWT that PyJWT verifies with the secret" {
	start_jwt_livd
	t=$(livctl token -l /chat -p alice --ttl 600)
	"$JWTPY" -c '
import jwt, sys, time
key = open(sys.argv[1], "rb").read()[:-1]
t = sys.argv[2]
h = jwt.get_unverified_header(t)
assert h == {"alg": "HS256", "typ": "JWT"}, h
c = jwt.decode(t, key, algorithms=["HS256"])
assert c["sub"] == "alice" and c["locations"] == ["/chat"], c
assert c["exp"] - c["iat"] == 600 and abs(c["iat"] - time.time()) < 60, c
try:
    jwt.decode(t, b"another secret, not livd\x27s one", algorithms=["HS256"])
    sys.exit("verified with another secret")
except jwt.InvalidSignatureError:
    pass
' "$SECRET" "$t"
	connect_as location=/chat "token=$t"
	assert_eq "$code" 200
	# The default lifetime is an hour.
	livctl token -l /chat -p alice | "$JWTPY" -c '
import jwt, sys
c = jwt.decode(sys.stdin.read().strip(), options={"verify_signature": False})
assert c["exp"] - c["iat"] == 3600, c'
}

@test "jwt: the secret is the file's bytes less one trailing newline" {
	start_jwt_livd '0123456789abcdef0123456789abcdef\n\n'
	k=0123456789abcdef0123456789abcdef
	t=$(mint 'dict(sub="alice", locations=["/chat"])' HS256 "$k"$'\n')
	connect_as location=/chat "token=$t"
	assert_eq "$code" 200
	t=$(mint 'dict(sub="alice", locations=["/chat"])' HS256 "$k")
	connect_as location=/chat "token=$t"
	assert_eq "$code" 401
	assert_eq "$body" '{"error":"invalid token"}'
}

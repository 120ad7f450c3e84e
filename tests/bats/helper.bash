# Shared set-up for the livd/livctl black-box suites (see SPEC.md).
#
# Every test starts its own livd on a free loopback port and a private
# control socket, talks to it with curl, livctl or python3 (ctlclient.py speaks the
# control socket raw), and
# stops it with SIGTERM in teardown, which must exit 0. A failing test
# prints what livd logged.
#
# LIVD_BUILD picks the build directory: build (default) or build-asan.

bats_require_minimum_version 1.5.0

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BUILD="$ROOT/${LIVD_BUILD:-build}"
LIVD="$BUILD/livd"
LIVCTL="$BUILD/livctl"
SHIPPED_VERBS="$ROOT/share/livd/verbs.yaml"

# The real python3 (a pyenv shim costs ~100 ms a call; the suite makes many).
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then
		PYTHON=/usr/bin/python3
	else
		PYTHON=$(command python3 -c 'import sys; print(sys.executable)')
	fi
fi
python3() {
	"$PYTHON" "$@"
}

# A well-formed uuid that no livd hands out (tests use it as "unknown").
NOUUID=0123456789abcdef0123456789abcdef

LIVD_PID=
BG_PIDS=()

# A clean environment: nothing from the caller's livd leaks in.
unset LIVD_SOCKET
export LC_ALL=C

# Run livctl from the build under test.
livctl() {
	"$LIVCTL" "$@"
}

# Start livd with exactly these arguments; SOCK must name the socket it
# will listen on. Waits until `livctl status` answers (50 ms steps, 10 s).
livd_spawn() {
	: "${SOCK:?SOCK must be set}"
	"$LIVD" "$@" </dev/null >"$BATS_TEST_TMPDIR/livd.out" \
	    2>"$BATS_TEST_TMPDIR/livd.log" 3>&- &
	LIVD_PID=$!
	livd_wait_ready
}

livd_wait_ready() {
	local i line
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$LIVD_PID" 2>/dev/null; then
			echo "livd exited before answering status" >&2
			cat "$BATS_TEST_TMPDIR/livd.log" >&2
			wait "$LIVD_PID" || true
			LIVD_PID=
			return 1
		fi
		if timeout 5 "$LIVCTL" -s "$SOCK" status \
		    >"$BATS_TEST_TMPDIR/status.out" 2>/dev/null; then
			line=$(grep '^listen: ' "$BATS_TEST_TMPDIR/status.out")
			PORT=${line##*:}
			URL="http://127.0.0.1:$PORT"
			export LIVD_SOCKET="$SOCK"
			return 0
		fi
		sleep 0.05
	done
	echo "livd did not answer livctl status within 10 s" >&2
	return 1
}

# Start livd on 127.0.0.1:0 and $BATS_TEST_TMPDIR/livd.sock, plus args.
livd_start() {
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	livd_spawn -l 127.0.0.1:0 -s "$SOCK" "$@"
}

# Stop livd with a signal (TERM by default); its exit status goes to
# LIVD_STATUS ("did-not-exit" when it was still running after 5 s, and
# then killed). Returns 0 when livd exited 0.
livd_stop() {
	local sig=${1:-TERM} i
	LIVD_STATUS=
	[ -n "$LIVD_PID" ] || { LIVD_STATUS="no livd"; return 1; }
	kill -"$sig" "$LIVD_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$LIVD_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$LIVD_PID" 2>/dev/null; then
		kill -KILL "$LIVD_PID" 2>/dev/null
		wait "$LIVD_PID" 2>/dev/null
		LIVD_PID=
		LIVD_STATUS=did-not-exit
		return 1
	fi
	wait "$LIVD_PID"
	LIVD_STATUS=$?
	LIVD_PID=
	[ "$LIVD_STATUS" = 0 ]
}

# Remember a background process of this test, to end it in teardown.
bg_track() {
	BG_PIDS+=("$1")
}

# A proxy in front of the control socket that counts connections:
# $BATS_TEST_TMPDIR/proxy.sock, the count in $BATS_TEST_TMPDIR/count.
count_proxy() {
	# exec: $! must be python's own pid, for teardown to end it
	(exec python3 "$BATS_TEST_DIRNAME/countproxy.py" \
	    "$BATS_TEST_TMPDIR/proxy.sock" "$SOCK" "$BATS_TEST_TMPDIR/count" \
	    </dev/null >/dev/null 2>&1 3>&-) &
	bg_track $!
	wait_until -S "$BATS_TEST_TMPDIR/proxy.sock"
}

# Wait until test(1) says yes to the arguments (-S PATH, -e PATH): 50 ms
# steps, 5 s at most; 1 when it never did.
wait_until() {
	local i
	for ((i = 0; i < 100; i++)); do
		test "$@" && return 0
		sleep 0.05
	done
	return 1
}

# A suite with a teardown of its own may still call this one.
helper_teardown() {
	local rc=0 pid status=
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	if [ -n "$LIVD_PID" ]; then
		livd_stop TERM || rc=1
		status=$LIVD_STATUS
	fi
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ] || [ "$rc" -ne 0 ]; then
		[ -z "$status" ] || echo "livd exit status at teardown: $status"
		if [ -s "$BATS_TEST_TMPDIR/livd.log" ]; then
			echo "--- livd.log ---"
			cat "$BATS_TEST_TMPDIR/livd.log"
			echo "--- end of livd.log ---"
		fi
	fi
	return "$rc"
}

teardown() {
	helper_teardown
}

# Evaluate a Python expression over JSON on stdin (bound to d); strings
# print raw, everything else as JSON.
jget() {
	python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
v = eval("(" + sys.argv[1] + "\n)")
print(v if isinstance(v, str) else json.dumps(v))
' "$1"
}

# Assert a Python condition over JSON on stdin (bound to d).
jassert() {
	python3 -c '
import json, sys
raw = sys.stdin.read()
d = json.loads(raw)
if not eval("(" + sys.argv[1] + "\n)"):
    print("JSON assertion failed: %s\n  on: %s" % (sys.argv[1], raw))
    sys.exit(1)
' "$1"
}

# HTTP helpers. http METHOD PATH [curl args...]: prints the status code on
# the first line, then the body (raw, no trailing newline added).
http() {
	local method=$1 path=$2
	shift 2
	local body="$BATS_TEST_TMPDIR/http.$$.$RANDOM"
	local code
	code=$(curl -s -o "$body" -w '%{http_code}' -X "$method" \
	    --max-time 10 "$@" "$URL$path")
	echo "$code"
	cat "$body"
	rm -f "$body"
}

# POST /connect with location and principal; prints the uuid.
connect() {
	curl -s --max-time 5 --data-urlencode "location=$1" \
	    --data-urlencode "principal=$2" "$URL/connect" | jget 'd["uuid"]'
}

# POST /client/UUID/input with url-encoded fields NAME=VALUE...; prints
# the status code then the body.
input() {
	local uuid=$1 a
	shift
	local args=()
	for a in "$@"; do
		args+=(--data-urlencode "$a")
	done
	http POST "/client/$uuid/input" "${args[@]}"
}

# GET /client/UUID/output[?QUERY] and print the body (status must be 200).
output() {
	local uuid=$1 q=${2:+?$2}
	curl -s -f --max-time 30 "$URL/client/$uuid/output$q"
}

# Start a long-poll in the background; its status code goes to
# $BATS_TEST_TMPDIR/NAME.code and body to NAME.body. Sets BG_PID.
poll_bg() {
	local name=$1 uuid=$2 q=${3:+?$3}
	curl -s -o "$BATS_TEST_TMPDIR/$name.body" -w '%{http_code}' \
	    --max-time 30 "$URL/client/$uuid/output$q" \
	    >"$BATS_TEST_TMPDIR/$name.code" 2>/dev/null </dev/null 3>&- &
	BG_PID=$!
	bg_track "$BG_PID"
}

# Is the background process still running (and not a zombie)?
running() {
	kill -0 "$1" 2>/dev/null || return 1
	! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Wait for a background process of this shell, at most $2 seconds
# (default 5); its exit status goes to WAIT_STATUS.
wait_for() {
	local pid=$1 limit=${2:-5} i
	WAIT_STATUS=
	for ((i = 0; i < limit * 20; i++)); do
		if ! running "$pid"; then
			WAIT_STATUS=0
			wait "$pid" 2>/dev/null || WAIT_STATUS=$?
			return 0
		fi
		sleep 0.05
	done
	echo "process $pid still running after ${limit}s" >&2
	return 1
}

# Seconds since the epoch, fractional.
now() {
	printf '%s' "$EPOCHREALTIME"
}

# Is a - b within [lo, hi]?
elapsed_between() {
	python3 -c 'import sys
a, b, lo, hi = map(float, sys.argv[1:])
sys.exit(0 if lo <= a - b <= hi else 1)' "$1" "$2" "$3" "$4" || {
		echo "elapsed $(python3 -c "print($1 - $2)") not in [$3, $4]" >&2
		return 1
	}
}

# Talk to the control socket: ctl_raw [--keep-open] [--timeout S] < bytes.
# Writes stdin as is; then (unless --keep-open) shuts down writing; prints
# each answer line, then EOF when livd closed the connection or TIMEOUT.
ctl_raw() {
	python3 "$BATS_TEST_DIRNAME/ctlclient.py" "$SOCK" "$@"
}

# A verbs file: the shipped one plus extra YAML text from stdin.
verbs_with() {
	local f="$BATS_TEST_TMPDIR/verbs.yaml"
	{ cat "$SHIPPED_VERBS"; echo; cat; } >"$f"
	printf '%s' "$f"
}

# Assert that output equals the given lines.
assert_lines() {
	local expected
	expected=$(printf '%s\n' "$@")
	if [ "$output" != "$expected" ]; then
		echo "expected:"
		printf '%s\n' "$expected" | sed 's/^/  |/'
		echo "actual:"
		printf '%s\n' "$output" | sed 's/^/  |/'
		return 1
	fi
}

assert_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected exit status $1, got $status; output:"
		printf '%s\n' "$output" | sed 's/^/  |/'
		return 1
	fi
}

assert_eq() {
	if [ "$1" != "$2" ]; then
		echo "expected: [$2]"
		echo "actual:   [$1]"
		return 1
	fi
}

# Assert a string contains a substring.
assert_contains() {
	case "$1" in
	*"$2"*) return 0 ;;
	esac
	echo "expected to contain: [$2]"
	echo "actual: [$1]"
	return 1
}

# Assert that ESCAPED is ORIGINAL with & < > " ' written as HTML entities:
# none of those characters is left bare, and unescaping gives ORIGINAL.
assert_escaped() {
	python3 -c '
import html, re, sys
esc, orig = sys.argv[1], sys.argv[2]
bad = [c for c in "<>\"\x27" if c in esc]
bare_amp = re.search(r"&(?!(amp|lt|gt|quot|apos|#39|#x27|#34|#x22|#60|#62|#38);)", esc)
if bad or bare_amp or html.unescape(esc) != orig:
    print("not HTML-escaped: %r (from %r)" % (esc, orig))
    sys.exit(1)
' "$1" "$2"
}

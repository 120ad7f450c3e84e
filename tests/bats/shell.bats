#!/usr/bin/env bats
# livctl shell: the readline shell on the control socket, driven through a
# pseudo-terminal (ptydrive.py) as a person at a keyboard would.

load helper

setup() {
	mkdir -p "$BATS_TEST_TMPDIR/home"
}

# Run livctl ARGS... on a terminal with the ptydrive script from stdin; the
# transcript (what the terminal showed) goes to output. HOME is private,
# readline reads no inputrc.
pty() {
	HOME="$BATS_TEST_TMPDIR/home" INPUTRC=/dev/null TERM=dumb \
	    python3 "$BATS_TEST_DIRNAME/ptydrive.py" --timeout 10 -- \
	    "$LIVCTL" "$@"
}

# The lines a command line printed in the shell: those after the (first)
# prompt line showing exactly LINE, up to the next prompt.
block() {
	printf '%s\n' "$output" | awk -v p="$PROMPT" -v l="$PROMPT$1" '
	    found && index($0, p) == 1 { exit }
	    found { print }
	    $0 == l { found = 1 }'
}

# Was a prompt line showing exactly LINE in the transcript?
shown() {
	printf '%s\n' "$output" | grep -qxF -- "$PROMPT$1" || {
		echo "no prompt line [$PROMPT$1] in the transcript:"
		printf '%s\n' "$output" | sed 's/^/  |/'
		return 1
	}
}

# Assert that a block equals the expected text.
assert_block() {
	local got
	got=$(block "$1")
	if [ "$got" != "$2" ]; then
		echo "after the line [$1], expected:"
		printf '%s\n' "$2" | sed 's/^/  |/'
		echo "actual:"
		printf '%s\n' "$got" | sed 's/^/  |/'
		echo "transcript:"
		printf '%s\n' "$output" | sed 's/^/  |/'
		return 1
	fi
}

# A one-shot command's output, stdout and stderr as a terminal shows them.
oneshot() {
	"$LIVCTL" "$@" 2>&1
}

@test "livctl shell: a prompt naming the socket; Ctrl-D leaves with exit 0" {
	livd_start -r 0.2
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send verbs\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	assert_eq "$(printf '%s\n' "$output" | head -n 1)" "${PROMPT}verbs"
	assert_block verbs "$(oneshot verbs)"
}

@test "livctl shell: quit leaves with exit 0" {
	livd_start -r 0.2
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send quit\n
	wait
	EOF
	assert_status 0
	shown quit
}

@test "bare livctl on a terminal opens the shell (socket from -s or LIVD_SOCKET)" {
	livd_start -r 0.2
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" <<-'EOF'
	prompt
	send who\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	shown who
	# LIVD_SOCKET is exported by livd_start: no -s at all.
	run pty <<-'EOF'
	prompt
	send verbs\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	assert_block verbs "$(oneshot verbs)"
	# Not on a terminal, a bare livctl is a usage error, not a shell.
	run "$LIVCTL" </dev/null
	assert_status 2
}

@test "livctl shell: commands without the prefix print exactly what the one-shot commands print" {
	livd_start -r 0.3
	a=$(connect /chat alice)
	connect /chat bob >/dev/null
	connect /news carol >/dev/null
	livctl refresh -l /news 2
	PROMPT="livctl $SOCK> "
	# Answers that do not change while the shell runs, taken first.
	exp_verbs=$(oneshot verbs)
	exp_who=$(oneshot who)
	exp_who_chat=$(oneshot who /chat)
	exp_clients=$(oneshot clients)
	exp_clients_news=$(oneshot clients /news)
	exp_refresh=$(oneshot refresh)
	exp_refresh_news=$(oneshot refresh -l /news)
	exp_dry=$(oneshot send -n -l /chat append t x)
	exp_bad=$(oneshot send -l /chat special t x || true)
	exp_missing=$(oneshot send -l /chat append t || true)
	exp_status=$(oneshot status | grep -v '^uptime:')
	run pty -s "$SOCK" shell <<-EOF
	prompt
	send verbs\n
	prompt
	send who\n
	prompt
	send who /chat\n
	prompt
	send clients\n
	prompt
	send clients /news\n
	prompt
	send refresh\n
	prompt
	send refresh -l /news\n
	prompt
	send send -n -l /chat append t x\n
	prompt
	send send -l /chat special t x\n
	prompt
	send send -l /chat append t\n
	prompt
	send send -c $a append t "<b>hi there</b>"\n
	prompt
	send poll $a\n
	prompt
	send status\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	assert_block verbs "$exp_verbs"
	assert_block who "$exp_who"
	assert_block "who /chat" "$exp_who_chat"
	assert_block clients "$exp_clients"
	assert_block "clients /news" "$exp_clients_news"
	assert_block refresh "$exp_refresh"
	assert_block "refresh -l /news" "$exp_refresh_news"
	assert_block "send -n -l /chat append t x" "$exp_dry"
	assert_block "send -l /chat special t x" "$exp_bad"
	assert_block "send -l /chat append t" "$exp_missing"
	assert_block "send -c $a append t \"<b>hi there</b>\"" ""
	assert_block "poll $a" "$(printf 'append t\n<b>hi there</b>')"
	assert_eq "$(block status | grep -v '^uptime:')" "$exp_status"
	# The shell's poll acknowledged what it printed.
	run livctl poll "$a"
	assert_lines idle
}

@test "livctl shell: tab completes commands" {
	livd_start -r 0.2
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	# sta: stats or status; the common part is completed, then listed
	send sta\t
	expect > stat$
	send \t\t
	expect stats +status
	# the line is shown again under the list
	expect > stat$
	send us\n
	prompt
	send verb\t
	expect > verbs $
	send \n
	prompt
	send cli\t
	expect > clients $
	send \n
	prompt
	send help ver\t
	expect > help verbs $
	send \n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	assert_eq "$(block status | grep -c '^version: ')" 1
	assert_block "verbs " "$(oneshot verbs)"
	assert_block "clients " "$(oneshot clients)"
	assert_contains "$(block "help verbs ")" "usage: verbs"
}

@test "livctl shell: tab completes verbs after send, fetched from livd" {
	verbs=$(verbs_with <<-'EOF'
	zorgblast:
	  args: [id]
	  dom: remove
	EOF
	)
	livd_start -r 0.2 -V "$verbs"
	u=$(connect /chat alice)
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send send zor\t
	expect > send zorgblast $
	send \x15send -l /chat app\t
	expect > send -l /chat append $
	send t hello\n
	prompt
	send send -n \t\t
	expect zorgblast
	send \x15\x04
	wait
	EOF
	assert_status 0
	shown "send -l /chat append t hello"
	# Every verb livd has is offered after send.
	listing=$(printf '%s\n' "$output" | grep -F zorgblast | grep -vF "$PROMPT")
	for v in $(livctl verbs | cut -d' ' -f1); do
		grep -qw -- "$v" <<<"$listing" || {
			echo "verb $v not offered: [$listing]"
			return 1
		}
	done
	run livctl poll "$u"
	assert_lines 'append t' hello
}

@test "livctl shell: tab completes locations after who, clients and -l" {
	livd_start -r 0.2
	connect /chat alice >/dev/null
	connect /chess bob >/dev/null
	n=$(connect /news carol)
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send who /n\t
	expect > who /news $
	send \n
	prompt
	send who /ch\t\t
	expect /chat +/chess
	send \x15clients /ne\t
	expect > clients /news $
	send \n
	prompt
	send send -l /ne\t
	expect > send -l /news $
	send text t news\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	assert_block "who /news " carol
	assert_block "clients /news " "$(oneshot clients /news)"
	shown "send -l /news text t news"
	run livctl poll "$n"
	assert_lines 'text t' news
}

@test "livctl shell: tab completes principals after -p" {
	livd_start -r 0.2
	a=$(connect /chat alice)
	connect /chat bob >/dev/null
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send send -p al\t
	expect > send -p alice $
	send append t for-alice\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	shown "send -p alice append t for-alice"
	run livctl poll "$a"
	assert_lines 'append t' for-alice
}

@test "livctl shell: tab completes uuids after -c and poll" {
	livd_start -r 0.2
	u=$(connect /chat alice)
	livctl send -c "$u" append t first
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-EOF
	prompt
	send poll ${u:0:1}\t
	expect > poll $u \$
	send \n
	prompt
	send send -c ${u:0:2}\t
	expect > send -c $u \$
	send append t second\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	assert_block "poll $u " "$(printf 'append t\nfirst')"
	shown "send -c $u append t second"
	run livctl poll "$u"
	assert_lines 'append t' second
}

@test "livctl shell: history is kept in ~/.livctl_history across sessions" {
	livd_start -r 0.2
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send verbs\n
	prompt
	send who\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	hist="$BATS_TEST_TMPDIR/home/.livctl_history"
	[ -f "$hist" ] || { echo "no $hist"; return 1; }
	grep -qx verbs "$hist"
	grep -qx who "$hist"
	# A new session: up arrow twice recalls verbs from the last one.
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send \x1b[A\x1b[A
	expect > verbs$
	send \n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	assert_block verbs "$(oneshot verbs)"
	assert_eq "$(grep -cx verbs "$hist")" 2
}

@test "livctl shell: help lists the commands, help COMMAND shows its usage" {
	livd_start -r 0.2
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send help\n
	prompt
	send help send\n
	prompt
	send help who\n
	prompt
	send help nosuch\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	listing=$(block help)
	# Every command livctl -h lists (but shell itself) is there, with a
	# summary, and help and quit too.
	for c in $("$LIVCTL" -h | sed -n 's/^  \([a-z]*\) .*/\1/p') help quit; do
		[ "$c" = shell ] && continue
		grep -qE "^$c +[^ ]" <<<"$listing" || {
			echo "help does not list $c:"
			printf '%s\n' "$listing" | sed 's/^/  |/'
			return 1
		}
	done
	send_help=$(block "help send")
	assert_eq "$(printf '%s\n' "$send_help" | head -n 1 | cut -c1-12)" "usage: send "
	assert_contains "$send_help" "-l LOCATION"
	assert_contains "$send_help" "-c UUID"
	assert_contains "$send_help" "-p PRINCIPAL"
	assert_contains "$send_help" "VERB"
	assert_contains "$(block "help who")" "usage: who"
	assert_contains "$(block "help who")" "LOCATION"
	bad=$(block "help nosuch")
	assert_eq "$(printf '%s\n' "$bad" | wc -l)" 1
	assert_contains "$bad" "livctl: "
	assert_contains "$bad" nosuch
}

@test "livctl shell: a bad line prints one livctl: line and the shell goes on" {
	livd_start -r 0.2
	PROMPT="livctl $SOCK> "
	run pty -s "$SOCK" shell <<-'EOF'
	prompt
	send nosuch command\n
	prompt
	send send -l /chat append t 'unterminated\n
	prompt
	send send special t x\n
	prompt
	send verbs\n
	prompt
	send \x04
	wait
	EOF
	assert_status 0
	for line in "nosuch command" "send -l /chat append t 'unterminated" \
	    "send special t x"; do
		got=$(block "$line")
		assert_eq "$(printf '%s\n' "$got" | wc -l)" 1
		case $got in
		"livctl: "?*) ;;
		*) echo "after [$line]: [$got]"; return 1 ;;
		esac
	done
	assert_block "send special t x" "livctl: unknown verb 'special'"
	assert_block verbs "$(oneshot verbs)"
}

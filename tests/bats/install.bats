#!/usr/bin/env bats
# make install / make uninstall with PREFIX and DESTDIR, and the installed
# livd running from there with its installed share files.
#
# The build under test (LIVD_BUILD) is installed as it is: make's -o keeps
# make install from rebuilding the binaries, so another engineer's edits
# in the tree never turn into a different (or un-sanitized) binary here.

load helper

setup() {
	DEST="$BATS_TEST_TMPDIR/dest"
	B=${LIVD_BUILD:-build}
	# build-valgrind's livd is a script running build/livd: install that
	# binary, and run the installed one under valgrind the same way.
	VALGRIND=
	if [ "$B" = build-valgrind ]; then
		B=build
		VALGRIND=1
	fi
}

# The installed livd under PREFIX directory $1 (under valgrind when the
# suite runs so); sets LIVD.
installed_livd() {
	LIVD="$1/sbin/livd"
	[ -n "$VALGRIND" ] || return 0
	printf '#!/bin/sh\nexec valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 "%s" "$@"\n' \
	    "$LIVD" >"$BATS_TEST_TMPDIR/livd-valgrind"
	chmod +x "$BATS_TEST_TMPDIR/livd-valgrind"
	LIVD="$BATS_TEST_TMPDIR/livd-valgrind"
}

# make -C ROOT TARGET DESTDIR=DEST PREFIX=..., the build's binaries as they are.
mk() {
	local target=$1
	shift
	make -C "$ROOT" -s --no-print-directory B="$B" -o "$B/livd" \
	    -o "$B/livctl" "$target" DESTDIR="$DEST" "$@"
}

# Every regular file and symlink under DEST, as paths relative to it.
files_under() {
	(cd "$DEST" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
}

@test "make install DESTDIR=... PREFIX=/usr/local puts every file in its place" {
	run mk install PREFIX=/usr/local
	assert_status 0
	P="$DEST/usr/local"
	expected=$(printf '%s\n' \
	    usr/local/bin/livctl \
	    usr/local/etc/livd.yaml \
	    usr/local/lib/systemd/system/livd.service \
	    usr/local/sbin/livd \
	    usr/local/share/bash-completion/completions/livctl \
	    usr/local/share/livd/demo.html \
	    usr/local/share/livd/examples/htmx.html \
	    usr/local/share/livd/examples/turbo.html \
	    usr/local/share/livd/livd.yaml \
	    usr/local/share/livd/livepage.js \
	    usr/local/share/livd/verbs.yaml \
	    usr/local/share/man/man1/livctl.1 \
	    usr/local/share/man/man5/livd.yaml.5 \
	    usr/local/share/man/man8/livd.8 | sort)
	assert_eq "$(files_under)" "$expected"
	# The binaries are the build's, executable; the rest as shipped.
	cmp "$P/sbin/livd" "$ROOT/$B/livd"
	cmp "$P/bin/livctl" "$ROOT/$B/livctl"
	[ -x "$P/sbin/livd" ] && [ -x "$P/bin/livctl" ]
	for f in verbs.yaml livepage.js demo.html livd.yaml \
	    examples/turbo.html examples/htmx.html; do
		cmp "$P/share/livd/$f" "$ROOT/share/livd/$f"
	done
	cmp "$P/share/man/man1/livctl.1" "$ROOT/man/livctl.1"
	cmp "$P/share/man/man5/livd.yaml.5" "$ROOT/man/livd.yaml.5"
	cmp "$P/share/man/man8/livd.8" "$ROOT/man/livd.8"
	cmp "$P/share/bash-completion/completions/livctl" "$ROOT/contrib/livctl.bash"
	cmp "$P/etc/livd.yaml" "$ROOT/share/livd/livd.yaml"
	# Nothing is world-writable.
	assert_eq "$(find "$DEST" -perm -o+w ! -type l)" ""
}

@test "the installed livd.service has its paths filled in and runs livd unprivileged with a runtime directory" {
	run mk install PREFIX=/usr/local
	assert_status 0
	unit="$DEST/usr/local/lib/systemd/system/livd.service"
	run grep -n '@[A-Za-z_]*@' "$unit"
	assert_status 1
	grep -q '^\[Service\]' "$unit"
	grep -q '^\[Install\]' "$unit"
	exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
	read -r -a argv <<<"$exec_start"
	assert_eq "${argv[0]}" /usr/local/sbin/livd
	# The config it names is the installed one.
	for ((i = 1; i < ${#argv[@]}; i++)); do
		if [ "${argv[i]}" = -c ]; then
			assert_eq "${argv[i + 1]}" /usr/local/etc/livd.yaml
		fi
	done
	# An unprivileged user: a dynamic one, or a named user that is not root.
	if ! grep -qx 'DynamicUser=yes' "$unit"; then
		user=$(sed -n 's/^User=//p' "$unit")
		[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] || {
			echo "livd.service runs livd as root"
			return 1
		}
	fi
	# A runtime directory, and the socket (when the unit names it) in it.
	rundir=$(sed -n 's/^RuntimeDirectory=//p' "$unit")
	[ -n "$rundir" ] || { echo "no RuntimeDirectory="; return 1; }
	for ((i = 1; i < ${#argv[@]}; i++)); do
		if [ "${argv[i]}" = -s ]; then
			case ${argv[i + 1]} in
			"/run/$rundir/"?*) ;;
			*) echo "socket ${argv[i + 1]} not in /run/$rundir"; return 1 ;;
			esac
		fi
	done
}

@test "the installed livd runs from DESTDIR with the installed config, verbs, livepage.js and demo" {
	run mk install PREFIX=/usr/local
	assert_status 0
	P="$DEST/usr/local"
	# Make the installed share files tell themselves apart from the tree's.
	cat >>"$P/share/livd/verbs.yaml" <<-'EOF'

	installedonly:
	  args: [id]
	  dom: remove
	EOF
	echo '/* the installed copy */' >>"$P/share/livd/livepage.js"
	echo '<!-- the installed demo -->' >>"$P/share/livd/demo.html"
	installed_livd "$P"
	LIVCTL="$P/bin/livctl"
	run "$LIVD" -t -c "$P/etc/livd.yaml"
	assert_status 0
	SOCK="$BATS_TEST_TMPDIR/installed.sock"
	# The installed config (flags win over its listen address).
	livd_spawn -c "$P/etc/livd.yaml" -l 127.0.0.1:0 -s "$SOCK"
	run "$LIVCTL" -s "$SOCK" status
	assert_status 0
	assert_contains "$output" "version: $("$ROOT/$B/livd" --version | awk '{print $NF}')"
	assert_contains "$output" "socket: $SOCK"
	run "$LIVCTL" -s "$SOCK" verbs
	assert_status 0
	grep -qx 'installedonly id' <<<"$output"
	# /verbs.json is the installed verbs file: exactly its verbs.
	names=$(sed -n 's/^\([A-Za-z_][A-Za-z0-9_-]*\):.*/\1/p' \
	    "$P/share/livd/verbs.yaml" | sort | tr '\n' ' ')
	run http GET /verbs.json
	assert_eq "${lines[0]}" 200
	printf '%s' "${output#200$'\n'}" | jassert "
	    ' '.join(sorted(d)) + ' ' == '$names' and
	    d['installedonly']['args'] == ['id']"
	# /livepage.js and the demo page are the installed files.
	curl -s -f --max-time 5 "$URL/livepage.js" >"$BATS_TEST_TMPDIR/got.js"
	cmp "$BATS_TEST_TMPDIR/got.js" "$P/share/livd/livepage.js"
	run curl -s -f --max-time 5 "$URL/demo/installed"
	assert_status 0
	assert_contains "$output" '<!-- the installed demo -->'
	# And it serves: a page connects, livctl sends, the page receives.
	u=$(connect /here alice)
	"$LIVCTL" -s "$SOCK" send -l /here installedonly gone
	output "$u" | jassert '[(e["verb"], e["id"]) for e in d["events"]] == [("installedonly", "gone")]'
}

@test "the installed bash completion completes livctl commands, verbs and locations" {
	run mk install PREFIX=/usr/local
	assert_status 0
	P="$DEST/usr/local"
	installed_livd "$P"
	LIVCTL="$P/bin/livctl"
	livd_start -r 0.5
	connect /chat alice >/dev/null
	connect /news bob >/dev/null
	# bash-completion's _init_completion, reduced to what _livctl uses.
	run bash -c '
		_init_completion() {
			words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
			cur=${words[cword]}; prev=${words[cword - 1]}
		}
		_filedir() { :; }
		PATH="$1/bin:$PATH"
		source "$1/share/bash-completion/completions/livctl"
		complete -p livctl
		try() {
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
			_livctl
			printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
			echo
		}
		try livctl -s "$2" sta
		try livctl -s "$2" send ap
		try livctl -s "$2" who /n
		try livctl -s "$2" send -p al
	' _ "$P" "$SOCK"
	assert_status 0
	assert_lines "complete -F _livctl livctl" "stats status " "append " \
	    "/news " "alice "
}

@test "make uninstall DESTDIR=... PREFIX=/usr/local removes what install put there, but the config" {
	run mk install PREFIX=/usr/local
	assert_status 0
	run mk uninstall PREFIX=/usr/local
	assert_status 0
	assert_eq "$(files_under)" usr/local/etc/livd.yaml
	[ ! -e "$DEST/usr/local/share/livd" ] || {
		echo "share/livd is left behind"
		return 1
	}
}

@test "install keeps an existing config, and honours another PREFIX" {
	run mk install PREFIX=/opt/livd
	assert_status 0
	P="$DEST/opt/livd"
	[ -x "$P/sbin/livd" ] && [ -x "$P/bin/livctl" ]
	[ -f "$P/share/livd/verbs.yaml" ]
	[ -f "$P/share/man/man8/livd.8" ]
	grep -qx 'ExecStart=/opt/livd/sbin/livd .*' "$P/lib/systemd/system/livd.service"
	grep -q ' /opt/livd/etc/livd.yaml' "$P/lib/systemd/system/livd.service"
	assert_eq "$(find "$DEST" -mindepth 1 -maxdepth 2 | sort | tr '\n' ' ')" \
	    "$DEST/opt $DEST/opt/livd "
	# The operator's config survives a second install and the uninstall.
	echo 'refresh: 7   # mine' >"$P/etc/livd.yaml"
	run mk install PREFIX=/opt/livd
	assert_status 0
	assert_eq "$(cat "$P/etc/livd.yaml")" 'refresh: 7   # mine'
	run mk uninstall PREFIX=/opt/livd
	assert_status 0
	assert_eq "$(files_under)" opt/livd/etc/livd.yaml
	assert_eq "$(cat "$P/etc/livd.yaml")" 'refresh: 7   # mine'
}

#!/usr/bin/env bash
# man-examples.sh: run every command of the EXAMPLES sections of livd(8),
# livctl(1) and livd.yaml(5), in order, against a test livd; exit 1 if
# one exits non-zero (or the run takes too long), 0 when all worked.
#
#   tools/man-examples.sh [-v] [PAGE...]     (default: the three pages)
#
# The convention the pages follow, so that extraction is reliable:
#
#   - An example command is in a literal display (.Bd -literal) of the
#     EXAMPLES section, on a line that starts with "$ " (the prompt, not
#     typed). The lines right after it that start with "> " continue it,
#     as the shell's PS2 prompt shows a command going on: a here-document,
#     a line ending in a pipe or a backslash. A line ">" alone is an empty
#     continuation line.
#   - Any other line of a display is sample output, or text that is not a
#     command (page code, a livctl shell session): shown, not run, not
#     checked.
#   - In the source of those command lines, - ' ` ^ ~ and \ are written
#     \- \(aq \(ga \(ha \(ti \e, so that they paste as typed whatever
#     formatter renders the page; this script refuses them unescaped.
#
# The text is taken from the page as mandoc renders it (-Tutf8), so the
# commands are exactly what a reader copies: in the EXAMPLES section, a
# display is a run of lines indented more than the prose (a blank line
# ends it too, so sample output may hold blank lines), and its "$ " and
# "> " lines are the commands.
#
# How they run, as a user would paste them into bash:
#
#   - All the commands of one page run in one bash, in order, so a
#     variable set by one example is seen by the next; stdin is /dev/null,
#     and pipefail is on, so a failure anywhere in a pipeline counts.
#   - The environment: the build (build/, or $LIVD_BUILD) first in PATH, so
#     livd and livctl are the build's; a scratch directory as the working
#     directory and as HOME (livctl shell writes its history there);
#     LIVD_SOCKET naming a socket in it, so every "default socket" in the
#     pages is the test livd's.
#   - The test livd runs there as "livd -c livd.yaml -l 127.0.0.1:0 -r 0.5":
#     a free port, a short refresh interval, and a livd.yaml (made here) with
#     a secret_file (for livctl token) and a long presence_timeout, as the
#     pages say ("livd.yaml is the configuration it was started with").
#   - The installed share directory, /usr/local/share/livd/, is the source
#     tree's share/livd/, as build/ stands for the installed binaries.
#   - Background jobs an example leaves running are ended when its page is
#     done; the test livd when the run is.
#
# A display is skipped, with its reason printed, when one of its command
# lines (the "$ " lines) matches a rule of SKIP below. Keep that set small.

set -u

SKIP=(
	'^sudo |needs root: installs into the system and runs systemd'
	'redis|needs a Redis server'
)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/${LIVD_BUILD:-build}"
PAGE_TIMEOUT=30
verbose=false

if [ "${1:-}" = -v ]; then
	verbose=true
	shift
fi
if [ $# -eq 0 ]; then
	set -- "$ROOT/man/livd.8" "$ROOT/man/livctl.1" "$ROOT/man/livd.yaml.5"
fi
pages=()
for page in "$@"; do
	[ -f "$page" ] || { echo "man-examples: no page $page" >&2; exit 1; }
	pages+=("$(cd "$(dirname "$page")" && pwd)/$(basename "$page")")
done
set -- "${pages[@]}"

die() {
	echo "man-examples: $*" >&2
	exit 1
}

for tool in mandoc curl socat openssl; do
	command -v "$tool" >/dev/null || die "needs $tool"
done
[ -x "$BUILD/livd" ] && [ -x "$BUILD/livctl" ] ||
    die "no $BUILD/livd and livctl: run make first"

# The source check: unescaped characters in EXAMPLES command lines.
lint_source() {
	awk -v page="$1" -v chars="-'\`^~\\\\" '
	/^\.Sh / { ex = ($0 == ".Sh EXAMPLES"); next }
	ex && /^\.Bd -literal/ { lit = 1; next }
	ex && /^\.Ed/ { lit = 0; next }
	ex && lit && /^(\$ |>)/ {
		t = $0
		gsub(/\\e/, "", t); gsub(/\\-/, "", t); gsub(/\\&/, "", t)
		gsub(/\\\([a-z][a-z]/, "", t)
		for (i = 1; i <= length(chars); i++)
			if (index(t, substr(chars, i, 1))) {
				printf "%s:%d: unescaped %s in: %s\n", page, NR,
				    substr(chars, i, 1), $0
				bad = 1
				break
			}
	}
	END { exit bad }' "$2"
}

# The commands of a page's EXAMPLES, as rendered: one record per display,
# "D", then "C<TAB>line" for a command's first line and "+<TAB>line" for
# its continuation lines.
extract() {
	mandoc -Tutf8 "$1" | sed 's/.\x08//g' | awk '
	/^[^ ]/ { ex = ($0 == "EXAMPLES"); indisplay = 0; next }
	!ex { next }
	{
		match($0, /^ */)
		if (RLENGTH < 8 || $0 ~ /^ *$/) { indisplay = 0; next }
		if (!indisplay) { print "D"; indisplay = 1; cmd = 0 }
		line = substr($0, RLENGTH + 1)
		if (line ~ /^\$ /) {
			print "C\t" substr(line, 3); cmd = 1
		} else if (cmd && line ~ /^>( |$)/) {
			print "+\t" substr(line, 3)
		} else
			cmd = 0
	}'
}

# Turn a page's records into a bash script that runs its commands.
generate() {
	local page=$1 kind text first="" skipping="" rule
	local installed=/usr/local/share/livd/
	local -a block=()

	flush() {
		local i line
		[ ${#block[@]} -gt 0 ] || return 0
		skipping=""
		for line in "${block[@]}"; do
			[ "${line:0:1}" = C ] || continue
			for rule in "${SKIP[@]}"; do
				if [[ ${line:2} =~ ${rule%%|*} ]]; then
					skipping=${rule#*|}
					break 2
				fi
			done
		done
		if [ -n "$skipping" ]; then
			local ncmd=0
			for line in "${block[@]}"; do
				[ "${line:0:1}" = C ] && ncmd=$((ncmd + 1))
			done
			printf 'echo %q\n' "skip ($skipping): $ncmd commands, from \$ ${block[0]:2}"
			block=()
			return 0
		fi
		for ((i = 0; i < ${#block[@]}; i++)); do
			kind=${block[i]:0:1}
			text=${block[i]:2}
			text=${text//"$installed"/"$ROOT/share/livd/"}
			if [ "$kind" = C ]; then
				[ -n "$first" ] && check
				first=$text
				printf 'echo %q >&2\n' "\$ $text"
			fi
			printf '%s\n' "$text"
		done
		[ -n "$first" ] && check
		first=""
		block=()
	}
	check() {
		printf '__rc=$?; if [ $__rc -ne 0 ]; then echo %q"$__rc)" >&2; exit 1; fi\n' \
		    "man-examples: $(basename "$page"): failed: \$ $first (exit "
		printf 'echo C >>"$__count"\n'
	}

	printf 'set -o pipefail\n'
	printf 'trap %q EXIT\n' 'kill $(jobs -p) 2>/dev/null; true'
	while IFS= read -r rec; do
		if [ "$rec" = D ]; then
			flush
		else
			block+=("$rec")
		fi
	done < <(extract "$page")
	flush
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/man-examples.XXXXXX")
livd_pid=
cleanup() {
	if [ -n "$livd_pid" ]; then
		kill "$livd_pid" 2>/dev/null
		wait "$livd_pid" 2>/dev/null
	fi
	rm -rf "$scratch"
}
trap cleanup EXIT

for page in "$@"; do
	lint_source "$(basename "$page")" "$page" || die "fix the examples above"
done

# The test livd and what the pages take for granted around it.
export PATH="$BUILD:$PATH" HOME="$scratch" LIVD_SOCKET="$scratch/livd.sock"
export LC_ALL=C
cd "$scratch" || die "cannot enter $scratch"
(umask 077; head -c 32 /dev/urandom | base64 >secret)
printf '%s\n' '# the configuration of the livd the examples run against' \
    'secret_file: secret' 'presence_timeout: 120' >livd.yaml
livd -c livd.yaml -l 127.0.0.1:0 -r 0.5 </dev/null >livd.out 2>livd.log &
livd_pid=$!
for ((i = 0; i < 100; i++)); do
	livctl status >/dev/null 2>&1 && break
	kill -0 "$livd_pid" 2>/dev/null || { cat livd.log >&2; die "livd exited"; }
	sleep 0.05
done
livctl status >/dev/null 2>&1 || die "the test livd does not answer"

rc=0
for page in "$@"; do
	name=$(basename "$page")
	generate "$page" >"$scratch/$name.sh"
	: >"$scratch/$name.count"
	if __count="$scratch/$name.count" timeout "$PAGE_TIMEOUT" \
	    bash "$scratch/$name.sh" </dev/null >"$scratch/$name.out" 2>&1; then
		status=ok
	else
		status=$?
		[ "$status" = 124 ] && echo "man-examples: $name: over" \
		    "$PAGE_TIMEOUT seconds" >&2
		status=FAILED
		rc=1
	fi
	ran=$(wc -l <"$scratch/$name.count")
	skipped=$(awk '/^skip \(/ { n += substr($0, index($0, "): ") + 3) + 0 }
	    END { print n + 0 }' \
	    "$scratch/$name.out")
	echo "man-examples: $name: $status: $ran commands run, $skipped skipped"
	if $verbose || [ "$status" = FAILED ]; then
		sed 's/^/    /' "$scratch/$name.out"
	else
		grep '^skip (' "$scratch/$name.out" | sed 's/^/    /'
	fi
	[ "$ran" -gt 0 ] || [ "$skipped" -gt 0 ] || {
		echo "man-examples: $name: no examples found" >&2
		rc=1
	}
done
if [ "$rc" != 0 ]; then
	echo "man-examples: the test livd's log:" >&2
	sed 's/^/    /' livd.log >&2
fi
exit "$rc"

#!/usr/bin/env bats
# The manuals: livd(8), livctl(1) and livd.yaml(5) are mandoc -Tlint clean,
# and every command of their EXAMPLES sections works against a real livd
# (tools/man-examples.sh starts one of its own on a free port and a private
# socket; LIVD_BUILD picks the build, as for the other suites).

bats_require_minimum_version 1.5.0

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
PAGES=("$ROOT/man/livd.8" "$ROOT/man/livctl.1" "$ROOT/man/livd.yaml.5")

@test "manuals: mandoc -Tlint -Wwarning finds nothing" {
	run mandoc -Tlint -Wwarning "${PAGES[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "manuals: every EXAMPLES command runs and exits 0" {
	run "$ROOT/tools/man-examples.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	# Each page has examples that ran.
	for page in livd.8 livctl.1 livd.yaml.5; do
		[[ $output == *"man-examples: $page: ok: "* ]]
	done
	[[ $output != *" 0 commands run"* ]]
}

@test "manuals: a failing example fails the run" {
	local page="$BATS_TEST_TMPDIR/bad.1"
	cat >"$page" <<'EOF'
.Dd November 29, 2026
.Dt BAD 1
.Os
.Sh NAME
.Nm bad
.Nd an example that fails
.Sh EXAMPLES
.Bd -literal -offset indent
$ livctl status >/dev/null
$ livctl send nosuchverb
.Ed
EOF
	run "$ROOT/tools/man-examples.sh" "$page"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"failed: \$ livctl send nosuchverb (exit 1)"* ]]
}

@test "manuals: an unescaped hyphen in an example is refused" {
	local page="$BATS_TEST_TMPDIR/bad.1"
	cat >"$page" <<'EOF'
.Dd November 29, 2026
.Dt BAD 1
.Os
.Sh NAME
.Nm bad
.Nd an example with a bare hyphen
.Sh EXAMPLES
.Bd -literal -offset indent
$ livctl -j status
.Ed
EOF
	run "$ROOT/tools/man-examples.sh" "$page"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"bad.1:9: unescaped - in:"* ]]
}

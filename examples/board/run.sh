#!/bin/sh
# The board, in one command: livd with this directory's livd.yaml, and
# the Flask application; Ctrl-C stops both. Open http://127.0.0.1:5080/
#
#   examples/board/run.sh
#
# LIVD_BUILD picks the build directory (default: the tree's build/,
# built if missing). State (livd's secret, the database, the control
# socket) is in examples/board/var/.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${LIVD_BUILD:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac

[ -x "$build/livd" ] || make -C "$root" --no-print-directory all
/usr/bin/python3 -c 'import flask, jwt' 2>/dev/null || {
	echo "run.sh: needs python3-flask and python3-jwt:" \
	    "apt-get install python3-flask python3-jwt" >&2
	exit 1
}

cd "$here"
mkdir -p var
# The secret signs livd's hook requests and the app's /api tokens.
[ -s var/secret ] || (umask 077 && head -c 32 /dev/urandom | base64 >var/secret)

livd_pid= app_pid=
stop() {
	trap - EXIT INT TERM
	[ -z "$app_pid" ] || kill "$app_pid" 2>/dev/null || true
	[ -z "$livd_pid" ] || kill "$livd_pid" 2>/dev/null || true
	wait
}
trap stop EXIT
trap 'exit 130' INT TERM

"$build/livd" -c livd.yaml &
livd_pid=$!
/usr/bin/python3 app.py &
app_pid=$!
echo "run.sh: open http://127.0.0.1:5080/ (livd at http://127.0.0.1:8089," \
    "livctl -s $here/var/livd.sock)"
wait

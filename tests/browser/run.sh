#!/bin/sh
# livd's tests in a real browser: headless Debian chromium driven by
# playwright-core (npm). Every *.test.mjs here starts its own livd on a
# free port with a temporary socket, and stops it.
#
#   tests/browser/run.sh [FILE.test.mjs...]
#
# Installs chromium (apt-get, as root) and the npm packages (npm ci) when
# they are missing; never downloads a browser. LIVD_BUILD picks the build
# directory (default build; e.g. build-asan). Exits non-zero on any
# failure. Screenshots of the demo: tests/browser/out/demo.png and
# out/demo-phone.png; livd's logs: out/*.log.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${LIVD_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac

if [ ! -x "$build/livd" ] || [ ! -x "$build/livctl" ]; then
	echo "run.sh: building livd"
	make -C "$root" --no-print-directory all
fi

if [ ! -x /usr/bin/chromium ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "run.sh: chromium is missing; run as root: apt-get install -y chromium" >&2
		exit 1
	fi
	echo "run.sh: installing chromium"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q chromium >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "run.sh: node and npm are needed (Node.js 20 or newer)" >&2
	exit 1
fi

cd "$here"
if [ ! -d node_modules/playwright-core ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "run.sh: npm ci"
	npm ci --no-audit --no-fund --prefer-offline >/dev/null
fi

# Test a copy of the binaries, so that a rebuild in the shared tree during
# the run cannot mix an old livctl with a new livd. livd finds share/livd
# beside its binary: the copy's is a link to the tree's.
snap=$(mktemp -d "${TMPDIR:-/tmp}/livd-browser-bin.XXXXXX")
trap 'rm -rf "$snap"' EXIT
mkdir "$snap/bin"
cp "$build/livd" "$build/livctl" "$snap/bin/"
ln -s "$root/share" "$snap/share"

mkdir -p out
rm -f out/*.log
[ $# -gt 0 ] || set -- *.test.mjs
# One file at a time: each launches chromium and its own livd, and some
# tests measure time.
LIVD_BUILD=$snap/bin node --test --test-concurrency=1 --test-timeout=60000 \
    --test-reporter=spec "$@" && status=0 || status=$?
[ -f out/demo.png ] && echo "run.sh: screenshots in $here/out/demo.png and demo-phone.png"
[ $status = 0 ] && echo "run.sh: all browser tests passed" ||
	echo "run.sh: FAILED (livd logs in $here/out/)" >&2
exit $status

#!/bin/sh
# Install the Debian packages livd needs that are missing. As root it runs
# apt-get; otherwise it prints the command to run.
#   tools/deps.sh build    what building needs
#   tools/deps.sh check    what the tests need too
set -e
build="gcc make pkg-config libevent-dev libyaml-dev libjansson-dev libreadline-dev libssl-dev libhiredis-dev libcurl4-openssl-dev libwslay-dev"
check="$build clang bats parallel curl socat mandoc valgrind python3 python3-jwt python3-websockets python3-flask redis-server nginx"
case "${1:-build}" in
build) want=$build ;;
check) want=$check ;;
*) echo "usage: tools/deps.sh build|check" >&2; exit 2 ;;
esac
missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
# The browser tests need Node.js with npm; any install that has them will
# do (Debian's nodejs and npm, or one that bundles npm).
if [ "${1:-build}" = check ] && ! command -v npm >/dev/null 2>&1; then
	command -v node >/dev/null 2>&1 || missing="$missing nodejs"
	missing="$missing npm"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing" >&2
	echo "run as root:  apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null ||
	{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }

#!/bin/bash
# The long flood (make soak): tests/stress/flood.py at several sizes, in
# open and token mode, against one livd and against a cluster of two with
# a real redis-server, each with max_memory 64M. Every run must keep each
# node's RSS within max_memory plus the fixed overhead (OVERHEAD MiB),
# give every honest page every event or a reload, and answer livctl
# status throughout. Prints each run's figures; exits 1 if any failed.
#
# usage: tests/stress/flood-soak.sh [BUILD_DIR]   (default: build)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/${1:-build}
MAX_MEMORY_MIB=64
OVERHEAD=32
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/flood-soak.XXXXXX)
pids=()
rport=
failed=0

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_all() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	pids=()
	if [ -n "$rport" ]; then
		redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1
		rport=
	fi
}
trap 'stop_all; rm -rf "$tmp"' EXIT

# start_node NAME [config lines]: sets port, sock, pid of a fresh livd.
start_node() {
	local name=$1
	shift
	port=$(free_port)
	sock=$tmp/$name.sock
	printf '%s\n' "max_memory: ${MAX_MEMORY_MIB}M" \
	    ${CONNECT_RATE:+"$CONNECT_RATE"} "$@" >"$tmp/$name.yaml"
	"$B/livd" -c "$tmp/$name.yaml" -l "127.0.0.1:$port" -s "$sock" -r 1 \
	    </dev/null 2>"$tmp/$name.log" &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 200); do
		"$B/livctl" -s "$sock" status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "livd $name did not start: $(tail -3 "$tmp/$name.log")" >&2
	return 1
}

# run_flood LABEL MODE NODES [flood.py options]
run_flood() {
	local label=$1 mode=$2 nodes=$3 conf=() ports=() socks=() plist=() i
	shift 3
	if [ "$mode" = token ]; then
		head -c 32 /dev/urandom | base64 >"$tmp/secret"
		conf=("auth: token" "secret_file: $tmp/secret")
	fi
	if [ "$nodes" -gt 1 ]; then
		rport=$(free_port)
		redis-server --port "$rport" --bind 127.0.0.1 --save '' \
		    --appendonly no --daemonize yes \
		    --logfile "$tmp/redis.log" >/dev/null
		for _ in $(seq 100); do
			redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break
			sleep 0.05
		done
	fi
	for ((i = 1; i <= nodes; i++)); do
		if [ "$nodes" -gt 1 ]; then
			start_node "$label-n$i" "${conf[@]}" \
			    "redis: redis://127.0.0.1:$rport/0" "node_id: n$i" \
			    "presence_timeout: 30" || return 1
		else
			start_node "$label" "${conf[@]}" || return 1
		fi
		ports+=("$port")
		socks+=("$sock")
		plist+=("$pid")
	done
	local extra=()
	if [ "$mode" = token ]; then
		extra=(--token "$("$B/livctl" -s "${socks[0]}" token \
		    -l '/flood*' -l /elsewhere -p flooder)")
	fi
	[ -n "$rport" ] && extra+=(--redis "$rport")
	echo "== $label"
	(IFS=,; $PY "$ROOT/tests/stress/flood.py" --port "${ports[*]}" \
	    --pid "${plist[*]}" --sock "${socks[*]}" --livctl "$B/livctl" \
	    --max-rss $((MAX_MEMORY_MIB + OVERHEAD)) "${extra[@]}" "$@") ||
	    failed=1
	stop_all
}

for size in 20000 60000; do
	run_flood "open-$size" open 1 --size "$size"
	run_flood "open-$size-5loc" open 1 --size "$size" --locations 5
	run_flood "token-$size" token 1 --size "$size"
done
CONNECT_RATE="connect_rate: 50" run_flood open-rate open 1 --size 60000
run_flood cluster-open open 2 --size 60000
run_flood cluster-token token 2 --size 60000 --locations 3
exit $failed

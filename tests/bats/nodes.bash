# Shared by the suites that run livd nodes in cluster mode (cluster.bats,
# locations.bats): one redis-server and livd nodes on free loopback ports,
# started by each test; setup and teardown for them.

NODE_PIDS=()
REDIS_PORT=

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# redis_start [redis-server options...]; REDIS_PASSWORD: the default
# user's, if the options set one, for redis-cli.
redis_start() {
	REDIS_PORT=${REDIS_PORT:-$(free_port)}
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
	    --appendonly no --daemonize yes \
	    --logfile "$BATS_TEST_TMPDIR/redis.log" \
	    --pidfile "$BATS_TEST_TMPDIR/redis.pid" "$@" >/dev/null
	for ((i = 0; i < 100; i++)); do
		rcli ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.05
	done
	echo "redis-server did not start" >&2
	return 1
}

rcli() {
	REDISCLI_AUTH=${REDIS_PASSWORD:-} redis-cli -p "$REDIS_PORT" "$@"
}

redis_stop() {
	rcli shutdown nosave >/dev/null 2>&1 || true
	for ((i = 0; i < 100; i++)); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || return 0
		sleep 0.05
	done
}

# node_start N [config lines...]: livd node N on its own port and socket.
node_start() {
	local n=$1 conf="$BATS_TEST_TMPDIR/n$1.yaml"
	shift
	{
		echo "redis: ${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
		echo "node_id: n$n"
		echo "refresh: 1"
		echo "presence_timeout: 3"
		printf '%s\n' "$@"
	} >"$conf"
	"$LIVD" -c "$conf" -l 127.0.0.1:0 -s "$BATS_TEST_TMPDIR/n$n.sock" \
	    </dev/null 2>"$BATS_TEST_TMPDIR/n$n.log" 3>&- &
	NODE_PIDS[$n]=$!
	for ((i = 0; i < 200; i++)); do
		if "$LIVCTL" -s "$BATS_TEST_TMPDIR/n$n.sock" status \
		    >"$BATS_TEST_TMPDIR/n$n.status" 2>/dev/null &&
		    grep -q '^redis: up' "$BATS_TEST_TMPDIR/n$n.status"; then
			return 0
		fi
		sleep 0.05
	done
	echo "node $n did not come up" >&2
	cat "$BATS_TEST_TMPDIR/n$n.log" >&2
	return 1
}

n() {
	local n=$1
	shift
	"$LIVCTL" -s "$BATS_TEST_TMPDIR/n$n.sock" "$@"
}

node_url() {
	echo "http://$(sed -n 's/^listen: //p' "$BATS_TEST_TMPDIR/n$1.status")"
}

# node_connect N LOCATION PRINCIPAL: prints "uuid seq".
node_connect() {
	curl -s -d "location=$2" -d "principal=$3" "$(node_url "$1")/connect" |
	    jget 'd["uuid"] + " " + str(d["seq"])'
}

node_poll() {
	curl -s -m 5 "$(node_url "$1")/client/$2/output?since=$3"
}

nodes_setup() {
	redis_start
}

nodes_teardown() {
	local n status
	for n in "${!NODE_PIDS[@]}"; do
		kill -TERM "${NODE_PIDS[$n]}" 2>/dev/null || continue
		status=0
		wait "${NODE_PIDS[$n]}" || status=$?
		if [ "$status" != 0 ] && [ "$status" != 137 ]; then
			echo "node $n exited $status" >&3
		fi
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for n in "${!NODE_PIDS[@]}"; do
			echo "--- n$n.log ---" >&3
			cat "$BATS_TEST_TMPDIR/n$n.log" >&3
		done
	fi
	redis_stop
}

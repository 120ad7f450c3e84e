#!/bin/bash
# bench/run.sh: livd against nginx+nchan, side by side, in one run.
#
#   bench/run.sh [--tiny] [--repeat K] [--sizes "N ..."] [--rounds R]
#                [--ingest-events E] [--livd-bin DIR] [--no-install] [--keep]
#                [--no-cluster] [--cluster-sizes "N ..."] [--publishes C]
#                [--transports "poll sse ws"] [--fanout-only]
#
# Installs Debian's nginx and libnginx-mod-nchan (and redis-server, and
# python3-jwt for livd's API token) when missing, builds bench/livbench,
# bench/floor and livd (make all), then for each N, K times: starts a fresh nchan (one worker) and measures it,
# then a fresh bench/floor (the kernel floor: the least any server can
# spend per delivery here; driven as nchan) and measures it, then a fresh
# livd and measures it, then (for the cluster sizes) a fresh livd cluster:
# a private redis-server and two livd nodes, the N clients split across
# them, events published through node 1. Every server (both nodes and
# Redis too) runs on CPU 0, livbench on CPU 1. Last, K times, the
# `livctl send -` ingest rate with 1,000 clients held (re-polling, and
# answered once only). Then, K times, the HTTP publish path: single-event
# publishes over one keep-alive connection, one in flight, no subscribers,
# to a fresh floor, livd (POST /api, with a secret_file and an API token)
# and nchan (POST /pub/CHANNEL); and livd's POST /api in batches of 100
# send lines, with 1,000 clients held re-polling, with 1,000 held polls
# each answered once (the events then queue, as for livctl send - with
# each poll answered once), and with none. The ingest and batch rows
# say how many pages livd resynced (told to reload: they fell queue_limit
# behind and never got those events). Prints the table
# (medians over the K repeats), then the kernel floor's, and writes them,
# with every raw key=value line, to bench/results/DATE.txt and
# bench/results/latest.txt.
#
# Transports (--transports, default all three): poll, the long-poll runs
# above; sse and ws, for each N the same three servers holding N event
# streams (livd GET /client/UUID/events, nchan's eventsource subscriber,
# floor's) and N WebSockets (livd GET /client/UUID/ws, nchan's websocket
# subscriber, floor's), each event one message per stream; their table
# comes after the kernel floor's. The cluster runs only with poll.
# --fanout-only skips the ingest and HTTP publish runs.
#
# Cluster sizes: --cluster-sizes, else the --sizes given, else 1,000 and
# 10,000; --tiny: 50. --no-cluster skips the cluster runs.
#
# livd and livctl come from --livd-bin DIR, else from the working tree's
# build (make all), else, when the tree does not build, from HEAD built in a
# temporary directory; the table says which.
#
# Publishes per server and run: --publishes (default 100,000, after 100
# untimed). A livd whose /api answers 404 (none yet) gets n/a in its
# publish rows; that is not a failure.
#
# --tiny: N=50, 10 rounds, 5,000 ingest events, 1,000 publishes, K=1,
# about 10 s; writes bench/results/tiny.txt only. It proves the benchmark
# works and asserts nothing about speed.
#
# Exit status: 0 when every run (floor's too) delivered every event exactly
# once, livctl send - succeeded and every publish was answered as it should
# be; 1 when a run lost or duplicated a delivery, lost or got an error for
# a publish, or failed; 2 on a usage error.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

tiny=0
repeat=3
sizes="1000 10000 18000"
rounds=""
ingest_events=300000
ingest_n=1000
install=1
keep=0
livd_bin=""
cluster=1
cluster_sizes=""
sizes_given=0
publishes=100000
transports="poll sse ws"
fanout_only=0

usage() {
	sed -n '4,7p' "$0" | sed 's/^# *//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--tiny) tiny=1 ;;
	--repeat) [ $# -ge 2 ] || usage; repeat=$2; shift ;;
	--sizes) [ $# -ge 2 ] || usage; sizes=$2; sizes_given=1; shift ;;
	--cluster-sizes) [ $# -ge 2 ] || usage; cluster_sizes=$2; shift ;;
	--no-cluster) cluster=0 ;;
	--rounds) [ $# -ge 2 ] || usage; rounds=$2; shift ;;
	--ingest-events) [ $# -ge 2 ] || usage; ingest_events=$2; shift ;;
	--publishes) [ $# -ge 2 ] || usage; publishes=$2; shift ;;
	--transports) [ $# -ge 2 ] || usage; transports=$2; shift ;;
	--fanout-only) fanout_only=1 ;;
	--no-install) install=0 ;;
	--livd-bin) [ $# -ge 2 ] || usage; livd_bin=$2; shift ;;
	--keep) keep=1 ;;
	-h|--help) usage ;;
	*) echo "run.sh: unknown option '$1'" >&2; usage ;;
	esac
	shift
done
if [ "$tiny" = 1 ]; then
	sizes=50
	cluster_sizes=${cluster_sizes:-50}
	rounds=${rounds:-10}
	ingest_events=5000
	ingest_n=50
	publishes=1000
	repeat=1
fi
if [ -z "$cluster_sizes" ]; then
	if [ "$sizes_given" = 1 ]; then
		cluster_sizes=$sizes
	else
		cluster_sizes="1000 10000"
	fi
fi
for t in $transports; do
	case "$t" in poll|sse|ws) ;; *) echo "run.sh: bad transport '$t'" >&2; usage ;; esac
done
[ -n "$transports" ] || { echo "run.sh: no transport" >&2; usage; }
# the cluster is long-poll's
case " $transports " in *" poll "*) ;; *) cluster=0 ;; esac
[ "$cluster" = 1 ] || cluster_sizes=""
# ingest and publish runs: K of each, or none
extra_repeat=$repeat
[ "$fanout_only" = 0 ] || extra_repeat=0
case "$repeat" in ''|*[!0-9]*|0) echo "run.sh: bad --repeat '$repeat'" >&2; usage ;; esac
case "$publishes" in ''|*[!0-9]*|0) echo "run.sh: bad --publishes '$publishes'" >&2; usage ;; esac
case "$ingest_events" in ''|*[!0-9]*|0) echo "run.sh: bad --ingest-events '$ingest_events'" >&2; usage ;; esac
for n in $sizes $cluster_sizes; do
	case "$n" in ''|*[!0-9]*|0) echo "run.sh: bad size '$n'" >&2; usage ;; esac
done

say() { printf '%s\n' "run.sh: $*" >&2; }
fail() { say "$*"; exit 1; }

# --- what we need ----------------------------------------------------------

nchan_so=/usr/lib/nginx/modules/ngx_nchan_module.so
if ! command -v nginx >/dev/null 2>&1 || [ ! -f "$nchan_so" ]; then
	[ "$install" = 1 ] || fail "nginx or $nchan_so missing (and --no-install)"
	say "installing nginx and libnginx-mod-nchan"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
	    install -y -q nginx libnginx-mod-nchan >&2 ||
	    fail "apt-get install nginx libnginx-mod-nchan failed"
fi
if [ -n "$cluster_sizes" ] && ! command -v redis-server >/dev/null 2>&1; then
	[ "$install" = 1 ] || fail "redis-server missing (and --no-install; --no-cluster skips the cluster runs)"
	say "installing redis-server"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
	    install -y -q redis-server >&2 ||
	    fail "apt-get install redis-server failed"
fi
# The API token for livd's /api is minted with Debian's PyJWT.
if ! /usr/bin/python3 -c 'import jwt' 2>/dev/null; then
	[ "$install" = 1 ] || fail "python3-jwt missing (and --no-install)"
	say "installing python3-jwt"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
	    install -y -q python3-jwt >&2 ||
	    fail "apt-get install python3-jwt failed"
fi
make -s -C "$here" livbench floor >&2 || fail "cannot build livbench and floor"

tmp=$(mktemp -d /tmp/livbench.XXXXXX) || fail "mktemp failed"
# Every client of the benchmark connects from one address: connect_rate,
# which limits what one address may do, is off.
printf 'connect_rate: 0\n' >"$tmp/bench.yaml"
trap 'rm -rf "$tmp"' EXIT

# livd and livctl: --livd-bin DIR, else the working tree's build (make
# all), else, when the tree does not build, HEAD built privately. They
# are copied, in the tree's layout so livd finds share/livd beside them:
# a rebuild by someone else cannot swap the binary mid-run.
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
src="$root"
if [ -n "$livd_bin" ]; then
	bindir=$livd_bin
	commit="$bindir (commit unknown)"
elif make -s -C "$root" all >&2 && [ -x "$root/build/livctl" ]; then
	bindir="$root/build"
	dirty=$(git -C "$root" status --porcelain -- livd livctl share \
	    2>/dev/null | head -1)
	[ -z "$dirty" ] || commit="$commit+working tree"
else
	say "warning: the working tree does not build; building HEAD ($commit) privately"
	mkdir -p "$tmp/src" &&
	    git -C "$root" archive HEAD | tar -x -C "$tmp/src" &&
	    make -s -C "$tmp/src" all >&2 || fail "cannot build livd at HEAD"
	bindir="$tmp/src/build"
	src="$tmp/src"
	commit="$commit (HEAD built apart: the working tree did not build)"
fi
mkdir -p "$tmp/build" "$tmp/share" &&
    cp "$bindir/livd" "$bindir/livctl" "$tmp/build/" &&
    cp -R "$src/share/livd" "$tmp/share/" || fail "cannot copy livd"
livd="$tmp/build/livd"
livctl="$tmp/build/livctl"
livbench="$here/livbench"
floor="$here/floor"

ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
	srv_pin="taskset -c 0"
	gen_pin="taskset -c 1"
	pinning="servers on CPU 0 (nchan: 1 worker, worker_cpu_affinity 01; livd and floor: taskset${cluster_sizes:+; cluster: both livd nodes and redis-server share CPU 0, by taskset}), livbench on CPU 1"
else
	srv_pin=""
	gen_pin=""
	pinning="1 CPU: nothing pinned"
fi

# --- servers ---------------------------------------------------------------

server_pid=""
node_pids=""
redis_pid=""

# Stop the server this script started (by its own pid; nginx: the master
# from our pid file, which takes its worker with it).
stop_server() {
	[ -n "$server_pid" ] || return 0
	kill -TERM "$server_pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=""
}

# Stop the cluster this script started: the livd nodes, then Redis (by
# the pids of the processes we started, never by name).
stop_cluster() {
	local p
	for p in $node_pids $redis_pid; do
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	node_pids=""
	redis_pid=""
}

cleanup() {
	stop_server
	stop_cluster
	if [ "$keep" = 1 ]; then
		say "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A loopback port nothing listens on, below the ephemeral range where
# livbench's clients take theirs.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

wait_port() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

start_nchan() {
	local prefix="$tmp/nginx-$1"
	port=$(free_port)
	mkdir -p "$prefix/logs" "$prefix/tmp"
	sed "s/@PORT@/$port/" "$here/nchan.conf" >"$prefix/nchan.conf"
	# The master daemonizes; we know it by our pid file.
	$srv_pin nginx -p "$prefix" -c "$prefix/nchan.conf" \
	    -e "$prefix/logs/error.log" >&2 || fail "nginx did not start"
	for _ in $(seq 100); do
		[ -s "$prefix/nginx.pid" ] && break
		sleep 0.05
	done
	server_pid=$(cat "$prefix/nginx.pid" 2>/dev/null)
	[ -n "$server_pid" ] || fail "nginx wrote no pid file"
	wait_port "$port" || fail "nchan does not listen on $port"
}

start_livd() {	# NAME [livd -c CONFIG]
	local name=$1
	shift
	port=$(free_port)
	sock="$tmp/livd-$name.sock"
	$srv_pin "$livd" "$@" -l "127.0.0.1:$port" -s "$sock" -r 3600 \
	    2>"$tmp/livd-$name.log" &
	server_pid=$!
	for _ in $(seq 200); do
		"$livctl" -s "$sock" status >/dev/null 2>&1 && break
		sleep 0.05
	done
	# the control socket answers; the HTTP port listens (for /api too)
	if ! "$livctl" -s "$sock" status >/dev/null 2>&1 ||
	    ! wait_port "$port"; then
		fail "livd did not start: $(tail -3 "$tmp/livd-$name.log")"
	fi
}

# bench/floor, the kernel floor: nchan's protocol as livbench uses it,
# with the least work a server can do per delivery.
start_floor() {
	port=$(free_port)
	$srv_pin "$floor" -l "127.0.0.1:$port" 2>"$tmp/floor-$1.log" &
	server_pid=$!
	wait_port "$port" ||
	    fail "floor did not start: $(tail -3 "$tmp/floor-$1.log")"
}

redis_ping() {	# PORT: answers PONG?
	local line
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf 'PING\r\n' >&3
		read -r -t 2 line <&3 && [ "${line%$'\r'}" = +PONG ]
	) 2>/dev/null
}

# A livd cluster: a redis-server of our own (a free loopback port, a
# private directory, nothing saved) and two livd nodes, n1 and n2, all on
# CPU 0. Sets redis_pid, node_pids, node_addrs, node_socks, node_plist.
start_cluster() {
	local dir="$tmp/cluster-$1" rport i nport
	mkdir -p "$dir/redis"
	rport=$(free_port)
	$srv_pin redis-server --port "$rport" --bind 127.0.0.1 \
	    --save '' --appendonly no --daemonize no --dir "$dir/redis" \
	    --logfile "$dir/redis/redis.log" >/dev/null 2>&1 &
	redis_pid=$!
	for _ in $(seq 200); do
		redis_ping "$rport" && break
		sleep 0.05
	done
	redis_ping "$rport" ||
	    fail "redis-server did not start: $(tail -3 "$dir/redis/redis.log")"
	node_addrs=""
	node_socks=""
	node_plist=""
	for i in 1 2; do
		nport=$(free_port)
		printf 'redis: redis://127.0.0.1:%s/0\nnode_id: n%s\n%s\n' \
		    "$rport" "$i" 'connect_rate: 0' >"$dir/n$i.yaml"
		$srv_pin "$livd" -c "$dir/n$i.yaml" -l "127.0.0.1:$nport" \
		    -s "$dir/n$i.sock" -r 3600 2>"$dir/n$i.log" &
		node_pids="$node_pids $!"
		node_plist="$node_plist${node_plist:+,}$!"
		node_addrs="$node_addrs${node_addrs:+,}127.0.0.1:$nport"
		node_socks="$node_socks -s $dir/n$i.sock"
	done
	for i in 1 2; do
		for _ in $(seq 200); do
			"$livctl" -s "$dir/n$i.sock" status 2>/dev/null |
			    grep -q '^redis: up' && break
			sleep 0.05
		done
		"$livctl" -s "$dir/n$i.sock" status 2>/dev/null |
		    grep -q '^redis: up' ||
		    fail "livd node n$i did not come up: $(tail -3 "$dir/n$i.log")"
	done
}

# --- runs ------------------------------------------------------------------

raw="$tmp/raw.txt"
: >"$raw"
status=0

# OUTPUT plus livd's resyncs count (pages told to reload because they fell
# queue_limit behind: events they never received), read from its stats.
with_resyncs() {	# OUTPUT
	local r
	r=$("$livctl" -s "$sock" stats 2>/dev/null | sed -n 's/^resyncs: //p')
	printf '%s resyncs=%s\n' "$1" "${r:-na}"
}

record() {	# WHAT RC OUTPUT
	[ "$2" -eq 0 ] || { say "$1: livbench reported a failure"; status=1; }
	[ -n "$3" ] || { say "$1: no result"; status=1; return; }
	printf '%s\n' "$3" | tee -a "$raw" >&2
}

run_one() {	# KIND N ROUNDS RUN [TRANSPORT]
	local kind=$1 n=$2 r=$3 k=$4 t=${5:-poll} out rc topt=""
	local id="$n-$k" ch="b${n}r$k"
	# streams: livbench --transport; a server and channel of their own
	if [ "$t" != poll ]; then
		topt="--transport $t"
		id="$id-$t"
		ch="$ch$t"
	fi
	if [ "$kind" = nchan ]; then
		start_nchan "$id"
		# shellcheck disable=SC2086
		out=$($gen_pin "$livbench" -k nchan -a "127.0.0.1:$port" \
		    -P "$server_pid" -n "$n" -r "$r" -c "$ch" $topt)
		rc=$?
	elif [ "$kind" = floor ]; then
		# nchan's client, told apart in the raw lines by its label
		start_floor "$id"
		# shellcheck disable=SC2086
		out=$($gen_pin "$livbench" -k nchan -a "127.0.0.1:$port" \
		    -P "$server_pid" -n "$n" -r "$r" -c "$ch" \
		    --label floor $topt)
		rc=$?
		# floor logs its fan-out times as it exits
		stop_server
		[ -z "$out" ] || out="$out $(grep -o \
		    'floor_fanout_ms_p50=[^ ]* floor_fanout_ms_max=[^ ]*' \
		    "$tmp/floor-$id.log")"
		record "$kind${topt:+ $t} N=$n" "$rc" "$out"
		return
	elif [ "$kind" = cluster ]; then
		# -P: the nodes, then Redis (srv1, srv2, srv3 in the output);
		# -s: n1 publishes, both are read for livd's own fan-out.
		start_cluster "$n-$k"
		# shellcheck disable=SC2086
		out=$($gen_pin "$livbench" -k livd -a "$node_addrs" \
		    -P "$node_plist" -P "$redis_pid" -n "$n" -r "$r" \
		    $node_socks --label cluster)
		rc=$?
		record "$kind N=$n" "$rc" "$out"
		stop_cluster
		return
	else
		start_livd "$id" -c "$tmp/bench.yaml"
		# shellcheck disable=SC2086
		out=$($gen_pin "$livbench" -k livd -a "127.0.0.1:$port" \
		    -P "$server_pid" -n "$n" -r "$r" -s "$sock" $topt)
		rc=$?
	fi
	record "$kind${topt:+ $t} N=$n" "$rc" "$out"
	stop_server
}

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
in_list() {	# WORD LIST...
	local w=$1 x
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}
# shellcheck disable=SC2086
all_sizes=$(printf '%s\n' $sizes $cluster_sizes | sort -n -u)
for n in $all_sizes; do
	r=${rounds:-$(( (300000 + n - 1) / n ))}
	[ -n "$rounds" ] || [ "$r" -ge 20 ] || r=20
	for k in $(seq "$repeat"); do
		# shellcheck disable=SC2086
		if in_list "$n" $sizes; then
			for t in $transports; do
				w=""
				[ "$t" = poll ] || w=", $t streams"
				say "N=$n ($k/$repeat$w): nchan, $r rounds"
				run_one nchan "$n" "$r" "$k" "$t"
				say "N=$n ($k/$repeat$w): floor (the kernel's cost), $r rounds"
				run_one floor "$n" "$r" "$k" "$t"
				say "N=$n ($k/$repeat$w): livd, $r rounds"
				run_one livd "$n" "$r" "$k" "$t"
			done
		fi
		# shellcheck disable=SC2086
		if in_list "$n" $cluster_sizes; then
			say "N=$n ($k/$repeat): livd cluster (2 nodes + redis-server), $r rounds"
			run_one cluster "$n" "$r" "$k"
		fi
	done
done

awk -v n="$ingest_events" 'BEGIN { for (i = 1; i <= n; i++)
    printf "append t <p>ingest %d</p>\n", i }' >"$tmp/ingest.txt"
# Twice: the clients re-polling after each answer as pages do, then each
# answered once only (--no-repoll: the events just queue), which times the
# ingest path alone.
for k in $(seq "$extra_repeat"); do
	for mode in repoll no-repoll; do
		say "ingest ($k/$repeat, $mode): $ingest_events events through one livctl send -, $ingest_n clients held"
		start_livd "ingest-$mode-$k" -c "$tmp/bench.yaml"
		flag=""
		[ "$mode" = repoll ] || flag=--no-repoll
		out=$($gen_pin "$livbench" -k livd -a "127.0.0.1:$port" \
		    -P "$server_pid" -n "$ingest_n" -s "$sock" $flag \
		    --ingest "$tmp/ingest.txt" --livctl "$livctl")
		rc=$?
		[ -z "$out" ] || out=$(with_resyncs "$out")
		record ingest $rc "$out"
		stop_server
	done
done

# The HTTP publish path. livd's /api needs a secret_file and an API token
# (a JWT, HS256, signed with the file's bytes): both private to this run.
(
	umask 077
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret" &&
	    /usr/bin/python3 -c 'import jwt, sys, time
s = open(sys.argv[1], "rb").read()
s = s[:-1] if s.endswith(b"\n") else s
print(jwt.encode({"sub": "livbench", "livd": {"cmds": ["*"]},
    "exp": int(time.time()) + 86400}, s, algorithm="HS256"))' \
	    "$tmp/secret" >"$tmp/token"
) || fail "cannot mint the API token"
printf 'secret_file: %s\nconnect_rate: 0\n' "$tmp/secret" >"$tmp/api.yaml"
no_api=0

# KIND [livbench options]: a fresh server of KIND (floor, livd, nchan,
# batch: livd with clients held), its publishes measured, stopped.
# livbench exits 3 when livd answers /api with 404: n/a, not a failure.
run_publish() {
	local kind=$1 out rc
	shift
	case "$kind" in
	floor)	start_floor "publish-$k"
		out=$($gen_pin "$livbench" -k nchan -a "127.0.0.1:$port" \
		    -P "$server_pid" --label floor "$@") ;;
	nchan)	start_nchan "publish-$k"
		out=$($gen_pin "$livbench" -k nchan -a "127.0.0.1:$port" \
		    -P "$server_pid" -c "p$k" "$@") ;;
	*)	start_livd "$kind-$k" -c "$tmp/api.yaml"
		out=$($gen_pin "$livbench" -k livd -a "127.0.0.1:$port" \
		    -P "$server_pid" --token-file "$tmp/token" "$@") ;;
	esac
	rc=$?
	[ "$kind" = floor ] || [ "$kind" = nchan ] || [ -z "$out" ] ||
	    out=$(with_resyncs "$out")
	if [ "$rc" = 3 ]; then
		no_api=1
		printf '%s\n' "$out" | tee -a "$raw" >&2
	else
		record "publish $kind" "$rc" "$out"
	fi
	stop_server
}
for k in $(seq "$extra_repeat"); do
	for kind in floor livd nchan; do
		say "HTTP publish ($k/$repeat): $kind, $publishes single-event publishes, 1 keep-alive connection, no subscribers"
		run_publish "$kind" -n 0 --publish "$publishes"
	done
	batches=$(( (ingest_events + 99) / 100 ))
	say "HTTP publish ($k/$repeat): livd POST /api, $batches batches of 100 send lines, $ingest_n clients held"
	run_publish batch -n "$ingest_n" --publish "$batches" --batch 100 \
	    --label batch
	say "HTTP publish ($k/$repeat): livd POST /api, $batches batches of 100 send lines, $ingest_n polls held, each answered once"
	run_publish batchonce -n "$ingest_n" --publish "$batches" --batch 100 \
	    --no-repoll --label batchonce
	say "HTTP publish ($k/$repeat): livd POST /api, $batches batches of 100 send lines, no clients held"
	run_publish batch0 -n 0 --publish "$batches" --batch 100 \
	    --label batch0
done
[ "$no_api" = 0 ] ||
    say "livd answers POST /api with 404 (no /api in this build): its publish rows are n/a"
elapsed=$(( $(date +%s) - t0 ))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the table -------------------------------------------------------------

nginx_v=$(nginx -v 2>&1 | sed 's/.*nginx\///')
nchan_v=$(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null)
nofile=$(grep -o 'nofile=[0-9]*' "$raw" | head -1 | cut -d= -f2)
redis_v=""
if [ -n "$cluster_sizes" ]; then
	redis_v=$(redis-server --version 2>/dev/null | sed -n 's/.* v=\([^ ]*\).*/\1/p')
fi

table() {
	echo "livd vs nginx+nchan ($started, ${elapsed}s; medians of $repeat runs each)"
	echo "livd $commit; nginx $nginx_v, nchan $nchan_v${redis_v:+; redis-server $redis_v}; $(uname -sr); $ncpu CPUs"
	echo "pinning: $pinning"
	[ -z "$cluster_sizes" ] ||
	    echo "cluster (N=$(echo $cluster_sizes | sed 's/ /, /g')): 2 livd nodes + 1 redis-server, the two nodes and Redis sharing CPU 0 (one CPU for all three, as standalone livd has alone); table below the standalone one"
	echo "load average at start: $load_start; at end: $load_end (other work on the machine skews rates and latency more than CPU time)"
	echo "livd -r 3600; nchan longpoll, 1 worker; livbench: N keep-alive long-polls from 127.0.0.2.., RLIMIT_NOFILE ${nofile:-?}"
	echo "a round publishes one event and waits until all N clients have it; round 0 (warm-up) untimed"
	echo
	awk '
	function kv(line, key,   a, i, n, p) {
		n = split(line, a, " ")
		for (i = 1; i <= n; i++) {
			p = index(a[i], "=")
			if (substr(a[i], 1, p - 1) == key)
				return substr(a[i], p + 1)
		}
		return ""
	}
	# The median of the values of key over the lines of (server, n).
	function med(s, n, key,   i, j, c, v, t, x) {
		c = 0
		for (i = 1; i <= cnt[s, n]; i++) {
			x = kv(L[s, n, i], key)
			if (x == "" || x == "na")
				continue
			v[++c] = x + 0
		}
		if (c == 0)
			return ""
		for (i = 2; i <= c; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
	}
	function total(s, n, key,   i, sum) {
		sum = 0
		for (i = 1; i <= cnt[s, n]; i++)
			sum += kv(L[s, n, i], key)
		return cnt[s, n] ? sum : ""
	}
	function fmt(f, x) { return x == "" ? "-" : sprintf(f, x) }
	function line(name, l, c, f, target,   r) {
		r = "-"
		if (l != "" && c != "" && c + 0 != 0)
			r = sprintf("%.2f", l / c)
		printf "%-34s %6s %11s %11s %7s  %s\n", name, n, fmt(f, l),
		    fmt(f, c), r, target
	}
	function row(name, key, f, target) {
		line(name, med("livd", n, key), med("nchan", n, key), f,
		    target)
	}
	# cluster vs standalone livd: key in the cluster lines, skey in
	# the standalone ones (none: "-")
	function crow(name, key, skey, f,   c, l, r) {
		c = med("cluster", n, key)
		l = skey == "" ? "" : med("livd", n, skey)
		r = "-"
		if (c != "" && l != "" && l + 0 != 0)
			r = sprintf("%.2f", c / l)
		printf "%-40s %6s %11s %11s %7s\n", name, n, fmt(f, c),
		    fmt(f, l), r
	}
	function csum(name, key,   c, l) {
		c = total("cluster", n, key)
		l = total("livd", n, key)
		printf "%-40s %6s %11s %11s %7s  %s\n", name, n, fmt("%d", c),
		    fmt("%d", l), "-", "0"
	}
	function ratio(a, b) {
		return a != "" && b != "" && b + 0 != 0 ? sprintf("%.2f", a / b) : "-"
	}
	# The kernel floor: server CPU per delivery of bench/floor next to
	# livd'"'"'s and nchan'"'"'s, per N (medians; lost+dup summed).
	function floor_table(   i, n, f, l, c, u, s, bad) {
		if (k == 0)
			return
		printf "kernel floor: bench/floor, the least work a server can do per delivery (one\n"
		printf "recv per request, one send per answer formatted once per publish, edge-triggered\n"
		printf "epoll), driven as nchan, on CPU 0; its CPU is almost all the kernel'"'"'s TCP loopback\n"
		printf "path. Server CPU per delivery (us), and each server over the floor; nchan/2 was\n"
		printf "the old target for livd (l/n <= 0.50), below floor, where no epoll server on\n"
		printf "one CPU can reach it; the target now: livd/floor <= 1.15 at N=10000 and 18000.\n\n"
		printf "%-6s %8s %8s %8s %8s %10s %11s %11s %10s %8s\n", "N",
		    "floor", "livd", "nchan", "nchan/2", "livd/floor",
		    "nchan/floor", "floor user", "user share", "lost+dup"
		for (i = 1; i <= k; i++) {
			n = order[i]
			f = med("floor", n, "srv_sched_us_per_delivery")
			l = med("livd", n, "srv_sched_us_per_delivery")
			c = med("nchan", n, "srv_sched_us_per_delivery")
			u = med("floor", n, "srv_user_us_per_delivery")
			s = med("floor", n, "srv_user_share")
			bad = total("floor", n, "lost") + total("floor", n, "dup")
			printf "%-6s %8s %8s %8s %8s %10s %11s %11s %10s %8s\n", n,
			    fmt("%.2f", f), fmt("%.2f", l), fmt("%.2f", c),
			    c != "" ? sprintf("%.2f", c / 2) : "-",
			    ratio(l, f), ratio(c, f), fmt("%.2f", u),
			    fmt("%.2f", s), cnt["floor", n] ? bad : "-"
		}
		printf "\nfan-out of one event to all N, from reading it to the last answer written\n"
		printf "(ms, p50; livd: its own metric, floor: timed the same way; target: livd <= 30\n"
		printf "at N=10000):\n\n"
		printf "%-6s %8s %8s %10s\n", "N", "floor", "livd", "livd/floor"
		for (i = 1; i <= k; i++) {
			n = order[i]
			f = med("floor", n, "floor_fanout_ms_p50")
			l = med("livd", n, "livd_fanout_ms_p50")
			printf "%-6s %8s %8s %10s\n", n, fmt("%.2f", f),
			    fmt("%.2f", l), ratio(l, f)
		}
		print ""
	}
	# The HTTP publish path: per server, medians; n/a where livd had
	# no /api.
	function publish_table(   i, s, x, f, c, q, na) {
		if (!pseen)
			return
		printf "\nHTTP publish path: single-event publishes over 1 keep-alive connection, one\n"
		printf "in flight (the next sent when the answer is in), no subscribers: the publish\n"
		printf "path alone (deliveries are in the tables above). floor and nchan: POST\n"
		printf "/pub/CHANNEL; livd: POST /api with the Bearer token, one send line. Server CPU\n"
		printf "per publish (us): on-CPU time of the server over the timed publishes; x/nchan\n"
		printf "and x/floor: that of each row over nchan'"'"'s and floor'"'"'s; latency: request\n"
		printf "written to answer read (us).\n\n"
		printf "%-7s %12s %12s %8s %8s %8s %8s %9s %5s\n", "server",
		    "publishes/s", "CPU us/pub", "x/nchan", "x/floor",
		    "p50 us", "p99 us", "lost+err", "runs"
		f = med("pub-floor", 0, "srv_sched_us_per_publish")
		c = med("pub-nchan", 0, "srv_sched_us_per_publish")
		split("floor livd nchan", names, " ")
		for (i = 1; i <= 3; i++) {
			s = names[i]
			q = "pub-" s
			if (!cnt[q, 0]) {
				na = pna[s] ? "n/a" : "-"
				printf "%-7s %12s %12s %8s %8s %8s %8s %9s %5s\n",
				    s, na, na, na, na, na, na, na, pna[s] + 0
				continue
			}
			x = med(q, 0, "srv_sched_us_per_publish")
			printf "%-7s %12s %12s %8s %8s %8s %8s %9d %5d\n", s,
			    fmt("%.0f", med(q, 0, "publishes_per_s")),
			    fmt("%.2f", x), ratio(x, c), ratio(x, f),
			    fmt("%.0f", med(q, 0, "lat_p50_us")),
			    fmt("%.0f", med(q, 0, "lat_p99_us")),
			    total(q, 0, "lost") + total(q, 0, "errors"),
			    cnt[q, 0]
		}
		printf "targets: livd x/nchan < 1 and livd x/floor <= 1.25 (server CPU per publish); lost+err 0\n"
		q = "pub-batch0"
		if (cnt[q, 0])
			printf "\nlivd POST /api, batches of 100 send lines, one in flight, no pages held: %.0f events/s   target >= 200000\n  (median of %d; %s events; livd CPU %.3f us/event; lost+err %d; compare livctl send -, each poll answered once)\n",
			    med(q, 0, "events_per_s"), cnt[q, 0],
			    kv(L[q, 0, 1], "events"),
			    med(q, 0, "srv_sched_us_per_event"),
			    total(q, 0, "lost") + total(q, 0, "errors")
		q = "pub-batchonce"
		if (cnt[q, 0])
			printf "livd POST /api, the same batches into a location with %s polls held, each answered once in the warm-up (the events then queue): %.0f events/s   target >= 200000\n  (median of %d; %s events; livd CPU %.3f us/event; lost+err %d; compare livctl send -, each poll answered once)\n",
			    kv(L[q, 0, 1], "n"),
			    med(q, 0, "events_per_s"), cnt[q, 0],
			    kv(L[q, 0, 1], "events"),
			    med(q, 0, "srv_sched_us_per_event"),
			    total(q, 0, "lost") + total(q, 0, "errors")
		q = "pub-batch"
		if (cnt[q, 0])
			printf "livd POST /api, the same batches, %s pages held re-polling: %.0f events/s = %.0f deliveries/s\n  (median of %d; %s events; %s resyncs (0: every event reached every page); %.2f s;\n  livd CPU %.3f us/event; %.0f poll answers; lost+err %d)\n",
			    kv(L[q, 0, 1], "n"),
			    med(q, 0, "events_per_s"),
			    med(q, 0, "events_per_s") * kv(L[q, 0, 1], "n"),
			    cnt[q, 0], kv(L[q, 0, 1], "events"),
			    kv(L[q, 0, 1], "resyncs"),
			    med(q, 0, "publish_s"),
			    med(q, 0, "srv_sched_us_per_event"),
			    med(q, 0, "poll_answers"),
			    total(q, 0, "lost") + total(q, 0, "errors")
		else if (pna["batch"])
			printf "\nlivd POST /api, batches of 100 send lines: n/a (livd answered /api with 404)   target >= 200000\n"
	}
	# Streams: per transport and N, floor, livd and nchan, each over
	# nchan and over floor (medians; lost+dup summed over the runs).
	function stream_table(   t, i, n, j, s, q, r, c, f, x, p, pc, tn) {
		if (!sk)
			return
		printf "\nstreams: N held event streams (sse: livd GET /client/UUID/events, nchan\n"
		printf "eventsource, floor GET /sse/) or WebSockets (ws: livd GET /client/UUID/ws,\n"
		printf "nchan websocket, floor GET /ws/), one event a round to all N, one message each;\n"
		printf "no re-poll. RSS per idle stream: (server RSS with N open minus before) / N.\n"
		printf "Server CPU per delivery (us, on-CPU time); x/nchan and x/floor: each row over\n"
		printf "nchan'"'"'s and floor'"'"'s; latency send to receipt (ms).\n\n"
		printf "%-4s %6s %-6s %9s %7s %8s %7s %7s %7s %7s %7s %8s %4s\n",
		    "", "N", "server", "RSS B/str", "x/nchan", "CPU us", "x/nchan",
		    "x/floor", "p50 ms", "p99 ms", "x/nchan", "lost+dup", "runs"
		split("sse ws", tn, " ")
		split("floor livd nchan", names, " ")
		for (t = 1; t <= 2; t++)
			for (i = 1; i <= sk; i++) {
				n = sorder[i]
				q = "s-" tn[t] "-"
				if (!cnt[q "floor", n] && !cnt[q "livd", n] &&
				    !cnt[q "nchan", n])
					continue
				r = med(q "nchan", n, "rss_per_client_b")
				c = med(q "nchan", n, "srv_sched_us_per_delivery")
				f = med(q "floor", n, "srv_sched_us_per_delivery")
				pc = med(q "nchan", n, "lat_p99_ms")
				for (j = 1; j <= 3; j++) {
					s = q names[j]
					if (!cnt[s, n])
						continue
					x = med(s, n, "srv_sched_us_per_delivery")
					p = med(s, n, "lat_p99_ms")
					printf "%-4s %6s %-6s %9s %7s %8s %7s %7s %7s %7s %7s %8d %4d\n",
					    tn[t], n, names[j],
					    fmt("%.0f", med(s, n, "rss_per_client_b")),
					    ratio(med(s, n, "rss_per_client_b"), r),
					    fmt("%.2f", x), ratio(x, c), ratio(x, f),
					    fmt("%.2f", med(s, n, "lat_p50_ms")),
					    fmt("%.2f", p), ratio(p, pc),
					    total(s, n, "lost") + total(s, n, "dup"),
					    cnt[s, n]
				}
			}
		printf "targets (livd): RSS x/nchan <= 0.20; CPU x/nchan < 1 and x/floor <= 1.15;\n"
		printf "p99 x/nchan <= 1 at N=10000; lost+dup 0\n"
	}
	function sumrow(name, key, target) {
		line(name, total("livd", n, key), total("nchan", n, key), "%d",
		    target)
	}
	$1 == "mode=fanout" && kv($0, "label") == "cluster" {
		# the nodes are srv1..srvK (K = servers), Redis srvK+1
		n = kv($0, "n"); ns = kv($0, "servers"); a = 0
		for (i = 1; i <= ns; i++)
			a += kv($0, "srv" i "_sched_us_per_delivery")
		b = kv($0, "srv" (ns + 1) "_sched_us_per_delivery")
		L["cluster", n, ++cnt["cluster", n]] = $0 \
		    " nodes_sched_us_per_delivery=" a \
		    " redis_sched_us_per_delivery=" b
		if (!(n in cseen)) { cseen[n] = 1; corder[++ck] = n }
		next
	}
	# streams: s-TRANSPORT-SERVER, floor by its label
	$1 == "mode=stream" {
		s = kv($0, "label") == "floor" ? "floor" : kv($0, "server")
		n = kv($0, "n")
		s = "s-" kv($0, "transport") "-" s
		L[s, n, ++cnt[s, n]] = $0
		if (!(n in sseen)) { sseen[n] = 1; sorder[++sk] = n }
		next
	}
	# floor runs are livbench -k nchan (server=nchan) with label=floor
	$1 == "mode=fanout" && kv($0, "label") == "floor" {
		n = kv($0, "n")
		L["floor", n, ++cnt["floor", n]] = $0
		next
	}
	$1 == "mode=fanout" {
		s = kv($0, "server"); n = kv($0, "n")
		L[s, n, ++cnt[s, n]] = $0
		if (!(n in seen)) { seen[n] = 1; order[++k] = n }
	}
	# publish runs: floor (livbench -k nchan, label=floor), livd, nchan,
	# and livd batches (label=batch, pages held; batchonce, polls held
	# and answered once; batch0, none);
	# unavailable=404: livd has no /api
	$1 == "mode=publish" {
		s = kv($0, "label")
		if (s != "floor" && s != "batch" && s != "batch0" &&
		    s != "batchonce")
			s = kv($0, "server")
		if (kv($0, "unavailable") != "")
			pna[s]++
		else
			L["pub-" s, 0, ++cnt["pub-" s, 0]] = $0
		pseen = 1
		next
	}
	$1 == "mode=ingest" {
		m = kv($0, "repoll")
		L["ingest", m, ++cnt["ingest", m]] = $0
	}
	END {
		# sizes in order (sort -n -u ran them so)
		if (k > 0)
			printf "%-34s %6s %11s %11s %7s  %s\n", "figure", "N",
			    "livd", "nchan", "l/n", "target"
		for (i = 1; i <= k; i++) {
			n = order[i]
			row("set-up rate (clients/s)", "setup_rate", "%.0f", "")
			row("RSS per held poll (bytes)", "rss_per_client_b",
			    "%.0f", "l/n <= 0.20")
			row("deliveries/s (generator-bound)",
			    "deliveries_per_s", "%.0f", "")
			row("server CPU per delivery (us)",
			    "srv_sched_us_per_delivery", "%.2f",
			    (n == 1000 || n == 10000) ? "l/n <= 0.50" : "")
			row("  of which user space (us)",
			    "srv_user_us_per_delivery", "%.2f", "")
			row("generator CPU per delivery (us)",
			    "bench_cpu_us_per_delivery", "%.2f", "")
			row("server busy (CPU s / wall s)", "srv_util",
			    "%.2f", "")
			row("latency p50 (ms)", "lat_p50_ms", "%.2f", "")
			row("latency p99 (ms)", "lat_p99_ms", "%.2f",
			    n == 10000 ? "l/n <= 1" : "")
			row("latency max (ms)", "lat_max_ms", "%.2f", "")
			sumrow("lost deliveries (all runs)", "lost", "0")
			sumrow("duplicates (all runs)", "dup", "0")
			row("livd own fan-out p50 (ms)", "livd_fanout_ms_p50",
			    "%.2f", "")
			row("livd own fan-out max (ms)", "livd_fanout_ms_max",
			    "%.2f", n == 10000 ? "livd <= 30" : "")
			row("rounds per run", "rounds", "%d", "")
			print ""
			last = n
		}
		x = med("livd", last, "rss_per_client_b")
		if (x != "")
			printf "projection: 1,000,000 held polls = %.2f GB of livd RSS at %d bytes each (N=%s), plus kernel socket buffers\n\n",
			    x * 1e6 / 1e9, x, last
		floor_table()
		stream_table()
		if (ck > 0) {
			printf "cluster: 2 livd nodes (n1, n2) + redis-server, all three on CPU 0 (livbench on CPU 1);\n"
			printf "N clients split round-robin across the nodes, each connecting and polling at\n"
			printf "its node; events sent through n1'"'"'s control socket, reaching both nodes through Redis.\n"
			printf "standalone: the livd column above (one livd alone on CPU 0). c/s = cluster / standalone.\n\n"
			printf "%-40s %6s %11s %11s %7s  %s\n", "cluster figure", "N",
			    "cluster", "standalone", "c/s", "target"
			for (i = 1; i <= ck; i++) {
				n = corder[i]
				crow("deliveries/s (generator-bound)",
				    "deliveries_per_s", "deliveries_per_s",
				    "%.0f")
				crow("latency p50 (ms)", "lat_p50_ms",
				    "lat_p50_ms", "%.2f")
				crow("latency p99 (ms)", "lat_p99_ms",
				    "lat_p99_ms", "%.2f")
				crow("latency max (ms)", "lat_max_ms",
				    "lat_max_ms", "%.2f")
				crow("server CPU/delivery, nodes+redis (us)",
				    "srv_sched_us_per_delivery",
				    "srv_sched_us_per_delivery", "%.2f")
				crow("  livd nodes alone (us)",
				    "nodes_sched_us_per_delivery",
				    "srv_sched_us_per_delivery", "%.2f")
				crow("  redis-server alone (us)",
				    "redis_sched_us_per_delivery", "", "%.2f")
				crow("servers busy (CPU s / wall s)",
				    "srv_util", "srv_util", "%.2f")
				crow("livd own fan-out p50 (ms, max/nodes)",
				    "livd_fanout_ms_p50", "livd_fanout_ms_p50",
				    "%.2f")
				crow("livd own fan-out max (ms, max/nodes)",
				    "livd_fanout_ms_max", "livd_fanout_ms_max",
				    "%.2f")
				csum("lost deliveries (all runs)", "lost")
				csum("duplicates (all runs)", "dup")
				crow("set-up rate (clients/s)", "setup_rate",
				    "setup_rate", "%.0f")
				crow("RSS per held poll, nodes+redis (B)",
				    "rss_per_client_b", "rss_per_client_b",
				    "%.0f")
				crow("rounds per run", "rounds", "rounds", "%d")
				print ""
			}
		}
		s = "ingest"
		for (m = 1; m >= 0; m--) {
			if (!cnt[s, m])
				continue
			printf "livctl send - ingest, %s: %.0f events/s%s\n  (median of %d; %s events, %s clients at /bench; %.2f s; livd CPU %.2f s = %.2f us/event; livctl CPU %.2f s; %.0f poll answers; %s resyncs)\n",
			    m ? "pages re-polling" : "each poll answered once",
			    med(s, m, "ingest_events_per_s"),
			    m ? "   (pages that fell queue_limit behind were resynced)" : "", cnt[s, m],
			    kv(L[s, m, 1], "events"), kv(L[s, m, 1], "n"),
			    med(s, m, "ingest_s"), med(s, m, "srv_cpu_s"),
			    med(s, m, "srv_cpu_us_per_event"),
			    med(s, m, "livctl_cpu_s"),
			    med(s, m, "poll_answers"), med(s, m, "resyncs")
		}
		publish_table()
	}' "$raw"
	echo
	echo "server CPU per delivery: on-CPU time of the server's processes over the timed"
	echo "rounds (/proc/PID/task/*/schedstat; srv_cpu_us_per_delivery in the raw lines is"
	echo "the same from utime+stime), divided by deliveries; it includes reading each"
	echo "re-poll, and on loopback the kernel's receive path of the client's socket."
	echo "kernel floor: bench/floor.c, not a product but the measure of what this kernel"
	echo "costs per delivery (accept aside: wakeup, recv of the re-poll, send of the answer"
	echo "and the client socket's receive path); a server's x/floor is how far it is from"
	echo "what is physically possible, so a target like l/n <= 0.50 can be judged by it."
	echo "RSS per held poll: (VmRSS summed over the server's processes with N polls held,"
	echo "minus the same before connecting) / N; per idle stream likewise with N streams"
	echo "(or WebSockets) open; for livd, before connecting the pages. Streams: floor is"
	echo "the least a streaming server does, one send per open stream per event (the"
	echo "message framed once), so x/floor there is measured against what is possible."
	echo "livd own fan-out: livd's metric"
	if [ -n "$cluster_sizes" ]; then
		echo "fanout_seconds_last (control command stats), read after each round; in the"
		echo "cluster, from both nodes, the larger kept per round."
	else
		echo "fanout_seconds_last (control command stats), read after each round."
	fi
	echo "HTTP publish: bench/floor is also the floor of a publish: one recv of the"
	echo "request, a copy of its body, one send of a constant answer. The batch row"
	echo "sends the same events to the same held clients as the livctl send - row"
	echo "(re-polling), through POST /api instead of the control socket."
	echo "reproduce: make bench (bench/run.sh)"
	echo
	echo "raw:"
	cat "$raw"
}

mkdir -p "$here/results"
if [ "$tiny" = 1 ]; then
	table | tee "$here/results/tiny.txt"
else
	file="$here/results/$(date -u +%Y-%m-%dT%H%M%SZ).txt"
	table | tee "$file"
	cp "$file" "$here/results/latest.txt"
	say "wrote $file and bench/results/latest.txt"
fi
exit $status

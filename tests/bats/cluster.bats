#!/usr/bin/env bats
# Cluster mode (livd.yaml: redis, node_id): two and three livd nodes with
# one redis-server, started by each test on free loopback ports.

load helper
load nodes

setup() {
	nodes_setup
}

teardown() {
	nodes_teardown
}

@test "cluster: an event sent through one node reaches a page on another" {
	node_start 1
	node_start 2
	read -r u seq < <(node_connect 2 /chat bob)
	n 1 send -l /chat append target '<p>x</p>'
	node_poll 2 "$u" "$seq" | jassert '[(e["verb"], e["html"]) for e in d["events"]] == [("append", "<p>x</p>")]'
	run n 1 status
	assert_contains "$output" $'\nredis: up'
}

@test "cluster: events sent one after another through different nodes arrive in order" {
	node_start 1
	node_start 2
	node_start 3
	read -r u seq < <(node_connect 3 /order carol)
	for i in 1 2 3 4 5 6 7 8 9 10; do
		n $(( i % 2 + 1 )) send -l /order append log "$i"
	done
	node_poll 3 "$u" "$seq" | jassert '[e["html"] for e in d["events"]] == [str(i) for i in range(1, 11)] and [e["seq"] for e in d["events"]] == sorted(e["seq"] for e in d["events"])'
}

@test "cluster: who lists every principal online anywhere, sorted and unique; --local only this node's" {
	node_start 1
	node_start 2
	node_connect 1 /chat zorg.member.uwe >/dev/null
	node_connect 2 /chat zorg.member.dominik >/dev/null
	node_connect 2 /chat zorg.member.uwe >/dev/null
	node_connect 2 /other zorg.member.anna >/dev/null
	run n 1 who /chat
	assert_lines zorg.member.dominik zorg.member.uwe
	run n 2 who
	assert_lines '/chat zorg.member.dominik' '/chat zorg.member.uwe' '/other zorg.member.anna'
	run n 1 who --local /chat
	assert_lines zorg.member.uwe
	run n 1 clients /chat
	[ "${#lines[@]}" = 3 ]
	run n 1 clients --local
	[ "${#lines[@]}" = 1 ]
}

@test "cluster: send --dry-run lists the clients of every node the target names" {
	node_start 1
	node_start 2
	read -r a _ < <(node_connect 1 /chat uwe)
	read -r b _ < <(node_connect 2 /chat dominik)
	read -r c _ < <(node_connect 2 /other uwe)
	run n 1 send --dry-run -l /chat text box hi
	assert_status 0
	assert_lines "$b dominik /chat" "$a uwe /chat"
	run n 2 send -n -p uwe text box hi
	assert_lines "$a uwe /chat" "$c uwe /other"
	run n 1 send -n -c "$c" text box hi
	assert_lines "$c uwe /other"
	run n 1 send -n text box hi
	[ "${#lines[@]}" = 3 ]
	# the same keys as a standalone dry run's, nothing sent
	n 1 -j send -n -l /chat text box hi | jassert '[sorted(e) for e in d["clients"]] == [["location", "principal", "uuid"]] * 2'
	run n 1 stats
	assert_contains "$output" "events: 0"
	run --separate-stderr n 1 send -n -c "$NOUUID" text box hi
	assert_status 1
	assert_eq "$stderr" "livctl: unknown client '$NOUUID'"
	# checked as for sending first
	run --separate-stderr n 2 send -n -l /chat nosuchverb x
	assert_status 1
	assert_eq "$stderr" "livctl: unknown verb 'nosuchverb'"
}

@test "cluster: send -c reaches another node's client; an unknown uuid is an error" {
	node_start 1
	node_start 2
	read -r u seq < <(node_connect 2 /x bob)
	n 1 send -c "$u" text box hi
	node_poll 2 "$u" "$seq" | jassert '[e["text"] for e in d["events"]] == ["hi"]'
	run --separate-stderr n 1 send -c "$NOUUID" text box hi
	assert_status 1
	assert_eq "$stderr" "livctl: unknown client '$NOUUID'"
}

@test "cluster: refresh and reload act on every node; --local on this one" {
	node_start 1
	node_start 2
	n 1 refresh 7
	run n 2 refresh
	assert_eq "$output" 7
	n 2 refresh --local 3
	run n 1 refresh
	assert_eq "$output" 7
	# a location's own interval, and dropping it, reach every node too
	n 1 refresh -l /x 5
	run n 2 refresh -l /x
	assert_eq "$output" 5
	n 2 refresh -u -l /x
	run n 1 refresh -l /x
	assert_eq "$output" 7
	# A verb added to the files reaches every node with one reload.
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs1.yaml"
	cp "$SHIPPED_VERBS" "$BATS_TEST_TMPDIR/verbs2.yaml"
	kill -TERM "${NODE_PIDS[1]}" "${NODE_PIDS[2]}"
	wait "${NODE_PIDS[1]}" "${NODE_PIDS[2]}" || true
	node_start 1 "verbs: $BATS_TEST_TMPDIR/verbs1.yaml"
	node_start 2 "verbs: $BATS_TEST_TMPDIR/verbs2.yaml"
	run --separate-stderr n 2 send special 42
	assert_status 1
	for i in 1 2; do
		printf '\nspecial: {args: [arg]}\n' >>"$BATS_TEST_TMPDIR/verbs$i.yaml"
	done
	n 1 reload
	for ((i = 0; i < 40; i++)); do
		n 2 verbs | grep -q '^special arg$' && break
		sleep 0.05
	done
	run n 2 verbs
	assert_contains "$output" "special arg"
	run n 2 reload --local
	assert_status 0
}

@test "cluster: a page whose node is killed reconnects to another and misses nothing" {
	node_start 1
	node_start 2
	read -r u seq < <(node_connect 1 /room carol)
	n 2 send -l /room append log one
	cursor=$(node_poll 1 "$u" "$seq" | jget 'd["seq"]')
	kill -KILL "${NODE_PIDS[1]}"
	wait "${NODE_PIDS[1]}" 2>/dev/null || true
	unset 'NODE_PIDS[1]'
	for i in two three four; do
		n 2 send -l /room append log "$i"
	done
	read -r u2 _ < <(node_connect 2 /room carol)
	node_poll 2 "$u2" "$cursor" | jassert '[e["html"] for e in d["events"]] == ["two", "three", "four"]'
}

@test "cluster: a node that has no history of the location fills it from Redis" {
	node_start 1
	read -r u seq < <(node_connect 1 /room carol)
	n 1 send -l /room append log one
	cursor=$(node_poll 1 "$u" "$seq" | jget 'd["seq"]')
	n 1 send -l /room append log two
	n 1 send -l /room append log three
	node_start 2
	read -r u2 _ < <(node_connect 2 /room carol)
	node_poll 2 "$u2" "$cursor" | jassert '[e["html"] for e in d["events"]] == ["two", "three"]'
}

@test "cluster: a cursor older than the history gets a reload" {
	node_start 1 "history_limit: 2"
	read -r u seq < <(node_connect 1 /room carol)
	for i in 1 2 3 4 5; do
		n 1 send -l /room append log "$i"
	done
	node_start 2 "history_limit: 2"
	read -r u2 _ < <(node_connect 2 /room carol)
	node_poll 2 "$u2" "$seq" | jassert '[e["verb"] for e in d["events"]] == ["reload"]'
}

@test "cluster: a dead node's principals leave who within the presence timeout" {
	node_start 1
	node_start 2
	node_connect 1 /chat ghost >/dev/null
	node_connect 2 /chat alive >/dev/null
	run n 2 who /chat
	assert_lines alive ghost
	kill -KILL "${NODE_PIDS[1]}"
	wait "${NODE_PIDS[1]}" 2>/dev/null || true
	unset 'NODE_PIDS[1]'
	for ((i = 0; i < 50; i++)); do
		run n 2 who /chat
		[ "$output" = alive ] && break
		sleep 0.1
	done
	assert_lines alive
}

# presence_page N LOCATION PRINCIPAL: a page asking for join and leave;
# prints "uuid seq".
presence_page() {
	curl -s -d "location=$2" -d "principal=$3" -d presence=1 \
	    "$(node_url "$1")/connect" | jget 'd["uuid"] + " " + str(d["seq"])'
}

# page_events N UUID: poll until an answer has events (at most 10 s);
# prints them a line each, "VERB USER". The page's cursor is kept in
# $BATS_TEST_TMPDIR/seq, as `run` forgets variables.
page_events() {
	local body i seq
	for ((i = 0; i < 10; i++)); do
		seq=$(cat "$BATS_TEST_TMPDIR/seq")
		body=$(node_poll "$1" "$2" "$seq")
		printf '%s' "$body" | jget 'd["seq"]' >"$BATS_TEST_TMPDIR/seq"
		if [ "$(printf '%s' "$body" | jget 'len(d["events"])')" != 0 ]; then
			printf '%s' "$body" | jget '"\n".join(e["verb"] + " " + e["user"] for e in d["events"])'
			return 0
		fi
	done
	return 1
}

@test "cluster: join and leave reach presence pages on every node, once per principal" {
	node_start 1
	node_start 2
	read -r page seq < <(presence_page 2 /chat watcher)
	echo "$seq" >"$BATS_TEST_TMPDIR/seq"
	run page_events 2 "$page"
	assert_lines "join watcher"
	read -r a _ < <(node_connect 1 /chat alice)
	run page_events 2 "$page"
	assert_lines "join alice"
	# alice on this node too: not news here
	read -r a2 _ < <(node_connect 2 /chat alice)
	# the page's first list holds both nodes' principals
	curl -s "$(node_url 2)/client/$page/who" |
	    jassert 'd["principals"] == ["alice", "watcher"]'
	curl -s "$(node_url 1)/client/$a/who" |
	    jassert 'd["principals"] == ["alice", "watcher"]'
	# alice leaves node 1 but is still here: no leave; then here too: leave
	curl -s -X POST "$(node_url 1)/client/$a/close" >/dev/null
	read -r b _ < <(node_connect 1 /chat bob)
	run page_events 2 "$page"
	assert_lines "join bob"
	curl -s -X POST "$(node_url 2)/client/$a2/close" >/dev/null
	run page_events 2 "$page"
	assert_lines "leave alice"
	# a node that dies: its principals leave within the presence timeout
	kill -KILL "${NODE_PIDS[1]}"
	wait "${NODE_PIDS[1]}" 2>/dev/null || true
	unset 'NODE_PIDS[1]'
	run page_events 2 "$page"
	assert_lines "leave bob"
	curl -s "$(node_url 2)/client/$page/who" |
	    jassert 'd["principals"] == ["watcher"]'
}

@test "cluster: with Redis down a local send still reaches a local page; back up, all is as before" {
	node_start 1
	node_start 2
	read -r u seq < <(node_connect 2 /out erin)
	redis_stop
	for ((i = 0; i < 40; i++)); do
		n 2 status | grep -q '^redis: down' && break
		sleep 0.05
	done
	run n 2 status
	assert_contains "$output" $'\nredis: down'
	n 2 send -l /out append t during
	cursor=$(node_poll 2 "$u" "$seq" | jassert '[e["html"] for e in d["events"]] == ["during"]' && node_poll 2 "$u" "$seq" | jget 'd["seq"]')
	redis_start
	for ((i = 0; i < 100; i++)); do
		n 2 status | grep -q '^redis: up' && n 1 status | grep -q '^redis: up' && break
		sleep 0.05
	done
	run n 2 status
	assert_contains "$output" $'\nredis: up'
	# Presence is registered again in the restarted Redis.
	run n 1 who /out
	assert_lines erin
	n 1 send -l /out append t after
	node_poll 2 "$u" "$cursor" | jassert '[e["html"] for e in d["events"]] == ["after"]'
	grep -q 'redis: link down' "$BATS_TEST_TMPDIR/n2.log"
}

@test "cluster: Redis stopped and restarted under load: livd keeps serving, pages lose nothing silently" {
	node_start 1
	node_start 2
	read -r u seq < <(node_connect 2 /load reader)
	# The reader polls all along, as a page does (one that stops polling
	# for presence_timeout is gone): every event once and in order, or a
	# reload.
	(
		cursor=$seq
		seen=
		for ((i = 0; i < 200; i++)); do
			body=$(node_poll 2 "$u" "$cursor")
			cursor=$(printf '%s' "$body" | jget 'd["seq"]')
			seen="$seen $(printf '%s' "$body" | jget '" ".join(e.get("html", e["verb"]) for e in d["events"])')"
			case $seen in *last*|*reload*) break ;; esac
		done
		printf '%s\n' "$seen" >"$BATS_TEST_TMPDIR/seen"
	) &
	reader=$!
	(
		for i in $(seq 1 400); do
			echo "append log $i"
			sleep 0.005
		done
	) | n 1 send -l /load - 2>"$BATS_TEST_TMPDIR/send.err" &
	sender=$!
	sleep 0.5
	redis_stop
	sleep 0.5
	redis_start
	wait "$sender" || true
	for ((i = 0; i < 100; i++)); do
		n 1 status | grep -q '^redis: up' && break
		sleep 0.05
	done
	n 1 send -l /load append log last
	wait "$reader"
	python3 -c '
import sys
words = sys.stdin.read().split()
assert words, "nothing arrived"
if "reload" not in words:
	nums = [int(w) for w in words if w != "last"]
	assert nums == sorted(nums) and len(set(nums)) == len(nums), words
	assert words[-1] == "last", words
' <"$BATS_TEST_TMPDIR/seen"
	run n 1 status
	assert_status 0
	run n 2 status
	assert_status 0
}

@test "standalone: status has no redis line" {
	SOCK="$BATS_TEST_TMPDIR/livd.sock"
	livd_spawn -l 127.0.0.1:0 -s "$SOCK"
	run livctl status
	[[ "$output" != *redis:* ]]
	kill -TERM "$LIVD_PID"
	wait "$LIVD_PID"
	LIVD_PID=
}

@test "cluster: a Redis with passwords: USER:PASSWORD@ and :PASSWORD@ link up; a wrong or missing one is logged, the node serves alone" {
	redis_stop
	REDIS_PASSWORD='pw@/:x'
	redis_start --requirepass "$REDIS_PASSWORD"
	rcli ACL SETUSER livd on '>other pw' '~*' '&*' '+@all' >/dev/null
	# the password ends at the last @: it may hold @, / and :
	REDIS_URL="redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
	node_start 1
	REDIS_URL="redis://livd:other pw@127.0.0.1:$REDIS_PORT/0"
	node_start 2
	read -r u seq < <(node_connect 2 /chat bob)
	n 1 send -l /chat append target '<p>x</p>'
	node_poll 2 "$u" "$seq" | jassert 'len(d["events"]) == 1'
	# neither the status nor the log shows the password
	run n 1 status
	assert_contains "$output" $'\nredis: up'
	! grep -q 'other pw\|pw@' "$BATS_TEST_TMPDIR/n1.log" "$BATS_TEST_TMPDIR/n2.log"
	local url
	for url in "redis://:wrong@127.0.0.1:$REDIS_PORT/0" \
	    "redis://127.0.0.1:$REDIS_PORT/0"; do
		printf 'redis: %s\nnode_id: n3\n' "$url" >"$BATS_TEST_TMPDIR/n3.yaml"
		"$LIVD" -c "$BATS_TEST_TMPDIR/n3.yaml" -l 127.0.0.1:0 \
		    -s "$BATS_TEST_TMPDIR/n3.sock" </dev/null \
		    2>"$BATS_TEST_TMPDIR/n3.log" 3>&- &
		NODE_PIDS[3]=$!
		for ((i = 0; i < 100; i++)); do
			grep -q 'link down' "$BATS_TEST_TMPDIR/n3.log" && break
			sleep 0.05
		done
		grep -q 'redis: link down (.*\(WRONGPASS\|NOAUTH\)' "$BATS_TEST_TMPDIR/n3.log"
		n 3 status >"$BATS_TEST_TMPDIR/n3.status"
		grep -q '^redis: down' "$BATS_TEST_TMPDIR/n3.status"
		# alone, it serves its own pages
		read -r u3 seq3 < <(node_connect 3 /chat carol)
		n 3 send -l /chat append target '<p>y</p>'
		node_poll 3 "$u3" "$seq3" | jassert 'len(d["events"]) == 1'
		kill -TERM "${NODE_PIDS[3]}"
		wait "${NODE_PIDS[3]}"
		unset 'NODE_PIDS[3]'
	done
}

@test "cluster: a redis URL with a user but no password is refused at start" {
	local bad
	for bad in "redis://livd@127.0.0.1:$REDIS_PORT" "redis://livd:@127.0.0.1:$REDIS_PORT" \
	    "redis://:pw@" "redis://:pw@:6379"; do
		printf 'redis: %s\n' "$bad" >"$BATS_TEST_TMPDIR/bad.yaml"
		run --separate-stderr "$LIVD" -c "$BATS_TEST_TMPDIR/bad.yaml" \
		    -l 127.0.0.1:0 -s "$BATS_TEST_TMPDIR/bad.sock"
		assert_status 1
		assert_contains "$stderr" "redis"
		[[ "$stderr" != *pw* ]]
	done
}

@test "cluster: an /api send on node 1 reaches a page on node 2, once; answers in order" {
	local secret="$BATS_TEST_TMPDIR/secret" token body
	(umask 077 && head -c 32 /dev/urandom | base64 >"$secret")
	node_start 1 "secret_file: $secret"
	node_start 2 "secret_file: $secret"
	read -r u seq < <(node_connect 2 /chat bob)
	token=$(n 1 token --cmds send,who)
	body=$(curl -s --max-time 10 -H "Authorization: Bearer $token" \
	    --data-binary $'{"cmd":"send","location":"/chat","verb":"append","id":"log","html":"1"}\n{"cmd":"who","location":"/chat"}\n{"cmd":"send","principal":"bob","verb":"append","id":"log","html":"2"}\n' \
	    "$(node_url 1)/api")
	[ "$(printf '%s\n' "$body" | wc -l)" = 3 ]
	printf '%s\n' "$body" | sed -n 1p | jassert 'd["ok"] is True and d["seq"] > 0'
	assert_eq "$(printf '%s\n' "$body" | sed -n 2p)" '{"ok":true,"location":"/chat","principals":["bob"]}'
	printf '%s\n' "$body" | sed -n 3p | jassert 'd["ok"] is True and d["seq"] > 0'
	node_poll 2 "$u" "$seq" | jassert '[e["html"] for e in d["events"]] == ["1", "2"]'
}

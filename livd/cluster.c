/*
 * Cluster mode: several livd nodes behind a load balancer behave as one,
 * through Redis. Only when livd.yaml names a redis; a standalone livd
 * never gets here (the hub's cluster hooks stay NULL).
 *
 * Sending: a Lua script takes the next seq (INCR livd:seq), appends the
 * event to its location's history stream (XADD, id = seq) and PUBLISHes
 * it. Every node, the sender included, delivers it to its own pages when
 * the message arrives, so all nodes see events in Redis's one order and
 * seq and cursors mean the same everywhere.
 *
 * Catching up: a page that lost its node connects to another and polls
 * with its old cursor; when the node's own history does not reach back
 * that far, it fills it from the Redis streams, which say (through
 * max-deleted-entry-id) whether they still hold everything after the
 * cursor. If not, the page gets a reload.
 *
 * Presence: each node keeps its online principals and clients in keys of
 * its own that expire unless its heartbeat renews them; who and clients
 * read every live node's keys.
 *
 * Outages: with the link down a node goes on serving its own pages,
 * sending locally; it reconnects with a short backoff, lifts livd:seq
 * above every seq it gave out, registers its presence again and replays
 * what the streams hold that it missed, or makes its pages resync.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "util.h"
#include "cluster.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "msg.h"

#define KEY_SEQ		"livd:seq"
#define KEY_NODES	"livd:nodes"
#define KEY_REFRESH	"livd:refresh"
#define KEY_ALL		"livd:all"
#define KEY_WHO_VERSION	"livd:whoversion"	/* bumped by every who change */
#define CHANNEL_EVENTS	"livd:events"
#define CHANNEL_CONTROL	"livd:control"
#define BACKFILL_MAX	"1000"

/* Take a seq, keep the event in its stream, publish it. */
static const char send_script[] =
    "if ARGV[5] ~= '' then\n"
    "  local found = false\n"
    "  for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[6],"
    " '+inf')) do\n"
    "    if redis.call('HEXISTS', 'livd:clients:' .. n, ARGV[5]) == 1 then\n"
    "      found = true break end\n"
    "  end\n"
    "  if not found then return redis.error_reply('unknown client') end\n"
    "end\n"
    "local s = string.format('%.0f', redis.call('INCR', KEYS[1]))\n"
    "local e = '{\"seq\":' .. s .. ',' .. ARGV[1]\n"
    "if KEYS[2] ~= '' then\n"
    "  redis.call('XADD', KEYS[2], s .. '-0', 'e', e)\n"
    /* XDEL, unlike MAXLEN, moves max-deleted-entry-id: the stream then
     * says how far back it is complete. */
    "  local over = redis.call('XLEN', KEYS[2]) - tonumber(ARGV[3])\n"
    "  if over > 0 then\n"
    "    for _, old in ipairs(redis.call('XRANGE', KEYS[2], '-', '+',"
    " 'COUNT', math.min(over, 100))) do\n"
    "      redis.call('XDEL', KEYS[2], old[1]) end\n"
    "  end\n"
    "  redis.call('PEXPIRE', KEYS[2], ARGV[4])\n"
    "end\n"
    "redis.call('PUBLISH', ARGV[7], ARGV[2] .. e .. '}')\n"
    "return s\n";

/* Lift livd:seq to at least ARGV[1]; returns it. */
static const char bump_script[] =
    "local v = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if v < tonumber(ARGV[1]) then\n"
    "  redis.call('SET', KEYS[1], ARGV[1]) v = tonumber(ARGV[1]) end\n"
    "return string.format('%.0f', v)\n";

/* Every live node's members of a key family, filtered by a prefix. */
static const char gather_script[] =
    "local out = {}\n"
    "for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1],"
    " '+inf')) do\n"
    "  local key = ARGV[2] .. n\n"
    "  local items\n"
    "  if ARGV[4] == 'hash' then items = redis.call('HVALS', key)\n"
    "  else items = redis.call('SMEMBERS', key) end\n"
    "  for _, m in ipairs(items) do\n"
    "    if ARGV[3] == '' or string.sub(m, 1, #ARGV[3]) == ARGV[3] then\n"
    "      table.insert(out, m) end\n"
    "  end\n"
    "end\n"
    "return out\n";

/*
 * The other live nodes' members ("LOCATION\tPRINCIPAL", twice for one on
 * two nodes) after the who version and the number of live nodes; or only
 * those two and "same" when neither changed since the caller's last look.
 */
static const char snapshot_script[] =
    "local live = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')\n"
    "local v = redis.call('GET', KEYS[2]) or '0'\n"
    "if v == ARGV[3] and #live == tonumber(ARGV[4]) then\n"
    "  return {v, #live, 'same'} end\n"
    "local out = {v, #live, 'full'}\n"
    "for _, n in ipairs(live) do\n"
    "  if n ~= ARGV[2] then\n"
    "    for _, m in ipairs(redis.call('SMEMBERS', 'livd:who:' .. n)) do\n"
    "      table.insert(out, m) end\n"
    "  end\n"
    "end\n"
    "return out\n";

/*
 * The events of some streams after a seq, and whether that is all of them:
 * nothing after the seq was trimmed away, and no answer was cut at COUNT.
 */
static const char backfill_script[] =
    "local out = {1}\n"
    "for _, key in ipairs(KEYS) do\n"
    "  local ok, info = pcall(redis.call, 'XINFO', 'STREAM', key)\n"
    "  if ok then\n"
    "    for i = 1, #info, 2 do\n"
    "      if info[i] == 'max-deleted-entry-id' then\n"
    "        local d = tonumber(string.match(info[i + 1], '^(%d+)'))\n"
    "        if d > tonumber(ARGV[1]) then out[1] = 0 end\n"
    "      end\n"
    "    end\n"
    "    local got = redis.call('XRANGE', key, '(' .. ARGV[1] ..\n"
    "        '-0', '+', 'COUNT', ARGV[2])\n"
    "    if #got >= tonumber(ARGV[2]) then out[1] = 0 end\n"
    "    for _, e in ipairs(got) do\n"
    "      table.insert(out, key) table.insert(out, e[2][2])\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* A live event held back while a reconnected node replays what it missed. */
struct held {
	char	*payload;
	size_t	 len;
	uint64_t seq;
};

#define HOLD_MAX	100000

/*
 * Who is online on the other nodes, as the last snapshot from Redis said:
 * locations, each with its principals. Only snapshots change it, applied
 * in the order they were taken, so it never runs ahead of Redis.
 */
struct remote_location {
	struct hnode	 node;
	char		*name;
	struct hmap	 principals;	/* struct remote_principal */
};

struct remote_principal {
	struct hnode	 node;
	char		*name;
	unsigned	 generation;	/* the last snapshot that had it */
};

static struct {
	char			*host;
	int			 port;
	int			 db;
	char			*user;		/* AUTH, when the URL has them */
	char			*password;
	char			*node;
	char			*key_who;	/* livd:who:NODE */
	char			*key_clients;	/* livd:clients:NODE */
	redisAsyncContext	*cmd;
	redisAsyncContext	*sub;
	bool			 cmd_ready;
	bool			 sub_ready;
	bool			 up;
	bool			 ever_up;
	bool			 stopping;
	uint64_t		 last_seen;	/* newest seq from Redis */
	bool			 catching_up;	/* live events held till replayed */
	struct held		*held;		/* in arrival order */
	size_t			 nheld;
	size_t			 heldcap;
	bool			 held_overflow;
	double			 backoff;
	struct event		*heartbeat;
	struct event		*retry;
	struct hmap		 remote;	/* struct remote_location */
	unsigned		 generation;
	char			 who_version[32];	/* of the last snapshot */
	long long		 live_nodes;
	bool			 snapshot_busy;
	bool			 snapshot_again;	/* asked for meanwhile */
	struct event		*snapshot_soon;	/* a burst of changes: one */
} cl;

static void	cluster_connect(void);
static void	link_lost(const char *);
static void	cl_link_ready(void);
static void	cluster_catch_up(void);
static bool	cluster_backfill(struct client *);

const char *
cluster_status(void)
{
	if (cl.node == NULL)
		return NULL;
	return cl.up ? "up" : "down";
}

bool
cluster_up(void)
{
	return cl.up;
}

static double
now_ms(void)
{
	return now_wall() * 1000;
}

/* Run a command; argv as strings (binary-safe lengths taken by strlen). */
static int
command(redisAsyncContext *ac, redisCallbackFn *fn, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	size_t l[32] = { 0 }, *lp = l;
	int rc;

	if (ac == NULL)
		return -1;
	if (lens == NULL) {
		/* Many arguments: a catch-up over many locations. */
		if ((size_t)argc > countof(l))
			lp = xcalloc((size_t)argc, sizeof *lp);
		for (int i = 0; i < argc; i++)
			lp[i] = strlen(argv[i]);
		lens = lp;
	}
	rc = redisAsyncCommandArgv(ac, fn, arg, argc, argv, lens);
	if (lp != l)
		free(lp);
	return rc;
}

/* The timeout after which a node that stopped beating counts as gone. */
static double
timeout_ms(void)
{
	return hub_presence_timeout(NULL) * 1000;
}

static char *
member_of(const char *location, const char *principal)
{
	return xprintf("%s\t%s", location, principal);
}

/*
 * The field of the client's i-th location in this node's clients hash:
 * its uuid for the first, "UUID\tLOCATION" for the others (to free).
 */
static char *
client_field(const struct client *c, size_t i)
{
	return i == 0 ? xstrdup(c->uuid) : xprintf("%s\t%s", c->uuid,
	    HUB_CLIENT_AT(c, i)->name);
}

/* Presence hooks: called by the hub as pages come and go. */
static void
on_connect(struct client *c)
{
	const char *argv[2 + 2 * (HUB_LOCATIONS_MAX)];
	size_t argc = 2;

	if (!cl.up)
		return;
	/* One entry per location, as clients lists them. */
	argv[0] = "HSET"; argv[1] = cl.key_clients;
	for (size_t i = 0; i <= c->nmore; i++) {
		argv[argc++] = client_field(c, i);
		argv[argc++] = xprintf("%s\t%s\t%s", c->uuid,
		    c->principal->name, HUB_CLIENT_AT(c, i)->name);
	}
	command(cl.cmd, NULL, NULL, (int)argc, argv, NULL);
	for (size_t i = 2; i < argc; i++)
		free((char *)argv[i]);
}

static void
on_close(struct client *c)
{
	const char *argv[2 + HUB_LOCATIONS_MAX];
	size_t argc = 2;

	if (!cl.up)
		return;
	argv[0] = "HDEL"; argv[1] = cl.key_clients;
	for (size_t i = 0; i <= c->nmore; i++)
		argv[argc++] = client_field(c, i);
	command(cl.cmd, NULL, NULL, (int)argc, argv, NULL);
	for (size_t i = 2; i < argc; i++)
		free((char *)argv[i]);
}

/* Tell the other nodes that who changed: they take a snapshot. */
static void
who_changed(void)
{
	const char *incr[] = { "INCR", KEY_WHO_VERSION };
	const char *publish[] = { "PUBLISH", CHANNEL_CONTROL, NULL };
	char *msg = xprintf("{\"cmd\":\"member\",\"from\":\"%s\"}", cl.node);

	publish[2] = msg;
	command(cl.cmd, NULL, NULL, 2, incr, NULL);
	command(cl.cmd, NULL, NULL, 3, publish, NULL);
	free(msg);
}

static void
on_member(struct location *loc, const char *principal, bool joined)
{
	char *m;
	const char *argv[3];

	if (!cl.up)
		return;
	m = member_of(loc->name, principal);
	argv[0] = joined ? "SADD" : "SREM";
	argv[1] = cl.key_who;
	argv[2] = m;
	command(cl.cmd, NULL, NULL, 3, argv, NULL);
	free(m);
	who_changed();
}

/* --- who is online on the other nodes ------------------------------------ */

static struct remote_location *
remote_location(const char *name)
{
	struct hnode *node = hmap_get(&cl.remote, name);

	return node ? container_of(node, struct remote_location, node) : NULL;
}

/* The hub's question: is principal at location on another node? */
static bool
on_elsewhere(const char *location, const char *principal)
{
	struct remote_location *rl = remote_location(location);

	return rl != NULL && hmap_get(&rl->principals, principal) != NULL;
}

static const char **
on_principals(const char *location, size_t *n)
{
	struct remote_location *rl = remote_location(location);
	const char **names;
	struct hnode *node;
	size_t i;

	*n = 0;
	names = xcalloc(rl ? rl->principals.count + 1 : 1, sizeof *names);
	if (rl != NULL)
		HMAP_FOREACH(&rl->principals, node, i)
			names[(*n)++] = node->key;
	return names;
}

/* One member of a snapshot: new ones join. */
static void
remote_seen(const char *member, size_t len)
{
	char *location = xstrndup(member, len), *tab;
	struct remote_location *rl;
	struct remote_principal *rp;
	struct hnode *node;

	if ((tab = strchr(location, '\t')) == NULL) {
		free(location);
		return;
	}
	*tab = '\0';
	if ((rl = remote_location(location)) == NULL) {
		rl = xcalloc(1, sizeof *rl);
		rl->name = xstrdup(location);
		hmap_init(&rl->principals);
		hmap_put(&cl.remote, &rl->node, rl->name);
	}
	if ((node = hmap_get(&rl->principals, tab + 1)) != NULL)
		rp = container_of(node, struct remote_principal, node);
	else {
		rp = xcalloc(1, sizeof *rp);
		rp->name = xstrdup(tab + 1);
		hmap_put(&rl->principals, &rp->node, rp->name);
		hub_presence_elsewhere(rl->name, rp->name, true);
	}
	rp->generation = cl.generation;
	free(location);
}

/*
 * Drop what the last snapshot did not have (they leave), or everything
 * (quietly) when livd stops.
 */
static void
remote_sweep(bool quietly)
{
	struct remote_location **locs;
	struct remote_principal **gone;
	struct hnode *node;
	size_t i, j, nlocs = 0, ngone;

	locs = xcalloc(cl.remote.count + 1, sizeof *locs);
	HMAP_FOREACH(&cl.remote, node, i)
		locs[nlocs++] = container_of(node, struct remote_location, node);
	for (i = 0; i < nlocs; i++) {
		struct remote_location *rl = locs[i];

		gone = xcalloc(rl->principals.count + 1, sizeof *gone);
		ngone = 0;
		HMAP_FOREACH(&rl->principals, node, j) {
			struct remote_principal *rp = container_of(node,
			    struct remote_principal, node);

			if (quietly || rp->generation != cl.generation)
				gone[ngone++] = rp;
		}
		for (j = 0; j < ngone; j++) {
			hmap_del(&rl->principals, &gone[j]->node);
			if (!quietly)
				hub_presence_elsewhere(rl->name, gone[j]->name,
				    false);
			free(gone[j]->name);
			free(gone[j]);
		}
		free(gone);
		if (rl->principals.count == 0) {
			hmap_del(&cl.remote, &rl->node);
			hmap_free(&rl->principals);
			free(rl->name);
			free(rl);
		}
	}
	free(locs);
}

static void	take_snapshot(void);

static void
snapshot_taken(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply *reply = r;

	(void)ac; (void)arg;
	cl.snapshot_busy = false;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3 || reply->element[0]->type !=
	    REDIS_REPLY_STRING || reply->element[2]->type !=
	    REDIS_REPLY_STRING)
		return;
	snprintf(cl.who_version, sizeof cl.who_version, "%s",
	    reply->element[0]->str);
	cl.live_nodes = reply->element[1]->integer;
	if (strcmp(reply->element[2]->str, "full") == 0) {
		cl.generation++;
		for (size_t i = 3; i < reply->elements; i++)
			if (reply->element[i]->type == REDIS_REPLY_STRING)
				remote_seen(reply->element[i]->str,
				    reply->element[i]->len);
		remote_sweep(false);
	}
	if (cl.snapshot_again) {
		cl.snapshot_again = false;
		take_snapshot();
	}
}

static void
snapshot_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	take_snapshot();
}

/*
 * Ask Redis who is online on the other nodes: every second (a node that
 * died drops out of the live ones), and when a node says who changed.
 * One at a time, so they are applied in the order Redis took them.
 */
static void
take_snapshot(void)
{
	char now[32], live[32];
	const char *argv[] = { "EVAL", snapshot_script, "2", KEY_NODES,
	    KEY_WHO_VERSION, now, cl.node, cl.who_version, live };

	if (!cl.up)
		return;
	if (cl.snapshot_busy) {
		cl.snapshot_again = true;
		return;
	}
	snprintf(now, sizeof now, "%.0f", now_ms());
	snprintf(live, sizeof live, "%lld", cl.live_nodes);
	if (command(cl.cmd, snapshot_taken, NULL, 9, argv, NULL) == 0)
		cl.snapshot_busy = true;
}

/* Every second: this node is alive; its presence keys live on. */
static void
beat(evutil_socket_t fd, short what, void *arg)
{
	char expiry[32], now[32], ttl[32];
	const char *zadd[] = { "ZADD", KEY_NODES, expiry, cl.node };
	const char *trim[] = { "ZREMRANGEBYSCORE", KEY_NODES, "-inf", now };
	const char *who[] = { "PEXPIRE", cl.key_who, ttl };
	const char *clients[] = { "PEXPIRE", cl.key_clients, ttl };

	(void)fd; (void)what; (void)arg;
	if (!cl.up)
		return;
	snprintf(expiry, sizeof expiry, "%.0f", now_ms() + timeout_ms());
	snprintf(now, sizeof now, "%.0f", now_ms());
	snprintf(ttl, sizeof ttl, "%.0f", timeout_ms());
	command(cl.cmd, NULL, NULL, 4, zadd, NULL);
	command(cl.cmd, NULL, NULL, 4, trim, NULL);
	command(cl.cmd, NULL, NULL, 3, who, NULL);
	command(cl.cmd, NULL, NULL, 3, clients, NULL);
	take_snapshot();
}

/* After (re)connecting: write this node's presence afresh. */
static void
register_presence(void)
{
	const char *del[] = { "DEL", cl.key_who, cl.key_clients };
	struct location *loc;
	struct client *c;
	struct hnode *node;
	size_t i;

	command(cl.cmd, NULL, NULL, 3, del, NULL);
	TAILQ_FOREACH(loc, &hub.all, link) {
		HMAP_FOREACH(&loc->members, node, i)
			on_member(loc, node->key, true);
		TAILQ_FOREACH(c, &loc->clients, at_location)
			on_connect(c);
	}
	who_changed();
	cl.who_version[0] = '\0';	/* the first snapshot is a full one */
	beat(-1, 0, NULL);
}

/* An event arrived from Redis: deliver it to this node's pages. */
static void
deliver(const char *payload, size_t len)
{
	json_t *o = json_loadb(payload, len, 0, NULL), *e;
	const char *to, *name;
	struct target t;
	struct msg *m;

	if (o == NULL || (e = json_object_get(o, "event")) == NULL ||
	    (m = msg_from_json(e, livd.verbs)) == NULL) {
		log_warnx("redis: unreadable event message ignored");
		json_decref(o);
		return;
	}
	to = json_string_value(json_object_get(o, "to"));
	name = json_string_value(json_object_get(o, "name"));
	memset(&t, 0, sizeof t);
	t.kind = TARGET_ALL;
	for (size_t i = 0; to != NULL && i <= TARGET_PRINCIPAL; i++)
		if (strcmp(to, hub_target_names[i]) == 0)
			t.kind = (enum target_kind)i;
	t.name = name;
	if (m->seq > cl.last_seen)
		cl.last_seen = m->seq;
	hub_advance_seq(m->seq);
	if (t.kind == TARGET_CLIENT)
		t.client = name ? hub_find(name) : NULL;
	if ((t.kind != TARGET_CLIENT || t.client != NULL) &&
	    (t.kind == TARGET_ALL || t.kind == TARGET_CLIENT || name != NULL))
		hub_send(m, &t);
	msg_unref(m);
	json_decref(o);
}

/* refresh and reload, said by another node. */
static void
obey(const char *payload, size_t len)
{
	json_t *o = json_loadb(payload, len, 0, NULL);
	const char *cmd = json_string_value(json_object_get(o, "cmd"));
	const char *from = json_string_value(json_object_get(o, "from"));
	char err[1024];

	if (cmd == NULL || (from != NULL && strcmp(from, cl.node) == 0)) {
		json_decref(o);
		return;
	}
	if (strcmp(cmd, "refresh") == 0) {
		json_t *seconds = json_object_get(o, "seconds");
		const char *where = json_string_value(json_object_get(o,
		    "location"));
		double s = json_number_value(seconds);

		/* 0: a location's own interval dropped (refresh -u) */
		if (json_is_number(seconds))
			hub_set_refresh(where, s);
	} else if (strcmp(cmd, "member") == 0) {
		/* Pages connecting by the thousand: one snapshot for the lot. */
		struct timeval soon = { 0, 20000 };

		if (!evtimer_pending(cl.snapshot_soon, NULL))
			evtimer_add(cl.snapshot_soon, &soon);
	} else if (strcmp(cmd, "reload") == 0) {
		log_info("redis: node %s asked for a reload", from ? from : "?");
		livd_reload(err, sizeof err);
	}
	json_decref(o);
}

/*
 * While a reconnected node waits for its replay, live events wait too:
 * delivered before the older replayed ones, they would move cursors past
 * them and the replay could not be taken in order.
 */
static void
hold(const char *payload, size_t len)
{
	json_t *o, *e;

	if (cl.nheld == HOLD_MAX) {
		cl.held_overflow = true;
		return;
	}
	if (cl.nheld == cl.heldcap) {
		cl.heldcap = cl.heldcap ? cl.heldcap * 2 : 256;
		cl.held = xrealloc(cl.held, cl.heldcap * sizeof *cl.held);
	}
	o = json_loadb(payload, len, 0, NULL);
	e = json_object_get(o, "event");
	cl.held[cl.nheld].seq = (uint64_t)json_integer_value(json_object_get(e,
	    "seq"));
	json_decref(o);
	cl.held[cl.nheld].payload = xstrndup(payload, len);
	cl.held[cl.nheld++].len = len;
}

/* Deliver what was held, in order, and stop holding. */
static void
release_held(void)
{
	for (size_t i = 0; i < cl.nheld; i++) {
		deliver(cl.held[i].payload, cl.held[i].len);
		free(cl.held[i].payload);
	}
	free(cl.held);
	cl.held = NULL;
	cl.nheld = cl.heldcap = 0;
	cl.held_overflow = false;
	cl.catching_up = false;
}

static void
drop_held(void)
{
	for (size_t i = 0; i < cl.nheld; i++)
		free(cl.held[i].payload);
	cl.nheld = 0;
	cl.held_overflow = false;
}

static void
on_message(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply *reply = r;

	(void)ac; (void)arg;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3 || reply->element[0]->type !=
	    REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		if (reply->element[1]->str != NULL &&
		    strcmp(reply->element[1]->str, CHANNEL_CONTROL) == 0) {
			cl.sub_ready = true;
			cl_link_ready();
		}
		return;
	}
	if (strcmp(reply->element[0]->str, "message") != 0)
		return;
	if (strcmp(reply->element[1]->str, CHANNEL_EVENTS) == 0) {
		if (cl.catching_up)
			hold(reply->element[2]->str, reply->element[2]->len);
		else
			deliver(reply->element[2]->str, reply->element[2]->len);
	} else
		obey(reply->element[2]->str, reply->element[2]->len);
}

/* A send on its way through Redis. */
struct sending {
	struct msg	*msg;		/* seq 0: Redis gives the seq */
	struct target	 target;
	char		*name;
	cluster_done	 done;
	void		*arg;
	bool		 with_script;	/* EVAL: Redis did not know the sha */
};

static char send_sha[41];	/* SHA-1 of send_script, for EVALSHA */

/*
 * How long a location's stream outlives its last event: history_ttl, by
 * default the presence timeout (a page that stops polling is gone after
 * it) plus five minutes, the history's reach: how long a page that lost
 * its node may take to come back with its cursor.
 */
static double
cluster_history_ttl(void)
{
	if (livd.cfg.history_ttl > 0)
		return livd.cfg.history_ttl;
	return hub_presence_timeout(NULL) + 300;
}

static void	issue_send(struct sending *);

/* Send locally: the link is down, or went down with this send pending. */
static uint64_t
send_locally(struct sending *s)
{
	struct msg *m = msg_reseq(s->msg, hub_next_seq());
	uint64_t seq = m->seq;

	if (s->target.kind == TARGET_CLIENT)
		s->target.client = hub_find(s->name);
	if (s->target.kind != TARGET_CLIENT || s->target.client != NULL)
		hub_send(m, &s->target);
	msg_unref(m);
	return seq;
}

static void
sending_free(struct sending *s)
{
	msg_unref(s->msg);
	free(s->name);
	free(s);
}

static void
sent(redisAsyncContext *ac, void *r, void *arg)
{
	struct sending *s = arg;
	redisReply *reply = r;
	char msg[256];

	(void)ac;
	if (reply == NULL) {
		uint64_t seq = send_locally(s);

		if (s->done != NULL)
			s->done(s->arg, seq, NULL);
	} else if (reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0 && !s->with_script) {
		/* A restarted Redis: send the script itself this once. */
		s->with_script = true;
		issue_send(s);
		return;
	} else if (reply->type == REDIS_REPLY_ERROR) {
		if (strstr(reply->str, "unknown client") != NULL)
			snprintf(msg, sizeof msg, "unknown client '%s'",
			    s->name);
		else
			snprintf(msg, sizeof msg, "redis: %s", reply->str);
		if (s->done != NULL)
			s->done(s->arg, 0, msg);
	} else if (s->done != NULL)
		s->done(s->arg, strtoull(reply->str ? reply->str : "0", NULL,
		    10), NULL);
	sending_free(s);
}

/*
 * Send m (made with seq 0) to t through Redis; done, if not NULL, hears
 * the seq Redis gave it, or why it failed. With the link down the event
 * goes to this node's pages only.
 */
void
cluster_send(struct msg *m, const struct target *t, cluster_done done,
    void *arg)
{
	struct sending *s = xcalloc(1, sizeof *s);
	const char *name = t->kind == TARGET_CLIENT && t->client != NULL ?
	    t->client->uuid : t->name;

	s->msg = msg_ref(m);
	s->target = *t;
	s->name = name ? xstrdup(name) : NULL;
	s->target.name = s->name;
	s->done = done;
	s->arg = arg;
	if (!cl.up) {
		uint64_t seq = send_locally(s);

		if (done != NULL)
			done(arg, seq, NULL);
		sending_free(s);
		return;
	}
	issue_send(s);
}

/* Run the send script for s: by its sha, or with its text. */
static void
issue_send(struct sending *s)
{
	const struct target *t = &s->target;
	const struct msg *m = s->msg;
	const char *name = s->name;
	char limit[32], now[32], ttl[32], *stream, *body;
	struct buf header;
	const char *argv[14];
	size_t lens[14];

	buf_init(&header);
	buf_printf(&header, "{\"to\":\"%s\"", hub_target_names[t->kind]);
	if (name != NULL) {
		buf_adds(&header, ",\"name\":");
		buf_json_string(&header, name, strlen(name));
	}
	buf_adds(&header, ",\"event\":");
	stream = t->kind == TARGET_LOCATION ? xprintf("livd:history:%s", name) :
	    t->kind == TARGET_ALL ? xstrdup(KEY_ALL) : xstrdup("");
	if (livd.cfg.history_limit == 0) {
		free(stream);
		stream = xstrdup("");
	}
	body = strchr(m->json, ',') + 1;	/* after {"seq":0, */
	snprintf(limit, sizeof limit, "%" PRIu64, livd.cfg.history_limit);
	snprintf(now, sizeof now, "%.0f", now_ms());
	argv[0] = s->with_script ? "EVAL" : "EVALSHA";
	argv[1] = s->with_script ? send_script : send_sha;
	argv[2] = "3";
	argv[3] = KEY_SEQ; argv[4] = stream; argv[5] = KEY_NODES;
	argv[6] = body; argv[7] = header.data; argv[8] = limit;
	snprintf(ttl, sizeof ttl, "%.0f", cluster_history_ttl() * 1000);
	argv[9] = ttl; argv[10] = t->kind == TARGET_CLIENT ?
	    name : ""; argv[11] = now; argv[12] = CHANNEL_EVENTS;
	for (int i = 0; i < 13; i++)
		lens[i] = strlen(argv[i]);
	lens[6] = m->jsonlen - (size_t)(body - m->json);
	if (command(cl.cmd, sent, s, 13, argv, lens) != 0)
		sent(NULL, NULL, s);
	buf_free(&header);
	free(stream);
}

static int
compare_msgs(const void *a, const void *b)
{
	const struct msg *x = *(struct msg *const *)a;
	const struct msg *y = *(struct msg *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Events from a backfill answer, in seq order; n gets their count. */
static struct msg **
reply_events(redisReply *reply, size_t first, size_t step, size_t *n)
{
	struct msg **msgs = xcalloc(reply->elements + 1, sizeof *msgs);

	*n = 0;
	for (size_t i = first; i < reply->elements; i += step) {
		redisReply *e = reply->element[i];
		json_t *o;

		if (e->type != REDIS_REPLY_STRING)
			continue;
		o = json_loadb(e->str, e->len, 0, NULL);
		if (o != NULL && (msgs[*n] = msg_from_json(o, livd.verbs)) !=
		    NULL)
			(*n)++;
		json_decref(o);
	}
	qsort(msgs, *n, sizeof *msgs, compare_msgs);
	return msgs;
}

static void
backfilled(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply *reply = r;
	char *location = arg;
	struct msg **msgs = NULL;
	size_t n = 0;
	bool complete = false;

	(void)ac;
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements > 0) {
		complete = reply->element[0]->integer == 1;
		msgs = reply_events(reply, 2, 2, &n);
	}
	hub_backfilled(location, msgs, n, complete);
	for (size_t i = 0; i < n; i++)
		msg_unref(msgs[i]);
	free(msgs);
	free(location);
}

/*
 * A page asks for events from before what this node's history holds:
 * fetch them from the location's stream and the all stream.
 */
static bool
cluster_backfill(struct client *c)
{
	char since[32], *key;
	const char *argv[7];

	if (!cl.up || livd.cfg.history_limit == 0)
		return false;
	key = xprintf("livd:history:%s", c->location->name);
	snprintf(since, sizeof since, "%" PRIu64, c->cursor);
	argv[0] = "EVAL"; argv[1] = backfill_script; argv[2] = "2";
	argv[3] = key; argv[4] = KEY_ALL; argv[5] = since;
	argv[6] = BACKFILL_MAX;
	command(cl.cmd, backfilled, xstrdup(c->location->name), 7, argv, NULL);
	free(key);
	return true;
}

/* An event from a stream, and the stream it came from. */
struct replayed {
	struct msg	*msg;
	const char	*key;
};

static int
compare_replayed(const void *a, const void *b)
{
	const struct replayed *x = a, *y = b;

	return x->msg->seq < y->msg->seq ? -1 : x->msg->seq > y->msg->seq;
}

static void
resync_if_past(struct client *c, void *arg)
{
	const struct msg *m = arg;

	if (c->cursor >= m->seq)
		hub_client_resync(c);
}

/* What the streams hold that this node missed while its link was down. */
static void
replayed(redisAsyncContext *ac, void *r, void *arg)
{
	static const char prefix[] = "livd:history:";
	redisReply *reply = r;
	struct replayed *events;
	struct location *loc;
	size_t n = 0, kept = 0;

	(void)ac; (void)arg;
	if (reply == NULL)
		return;		/* the link went again; so will the replay */
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
	    reply->element[0]->integer != 1 || cl.held_overflow) {
		log_warnx("redis: events were missed beyond the history: "
		    "pages resync");
		TAILQ_FOREACH(loc, &hub.all, link)
			hub_resync(loc);
		drop_held();
		release_held();
		return;
	}
	events = xcalloc(reply->elements, sizeof *events);
	for (size_t i = 1; i + 1 < reply->elements; i += 2) {
		json_t *o = json_loadb(reply->element[i + 1]->str,
		    reply->element[i + 1]->len, 0, NULL);

		if (o != NULL && (events[n].msg = msg_from_json(o,
		    livd.verbs)) != NULL)
			events[n++].key = reply->element[i]->str;
		json_decref(o);
	}
	qsort(events, n, sizeof *events, compare_replayed);
	for (size_t i = 0; i < n; i++) {
		struct msg *m = events[i].msg;
		struct target t = { TARGET_ALL, NULL, NULL };

		/* What also came live is delivered from there, in order. */
		if (m->seq > cl.last_seen && (cl.nheld == 0 ||
		    m->seq < cl.held[0].seq)) {
			cl.last_seen = m->seq;
			hub_advance_seq(m->seq);
			if (strncmp(events[i].key, prefix, sizeof prefix - 1) ==
			    0) {
				t.kind = TARGET_LOCATION;
				t.name = events[i].key + sizeof prefix - 1;
			}
			/* A page whose cursor went past it (events sent here
			 * while down) cannot take it in order: it resyncs. */
			hub_recipients(&t, resync_if_past, m);
			hub_send(m, &t);
			kept++;
		}
		msg_unref(m);
	}
	if (kept > 0)
		log_info("redis: replayed %zu events missed while down", kept);
	free(events);
	release_held();
}

/*
 * Back after an outage: replay from the streams what other nodes sent
 * meanwhile. Pages here that were sent events locally meanwhile may have
 * cursors past some of those: only they resync (resync_if_past).
 */
static void
cluster_catch_up(void)
{
	struct location *loc;
	char since[32];
	const char **argv;
	size_t argc = 0, n = 0;

	if (!cl.ever_up) {
		cl.ever_up = true;
		cl.catching_up = false;
		return;
	}
	TAILQ_FOREACH(loc, &hub.all, link)
		n++;
	argv = xcalloc(n + 6, sizeof *argv);
	argv[argc++] = "EVAL";
	argv[argc++] = backfill_script;
	argv[argc++] = xprintf("%zu", n + 1);
	TAILQ_FOREACH(loc, &hub.all, link)
		argv[argc++] = xprintf("livd:history:%s", loc->name);
	argv[argc++] = xstrdup(KEY_ALL);
	snprintf(since, sizeof since, "%" PRIu64, cl.last_seen);
	argv[argc++] = since;
	argv[argc++] = BACKFILL_MAX;
	command(cl.cmd, replayed, NULL, (int)argc, argv, NULL);
	for (size_t i = 2; i < argc - 2; i++)
		free((char *)argv[i]);
	free(argv);
}

/* A gather for who or clients, answered to done. */
struct gathering {
	cluster_list_done	 done;
	void			*arg;
};

static void
gathered(redisAsyncContext *ac, void *r, void *arg)
{
	struct gathering *g = arg;
	redisReply *reply = r;
	json_t *list = NULL;

	(void)ac;
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
		list = json_array();
		for (size_t i = 0; i < reply->elements; i++)
			json_array_append_new(list, json_stringn(
			    reply->element[i]->str, reply->element[i]->len));
	}
	g->done(g->arg, list);
	json_decref(list);
	free(g);
}

/*
 * Every live node's entries of a family ("who": LOCATION\tPRINCIPAL,
 * "clients": UUID\tPRINCIPAL\tLOCATION) starting with prefix; done gets
 * them as a list of strings, or NULL when Redis did not answer.
 */
void
cluster_gather(const char *family, const char *prefix, cluster_list_done done,
    void *arg)
{
	struct gathering *g = xcalloc(1, sizeof *g);
	char now[32], *key = xprintf("livd:%s:", family);
	bool hash = strcmp(family, "clients") == 0;
	const char *argv[] = { "EVAL", gather_script, "1", KEY_NODES, now,
	    key, prefix ? prefix : "", hash ? "hash" : "set" };

	g->done = done;
	g->arg = arg;
	snprintf(now, sizeof now, "%.0f", now_ms());
	if (!cl.up || command(cl.cmd, gathered, g, 8, argv, NULL) != 0)
		gathered(NULL, NULL, g);
	free(key);
}

/* refresh for every node: this one now, the others by message. */
void
cluster_refresh(const char *location, double seconds)
{
	char value[32], *msg;
	json_t *o;
	const char *hset[] = { seconds > 0 ? "HSET" : "HDEL", KEY_REFRESH,
	    location ? location : "", value };
	const char *publish[3] = { "PUBLISH", CHANNEL_CONTROL, NULL };

	if (!cl.up)
		return;
	snprintf(value, sizeof value, "%g", seconds);
	o = json_pack("{s:s,s:s,s:f}", "cmd", "refresh", "from", cl.node,
	    "seconds", seconds);
	if (location != NULL)
		json_object_set_new(o, "location", json_string(location));
	msg = json_dumps(o, JSON_COMPACT);
	publish[2] = msg;
	command(cl.cmd, NULL, NULL, seconds > 0 ? 4 : 3, hset, NULL);
	command(cl.cmd, NULL, NULL, 3, publish, NULL);
	free(msg);
	json_decref(o);
}

/* reload for every other node; this one reloads itself. */
void
cluster_reload(void)
{
	char *msg;
	const char *publish[3] = { "PUBLISH", CHANNEL_CONTROL, NULL };

	if (!cl.up)
		return;
	msg = xprintf("{\"cmd\":\"reload\",\"from\":\"%s\"}", cl.node);
	publish[2] = msg;
	command(cl.cmd, NULL, NULL, 3, publish, NULL);
	free(msg);
}

const char *
cluster_node(void)
{
	return cl.node;
}

/* Both links are up: lift the seq, register, catch up, then serve. */
static void
bumped(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply *reply = r;

	(void)ac; (void)arg;
	if (reply == NULL)
		return;		/* the link went: it is being handled */
	if (reply->type != REDIS_REPLY_STRING) {
		log_warnx("redis: cannot lift livd:seq: %s",
		    reply->type == REDIS_REPLY_ERROR ? reply->str : "?");
		return;
	}
	hub_advance_seq(strtoull(reply->str, NULL, 10));
	cl.up = true;
	cl.backoff = 0;
	log_info("redis: link up (%s:%d, node %s)", cl.host, cl.port, cl.node);
	register_presence();
	cluster_catch_up();
}

static void
refreshes_loaded(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply *reply = r;

	(void)ac; (void)arg;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		double s = strtod(reply->element[i + 1]->str, NULL);

		/* 0 is what strtod makes of garbage: it drops nothing. */
		if (s != 0)
			hub_set_refresh(*reply->element[i]->str ?
			    reply->element[i]->str : NULL, s);
	}
}

static void
cl_link_ready(void)
{
	char seq[32];
	const char *bump[] = { "EVAL", bump_script, "1", KEY_SEQ, seq };
	const char *refresh[] = { "HGETALL", KEY_REFRESH };

	if (!cl.cmd_ready || !cl.sub_ready || cl.up)
		return;
	snprintf(seq, sizeof seq, "%" PRIu64, hub.seq);
	command(cl.cmd, refreshes_loaded, NULL, 2, refresh, NULL);
	command(cl.cmd, bumped, NULL, 5, bump, NULL);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	cluster_connect();
}

/* Drop both links and try again soon: 0.25 s, doubling, at most 2 s. */
static void
link_lost(const char *why)
{
	struct timeval tv;
	redisAsyncContext *cmd = cl.cmd, *sub = cl.sub;

	if (cl.up || cl.backoff == 0)	/* once per outage */
		log_warnx("redis: link down (%s); serving this node's pages "
		    "alone", why);
	cl.up = false;
	cl.cmd_ready = cl.sub_ready = false;
	/* The next link replays from last_seen: what was held comes again. */
	drop_held();
	cl.catching_up = cl.ever_up;
	cl.cmd = cl.sub = NULL;
	/* Freeing from inside a context's own callback is not allowed:
	 * the disconnect callback passes NULL for the context it is in. */
	if (cmd != NULL)
		redisAsyncFree(cmd);
	if (sub != NULL)
		redisAsyncFree(sub);
	if (cl.stopping)
		return;
	cl.backoff = backoff_next(cl.backoff, 0.25, 2);
	tv.tv_sec = (time_t)cl.backoff;
	tv.tv_usec = (suseconds_t)((cl.backoff - (double)tv.tv_sec) * 1e6);
	evtimer_add(cl.retry, &tv);
}

/*
 * A context's connect and disconnect callbacks; one we already let go of
 * (link_lost frees both) is ignored. hiredis frees the context itself
 * after a failed connect or a disconnect.
 */
static void
on_connect_cb(const redisAsyncContext *ac, int status)
{
	if (ac != cl.cmd && ac != cl.sub)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		if (ac == cl.cmd)
			cl.cmd = NULL;
		if (ac == cl.sub)
			cl.sub = NULL;
		link_lost(ac->errstr);
		return;
	}
	if (ac == cl.cmd) {
		cl.cmd_ready = true;
		cl_link_ready();
	}
}

static void
on_disconnect_cb(const redisAsyncContext *ac, int status)
{
	(void)status;
	if (cl.stopping) {
		/* cluster_shutdown() waits for both to be gone. */
		if (ac == cl.cmd)
			cl.cmd = NULL;
		if (ac == cl.sub)
			cl.sub = NULL;
		return;
	}
	if (ac != cl.cmd && ac != cl.sub)
		return;
	if (ac == cl.cmd)
		cl.cmd = NULL;
	if (ac == cl.sub)
		cl.sub = NULL;
	link_lost(ac->errstr[0] ? ac->errstr : "connection closed");
}

/*
 * AUTH's and SELECT's answers: an error (a wrong password, a Redis that
 * wants one, a database it does not have) takes the link down, logged.
 */
static void
setup_answered(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply *reply = r;
	char why[256];

	(void)arg;
	if (reply == NULL || reply->type != REDIS_REPLY_ERROR ||
	    (ac != cl.cmd && ac != cl.sub))
		return;
	snprintf(why, sizeof why, "%s: %s", ac == cl.cmd ? "commands" :
	    "subscriber", reply->str);
	link_lost(why);
}

static redisAsyncContext *
open_link(void)
{
	redisAsyncContext *ac = redisAsyncConnect(cl.host, cl.port);
	char db[16];
	const char *select[] = { "SELECT", db };
	const char *auth[3] = { "AUTH" };
	int nauth = 1;

	if (ac == NULL)
		return NULL;
	if (ac->err) {
		log_debug("redis: %s", ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	redisLibeventAttach(ac, livd.base);
	redisAsyncSetConnectCallback(ac, on_connect_cb);
	redisAsyncSetDisconnectCallback(ac, on_disconnect_cb);
	snprintf(db, sizeof db, "%d", cl.db);
	if (cl.password != NULL) {	/* first: Redis refuses all else */
		if (cl.user != NULL)
			auth[nauth++] = cl.user;
		auth[nauth++] = cl.password;
		command(ac, setup_answered, NULL, nauth, auth, NULL);
	}
	command(ac, setup_answered, NULL, 2, select, NULL);
	return ac;
}

static void
cluster_connect(void)
{
	const char *subscribe[] = { "SUBSCRIBE", CHANNEL_EVENTS,
	    CHANNEL_CONTROL };

	if ((cl.cmd = open_link()) == NULL ||
	    (cl.sub = open_link()) == NULL) {
		link_lost("cannot connect");
		return;
	}
	command(cl.sub, on_message, NULL, 3, subscribe, NULL);
}

/*
 * Parse redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]. The password ends at
 * the last @, so it may hold any other character.
 */
static int
parse_url(const char *url, char *err, size_t errlen)
{
	const char *p = url, *slash, *colon, *at;

	if (strncmp(p, "redis://", 8) != 0) {
		/* not echoed when it may hold a password */
		snprintf(err, errlen, "redis: expected redis://HOST[:PORT][/DB], "
		    "not '%s'", strchr(url, '@') ? "..." : url);
		return -1;
	}
	p += 8;
	if ((at = strrchr(p, '@')) != NULL) {
		if ((colon = memchr(p, ':', (size_t)(at - p))) == NULL ||
		    colon + 1 == at) {
			snprintf(err, errlen, "redis: expected "
			    "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
			return -1;
		}
		if (colon > p)
			cl.user = xstrndup(p, (size_t)(colon - p));
		cl.password = xstrndup(colon + 1, (size_t)(at - colon - 1));
		p = at + 1;
	}
	slash = strchr(p, '/');
	colon = strchr(p, ':');
	if (colon != NULL && slash != NULL && colon > slash)
		colon = NULL;
	cl.host = xstrndup(p, (size_t)((colon ? colon : slash ? slash :
	    p + strlen(p)) - p));
	cl.port = colon ? atoi(colon + 1) : 6379;
	cl.db = slash ? atoi(slash + 1) : 0;
	if (*cl.host == '\0' || cl.port <= 0 || cl.port > 65535 || cl.db < 0) {
		snprintf(err, errlen, "redis: bad address '%s'", p);
		return -1;
	}
	return 0;
}

/* Turn cluster mode on, if livd.yaml names a redis. */
int
cluster_init(char *err, size_t errlen)
{
	static const struct cluster_hooks hooks = {
		on_connect, on_close, on_member, cluster_backfill,
		on_elsewhere, on_principals
	};
	struct timeval second = { 1, 0 };
	char host[256];

	if (livd.cfg.redis == NULL)
		return 0;
	if (parse_url(livd.cfg.redis, err, errlen) != 0)
		return -1;
	{
		unsigned char digest[SHA_DIGEST_LENGTH];

		SHA1((const unsigned char *)send_script, strlen(send_script),
		    digest);
		for (size_t i = 0; i < sizeof digest; i++)
			snprintf(send_sha + 2 * i, 3, "%02x", digest[i]);
	}
	if (livd.cfg.node_id != NULL)
		cl.node = xstrdup(livd.cfg.node_id);
	else {
		gethostname(host, sizeof host);
		host[sizeof host - 1] = '\0';
		cl.node = xprintf("%s:%s", host, strrchr(livd.listen_name, ':') +
		    1);
	}
	cl.key_who = xprintf("livd:who:%s", cl.node);
	cl.key_clients = xprintf("livd:clients:%s", cl.node);
	cl.retry = evtimer_new(livd.base, retry_cb, NULL);
	cl.snapshot_soon = evtimer_new(livd.base, snapshot_cb, NULL);
	cl.heartbeat = event_new(livd.base, -1, EV_PERSIST, beat, NULL);
	event_add(cl.heartbeat, &second);
	hmap_init(&cl.remote);
	hub.cluster = &hooks;
	cluster_connect();
	return 0;
}

static void
shutdown_late(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	*(bool *)arg = true;
}

/*
 * A link being disconnected is freed by hiredis once Redis has answered
 * what was queued on it (the leave above): wait for that, a second at
 * most, then free what is left.
 */
static void
shutdown_wait(void)
{
	struct timeval tv = { 1, 0 };
	struct event *timer;
	bool late = false;

	timer = evtimer_new(livd.base, shutdown_late, &late);
	evtimer_add(timer, &tv);
	while ((cl.cmd != NULL || cl.sub != NULL) && !late)
		event_base_loop(livd.base, EVLOOP_ONCE);
	event_free(timer);
	if (cl.cmd != NULL)
		redisAsyncFree(cl.cmd);
	if (cl.sub != NULL)
		redisAsyncFree(cl.sub);
	cl.cmd = cl.sub = NULL;
}

void
cluster_shutdown(void)
{
	const char *del[] = { "DEL", cl.key_who, cl.key_clients };
	const char *zrem[] = { "ZREM", KEY_NODES, cl.node };

	if (cl.node == NULL)
		return;
	hub.cluster = NULL;
	/* Leave presence at once rather than by expiry. */
	if (cl.up) {
		command(cl.cmd, NULL, NULL, 3, del, NULL);
		command(cl.cmd, NULL, NULL, 3, zrem, NULL);
	}
	cl.stopping = true;
	if (cl.cmd != NULL)
		redisAsyncDisconnect(cl.cmd);	/* sends what is queued */
	if (cl.sub != NULL)
		redisAsyncDisconnect(cl.sub);
	shutdown_wait();
	drop_held();
	free(cl.held);
	remote_sweep(true);
	hmap_free(&cl.remote);
	event_free(cl.retry);
	event_free(cl.snapshot_soon);
	event_free(cl.heartbeat);
	free(cl.host);
	free(cl.user);
	free(cl.password);
	free(cl.node);
	free(cl.key_who);
	free(cl.key_clients);
	memset(&cl, 0, sizeof cl);
}

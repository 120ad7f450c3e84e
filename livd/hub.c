/*
 * The hub: clients, locations, principals, presence and fan-out.
 * See hub.h for how events reach clients and who owns what.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/event.h>

#include "util.h"
#include "budget.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "verbs.h"

/* Answers made per loop turn, so a big fan-out cannot stall the loop. */
#define HUB_FLUSH_SLICE		16384

struct hub hub;

static void	hub_flush(evutil_socket_t, short, void *);
static void	hub_tick(evutil_socket_t, short, void *);
static size_t	hub_reclaim(size_t);

/* Start with no clients; seq continues from first_seq. */
void
hub_init(struct event_base *base, uint64_t first_seq, double refresh)
{
	struct timeval second = { 1, 0 };

	memset(&hub, 0, sizeof hub);
	hmap_init(&hub.clients);
	hmap_init(&hub.locations);
	hmap_init(&hub.principals);
	TAILQ_INIT(&hub.all);
	TAILQ_INIT(&hub.idle);
	TAILQ_INIT(&hub.ready);
	TAILQ_INIT(&hub.observers);
	hub.seq = first_seq;
	hub.refresh = refresh;
	budget.limit = livd.cfg.max_memory;
	budget.reclaim = hub_reclaim;
	hub.flush_ev = event_new(base, -1, 0, hub_flush, NULL);
	hub.sweep_ev = event_new(base, -1, EV_PERSIST, hub_tick, NULL);
	event_add(hub.sweep_ev, &second);
}

struct location *
hub_location_make(const char *name)
{
	struct hnode *node = hmap_get(&hub.locations, name);
	struct location *loc;

	if (node != NULL)
		return container_of(node, struct location, node);
	loc = xcalloc(1, sizeof *loc);
	loc->name = xstrdup(name);
	hmap_init(&loc->members);
	TAILQ_INIT(&loc->clients);
	TAILQ_INIT(&loc->guests);
	TAILQ_INIT(&loc->waiting);
	/* What was sent here before now is unknown to this history. */
	queue_init(&loc->history, hub.seq);
	loc->empty_since = now_mono();
	hmap_put(&hub.locations, &loc->node, loc->name);
	TAILQ_INSERT_TAIL(&hub.all, loc, link);
	return loc;
}

/* Keep an answer made at loc for the next client at the same cursor. */
static void
location_cache(struct location *loc, struct blob *answer)
{
	if (loc->cache != NULL) {
		budget_sub(sizeof *loc->cache + loc->cache->len);
		blob_unref(loc->cache);
	}
	loc->cache = answer ? blob_ref(answer) : NULL;
	if (answer != NULL)
		budget_add(sizeof *answer + answer->len);
}

static void
location_free(struct location *loc)
{
	hmap_del(&hub.locations, &loc->node);
	TAILQ_REMOVE(&hub.all, loc, link);
	queue_free(&loc->history);
	location_cache(loc, NULL);
	hmap_free(&loc->members);
	free(loc->name);
	free(loc);
}

/* The location called name, or NULL. */
struct location *
hub_location(const char *name)
{
	struct hnode *node = hmap_get(&hub.locations, name);

	return node ? container_of(node, struct location, node) : NULL;
}

static struct principal *
principal_get(const char *name)
{
	struct hnode *node = hmap_get(&hub.principals, name);
	struct principal *p;

	if (node != NULL)
		return container_of(node, struct principal, node);
	p = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	TAILQ_INIT(&p->clients);
	hmap_put(&hub.principals, &p->node, p->name);
	return p;
}

/* The refresh interval in force at loc (NULL: the global one). */
double
hub_refresh(const struct location *loc)
{
	if (loc != NULL && loc->refresh > 0)
		return loc->refresh;
	return hub.refresh;
}

/* Is seconds an interval livd takes: a millisecond at least (NaN is
 * not), at most the limit? */
bool
hub_refresh_valid(double seconds)
{
	return seconds >= HUB_REFRESH_MIN && seconds <= HUB_REFRESH_MAX;
}

/*
 * Set the interval for a location, or globally when name is NULL; 0
 * drops a location's own. False, and nothing changes, for an interval
 * hub_refresh_valid() refuses or a name hub_names_check() refuses.
 */
bool
hub_set_refresh(const char *name, double seconds)
{
	struct location *loc;

	if (name != NULL && hub_names_check(name, NULL) != NULL)
		return false;
	if (!hub_refresh_valid(seconds) && (seconds != 0 || name == NULL))
		return false;
	if (name == NULL)
		hub.refresh = seconds;
	else if (seconds > 0)
		hub_location_make(name)->refresh = seconds;
	else if ((loc = hub_location(name)) != NULL)
		loc->refresh = 0;	/* the global one applies again */
	return true;
}

/* How long a client may neither poll nor hold a poll and stay online. */
double
hub_presence_timeout(const struct location *loc)
{
	if (livd.cfg.presence_timeout > 0)
		return livd.cfg.presence_timeout;
	return 2 * hub_refresh(loc) + 5;
}

static void	push_client(struct client *, struct msg *);
static void	schedule_flush(void);

/*
 * Call fn for every client at loc, those that are here first and those
 * that are here besides; each once. Returns how many.
 */
size_t
hub_at(struct location *loc, void (*fn)(struct client *, void *), void *arg)
{
	struct client *c, *cnext;
	struct guest *g, *gnext;
	size_t n = 0;

	TAILQ_FOREACH_SAFE(c, &loc->clients, at_location, cnext) {
		fn(c, arg);
		n++;
	}
	TAILQ_FOREACH_SAFE(g, &loc->guests, link, gnext) {
		fn(g->client, arg);
		n++;
	}
	return n;
}

/* The client's location called name, or NULL if it is not there. */
struct location *
hub_client_location(const struct client *c, const char *name)
{
	for (size_t i = 0; i <= c->nmore; i++)
		if (strcmp(HUB_CLIENT_AT(c, i)->name, name) == 0)
			return HUB_CLIENT_AT(c, i);
	return NULL;
}

static void
tell_watcher(struct client *c, void *m)
{
	if (c->presence) {
		push_client(c, m);
		hub.stats.deliveries++;
	}
}

/*
 * Tell the pages at a location that asked for presence that a principal
 * came or went, when the verbs file has the verb (join, leave) with its
 * one argument. Only those pages: the others see a quiet location.
 */
static void
presence(struct location *loc, const char *verb, const char *name)
{
	const struct verb *v;
	struct msg *m;

	if (loc->watchers == 0 || hub.quiet ||
	    (v = verbs_find(livd.verbs, verb)) == NULL || v->nargs != 1)
		return;
	m = msg_make(v, &name, hub_next_seq());
	hub_at(loc, tell_watcher, m);
	metrics_delivered(verb, loc->watchers);
	hub.stats.events++;
	schedule_flush();
	msg_unref(m);
}

/* qsort's order for an array of names. */
static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The principals online at loc (in a cluster, on other nodes too), sorted,
 * each once; n gets their count. The caller frees the array, not the names.
 */
const char **
hub_principals(const struct location *loc, size_t *n)
{
	const char **names, **remote = NULL;
	struct hnode *node;
	size_t i, nremote = 0, out;

	*n = 0;
	if (loc != NULL && hub.cluster != NULL)
		remote = hub.cluster->principals(loc->name, &nremote);
	names = xcalloc((loc ? loc->members.count : 0) + nremote + 1,
	    sizeof *names);
	if (loc != NULL)
		HMAP_FOREACH(&loc->members, node, i)
			names[(*n)++] = node->key;
	for (i = 0; i < nremote; i++)
		names[(*n)++] = remote[i];
	free(remote);
	qsort(names, *n, sizeof *names, compare_names);
	for (i = out = 0; i < *n; i++)
		if (out == 0 || strcmp(names[out - 1], names[i]) != 0)
			names[out++] = names[i];
	*n = out;
	return names;
}

/* Is the principal at the location on another node of a cluster? */
static bool
elsewhere(const char *location, const char *principal)
{
	return hub.cluster != NULL && hub.cluster->elsewhere(location,
	    principal);
}

/*
 * A principal came to or left a location on another node (cluster.c
 * saw it in Redis). Pages here hear of it unless the principal is here
 * too: for them it neither came nor went.
 */
void
hub_presence_elsewhere(const char *location, const char *principal,
    bool joined)
{
	struct location *loc = hub_location(location);

	if (loc == NULL || hmap_get(&loc->members, principal) != NULL)
		return;
	presence(loc, joined ? "join" : "leave", principal);
}

static int
uuid_make(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	size_t got = 0;

	while (got < sizeof raw) {
		ssize_t n = getrandom(raw + got, sizeof raw - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
	return 0;
}

/* The client's principal is at loc once more; maybe it joined. */
static void
member_join(struct client *c, struct location *loc)
{
	const char *principal = c->principal->name;
	struct hnode *node;

	if ((node = hmap_get(&loc->members, principal)) == NULL) {
		struct member *m = xcalloc(1, sizeof *m);

		hmap_put(&loc->members, &m->node, principal);
		m->count = 1;
		/* Already online on another node: not news to anyone. */
		if (!elsewhere(loc->name, principal))
			presence(loc, "join", principal);
		if (hub.cluster != NULL)
			hub.cluster->member(loc, principal, true);
	} else
		container_of(node, struct member, node)->count++;
}

/*
 * The client is no longer at loc: unlink it there. Returns whether its
 * principal left (the caller says so once the client is gone).
 */
static bool
member_leave(struct client *c, struct location *loc, struct guest *g)
{
	struct hnode *node = hmap_get(&loc->members, c->principal->name);
	struct member *m = container_of(node, struct member, node);
	bool left = --m->count == 0;

	if (left) {
		if (hub.cluster != NULL)
			hub.cluster->member(loc, c->principal->name, false);
		hmap_del(&loc->members, node);
		free(m);
	}
	if (g == NULL)
		TAILQ_REMOVE(&loc->clients, c, at_location);
	else
		TAILQ_REMOVE(&loc->guests, g, link);
	loc->watchers -= c->presence;
	if (--loc->count == 0)
		loc->empty_since = now_mono();
	return left;
}

/*
 * Make a client with a given uuid at n distinct locations and link it
 * everywhere; then its principal joins each.
 */
static struct client *
client_new(const char *uuid, const char *const *locations, size_t n,
    const char *principal, bool presence_events)
{
	struct client *c = xcalloc(1, sizeof *c);

	memcpy(c->uuid, uuid, sizeof c->uuid);
	c->location = hub_location_make(locations[0]);
	c->principal = principal_get(principal);
	c->start = c->cursor = hub.seq;
	queue_init(&c->own, 0);
	c->state = CLIENT_IDLE;
	c->presence = presence_events;
	c->last_seen = now_mono();
	hmap_put(&hub.clients, &c->node, c->uuid);
	TAILQ_INSERT_TAIL(&c->location->clients, c, at_location);
	if (n > 1) {
		c->more = xcalloc(n - 1, sizeof *c->more);
		c->nmore = (uint8_t)(n - 1);
	}
	for (size_t i = 1; i < n; i++) {
		struct guest *g = &c->more[i - 1];

		g->client = c;
		g->location = hub_location_make(locations[i]);
		TAILQ_INSERT_TAIL(&g->location->guests, g, link);
	}
	for (size_t i = 0; i < n; i++) {
		HUB_CLIENT_AT(c, i)->watchers += presence_events;
		HUB_CLIENT_AT(c, i)->count++;
	}
	TAILQ_INSERT_TAIL(&c->principal->clients, c, of_principal);
	c->principal->count++;
	TAILQ_INSERT_TAIL(&hub.idle, c, state_link);
	hub.count++;
	for (size_t i = 0; i < n; i++)
		member_join(c, HUB_CLIENT_AT(c, i));
	if (hub.cluster != NULL)
		hub.cluster->connect(c);
	return c;
}

/*
 * Why a location or principal name cannot be used, NULL when it can; a
 * NULL name is not checked. The one check for every way a name comes in.
 */
const char *
hub_names_check(const char *location, const char *principal)
{
	if (location != NULL && (!word_valid(location, strlen(location)) ||
	    strlen(location) > HUB_LOCATION_MAX))
		return "invalid location";
	if (principal != NULL && (!word_valid(principal, strlen(principal)) ||
	    strlen(principal) > HUB_PRINCIPAL_MAX))
		return "invalid principal";
	return NULL;
}

/*
 * Check n locations and the principal, and copy the locations to out in
 * their order without repeats; 0 with a message in err when they cannot
 * be a client's.
 */
static size_t
locations_valid(const char *const *locations, size_t n,
    const char *principal, const char **out, char *err, size_t errlen)
{
	size_t nout = 0, max = livd.cfg.max_locations;
	const char *why;

	if (max == 0 || max > HUB_LOCATIONS_MAX)
		max = HUB_LOCATIONS_MAX;
	if (n == 0) {
		snprintf(err, errlen, "invalid location");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		if ((why = hub_names_check(locations[i], principal)) != NULL) {
			snprintf(err, errlen, "%s", why);
			return 0;
		}
		while (k < nout && strcmp(out[k], locations[i]) != 0)
			k++;
		if (k < nout)
			continue;	/* a repeat */
		if (nout == max) {
			snprintf(err, errlen, "too many locations (max %zu)",
			    max);
			return 0;
		}
		out[nout++] = locations[i];
	}
	return nout;
}

/*
 * May n locations exist at once, those that do not yet included? Only
 * open mode has a cap (location_limit): there anyone names locations;
 * in the other modes the application does.
 */
static bool
locations_room(const char *const *at, size_t n)
{
	size_t more = 0;

	if (strcmp(livd.cfg.auth, "open") != 0)
		return true;
	for (size_t i = 0; i < n; i++)
		more += hub_location(at[i]) == NULL;
	return more == 0 || hub.locations.count + more <= livd.cfg.location_limit;
}

/*
 * Register a client at n locations (repeats dropped); NULL with a message
 * in err when it cannot be.
 */
struct client *
hub_connect_at(const char *const *locations, size_t n, const char *principal,
    bool presence_events, char *err, size_t errlen)
{
	const char *at[HUB_LOCATIONS_MAX];
	struct client *c;
	char uuid[33];

	if ((n = locations_valid(locations, n, principal, at, err,
	    errlen)) == 0)
		return NULL;
	if (hub.count >= livd.cfg.max_clients) {
		snprintf(err, errlen, "too many clients");
		return NULL;
	}
	if (!locations_room(at, n)) {
		snprintf(err, errlen, "too many locations in all");
		return NULL;
	}
	if (!budget_admit(sizeof(struct client) + 256)) {
		snprintf(err, errlen, BUDGET_REFUSED);
		return NULL;
	}
	do {
		if (uuid_make(uuid) != 0) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return NULL;
		}
	} while (hmap_get(&hub.clients, uuid) != NULL);
	c = client_new(uuid, at, n, principal, presence_events);
	hub.stats.connects++;
	for (size_t i = 0; hub.watch != NULL && i < n; i++)
		hub.watch->arrived(c, HUB_CLIENT_AT(c, i));
	log_debug("client %s connected: %s at %s%s", c->uuid, principal,
	    at[0], n > 1 ? " and more" : "");
	return c;
}

/* Register a client at one location. */
struct client *
hub_connect(const char *location, const char *principal, bool presence_events,
    char *err, size_t errlen)
{
	return hub_connect_at(&location, 1, principal, presence_events, err,
	    errlen);
}

/* Bring back a client saved in the state file, uuid and all. */
struct client *
hub_restore(const char *uuid, const char *const *locations, size_t n,
    const char *principal, bool presence_events, char *err, size_t errlen)
{
	const char *at[HUB_LOCATIONS_MAX];

	if (strlen(uuid) != 32 || strspn(uuid, "0123456789abcdef") != 32 ||
	    hmap_get(&hub.clients, uuid) != NULL) {
		snprintf(err, errlen, "invalid uuid");
		return NULL;
	}
	if ((n = locations_valid(locations, n, principal, at, err,
	    errlen)) == 0)
		return NULL;
	return client_new(uuid, at, n, principal, presence_events);
}

struct client *
hub_find(const char *uuid)
{
	struct hnode *node = hmap_get(&hub.clients, uuid);

	return node ? container_of(node, struct client, node) : NULL;
}

/* Take the client off the waiting or ready list; it is idle from now. */
static struct waiter *
client_detach(struct client *c)
{
	struct waiter *w = c->waiter;
	double now;

	switch (c->state) {
	case CLIENT_IDLE:
		return NULL;
	case CLIENT_HELD:
		hub.waiting--;
		TAILQ_REMOVE(&c->location->waiting, c, state_link);
		break;
	case CLIENT_READY:
		hub.waiting--;
		TAILQ_REMOVE(&hub.ready, c, state_link);
		break;
	}
	now = now_mono();
	metrics_poll_wait(now - c->held_since);
	c->state = CLIENT_IDLE;
	c->waiter = NULL;
	c->last_seen = now;
	TAILQ_INSERT_TAIL(&hub.idle, c, state_link);
	if (w != NULL)
		w->client = NULL;
	return w;
}

/* Remove a client: its poll is answered idle, its uuid is gone. */
void
hub_close(struct client *c)
{
	struct waiter *w = client_detach(c);
	struct principal *p = c->principal;
	bool left[HUB_LOCATIONS_MAX];

	if (w != NULL)
		w->ops->release(w, c);
	for (size_t i = 0; hub.watch != NULL && i <= c->nmore; i++)
		hub.watch->left(c, HUB_CLIENT_AT(c, i));
	if (hub.cluster != NULL)
		hub.cluster->close(c);
	for (size_t i = 0; i <= c->nmore; i++)
		left[i] = member_leave(c, HUB_CLIENT_AT(c, i),
		    i ? &c->more[i - 1] : NULL);
	TAILQ_REMOVE(&hub.idle, c, state_link);
	hmap_del(&hub.clients, &c->node);
	TAILQ_REMOVE(&p->clients, c, of_principal);
	if (--p->count == 0)
		hmap_del(&hub.principals, &p->node);
	queue_free(&c->own);
	hub.count--;
	log_debug("client %s gone", c->uuid);
	/* Said once it is gone, so that it does not hear it itself. */
	for (size_t i = 0; i <= c->nmore; i++)
		if (left[i] && !elsewhere(HUB_CLIENT_AT(c, i)->name, p->name))
			presence(HUB_CLIENT_AT(c, i), "leave", p->name);
	if (p->count == 0) {
		free(p->name);
		free(p);
	}
	free(c->more);
	free(c);
}

/*
 * Acknowledge everything up to since. A client's first acknowledgement
 * may point before its connect: a page that had to connect again asks
 * for what it missed, which the location's history may still hold (or
 * gets a reload if it does not). since=0 is no cursor at all, never a
 * request for history, so a client that starts from 0 is not reloaded.
 */
void
hub_ack(struct client *c, uint64_t since)
{
	if (since > hub.seq)
		since = hub.seq;
	if (!c->polled && since < c->start && since > 0) {
		c->cursor = since;
		/* Older than this node's history: a cluster may have it. */
		if (since < c->location->history.floor && hub.cluster != NULL)
			c->backfilling = hub.cluster->backfill(c);
	}
	else if (since > c->cursor)
		c->cursor = since;
	c->polled = true;
	queue_drop(&c->own, c->cursor, 0);
}

/*
 * An event stream that reconnects says which event it saw last, which may
 * be before events it was sent but never received. Go back there: what
 * the history still holds is sent again; if that is not enough, the
 * client falls behind and gets a reload.
 */
void
hub_rewind(struct client *c, uint64_t since)
{
	if (since >= c->cursor || !c->polled) {
		hub_ack(c, since);
		return;
	}
	c->cursor = since;
}

/*
 * May the client's page send one more event? A token bucket: input_rate
 * a second, bursts of input_burst.
 */
bool
hub_take_input(struct client *c)
{
	double now = now_mono(), rate = livd.cfg.input_rate;
	double burst = (double)livd.cfg.input_burst;

	if (rate <= 0)
		return true;
	if (c->input_at == 0)
		c->input_tokens = (float)burst;
	else
		c->input_tokens = (float)fmin(burst, c->input_tokens +
		    (now - c->input_at) * rate);
	c->input_at = now;
	if (c->input_tokens < 1)
		return false;
	c->input_tokens -= 1;
	return true;
}

/* Has the client missed events that its queues no longer hold? */
static bool
client_behind(const struct client *c)
{
	if (c->backfilling)
		return false;	/* not yet known */
	for (size_t i = 1; i <= c->nmore; i++)
		if (c->cursor < HUB_CLIENT_AT(c, i)->history.floor)
			return true;
	return c->cursor < c->location->history.floor ||
	    c->cursor < c->own.floor;
}

bool
hub_pending(const struct client *c)
{
	const struct msg *last;

	if (client_behind(c))
		return true;
	for (size_t i = 0; i <= c->nmore; i++) {
		last = queue_last(&HUB_CLIENT_AT(c, i)->history);
		if (last != NULL && last->seq > c->cursor)
			return true;
	}
	last = queue_last(&c->own);
	return last != NULL && last->seq > c->cursor;
}

static void
schedule_flush(void)
{
	if (!TAILQ_EMPTY(&hub.ready))
		event_active(hub.flush_ev, EV_TIMEOUT, 0);
}

/* Move a held client to the ready list. */
static void
client_ready(struct client *c)
{
	if (c->state != CLIENT_HELD)
		return;
	TAILQ_REMOVE(&c->location->waiting, c, state_link);
	c->state = CLIENT_READY;
	TAILQ_INSERT_TAIL(&hub.ready, c, state_link);
}

/* Hold a poll for c; a poll already held is released with an idle answer. */
void
hub_wait(struct client *c, struct waiter *w)
{
	struct waiter *old = client_detach(c);

	if (old != NULL)
		old->ops->release(old, c);
	TAILQ_REMOVE(&hub.idle, c, state_link);
	c->waiter = w;
	w->client = c;
	c->state = CLIENT_HELD;
	c->held_since = now_mono();
	hub.waiting++;
	TAILQ_INSERT_TAIL(&c->location->waiting, c, state_link);
	if (hub_pending(c)) {
		client_ready(c);
		schedule_flush();
	}
}

/* The waiter's connection went, or its deadline passed. */
void
hub_unwait(struct waiter *w)
{
	if (w->client != NULL)
		client_detach(w->client);
}

/* Answer the ready clients, a slice per loop turn. */
static void
hub_flush(evutil_socket_t fd, short what, void *arg)
{
	struct client *c;
	size_t n = 0;

	(void)fd; (void)what; (void)arg;
	while ((c = TAILQ_FIRST(&hub.ready)) != NULL) {
		struct waiter *w;

		if (n++ == HUB_FLUSH_SLICE) {
			schedule_flush();
			return;
		}
		w = client_detach(c);
		w->ops->wake(w, c);
	}
	if (hub.fanout_start > 0) {
		metrics_fanout(now_mono() - hub.fanout_start);
		hub.fanout_start = 0;
	}
}

static void
add_answer_head(struct buf *b, uint64_t seq, double refresh)
{
	buf_printf(b, "{\"seq\":%" PRIu64 ",\"refresh\":%g,\"events\":[", seq,
	    refresh);
}

/* The answer for a client with nothing to send. */
struct blob *
hub_idle(struct client *c)
{
	struct buf b;
	struct blob *body;

	buf_init(&b);
	add_answer_head(&b, c->cursor, hub_refresh(c->location));
	buf_adds(&b, "],\"idle\":true}");
	body = blob_new(b.data, b.len);
	buf_free(&b);
	return body;
}

/* The reload event that replaces the queue of a client that fell behind. */
static struct msg *reload;

static struct msg *
resync_msg(struct client *c)
{
	hub.stats.resyncs++;
	log_info("client %s fell behind: resync", c->uuid);
	if (reload == NULL || reload->seq != hub.seq) {
		msg_unref(reload);
		reload = msg_new("reload", 0, NULL, NULL, NULL, hub.seq);
	}
	return reload;
}

/*
 * Of the coalescing events with the same verb and id in one batch, only
 * the newest is sent. Returns whether msgs[i] is superseded.
 */
static bool
superseded(struct msg **msgs, size_t n, size_t i)
{
	const struct msg *m = msgs[i];

	for (size_t j = i + 1; j < n; j++)
		if (msgs[j]->coalesce_id != NULL &&
		    strcmp(msgs[j]->coalesce_id, m->coalesce_id) == 0 &&
		    strcmp(msgs[j]->verb, m->verb) == 0)
			return true;
	return false;
}

/* The batch's seq, and its coalescing done, once its n events are in. */
static const struct batch *
batch_finish(struct batch *b, size_t n, bool coalesce, uint64_t cursor)
{
	size_t kept = 0;

	b->seq = n ? b->msgs[n - 1]->seq : cursor;
	for (size_t k = 0; k < n; k++)
		if (!coalesce || b->msgs[k]->coalesce_id == NULL ||
		    !superseded(b->msgs, n, k))
			b->msgs[kept++] = b->msgs[k];
	b->count = kept;
	return b;
}

/*
 * The events above the cursor of a client at several locations: its own
 * queue and the histories of all its locations, merged by seq. An event
 * sent to all is in every history; it comes out once.
 */
struct merge {
	const struct queue	*q[HUB_LOCATIONS_MAX + 1];
	size_t			 at[HUB_LOCATIONS_MAX + 1];
	size_t			 nq;
};

static void
merge_init(struct merge *mg, const struct client *c)
{
	mg->nq = 0;
	mg->q[mg->nq++] = &c->own;
	for (size_t i = 0; i <= c->nmore; i++)
		mg->q[mg->nq++] = &HUB_CLIENT_AT(c, i)->history;
	for (size_t k = 0; k < mg->nq; k++)
		mg->at[k] = queue_after(mg->q[k], c->cursor);
}

static struct msg *
merge_next(struct merge *mg)
{
	struct msg *m = NULL;

	for (size_t k = 0; k < mg->nq; k++)
		if (mg->at[k] < mg->q[k]->len && (m == NULL ||
		    queue_at(mg->q[k], mg->at[k])->seq < m->seq))
			m = queue_at(mg->q[k], mg->at[k]);
	for (size_t k = 0; m != NULL && k < mg->nq; k++)
		if (mg->at[k] < mg->q[k]->len &&
		    queue_at(mg->q[k], mg->at[k])->seq == m->seq)
			mg->at[k]++;
	return m;
}

/*
 * hub_take for a client at several locations. Never shared: the cache is
 * a location's, for its clients at that one location.
 */
static const struct batch *
take_merged(struct client *c, struct batch *b)
{
	struct merge mg;
	struct msg *m;
	size_t n = 0, bytes = 0;
	bool coalesce = false;

	merge_init(&mg, c);
	while (n < HUB_ANSWER_MAX && bytes < HUB_ANSWER_BYTES &&
	    (m = merge_next(&mg)) != NULL) {
		b->msgs[n++] = m;
		bytes += m->jsonlen + 1;
		coalesce |= m->coalesce_id != NULL;
	}
	return batch_finish(b, n, coalesce, c->cursor);
}

/*
 * What the client gets next: its events above the cursor from both of
 * its queues, in seq order, coalesced, at most HUB_ANSWER_MAX. The batch
 * is the hub's and valid until the next call.
 */
const struct batch *
hub_take(struct client *c)
{
	static struct batch b;
	struct queue *hq = &c->location->history, *oq = &c->own;
	size_t i, j, n = 0, bytes = 0;
	bool coalesce = false;

	b.count = 0;
	b.shareable = false;
	if (client_behind(c)) {
		b.msgs[b.count++] = resync_msg(c);
		b.seq = hub.seq;
		return &b;
	}
	if (c->nmore > 0)
		return take_merged(c, &b);
	i = queue_after(hq, c->cursor);
	j = queue_after(oq, c->cursor);
	b.shareable = j == oq->len;
	while ((i < hq->len || j < oq->len) && n < HUB_ANSWER_MAX &&
	    bytes < HUB_ANSWER_BYTES) {
		struct msg *m;

		if (j == oq->len || (i < hq->len &&
		    queue_at(hq, i)->seq < queue_at(oq, j)->seq))
			m = queue_at(hq, i++);
		else
			m = queue_at(oq, j++);
		b.msgs[n++] = m;
		bytes += m->jsonlen + 1;
		coalesce |= m->coalesce_id != NULL;
	}
	if (i < hq->len || j < oq->len)
		b.shareable = false;	/* cut short: the rest comes next */
	return batch_finish(&b, n, coalesce, c->cursor);
}

/* How many events wait for the client above its cursor, each once. */
size_t
hub_queued(const struct client *c)
{
	const struct queue *h = &c->location->history, *o = &c->own;
	struct merge mg;
	size_t n = 0;

	if (c->nmore == 0)
		return h->len - queue_after(h, c->cursor) + o->len -
		    queue_after(o, c->cursor);
	merge_init(&mg, c);
	while (merge_next(&mg) != NULL)
		n++;
	return n;
}

/*
 * Encode what the client has above its cursor:
 * {"seq": S, "refresh": R, "events": [...]}, or the idle answer. Clients
 * of one location at the same cursor share one encoded answer.
 */
struct blob *
hub_answer(struct client *c, uint64_t *seq)
{
	struct location *loc = c->location;
	struct queue *hq = &loc->history;
	double refresh = hub_refresh(loc);
	const struct batch *b;
	struct blob *body;
	struct buf out;
	size_t bytes = 64;

	if (!client_behind(c) && c->nmore == 0 && loc->cache != NULL &&
	    loc->cache_from == c->cursor && hq->len > 0 &&
	    loc->cache_to == queue_last(hq)->seq &&
	    loc->cache_refresh == refresh &&
	    queue_after(&c->own, c->cursor) == c->own.len) {
		*seq = loc->cache_to;
		hub.stats.answers++;
		return blob_ref(loc->cache);
	}
	b = hub_take(c);
	*seq = b->seq;
	if (b->count == 0)
		return hub_idle(c);
	for (size_t k = 0; k < b->count; k++)
		bytes += b->msgs[k]->jsonlen + 1;
	buf_init(&out);
	buf_reserve(&out, bytes);
	add_answer_head(&out, b->seq, refresh);
	for (size_t k = 0; k < b->count; k++) {
		if (k)
			buf_addc(&out, ',');
		buf_add(&out, b->msgs[k]->json, b->msgs[k]->jsonlen);
	}
	buf_adds(&out, "]}");
	body = blob_new(out.data, out.len);
	buf_free(&out);
	hub.stats.answers++;
	if (b->shareable) {
		location_cache(loc, body);
		loc->cache_from = c->cursor;
		loc->cache_to = b->seq;
		loc->cache_refresh = refresh;
	}
	return body;
}

uint64_t
hub_next_seq(void)
{
	return ++hub.seq;
}

/*
 * Seq only grows: lift it to at least seq, given elsewhere (Redis, the
 * state file), so the next one this livd gives is above it.
 */
void
hub_advance_seq(uint64_t seq)
{
	if (seq > hub.seq)
		hub.seq = seq;
}

/* Wake every poll held at a location. */
static void
wake_location(struct location *loc)
{
	struct client *c;
	struct guest *g;

	while ((c = TAILQ_FIRST(&loc->waiting)) != NULL)
		client_ready(c);
	/* Their polls are held at their first location. */
	TAILQ_FOREACH(g, &loc->guests, link)
		client_ready(g->client);
}

/*
 * The most bytes of events one location or one page's own queue holds:
 * history_bytes, and never over half the budget.
 */
static size_t
history_max(void)
{
	uint64_t max = livd.cfg.history_bytes;

	if (budget.limit > 0 && max > budget.limit / 2)
		max = budget.limit / 2;
	return (size_t)max;
}

static void
push_location(struct location *loc, struct msg *m)
{
	queue_push(&loc->history, m, livd.cfg.queue_limit);
	/* Pages that had not acknowledged what goes will get a reload. */
	queue_trim(&loc->history, history_max(), 0);
	/* With nobody here to acknowledge, keep only the history. */
	if (loc->count == 0)
		queue_drop(&loc->history, UINT64_MAX, livd.cfg.history_limit);
	wake_location(loc);
}

static void
push_client(struct client *c, struct msg *m)
{
	queue_push(&c->own, m, livd.cfg.queue_limit);
	queue_trim(&c->own, history_max(), 0);
	client_ready(c);
}

/* Send m to its target; returns how many clients it reached. */
size_t
hub_send(struct msg *m, const struct target *t)
{
	struct location *loc;
	struct principal *p;
	struct observer *o, *onext;
	struct hnode *node;
	struct client *c;
	size_t n = 0;

	switch (t->kind) {
	case TARGET_ALL:
		TAILQ_FOREACH(loc, &hub.all, link)
			push_location(loc, m);
		n = hub.count;	/* once each, wherever they are */
		break;
	case TARGET_LOCATION:
		loc = hub_location_make(t->name);
		push_location(loc, m);
		n = loc->count;
		break;
	case TARGET_CLIENT:
		push_client(t->client, m);
		n = 1;
		break;
	case TARGET_PRINCIPAL:
		if ((node = hmap_get(&hub.principals, t->name)) == NULL)
			break;
		p = container_of(node, struct principal, node);
		TAILQ_FOREACH(c, &p->clients, of_principal) {
			push_client(c, m);
			n++;
		}
		break;
	}
	hub.stats.events++;
	hub.stats.deliveries += n;
	metrics_delivered(m->verb, n);
	/* From another node too: past the high mark, old history goes. */
	budget_make_room(0);
	TAILQ_FOREACH_SAFE(o, &hub.observers, link, onext)
		o->seen(o, m, t);
	if (!TAILQ_EMPTY(&hub.ready) && hub.fanout_start == 0)
		hub.fanout_start = now_mono();
	schedule_flush();
	return n;
}

/* Call fn for every client an event sent to t would reach. */
size_t
hub_recipients(const struct target *t, void (*fn)(struct client *, void *),
    void *arg)
{
	struct location *loc;
	struct hnode *node;
	struct client *c;
	size_t n = 0;

	switch (t->kind) {
	case TARGET_ALL:
		/* Each client is in one location's clients: its first. */
		TAILQ_FOREACH(loc, &hub.all, link)
			TAILQ_FOREACH(c, &loc->clients, at_location) {
				fn(c, arg);
				n++;
			}
		break;
	case TARGET_LOCATION:
		if ((loc = hub_location(t->name)) != NULL)
			n = hub_at(loc, fn, arg);
		break;
	case TARGET_CLIENT:
		if (t->client == NULL)
			break;		/* another node's client */
		fn(t->client, arg);
		n = 1;
		break;
	case TARGET_PRINCIPAL:
		if ((node = hmap_get(&hub.principals, t->name)) != NULL)
			TAILQ_FOREACH(c, &container_of(node, struct principal,
			    node)->clients, of_principal) {
				fn(c, arg);
				n++;
			}
		break;
	}
	return n;
}

const char *const hub_target_names[] = {
	[TARGET_ALL] = "all", [TARGET_LOCATION] = "location",
	[TARGET_CLIENT] = "client", [TARGET_PRINCIPAL] = "principal"
};

/* Does an event sent to t reach pages at the location called name? */
bool
hub_reaches(const struct target *t, const char *name)
{
	struct hnode *node;
	struct client *c;

	switch (t->kind) {
	case TARGET_ALL:
		return true;
	case TARGET_LOCATION:
		return strcmp(t->name, name) == 0;
	case TARGET_CLIENT:
		return hub_client_location(t->client, name) != NULL;
	case TARGET_PRINCIPAL:
		if ((node = hmap_get(&hub.principals, t->name)) == NULL)
			return false;
		TAILQ_FOREACH(c, &container_of(node, struct principal,
		    node)->clients, of_principal)
			if (hub_client_location(c, name) != NULL)
				return true;
		return false;
	}
	return false;
}

/*
 * History fetched for pages catching up at a location (cluster): when
 * complete, the events before the history's floor go in front of it, and
 * the pages waiting for them are answered (or told to resync).
 */
void
hub_backfilled(const char *name, struct msg **msgs, size_t n, bool complete)
{
	struct location *loc = hub_location(name);
	struct queue *q;
	struct client *c;
	uint64_t since = UINT64_MAX;

	if (loc == NULL)
		return;
	q = &loc->history;
	TAILQ_FOREACH(c, &loc->clients, at_location)
		if (c->backfilling && c->cursor < since)
			since = c->cursor;
	if (complete && since < q->floor) {
		size_t keep = 0;

		while (keep < n && msgs[keep]->seq <= q->floor)
			keep++;
		queue_prepend(q, msgs, keep, since);
	}
	TAILQ_FOREACH(c, &loc->clients, at_location) {
		if (!c->backfilling)
			continue;
		c->backfilling = false;
		if (c->state == CLIENT_HELD && hub_pending(c))
			client_ready(c);
	}
	schedule_flush();
}

/* Make one page resync: it missed what cannot be given it in order. */
void
hub_client_resync(struct client *c)
{
	queue_clear(&c->own, hub.seq);
	client_ready(c);
	schedule_flush();
}

/* Make every page at loc resync: what they missed cannot be known. */
void
hub_resync(struct location *loc)
{
	queue_clear(&loc->history, hub.seq);
	wake_location(loc);
	schedule_flush();
}

void
hub_observe(struct observer *o)
{
	TAILQ_INSERT_TAIL(&hub.observers, o, link);
}

void
hub_unobserve(struct observer *o)
{
	TAILQ_REMOVE(&hub.observers, o, link);
}

static void
lowest_cursor(struct client *c, void *arg)
{
	uint64_t *acked = arg;

	if (c->cursor < *acked)
		*acked = c->cursor;
}

/*
 * Once a second: clients that stopped polling go offline, histories that
 * every client has acknowledged shrink to history_limit, and empty
 * locations are forgotten once nobody could still ask for their history.
 */
void
hub_sweep(void)
{
	struct client *c, *cnext;
	struct location *loc, *lnext;
	double now = now_mono();

	TAILQ_FOREACH_SAFE(c, &hub.idle, state_link, cnext) {
		if (now - c->last_seen < hub_presence_timeout(c->location))
			continue;
		log_info("client %s (%s at %s) timed out", c->uuid,
		    c->principal->name, c->location->name);
		hub.stats.expired++;
		hub_close(c);
	}
	TAILQ_FOREACH_SAFE(loc, &hub.all, link, lnext) {
		uint64_t acked = UINT64_MAX;

		if (loc->count == 0 && loc->refresh == 0 &&
		    now - loc->empty_since > hub_presence_timeout(loc)) {
			location_free(loc);
			continue;
		}
		if (loc->history.len <= livd.cfg.history_limit)
			continue;
		hub_at(loc, lowest_cursor, &acked);
		queue_drop(&loc->history, acked, livd.cfg.history_limit);
	}
}

/* The oldest seq any queue holds, or 0 when they are all empty. */
static uint64_t
oldest_held(void)
{
	struct location *loc;
	struct hnode *node;
	uint64_t lo = UINT64_MAX;
	size_t i;

	TAILQ_FOREACH(loc, &hub.all, link)
		if (loc->history.len > 0 && queue_at(&loc->history, 0)->seq < lo)
			lo = queue_at(&loc->history, 0)->seq;
	HMAP_FOREACH(&hub.clients, node, i) {
		struct client *c = container_of(node, struct client, node);

		if (c->own.len > 0 && queue_at(&c->own, 0)->seq < lo)
			lo = queue_at(&c->own, 0)->seq;
	}
	return lo == UINT64_MAX ? 0 : lo;
}

/* Drop every queued event at or below seq; returns how many went. */
static size_t
drop_through(uint64_t seq)
{
	struct location *loc;
	struct hnode *node;
	size_t i, n, dropped = 0;

	TAILQ_FOREACH(loc, &hub.all, link)
		if ((n = queue_trim(&loc->history, SIZE_MAX, seq)) > 0) {
			dropped += n;
			wake_location(loc);	/* to get their reload */
		}
	HMAP_FOREACH(&hub.clients, node, i) {
		struct client *c = container_of(node, struct client, node);

		if ((n = queue_trim(&c->own, SIZE_MAX, seq)) > 0) {
			dropped += n;
			client_ready(c);
		}
	}
	return dropped;
}

/*
 * budget.reclaim: the memory budget is nearly spent. Drop the oldest
 * events, of every location and page alike, until want bytes are free
 * or nothing is left; pages that had not acknowledged them get a reload.
 * A walk over every location and client per step, at most 17 steps: the
 * slow path, taken only near the limit, and not again while no event has
 * come since one that found nothing to drop (the memory is held by
 * connections, say), so that requests then cost no walk.
 */
static size_t
hub_reclaim(size_t want)
{
	static uint64_t futile = UINT64_MAX;
	size_t goal = budget.used > want ? budget.used - want : 0, dropped = 0;
	uint64_t lo, step, cut;

	if (futile == hub.seq)
		return 0;
	if ((lo = oldest_held()) == 0) {
		futile = hub.seq;
		return 0;
	}
	step = (hub.seq - lo) / 16 + 1;
	for (cut = lo; budget.used > goal && cut - step <= hub.seq; cut += step)
		dropped += drop_through(cut);
	if (dropped > 0) {
		log_warnx("memory budget: dropped the oldest %zu events", dropped);
		schedule_flush();
	} else
		futile = hub.seq;
	return dropped;
}

static void
hub_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	hub_sweep();
}

/* At exit: answer every held poll and free everything. */
void
hub_shutdown(void)
{
	struct location *loc;
	struct client *c;

	hub.quiet = true;
	/* Every client first: one may be a guest at any location. */
	TAILQ_FOREACH(loc, &hub.all, link)
		while ((c = TAILQ_FIRST(&loc->clients)) != NULL)
			hub_close(c);
	while ((loc = TAILQ_FIRST(&hub.all)) != NULL)
		location_free(loc);
	msg_unref(reload);
	reload = NULL;
	event_free(hub.flush_ev);
	event_free(hub.sweep_ev);
	hmap_free(&hub.clients);
	hmap_free(&hub.locations);
	hmap_free(&hub.principals);
}

/*
 * The long-poll transport: GET /client/UUID/output?since=SEQ. A poll with
 * nothing to answer is held as the client's waiter until the hub wakes it,
 * releases it, or the refresh interval passes. The waiter lives in the
 * connection it holds (its owner state), and leaves the hub if the
 * connection goes first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "longpoll.h"

/* A held poll, kept in its connection: no allocation per poll. */
struct longpoll {
	struct waiter	 waiter;
};

_Static_assert(sizeof(struct longpoll) <= HTTP_OWNER_SIZE,
    "a held poll fits in its connection");

static void	longpoll_wake(struct waiter *, struct client *);
static void	longpoll_release(struct waiter *, struct client *);
static void	longpoll_deadline(struct conn *, void *);

static const struct waiter_ops longpoll_ops = {
	.name = "longpoll",
	.wake = longpoll_wake,
	.release = longpoll_release,
};

static const struct http_owner longpoll_owner = {
	.deadline = longpoll_deadline,
	.closed = longpoll_closed,
};

/*
 * The connection holding a waiter kept as its owner state, first in it:
 * a held poll's, or an event stream's.
 */
struct conn *
longpoll_conn(struct waiter *w)
{
	return http_owner_conn(container_of(w, struct longpoll, waiter));
}

static void
answer(struct conn *c, struct blob *body)
{
	http_reply_blob(c, 200, "application/json", body);
	blob_unref(body);
}

static void
longpoll_wake(struct waiter *w, struct client *client)
{
	uint64_t seq;

	answer(longpoll_conn(w), hub_answer(client, &seq));
}

static void
longpoll_release(struct waiter *w, struct client *client)
{
	answer(longpoll_conn(w), hub_idle(client));
}

/*
 * A connection holding a waiter goes: the waiter leaves the hub. Any
 * transport whose owner state is a waiter may share this (sse.c has its
 * own, which also ends a client made for its stream).
 */
void
longpoll_closed(struct conn *c, void *data)
{
	struct waiter *w = data;

	(void)c;
	if (w->client != NULL)
		hub_unwait(w);
}

/* The refresh interval passed: answer what there is, most likely idle. */
static void
longpoll_deadline(struct conn *c, void *data)
{
	struct longpoll *lp = data;
	struct client *client = lp->waiter.client;
	uint64_t seq;

	if (client == NULL) {
		http_error(c, 404, "unknown client");
		return;
	}
	hub_unwait(&lp->waiter);
	answer(c, hub_answer(client, &seq));
}

/* Parse a seq: decimal digits only; -1 when malformed. */
int
longpoll_parse_seq(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0' || strlen(s) > 20)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

void
longpoll_output(struct conn *c, struct request *r)
{
	struct client *client = r->client;
	struct longpoll *lp;
	char since[32];
	uint64_t seq;
	int rc;

	if ((rc = query_get(r->head.query, "since", since, sizeof since)) !=
	    -1) {
		if (rc != 0 || longpoll_parse_seq(since, &seq) != 0) {
			http_error(c, 400, "invalid since");
			return;
		}
		hub_ack(client, seq);
	}
	if (client->waiter == NULL && hub.waiting >= livd.cfg.max_polls) {
		http_error(c, 503, "too many polls");
		return;
	}
	lp = http_own(c, &longpoll_owner);
	lp->waiter.ops = &longpoll_ops;
	http_hold(c, hub_refresh(client->location));
	hub_wait(client, &lp->waiter);
}

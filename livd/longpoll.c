/*
 * The long-poll transport: GET /client/UUID/output?since=SEQ. A poll with
 * nothing to answer is held as the client's waiter until the hub wakes it,
 * releases it, or the refresh interval passes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "longpoll.h"

static void	longpoll_wake(struct waiter *, struct client *);
static void	longpoll_release(struct waiter *, struct client *);

static const struct waiter_ops longpoll_ops = {
	.name = "longpoll",
	.wake = longpoll_wake,
	.release = longpoll_release,
};

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

	answer(container_of(w, struct conn, waiter), hub_answer(client, &seq));
}

static void
longpoll_release(struct waiter *w, struct client *client)
{
	answer(container_of(w, struct conn, waiter), hub_idle(client));
}

/* The refresh interval passed: answer what there is, most likely idle. */
static void
longpoll_deadline(struct conn *c)
{
	struct client *client = c->waiter.client;
	uint64_t seq;

	if (client == NULL) {
		http_error(c, 404, "unknown client");
		return;
	}
	hub_unwait(&c->waiter);
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
	c->waiter.ops = &longpoll_ops;
	http_hold(c, hub_refresh(client->location), longpoll_deadline);
	hub_wait(client, &c->waiter);
}

/*
 * The Server-Sent Events transport: GET /client/UUID/events streams the
 * same events as the long-poll, as text/event-stream. The stream's waiter
 * stays attached: each wake writes the events ("id:" is their seq) and
 * counts them as acknowledged, since an event stream has no way to say
 * so; a reconnecting EventSource sends Last-Event-ID (or a page opening a
 * new one passes ?since=), the last event it did receive, and gets what
 * came after it again (hub_rewind).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "longpoll.h"
#include "msg.h"
#include "sse.h"

/* A comment line this often keeps proxies from closing a quiet stream. */
#define SSE_HEARTBEAT	15.0

/* An open stream, kept in its connection as a held poll is. */
struct sse {
	struct waiter	 waiter;	/* first: longpoll_conn(), _closed() */
};

_Static_assert(sizeof(struct sse) <= HTTP_OWNER_SIZE,
    "a stream fits in its connection");

static void	sse_wake(struct waiter *, struct client *);
static void	sse_release(struct waiter *, struct client *);
static void	sse_heartbeat(struct conn *, void *);

static const struct waiter_ops sse_ops = {
	.name = "sse",
	.wake = sse_wake,
	.release = sse_release,
};

static const struct http_owner sse_owner = {
	.deadline = sse_heartbeat,
	.closed = longpoll_closed,
};

static void
sse_wake(struct waiter *w, struct client *client)
{
	struct conn *c = longpoll_conn(w);
	const struct batch *b = hub_take(client);
	struct buf out;

	buf_init(&out);
	for (size_t i = 0; i < b->count; i++) {
		buf_printf(&out, "id: %" PRIu64 "\ndata: ", b->msgs[i]->seq);
		buf_add(&out, b->msgs[i]->json, b->msgs[i]->jsonlen);
		buf_adds(&out, "\n\n");
	}
	hub_ack(client, b->seq);
	if (out.len > 0)
		http_stream_write(c, out.data, out.len);
	buf_free(&out);
	if (http_streaming(c))
		hub_wait(client, w);
}

/* The client left or another poll took over: the stream ends. */
static void
sse_release(struct waiter *w, struct client *client)
{
	(void)client;
	http_stream_end(longpoll_conn(w));
}

static void
sse_heartbeat(struct conn *c, void *data)
{
	(void)data;
	http_stream_write(c, ":\n\n", 3);
}

void
sse_events(struct conn *c, struct request *r)
{
	struct client *client = r->client;
	struct sse *s;
	struct http_span id = r->head.last_event_id;
	const char *since = NULL;
	char query[32];
	uint64_t seq;
	int rc;

	if (client->waiter == NULL && hub.waiting >= livd.cfg.max_polls) {
		http_error(c, 503, "too many polls");
		return;
	}
	if (id.p != NULL && id.len < sizeof query) {
		memcpy(query, id.p, id.len);
		query[id.len] = '\0';
		since = query;
	} else if (id.p != NULL)
		since = "-";	/* longer than any seq: refused below */
	else if ((rc = query_get(r->head.query, "since", query,
	    sizeof query)) != -1)
		since = rc == 0 ? query : "-";	/* malformed: refused below */
	if (since != NULL) {
		if (longpoll_parse_seq(since, &seq) != 0) {
			http_error(c, 400, "invalid since");
			return;
		}
		hub_rewind(client, seq);
	}
	s = http_own(c, &sse_owner);
	s->waiter.ops = &sse_ops;
	http_stream_start(c, "text/event-stream", SSE_HEARTBEAT);
	http_stream_write(c, "retry: 2000\n\n", 13);
	if (!http_streaming(c))
		return;
	hub_wait(client, &s->waiter);
}

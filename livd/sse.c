/*
 * The Server-Sent Events transport: GET /client/UUID/events streams the
 * same events as the long-poll, as text/event-stream, and GET /stream
 * (stream.c) streams them in the format a frontend reads. The stream's
 * waiter stays attached: each wake writes the events ("id:" is their seq)
 * and counts them as acknowledged, since an event stream has no way to
 * say so; a reconnecting EventSource sends Last-Event-ID (or a page
 * opening a new one passes ?since=), the last event it did receive, and
 * gets what came after it again (hub_rewind).
 *
 * A stream's format is its waiter's ops: one row of sse_ops per format,
 * so a stream costs no more than a held poll (two pointers in its
 * connection). A client made for its stream (ephemeral) leaves when the
 * stream ends, whichever side ends it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "frame.h"
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
	struct waiter	 waiter;	/* first: longpoll_conn() */
};

_Static_assert(sizeof(struct sse) <= HTTP_OWNER_SIZE,
    "a stream fits in its connection");

static void	sse_wake(struct waiter *, struct client *);
static void	sse_release(struct waiter *, struct client *);
static void	sse_heartbeat(struct conn *, void *);
static void	sse_closed(struct conn *, void *);

/* Indexed by format: a waiter's ops say which format it streams. */
static const struct waiter_ops sse_ops[FRAME_FORMATS] = {
	[FRAME_JSON] = { "sse", sse_wake, sse_release },
	[FRAME_TURBO] = { "sse-turbo", sse_wake, sse_release },
	[FRAME_HTMX] = { "sse-htmx", sse_wake, sse_release },
};

static const struct http_owner sse_owner = {
	.deadline = sse_heartbeat,
	.closed = sse_closed,
};

/*
 * Write the client's next batch, each event framed once for every stream
 * (frame_get). Events the format does not send are skipped, but when the
 * batch ends with one, an "id:" line alone still moves the page's
 * Last-Event-ID past it.
 */
static void
sse_wake(struct waiter *w, struct client *client)
{
	struct conn *c = longpoll_conn(w);
	enum frame_format f = (enum frame_format)(w->ops - sse_ops);
	const struct batch *b = hub_take(client);
	struct blob *first = NULL, *fr;
	struct buf out;

	/* One message is written from its frame; more are joined in out. */
	buf_init(&out);
	for (size_t i = 0; i < b->count; i++) {
		if ((fr = frame_get(b->msgs[i], f, livd.verbs))->len == 0)
			continue;
		if (first == NULL) {
			first = fr;
			continue;
		}
		if (out.len == 0)
			buf_add(&out, first->data, first->len);
		buf_add(&out, fr->data, fr->len);
	}
	if (b->count > 0 && b->msgs[b->count - 1]->frames[f]->len == 0) {
		if (first != NULL && out.len == 0)
			buf_add(&out, first->data, first->len);
		buf_printf(&out, "id: %" PRIu64 "\n\n", b->seq);
	}
	/* Written before the acknowledgement, which may free the events. */
	if (out.len > 0)
		http_stream_write(c, out.data, out.len);
	else if (first != NULL)
		http_stream_write(c, first->data, first->len);
	buf_free(&out);
	hub_ack(client, b->seq);
	if (http_streaming(c))
		hub_wait(client, w);
	else if (client->ephemeral)
		hub_close(client);
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

/*
 * The connection goes while the stream waits: the waiter leaves the hub,
 * and a client made for this stream leaves with it.
 */
static void
sse_closed(struct conn *c, void *data)
{
	struct waiter *w = data;
	struct client *client = w->client;

	(void)c;
	if (client == NULL)
		return;		/* released, or writing: sse_wake ends it */
	hub_unwait(w);
	if (client->ephemeral)
		hub_close(client);
}

/*
 * Where a stream resumes: Last-Event-ID, else ?since=. 1 when neither is
 * given, 0 with *seq set, -1 (answered 400) when malformed.
 */
int
sse_resume(struct conn *c, const struct request *r, uint64_t *seq)
{
	struct http_span id = r->head.last_event_id;
	const char *since = NULL;
	char query[32];
	int rc;

	if (id.p != NULL && id.len < sizeof query) {
		memcpy(query, id.p, id.len);
		query[id.len] = '\0';
		since = query;
	} else if (id.p != NULL)
		since = "-";	/* longer than any seq: refused below */
	else if ((rc = query_get(r->head.query, "since", query,
	    sizeof query)) != -1)
		since = rc == 0 ? query : "-";	/* malformed: refused below */
	if (since == NULL)
		return 1;
	if (longpoll_parse_seq(since, seq) != 0) {
		http_error(c, 400, "invalid since");
		return -1;
	}
	return 0;
}

/* Stream the client's events on c, in format f, from its cursor. */
void
sse_start(struct conn *c, struct client *client, enum frame_format f)
{
	struct sse *s = http_own(c, &sse_owner);

	s->waiter.ops = &sse_ops[f];
	http_stream_start(c, "text/event-stream", SSE_HEARTBEAT);
	http_stream_write(c, "retry: 2000\n\n", 13);
	if (http_streaming(c))
		hub_wait(client, &s->waiter);
	else if (client->ephemeral)
		hub_close(client);
}

void
sse_events(struct conn *c, struct request *r)
{
	struct client *client = r->client;
	uint64_t seq;
	int rc;

	if (client->waiter == NULL && hub.waiting >= livd.cfg.max_polls) {
		http_error(c, 503, "too many polls");
		return;
	}
	if ((rc = sse_resume(c, r, &seq)) < 0)
		return;
	if (rc == 0)
		hub_rewind(client, seq);
	sse_start(c, client, FRAME_JSON);
}

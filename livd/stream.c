/*
 * GET /stream?location=L[&location=L2...]&format=json|turbo|htmx: for
 * frontends that can only open a URL (Turbo's <turbo-stream-source>,
 * htmx's SSE extension, a bare EventSource). The query is the form of
 * POST /connect, checked the same way (connect.c); the client it makes
 * lives as long as its stream (sse.c ends it with the stream), and is
 * new each time: a reconnecting EventSource's Last-Event-ID is where the
 * new client starts, so it gets what the location's history holds since
 * then, through a restart of livd with state_file too.
 */
#include <stdlib.h>

#include "util.h"
#include "connect.h"
#include "frame.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "metrics.h"
#include "sse.h"
#include "stream.h"

/* What a page that gives no principal is called, in open mode. */
#define STREAM_ANONYMOUS	"anonymous"

/* The page's client is made: stream to it, from where it resumes. */
static void
stream_begin(struct conn *c, struct client *client,
    const struct connect_then *then)
{
	client->ephemeral = true;
	if (then->rewind)
		hub_rewind(client, then->since);
	sse_start(c, client, (enum frame_format)then->format);
}

void
stream_open(struct conn *c, struct request *r)
{
	struct connect_ask ask;
	struct connect_then then = { .done = stream_begin };
	struct form f;
	const char *name, *err;
	char *query, q[80];
	int format = FRAME_JSON, resume;
	uint64_t seq = 0;

	query = xstrndup(r->head.query.p != NULL ? r->head.query.p : "",
	    r->head.query.len);
	if (form_parse(query, r->head.query.len, &f, &err) != 0) {
		metrics_rejected(REJECT_FORM);
		http_error(c, 400, "%s", err);
		goto done;
	}
	if ((name = form_get(&f, "format")) != NULL &&
	    (format = frame_format(name)) < 0) {
		quote_for_error(q, sizeof q, name);
		http_error(c, 400, "unknown format '%s' (json, turbo or htmx)",
		    q);
		goto done;
	}
	if ((resume = sse_resume(c, r, &seq)) < 0 ||
	    connect_check(c, &f, STREAM_ANONYMOUS, &ask) != 0)
		goto done;
	if (hub.waiting >= livd.cfg.max_polls) {
		http_error(c, 503, "too many polls");
		goto done;
	}
	then.since = seq;
	then.format = (uint8_t)format;
	then.rewind = resume == 0;
	connect_page(c, r, &ask, &then);
done:
	free(query);
}

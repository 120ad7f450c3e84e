/*
 * POST /api: the control protocol over HTTP. A body's request lines run
 * through a control connection without a socket (control.c's sink), so
 * each is answered exactly as on the socket and in the same order,
 * deferred answers (polls, cluster sends) included. The HTTP answer goes
 * when the last line is answered; until then the connection is held, and
 * if it closes first the control connection is cancelled as a socket
 * client's would be.
 *
 * Only an API token opens it, and only with a secret_file: there is no
 * unauthenticated /api. The hot path (one send over keep-alive) neither
 * allocates nor verifies the same token twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"
#include "api.h"
#include "auth.h"
#include "control.h"
#include "ctlspec.h"
#include "http.h"
#include "livd.h"
#include "metrics.h"

/* A held request's wait is re-armed: the answers it waits for all come. */
#define API_HOLD	60

/* One request body being run: its control connection and its answers. */
struct api_call {
	struct ctl_conn	*ctl;
	struct conn	*conn;		/* held for the answers, or NULL */
	uint64_t	 allowed;	/* the token's commands, by index */
	struct buf	 out;		/* the answer lines */
};

_Static_assert(sizeof(struct api_call *) <= HTTP_OWNER_SIZE,
    "a held call fits in its connection");

/*
 * The last token verified and what it allows: a client on keep-alive
 * sends the same one each time, and verifying is most of a request's
 * cost. It is checked again when the secret changes or its time is up.
 */
static struct {
	char		 token[AUTH_TOKEN_MAX + 1];
	size_t		 len;
	uint64_t	 allowed;
	unsigned int	 generation;
	bool		 has_exp, has_nbf;
	double		 exp, nbf;
} cache;

static struct api_call	*spare;		/* kept for the next request */

static void	api_answer(void *, const char *, size_t);
static bool	api_admit_cmd(void *, struct ctl_conn *,
		    const struct ctlspec *);
static void	api_done(void *);
static void	api_deadline(struct conn *, void *);
static void	api_closed(struct conn *, void *);
static void	api_dispatch(struct conn *, struct request *);

static const struct ctl_sink api_sink = {
	.answer = api_answer,
	.admit = api_admit_cmd,
	.done = api_done,
};

static const struct http_owner api_owner = {
	.deadline = api_deadline,
	.closed = api_closed,
};

/* The handler of api_listen's listener: /api and nothing else. */
const struct http_handler api_handler = {
	.dispatch = api_dispatch,
	.admit = api_admit,
	.shutdown = api_free,
};

/* Commands that need the socket's machine (a stream, a terminal). */
#define API_NOT_HTTP	(CTL_STREAMS | CTL_LIVCTL)

static void
api_answer(void *arg, const char *s, size_t len)
{
	struct api_call *call = arg;

	buf_add(&call->out, s, len);
	buf_addc(&call->out, '\n');
}

/* Each line's command must be one HTTP can serve and the token allows. */
static bool
api_admit_cmd(void *arg, struct ctl_conn *ctl, const struct ctlspec *spec)
{
	struct api_call *call = arg;

	if (spec->flags & API_NOT_HTTP) {
		ctl_error(ctl, "command '%s' is not available over HTTP",
		    spec->name);
		return false;
	}
	if (!(call->allowed & (UINT64_C(1) << spec->index))) {
		ctl_error(ctl, "command '%s' not allowed", spec->name);
		return false;
	}
	return true;
}

static struct api_call *
api_call_get(void)
{
	struct api_call *call = spare;

	if (call != NULL) {
		spare = NULL;
		return call;
	}
	call = xcalloc(1, sizeof *call);
	call->ctl = ctl_sink_new(&api_sink, call);
	buf_init(&call->out);
	return call;
}

static void
api_call_free(struct api_call *call)
{
	ctl_sink_free(call->ctl);
	buf_free(&call->out);
	free(call);
}

/* A call whose answers are all out is kept for the next, or freed. */
static void
api_call_put(struct api_call *call)
{
	if (spare != NULL) {
		api_call_free(call);
		return;
	}
	call->conn = NULL;
	call->out.len = 0;
	spare = call;
}

static void
api_reply(struct conn *c, struct api_call *call)
{
	http_reply(c, 200, "application/x-ndjson", NULL, call->out.data,
	    call->out.len);
}

/* The last deferred answer is in: the HTTP answer goes. */
static void
api_done(void *arg)
{
	struct api_call *call = arg;

	api_reply(call->conn, call);	/* ends the hold: no api_closed */
	api_call_put(call);
}

static void
api_deadline(struct conn *c, void *data)
{
	(void)data;
	http_hold(c, API_HOLD);
}

/* The client went before its answers: cancel what still owes them. */
static void
api_closed(struct conn *c, void *data)
{
	(void)c;
	api_call_free(*(struct api_call **)data);
}

/* 401, with the header RFC 6750 asks for; why is livd's own text. */
static void
api_unauthorized(struct conn *c, const char *why)
{
	char body[128];
	int n;

	metrics_rejected(REJECT_TOKEN);
	n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", why);
	http_reply(c, 401, "application/json", "WWW-Authenticate: Bearer\r\n",
	    body, (size_t)n);
}

/* The bits of the commands claims allows, one per ctl.def row. */
static uint64_t
api_allowed(const struct auth_claims *claims)
{
	const struct ctlspec *all = ctlspec_table();
	uint64_t bits = 0;

	for (size_t i = 0; i < ctlspec_count && i < 64; i++)
		if (auth_cmd_allowed(claims, all[i].name))
			bits |= UINT64_C(1) << i;
	return bits;
}

/* Verify an API token (or find it verified); -1 with why when bad. */
static int
api_token(struct http_span t, uint64_t *allowed, const char **why)
{
	struct auth_claims claims;
	double now = (double)time(NULL);

	if (t.len == cache.len && t.len > 0 &&
	    cache.generation == auth_generation() &&
	    memcmp(t.p, cache.token, t.len) == 0 &&
	    !(cache.has_exp && now >= cache.exp) &&
	    !(cache.has_nbf && now < cache.nbf)) {
		*allowed = cache.allowed;
		return 0;
	}
	cache.len = 0;
	if (t.len > AUTH_TOKEN_MAX) {
		*why = "invalid token";
		return -1;
	}
	memcpy(cache.token, t.p, t.len);
	cache.token[t.len] = '\0';
	if (auth_verify_api(cache.token, &claims, why) != 0)
		return -1;
	cache.len = t.len;
	cache.generation = auth_generation();
	cache.allowed = *allowed = api_allowed(&claims);
	cache.has_exp = claims.has_exp;
	cache.exp = claims.exp;
	cache.has_nbf = claims.has_nbf;
	cache.nbf = claims.nbf;
	return 0;
}

/* The token of "Authorization: Bearer TOKEN"; p is NULL without one. */
static struct http_span
api_bearer(struct http_span h)
{
	struct http_span t = { NULL, 0 };

	if (h.p == NULL || h.len < 7 || strncasecmp(h.p, "Bearer ", 7) != 0)
		return t;
	t.p = h.p + 7;
	t.len = h.len - 7;
	while (t.len > 0 && *t.p == ' ') {
		t.p++;
		t.len--;
	}
	while (t.len > 0 && t.p[t.len - 1] == ' ')
		t.len--;
	if (t.len == 0)
		t.p = NULL;
	return t;
}

/* Is /api served on c's listener? Never without a secret_file. */
static bool
api_here(const struct conn *c)
{
	return livd.cfg.secret_file != NULL &&
	    (livd.cfg.api_listen != NULL) == (c->handler == &api_handler);
}

/* Does the body hold anything but blank lines? */
static bool
api_blank(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (body[i] != '\n' && body[i] != '\r' && body[i] != ' ' &&
		    body[i] != '\t')
			return false;
	return true;
}

/* A body over max_api_body is refused before it is read. */
bool
api_admit(struct conn *c, struct request *r)
{
	if (!api_here(c)) {
		http_error(c, 404, "not found");
		return false;
	}
	if (r->head.content_length <= (int64_t)livd.cfg.max_api_body)
		return true;
	http_error(c, 413, "request body over %zu bytes",
	    (size_t)livd.cfg.max_api_body);
	return false;
}

/* POST /api: run the body's lines and answer one line for each. */
void
api_serve(struct conn *c, struct request *r)
{
	struct http_span type = r->head.content_type;
	struct api_call *call;
	const char *why;
	uint64_t allowed;
	struct http_span token;
	bool one;

	if (!api_here(c)) {
		http_error(c, 404, "not found");
		return;
	}
	if ((token = api_bearer(r->head.authorization)).p == NULL) {
		api_unauthorized(c, "missing token");
		return;
	}
	if (api_token(token, &allowed, &why) != 0) {
		api_unauthorized(c, why);
		return;
	}
	if (api_blank(r->body, r->bodylen)) {
		http_error(c, 400, "empty body: send one request a line");
		return;
	}
	/* application/json is one request, which may span lines. */
	one = type.len >= 16 && strncasecmp(type.p, "application/json",
	    16) == 0;
	call = api_call_get();
	call->allowed = allowed;
	if (ctl_sink_run(call->ctl, r->body, r->bodylen, one)) {
		api_reply(c, call);
		api_call_put(call);
		return;
	}
	call->conn = c;
	*(struct api_call **)http_own(c, &api_owner) = call;
	http_hold(c, API_HOLD);
}

/* api_listen's requests: POST /api, or nothing. */
static void
api_dispatch(struct conn *c, struct request *r)
{
	if (!http_span_is(r->head.path, "/api")) {
		http_error(c, 404, "not found");
		return;
	}
	if (!http_span_is(r->head.method, "POST")) {
		http_reply(c, 405, "application/json", "Allow: POST\r\n",
		    "{\"error\":\"method not allowed\"}", 30);
		return;
	}
	api_serve(c, r);
}

/* The spare call: at exit, as the listener goes. */
void
api_free(void)
{
	if (spare != NULL)
		api_call_free(spare);
	spare = NULL;
}

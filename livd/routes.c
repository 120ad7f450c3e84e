/* The HTTP routes: one table from method and path to handler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "util.h"
#include "api.h"
#include "connect.h"
#include "hook.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "longpoll.h"
#include "metrics.h"
#include "msg.h"
#include "publish.h"
#include "rate.h"
#include "routes.h"
#include "sse.h"
#include "stream.h"
#include "verbs.h"
#include "ws.h"

enum route_match {
	MATCH_EXACT,		/* the path itself */
	MATCH_PREFIX,		/* the path and anything under it */
	MATCH_CLIENT		/* /client/UUID/<path> */
};

struct route {
	const char		*method;
	const char		*path;
	enum route_match	 match;
	void			(*handler)(struct conn *, struct request *);
};

static void	route_connect(struct conn *, struct request *);
static void	route_demo(struct conn *, struct request *);
static void	route_example(struct conn *, struct request *);
static void	route_livepage(struct conn *, struct request *);
static void	route_verbs(struct conn *, struct request *);
static void	route_input(struct conn *, struct request *);
static void	route_ws(struct conn *, struct request *);
static void	route_close(struct conn *, struct request *);
static void	route_who(struct conn *, struct request *);
static void	route_metrics(struct conn *, struct request *);
static void	route_preflight(struct conn *, struct request *);
static void	head_poll(struct conn *, struct request *);
static void	head_stream(struct conn *, struct request *);
static void	head_ws(struct conn *, struct request *);
static void	routes_dispatch(struct conn *, struct request *);
static bool	routes_admit(struct conn *, struct request *);
static void	routes_free(void);
static bool	routes_cors(struct http_span);

const struct http_handler routes_handler = {
	.dispatch = routes_dispatch,
	.admit = routes_admit,
	.shutdown = routes_free,
	.cors = routes_cors,
};

/* The busiest first: a page polls far more often than it does the rest. */
static const struct route routes[] = {
	{ "GET",  "output",		MATCH_CLIENT,	longpoll_output },
	{ "GET",  "events",		MATCH_CLIENT,	sse_events },
	{ "GET",  "ws",			MATCH_CLIENT,	route_ws },
	{ "POST", "input",		MATCH_CLIENT,	route_input },
	{ "POST", "close",		MATCH_CLIENT,	route_close },
	{ "GET",  "who",		MATCH_CLIENT,	route_who },
	{ "POST", "/connect",		MATCH_EXACT,	route_connect },
	{ "GET",  "/stream",		MATCH_EXACT,	stream_open },
	{ "GET",  "/demo/",		MATCH_PREFIX,	route_demo },
	{ "GET",  "/examples/",		MATCH_PREFIX,	route_example },
	{ "GET",  "/livepage.js",	MATCH_EXACT,	route_livepage },
	{ "GET",  "/verbs.json",	MATCH_EXACT,	route_verbs },
	{ "GET",  "/metrics",		MATCH_EXACT,	route_metrics },
	{ "POST", "/api",		MATCH_EXACT,	api_serve },
};

/* Routes that livd.yaml can turn off: off, they are not there. */
static const struct {
	void		(*handler)(struct conn *, struct request *);
	const bool	*on;
} switches[] = {
	{ route_demo,		&livd.cfg.demo },
	{ route_example,	&livd.cfg.demo },
	{ route_metrics,	&livd.cfg.metrics },
};

static bool
route_on(const struct route *rt)
{
	for (size_t i = 0; i < countof(switches); i++)
		if (switches[i].handler == rt->handler)
			return *switches[i].on;
	return true;
}

/*
 * GETs that hold or stream, and what answers their HEAD instead; the
 * other routes' HEAD is their GET without the body.
 */
static const struct {
	void		(*handler)(struct conn *, struct request *);
	void		(*head)(struct conn *, struct request *);
} heads[] = {
	{ longpoll_output,	head_poll },
	{ sse_events,		head_stream },
	{ route_ws,		head_ws },
	{ stream_open,		head_stream },
};

/* Answer a HEAD of the route. */
static void
route_head(const struct route *rt, struct conn *c, struct request *r)
{
	for (size_t i = 0; i < countof(heads); i++)
		if (heads[i].handler == rt->handler) {
			heads[i].head(c, r);
			return;
		}
	rt->handler(c, r);
}

/* GETs that connect a page: only allowed origins, as for a POST. */
static void (*const connecting[])(struct conn *, struct request *) = {
	stream_open,
};

/* Does the route act for a page, so that only allowed origins may use it? */
static bool
route_guarded(const struct route *rt)
{
	if (strcmp(rt->method, "POST") == 0)
		return true;
	for (size_t i = 0; i < countof(connecting); i++)
		if (connecting[i] == rt->handler)
			return true;
	return false;
}

/* Where a browser asks first for a page of another origin (CORS). */
static const struct route preflights[] = {
	{ "OPTIONS", "/client/",	MATCH_PREFIX,	route_preflight },
	{ "OPTIONS", "/connect",	MATCH_EXACT,	route_preflight },
	{ "OPTIONS", "/stream",		MATCH_EXACT,	route_preflight },
	{ "OPTIONS", "/api",		MATCH_EXACT,	route_preflight },
};

/*
 * Does path match the route? For client routes, uuid receives the
 * segment between /client/ and the action.
 */
static bool
route_matches(const struct route *rt, struct http_span path, char *uuid,
    size_t uuidlen)
{
	const char *seg, *slash, *end = path.p + path.len;
	size_t n = strlen(rt->path);

	switch (rt->match) {
	case MATCH_EXACT:
		return http_span_is(path, rt->path);
	case MATCH_PREFIX:
		return path.len >= n && memcmp(path.p, rt->path, n) == 0;
	case MATCH_CLIENT:
		if (path.len < 8 || memcmp(path.p, "/client/", 8) != 0)
			return false;
		seg = path.p + 8;
		if ((slash = memchr(seg, '/', (size_t)(end - seg))) == NULL ||
		    (size_t)(end - slash - 1) != n ||
		    memcmp(slash + 1, rt->path, n) != 0)
			return false;
		if ((size_t)(slash - seg) >= uuidlen)
			seg = slash;	/* too long to be a uuid: none */
		memcpy(uuid, seg, (size_t)(slash - seg));
		uuid[slash - seg] = '\0';
		return true;
	}
	return false;
}

/* Is the origin in allowed_origins ("*": any)? */
static bool
routes_cors(struct http_span origin)
{
	const char *list = livd.cfg.allowed_origins;

	if (list == NULL || origin.p == NULL)
		return false;
	while (*list != '\0') {
		size_t len = strcspn(list, " ");

		if ((len == origin.len && strncmp(list, origin.p, len) == 0) ||
		    (len == 1 && *list == '*'))
			return true;
		list += len;
		list += strspn(list, " ");
	}
	return false;
}

/*
 * With allowed_origins set, a browser's POST (or GET /stream, which
 * connects) must come from one of them.
 * Requests without Origin (curl, server-side code) are not browsers'
 * cross-site requests and pass.
 */
static bool
origin_allowed(const struct request *r)
{
	return livd.cfg.allowed_origins == NULL || r->head.origin.p == NULL ||
	    routes_cors(r->head.origin);
}

/* The client's address as text, for a log line: a static buffer. */
static const char *
client_addr(const struct request *r)
{
	static char addr[HTTP_ADDR_MAX];

	http_addr_format(&r->addr, addr, sizeof addr);
	return addr;
}

/*
 * A body over max_body is refused before it is read, but an unknown
 * client is reported before the size, as the route would.
 */
static bool
routes_admit(struct conn *c, struct request *r)
{
	char uuid[64];

	if (http_span_is(r->head.path, "/api"))
		return api_admit(c, r);	/* its own limit, max_api_body */
	if (r->head.content_length <= (int64_t)livd.cfg.max_body)
		return true;
	for (size_t i = 0; i < countof(routes); i++)
		if (routes[i].match == MATCH_CLIENT &&
		    route_matches(&routes[i], r->head.path, uuid, sizeof uuid)) {
			if (hub_find(uuid) == NULL) {
				http_error(c, 404, "unknown client");
				return false;
			}
			break;
		}
	http_error(c, 413, "request body over %zu bytes",
	    (size_t)livd.cfg.max_body);
	return false;
}

static void
routes_dispatch(struct conn *c, struct request *r)
{
	struct http_span method = r->head.method;
	char uuid[64], allow[64] = "";
	bool head = http_span_is(method, "HEAD");

	if (log_level >= LOG_LEVEL_DEBUG)
		log_debug("%.*s %.*s from %s", (int)method.len, method.p,
		    (int)r->head.path.len, r->head.path.p, client_addr(r));
	if (http_span_is(method, "OPTIONS"))
		for (size_t i = 0; i < countof(preflights); i++)
			if (route_matches(&preflights[i], r->head.path, uuid,
			    sizeof uuid)) {
				preflights[i].handler(c, r);
				return;
			}
	for (size_t i = 0; i < countof(routes); i++) {
		const struct route *rt = &routes[i];

		if (!route_matches(rt, r->head.path, uuid, sizeof uuid) ||
		    !route_on(rt))
			continue;
		if (!http_span_is(method, rt->method) &&
		    !(head && strcmp(rt->method, "GET") == 0)) {
			snprintf(allow + strlen(allow), sizeof allow -
			    strlen(allow), "%s%s", *allow ? ", " : "",
			    rt->method);
			continue;
		}
		if (rt->match == MATCH_CLIENT &&
		    (r->client = hub_find(uuid)) == NULL) {
			http_error(c, 404, "unknown client");
			return;
		}
		c->head_only = head;
		if (route_guarded(rt) && !origin_allowed(r)) {
			metrics_rejected(REJECT_ORIGIN);
			http_error(c, 403, "origin not allowed");
			return;
		}
		if (head)
			route_head(rt, c, r);
		else
			rt->handler(c, r);
		return;
	}
	if (*allow != '\0') {
		char extra[96];

		snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
		http_reply(c, 405, "application/json", extra,
		    "{\"error\":\"method not allowed\"}", 30);
		return;
	}
	http_error(c, 404, "not found");
}

/*
 * HEAD of a poll or a stream: the head its GET would start with, at
 * once. It is not a poll: it holds nothing, acknowledges nothing, takes
 * no events and connects no page.
 */
static void
head_poll(struct conn *c, struct request *r)
{
	(void)r;
	http_reply(c, 200, "application/json", NULL, NULL, HTTP_NO_LENGTH);
}

static void
head_stream(struct conn *c, struct request *r)
{
	(void)r;
	http_reply(c, 200, "text/event-stream", NULL, NULL, HTTP_NO_LENGTH);
}

/* A handshake is a GET (RFC 6455, 4.1): a HEAD is told to upgrade. */
static void
head_ws(struct conn *c, struct request *r)
{
	(void)r;
	ws_upgrade_required(c);
}

/*
 * Form bodies must be url-encoded (or the text/plain of sendBeacon). The
 * form is decoded in a copy: decoding writes terminators, and the byte
 * after the body may be the next pipelined request. The fields stay valid
 * until the next call.
 */
static struct buf form_copy;

static int
parse_form(struct conn *c, struct request *r, struct form *f)
{
	struct buf *copy = &form_copy;
	struct http_span type = r->head.content_type;
	const char *err;

	if (type.p != NULL && !(type.len >= 33 && strncasecmp(type.p,
	    "application/x-www-form-urlencoded", 33) == 0) &&
	    !(type.len >= 10 && strncasecmp(type.p, "text/plain", 10) == 0)) {
		http_error(c, 415, "send the form as "
		    "application/x-www-form-urlencoded");
		return -1;
	}
	copy->len = 0;
	buf_add(copy, r->body, r->bodylen);
	if (form_parse(copy->data, copy->len, f, &err) != 0) {
		metrics_rejected(REJECT_FORM);
		http_error(c, 400, "%s", err);
		return -1;
	}
	return 0;
}

/*
 * livepage.js's validator, made once per file loaded: the blob is held,
 * so its address cannot come to name another file.
 */
static struct {
	struct blob	*blob;
	char		 etag[36];
} livepage_tag;

static void
routes_free(void)
{
	buf_free(&form_copy);
	api_free();
	ws_free();
	rate_free();
	blob_unref(livepage_tag.blob);
	livepage_tag.blob = NULL;
}

/* The page's client is made: answer with who and where it is. */
static void
connect_answer(struct conn *c, struct client *client,
    const struct connect_then *then)
{
	struct buf b;

	(void)then;
	buf_init(&b);
	buf_printf(&b, "{\"uuid\":\"%s\",\"location\":", client->uuid);
	buf_json_string(&b, client->location->name,
	    strlen(client->location->name));
	buf_adds(&b, ",\"locations\":[");
	for (size_t i = 0; i <= client->nmore; i++) {
		const char *name = HUB_CLIENT_AT(client, i)->name;

		if (i)
			buf_addc(&b, ',');
		buf_json_string(&b, name, strlen(name));
	}
	buf_adds(&b, "],\"principal\":");
	buf_json_string(&b, client->principal->name,
	    strlen(client->principal->name));
	buf_printf(&b, ",\"refresh\":%g,\"seq\":%llu}",
	    hub_refresh(client->location), (unsigned long long)client->start);
	http_reply(c, 200, "application/json", NULL, b.data, b.len);
	buf_free(&b);
}

static void
route_connect(struct conn *c, struct request *r)
{
	struct form f;
	struct connect_ask ask;
	struct connect_then then = { .done = connect_answer };

	if (parse_form(c, r, &f) != 0 ||
	    connect_check(c, &f, NULL, &ask) != 0)
		return;
	connect_page(c, r, &ask, &then);
}

/*
 * An input event from a page, by form (POST /input) or by frame (ws.c):
 * 200 when it went out, else the status, with why in err. A verb with
 * forward: true goes to the input hook instead: 0, and done is called
 * with the application's answer (its call in *call, for the page to
 * hold until then).
 */
static int
routes_input(struct client *client, const struct form *f,
    hook_input_cb *done, void *arg, struct hook_call **call, char *err,
    size_t errlen)
{
	struct msg_input in;
	struct publish_result res;
	static const int codes[] = {
		[PUBLISH_OK] = 200, [PUBLISH_UNKNOWN_VERB] = 400,
		[PUBLISH_INVALID] = 400, [PUBLISH_FORBIDDEN] = 403,
		[PUBLISH_TOO_LARGE] = 413, [PUBLISH_NO_MEMORY] = 503
	};
	static const enum reject_reason reasons[] = {
		[PUBLISH_UNKNOWN_VERB] = REJECT_UNKNOWN_VERB,
		[PUBLISH_INVALID] = REJECT_ARGUMENTS,
		[PUBLISH_FORBIDDEN] = REJECT_FORBIDDEN,
		[PUBLISH_TOO_LARGE] = REJECT_TOO_LARGE,
		[PUBLISH_NO_MEMORY] = REJECT_MEMORY
	};
	enum publish_status st;
	enum rate_verdict rv;
	const char *verb, *at[2];
	size_t nat;

	if (!hub_take_input(client)) {
		metrics_rejected(REJECT_RATE);
		snprintf(err, errlen, "too many events: at most %g a second",
		    livd.cfg.input_rate);
		return 429;
	}
	if ((rv = rate_take(NULL, client->principal->name)) != RATE_OK) {
		metrics_rejected(REJECT_CONNECT_RATE);
		rate_message(rv, err, errlen);
		return 429;
	}
	memset(&res, 0, sizeof res);
	if ((verb = form_get(f, "verb")) == NULL) {
		snprintf(err, errlen, "missing field 'verb'");
		return 400;
	}
	msg_input_init(&in, verb);
	/* location says where, for scope location: not an argument. */
	if ((nat = form_get_all(f, "location", at, countof(at))) > 1) {
		metrics_rejected(REJECT_FORM);
		snprintf(err, errlen, "duplicate field");
		return 400;
	}
	if (nat == 1 && hub_client_location(client, at[0]) == NULL) {
		metrics_rejected(REJECT_FORBIDDEN);
		snprintf(err, errlen, "not one of the client's locations");
		return 403;
	}
	in.location = nat ? at[0] : NULL;
	for (size_t i = 0; i < f->count; i++)
		if (strcmp(f->names[i], "verb") != 0 &&
		    strcmp(f->names[i], "location") != 0)
			msg_input_add(&in, f->names[i], f->values[i]);
	st = publish(&in, NULL, client, &res, err, errlen);
	if (st == PUBLISH_FORWARD) {
		if ((*call = hook_input(client, &in, done, arg)) != NULL)
			return 0;
		snprintf(err, errlen, "application unreachable");
		return 502;
	}
	if (st != PUBLISH_OK) {
		metrics_rejected(reasons[st]);
		return codes[st];
	}
	return 200;
}

/* The input hook answered (or could not): the held page hears. */
static void
input_hooked(void *arg, int status, const char *error)
{
	struct conn *c = arg;

	if (status == 200)
		http_reply(c, 200, NULL, NULL, NULL, 0);
	else
		http_error(c, status, "%s", error);
}

static void
route_input(struct conn *c, struct request *r)
{
	struct form f;
	struct hook_call *call;
	char err[256];
	int status;

	enum rate_verdict rv;

	if (parse_form(c, r, &f) != 0)
		return;
	/* The principal's share is taken in routes_input, for both ways. */
	if ((rv = rate_take(&r->addr, NULL)) != RATE_OK) {
		metrics_rejected(REJECT_CONNECT_RATE);
		http_error(c, 429, "%s", rate_message(rv, err, sizeof err));
		return;
	}
	status = routes_input(r->client, &f, input_hooked, c, &call, err,
	    sizeof err);
	if (status == 0)
		hook_hold(c, call);
	else if (status != 200)
		http_error(c, status, "%s", err);
	else
		http_reply(c, 200, NULL, NULL, NULL, 0);
}

/* A WebSocket from another origin is a cross-site POST: checked alike. */
static void
route_ws(struct conn *c, struct request *r)
{
	if (!origin_allowed(r)) {
		metrics_rejected(REJECT_ORIGIN);
		http_error(c, 403, "origin not allowed");
		return;
	}
	ws_upgrade(c, r, routes_input);
}

static void
route_close(struct conn *c, struct request *r)
{
	hub_close(r->client);
	http_reply(c, 200, NULL, NULL, NULL, 0);
}

/* The principals online at the client's location: a page's first list. */
static void
route_who(struct conn *c, struct request *r)
{
	struct location *loc = r->client->location;
	const char **names;
	size_t n;
	struct buf b;

	names = hub_principals(loc, &n);
	buf_init(&b);
	buf_adds(&b, "{\"location\":");
	buf_json_string(&b, loc->name, strlen(loc->name));
	buf_adds(&b, ",\"principals\":");
	buf_json_strings(&b, names, n);
	buf_addc(&b, '}');
	http_reply(c, 200, "application/json", NULL, b.data, b.len);
	buf_free(&b);
	free(names);
}

/*
 * A CORS preflight: the origin was checked with the request's head
 * (routes_cors), and is kept on the connection when allowed.
 */
static void
route_preflight(struct conn *c, struct request *r)
{
	(void)r;
	if (c->origin == NULL) {
		metrics_rejected(REJECT_ORIGIN);
		http_error(c, 403, "origin not allowed");
		return;
	}
	http_reply(c, 204, NULL, "Access-Control-Allow-Methods: GET, POST, "
	    "OPTIONS\r\nAccess-Control-Allow-Headers: Authorization, "
	    "Content-Type, Last-Event-ID\r\nAccess-Control-Max-Age: 7200\r\n",
	    NULL, 0);
}

static void
route_metrics(struct conn *c, struct request *r)
{
	char *text = metrics_text();

	(void)r;
	http_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
	    text, strlen(text));
	free(text);
}

static void
serve_blob(struct conn *c, struct blob *b, const char *type, const char *what)
{
	if (b == NULL) {
		http_error(c, 404, "%s is not installed", what);
		return;
	}
	http_reply_blob(c, 200, type, b);
}

static void
route_demo(struct conn *c, struct request *r)
{
	(void)r;
	serve_blob(c, livd.demo_html, "text/html; charset=utf-8", "the demo");
}

/* An example page (share/livd/examples): Turbo's and htmx's. */
static void
route_example(struct conn *c, struct request *r)
{
	struct http_span name = r->head.path;

	name.p += 10;		/* "/examples/" */
	name.len -= 10;
	for (size_t i = 0; i < LIVD_EXAMPLES; i++)
		if (http_span_is(name, livd_examples[i])) {
			serve_blob(c, livd.examples[i],
			    "text/html; charset=utf-8", "the example");
			return;
		}
	http_error(c, 404, "not found");
}

/*
 * A strong validator of the bytes, the same on every node and across
 * restarts: the start of their SHA-256, quoted.
 */
static void
etag_of(const void *data, size_t len, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[33];

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 16 && i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, size, "\"%s\"", hex);
}

/* livepage.js may be kept by browsers and revalidated: pages do not
 * fetch it whole at each view. */
static void
route_livepage(struct conn *c, struct request *r)
{
	struct blob *b = livd.livepage_js;

	if (b == NULL) {
		http_error(c, 404, "livepage.js is not installed");
		return;
	}
	if (livepage_tag.blob != b) {
		blob_unref(livepage_tag.blob);
		livepage_tag.blob = blob_ref(b);
		etag_of(b->data, b->len, livepage_tag.etag,
		    sizeof livepage_tag.etag);
	}
	http_reply_tagged(c, r, "text/javascript; charset=utf-8",
	    livepage_tag.etag, b->data, b->len, b);
}

/* The verb table, revalidated as livepage.js is (a few KB: hashed per
 * request, as a reload may change it). */
static void
route_verbs(struct conn *c, struct request *r)
{
	char etag[36];

	etag_of(livd.verbs->json, livd.verbs->jsonlen, etag, sizeof etag);
	http_reply_tagged(c, r, "application/json", etag, livd.verbs->json,
	    livd.verbs->jsonlen, NULL);
}

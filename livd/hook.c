/*
 * Hooks: the application hears its pages. Each hook request is a signed
 * JSON POST made by hookclient.c; this file builds the bodies, reads the
 * answers, and keeps each hook's health.
 *
 * connect and input are calls: a transport asks, holds its page, and is
 * called back once. A transport whose page goes first says so with
 * hook_forget(): the call goes on (the application still hears it, and
 * an input answer's lines still run), but calls nobody back. A reload
 * never touches a call in flight: curl has its own copy of the URL, so
 * the call ends against the target it started with.
 *
 * presence is a queue: each page's arrival and departure at each of its
 * locations (hub.c's watch) is queued and posted in order, in batches,
 * one post in flight at a time. A post that fails stays at the head and
 * is tried again with backoff; a full queue drops what comes new (the
 * oldest may be on the wire), counted. Nothing here ever makes a page
 * wait for presence.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include "util.h"
#include "auth.h"
#include "control.h"
#include "ctlspec.h"
#include "hook.h"
#include "hookclient.h"
#include "http.h"
#include "httpparse.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"

#define HOOK_BATCH_MAX		1000	/* presence events in one post */
#define HOOK_BACKOFF_FIRST	0.25
#define HOOK_BACKOFF_MAX	10	/* SPEC: at most 10 s between tries */

/* A connect or input call in flight, then an input answer's lines. */
struct hook_call {
	enum hook_kind		 kind;
	struct hookclient_req	*req;		/* NULL once answered */
	struct ctl_conn		*ctl;		/* the answer's lines, running */
	hook_connect_cb		*connect_cb;	/* NULL: forgotten */
	hook_input_cb		*input_cb;
	void			*arg;
	char			**asked;	/* connect: the page's locations */
	size_t			 nasked;
	TAILQ_ENTRY(hook_call)	 link;
};

/* A page came to or left a location: one presence event. */
struct presence_event {
	bool			 join;
	char			 uuid[33];
	char			*principal;
	char			*location;
	TAILQ_ENTRY(presence_event) link;
};

/* A failing hook logs once, then counts until it answers again. */
struct health {
	bool		 failing;
	uint64_t	 suppressed;
};

static const char *const hook_names[] = {
	[HOOK_CONNECT] = "connect", [HOOK_INPUT] = "input",
	[HOOK_PRESENCE] = "presence"
};

static struct {
	TAILQ_HEAD(, hook_call)	 calls;
	struct health		 health[HOOK_KINDS];
	/* presence */
	TAILQ_HEAD(, presence_event) queue;
	size_t			 queued;
	size_t			 posting;	/* at the head, on the wire */
	bool			 dropping;	/* the queue is full: logged */
	struct hookclient_req	*req;
	struct event		*timer;
	double			 backoff;
} hk;

static void	presence_arrived(const struct client *,
		    const struct location *);
static void	presence_left(const struct client *, const struct location *);
static void	input_line(void *, const char *, size_t);
static bool	input_admit(void *, struct ctl_conn *, const struct ctlspec *);
static void	input_done(void *);

static const struct hub_watch presence_watch = {
	.arrived = presence_arrived,
	.left = presence_left,
};

static const struct ctl_sink input_sink = {
	.answer = input_line,
	.admit = input_admit,
	.done = input_done,
};

static const char *
hook_url(enum hook_kind kind)
{
	const char *urls[] = {
		[HOOK_CONNECT] = livd.cfg.hooks_connect,
		[HOOK_INPUT] = livd.cfg.hooks_input,
		[HOOK_PRESENCE] = livd.cfg.hooks_presence,
	};

	return urls[kind];
}

/* One log line per failure burst: the first failure, then the recovery. */
static void
health(enum hook_kind kind, const char *why)
{
	struct health *h = &hk.health[kind];

	if (why == NULL) {
		if (h->failing)
			log_info("hook %s: answering again; %llu more failures "
			    "were not logged", hook_names[kind],
			    (unsigned long long)h->suppressed);
		h->failing = false;
		h->suppressed = 0;
		return;
	}
	if (h->failing) {
		h->suppressed++;
		return;
	}
	h->failing = true;
	log_warnx("hook %s: failing (%s); further failures are counted, not "
	    "logged, until it answers", hook_names[kind], why);
}

/* Count a request's end (metrics) and note the hook's health. */
static void
record(enum hook_kind kind, const struct hookclient_result *res,
    const char *why)
{
	static const char *const labels[] = {
		[HOOKCLIENT_TIMEOUT] = "timeout",
		[HOOKCLIENT_UNREACHABLE] = "error",
		[HOOKCLIENT_TOO_LARGE] = "too_large",
	};
	char status[16];

	if (res->outcome == HOOKCLIENT_ANSWERED)
		snprintf(status, sizeof status, "%ld", res->status);
	else
		snprintf(status, sizeof status, "%s", labels[res->outcome]);
	metrics_hook(kind, status, why != NULL, res->seconds);
	health(kind, why);
}

/* Why an answer is not one: curl's reason, or the status. */
static const char *
failure(const struct hookclient_result *res, char *buf, size_t size)
{
	if (res->outcome != HOOKCLIENT_ANSWERED)
		return res->error;
	snprintf(buf, size, "HTTP status %ld", res->status);
	return buf;
}

/* A request that could not start counts as unreachable. */
static void
record_unstarted(enum hook_kind kind)
{
	struct hookclient_result res;

	memset(&res, 0, sizeof res);
	res.outcome = HOOKCLIENT_UNREACHABLE;
	res.error = hook_url(kind) == NULL ? "no URL is configured" :
	    "the request could not be made";
	record(kind, &res, res.error);
}

/* Sign the body with the secret and POST it to the hook's URL. */
static struct hookclient_req *
post(enum hook_kind kind, const struct buf *body, hookclient_cb *cb,
    void *arg)
{
	const char *url = hook_url(kind);
	char sig[65];

	if (url == NULL || auth_sign(body->data, body->len, sig) != 0)
		return NULL;
	return hookclient_post(url, body->data, body->len, sig,
	    livd.cfg.hooks_timeout, livd.cfg.max_api_body, cb, arg);
}

static struct hook_call *
call_new(enum hook_kind kind, void *arg)
{
	struct hook_call *call = xcalloc(1, sizeof *call);

	call->kind = kind;
	call->arg = arg;
	TAILQ_INSERT_TAIL(&hk.calls, call, link);
	return call;
}

static void
call_free(struct hook_call *call)
{
	TAILQ_REMOVE(&hk.calls, call, link);
	if (call->req != NULL)
		hookclient_cancel(call->req);
	if (call->ctl != NULL)
		ctl_sink_free(call->ctl);
	for (size_t i = 0; i < call->nasked; i++)
		free(call->asked[i]);
	free(call->asked);
	free(call);
}

/*
 * A call of kind posting body, answered to done; NULL (recorded) when
 * the request cannot even start.
 */
static struct hook_call *
call_start(enum hook_kind kind, const struct buf *body, hookclient_cb *done,
    void *arg)
{
	struct hook_call *call = call_new(kind, arg);

	if ((call->req = post(kind, body, done, call)) == NULL) {
		record_unstarted(kind);
		call_free(call);
		return NULL;
	}
	return call;
}

/* The caller's page went: the call goes on, calling nobody back. */
void
hook_forget(struct hook_call *call)
{
	call->connect_cb = NULL;
	call->input_cb = NULL;
}

static void
hold_deadline(struct conn *c, void *data)
{
	(void)data;
	http_hold(c, livd.cfg.hooks_timeout + 1);	/* curl's comes first */
}

static void
hold_closed(struct conn *c, void *data)
{
	(void)c;
	hook_forget(*(struct hook_call **)data);
}

static const struct http_owner hold_owner = {
	.deadline = hold_deadline,
	.closed = hold_closed,
};

/*
 * Hold page c until call comes back, which answers it. The connection's
 * owner data starts with the call; the caller keeps what it needs after
 * it. If the page goes first, the call calls nobody back.
 */
void *
hook_hold(struct conn *c, struct hook_call *call)
{
	struct hook_call **data = http_own(c, &hold_owner);

	*data = call;
	http_hold(c, livd.cfg.hooks_timeout + 1);
	return data;
}

/* Add "name":VALUE to a JSON object being written (after the first). */
static void
add_field(struct buf *b, const char *name, const char *value)
{
	if (b->len > 1)
		buf_addc(b, ',');
	buf_json_string(b, name, strlen(name));
	buf_addc(b, ':');
	buf_json_string(b, value, strlen(value));
}

/* The forward_headers the page sent, by lower-case name. */
static void
add_headers(struct buf *b, const struct http_head *head)
{
	const char *list = livd.cfg.hooks_forward_headers;
	char name[72];
	bool first = true;

	buf_adds(b, "\"headers\":{");
	for (list += strspn(list ? list : "", " "); list != NULL &&
	    *list != '\0'; list += strspn(list, " ")) {
		size_t len = strcspn(list, " ");
		struct http_span v;

		/* The config checked each name: a token of at most 64. */
		snprintf(name, sizeof name, "%.*s", (int)len, list);
		list += len;
		for (char *p = name; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		v = http_head_find(head, name);
		if (v.p == NULL || !utf8_valid(v.p, v.len))
			continue;
		if (!first)
			buf_addc(b, ',');
		first = false;
		buf_json_string(b, name, strlen(name));
		buf_addc(b, ':');
		buf_json_string(b, v.p, v.len);
	}
	buf_addc(b, '}');
}

/*
 * The connect hook's answer: 200 with a principal (and maybe locations)
 * connects; NULL, or why the answer is not one the page can have.
 */
static const char *
connect_parse(const struct hookclient_result *res, json_t **root,
    const char **locations, size_t *n, const char **principal)
{
	json_t *locs, *v;
	size_t i, max = livd.cfg.max_locations;

	if ((*root = json_loadb(res->body, res->len, 0, NULL)) == NULL ||
	    !json_is_object(*root))
		return "the answer is not a JSON object";
	if ((*principal = json_string_value(json_object_get(*root,
	    "principal"))) == NULL)
		return "the answer has no principal";
	if (hub_names_check(NULL, *principal) != NULL)
		return "the answer's principal is invalid";
	if ((locs = json_object_get(*root, "locations")) == NULL)
		return NULL;		/* those asked for */
	if (!json_is_array(locs) || json_array_size(locs) == 0)
		return "the answer's locations are not a list of locations";
	if (json_array_size(locs) > max || max > HUB_LOCATIONS_MAX)
		return "the answer has more locations than max_locations";
	*n = 0;
	json_array_foreach(locs, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || hub_names_check(s, NULL) != NULL)
			return "the answer holds an invalid location";
		locations[(*n)++] = s;
	}
	return NULL;
}

static void
connect_answered(void *arg, const struct hookclient_result *res)
{
	struct hook_call *call = arg;
	struct hook_connect_answer a;
	const char *locations[HUB_LOCATIONS_MAX], *why = NULL;
	json_t *root = NULL;
	char buf[64];

	call->req = NULL;
	memset(&a, 0, sizeof a);
	a.locations = (const char *const *)call->asked;
	a.n = call->nasked;
	if (res->outcome == HOOKCLIENT_ANSWERED &&
	    (res->status == 401 || res->status == 403)) {
		a.status = (int)res->status;
		a.error = "refused by the application";
	} else if (res->outcome == HOOKCLIENT_ANSWERED && res->status == 200) {
		if ((why = connect_parse(res, &root, locations, &a.n,
		    &a.principal)) == NULL) {
			a.status = 200;
			if (json_object_get(root, "locations") != NULL)
				a.locations = locations;
		}
	} else
		why = failure(res, buf, sizeof buf);
	if (why != NULL) {
		a.status = 503;
		a.error = "application unreachable";
	}
	record(HOOK_CONNECT, res, why);
	if (call->connect_cb != NULL)
		call->connect_cb(call->arg, &a);
	json_decref(root);
	call_free(call);
}

/*
 * Ask the application who a page is: POST {"locations", "headers",
 * "remote_addr"} to hooks.connect. cb comes once, on a later loop turn;
 * NULL (and no cb) when the request cannot even start: the page is
 * answered 503 application unreachable.
 */
struct hook_call *
hook_connect(const char *const *locations, size_t n,
    const struct http_head *head, const struct http_addr *addr,
    hook_connect_cb *cb, void *arg)
{
	struct hook_call *call;
	char text[HTTP_ADDR_MAX];
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "{\"locations\":");
	buf_json_strings(&b, locations, n);
	buf_addc(&b, ',');
	add_headers(&b, head);
	http_addr_format(addr, text, sizeof text);
	buf_adds(&b, ",\"remote_addr\":");
	buf_json_string(&b, text, strlen(text));
	buf_addc(&b, '}');
	call = call_start(HOOK_CONNECT, &b, connect_answered, arg);
	buf_free(&b);
	if (call == NULL)
		return NULL;
	call->connect_cb = cb;
	call->asked = xcalloc(n ? n : 1, sizeof *call->asked);
	for (size_t i = 0; i < n; i++)
		call->asked[i] = xstrdup(locations[i]);
	call->nasked = n;
	return call;
}

/* The input call is over: the page hears, and the call goes. */
static void
input_finish(struct hook_call *call, int status, const char *error)
{
	if (call->input_cb != NULL)
		call->input_cb(call->arg, status, error);
	call_free(call);
}

/* Each answer of the application's lines: a failed one is logged. */
static void
input_line(void *arg, const char *s, size_t len)
{
	(void)arg;
	if (len < 11 || memcmp(s, "{\"ok\":false", 11) != 0)
		return;
	metrics_hook_line_error();
	log_warnx("hook input: a line of the application's answer failed: "
	    "%.*s", (int)(len > 300 ? 300 : len), s);
}

/* Every command runs, but those needing the socket's machine. */
static bool
input_admit(void *arg, struct ctl_conn *ctl, const struct ctlspec *spec)
{
	(void)arg;
	if (spec->flags & (CTL_STREAMS | CTL_LIVCTL)) {
		ctl_error(ctl, "command '%s' is not available over HTTP",
		    spec->name);
		return false;
	}
	return true;
}

static void
input_done(void *arg)
{
	input_finish(arg, 200, NULL);
}

/* A 4xx's {"error": MSG}, or the default. */
static void
input_refused(struct hook_call *call, const struct hookclient_result *res)
{
	json_t *root = json_loadb(res->body, res->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(root, "error"));

	input_finish(call, (int)res->status, msg != NULL && *msg != '\0' ?
	    msg : "refused by the application");
	json_decref(root);
}

/* Is the body only blanks? */
static bool
blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(" \t\r\n", s[i]) == NULL)
			return false;
	return true;
}

static void
input_answered(void *arg, const struct hookclient_result *res)
{
	struct hook_call *call = arg;
	long st = res->status;
	char buf[64];
	bool one;

	call->req = NULL;
	if (res->outcome == HOOKCLIENT_ANSWERED && st >= 200 && st < 500 &&
	    !(st >= 300 && st < 400)) {
		record(HOOK_INPUT, res, NULL);
		if (st >= 400) {
			input_refused(call, res);
			return;
		}
		if (blank(res->body, res->len)) {
			input_finish(call, 200, NULL);
			return;
		}
		/* application/json is one request, as for POST /api. */
		one = res->type != NULL && strncasecmp(res->type,
		    "application/json", 16) == 0;
		call->ctl = ctl_sink_new(&input_sink, call);
		if (ctl_sink_run(call->ctl, res->body, res->len, one))
			input_finish(call, 200, NULL);
		return;
	}
	record(HOOK_INPUT, res, failure(res, buf, sizeof buf));
	if (res->outcome == HOOKCLIENT_TIMEOUT)
		input_finish(call, 504, "application timeout");
	else if (res->outcome == HOOKCLIENT_UNREACHABLE)
		input_finish(call, 502, "application unreachable");
	else
		input_finish(call, 502, "application error");
}

/*
 * Pass a browser's event on to the application: POST {"uuid",
 * "principal", "location", "verb", ARGS...} to hooks.input, the
 * arguments as the browser sent them. cb comes once, on a later loop
 * turn; NULL (and no cb) when the request cannot even start: the page
 * is answered 502 application unreachable.
 */
struct hook_call *
hook_input(const struct client *cl, const struct msg_input *in,
    hook_input_cb *cb, void *arg)
{
	struct hook_call *call;
	struct buf b;

	buf_init(&b);
	buf_addc(&b, '{');
	add_field(&b, "uuid", cl->uuid);
	add_field(&b, "principal", cl->principal->name);
	add_field(&b, "location", in->location != NULL ? in->location :
	    cl->location->name);
	add_field(&b, "verb", in->verb);
	for (size_t i = 0; i < in->count && !in->positional; i++)
		add_field(&b, in->names[i], in->values[i]);
	buf_addc(&b, '}');
	call = call_start(HOOK_INPUT, &b, input_answered, arg);
	buf_free(&b);
	if (call != NULL)
		call->input_cb = cb;
	return call;
}

static void	presence_schedule(double);

/* Drop the first n queued events (posted, or refused). */
static void
presence_pop(size_t n)
{
	struct presence_event *e;

	while (n-- > 0 && (e = TAILQ_FIRST(&hk.queue)) != NULL) {
		TAILQ_REMOVE(&hk.queue, e, link);
		hk.queued--;
		free(e->principal);
		free(e->location);
		free(e);
	}
	if (hk.dropping && hk.queued < livd.cfg.hooks_queue_limit / 2) {
		log_info("hook presence: the queue has room again");
		hk.dropping = false;
	}
}

static void
presence_answered(void *arg, const struct hookclient_result *res)
{
	char buf[64];

	(void)arg;
	hk.req = NULL;
	if (res->outcome == HOOKCLIENT_ANSWERED && res->status >= 200 &&
	    res->status < 300) {
		record(HOOK_PRESENCE, res, NULL);
		presence_pop(hk.posting);
		hk.backoff = 0;
	} else if (res->outcome == HOOKCLIENT_ANSWERED && res->status >= 400 &&
	    res->status < 500) {
		/* Refused: sending it again would be refused again. */
		record(HOOK_PRESENCE, res, failure(res, buf, sizeof buf));
		metrics_hook_dropped(hk.posting);
		presence_pop(hk.posting);
		hk.backoff = 0;
	} else {
		record(HOOK_PRESENCE, res, failure(res, buf, sizeof buf));
		hk.backoff = backoff_next(hk.backoff, HOOK_BACKOFF_FIRST,
		    HOOK_BACKOFF_MAX);
	}
	hk.posting = 0;
	presence_schedule(hk.backoff);
}

/* Post the head of the queue, up to a batch, unless one is out. */
static void
presence_post(evutil_socket_t fd, short what, void *arg)
{
	struct presence_event *e;
	struct buf b;
	size_t n = 0;

	(void)fd; (void)what; (void)arg;
	if (hk.req != NULL || hk.queued == 0)
		return;
	if (hook_url(HOOK_PRESENCE) == NULL) {
		/* A reload took the hook away: nobody to tell. */
		metrics_hook_dropped(hk.queued);
		presence_pop(hk.queued);
		return;
	}
	buf_init(&b);
	buf_adds(&b, "{\"events\":[");
	TAILQ_FOREACH(e, &hk.queue, link) {
		if (n == HOOK_BATCH_MAX)
			break;
		buf_adds(&b, n++ ? ",{" : "{");
		buf_printf(&b, "\"type\":\"%s\",\"principal\":",
		    e->join ? "join" : "leave");
		buf_json_string(&b, e->principal, strlen(e->principal));
		buf_adds(&b, ",\"location\":");
		buf_json_string(&b, e->location, strlen(e->location));
		buf_printf(&b, ",\"uuid\":\"%s\"}", e->uuid);
	}
	buf_adds(&b, "]}");
	hk.posting = n;
	hk.req = post(HOOK_PRESENCE, &b, presence_answered, NULL);
	buf_free(&b);
	if (hk.req == NULL) {
		record_unstarted(HOOK_PRESENCE);
		hk.posting = 0;
		hk.backoff = backoff_next(hk.backoff, HOOK_BACKOFF_FIRST,
		    HOOK_BACKOFF_MAX);
		presence_schedule(hk.backoff);
	}
}

/* Post in seconds (0: next loop turn, so a burst goes as one batch). */
static void
presence_schedule(double seconds)
{
	struct timeval tv;

	if (hk.req != NULL || hk.queued == 0 || hk.timer == NULL)
		return;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(hk.timer, &tv);
}

static void
presence_add(bool join, const struct client *c, const struct location *loc)
{
	struct presence_event *e;

	if (hook_url(HOOK_PRESENCE) == NULL)
		return;
	if (hk.queued >= livd.cfg.hooks_queue_limit) {
		metrics_hook_dropped(1);
		if (!hk.dropping)
			log_warnx("hook presence: the queue is full (%zu "
			    "events): dropping new ones", hk.queued);
		hk.dropping = true;
		return;
	}
	e = xcalloc(1, sizeof *e);
	e->join = join;
	memcpy(e->uuid, c->uuid, sizeof e->uuid);
	e->principal = xstrdup(c->principal->name);
	e->location = xstrdup(loc->name);
	TAILQ_INSERT_TAIL(&hk.queue, e, link);
	hk.queued++;
	if (hk.req == NULL && !evtimer_pending(hk.timer, NULL))
		presence_schedule(0);
}

static void
presence_arrived(const struct client *c, const struct location *loc)
{
	presence_add(true, c, loc);
}

static void
presence_left(const struct client *c, const struct location *loc)
{
	presence_add(false, c, loc);
}

void
hook_init(void)
{
	TAILQ_INIT(&hk.calls);
	TAILQ_INIT(&hk.queue);
	hk.timer = evtimer_new(livd.base, presence_post, NULL);
	hub.watch = &presence_watch;
}

/* New settings: a presence retry waiting out its backoff goes now. */
void
hook_reload(void)
{
	if (hk.timer == NULL || hk.req != NULL || hk.backoff == 0)
		return;
	hk.backoff = 0;
	evtimer_del(hk.timer);
	presence_schedule(0);
}

/*
 * At exit, before the pages' connections go: the calls still out are
 * answered as failures and freed, the presence queue is let go.
 */
void
hook_shutdown(void)
{
	struct hook_call *call;

	hub.watch = NULL;
	while ((call = TAILQ_FIRST(&hk.calls)) != NULL) {
		if (call->connect_cb != NULL) {
			struct hook_connect_answer a = {
				.status = 503, .error = "livd is stopping"
			};

			call->connect_cb(call->arg, &a);
		}
		if (call->input_cb != NULL)
			call->input_cb(call->arg, 503, "livd is stopping");
		call_free(call);
	}
	if (hk.req != NULL)
		hookclient_cancel(hk.req);
	hk.req = NULL;
	presence_pop(hk.queued);
	if (hk.timer != NULL)
		event_free(hk.timer);
	hk.timer = NULL;
}

/* For livctl status: each configured hook's URL and state. */
json_t *
hook_status_json(void)
{
	json_t *o = NULL;

	for (size_t k = 0; k < HOOK_KINDS; k++) {
		json_t *h;

		if (hook_url(k) == NULL)
			continue;
		if (o == NULL)
			o = json_object();
		h = json_pack("{s:s,s:s}", "url", hook_url(k), "state",
		    hk.health[k].failing ? "failing" : "up");
		if (k == HOOK_PRESENCE)
			json_object_set_new(h, "queued",
			    json_integer((json_int_t)hk.queued));
		json_object_set_new(o, hook_names[k], h);
	}
	return o;
}

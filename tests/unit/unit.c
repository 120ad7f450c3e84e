/*
 * Unit tests for the pure parts: the verbs and config loaders, event
 * encoding and argument checks, SSE frames, the stdin line splitter and
 * livctl's line requests, HTTP head and form parsing, queues, the hub's
 * queue and acknowledgement logic, the control command specs, hook
 * signatures, the retry backoff and the flat JSON reader. Built with ASan and UBSan by make
 * check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../../livd/util.h"
#include "../../livd/budget.h"
#include "../../livd/auth.h"
#include "../../livd/config.h"
#include "../../livd/flatjson.h"
#include "../../livd/frame.h"
#include "../../livd/http.h"
#include "../../livd/httpparse.h"
#include "../../livd/hub.h"
#include "../../livd/livd.h"
#include "../../livd/msg.h"
#include "../../livd/queue.h"
#include "../../livd/verbs.h"
#include "../../livctl/livctl.h"
#include "flatcheck.h"

struct livd livd;
/* The HTTP layer is not linked into the unit tests; metrics reads this. */
struct http_stats http_stats;

static int checks, failures;

#define CHECK(cond) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "%s:%d: failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
	}								\
} while (0)

#define CHECK_STR(got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	checks++;							\
	if (g_ == NULL || strcmp(g_, w_) != 0) {			\
		failures++;						\
		fprintf(stderr, "%s:%d: got '%s', want '%s'\n",		\
		    __FILE__, __LINE__, g_ ? g_ : "(null)", w_);	\
	}								\
} while (0)

static const char shipped[] = "share/livd/verbs.yaml";

static struct verbs *
verbs_text(const char *text, char *err, size_t errlen)
{
	struct yamlerr yerr = { err, errlen };

	err[0] = '\0';
	return verbs_parse("v.yaml", text, strlen(text), &yerr);
}

static void
test_verbs(void)
{
	struct yamlerr yerr;
	char err[512];
	struct verbs *vs;
	const struct verb *v;

	yerr.text = err;
	yerr.size = sizeof err;
	vs = verbs_load(shipped, &yerr);
	CHECK(vs != NULL);
	if (vs == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	v = verbs_find(vs, "append");
	CHECK(v != NULL && v->nargs == 2 && v->dom == DOM_BEFOREEND &&
	    v->from_client && v->dedupe == DEDUPE_ID && !v->coalesce);
	v = verbs_find(vs, "update");
	CHECK(v != NULL && v->coalesce && v->dedupe == DEDUPE_CONTENT &&
	    !v->from_client);
	v = verbs_find(vs, "change");
	CHECK(v != NULL && v->dom == DOM_NONE && v->from_client &&
	    v->nargs == 1);
	v = verbs_find(vs, "reload");
	CHECK(v != NULL && v->nargs == 0 && v->dom == DOM_RELOAD);
	CHECK(verbs_find(vs, "special") == NULL);
	CHECK(strstr(vs->json, "\"append\":{\"args\":[\"id\",\"html\"],"
	    "\"dom\":\"beforeend\",\"from_client\":true") != NULL);
	verbs_free(vs);

	vs = verbs_text("special: {args: [arg]}\n", err, sizeof err);
	CHECK(vs != NULL && vs->count == 1 && verbs_find(vs, "special")->nargs
	    == 1);
	verbs_free(vs);

	CHECK(verbs_text("a:\n  args: [x]\n  colour: red\n", err,
	    sizeof err) == NULL);
	CHECK_STR(err, "v.yaml:3: unknown key 'colour'");
	CHECK(verbs_text("a:\n  args: [id, html]\n  dom: sideways\n", err,
	    sizeof err) == NULL);
	CHECK(strncmp(err, "v.yaml:3: unknown dom 'sideways'", 32) == 0);
	CHECK(verbs_text("a: {args: [x]}\na: {args: [y]}\n", err,
	    sizeof err) == NULL);
	CHECK_STR(err, "v.yaml:2: duplicate verb 'a'");
	CHECK(verbs_text("a:\n  args: [seq]\n", err, sizeof err) == NULL);
	CHECK_STR(err, "v.yaml:2: argument name 'seq' is reserved");
	CHECK(verbs_text("a:\n  args: [x, html]\n  dom: inner\n", err,
	    sizeof err) == NULL);
	CHECK_STR(err, "v.yaml:3: dom 'inner' needs argument 'id'");
	CHECK(verbs_text("a: [\n", err, sizeof err) == NULL);
	CHECK(strncmp(err, "v.yaml:2: ", 10) == 0);
	CHECK(verbs_text("- a\n- b\n", err, sizeof err) == NULL);
	CHECK(strncmp(err, "v.yaml:1: ", 10) == 0);
	CHECK(verbs_text("a:\n  from_client: maybe\n", err, sizeof err) ==
	    NULL);
	CHECK_STR(err, "v.yaml:2: expected true or false");
	CHECK(verbs_text("Bad: {}\n", err, sizeof err) == NULL);
	CHECK_STR(err, "v.yaml:1: invalid verb name 'Bad'");
	CHECK(verbs_text("a:\n  args: [x, x]\n", err, sizeof err) == NULL);
	CHECK_STR(err, "v.yaml:2: duplicate argument 'x'");
	CHECK(verbs_text("a:\n  args: [html]\n  turbo: append\n", err,
	    sizeof err) == NULL);
	CHECK_STR(err, "v.yaml:3: turbo 'append' needs argument 'id'");
	CHECK(verbs_text("a:\n  args: [id]\n  turbo: Append\n", err,
	    sizeof err) == NULL);
	CHECK_STR(err, "v.yaml:3: invalid turbo action 'Append'");
	vs = verbs_text("a:\n  turbo: refresh\n", err, sizeof err);
	CHECK(vs != NULL && strcmp(verbs_find(vs, "a")->turbo, "refresh") ==
	    0 && strstr(vs->json, "\"turbo\":\"refresh\"") != NULL);
	verbs_free(vs);
}

/* An event framed as one SSE message in each format, once. */
static void
test_frames(void)
{
	static const struct {
		const char		*verb;
		const char		*a, *b;		/* its arguments */
		enum frame_format	 format;
		const char		*want;		/* "": not sent */
	} cases[] = {
		{ "append", "list", "<li>a\r\nb\rc\nd</li>", FRAME_TURBO,
		    "id: 7\ndata: <turbo-stream action=\"append\" "
		    "target=\"list\"><template><li>a\ndata: b\ndata: c\n"
		    "data: d</li></template></turbo-stream>\n\n" },
		{ "append", "list", "<li>a\r\nb\rc\nd</li>", FRAME_HTMX,
		    "id: 7\nevent: list\ndata: <li>a\ndata: b\ndata: c\n"
		    "data: d</li>\n\n" },
		{ "append", "list", "<li>a\nb</li>", FRAME_JSON,
		    "id: 7\ndata: {\"seq\":7,\"verb\":\"append\",\"id\":"
		    "\"list\",\"html\":\"<li>a\\nb</li>\"}\n\n" },
		{ "text", "t\"x", "<b>&'", FRAME_TURBO,
		    "id: 7\ndata: <turbo-stream action=\"update\" "
		    "target=\"t&quot;x\"><template>&lt;b&gt;&amp;&#39;"
		    "</template></turbo-stream>\n\n" },
		{ "text", "t", "x", FRAME_HTMX, "" },	/* no html */
		{ "remove", "t\"x", NULL, FRAME_TURBO,
		    "id: 7\ndata: <turbo-stream action=\"remove\" "
		    "target=\"t&quot;x\"></turbo-stream>\n\n" },
		{ "reload", NULL, NULL, FRAME_TURBO,
		    "id: 7\ndata: <turbo-stream action=\"refresh\">"
		    "</turbo-stream>\n\n" },
		{ "update", "a\nb", "x", FRAME_HTMX, "" },	/* no event name */
		{ "update", "", "x", FRAME_HTMX, "" },
		{ "change", "c", NULL, FRAME_TURBO, "" },
		{ "change", "c", NULL, FRAME_HTMX, "" },
	};
	struct yamlerr yerr;
	char err[512];
	struct verbs *vs;

	yerr.text = err;
	yerr.size = sizeof err;
	if ((vs = verbs_load(shipped, &yerr)) == NULL) {
		CHECK(vs != NULL);
		return;
	}
	CHECK(frame_format("turbo") == FRAME_TURBO);
	CHECK(frame_format("xml") == -1);
	CHECK_STR(frame_format_name(FRAME_HTMX), "htmx");
	for (size_t i = 0; i < countof(cases); i++) {
		const char *vals[2] = { cases[i].a, cases[i].b };
		struct msg *m = msg_make(verbs_find(vs, cases[i].verb), vals, 7);
		struct blob *b = frame_get(m, cases[i].format, vs);

		CHECK_STR(b->data, cases[i].want);
		CHECK(b->len == strlen(cases[i].want));
		CHECK(frame_get(m, cases[i].format, vs) == b);	/* made once */
		msg_unref(m);
	}
	verbs_free(vs);
}

static void
test_config(void)
{
	struct config cfg;
	char err[512];
	struct yamlerr yerr = { err, sizeof err };
	static const char good[] = "refresh: 0.5\nmax_body: 2K\n"
	    "queue_limit: 10\nhistory_limit: 5\n";

	config_defaults(&cfg);
	CHECK(cfg.refresh == 25 && cfg.max_body == 65536 &&
	    cfg.queue_limit == 1000 && cfg.max_line == 1024 * 1024 &&
	    cfg.max_header == 8192);
	CHECK_STR(cfg.listen, "127.0.0.1:8088");
	CHECK(config_parse(&cfg, "c.yaml", good, strlen(good), &yerr) == 0);
	CHECK(cfg.refresh == 0.5 && cfg.max_body == 2048 &&
	    cfg.queue_limit == 10 && cfg.history_limit == 5);
	CHECK(config_parse(&cfg, "c.yaml", "refresh: 1\nrefesh: 2\n", 21,
	    &yerr) != 0);
	CHECK_STR(err, "c.yaml:2: unknown key 'refesh'");
	CHECK(config_parse(&cfg, "c.yaml", "refresh: fast\n", 14, &yerr) != 0);
	CHECK_STR(err, "c.yaml:1: refresh: invalid number 'fast'");
	/* IPv6 quoted: libyaml takes no plain :: in a flow list. */
	CHECK(config_parse(&cfg, "c.yaml", "trusted_proxies: [10.0.0.0/8, "
	    "\"::1\"]\n", 37, &yerr) == 0);
	CHECK_STR(cfg.trusted_proxies, "10.0.0.0/8 ::1");
	CHECK(config_parse(&cfg, "c.yaml", "trusted_proxies: [proxy]\n", 25,
	    &yerr) != 0);
	CHECK_STR(err, "c.yaml:1: trusted_proxies: 'proxy' is not an address "
	    "or ADDR/BITS");
	CHECK(config_parse(&cfg, "c.yaml", "refresh: 0\n", 11, &yerr) != 0);
	CHECK(config_parse(&cfg, "c.yaml", "auth: maybe\n", 12, &yerr) != 0);
	CHECK(config_parse(&cfg, "c.yaml", "queue_limit: 5K\n", 16, &yerr) != 0);
	CHECK(config_parse(&cfg, "c.yaml", "history_limit: 50\n", 18,
	    &yerr) != 0);
	CHECK(strstr(err, "history_limit (50) may not exceed queue_limit "
	    "(10)") != NULL);
	CHECK(config_parse(&cfg, "c.yaml", "", 0, &yerr) == 0);

	/* The rows' own checks, and what a reload keeps. */
	CHECK(config_set(&cfg, "refresh", "3601", err, sizeof err) != 0);
	CHECK_STR(err, "refresh must be more than 0 and at most 3600");
	CHECK(config_set(&cfg, "refresh", "0", err, sizeof err) != 0);
	/* Under a millisecond counts as 0: every poll would be answered at
	 * once. */
	CHECK(config_set(&cfg, "refresh", "0.0009", err, sizeof err) != 0);
	CHECK_STR(err, "refresh must be more than 0 and at most 3600");
	CHECK(config_set(&cfg, "refresh", "0.001", err, sizeof err) == 0);
	CHECK(config_set(&cfg, "refresh", "3600", err, sizeof err) == 0);
	CHECK(config_set(&cfg, "max_args", "17", err, sizeof err) != 0);
	CHECK_STR(err, "max_args must be 1 to 16");
	CHECK(config_set(&cfg, "log_level", "loud", err, sizeof err) != 0);
	CHECK_STR(err, "log_level must be error, warning, info or debug, "
	    "not 'loud'");
	CHECK(config_set(&cfg, "socket_mode", "1777", err, sizeof err) != 0);
	CHECK(config_set(&cfg, "socket_mode", "0660", err, sizeof err) == 0);
	CHECK(config_set(&cfg, "redis", "http://x", err, sizeof err) != 0);
	CHECK(config_set(&cfg, "auth", "", err, sizeof err) != 0);
	CHECK_STR(err, "auth must be open, token or hook, not ''");
	{
		struct config old;

		config_defaults(&old);
		CHECK(!config_keep_restart(&cfg, &old));
		CHECK(config_set(&cfg, "node_id", "n2", err, sizeof err) == 0);
		CHECK(!config_keep_restart(&cfg, &old) && cfg.node_id == NULL);
		CHECK(config_set(&cfg, "listen", "127.0.0.1:1", err,
		    sizeof err) == 0);
		CHECK(config_set(&cfg, "log_level", "debug", err,
		    sizeof err) == 0);
		CHECK(config_keep_restart(&cfg, &old));
		CHECK_STR(cfg.listen, "127.0.0.1:8088");
		CHECK_STR(cfg.log_level, "debug");
		config_free(&old);
	}
	config_free(&cfg);
}

static const char *
check_input(struct verbs *vs, struct msg_input *in, char *err, size_t len)
{
	const char *values[VERBS_MAX_ARGS];

	err[0] = '\0';
	return msg_check(vs, in, values, err, len) ? "ok" : err;
}

static void
test_msg(void)
{
	char err[256], line[256];
	struct yamlerr yerr = { err, sizeof err };
	struct verbs *vs = verbs_load(shipped, &yerr);
	const char *values[VERBS_MAX_ARGS];
	struct msg_input in;
	struct msg *m;
	struct buf b;

	if (vs == NULL)
		return;
	msg_input_init(&in, "special");
	msg_input_add(&in, NULL, "42");
	CHECK_STR(check_input(vs, &in, err, sizeof err),
	    "unknown verb 'special'");
	msg_input_init(&in, "append");
	msg_input_add(&in, "id", "target");
	CHECK_STR(check_input(vs, &in, err, sizeof err),
	    "verb 'append' needs argument 'html'");
	msg_input_init(&in, "remove");
	msg_input_add(&in, "id", "x");
	msg_input_add(&in, "html", "y");
	CHECK_STR(check_input(vs, &in, err, sizeof err),
	    "verb 'remove' takes no argument 'html'");
	msg_input_init(&in, "append");
	msg_input_add(&in, NULL, "target");
	CHECK_STR(check_input(vs, &in, err, sizeof err),
	    "verb 'append' needs argument 'html'");
	msg_input_init(&in, "reload");
	msg_input_add(&in, NULL, "now");
	CHECK_STR(check_input(vs, &in, err, sizeof err),
	    "verb 'reload' takes no arguments");

	msg_input_init(&in, "append");
	msg_input_add(&in, "html", "<p>\"42\"\n</p>");
	msg_input_add(&in, "id", "target");
	CHECK(msg_check(vs, &in, values, err, sizeof err) != NULL);
	m = msg_make(verbs_find(vs, "append"), values, 12);
	CHECK_STR(m->json, "{\"seq\":12,\"verb\":\"append\",\"id\":\"target\","
	    "\"html\":\"<p>\\\"42\\\"\\n</p>\"}");
	buf_init(&b);
	msg_text(m, &b);
	CHECK_STR(b.data, "append target\n<p>\"42\"\n</p>");
	buf_free(&b);
	CHECK(m->coalesce_id == NULL);
	msg_unref(m);

	/* "VERB ARG... LAST": the last argument is the rest of the line. */
	snprintf(line, sizeof line, "append log <b>a  b</b> ");
	CHECK(msg_split_line(line, &in, vs, err, sizeof err) == 0);
	CHECK(msg_check(vs, &in, values, err, sizeof err) != NULL);
	CHECK_STR(values[0], "log");
	CHECK_STR(values[1], "<b>a  b</b> ");
	snprintf(line, sizeof line, "  attr\tbox  class big red ");
	CHECK(msg_split_line(line, &in, vs, err, sizeof err) == 0);
	CHECK(msg_check(vs, &in, values, err, sizeof err) != NULL);
	CHECK_STR(values[0], "box");
	CHECK_STR(values[1], "class");
	CHECK_STR(values[2], "big red ");
	snprintf(line, sizeof line, "reload");
	CHECK(msg_split_line(line, &in, vs, err, sizeof err) == 0);
	CHECK(msg_check(vs, &in, values, err, sizeof err) != NULL);
	snprintf(line, sizeof line, "reload now");
	CHECK(msg_split_line(line, &in, vs, err, sizeof err) == 0);
	CHECK(msg_check(vs, &in, values, err, sizeof err) == NULL);
	snprintf(line, sizeof line, "nosuch thing");
	CHECK(msg_split_line(line, &in, vs, err, sizeof err) != 0);
	CHECK_STR(err, "unknown verb 'nosuch'");
	snprintf(line, sizeof line, "append log");
	CHECK(msg_split_line(line, &in, vs, err, sizeof err) == 0);
	CHECK(msg_check(vs, &in, values, err, sizeof err) == NULL);
	CHECK_STR(err, "verb 'append' needs argument 'html'");
	snprintf(line, sizeof line, "   ");
	CHECK(msg_split_line(line, &in, vs, err, sizeof err) != 0);

	/* Coalescing verbs remember their id. */
	values[0] = "box";
	values[1] = "<i>x</i>";
	m = msg_make(verbs_find(vs, "update"), values, 13);
	CHECK_STR(m->coalesce_id, "box");
	msg_unref(m);
	verbs_free(vs);
}

static struct msg *
plain(uint64_t seq)
{
	const char *names[] = { "argument" }, *values[] = { "x" };

	return msg_new("change", 1, names, values, NULL, seq);
}

static void
test_queue(void)
{
	struct queue q;
	struct msg *m;

	queue_init(&q, 0);
	CHECK(queue_after(&q, 0) == 0);
	for (uint64_t s = 1; s <= 10; s++) {
		m = plain(s * 10);
		queue_push(&q, m, 8);
		msg_unref(m);
	}
	/* Two fell off the front: the floor says what is unknown. */
	CHECK(q.len == 8 && q.floor == 20);
	CHECK(queue_at(&q, 0)->seq == 30);
	CHECK(queue_after(&q, 0) == 0);
	CHECK(queue_after(&q, 30) == 1);
	CHECK(queue_after(&q, 35) == 1);
	CHECK(queue_after(&q, 100) == 8);
	queue_drop(&q, 55, 0);
	CHECK(q.len == 5 && q.floor == 50 && queue_at(&q, 0)->seq == 60);
	queue_drop(&q, 1000, 3);
	CHECK(q.len == 3 && queue_at(&q, 0)->seq == 80);
	queue_free(&q);
}

/*
 * The memory budget's parts: a queue knows its bytes, queue_trim keeps it
 * under a byte cap (never dropping the newest) or drops through a seq,
 * and the budget counts an event once, however many queues hold it.
 */
static void
test_budget(void)
{
	struct queue a, b;
	struct msg *m;
	size_t base = budget.used, one;

	queue_init(&a, 0);
	queue_init(&b, 0);
	m = plain(1);
	one = m->size;
	CHECK(budget.used == base + one);
	queue_push(&a, m, 0);
	queue_push(&b, m, 0);
	msg_unref(m);
	CHECK(a.bytes == one && b.bytes == one);
	CHECK(budget.used > base + one && budget.used < base + 2 * one);
	for (uint64_t s = 2; s <= 5; s++) {
		m = plain(s);
		queue_push(&a, m, 0);
		msg_unref(m);
	}
	CHECK(a.bytes == 5 * one);
	CHECK(queue_trim(&a, 3 * one, 0) == 2 && a.floor == 2 && a.len == 3);
	CHECK(queue_trim(&a, 0, 0) == 2 && a.len == 1 && a.bytes == one);
	CHECK(queue_trim(&a, SIZE_MAX, 5) == 1 && a.len == 0 && a.floor == 5);
	queue_free(&a);
	queue_free(&b);
	CHECK(budget.used == base);
	budget.limit = 0;
	CHECK(budget_admit(SIZE_MAX / 2));
	budget.limit = base + 1000;
	CHECK(budget_admit(500) && !budget_admit(2000));
	budget.limit = 0;
}

/* An event keeps its JSON only: its values are decoded from it. */
static void
test_msg_values(void)
{
	const char *names[] = { "id", "html" };
	const char *values[] = {
		"a\"b", "<p>\"q\"\\\n\t\x01\xc3\xa9\xf0\x9f\x98\x80</p>"
	};
	struct msg *m = msg_new("append", 2, names, values, NULL, 9), *r;
	struct buf b;
	char *v;

	buf_init(&b);
	msg_value(m, 1, &b);
	CHECK_STR(b.data, values[1]);
	buf_free(&b);
	CHECK_STR((v = msg_arg(m, "id")), values[0]);
	free(v);
	CHECK(msg_arg(m, "text") == NULL);
	r = msg_reseq(m, 12345);
	CHECK_STR(r->json, "{\"seq\":12345,\"verb\":\"append\","
	    "\"id\":\"a\\\"b\",\"html\":\"<p>\\\"q\\\"\\\\\\n\\t\\u0001"
	    "\xc3\xa9\xf0\x9f\x98\x80</p>\"}");
	CHECK_STR((v = msg_arg(r, "html")), values[1]);
	free(v);
	msg_unref(r);
	msg_unref(m);
	/* The escapes JSON has that livd never writes decode too. */
	buf_init(&b);
	v = "\\/\\b\\f\\u00e9\\ud83d\\ude00\\x";
	buf_json_unescape(&b, v, strlen(v));
	CHECK_STR(b.data, "/\b\f\xc3\xa9\xf0\x9f\x98\x80\\x");
	buf_free(&b);
	buf_init(&b);
	buf_json_unescape(&b, "", 0);
	CHECK(b.data != NULL && b.len == 0);
	buf_free(&b);
}

/* A span of the parsed head, as a string to compare. */
static const char *
span_str(struct http_span v)
{
	static char s[4][128];
	static int i;
	char *out = s[i++ % 4];

	if (v.p == NULL)
		return NULL;
	snprintf(out, sizeof s[0], "%.*s", (int)v.len, v.p);
	return out;
}

static void
test_http(void)
{
	char req[] = "GET /client/abc/output?since=12 HTTP/1.1\r\n"
	    "Host: x\r\nContent-Length: 3\r\nConnection: close\r\n"
	    "Origin:  http://a  \r\n\r\nabcNEXT";
	char bad[] = "GET /x HTTP/1.1\r\n Folded: y\r\n\r\n";
	char v2[] = "GET / HTTP/2.0\r\n\r\n";
	char partial[] = "GET / HTTP/1.1\r\nHost: x\r\n";
	char more[] = "GET /x HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\n"
	    "Expect: 100-CONTINUE\r\nLast-Event-ID: 7 \r\n\r\n";
	char shortver[] = "GET /x HTTP/1\r\n\r\n";
	char twospaces[] = "GET /x  HTTP/1.1\r\n\r\n";
	char before[sizeof req];
	char big[200];
	char body[] = "verb=append&id=t%61rget&html=%3Cp%3E42+x%3C%2Fp%3E&empty";
	char dup[] = "a=1&a=2";
	char badpct[] = "a=%zz";
	char badutf[] = "a=%ff";
	char out[32];
	struct http_head h;
	struct form f;
	const char *err;

	memcpy(before, req, sizeof req);
	CHECK(http_parse_head(req, sizeof req - 1, 8192, &h, &err) ==
	    HTTP_PARSE_OK);
	CHECK(memcmp(before, req, sizeof req) == 0);	/* only read */
	CHECK_STR(span_str(h.method), "GET");
	CHECK_STR(span_str(h.path), "/client/abc/output");
	CHECK_STR(span_str(h.query), "since=12");
	CHECK(h.minor == 1 && h.content_length == 3 && h.close);
	CHECK_STR(span_str(h.origin), "http://a");
	CHECK(strncmp(req + h.size, "abcNEXT", 7) == 0);
	CHECK(query_get(h.query, "since", out, sizeof out) == 0);
	CHECK_STR(out, "12");
	CHECK(query_get(h.query, "until", out, sizeof out) != 0);

	CHECK(http_parse_head(more, sizeof more - 1, 8192, &h, &err) ==
	    HTTP_PARSE_OK);
	CHECK(h.minor == 0 && h.keep_alive && !h.close && h.expect_continue);
	CHECK(h.query.p == NULL && h.content_type.p == NULL);
	CHECK_STR(span_str(h.last_event_id), "7");
	CHECK(http_parse_head(shortver, sizeof shortver - 1, 8192, &h, &err) ==
	    HTTP_PARSE_BAD);
	CHECK_STR(err, "malformed HTTP version");
	CHECK(http_parse_head(twospaces, sizeof twospaces - 1, 8192, &h,
	    &err) == HTTP_PARSE_BAD);
	CHECK(http_parse_head(partial, sizeof partial - 1, 8192, &h, &err) ==
	    HTTP_PARSE_INCOMPLETE);
	memset(big, 'a', sizeof big);
	CHECK(http_parse_head(big, sizeof big, 100, &h, &err) ==
	    HTTP_PARSE_TOO_LARGE);
	CHECK(http_parse_head(bad, sizeof bad - 1, 8192, &h, &err) ==
	    HTTP_PARSE_BAD);
	CHECK(http_parse_head(v2, sizeof v2 - 1, 8192, &h, &err) ==
	    HTTP_PARSE_VERSION);

	CHECK(form_parse(body, sizeof body - 1, &f, &err) == 0);
	CHECK(f.count == 4);
	CHECK_STR(form_get(&f, "id"), "target");
	CHECK_STR(form_get(&f, "html"), "<p>42 x</p>");
	CHECK_STR(form_get(&f, "empty"), "");
	CHECK(form_parse(dup, sizeof dup - 1, &f, &err) != 0);
	CHECK(form_parse(badpct, sizeof badpct - 1, &f, &err) != 0);
	CHECK(form_parse(badutf, sizeof badutf - 1, &f, &err) != 0);
	CHECK_STR(err, "invalid UTF-8");
}

/* The client of X-Forwarded-For: xff as proxies wrote it, behind peer. */
static const char *
forwarded(const char *xff, const char *peer, const char *const *nets,
    size_t n)
{
	static char out[HTTP_ADDR_MAX];
	struct http_net trusted[4];
	struct http_addr a;
	struct http_span v = { xff, xff ? strlen(xff) : 0 };

	for (size_t i = 0; i < n; i++)
		if (!http_net_parse(nets[i], strlen(nets[i]), &trusted[i]))
			return "bad net";
	if (!http_addr_parse(peer, strlen(peer), &a))
		return "bad peer";
	http_forwarded(v, trusted, n, &a);
	http_addr_format(&a, out, sizeof out);
	return out;
}

static void
test_addr(void)
{
	static const char *const nets[] = { "10.0.0.0/8", "2001:db8::/32",
	    "192.0.2.1" };
	static const char *const bad[] = { "", "10.0.0.0/", "10.0.0.0/33",
	    "::/129", "10.1", "10.0.0.0/8x", "host", "1.2.3.4/-1",
	    "1.2.3.4/0008" };
	char req[] = "GET / HTTP/1.1\r\n"
	    "X-Forwarded-For: 1.2.3.4, 10.0.0.1\r\n\r\n";
	struct http_head h;
	struct http_net net;
	struct http_addr a;
	const char *err;
	char out[HTTP_ADDR_MAX];

	CHECK(http_parse_head(req, sizeof req - 1, 8192, &h, &err) ==
	    HTTP_PARSE_OK);
	CHECK_STR(span_str(h.forwarded_for), "1.2.3.4, 10.0.0.1");
	CHECK(http_addr_parse("::ffff:10.1.2.3", 15, &a));
	http_addr_format(&a, out, sizeof out);
	CHECK_STR(out, "10.1.2.3");
	CHECK(http_addr_parse("2001:db8::1", 11, &a));
	http_addr_format(&a, out, sizeof out);
	CHECK_STR(out, "2001:db8::1");
	for (size_t i = 0; i < countof(bad); i++)
		CHECK(!http_net_parse(bad[i], strlen(bad[i]), &net));
	CHECK(http_net_parse("10.0.0.0/9", 10, &net));
	CHECK(http_addr_parse("10.127.255.255", 14, &a) &&
	    http_net_has(&net, &a));
	CHECK(http_addr_parse("10.128.0.0", 10, &a) && !http_net_has(&net, &a));
	CHECK(http_net_parse("0.0.0.0/0", 9, &net));
	CHECK(http_addr_parse("2001:db8::1", 11, &a) && !http_net_has(&net, &a));
	CHECK(http_net_parse("::/0", 4, &net) && http_net_has(&net, &a));

	/* The right-most address not trusted; to its left, the client's say. */
	CHECK_STR(forwarded("203.0.113.7", "10.0.0.1", nets, 3), "203.0.113.7");
	CHECK_STR(forwarded("6.6.6.6, 203.0.113.7, 10.9.9.9", "192.0.2.1",
	    nets, 3), "203.0.113.7");
	CHECK_STR(forwarded(" 203.0.113.7 ,2001:db8::5", "10.0.0.1", nets, 3),
	    "203.0.113.7");
	CHECK_STR(forwarded("10.0.0.2, 10.0.0.3", "10.0.0.1", nets, 3),
	    "10.0.0.2");
	CHECK_STR(forwarded("junk, 10.0.0.3", "10.0.0.1", nets, 3), "10.0.0.3");
	CHECK_STR(forwarded("203.0.113.7:4711", "10.0.0.1", nets, 3),
	    "203.0.113.7");
	CHECK_STR(forwarded("[2001:db9::1]:4711", "10.0.0.1", nets, 3),
	    "2001:db9::1");
	CHECK_STR(forwarded("2001:db9::1", "10.0.0.1", nets, 3), "2001:db9::1");
	CHECK_STR(forwarded(",", "10.0.0.1", nets, 3), "10.0.0.1");
	CHECK_STR(forwarded("", "10.0.0.1", nets, 3), "10.0.0.1");
	CHECK_STR(forwarded(NULL, "10.0.0.1", nets, 3), "10.0.0.1");
}

static bool
etag_match(const char *header, const char *etag)
{
	struct http_span v = { header, header ? strlen(header) : 0 };

	return http_etag_match(v, etag);
}

static void
test_etag(void)
{
	CHECK(etag_match("\"ab\"", "\"ab\""));
	CHECK(etag_match("W/\"ab\"", "\"ab\""));
	CHECK(etag_match("\"x\", \"ab\" ", "\"ab\""));
	CHECK(etag_match("\"x\",W/\"ab\"", "\"ab\""));
	CHECK(etag_match("*", "\"ab\""));
	CHECK(!etag_match("\"abc\"", "\"ab\""));
	CHECK(!etag_match("\"a\", b", "\"ab\""));
	CHECK(!etag_match("ab", "\"ab\""));
	CHECK(!etag_match("", "\"ab\""));
	CHECK(!etag_match(NULL, "\"ab\""));
	CHECK(!etag_match("**", "\"ab\""));
}

static void
test_text(void)
{
	char *s = html_escape("<a href=\"x\">'&'</a>");
	char q[12];
	struct buf b;

	CHECK_STR(s, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	free(s);
	CHECK(utf8_valid("h\xc3\xa9", 3));
	CHECK(!utf8_valid("\xc3", 1));
	CHECK(!utf8_valid("\xed\xa0\x80", 3));	/* a surrogate */
	CHECK(!utf8_valid("\xc0\xaf", 2));	/* overlong */
	CHECK(word_valid("/chat", 5) && !word_valid("a b", 3) &&
	    !word_valid("", 0));
	quote_for_error(q, sizeof q, "a\nbcdefghijklmnop");
	CHECK_STR(q, "a?bcdefg...");
	buf_init(&b);
	buf_json_string(&b, "\x01\"\\\t", 4);
	CHECK_STR(b.data, "\"\\u0001\\\"\\\\\\t\"");
	buf_free(&b);
}

static void
test_lines(void)
{
	json_t *target = json_pack("{s:s,s:s}", "cmd", "send", "location",
	    "/log");
	char err[256];
	struct buf out;

	buf_init(&out);
	CHECK(stdin_request("# a comment", 11, target, &out, err,
	    sizeof err) == 0);
	CHECK(stdin_request("   ", 3, target, &out, err, sizeof err) == 0);
	CHECK(stdin_request("append log <b>\"x\"</b>", 21, target, &out, err,
	    sizeof err) == 1);
	CHECK_STR(out.data, "{\"cmd\":\"send\",\"location\":\"/log\",\"line\":"
	    "\"append log <b>\\\"x\\\"</b>\"}\n");
	out.len = 0;
	CHECK(stdin_request("{\"verb\":\"remove\",\"id\":\"a\"}", 26, target,
	    &out, err, sizeof err) == 1);
	CHECK(strstr(out.data, "\"location\":\"/log\"") != NULL);
	out.len = 0;
	/* A line's own target wins. */
	CHECK(stdin_request("{\"verb\":\"remove\",\"id\":\"a\",\"client\":\"u\"}",
	    39, target, &out, err, sizeof err) == 1);
	CHECK(strstr(out.data, "/log") == NULL &&
	    strstr(out.data, "\"client\":\"u\"") != NULL);
	CHECK(stdin_request("{\"verb\":", 8, target, &out, err,
	    sizeof err) < 0);
	CHECK(strncmp(err, "invalid JSON", 12) == 0);
	CHECK(stdin_request("[1]", 3, target, &out, err, sizeof err) == 1);
	CHECK(stdin_request("{\"cmd\":\"who\"}", 13, target, &out, err,
	    sizeof err) < 0);
	CHECK(stdin_request("append x \xff", 10, target, &out, err,
	    sizeof err) < 0);
	CHECK_STR(err, "invalid UTF-8");
	buf_free(&out);
	json_decref(target);
}

/* Send an event to a location through the hub. */
static void
send_to(const char *verb, const char *id, const char *html, const char *loc)
{
	const char *values[] = { id, html };
	const struct verb *v = verbs_find(livd.verbs, verb);
	struct target t = { TARGET_LOCATION, loc, NULL };
	struct msg *m = msg_make(v, values, hub_next_seq());

	hub_send(m, &t);
	msg_unref(m);
}

static char *
answer_text(struct client *c, uint64_t *seq)
{
	struct blob *b = hub_answer(c, seq);
	char *s = xstrdup(b->data);

	blob_unref(b);
	return s;
}

static void
test_hub(void)
{
	char err[256], *s, want[512];
	struct yamlerr yerr = { err, sizeof err };
	struct client *a, *b, *late;
	uint64_t seq, first;

	config_defaults(&livd.cfg);
	livd.cfg.queue_limit = 5;
	livd.cfg.history_limit = 2;
	livd.verbs = verbs_load(shipped, &yerr);
	livd.base = event_base_new();
	hub_init(livd.base, 1000, 25);

	a = hub_connect("/chat", "uwe", false, err, sizeof err);
	b = hub_connect("/chat", "dominik", false, err, sizeof err);
	CHECK(a != NULL && b != NULL && strlen(a->uuid) == 32);
	CHECK(hub_find(a->uuid) == a);
	CHECK(hub_connect("a b", "x", false, err, sizeof err) == NULL);
	CHECK_STR(err, "invalid location");
	CHECK(!hub_pending(a));
	s = answer_text(a, &seq);
	CHECK_STR(s, "{\"seq\":1000,\"refresh\":25,\"events\":[],\"idle\":true}");
	free(s);

	send_to("append", "target", "<p>42</p>", "/chat");
	CHECK(hub_pending(a) && hub_pending(b));
	s = answer_text(a, &seq);
	CHECK(seq == 1001);
	CHECK_STR(s, "{\"seq\":1001,\"refresh\":25,\"events\":[{\"seq\":1001,"
	    "\"verb\":\"append\",\"id\":\"target\",\"html\":\"<p>42</p>\"}]}");
	free(s);
	/* Not acknowledged: the same again. */
	s = answer_text(a, &seq);
	CHECK(strstr(s, "<p>42</p>") != NULL);
	free(s);
	hub_ack(a, 1001);
	CHECK(!hub_pending(a) && hub_pending(b));

	/* Coalescing: only the newest update of an id is answered. */
	send_to("update", "box", "one", "/chat");
	send_to("update", "box", "two", "/chat");
	send_to("update", "other", "three", "/chat");
	s = answer_text(a, &seq);
	CHECK(strstr(s, "\"one\"") == NULL && strstr(s, "\"two\"") != NULL &&
	    strstr(s, "\"three\"") != NULL && seq == 1004);
	free(s);
	hub_ack(a, seq);

	/* Falling behind queue_limit: one reload event instead. */
	for (int i = 0; i < 6; i++)
		send_to("append", "target", "x", "/chat");
	s = answer_text(b, &seq);
	snprintf(want, sizeof want, "{\"seq\":%llu,\"refresh\":25,\"events\":"
	    "[{\"seq\":%llu,\"verb\":\"reload\"}]}",
	    (unsigned long long)hub.seq, (unsigned long long)hub.seq);
	CHECK_STR(s, want);
	free(s);
	hub_ack(b, seq);
	CHECK(!hub_pending(b));

	/* A page that connects again asks for what it missed. */
	hub_ack(a, hub.seq - 3);
	first = hub.seq - 2;
	late = hub_connect("/chat", "uwe", false, err, sizeof err);
	hub_ack(late, first);
	s = answer_text(late, &seq);
	CHECK(seq == hub.seq && strstr(s, "\"verb\":\"reload\"") == NULL);
	free(s);
	/* Before the history: a reload. */
	hub_close(late);
	late = hub_connect("/chat", "uwe", false, err, sizeof err);
	hub_ack(late, 1000);
	s = answer_text(late, &seq);
	CHECK(strstr(s, "\"verb\":\"reload\"") != NULL);
	free(s);

	/* The sweep shrinks histories everyone has acknowledged. */
	hub_ack(a, hub.seq);
	hub_ack(b, hub.seq);
	hub_ack(late, hub.seq);
	hub_sweep();
	CHECK(hub_location("/chat")->history.len == 2);

	/* Presence: join and leave reach the pages that asked for them. */
	{
		struct client *w, *quiet, *x, *y;
		const char **names;
		size_t n;

		w = hub_connect("/room", "watcher", true, err, sizeof err);
		quiet = hub_connect("/room", "quiet", false, err, sizeof err);
		x = hub_connect("/room", "xavier", false, err, sizeof err);
		y = hub_connect("/room", "xavier", false, err, sizeof err);
		names = hub_principals(hub_location("/room"), &n);
		CHECK(n == 3 && strcmp(names[0], "quiet") == 0 &&
		    strcmp(names[2], "xavier") == 0);
		free(names);
		CHECK(!hub_pending(quiet));
		s = answer_text(w, &seq);
		CHECK(strstr(s, "\"verb\":\"join\",\"user\":\"quiet\"") &&
		    strstr(s, "\"user\":\"xavier\""));
		/* xavier joined once, with two pages */
		CHECK(strstr(strstr(s, "xavier") + 1, "xavier") == NULL);
		free(s);
		hub_ack(w, seq);
		hub_close(x);
		CHECK(!hub_pending(w));		/* xavier still has a page */
		hub_close(y);
		s = answer_text(w, &seq);
		CHECK(strstr(s, "\"verb\":\"leave\",\"user\":\"xavier\""));
		free(s);
		CHECK(!hub_pending(quiet));
	}

	/* The hub's invariants: names, seq, refresh intervals. */
	{
		char name[HUB_LOCATION_MAX + 2], who[HUB_PRINCIPAL_MAX + 2];
		uint64_t now = hub.seq;

		memset(name, 'a', sizeof name - 1);
		name[0] = '/';
		name[HUB_LOCATION_MAX] = '\0';
		CHECK(hub_names_check(name, NULL) == NULL);
		name[HUB_LOCATION_MAX] = 'a';
		name[HUB_LOCATION_MAX + 1] = '\0';
		CHECK_STR(hub_names_check(name, NULL), "invalid location");
		CHECK_STR(hub_names_check(name, "uwe"), "invalid location");
		memset(who, 'p', sizeof who - 1);
		who[HUB_PRINCIPAL_MAX] = '\0';
		CHECK(hub_names_check("/chat", who) == NULL);
		who[HUB_PRINCIPAL_MAX] = 'p';
		who[HUB_PRINCIPAL_MAX + 1] = '\0';
		CHECK_STR(hub_names_check("/chat", who), "invalid principal");
		CHECK_STR(hub_names_check("/chat", "a b"), "invalid principal");
		CHECK(hub_names_check(NULL, NULL) == NULL);
		CHECK(hub_connect(name, "uwe", false, err, sizeof err) == NULL);
		CHECK_STR(err, "invalid location");

		hub_advance_seq(now - 1);
		CHECK(hub.seq == now);
		hub_advance_seq(now + 10);
		CHECK(hub.seq == now + 10 && hub_next_seq() == now + 11);

		CHECK(!hub_set_refresh(name, 5) && hub_location(name) == NULL);
		CHECK(!hub_set_refresh(NULL, 0) && !hub_set_refresh(NULL, -1) &&
		    !hub_set_refresh(NULL, HUB_REFRESH_MAX + 0.5) &&
		    hub_refresh(NULL) == 25);
		CHECK(!hub_set_refresh("/r", HUB_REFRESH_MAX + 1) &&
		    !hub_set_refresh("/r", -1) && hub_location("/r") == NULL);
		CHECK(hub_set_refresh("/r", HUB_REFRESH_MAX) &&
		    hub_refresh(hub_location("/r")) == HUB_REFRESH_MAX);
		CHECK(hub_set_refresh("/r", 0) &&
		    hub_refresh(hub_location("/r")) == 25);
		CHECK(hub_set_refresh(NULL, 0.5) && hub_refresh(NULL) == 0.5);
	}

	hub_close(a);
	CHECK(hub_find(b->uuid) == b);
	hub_shutdown();
	event_base_free(livd.base);
	verbs_free(livd.verbs);
	config_free(&livd.cfg);
}

static const char jwt_key[] = "0123456789abcdef0123456789abcdef";

/* A JWT signed with jwt_key over any header and claims, well formed or not. */
static char *
jwt_make(const char *head, const char *claims)
{
	unsigned char mac[32], b[3][4096];
	unsigned int maclen = sizeof mac;
	struct buf t;

	buf_init(&t);
	EVP_EncodeBlock(b[0], (const unsigned char *)head, (int)strlen(head));
	EVP_EncodeBlock(b[1], (const unsigned char *)claims,
	    (int)strlen(claims));
	buf_printf(&t, "%s.%s", (char *)b[0], (char *)b[1]);
	for (size_t i = 0; i < t.len; i++)
		t.data[i] = t.data[i] == '+' ? '-' : t.data[i] == '/' ? '_' :
		    t.data[i];
	/* base64url without padding: drop the '=' before and after the dot */
	for (char *p; (p = strchr(t.data, '=')) != NULL; t.len--)
		memmove(p, p + 1, strlen(p));
	HMAC(EVP_sha256(), jwt_key, 32, (unsigned char *)t.data, t.len, mac,
	    &maclen);
	EVP_EncodeBlock(b[2], mac, sizeof mac);
	buf_addc(&t, '.');
	for (char *p = (char *)b[2]; *p != '\0' && *p != '='; p++)
		buf_addc(&t, *p == '+' ? '-' : *p == '/' ? '_' : *p);
	return buf_steal(&t);
}

/* Verify claims (with an HS256 header) as kind at time 1000. */
static int
jwt_check(const char *claims, enum auth_kind kind, struct auth_claims *cl,
    const char **why)
{
	char *t = jwt_make("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims);
	int rc = auth_jwt_verify(jwt_key, 32, t, 1000, kind, cl, why);

	free(t);
	return rc;
}

static void
test_tokens(void)
{
	static const char *locs[] = { "/chat", "/user/alice/*" };
	static const char *cmds[] = { "send", "who" };
	/* Made by PyJWT: jwt.encode(claims, jwt_key, algorithm=...). */
	static const char *pyjwt =
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImxvY2F0"
	    "aW9ucyI6WyIvY2hhdCIsIi91c2VyL2FsaWNlLyoiXSwiZXhwIjoyMDAwfQ.4RuUXDz"
	    "tyIiMCVifQ8zia80yzRzGIxALN3UOcrl0ReQ";
	static const char *pyjwt512 =
	    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImxvY2F0"
	    "aW9ucyI6WyIvY2hhdCJdLCJleHAiOjIwMDB9.VuEwhqu_xkCChY16hJiji05-2FSN6"
	    "-GENh2Df3l0hxy2ZwLJo5yVAOjPiNMHrW6NM1HGbzhxPeZ0kNw73kUSYA";
	static const struct {
		const char	*head, *claims;
		enum auth_kind	 kind;
		const char	*why;	/* NULL: valid */
	} cases[] = {
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"]}", AUTH_PAGE,
		    NULL },
		{ "{\"alg\":\"none\"}", "{\"sub\":\"a\",\"locations\":[\"/x\"]}",
		    AUTH_PAGE, "invalid token" },
		{ "{\"alg\":\"HS512\"}", "{\"sub\":\"a\",\"locations\":[\"/x\"]}",
		    AUTH_PAGE, "invalid token" },
		{ "{\"alg\":\"hs256\"}", "{\"sub\":\"a\",\"locations\":[\"/x\"]}",
		    AUTH_PAGE, "invalid token" },
		{ "{\"typ\":\"JWT\"}", "{\"sub\":\"a\",\"locations\":[\"/x\"]}",
		    AUTH_PAGE, "invalid token" },
		{ "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
		    "{\"sub\":\"a\",\"locations\":[\"/x\"]}", AUTH_PAGE,
		    "invalid token" },
		{ "{\"alg\":\"HS256\",\"alg\":\"none\"}",
		    "{\"sub\":\"a\",\"locations\":[\"/x\"]}", AUTH_PAGE,
		    "invalid token" },
		{ "[\"HS256\"]", "{\"sub\":\"a\",\"locations\":[\"/x\"]}",
		    AUTH_PAGE, "invalid token" },
		{ NULL, "[\"sub\"]", AUTH_PAGE, "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"]", AUTH_PAGE,
		    "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"sub\":\"b\",\"locations\":[\"/x\"]}",
		    AUTH_PAGE, "invalid token" },
		{ NULL, "{\"locations\":[\"/x\"]}", AUTH_PAGE, "invalid token" },
		{ NULL, "{\"sub\":7,\"locations\":[\"/x\"]}", AUTH_PAGE,
		    "invalid token" },
		{ NULL, "{\"sub\":\"\",\"locations\":[\"/x\"]}", AUTH_PAGE,
		    "invalid token" },
		{ NULL, "{\"sub\":\"a\\u0000b\",\"locations\":[\"/x\"]}",
		    AUTH_PAGE, "invalid token" },
		{ NULL, "{\"sub\":\"a\"}", AUTH_PAGE, "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"locations\":[]}", AUTH_PAGE,
		    "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"locations\":\"/x\"}", AUTH_PAGE,
		    "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\",3]}", AUTH_PAGE,
		    "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"\"]}", AUTH_PAGE,
		    "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"],\"exp\":1000}",
		    AUTH_PAGE, "token expired" },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"],\"exp\":1000.5}",
		    AUTH_PAGE, NULL },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"],\"exp\":\"2000\"}",
		    AUTH_PAGE, "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"],\"nbf\":1000}",
		    AUTH_PAGE, NULL },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"],\"nbf\":1001}",
		    AUTH_PAGE, "invalid token" },
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"],\"nbf\":null}",
		    AUTH_PAGE, "invalid token" },
		/* A page token is no API token, and the other way round. */
		{ NULL, "{\"sub\":\"a\",\"locations\":[\"/x\"]}", AUTH_API,
		    "invalid token" },
		{ NULL, "{\"livd\":{\"cmds\":[\"send\"]}}", AUTH_PAGE,
		    "invalid token" },
		{ NULL, "{\"livd\":{\"cmds\":[\"send\"]}}", AUTH_API, NULL },
		{ NULL, "{\"livd\":{\"cmds\":[\"*\"]},\"locations\":7}", AUTH_API,
		    NULL },
		{ NULL, "{\"livd\":{\"cmds\":\"send\"}}", AUTH_API,
		    "invalid token" },
		{ NULL, "{\"livd\":{\"cmds\":[]}}", AUTH_API, "invalid token" },
		{ NULL, "{\"livd\":{}}", AUTH_API, "invalid token" },
		{ NULL, "{\"livd\":[\"send\"]}", AUTH_API, "invalid token" },
		{ NULL, "{\"livd\":{\"cmds\":[\"send\"]},\"exp\":999}", AUTH_API,
		    "token expired" },
	};
	struct auth_claims cl;
	const char *why, *exact[4];
	char *t, *bad;
	size_t n;

	/* Minted here, checked here: a page token. */
	t = auth_jwt_mint(jwt_key, 32, &(struct auth_grant){ .sub = "alice",
	    .locations = locs, .nlocations = 2 }, 1000, 2000);
	CHECK(t != NULL && strncmp(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
	    37) == 0);
	CHECK(auth_jwt_verify(jwt_key, 32, t, 1999, AUTH_PAGE, &cl, &why) == 0);
	CHECK(why == NULL);
	CHECK_STR(cl.sub, "alice");
	CHECK(cl.nlocations == 2 && cl.ncmds == 0);
	CHECK_STR(cl.locations[0], "/chat");
	CHECK_STR(cl.locations[1], "/user/alice/*");
	CHECK(cl.has_exp && cl.exp == 2000 && !cl.has_nbf);
	CHECK(auth_jwt_verify(jwt_key, 32, t, 2000, AUTH_PAGE, &cl, &why) != 0);
	CHECK_STR(why, "token expired");
	CHECK(auth_jwt_verify("another key, just as long......", 32, t, 1,
	    AUTH_PAGE, &cl, &why) != 0);
	CHECK_STR(why, "invalid token");
	CHECK(auth_jwt_verify(jwt_key, 32, t, 1, AUTH_API, &cl, &why) != 0);
	/* Any changed character breaks it. */
	n = strlen(t);
	bad = xstrdup(t);
	for (size_t i = 0; i < n; i++) {
		char was = bad[i];

		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		CHECK(auth_jwt_verify(jwt_key, 32, bad, 1, AUTH_PAGE, &cl,
		    &why) != 0);
		CHECK_STR(why, "invalid token");
		bad[i] = was;
	}
	/* Truncated, padded, or with a fourth part. */
	bad[n - 1] = '\0';
	CHECK(auth_jwt_verify(jwt_key, 32, bad, 1, AUTH_PAGE, &cl, &why) != 0);
	free(bad);
	bad = xprintf("%s=", t);
	CHECK(auth_jwt_verify(jwt_key, 32, bad, 1, AUTH_PAGE, &cl, &why) != 0);
	free(bad);
	bad = xprintf("%s.", t);
	CHECK(auth_jwt_verify(jwt_key, 32, bad, 1, AUTH_PAGE, &cl, &why) != 0);
	free(bad);
	free(t);
	for (size_t i = 0; i < 6; i++) {
		static const char *junk[] = { "", ".", "..", "a.b", "a.b.c",
		    "a.b.c.d" };

		CHECK(auth_jwt_verify(jwt_key, 32, junk[i], 1, AUTH_PAGE, &cl,
		    &why) != 0);
		CHECK_STR(why, "invalid token");
	}

	/* Made by another JWT library. */
	CHECK(auth_jwt_verify(jwt_key, 32, pyjwt, 1000, AUTH_PAGE, &cl,
	    &why) == 0);
	CHECK_STR(cl.sub, "alice");
	CHECK(auth_jwt_verify(jwt_key, 32, pyjwt512, 1000, AUTH_PAGE, &cl,
	    &why) != 0);
	CHECK_STR(why, "invalid token");

	for (size_t i = 0; i < countof(cases); i++) {
		char *tok = jwt_make(cases[i].head ? cases[i].head :
		    "{\"alg\":\"HS256\"}", cases[i].claims);
		int rc = auth_jwt_verify(jwt_key, 32, tok, 1000, cases[i].kind,
		    &cl, &why);

		if (cases[i].why == NULL) {
			CHECK(rc == 0);
			if (rc != 0)
				fprintf(stderr, "case %zu: %s\n", i, why);
		} else {
			CHECK(rc != 0);
			CHECK_STR(why ? why : "(valid)", cases[i].why);
		}
		free(tok);
	}

	/* Patterns: exact locations, prefixes ending in '*'. */
	CHECK(jwt_check("{\"sub\":\"a\",\"locations\":[\"/user/alice/*\","
	    "\"/chat\",\"/b*\",\"/lobby\"]}", AUTH_PAGE, &cl, &why) == 0);
	CHECK(auth_allows(&cl, "/chat"));
	CHECK(!auth_allows(&cl, "/chat/x"));
	CHECK(!auth_allows(&cl, "/cha"));
	CHECK(auth_allows(&cl, "/user/alice/x"));
	CHECK(auth_allows(&cl, "/user/alice/"));
	CHECK(!auth_allows(&cl, "/user/alice"));
	CHECK(!auth_allows(&cl, "/user/bob/x"));
	CHECK(auth_allows(&cl, "/b"));
	CHECK(auth_allows(&cl, "/bob"));
	CHECK(auth_allows(&cl, "/lobby"));
	CHECK(auth_exact(&cl, exact, 4) == 2);
	CHECK_STR(exact[0], "/chat");
	CHECK_STR(exact[1], "/lobby");
	CHECK(jwt_check("{\"sub\":\"a\",\"locations\":[\"*\"]}", AUTH_PAGE,
	    &cl, &why) == 0);
	CHECK(auth_allows(&cl, "/anything") && auth_exact(&cl, exact, 4) == 0);

	/* API tokens: the commands they allow. */
	t = auth_jwt_mint(jwt_key, 32, &(struct auth_grant){ .cmds = cmds,
	    .ncmds = 2 }, 1000, 2000);
	CHECK(auth_jwt_verify(jwt_key, 32, t, 1000, AUTH_API, &cl, &why) == 0);
	CHECK(cl.sub == NULL && cl.ncmds == 2 && cl.nlocations == 0);
	CHECK(auth_cmd_allowed(&cl, "send") && auth_cmd_allowed(&cl, "who"));
	CHECK(!auth_cmd_allowed(&cl, "reload") && !auth_cmd_allowed(&cl, "*"));
	CHECK(!auth_cmd_allowed(&cl, "sen"));
	CHECK(auth_jwt_verify(jwt_key, 32, t, 1000, AUTH_PAGE, &cl, &why) != 0);
	free(t);
	CHECK(jwt_check("{\"livd\":{\"cmds\":[\"*\"]}}", AUTH_API, &cl,
	    &why) == 0);
	CHECK(auth_cmd_allowed(&cl, "reload") && auth_cmd_allowed(&cl, "send"));
	/* Both kinds in one token. */
	t = auth_jwt_mint(jwt_key, 32, &(struct auth_grant){ .sub = "app",
	    .locations = locs, .nlocations = 1, .cmds = cmds, .ncmds = 1 },
	    1000, 2000);
	CHECK(auth_jwt_verify(jwt_key, 32, t, 1000, AUTH_PAGE, &cl, &why) == 0);
	CHECK(auth_allows(&cl, "/chat"));
	CHECK(auth_jwt_verify(jwt_key, 32, t, 1000, AUTH_API, &cl, &why) == 0);
	CHECK_STR(cl.sub, "app");
	CHECK(auth_cmd_allowed(&cl, "send") && !auth_cmd_allowed(&cl, "who"));
	free(t);

	/* What cannot be minted: not UTF-8, or longer than livd accepts. */
	CHECK(auth_jwt_mint(jwt_key, 32, &(struct auth_grant){ .sub = "\xff",
	    .locations = locs, .nlocations = 1 }, 1000, 2000) == NULL);
	{
		char big[AUTH_LOCATION_MAX + 1];
		const char *many[AUTH_MAX_LOCATIONS];

		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		for (size_t i = 0; i < countof(many); i++)
			many[i] = big;
		t = auth_jwt_mint(jwt_key, 32, &(struct auth_grant){
		    .sub = "a", .locations = many, .nlocations = 1 }, 1000,
		    2000);
		CHECK(t != NULL);
		free(t);
		CHECK(auth_jwt_mint(jwt_key, 32, &(struct auth_grant){
		    .sub = "a", .locations = many, .nlocations = 4 }, 1000,
		    2000) == NULL);
		/* Nor accepted, however it was signed. */
		t = jwt_make("{\"alg\":\"HS256\"}", "{\"sub\":\"a\","
		    "\"locations\":[\"/x\"],\"pad\":\""
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "\"}");
		CHECK(auth_jwt_verify(jwt_key, 32, t, 1000, AUTH_PAGE, &cl,
		    &why) == 0);
		free(t);
		bad = xprintf("{\"sub\":\"a\",\"locations\":[\"/x\"],"
		    "\"pad\":\"%s%s%s\"}", big, big, big);
		t = jwt_make("{\"alg\":\"HS256\"}", bad);
		CHECK(strlen(t) > AUTH_TOKEN_MAX);
		CHECK(auth_jwt_verify(jwt_key, 32, t, 1000, AUTH_PAGE, &cl,
		    &why) != 0);
		CHECK_STR(why, "invalid token");
		free(t);
		free(bad);
	}
}

/* Parse one ctl.def-style row; 0 or -1, with err filled on failure. */
static int
spec_row(struct ctlspec *s, const char *options, const char *arguments,
    char *err, size_t errlen)
{
	struct ctlspec_row row = { "x", 0, CTL_TARGET_NONE, options,
	    arguments, "summary" };

	err[0] = '\0';
	return ctlspec_parse(s, &row, err, errlen);
}

static void
test_ctlspec(void)
{
	static const char *bad[][2] = {
		{ "location", "" },		/* neither l: nor : */
		{ "l:", "" },			/* no key */
		{ ":Ttl", "" },			/* not lower case */
		{ ":ttl?", "" },		/* ? is for arguments */
		{ ":ttl*", "" },		/* so is * */
		{ ":ttl##", "" },		/* a suffix twice */
		{ "l:location m:location", "" },	/* a key twice */
		{ "l:location l:local!", "" },	/* a letter twice */
		{ "", "seq!" },			/* ! is for options */
		{ "", "rest*?" },		/* a list with more */
		{ "", "args* verb" },		/* after a list */
		{ "", "location? seq" },	/* required after optional */
		{ "l:location", "location" },	/* option and argument */
		{ "", "a b c d e" },		/* too many */
		{ "a:a b:b c:c d:d e:e f:f g:g h:h i:i", "" },
		{ ":this_key_is_longer_than_the_limit_of_32", "" },
		{ "l:location+#", "" },		/* a list with more */
		{ "", "args+" },		/* + is for options */
	};
	const struct ctlspec *all = ctlspec_table(), *s;
	struct ctlspec spec;
	char err[256];
	bool ambiguous;

	CHECK(spec_row(&spec, "l:location :ttl# n:dry_run!",
	    "client seconds#? args*", err, sizeof err) == 0);
	CHECK(spec.noptions == 3 && spec.nargs == 3);
	CHECK(spec.options[0].letter == 'l' &&
	    spec.options[0].type == CTLSPEC_STRING &&
	    spec.options[0].kind == CTLSPEC_LOCATION);
	CHECK_STR(spec.options[0].metavar, "LOCATION");
	CHECK(spec.options[1].letter == 0 &&
	    spec.options[1].type == CTLSPEC_NUMBER);
	CHECK_STR(spec.options[1].key, "ttl");
	CHECK_STR(spec.options[1].metavar, "TTL");
	CHECK(spec.options[2].letter == 'n' &&
	    spec.options[2].type == CTLSPEC_FLAG);
	CHECK_STR(spec.options[2].key, "dry_run");
	CHECK_STR(spec.options[2].name, "dry-run");
	CHECK(!spec.args[0].optional && spec.args[0].kind == CTLSPEC_CLIENT);
	CHECK_STR(spec.args[0].metavar, "UUID");
	CHECK_STR(spec.args[0].missing, "UUID");
	CHECK(spec.args[1].optional && spec.args[1].type == CTLSPEC_NUMBER);
	CHECK_STR(spec.args[1].missing, "seconds");
	CHECK(spec.args[2].type == CTLSPEC_LIST);
	CHECK_STR(spec.args[2].metavar, "ARG");
	CHECK(ctlspec_key(&spec, "seconds") == &spec.args[1]);
	CHECK(ctlspec_key(&spec, "dry_run") == &spec.options[2]);
	CHECK(ctlspec_key(&spec, "dry-run") == NULL);
	CHECK(ctlspec_key(&spec, "cmd") == NULL);
	CHECK(ctlspec_letter(&spec, 'n') == &spec.options[2]);
	CHECK(ctlspec_letter(&spec, 0) == NULL);
	CHECK(ctlspec_long(&spec, "dry-run") == &spec.options[2]);
	CHECK(ctlspec_long(&spec, "dry_run") == NULL);
	CHECK(spec_row(&spec, "l:location+ :cmds+", "", err, sizeof err) == 0);
	CHECK(spec.options[0].type == CTLSPEC_STRINGS &&
	    spec.options[0].kind == CTLSPEC_LOCATION);
	CHECK(spec.options[1].type == CTLSPEC_STRINGS);
	CHECK_STR(spec.options[1].metavar, "CMD,...");
	CHECK(spec_row(&spec, "", "", err, sizeof err) == 0);
	CHECK(spec.noptions == 0 && spec.nargs == 0);
	CHECK(spec_row(&spec, "  v:verbose!  ", " location? ", err,
	    sizeof err) == 0);
	CHECK(spec.noptions == 1 && spec.nargs == 1);
	for (size_t i = 0; i < countof(bad); i++) {
		CHECK(spec_row(&spec, bad[i][0], bad[i][1], err,
		    sizeof err) != 0);
		CHECK(err[0] != '\0');
	}

	/* ctl.def itself: every row parses, in order, with its flags. */
	CHECK(ctlspec_count > 0);
	for (size_t i = 0; i < ctlspec_count; i++)
		CHECK(all[i].index == i && ctlspec_find(all[i].name) ==
		    &all[i]);
	CHECK((s = ctlspec_find("send")) != NULL &&
	    (s->flags & CTL_STDIN) && (s->flags & CTL_NAMED) &&
	    s->target == CTL_TARGET_SEND);
	CHECK((s = ctlspec_find("tail")) != NULL && s->flags == CTL_STREAMS);
	/* POST /api refuses these by flag; its token bits need <= 64 rows. */
	CHECK((s = ctlspec_find("shell")) != NULL && s->flags == CTL_LIVCTL);
	CHECK(ctlspec_count <= 64);
	CHECK((s = ctlspec_find("token")) != NULL &&
	    ctlspec_key(s, "location")->type == CTLSPEC_STRINGS &&
	    ctlspec_key(s, "cmds")->type == CTLSPEC_STRINGS);
	CHECK((s = ctlspec_find("poll")) != NULL &&
	    s->target == CTL_TARGET_CLIENT && (s->flags & CTL_ACKS));
	CHECK(ctlspec_find("sen") == NULL);
	CHECK(ctlspec_lookup("sen", &ambiguous) == ctlspec_find("send") &&
	    !ambiguous);
	CHECK(ctlspec_lookup("st", &ambiguous) == NULL && ambiguous);
	CHECK(ctlspec_lookup("frob", &ambiguous) == NULL && !ambiguous);
	CHECK(ctlspec_lookup("", &ambiguous) == NULL);
}

/*
 * A hook's signature against RFC 4231's HMAC-SHA256 vectors: code livd
 * did not write made these digests.
 */
static void
test_signature(void)
{
	unsigned char key1[20], key6[131];
	char hex[65], path[] = "/tmp/livd-unit-secret.XXXXXX", err[128];
	const char *data6 =
	    "Test Using Larger Than Block-Size Key - Hash Key First";
	FILE *f;
	int fd;

	memset(key1, 0x0b, sizeof key1);
	memset(key6, 0xaa, sizeof key6);
	auth_hmac_hex(key1, sizeof key1, "Hi There", 8, hex);
	CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7");
	/* Test case 2: a key shorter than the hash. */
	auth_hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");

	/* auth_sign: no secret, no signature; then secret_file's bytes. */
	auth_free();
	CHECK(auth_sign("x", 1, hex) == -1);
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		CHECK(!"mkstemp");
		return;
	}
	fwrite(key6, 1, sizeof key6, f);
	fclose(f);
	CHECK(auth_load(path, err, sizeof err) == 0);
	CHECK(auth_sign(data6, strlen(data6), hex) == 0);
	CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54");
	/* One trailing newline is not part of the secret. */
	f = fopen(path, "a");
	fputc('\n', f);
	fclose(f);
	CHECK(auth_load(path, err, sizeof err) == 0);
	CHECK(auth_sign(data6, strlen(data6), hex) == 0);
	CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54");
	unlink(path);
	auth_free();
}

/* A failing presence hook is retried at 0.25, 0.5, 1 ... then 10 s. */
static void
test_backoff(void)
{
	static const double want[] = { 0.25, 0.5, 1, 2, 4, 8, 10, 10 };
	double d = 0;

	for (size_t i = 0; i < countof(want); i++) {
		d = backoff_next(d, 0.25, 10);
		CHECK(d == want[i]);
	}
	CHECK(backoff_next(-1, 0.25, 10) == 0.25);
	CHECK(backoff_next(0, 20, 10) == 10);
}

static void
test_flatjson(void)
{
	static const struct {
		const char	*line;
		bool		 taken;
	} lines[] = {
		{ "{\"cmd\":\"send\",\"verb\":\"append\",\"args\":[\"t\","
		    "\"<p>42</p>\"]}", true },
		{ " { \"cmd\" : \"send\" ,\n\"location\":\"/x\", \"id\":\"t\","
		    "\t\"html\":\"<b>\"}\r\n", true },
		{ "{\"cmd\":\"send\",\"args\":[]}", true },
		{ "{\"cmd\":\"send\",\"args\":[ ]}", true },
		{ "{\"a\":\"\"}", true },
		{ "{}", false },
		{ "[]", false },
		{ "{\"a\":\"b\",}", false },
		{ "{\"a\":\"b\"} x", false },
		{ "{\"a\":\"b\"", false },
		{ "{\"a\":\"b\",\"a\":\"c\"}", false },
		{ "{\"a\":\"\\u003cp\\u003E\\/\\\"\\\\\\n\"}", true },
		{ "{\"a\":\"\\u00e9\"}", false },
		{ "{\"a\":\"\\u0000\"}", false },
		{ "{\"a\":\"\\u101Z\"}", false },
		{ "{\"a\":\"\\u00\"}", false },
		{ "{\"a\":\"\\x41\"}", false },
		{ "{\"a\":\"\\\"}", false },
		{ "{\"a\":\"caf\xc3\xa9\"}", false },
		{ "{\"a\":\"\xff\"}", false },
		{ "{\"a\":\"\t\"}", false },
		{ "{\"a\":1}", false },
		{ "{\"a\":true}", false },
		{ "{\"a\":null}", false },
		{ "{\"a\":[\"b\",1]}", false },
		{ "{\"a\":[\"b\",]}", false },
		{ "{\"a\":[\"b\"}", false },
		{ "{\"a\":{\"b\":\"c\"}}", false },
		{ "{a:\"b\"}", false },
	};
	static const char *seeds[] = {
		"{\"cmd\":\"send\",\"location\":\"/bench\",\"verb\":\"append\","
		    "\"id\":\"t\",\"html\":\"<p>LBP7</p>\"}",
		"{\"cmd\":\"send\",\"verb\":\"set\",\"args\":[\"a\",\"b c\"],"
		    "\"principal\":\"ann\"}",
		"{ \"line\" : \"append t <p>1</p>\" , \"cmd\" : \"send\" }",
		"{\"cmd\":\"send\",\"html\":\"\\u003cb\\u003e\\\"x\\\"\\n\"}",
	};
	static const char noise[] = "{}[]\",: \\\t\nax0\x80\x01u7fF";
	char line[256];
	bool taken;
	int took = 0;

	for (size_t i = 0; i < countof(lines); i++) {
		CHECK(flat_agrees(lines[i].line, strlen(lines[i].line),
		    &taken));
		CHECK(taken == lines[i].taken);
		if (taken != lines[i].taken)
			fprintf(stderr, "  flatjson: %s\n", lines[i].line);
	}
	/* Mutated lines: whatever flatjson takes, jansson reads the same. */
	srandom(7);
	for (int n = 0; n < 200000; n++) {
		const char *seed = seeds[n % countof(seeds)];
		size_t len = strlen(seed);
		bool ok;

		memcpy(line, seed, len);
		for (int k = 1 + (int)(random() % 3); k > 0; k--) {
			size_t at = (size_t)random() % len;
			char ch = noise[random() % (sizeof noise - 1)];

			switch (random() % 3) {
			case 0:
				line[at] = ch;
				break;
			case 1:		/* delete */
				memmove(line + at, line + at + 1, len - at - 1);
				len--;
				break;
			default:	/* insert */
				memmove(line + at + 1, line + at, len - at);
				line[at] = ch;
				len++;
			}
		}
		ok = flat_agrees(line, len, &taken);
		took += taken;
		CHECK(ok);
		if (!ok) {
			fprintf(stderr, "  flatjson and jansson differ: %.*s\n",
			    (int)len, line);
			break;
		}
	}
	CHECK(took > 10000);	/* the mutations kept many readable */
	/* A line over FLATJSON_SIZE is left to jansson. */
	{
		char *big = xmalloc(FLATJSON_SIZE + 64);
		int n = snprintf(big, FLATJSON_SIZE + 64, "{\"a\":\"%0*d\"}",
		    FLATJSON_SIZE, 0);

		CHECK(!flatjson_parse(&(struct flatjson){ 0 }, big,
		    (size_t)n));
		free(big);
	}
}

int
main(void)
{
	test_text();
	test_verbs();
	test_frames();
	test_config();
	test_msg();
	test_queue();
	test_budget();
	test_msg_values();
	test_http();
	test_addr();
	test_etag();
	test_lines();
	test_tokens();
	test_signature();
	test_backoff();
	test_hub();
	test_ctlspec();
	test_flatjson();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

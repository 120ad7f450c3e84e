/*
 * The WebSocket transport: GET /client/UUID/ws upgrades the connection
 * (RFC 6455), and the page's events go out as text frames, each a poll
 * answer ({"seq", "refresh", "events"}); the page sends {"ack": SEQ} or
 * an input event ({"verb": ..., ARGS}) back. The handshake is written
 * here; the framing is wslay's, driven by livd's own I/O (http.c).
 *
 * Like an event stream, the socket's waiter stays attached: each wake
 * sends what is pending as one frame and counts it as acknowledged, and
 * a page that opens a new socket passes ?since=, the last seq it got, to
 * have what came after it again (hub_rewind).
 *
 * An idle socket must cost no more than a held poll. Its state lives in
 * the connection (struct ws, the owner's); wslay's context, which holds
 * a 4 KiB input buffer, exists only while frames come in, and is freed
 * again once wslay has taken every byte read and no message is half
 * received. Frames from livd carry no state from one to the next, so
 * they are all written with one shared context (ws_out).
 *
 * The page's frames are answered in order. An input the application
 * hears first (a verb with forward: true) is answered when the input
 * hook answers; what comes after it waits behind it, in ws_in.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "util.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "longpoll.h"
#include "ws.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_PROTOCOL	"livd.v1"

/* A close code and why, for the log and the frame. */
#define WS_NORMAL	1000
#define WS_UNSUPPORTED	1003

/* An answer to the page, waiting for those before it. */
struct ws_answer {
	STAILQ_ENTRY(ws_answer)	 entry;
	struct ws		*s;
	struct hook_call	*call;		/* until the hook answers */
	char			*text;
	size_t			 len;
};

/* wslay's state while frames come in, or answers wait. */
struct ws_in {
	wslay_event_context_ptr	 ctx;
	uint64_t		 fed;		/* bytes given to wslay */
	uint64_t		 used;		/* in the frames it finished */
	uint64_t		 frame;		/* the current frame's size */
	bool			 message;	/* a fragmented message is open */
	bool			 busy;		/* wslay is calling us */
	bool			 gone;		/* the connection went meanwhile */
	STAILQ_HEAD(, ws_answer) answers;
};

/* An open socket, kept in its connection. */
struct ws {
	struct waiter	 waiter;	/* first: longpoll_conn() */
	struct ws_in	*in;
	bool		 pinged;	/* nothing heard since the last ping */
};

_Static_assert(sizeof(struct ws) <= HTTP_OWNER_SIZE,
    "a socket fits in its connection");

static void	ws_wake(struct waiter *, struct client *);
static void	ws_release(struct waiter *, struct client *);
static void	ws_deadline(struct conn *, void *);
static void	ws_closed(struct conn *, void *);
static void	ws_readable(struct conn *, void *);
static bool	ws_in_idle(const struct ws_in *);

static const struct waiter_ops ws_ops = {
	.name = "ws",
	.wake = ws_wake,
	.release = ws_release,
};

static const struct http_owner ws_owner = {
	.deadline = ws_deadline,
	.closed = ws_closed,
	.input = ws_readable,
};

/* What wslay writes, gathered so that a frame is one write. */
static struct buf	 ws_pending;
static wslay_event_context_ptr ws_out;
/* Input events, as the routes handle them (ws_upgrade). */
static ws_input_fn	 ws_input;

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	(void)ctx; (void)flags; (void)arg;
	buf_add(&ws_pending, data, len);
	return (ssize_t)len;
}

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct ws *s = arg;
	ssize_t n = http_stream_read(longpoll_conn(&s->waiter), buf, len);

	(void)flags;
	if (n > 0) {
		s->in->fed += (uint64_t)n;
		return n;
	}
	wslay_event_set_error(ctx, n == 0 ? WSLAY_ERR_WOULDBLOCK :
	    WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

/* Write what wslay has queued in ctx, in one piece. */
static void
ws_flush(struct conn *c, wslay_event_context_ptr ctx)
{
	ws_pending.len = 0;
	if (wslay_event_send(ctx) != 0)
		log_debug("ws: cannot frame output");
	if (ws_pending.len > 0)
		http_stream_write(c, ws_pending.data, ws_pending.len);
	ws_pending.len = 0;
}

/* A frame from livd: a text or a ping, through the shared context. */
static void
ws_send(struct conn *c, uint8_t opcode, const void *data, size_t len)
{
	static const struct wslay_event_callbacks cb = {
		.send_callback = ws_send_cb,
	};
	struct wslay_event_msg m = { opcode, data, len };

	if (ws_out == NULL && wslay_event_context_server_init(&ws_out, &cb,
	    NULL) != 0)
		fatalx("ws: out of memory");
	if (wslay_event_queue_msg(ws_out, &m) != 0) {
		log_warnx("ws: cannot queue a frame of %zu bytes", len);
		return;
	}
	ws_flush(c, ws_out);
}

/* {"error": "...", "status": N}: an input or a frame refused. */
static void
ws_refusal(struct buf *b, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ws_refusal(struct buf *b, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_error(b, fmt, ap);
	va_end(ap);
	buf_printf(b, ",\"status\":%d}", status);
}

/* The answers whose turn has come go out. */
static void
ws_answers_flush(struct conn *c, struct ws *s)
{
	struct ws_answer *a;

	while (s->in != NULL && (a = STAILQ_FIRST(&s->in->answers)) != NULL &&
	    a->call == NULL) {
		STAILQ_REMOVE_HEAD(&s->in->answers, entry);
		ws_send(c, WSLAY_TEXT_FRAME, a->text, a->len);
		free(a->text);
		free(a);
	}
}

/* Answer a frame of the page's: now, or after those still waiting. */
static void
ws_reply(struct conn *c, struct ws *s, const char *text, size_t len)
{
	struct ws_answer *a;

	if (STAILQ_EMPTY(&s->in->answers)) {
		ws_send(c, WSLAY_TEXT_FRAME, text, len);
		return;
	}
	a = xcalloc(1, sizeof *a);
	a->s = s;
	a->text = xstrndup(text, len);
	a->len = len;
	STAILQ_INSERT_TAIL(&s->in->answers, a, entry);
}

static void
ws_refuse(struct conn *c, struct ws *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
ws_refuse(struct conn *c, struct ws *s, int status, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf_init(&b);
	ws_refusal(&b, status, "%s", msg);
	ws_reply(c, s, b.data, b.len);
	buf_free(&b);
}

static void
ws_in_free(struct ws *s)
{
	struct ws_answer *a;

	if (s->in == NULL)
		return;
	while ((a = STAILQ_FIRST(&s->in->answers)) != NULL) {
		STAILQ_REMOVE_HEAD(&s->in->answers, entry);
		if (a->call != NULL)
			hook_forget(a->call);
		free(a->text);
		free(a);
	}
	wslay_event_context_free(s->in->ctx);
	free(s->in);
	s->in = NULL;
}

/*
 * Close with code: the frame goes out, then the connection ends (the
 * page's reply, if any, is not waited for).
 */
static void
ws_close(struct conn *c, struct ws *s, uint16_t code)
{
	wslay_event_context_ptr ctx = s->in != NULL ? s->in->ctx : NULL;
	static const struct wslay_event_callbacks cb = {
		.send_callback = ws_send_cb,
	};

	if (ctx == NULL && wslay_event_context_server_init(&ctx, &cb, NULL) !=
	    0)
		fatalx("ws: out of memory");
	if (wslay_event_queue_close(ctx, code, NULL, 0) == 0)
		ws_flush(c, ctx);
	if (s->in == NULL)
		wslay_event_context_free(ctx);
	http_stream_end(c);
}

/* The client has events: one frame, which counts as acknowledged. */
static void
ws_wake(struct waiter *w, struct client *client)
{
	struct conn *c = longpoll_conn(w);
	struct blob *body;
	uint64_t seq;

	body = hub_answer(client, &seq);
	ws_send(c, WSLAY_TEXT_FRAME, body->data, body->len);
	blob_unref(body);
	hub_ack(client, seq);
	if (http_streaming(c))
		hub_wait(client, w);
}

/* The client left or another socket or poll took over. */
static void
ws_release(struct waiter *w, struct client *client)
{
	struct conn *c = longpoll_conn(w);

	(void)client;
	if (http_streaming(c))
		ws_close(c, (struct ws *)w, WS_NORMAL);
}

/*
 * Quiet for a refresh interval: ping. A page that has not answered the
 * last one (nor sent anything since) is gone, and so is its client's
 * socket.
 */
static void
ws_deadline(struct conn *c, void *data)
{
	struct ws *s = data;

	if (s->pinged) {
		log_debug("ws: client %s silent: closing",
		    s->waiter.client ? s->waiter.client->uuid : "-");
		http_stream_end(c);
		return;
	}
	s->pinged = true;
	ws_send(c, WSLAY_PING, NULL, 0);
}

static void
ws_closed(struct conn *c, void *data)
{
	struct ws *s = data;

	(void)c;
	if (s->waiter.client != NULL)
		hub_unwait(&s->waiter);
	if (s->in != NULL && s->in->busy)
		s->in->gone = true;	/* freed when wslay returns */
	else
		ws_in_free(s);
}

/* {"ack": SEQ}: acknowledge, as ?since= does. */
static void
ws_ack(struct conn *c, struct ws *s, json_t *ack)
{
	if (!json_is_integer(ack) || json_integer_value(ack) < 0) {
		ws_refuse(c, s, 400, "invalid ack");
		return;
	}
	hub_ack(s->waiter.client, (uint64_t)json_integer_value(ack));
}

/* The input hook answered a forwarded event: its turn may have come. */
static void
ws_hooked(void *arg, int status, const char *error)
{
	struct ws_answer *a = arg;
	struct ws *s = a->s;
	struct buf b;

	a->call = NULL;
	buf_init(&b);
	if (status == 200)
		buf_adds(&b, "{\"status\":200}");
	else
		ws_refusal(&b, status, "%s", error);
	a->text = xstrndup(b.data, b.len);
	a->len = b.len;
	buf_free(&b);
	ws_answers_flush(longpoll_conn(&s->waiter), s);
	if (s->in != NULL && !s->in->busy && ws_in_idle(s->in))
		ws_in_free(s);
}

/*
 * {"verb": ..., ARGS}: the fields of POST /client/UUID/input, as one
 * object of strings, under its rules. Each is answered, {"status": 200}
 * or the refusal, in order, so that a page can tell which was which.
 */
static void
ws_event(struct conn *c, struct ws *s, json_t *o)
{
	struct ws_answer *a;
	struct form f;
	const char *name;
	json_t *v;
	char err[256], q[80];
	int status;

	f.count = 0;
	json_object_foreach(o, name, v) {
		if (!json_is_string(v)) {
			quote_for_error(q, sizeof q, name);
			ws_refuse(c, s, 400, "field '%s' is not a string", q);
			return;
		}
		if (f.count == FORM_MAX_FIELDS) {
			ws_refuse(c, s, 400, "too many fields");
			return;
		}
		f.names[f.count] = name;
		f.values[f.count++] = json_string_value(v);
	}
	a = xcalloc(1, sizeof *a);
	a->s = s;
	status = ws_input(s->waiter.client, &f, ws_hooked, a, &a->call, err,
	    sizeof err);
	if (status == 0) {
		STAILQ_INSERT_TAIL(&s->in->answers, a, entry);
		return;
	}
	free(a);
	if (status != 200)
		ws_refuse(c, s, status, "%s", err);
	else
		ws_reply(c, s, "{\"status\":200}", 14);
}

/* A whole text message from the page. */
static void
ws_message(struct conn *c, struct ws *s, const uint8_t *msg, size_t len)
{
	json_t *o, *ack;
	json_error_t e;

	if (s->waiter.client == NULL)
		return;		/* released: the socket is closing */
	o = json_loadb((const char *)msg, len, JSON_REJECT_DUPLICATES, &e);
	if (o == NULL)
		ws_refuse(c, s, 400, "invalid JSON: %s", e.text);
	else if (!json_is_object(o))
		ws_refuse(c, s, 400, "expected a JSON object");
	else if ((ack = json_object_get(o, "ack")) != NULL)
		ws_ack(c, s, ack);
	else
		ws_event(c, s, o);
	json_decref(o);
}

static void
ws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *data)
{
	struct ws *s = data;

	(void)ctx;
	if (arg->opcode == WSLAY_TEXT_FRAME)
		ws_message(longpoll_conn(&s->waiter), s, arg->msg,
		    arg->msg_length);
}

/*
 * A frame begins: count its bytes (the page masks every frame: an
 * unmasked one never gets here), and refuse binary at once.
 */
static void
ws_frame_start_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *arg, void *data)
{
	struct ws *s = data;
	uint64_t n = arg->payload_length;

	s->pinged = false;
	s->in->frame = n + 2 + 4 + (n < 126 ? 0 : n < 65536 ? 2 : 8);
	if (arg->opcode == WSLAY_TEXT_FRAME ||
	    arg->opcode == WSLAY_CONTINUATION_FRAME)
		s->in->message = !arg->fin;
	if (arg->opcode == WSLAY_BINARY_FRAME) {
		wslay_event_shutdown_read(ctx);
		wslay_event_queue_close(ctx, WS_UNSUPPORTED, NULL, 0);
	}
}

static void
ws_frame_end_cb(wslay_event_context_ptr ctx, void *data)
{
	struct ws *s = data;

	(void)ctx;
	s->in->used += s->in->frame;
}

static struct ws_in *
ws_in_new(struct ws *s)
{
	static const struct wslay_event_callbacks cb = {
		.recv_callback = ws_recv_cb,
		.send_callback = ws_send_cb,
		.on_frame_recv_start_callback = ws_frame_start_cb,
		.on_frame_recv_end_callback = ws_frame_end_cb,
		.on_msg_recv_callback = ws_msg_cb,
	};
	struct ws_in *in = xcalloc(1, sizeof *in);

	if (wslay_event_context_server_init(&in->ctx, &cb, s) != 0)
		fatalx("ws: out of memory");
	STAILQ_INIT(&in->answers);
	wslay_event_config_set_max_recv_msg_length(in->ctx,
	    livd.cfg.max_body);
	return in;
}

/* Has wslay nothing of the page's in hand? Then it can go. */
static bool
ws_in_idle(const struct ws_in *in)
{
	return in->fed == in->used && !in->message &&
	    STAILQ_EMPTY(&in->answers) &&
	    wslay_event_get_queued_msg_count(in->ctx) == 0 &&
	    wslay_event_want_read(in->ctx);
}

/*
 * The page sent something: wslay reads it all (reads are edge-triggered)
 * and calls back for each message; its pongs and closes go out after.
 * A close, either side's, or an error (1002, 1007, 1009, read by wslay)
 * ends the connection once the close frame is out.
 */
static void
ws_readable(struct conn *c, void *data)
{
	struct ws *s = data;
	int rc;

	if (s->in == NULL)
		s->in = ws_in_new(s);
	s->in->busy = true;
	rc = wslay_event_recv(s->in->ctx);
	s->in->busy = false;
	if (s->in->gone) {
		ws_in_free(s);
		return;
	}
	ws_flush(c, s->in->ctx);
	if (rc != 0 || !wslay_event_want_read(s->in->ctx)) {
		if (wslay_event_get_close_sent(s->in->ctx))
			log_debug("ws: closed with %u",
			    wslay_event_get_status_code_sent(s->in->ctx));
		http_stream_end(c);
		return;
	}
	if (ws_in_idle(s->in))
		ws_in_free(s);
}

/* Is the key base64 of 16 bytes, as RFC 6455 asks? */
static bool
ws_key_valid(struct http_span key)
{
	unsigned char raw[20];
	char text[25];

	if (key.p == NULL || key.len != 24 || key.p[22] != '=' ||
	    key.p[23] != '=')
		return false;
	memcpy(text, key.p, 24);
	text[24] = '\0';
	return EVP_DecodeBlock(raw, (unsigned char *)text, 24) == 18;
}

/* Sec-WebSocket-Accept: base64 of SHA-1 of the key and the GUID. */
static void
ws_accept(struct http_span key, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[24 + sizeof WS_GUID];

	memcpy(text, key.p, 24);
	memcpy(text + 24, WS_GUID, sizeof WS_GUID);
	EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/* The answer to a request for the WebSocket that is not a handshake. */
void
ws_upgrade_required(struct conn *c)
{
	http_reply(c, 426, "application/json", "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n",
	    "{\"error\":\"WebSocket upgrade required\"}", 38);
}

/* Is this a WebSocket handshake livd takes? Answered when not. */
static bool
ws_handshake_valid(struct conn *c, const struct http_head *h)
{
	if (h->minor < 1) {
		http_error(c, 400, "WebSocket needs HTTP/1.1");
		return false;
	}
	if (!h->upgrade || !http_has_token(h->upgrade_to, "websocket")) {
		ws_upgrade_required(c);
		return false;
	}
	if (h->ws_version.p == NULL) {
		http_error(c, 400, "missing Sec-WebSocket-Version");
		return false;
	}
	if (!http_span_is(h->ws_version, "13")) {
		http_reply(c, 426, "application/json",
		    "Sec-WebSocket-Version: 13\r\n",
		    "{\"error\":\"unsupported WebSocket version\"}", 41);
		return false;
	}
	if (!ws_key_valid(h->ws_key)) {
		http_error(c, 400, "invalid Sec-WebSocket-Key");
		return false;
	}
	return true;
}

void
ws_upgrade(struct conn *c, struct request *r, ws_input_fn input)
{
	struct client *client = r->client;
	struct ws *s;
	char since[32], accept[32], extra[256];
	uint64_t seq;
	int rc;

	if (!ws_handshake_valid(c, &r->head))
		return;
	if ((rc = query_get(r->head.query, "since", since, sizeof since)) !=
	    -1 && (rc != 0 || longpoll_parse_seq(since, &seq) != 0)) {
		http_error(c, 400, "invalid since");
		return;
	}
	if (client->waiter == NULL && hub.waiting >= livd.cfg.max_polls) {
		http_error(c, 503, "too many polls");
		return;
	}
	if (rc != -1)
		hub_rewind(client, seq);
	ws_input = input;
	ws_accept(r->head.ws_key, accept);
	snprintf(extra, sizeof extra, "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s", accept,
	    http_has_token(r->head.ws_protocol, WS_PROTOCOL) ?
	    "Sec-WebSocket-Protocol: " WS_PROTOCOL "\r\n" : "");
	s = http_own(c, &ws_owner);
	s->waiter.ops = &ws_ops;
	http_upgrade(c, extra, hub_refresh(client->location));
	if (!http_streaming(c))
		return;
	hub_wait(client, &s->waiter);
}

/* At exit: the shared context and buffer. */
void
ws_free(void)
{
	wslay_event_context_free(ws_out);
	ws_out = NULL;
	buf_free(&ws_pending);
}

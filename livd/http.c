/*
 * A lean HTTP/1.1 server on libevent: accept, read and parse requests,
 * hand them to the listener's handler, write replies. Each connection is
 * one struct conn owned by this file; only conn_close() frees it, and
 * only from the connection's own callback, so no other callback ever
 * sees a freed connection. A transport holding a connection (its owner)
 * is told when it goes, before it is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "util.h"
#include "budget.h"
#include "http.h"
#include "livd.h"
#include "log.h"

#define HTTP_READ_CHUNK		16384
#define HTTP_MAX_TIMEOUTS	32

struct http_stats http_stats;

/* The main listener, and api_listen's when it is set. */
#define HTTP_MAX_LISTENERS	2
static struct {
	struct evconnlistener		*l;
	const struct http_handler	*handler;
} listeners[HTTP_MAX_LISTENERS];
static size_t			 nlisteners;
static struct event		*resume_ev;
static int			 reserve_fd = -1;	/* spent on a 503 */
static bool			 starving;		/* out of descriptors */
static double			 starved_at = -100;	/* last accept failure */
static TAILQ_HEAD(, conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);

/* trusted_proxies as nets, read again when the setting changes. */
static struct {
	char		*text;
	struct http_net	*nets;
	size_t		 n;
} trusted;

/* Common timeouts: libevent keeps equal durations in O(1) queues. */
static struct {
	double			 seconds;
	const struct timeval	*tv;
} timeouts[HTTP_MAX_TIMEOUTS];
static size_t ntimeouts;

static void	conn_counted_cb(evutil_socket_t, short, void *);
static void	conn_process(struct conn *);
static void	conn_consume(struct conn *, size_t);

static const struct {
	int		 code;
	const char	*reason;
} statuses[] = {
	{ 100, "Continue" }, { 101, "Switching Protocols" }, { 200, "OK" },
	{ 204, "No Content" }, { 304, "Not Modified" },
	{ 400, "Bad Request" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
	{ 411, "Length Required" }, { 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" }, { 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
	{ 503, "Service Unavailable" }, { 505, "HTTP Version Not Supported" },
	{ 401, "Unauthorized" }, { 504, "Gateway Timeout" },
	{ 426, "Upgrade Required" },
	{ 502, "Bad Gateway" }, { 409, "Conflict" },
	{ 422, "Unprocessable Content" },
};

static const char *
status_reason(int code)
{
	for (size_t i = 0; i < countof(statuses); i++)
		if (statuses[i].code == code)
			return statuses[i].reason;
	return "Unknown";
}

static const struct timeval *
timeout_for(double seconds)
{
	struct timeval tv;

	for (size_t i = 0; i < ntimeouts; i++)
		if (timeouts[i].seconds == seconds)
			return timeouts[i].tv;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	if (ntimeouts == HTTP_MAX_TIMEOUTS)
		return NULL;	/* the caller uses a plain timer */
	timeouts[ntimeouts].seconds = seconds;
	timeouts[ntimeouts].tv = event_base_init_common_timeout(livd.base, &tv);
	return timeouts[ntimeouts++].tv;
}

/* Wait for events on the connection, with a timeout of seconds. */
static void
conn_arm(struct conn *c, short events, double seconds)
{
	const struct timeval *tv = timeout_for(seconds);
	struct timeval plain;

	if (tv == NULL) {
		plain.tv_sec = (time_t)seconds;
		plain.tv_usec = (suseconds_t)((seconds - (double)plain.tv_sec) *
		    1e6);
		tv = &plain;
	}
	if (c->armed != events) {
		if (c->armed != 0)
			event_del(&c->ev);
		/* Reads are edge-triggered (conn_read drains the socket), so
		 * epoll does not look at every waiting socket twice. */
		event_assign(&c->ev, livd.base, c->fd, events | EV_PERSIST |
		    (events & EV_READ ? EV_ET | EV_CLOSED : 0), conn_counted_cb, c);
		c->armed = events;
	}
	event_add(&c->ev, tv);
}

/* The connection goes: its owner, if any, lets go of it first. */
static void
conn_disown(struct conn *c)
{
	const struct http_owner *o = c->owner;

	if (o == NULL)
		return;
	c->owner = NULL;
	if (o->closed != NULL)
		o->closed(c, c->owner_data);
}

/* The one place a connection is freed. */
static void
conn_close(struct conn *c)
{
	conn_disown(c);
	event_del(&c->ev);
	close(c->fd);
	if (c->out != NULL)
		evbuffer_free(c->out);
	free(c->in);
	budget_sub(c->counted);
	free(c->origin);
	TAILQ_REMOVE(&conns, c, link);
	http_stats.open--;
	free(c);
}

/*
 * Count what the connection's buffers hold now in the memory budget: its
 * input buffer and the output not yet written (blobs in it by reference
 * count as if copied, the most they could cost).
 */
static void
conn_count(struct conn *c)
{
	size_t now = c->incap + (c->out ? evbuffer_get_length(c->out) : 0);

	budget_add(now);
	budget_sub(c->counted);
	c->counted = now;
}

/* Close on the next loop turn, outside whoever is calling us. */
static void
conn_fail(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	conn_disown(c);
	c->state = CONN_CLOSING;
	event_active(&c->ev, EV_TIMEOUT, 0);
}

/* A reply is out: wait for the next request, or close. */
static void
conn_replied(struct conn *c)
{
	if (!c->keep_alive) {
		shutdown(c->fd, SHUT_WR);
		conn_fail(c);
		return;
	}
	c->state = CONN_READING;
	c->continued = false;
	conn_arm(c, EV_READ, livd.cfg.keepalive_timeout);
	/* Pipelined requests, buffered or still in the socket, or the
	 * peer's close, which came while the reply was pending. A reply
	 * made inside conn_process needs no turn: its loop and conn_cb go
	 * on with the rest, and a read now would only meet EAGAIN. */
	if (!c->processing && (c->inlen > 0 || c->more || c->eof))
		event_active(&c->ev, EV_READ, 0);
}

static void
add_blob_cleanup(const void *data, size_t len, void *arg)
{
	(void)data; (void)len;
	blob_unref(arg);
}

/*
 * Write head and body now if the socket takes them; whatever it does not
 * take waits in an evbuffer (the body by reference when it is a blob).
 */
static void
conn_write(struct conn *c, const char *head, size_t headlen,
    const char *body, size_t bodylen, struct blob *blob)
{
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = bodylen ? 2 : 1 };
	ssize_t n = 0;
	size_t total = headlen + bodylen;

	if (c->state == CONN_CLOSING)
		return;
	if (c->state != CONN_STREAMING)
		c->owner = NULL;	/* a reply ends the owner's hold */
	if (c->out == NULL || evbuffer_get_length(c->out) == 0) {
		iov[0].iov_base = (void *)head;
		iov[0].iov_len = headlen;
		iov[1].iov_base = (void *)body;
		iov[1].iov_len = bodylen;
		/*
		 * sendmsg, not writev: a socket needs no trip through the
		 * file layer, a tenth less kernel time per answer. One
		 * piece (a stream's message has no head): send, which
		 * imports no iovec.
		 */
		do
			n = headlen == 0 ? send(c->fd, body, bodylen,
			    MSG_NOSIGNAL) : sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN) {
			conn_fail(c);
			return;
		}
		if (n < 0)
			n = 0;
		http_stats.bytes_out += (size_t)n;
		if ((size_t)n == total) {
			if (c->state != CONN_STREAMING)
				conn_replied(c);
			return;
		}
	}
	if (c->out == NULL)
		c->out = evbuffer_new();
	if ((size_t)n < headlen)
		evbuffer_add(c->out, head + n, headlen - (size_t)n);
	if (bodylen > 0) {
		size_t skip = (size_t)n > headlen ? (size_t)n - headlen : 0;

		if (blob != NULL) {
			evbuffer_add_reference(c->out, body + skip,
			    bodylen - skip, add_blob_cleanup, blob_ref(blob));
		} else
			evbuffer_add(c->out, body + skip, bodylen - skip);
	}
	conn_count(c);
	if (c->state == CONN_STREAMING) {
		/* A reader that stalls may not make livd hold its stream. */
		if (evbuffer_get_length(c->out) > livd.cfg.max_output) {
			log_info("stream reader stalled: closing");
			conn_fail(c);
			return;
		}
		conn_arm(c, EV_READ | EV_WRITE, c->hold);
		return;
	}
	c->state = CONN_WRITING;
	conn_arm(c, EV_WRITE, livd.cfg.keepalive_timeout);
}

/* Write what waits in the evbuffer. */
static void
conn_flush(struct conn *c)
{
	int n = evbuffer_write(c->out, c->fd);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		conn_fail(c);
		return;
	}
	if (n > 0)
		http_stats.bytes_out += (size_t)n;
	if (evbuffer_get_length(c->out) > 0)
		return;
	if (c->state == CONN_STREAMING)
		conn_arm(c, EV_READ, c->hold);
	else
		conn_replied(c);
}

/* A response head being written into a fixed buffer. */
struct head {
	char	*p;
	char	*end;
};

static void
head_put(struct head *h, const char *s, size_t n)
{
	if (n > (size_t)(h->end - h->p))
		n = (size_t)(h->end - h->p);
	memcpy(h->p, s, n);
	h->p += n;
}

#define HEAD_PUT(h, literal)	head_put((h), (literal), sizeof(literal) - 1)

static void
head_number(struct head *h, size_t v)
{
	char digits[24], *d = digits + sizeof digits;

	do
		*--d = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	head_put(h, d, (size_t)(digits + sizeof digits - d));
}

/*
 * Format the response head; returns its length. Written by hand, not
 * with printf: every answer has one, and a fan-out makes thousands.
 * Answers are not stored, unless they have an etag to be revalidated by.
 */
static size_t
format_head(struct conn *c, char *buf, size_t size, int status,
    const char *ctype, const char *extra, const char *etag, size_t bodylen)
{
	static char date[48];
	static size_t datelen;
	static time_t date_at;
	time_t now = time(NULL);
	const char *reason = status_reason(status);
	struct head h = { buf, buf + size };

	if (now != date_at) {
		struct tm tm;

		gmtime_r(&now, &tm);
		datelen = strftime(date, sizeof date,
		    "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		date_at = now;
	}
	HEAD_PUT(&h, "HTTP/1.1 ");
	head_number(&h, (size_t)status);
	HEAD_PUT(&h, " ");
	head_put(&h, reason, strlen(reason));
	HEAD_PUT(&h, "\r\nServer: livd/" LIVD_VERSION "\r\n");
	head_put(&h, date, datelen);
	if (ctype != NULL) {
		HEAD_PUT(&h, "Content-Type: ");
		head_put(&h, ctype, strlen(ctype));
		HEAD_PUT(&h, "\r\n");
	}
	if (bodylen != HTTP_NO_LENGTH) {
		HEAD_PUT(&h, "Content-Length: ");
		head_number(&h, bodylen);
		HEAD_PUT(&h, "\r\n");
	}
	if (c->origin != NULL) {
		HEAD_PUT(&h, "Access-Control-Allow-Origin: ");
		head_put(&h, c->origin, strlen(c->origin));
		HEAD_PUT(&h, "\r\nAccess-Control-Allow-Credentials: true\r\n"
		    "Vary: Origin\r\n");
	}
	if (etag == NULL)
		HEAD_PUT(&h, "Cache-Control: no-store\r\n");
	else {
		HEAD_PUT(&h, "Cache-Control: no-cache\r\nETag: ");
		head_put(&h, etag, strlen(etag));
		HEAD_PUT(&h, "\r\n");
		/* Kept, it may be shown to a page of another origin. */
		if (c->origin == NULL)
			HEAD_PUT(&h, "Vary: Origin\r\n");
	}
	if (!c->keep_alive)
		HEAD_PUT(&h, "Connection: close\r\n");
	else if (c->http10)
		HEAD_PUT(&h, "Connection: keep-alive\r\n");
	if (extra != NULL)
		head_put(&h, extra, strlen(extra));
	HEAD_PUT(&h, "\r\n");
	return (size_t)(h.p - buf);
}

/*
 * Reply with a body copied from the caller (or none); a 204 or 304 has
 * neither body nor length.
 */
void
http_reply(struct conn *c, int status, const char *ctype, const char *extra,
    const void *body, size_t len)
{
	char head[1024];
	size_t headlen;

	if (status == 204 || status == 304)
		len = HTTP_NO_LENGTH;
	headlen = format_head(c, head, sizeof head, status, ctype, extra, NULL,
	    len);
	conn_write(c, head, headlen, body, c->head_only ||
	    len == HTTP_NO_LENGTH ? 0 : len, NULL);
}

/*
 * Reply 200 with a body the browser keeps and revalidates (ETag etag,
 * quoted; Cache-Control: no-cache), written by reference when it is the
 * blob's; 304 without it when the request's If-None-Match names etag.
 */
void
http_reply_tagged(struct conn *c, const struct request *r, const char *ctype,
    const char *etag, const char *body, size_t len, struct blob *b)
{
	char head[1024];
	size_t headlen;

	if (http_etag_match(r->head.if_none_match, etag)) {
		headlen = format_head(c, head, sizeof head, 304, NULL, NULL,
		    etag, HTTP_NO_LENGTH);
		conn_write(c, head, headlen, NULL, 0, NULL);
		return;
	}
	headlen = format_head(c, head, sizeof head, 200, ctype, NULL, etag,
	    len);
	conn_write(c, head, headlen, body, c->head_only ? 0 : len, b);
}

/* Reply with a shared body, written by reference. */
void
http_reply_blob(struct conn *c, int status, const char *ctype,
    struct blob *b)
{
	char head[1024];
	size_t headlen;

	headlen = format_head(c, head, sizeof head, status, ctype, NULL, NULL,
	    b->len);
	conn_write(c, head, headlen, b->data, c->head_only ? 0 : b->len, b);
}

/* An error reply: {"error": "..."}. */
void
http_error(struct conn *c, int status, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_error(&b, fmt, ap);
	va_end(ap);
	buf_adds(&b, "}");
	http_reply(c, status, "application/json", NULL, b.data, b.len);
	buf_free(&b);
}

/*
 * Make o the owner of c, which keeps its state in the area returned
 * (HTTP_OWNER_SIZE bytes, zeroed).
 */
void *
http_own(struct conn *c, const struct http_owner *o)
{
	c->owner = o;
	memset(c->owner_data, 0, sizeof c->owner_data);
	return c->owner_data;
}

/* The connection whose owner's state this is. */
struct conn *
http_owner_conn(void *data)
{
	return container_of(data, struct conn, owner_data);
}

/* Hold the request; the owner's deadline runs if nothing answers it. */
void
http_hold(struct conn *c, double seconds)
{
	c->state = CONN_HELD;
	conn_arm(c, EV_READ, seconds);
}

/*
 * Write a stream's head; the owner's deadline runs every heartbeat
 * seconds while it is quiet.
 */
static void
stream_open(struct conn *c, int status, const char *ctype, const char *extra,
    double heartbeat)
{
	char head[1024];
	size_t headlen;

	headlen = format_head(c, head, sizeof head, status, ctype, extra, NULL,
	    HTTP_NO_LENGTH);
	c->keep_alive = false;
	c->state = CONN_STREAMING;
	c->hold = heartbeat;
	conn_arm(c, EV_READ, heartbeat);
	conn_write(c, head, headlen, NULL, 0, NULL);
}

/*
 * Start a stream (an event stream ends with the connection, so it has no
 * length).
 */
void
http_stream_start(struct conn *c, const char *ctype, double heartbeat)
{
	c->keep_alive = false;
	stream_open(c, 200, ctype, "X-Accel-Buffering: no\r\n", heartbeat);
}

/*
 * Switch protocols (101, with the extra headers, Upgrade and Connection
 * among them): the connection is a stream from now on, whose input goes
 * to the owner.
 */
void
http_upgrade(struct conn *c, const char *extra, double heartbeat)
{
	c->keep_alive = true;	/* no "Connection: close" in the head */
	stream_open(c, 101, NULL, extra, heartbeat);
}

/*
 * Read what a stream's peer sent, the input left after its request
 * first: the bytes read, 0 when there is nothing more for now, -1 when
 * the peer is gone.
 */
ssize_t
http_stream_read(struct conn *c, void *buf, size_t len)
{
	ssize_t n;

	if (c->inlen > 0) {
		n = (ssize_t)(len < c->inlen ? len : c->inlen);
		memcpy(buf, c->in, (size_t)n);
		conn_consume(c, (size_t)n);
		return n;
	}
	do
		n = recv(c->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	return n > 0 ? n : -1;
}

void
http_stream_write(struct conn *c, const char *data, size_t len)
{
	if (c->state == CONN_STREAMING)
		conn_write(c, "", 0, data, len, NULL);
}

/* End a stream once what it wrote is out. */
void
http_stream_end(struct conn *c)
{
	if (c->state != CONN_STREAMING)
		return;
	if (c->out != NULL && evbuffer_get_length(c->out) > 0) {
		c->state = CONN_WRITING;
		conn_arm(c, EV_WRITE, livd.cfg.keepalive_timeout);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	conn_fail(c);
}

/* Is a stream still open (not closing, not stalled)? */
bool
http_streaming(const struct conn *c)
{
	return c->state == CONN_STREAMING;
}

static void
continue_once(struct conn *c)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (c->continued)
		return;
	c->continued = true;
	if (write(c->fd, msg, sizeof msg - 1) < 0 && errno != EAGAIN)
		conn_fail(c);
}

/*
 * The head announces a body: may it come? While the handler looks, the
 * connection is marked to close, since a refusal leaves the body unread.
 */
static bool
conn_admit(struct conn *c, struct request *r)
{
	bool keep_alive = c->keep_alive;

	c->keep_alive = false;
	r->client = NULL;
	if (!c->handler->admit(c, r))
		return false;
	c->keep_alive = keep_alive;
	return true;
}

/* Answer an error and close: whatever else came in is dropped unread. */
static void
conn_reject(struct conn *c, int status, const char *why)
{
	c->keep_alive = false;
	http_error(c, status, "%s", why);
	c->inlen = 0;
}

/*
 * Keep the page's origin when the handler lets it read the answers:
 * every answer on the connection names it, a held poll's later too. A
 * copy only when CORS is in use, kept while the same origin asks again.
 */
static void
conn_cors(struct conn *c, struct http_span origin)
{
	if (origin.p == NULL || origin.len > HTTP_ORIGIN_MAX ||
	    c->handler->cors == NULL || !c->handler->cors(origin)) {
		free(c->origin);
		c->origin = NULL;
		return;
	}
	if (c->origin != NULL && http_span_is(origin, c->origin))
		return;
	free(c->origin);
	c->origin = xstrndup(origin.p, origin.len);
}

/* trusted_proxies, parsed once per value of the setting. */
static const struct http_net *
trusted_nets(const char *text, size_t *n)
{
	size_t len;

	if (trusted.text == NULL || strcmp(trusted.text, text) != 0) {
		free(trusted.text);
		free(trusted.nets);
		trusted.text = xstrdup(text);
		trusted.nets = xcalloc(strlen(text) / 2 + 1,
		    sizeof *trusted.nets);
		trusted.n = 0;
		for (text += strspn(text, " "); *text != '\0';
		    text += strspn(text, " ")) {
			len = strcspn(text, " ");
			/* The config checked every word. */
			if (http_net_parse(text, len, &trusted.nets[trusted.n]))
				trusted.n++;
			text += len;
		}
	}
	*n = trusted.n;
	return trusted.nets;
}

/*
 * The client's address: the peer's, or, when the peer is a trusted
 * proxy, the one X-Forwarded-For gives.
 */
static void
conn_client_addr(struct conn *c, struct request *r)
{
	const struct http_net *nets;
	size_t n;

	r->addr = c->peer;
	if (livd.cfg.trusted_proxies == NULL)
		return;
	nets = trusted_nets(livd.cfg.trusted_proxies, &n);
	if (http_nets_have(nets, n, &c->peer))
		http_forwarded(r->head.forwarded_for, nets, n, &r->addr);
}

/*
 * Handle the request at the start of buf: the bytes it took once it is
 * dispatched, 0 when it is not all in yet or was refused.
 */
static size_t
conn_request(struct conn *c, char *buf, size_t len)
{
	static const int statuses[] = {
		[HTTP_PARSE_BAD] = 400, [HTTP_PARSE_TOO_LARGE] = 431,
		[HTTP_PARSE_VERSION] = 505
	};
	size_t max = livd.cfg.max_header, need, blank = 0;
	struct request r;
	enum http_parse rc;
	const char *err;

	c->head_only = false;
	/* Empty lines before a request are ignored (RFC 9112, 2.2), up to
	 * max_header bytes of them: past that, no client is talking HTTP. */
	while (blank < len && blank <= max &&
	    (buf[blank] == '\r' || buf[blank] == '\n'))
		blank++;
	if (blank > max) {
		conn_cors(c, (struct http_span){ NULL, 0 });
		conn_reject(c, 400, "too many empty lines before the request");
		return 0;
	}
	/* The head is looked for in its first max bytes after them, read
	 * in place. */
	rc = http_parse_head(buf, len < blank + max ? len : blank + max, max,
	    &r.head, &err);
	if (rc == HTTP_PARSE_INCOMPLETE)
		return 0;
	if (rc != HTTP_PARSE_OK) {
		conn_cors(c, (struct http_span){ NULL, 0 });
		conn_reject(c, statuses[rc], err);
		return 0;
	}
	c->http10 = r.head.minor == 0;
	c->keep_alive = r.head.minor >= 1 ? !r.head.close :
	    r.head.keep_alive && !r.head.close;
	conn_cors(c, r.head.origin);
	conn_client_addr(c, &r);
	if (r.head.chunked) {
		conn_reject(c, 411, "chunked request bodies are not "
		    "supported: send Content-Length");
		return 0;
	}
	if (r.head.content_length > 0 && !conn_admit(c, &r)) {
		c->inlen = 0;
		return 0;
	}
	need = r.head.size + (size_t)(r.head.content_length > 0 ?
	    r.head.content_length : 0);
	if (need > len) {
		if (r.head.expect_continue)
			continue_once(c);
		return 0;
	}
	r.body = buf + r.head.size;
	r.bodylen = need - r.head.size;
	r.client = NULL;
	http_stats.requests++;
	c->handler->dispatch(c, &r);
	return need;
}

/*
 * Drop the input the requests took; a connection that only waits keeps
 * no input buffer.
 */
static void
conn_consume(struct conn *c, size_t used)
{
	if (c->state == CONN_CLOSING || used >= c->inlen)
		c->inlen = 0;	/* all taken, or dropped by a refusal */
	else if (used > 0) {
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
	if (used > 0)
		c->request_at = 0;	/* the next request's clock starts anew */
	if (c->inlen == 0 && c->in != NULL) {
		free(c->in);
		c->in = NULL;
		c->incap = 0;
	}
}

/* Parse and dispatch the requests buffered in c->in. */
static void
conn_process(struct conn *c)
{
	size_t used = 0, n;

	c->processing = true;
	while (c->state == CONN_READING && used < c->inlen &&
	    (n = conn_request(c, c->in + used, c->inlen - used)) > 0)
		used += n;
	c->processing = false;
	conn_consume(c, used);
	/* What came after an upgrade request is the new protocol's. */
	if (c->state == CONN_STREAMING && c->inlen > 0 && c->owner != NULL &&
	    c->owner->input != NULL)
		event_active(&c->ev, EV_READ, 0);
}

/* The most input held for a connection: room for one whole request. */
static size_t
conn_input_limit(void)
{
	return livd.cfg.max_header + (livd.cfg.max_body >
	    livd.cfg.max_api_body ? livd.cfg.max_body :
	    livd.cfg.max_api_body) + 4096;
}

/*
 * Read what the socket has (reads are edge-triggered) into one buffer
 * shared by all connections, then keep it in c->in, sized to fit: a
 * connection that is only waiting holds no input buffer at all.
 *
 * Input is read up to room for one whole request, no more: the rest
 * waits in the socket (c->more, and TCP slows the client) until the
 * requests before it are answered, so pipelining any number of requests
 * is back-pressure, not an error. Once the peer has closed its side, the
 * socket is read to its end (c->eof), so that a complete request before
 * the close is answered rather than taken for a lost one. -1 when the
 * connection failed.
 */
static int
conn_read(struct conn *c)
{
	static char chunk[HTTP_READ_CHUNK];
	size_t limit = conn_input_limit(), want;
	ssize_t n;

	c->more = false;
	while (!c->eof) {
		if (c->inlen >= limit) {
			c->more = true;
			return 0;
		}
		want = limit - c->inlen < sizeof chunk ? limit - c->inlen :
		    sizeof chunk;
		n = recv(c->fd, chunk, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		if (n == 0) {
			c->eof = true;
			return 0;
		}
		if (c->incap < c->inlen + (size_t)n) {
			c->incap = c->inlen + (size_t)n;
			c->in = xrealloc(c->in, c->incap);
		}
		memcpy(c->in + c->inlen, chunk, (size_t)n);
		c->inlen += (size_t)n;
		if ((size_t)n < want && !c->rdhup)
			return 0;	/* drained: the next read would block */
	}
	return 0;
}

/*
 * A request must arrive whole within keepalive_timeout of its first byte:
 * a client trickling bytes (each of which would restart the idle timer)
 * cannot hold a connection open.
 */
static bool
request_too_slow(struct conn *c)
{
	double now = now_mono();

	if (c->request_at == 0 || c->request_at > now) {
		c->request_at = now;
		return false;
	}
	return now - c->request_at > livd.cfg.keepalive_timeout;
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	if (c->state == CONN_CLOSING) {
		conn_close(c);
		return;
	}
	if (what & EV_TIMEOUT) {
		if ((c->state == CONN_HELD || c->state == CONN_STREAMING) &&
		    c->owner != NULL && c->owner->deadline != NULL)
			c->owner->deadline(c, c->owner_data);
		else if (c->state == CONN_READING && c->inlen > 0)
			conn_reject(c, 408, "request timeout");
		else
			conn_fail(c);
		return;
	}
	if ((what & EV_WRITE) && c->out != NULL) {
		conn_flush(c);
		if (c->state == CONN_CLOSING)
			return;
	}
	if (what & (EV_READ | EV_CLOSED)) {
		if (c->state == CONN_STREAMING && c->owner != NULL &&
		    c->owner->input != NULL) {
			c->owner->input(c, c->owner_data);
			return;
		}
		if (what & EV_CLOSED)
			c->rdhup = true;
		if (conn_read(c) != 0) {
			conn_fail(c);
			return;
		}
		if (c->state == CONN_READING)
			conn_process(c);
		if (c->state == CONN_READING && c->inlen > 0 &&
		    request_too_slow(c))
			conn_reject(c, 408, "request timeout");
		/* Room again for input left in the socket: read on, on a
		 * later turn so other connections get theirs. */
		if (c->state == CONN_READING && c->more &&
		    c->inlen < conn_input_limit())
			event_active(&c->ev, EV_READ, 0);
		/* The peer is done sending and every whole request it sent is
		 * answered (one being written closes after it, through
		 * conn_replied); a poll or stream it left behind is dropped,
		 * even with input unread behind it. */
		if ((c->eof || (c->rdhup && c->state != CONN_READING)) &&
		    c->state != CONN_CLOSING && c->state != CONN_WRITING)
			conn_fail(c);
	}
}

/* Every event on a connection, its buffers counted after. */
static void
conn_counted_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING) {
		conn_close(c);
		return;
	}
	conn_cb(fd, what, arg);
	conn_count(c);	/* freed only by conn_close, on a later turn */
}

/* The peer's address, as an http_addr. */
static void
peer_addr(const struct sockaddr *sa, struct http_addr *a)
{
	memset(a, 0, sizeof *a);
	if (sa->sa_family == AF_INET6)
		memcpy(a->b, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
	else if (sa->sa_family == AF_INET) {
		a->b[10] = a->b[11] = 0xff;
		memcpy(a->b + 12, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
	}
}

/* Answer a connection over the limit with 503, best effort, and close. */
static void
refuse(int fd, const char *why)
{
	char msg[256], body[96];
	int n;

	snprintf(body, sizeof body, "{\"error\":\"%s\"}", why);
	n = snprintf(msg, sizeof msg, "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", strlen(body), body);
	if (n > 0 && write(fd, msg, (size_t)n) < 0)
		log_debug("refused connection: %s", strerror(errno));
	close(fd);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct conn *c;
	int one = 1;

	(void)l; (void)salen;
	if (starving && now_mono() - starved_at > 10) {
		log_info("accepting connections again");
		starving = false;
	}
	if (http_stats.open >= livd.cfg.max_connections) {
		refuse(fd, "too many connections");
		return;
	}
	evutil_make_socket_nonblocking(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->state = CONN_READING;
	c->handler = arg;
	peer_addr(sa, &c->peer);
	TAILQ_INSERT_TAIL(&conns, c, link);
	http_stats.open++;
	http_stats.connections++;
	conn_arm(c, EV_READ, livd.cfg.keepalive_timeout);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_enable(listeners[i].l);
}

/*
 * accept() failed. Out of descriptors, the listener stays readable and
 * would spin: spend the reserve descriptor to tell the waiting clients
 * 503, pause accepting a moment, and log once per shortage. Pages that
 * are connected keep being served all along.
 */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval pause = { 0, 100000 };
	int error = EVUTIL_SOCKET_ERROR(), fd;

	(void)arg;
	if (error != EMFILE && error != ENFILE && error != ENOBUFS &&
	    error != ENOMEM) {
		log_warnx("accept: %s", evutil_socket_error_to_string(error));
		return;
	}
	/* One line per shortage: a burst ends after 10 s without failing. */
	if (!starving)
		log_warnx("accept: %s: answering new connections 503 until "
		    "descriptors free up", evutil_socket_error_to_string(error));
	starving = true;
	starved_at = now_mono();
	for (int i = 0; i < 64 && reserve_fd >= 0; i++) {
		close(reserve_fd);
		reserve_fd = -1;
		fd = accept4(evconnlistener_get_fd(l), NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			refuse(fd, "out of descriptors");
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
	}
	evconnlistener_disable(l);
	event_add(resume_ev, &pause);
}

/*
 * Parse "[ADDR:]PORT": ADDR is an IPv4 address, [IPv6], a host name, or
 * * for every address; without it, 127.0.0.1. PORT may be 0.
 */
static int
parse_listen(const char *spec, struct sockaddr_storage *ss, int *sslen)
{
	struct addrinfo hints, *res;
	char host[256], portbuf[16], *colon, *end;
	const char *port;
	long n;

	if (strlen(spec) >= sizeof host)
		return -1;
	snprintf(host, sizeof host, "%s", spec);
	if ((colon = strrchr(host, ':')) == NULL ||
	    (host[0] != '[' && strchr(host, ':') != colon)) {
		if (colon != NULL)
			return -1;
		port = spec;
		snprintf(host, sizeof host, "127.0.0.1");
	} else {
		*colon = '\0';
		snprintf(portbuf, sizeof portbuf, "%s", colon + 1);
		port = portbuf;
		if (host[0] == '[') {
			size_t len = strlen(host);

			if (len < 3 || host[len - 1] != ']')
				return -1;
			memmove(host, host + 1, len - 2);
			host[len - 2] = '\0';
		}
		if (strcmp(host, "*") == 0)
			snprintf(host, sizeof host, "0.0.0.0");
	}
	n = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || n < 0 || n > 65535)
		return -1;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = (int)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * Listen on "[ADDR:]PORT" (ADDR defaults to 127.0.0.1) and hand what
 * comes to handler; the address bound (with the real port when PORT was
 * 0) is written to bound.
 */
int
http_listen(const char *spec, const struct http_handler *handler,
    char *bound, size_t boundlen)
{
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	char addr[256], host[128];
	struct evconnlistener *listener;
	socklen_t len;
	evutil_socket_t fd;

	if (nlisteners == HTTP_MAX_LISTENERS)
		return -1;
	if (parse_listen(spec, &ss, &sslen) != 0) {
		log_warnx("invalid listen address '%s'", spec);
		return -1;
	}
	snprintf(addr, sizeof addr, "%s", spec);
	listener = evconnlistener_new_bind(livd.base, accept_cb,
	    (void *)handler, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_EXEC, 4096, (struct sockaddr *)&ss, sslen);
	if (listener == NULL) {
		log_warn("cannot listen on %s", addr);
		return -1;
	}
	listeners[nlisteners].l = listener;
	listeners[nlisteners++].handler = handler;
	evconnlistener_set_error_cb(listener, accept_error_cb);
	if (resume_ev == NULL)
		resume_ev = evtimer_new(livd.base, resume_cb, NULL);
	if (reserve_fd < 0)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = evconnlistener_get_fd(listener);
	len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		snprintf(bound, boundlen, "[%s]:%d", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
		snprintf(bound, boundlen, "%s:%d", host, ntohs(s4->sin_port));
	}
	return 0;
}

/* Stop listening and close every connection (held polls first answered). */
void
http_shutdown(void)
{
	struct conn *c;

	for (size_t i = 0; i < nlisteners; i++)
		evconnlistener_free(listeners[i].l);
	if (resume_ev != NULL)
		event_free(resume_ev);
	resume_ev = NULL;
	if (reserve_fd >= 0)
		close(reserve_fd);
	reserve_fd = -1;
	free(trusted.text);
	free(trusted.nets);
	memset(&trusted, 0, sizeof trusted);
	while ((c = TAILQ_FIRST(&conns)) != NULL) {
		/* Best effort: push out what is pending, then close. */
		if (c->out != NULL && c->state != CONN_CLOSING)
			evbuffer_write(c->out, c->fd);
		conn_close(c);
	}
	for (size_t i = 0; i < nlisteners; i++)
		if (listeners[i].handler->shutdown != NULL)
			listeners[i].handler->shutdown();
	nlisteners = 0;
}

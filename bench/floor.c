/*
 * floor: the least CPU a long-poll server can spend per delivery on this
 * kernel. Not a product: the measure of what the kernel's TCP loopback
 * path costs, so livd's and nchan's figures can be judged against what is
 * physically possible.
 *
 * It speaks the part of nchan's protocol that livbench -k nchan uses:
 * GET /sub/CHANNEL is held until the next POST /pub/CHANNEL, whose body
 * every held GET then gets back as 200 with Last-Modified and Etag (the
 * cursor livbench sends back as If-Modified-Since / If-None-Match). One
 * channel, whatever its name; only the latest message is kept, which is
 * enough since livbench publishes a round only when the last one is in.
 *
 * The minimum of work: edge-triggered epoll, one recv per readable event
 * (a short read means drained), one send per answer, the answer formatted
 * once per publish for every held client, keep-alive, no timers.
 *
 * It is also the floor of a publish (livbench --publish): a POST /pub
 * with no GET held is one recv, a copy of the body and one send of a
 * constant 201, so its CPU is the kernel's request and answer.
 *
 * And the floor of a stream (livbench --transport sse|ws): GET /sse/CHANNEL
 * is answered with an event-stream head and GET /ws/CHANNEL with a 101
 * WebSocket handshake, and the connection stays open; each publish is
 * then one send per open stream of the message framed once (an SSE
 * "id:"/"data:" message, or an unmasked WebSocket text frame). What a
 * streaming server must do at least: one write per connection per event,
 * no re-poll to read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXREQ	8192	/* a request, body included; longer: close */

enum stream { S_NONE, S_SSE, S_WS };

struct conn {
	int		 fd;		/* -1: closed, freed after the batch */
	int		 at;		/* index in its list, -1 if in none */
	enum stream	 stream;	/* what it streams, once opened */
	char		*stash;		/* a partial request */
	size_t		 stashlen;
	char		*out;		/* what send could not take */
	size_t		 outlen;
	struct conn	*next;		/* on the dead list */
};

/* Connections waiting for a publish, in no order. */
struct list {
	struct conn	**v;
	size_t		  n, cap;
};
static struct list	  held;		/* GETs waiting for the next publish */
static struct list	  streams;	/* open streams: SSE and WebSocket */
static struct conn	 *dead;

static char		  latest[MAXREQ];	/* the latest message's body */
static size_t		  latestlen;
static time_t		  latestat;	/* when it was published */
static uint64_t		  seq;		/* messages published: the Etag */
static char		  msg[MAXREQ + 256];	/* its answer, whole */
static size_t		  msglen;
static uint64_t		  msgseq;	/* the message msg holds */
static char		  smsg[MAXREQ + 64];	/* it as an SSE message */
static size_t		  smsglen;
static char		  wmsg[MAXREQ + 16];	/* as a WebSocket frame */
static size_t		  wmsglen;

static char		  rbuf[MAXREQ];
static double		  fanouts[4096];	/* ms per publish, for the log */
static size_t		  nfanouts;
static int		  ep;
static volatile sig_atomic_t quit;

static const char created[] = "HTTP/1.1 201 Created\r\n"
    "Content-Length: 3\r\n\r\nok\n";
static const char ssehead[] = "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\nCache-Control: no-store\r\n\r\n";

static void	die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	usage(void) __attribute__((noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "floor: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A held GET is in held, an open stream in streams. */
static struct list *
conn_list(struct conn *c)
{
	return c->stream == S_NONE ? &held : &streams;
}

static void
list_add(struct conn *c)
{
	struct list *l = conn_list(c);
	struct conn **p;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		if ((p = realloc(l->v, l->cap * sizeof *l->v)) == NULL)
			die("out of memory");
		l->v = p;
	}
	c->at = (int)l->n;
	l->v[l->n++] = c;
}

/* Out of its list: the last one takes its slot. */
static void
list_drop(struct conn *c)
{
	struct list *l = conn_list(c);

	if (c->at == -1)
		return;
	l->v[c->at] = l->v[--l->n];
	l->v[c->at]->at = c->at;
	c->at = -1;
}

/* Freed only after the batch: a later event in it may name c. */
static void
conn_close(struct conn *c)
{
	if (c->fd == -1)
		return;
	list_drop(c);
	close(c->fd);
	c->fd = -1;
	c->next = dead;
	dead = c;
}

static void
want_out(struct conn *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET,
	    .data.ptr = c };

	if (on)
		ev.events |= EPOLLOUT;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Queue what send did not take; rare, so a copy is fine. */
static int
keep(struct conn *c, const char *buf, size_t len)
{
	char *p;

	if (c->outlen + len > 4 * MAXREQ || (p = realloc(c->out,
	    c->outlen + len)) == NULL)
		return -1;
	memcpy(p + c->outlen, buf, len);
	c->out = p;
	if (c->outlen == 0)
		want_out(c, 1);
	c->outlen += len;
	return 0;
}

/* One send per answer; -1 means close. */
static int
answer(struct conn *c, const char *buf, size_t len)
{
	ssize_t n;

	if (c->outlen > 0)
		return keep(c, buf, len);
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno != EAGAIN)
			return -1;
		n = 0;
	}
	if ((size_t)n == len)
		return 0;
	return keep(c, buf + n, len - (size_t)n);
}

static void
conn_flush(struct conn *c)
{
	ssize_t n;

	n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno != EAGAIN)
			conn_close(c);
		return;
	}
	c->outlen -= (size_t)n;
	memmove(c->out, c->out + n, c->outlen);
	if (c->outlen == 0)
		want_out(c, 0);
}

/* The value of header name in the head at buf, or NULL. */
static const char *
header(const char *buf, size_t hlen, const char *name)
{
	const char *p = buf, *end = buf + hlen;
	size_t nlen = strlen(name);

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		if ((size_t)(end - p) > nlen &&
		    strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			for (p += nlen + 1; *p == ' '; p++)
				;
			return p;
		}
	}
	return NULL;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* At exit: the fan-out times, as livd's own metric would give them. */
static void
log_fanouts(void)
{
	if (nfanouts == 0)
		return;
	qsort(fanouts, nfanouts, sizeof *fanouts, by_value);
	fprintf(stderr, "floor_fanouts=%zu floor_fanout_ms_p50=%.2f "
	    "floor_fanout_ms_max=%.2f\n", nfanouts, fanouts[nfanouts / 2],
	    fanouts[nfanouts - 1]);
}

/* The latest message's answer, formatted once, when first wanted. */
static void
format_latest(void)
{
	char date[64];
	struct tm tm;
	int hlen;

	if (msgseq == seq)
		return;
	gmtime_r(&latestat, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	hlen = snprintf(msg, sizeof msg, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %zu\r\nLast-Modified: %s\r\n"
	    "Etag: %llu\r\n\r\n", latestlen, date,
	    (unsigned long long)seq);
	memcpy(msg + hlen, latest, latestlen);
	msglen = (size_t)hlen + latestlen;
	msgseq = seq;
}

/* The latest message as an SSE message and a WebSocket text frame. */
static void
format_stream(void)
{
	size_t n = 0;

	smsglen = (size_t)snprintf(smsg, sizeof smsg, "id: %llu\ndata: ",
	    (unsigned long long)seq);
	memcpy(smsg + smsglen, latest, latestlen);
	smsglen += latestlen;
	memcpy(smsg + smsglen, "\n\n", 2);
	smsglen += 2;
	wmsg[n++] = (char)0x81;		/* FIN, text */
	if (latestlen < 126)
		wmsg[n++] = (char)latestlen;
	else {
		wmsg[n++] = 126;	/* MAXREQ fits 16 bits */
		wmsg[n++] = (char)(latestlen >> 8);
		wmsg[n++] = (char)(latestlen & 0xff);
	}
	memcpy(wmsg + n, latest, latestlen);
	wmsglen = n + latestlen;
}

/*
 * Keep the message; answer every held GET with it, head formatted once,
 * and time that: from the publish read to the last answer written. With
 * no GET held, a publish costs only its copy (the floor of a publish is
 * its request and answer): the answer is formatted when one wants it.
 */
static void
publish(const char *body, size_t blen)
{
	double start;
	struct conn *c;
	size_t n = held.n;

	memcpy(latest, body, blen);
	latestlen = blen;
	latestat = time(NULL);
	seq++;
	if (n == 0 && streams.n == 0)
		return;
	start = now_ms();
	if (n > 0)
		format_latest();
	for (size_t i = 0; i < held.n; i++) {
		c = held.v[i];
		c->at = -1;	/* so conn_close leaves held alone */
		if (answer(c, msg, msglen) == -1)
			conn_close(c);
	}
	held.n = 0;
	if (streams.n > 0)
		format_stream();
	/* backwards: a stream closed here swaps the last one into its slot */
	for (size_t i = streams.n; i-- > 0;) {
		c = streams.v[i];
		if (c->stream == S_WS ? answer(c, wmsg, wmsglen) == -1 :
		    answer(c, smsg, smsglen) == -1)
			conn_close(c);
	}
	if (nfanouts < sizeof fanouts / sizeof *fanouts)
		fanouts[nfanouts++] = now_ms() - start;
}

/*
 * A GET: answered at once if its cursor is behind the latest message
 * (published while the client was between polls), else held.
 */
static int
subscribe(struct conn *c, const char *buf, size_t hlen)
{
	const char *v = header(buf, hlen, "if-none-match");

	if (v != NULL && seq > 0) {
		if (*v == '"')
			v++;
		if (strtoull(v, NULL, 10) < seq) {
			format_latest();
			return answer(c, msg, msglen);
		}
	}
	list_add(c);
	return 0;
}

/*
 * A stream opens: its head (for a WebSocket, the handshake's answer,
 * Sec-WebSocket-Accept computed from the key) and it joins streams[].
 */
static int
stream_open(struct conn *c, const char *buf, size_t hlen, enum stream kind)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char key[64 + sizeof guid], sha[SHA_DIGEST_LENGTH];
	char head[256], acc[64];
	const char *v;
	size_t klen;
	int len;

	if (kind == S_WS) {
		if ((v = header(buf, hlen, "sec-websocket-key")) == NULL ||
		    (klen = strcspn(v, "\r\n ")) > 64)
			return -1;
		memcpy(key, v, klen);
		memcpy(key + klen, guid, sizeof guid - 1);
		SHA1(key, klen + sizeof guid - 1, sha);
		EVP_EncodeBlock((unsigned char *)acc, sha, sizeof sha);
		len = snprintf(head, sizeof head, "HTTP/1.1 101 Switching "
		    "Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade"
		    "\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
		if (answer(c, head, (size_t)len) == -1)
			return -1;
	} else if (answer(c, ssehead, sizeof ssehead - 1) == -1)
		return -1;
	c->stream = kind;	/* first: it says which list */
	list_add(c);
	return 0;
}

/* One request at buf: its length, 0 if incomplete, -1 to close. */
static ssize_t
request(struct conn *c, const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *v;
	size_t hlen, clen;

	if (end == NULL)
		return 0;
	if (c->at != -1)
		return -1;	/* pipelined behind a held GET: not ours */
	hlen = (size_t)(end - buf) + 4;
	if (hlen > 9 && memcmp(buf, "GET /sub/", 9) == 0)
		return subscribe(c, buf, hlen) == -1 ? -1 : (ssize_t)hlen;
	if (hlen > 9 && memcmp(buf, "GET /sse/", 9) == 0)
		return stream_open(c, buf, hlen, S_SSE) == -1 ? -1 :
		    (ssize_t)hlen;
	if (hlen > 8 && memcmp(buf, "GET /ws/", 8) == 0)
		return stream_open(c, buf, hlen, S_WS) == -1 ? -1 :
		    (ssize_t)hlen;
	if (hlen > 10 && memcmp(buf, "POST /pub/", 10) == 0) {
		v = header(buf, hlen, "content-length");
		clen = v != NULL ? strtoul(v, NULL, 10) : 0;
		if (clen > MAXREQ - hlen)
			return -1;
		if (len - hlen < clen)
			return 0;
		publish(buf + hlen, clen);
		return answer(c, created, sizeof created - 1) == -1 ? -1 :
		    (ssize_t)(hlen + clen);
	}
	return -1;	/* anything else is not livbench's */
}

/* Serve the whole requests in buf; returns the bytes used, or -1. */
static ssize_t
serve(struct conn *c, const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	/* an open stream's client says nothing floor needs (pongs at most) */
	if (c->stream != S_NONE)
		return (ssize_t)len;
	while (off < len && (n = request(c, buf + off, len - off)) != 0) {
		if (n == -1)
			return -1;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

static void
conn_read(struct conn *c, uint32_t events)
{
	size_t have = c->stashlen, room;
	ssize_t n, used;

	if (have > 0) {
		memcpy(rbuf, c->stash, have);
		free(c->stash);
		c->stash = NULL;
		c->stashlen = 0;
	}
	for (;;) {
		room = sizeof rbuf - have;
		if ((n = recv(c->fd, rbuf + have, room, 0)) == -1 &&
		    errno == EAGAIN)
			break;
		if (n <= 0 || (used = serve(c, rbuf, have + (size_t)n)) < 0)
			goto close;
		have += (size_t)n - (size_t)used;
		memmove(rbuf, rbuf + used, have);
		if ((size_t)n < room)
			break;		/* a short read: drained */
		if (have == sizeof rbuf)
			goto close;	/* a request over MAXREQ */
	}
	/* The peer's FIN came with the data: no edge will tell us again. */
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		goto close;
	if (have > 0) {
		if ((c->stash = malloc(have)) == NULL)
			goto close;
		memcpy(c->stash, rbuf, have);
		c->stashlen = have;
	}
	return;
close:
	conn_close(c);
}

/* Edge-triggered: take every pending connection. */
static void
accept_all(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };
	struct conn *c;
	int fd, one = 1;

	/* On EMFILE the rest wait for the next connection's edge. */
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if ((c = calloc(1, sizeof *c)) == NULL)
			die("out of memory");
		c->fd = fd;
		c->at = -1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
}

static int
listen_on(const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64], *colon;
	int fd, one = 1;

	snprintf(host, sizeof host, "%s", addr);
	if ((colon = strrchr(host, ':')) == NULL)
		die("%s: not HOST:PORT", addr);
	*colon = '\0';
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		die("%s: not an IPv4 address", host);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, 65535) == -1)	/* the kernel caps it at somaxconn */
		die("%s: %s", addr, strerror(errno));
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: floor -l HOST:PORT\n");
	exit(2);
}

static void
on_term(int sig)
{
	(void)sig;
	quit = 1;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[512], ev = { .events = EPOLLIN | EPOLLET };
	struct sigaction sa = { .sa_handler = on_term };
	struct rlimit rl;
	struct conn *c;
	unsigned char sha[SHA_DIGEST_LENGTH];
	sigset_t block, open;
	const char *addr = NULL;
	int lfd, n, ch;

	while ((ch = getopt(argc, argv, "l:")) != -1) {
		if (ch != 'l')
			usage();
		addr = optarg;
	}
	if (addr == NULL || optind != argc)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* SIGTERM only inside epoll_pwait, so none slips past the check. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &open);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	/* libcrypto's pages in now, not in a stream's RSS */
	SHA1((const unsigned char *)"", 0, sha);
	lfd = listen_on(addr);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	ev.data.ptr = NULL;	/* the listener */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	while (!quit) {
		n = epoll_pwait(ep, evs, 512, -1, &open);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL)
				accept_all(lfd);
			else if (c->fd != -1 && (evs[i].events & EPOLLOUT))
				conn_flush(c);
			if (c != NULL && c->fd != -1 && (evs[i].events &
			    (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
				conn_read(c, evs[i].events);
		}
		while ((c = dead) != NULL) {
			dead = c->next;
			free(c->stash);
			free(c->out);
			free(c);
		}
	}
	close(lfd);
	log_fanouts();
	return 0;
}

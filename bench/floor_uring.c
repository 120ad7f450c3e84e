/*
 * floor_uring: floor.c's job done with io_uring, to see whether the
 * kernel's cost per delivery drops when the recv and the send of each
 * delivery are no longer system calls of their own. Not a product.
 *
 * Same protocol and behaviour as floor.c (read it first): GET /sub/X held
 * until POST /pub/X, 201 to the publisher, 200 with Content-Length,
 * Last-Modified, Etag and the body to every held GET, a GET whose
 * If-None-Match is behind the latest Etag answered at once, keep-alive,
 * one channel, bounded buffers, exit 0 on SIGTERM, the fan-out times
 * logged at exit under floor's keys.
 *
 * The io_uring way: one multishot accept, one multishot recv per
 * connection into a ring of provided buffers (the kernel picks one per
 * arrival, we hand it back once parsed), every answer an IORING_OP_SEND
 * SQE, one io_uring_submit_and_wait per loop turn. No SQPOLL: its thread
 * busy-polls. By default SINGLE_ISSUER | DEFER_TASKRUN (completions run
 * only inside our own io_uring_enter, in batches) and direct descriptors
 * (registered files: no fget/fput per request); -D and -R turn them off.
 * -q sets the SQ size (256): a publish submits its sends that many at a
 * time. With -D the re-polls that came in meanwhile are received at each
 * of those submits, while their sockets are still in cache, which at
 * 10,000 clients costs less than receiving them all after the fan-out.
 *
 * The answer of a publish is shared by every held client and refcounted:
 * each in-flight send holds a reference, so a publish never overwrites
 * bytes the kernel may still be sending; it makes a new answer instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXREQ	8192	/* a request, body included; longer: close */
#define NBUFS	16384	/* provided recv buffers: one per arrival in a turn */
#define BUFSZ	1024	/* each; a request spanning several is stashed */
#define BGID	1
#define CQSIZE	65536	/* the most the kernel allows */

/* user_data: a pointer (8-aligned) with the operation in its low bits. */
enum { OP_NONE, OP_ACCEPT, OP_RECV, OP_SEND, OP_SIGNAL };
#define OP_MASK	7ULL

struct msg {			/* an answer shared by the held clients */
	unsigned	 refs;	/* in-flight sends, +1 while it is the latest */
	size_t		 len;
	char		 data[MAXREQ + 256];
};

struct conn {
	int		 fd;		/* a direct descriptor with -R unset */
	int		 held;		/* index in held[], -1 if not held */
	int		 closing;	/* closed; freed once nothing is in flight */
	int		 recving;	/* the multishot recv is armed */
	int		 sending;	/* one send at a time, so none reorder */
	const char	*wbuf;		/* what the in-flight send sends */
	size_t		 wlen;
	struct msg	*wmsg;		/* its reference, or NULL */
	char		*wown;		/* or its malloc'd copy, or NULL */
	char		*stash;		/* a partial request */
	size_t		 stashlen;
	char		*out;		/* answers queued behind the send */
	size_t		 outlen;
	struct conn	*next;		/* on the dead list */
};

static struct io_uring	  ring;
static struct io_uring_buf_ring *br;
static char		 *bufs;
static int		  fixed = 1;	/* direct descriptors */
static int		  lfd;
static int		  accepting;	/* the multishot accept is armed */
static int		  accept_stalled;	/* out of descriptors */

static struct conn	**held;		/* GETs waiting for the next publish */
static size_t		  nheld, heldcap;
static struct conn	 *dead;

static struct msg	 *cur;		/* the latest answer, or NULL */
static uint64_t		  seq;		/* messages published: the Etag */

static char		  rbuf[MAXREQ];
static double		  fanouts[4096];	/* ms per publish, for the log */
static size_t		  nfanouts;
static int		  quit;

static const char created[] = "HTTP/1.1 201 Created\r\n"
    "Content-Length: 3\r\n\r\nok\n";

static void	die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	usage(void) __attribute__((noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "floor_uring: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* An SQE, submitting what is queued when the SQ is full. */
static struct io_uring_sqe *
sqe_get(void)
{
	struct io_uring_sqe *sqe;
	int ret;

	while ((sqe = io_uring_get_sqe(&ring)) == NULL)
		if ((ret = io_uring_submit(&ring)) < 0 && ret != -EINTR &&
		    ret != -EBUSY)
			die("io_uring_submit: %s", strerror(-ret));
	return sqe;
}

static void
sqe_fd(struct io_uring_sqe *sqe)
{
	if (fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
}

static void
msg_put(struct msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

static void
arm_accept(void)
{
	struct io_uring_sqe *sqe = sqe_get();

	if (fixed)
		io_uring_prep_multishot_accept_direct(sqe, lfd, NULL, NULL, 0);
	else
		io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL,
		    SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, OP_ACCEPT);
	accepting = 1;
}

static void
arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe_fd(sqe);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | OP_RECV);
	c->recving = 1;
}

static void
unhold(struct conn *c)
{
	if (c->held == -1)
		return;
	held[c->held] = held[--nheld];
	held[c->held]->held = c->held;
	c->held = -1;
}

/* On the dead list once closed and no CQE can name it any more. */
static void
conn_reap(struct conn *c)
{
	if (c->closing == 1 && !c->recving && !c->sending) {
		c->closing = 2;
		c->next = dead;
		dead = c;
	}
}

/*
 * Cancel what is in flight (its CQEs still come, then c is freed) and
 * close the descriptor. Rare: protocol errors, EOF, the end of a run.
 */
static void
conn_close(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->closing)
		return;
	unhold(c);
	c->closing = 1;
	if (c->recving || c->sending) {
		sqe = sqe_get();
		io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL |
		    (fixed ? IORING_ASYNC_CANCEL_FD_FIXED : 0));
		io_uring_sqe_set_data64(sqe, OP_NONE);
	}
	if (fixed) {
		/* After the cancel: SQEs are issued in order. */
		sqe = sqe_get();
		io_uring_prep_close_direct(sqe, (unsigned)c->fd);
		io_uring_sqe_set_data64(sqe, OP_NONE);
	} else {
		/* The cancel needs the fd open when it is issued. */
		io_uring_submit(&ring);
		close(c->fd);
	}
	if (accept_stalled && !accepting) {
		accept_stalled = 0;
		arm_accept();
	}
	conn_reap(c);
}

static void
send_start(struct conn *c, const char *buf, size_t len)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_send(sqe, c->fd, buf, len, MSG_NOSIGNAL);
	sqe_fd(sqe);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | OP_SEND);
	c->sending = 1;
	c->wbuf = buf;
	c->wlen = len;
}

/*
 * One send per answer; m is the shared answer buf lies in, if any. Behind
 * a send in flight the answer is copied (rare), bounded like floor's.
 */
static int
answer(struct conn *c, const char *buf, size_t len, struct msg *m)
{
	char *p;

	if (!c->sending) {
		if ((c->wmsg = m) != NULL)
			m->refs++;
		send_start(c, buf, len);
		return 0;
	}
	if (c->outlen + len > 4 * MAXREQ || (p = realloc(c->out,
	    c->outlen + len)) == NULL)
		return -1;
	memcpy(p + c->outlen, buf, len);
	c->out = p;
	c->outlen += len;
	return 0;
}

static void
on_send(struct conn *c, int res)
{
	c->sending = 0;
	if (c->closing || res <= 0) {
		msg_put(c->wmsg);
		c->wmsg = NULL;
		free(c->wown);
		c->wown = NULL;
		if (!c->closing)
			conn_close(c);
		conn_reap(c);
		return;
	}
	if ((size_t)res < c->wlen) {	/* short: the rest, same buffer */
		send_start(c, c->wbuf + res, c->wlen - (size_t)res);
		return;
	}
	msg_put(c->wmsg);
	c->wmsg = NULL;
	free(c->wown);
	c->wown = NULL;
	if (c->outlen > 0) {		/* the queue goes out as one send */
		c->wown = c->out;
		c->out = NULL;
		send_start(c, c->wown, c->outlen);
		c->outlen = 0;
	}
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

/* At exit: the fan-out times, under floor's keys so run.sh reads them. */
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

/*
 * Answer every held GET with a new shared answer, and time it like
 * floor: from the publish read until the kernel has taken every send
 * (submitted here, so the sends are issued, most complete inline).
 */
static void
publish(const char *body, size_t blen)
{
	char date[64];
	time_t now = time(NULL);
	double start = now_ms();
	struct tm tm;
	struct msg *m;
	struct conn *c;
	int hlen, ret;
	size_t n = nheld;

	if ((m = malloc(sizeof *m)) == NULL)
		die("out of memory");
	m->refs = 1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	hlen = snprintf(m->data, sizeof m->data, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %zu\r\nLast-Modified: %s\r\n"
	    "Etag: %llu\r\n\r\n", blen, date, (unsigned long long)++seq);
	memcpy(m->data + hlen, body, blen);
	m->len = (size_t)hlen + blen;
	msg_put(cur);		/* freed by its last send, not before */
	cur = m;
	for (size_t i = 0; i < nheld; i++) {
		c = held[i];
		c->held = -1;	/* so conn_close leaves held[] alone */
		if (answer(c, m->data, m->len, m) == -1)
			conn_close(c);
	}
	nheld = 0;
	if (n > 0) {
		if ((ret = io_uring_submit(&ring)) < 0 && ret != -EINTR &&
		    ret != -EBUSY)
			die("io_uring_submit: %s", strerror(-ret));
		if (nfanouts < sizeof fanouts / sizeof *fanouts)
			fanouts[nfanouts++] = now_ms() - start;
	}
}

/*
 * A GET: answered at once if its cursor is behind the latest message
 * (published while the client was between polls), else held.
 */
static int
subscribe(struct conn *c, const char *buf, size_t hlen)
{
	const char *v = header(buf, hlen, "if-none-match");
	struct conn **p;

	if (v != NULL && seq > 0) {
		if (*v == '"')
			v++;
		if (strtoull(v, NULL, 10) < seq)
			return answer(c, cur->data, cur->len, cur);
	}
	if (nheld == heldcap) {
		heldcap = heldcap ? 2 * heldcap : 1024;
		if ((p = realloc(held, heldcap * sizeof *held)) == NULL)
			die("out of memory");
		held = p;
	}
	c->held = (int)nheld;
	held[nheld++] = c;
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
	if (c->held != -1)
		return -1;	/* pipelined behind a held GET: not ours */
	hlen = (size_t)(end - buf) + 4;
	if (hlen > 9 && memcmp(buf, "GET /sub/", 9) == 0)
		return subscribe(c, buf, hlen) == -1 ? -1 : (ssize_t)hlen;
	if (hlen > 10 && memcmp(buf, "POST /pub/", 10) == 0) {
		v = header(buf, hlen, "content-length");
		clen = v != NULL ? strtoul(v, NULL, 10) : 0;
		if (clen > MAXREQ - hlen)
			return -1;
		if (len - hlen < clen)
			return 0;
		publish(buf + hlen, clen);
		return answer(c, created, sizeof created - 1, NULL) == -1 ?
		    -1 : (ssize_t)(hlen + clen);
	}
	return -1;	/* anything else is not livbench's */
}

/* Serve the whole requests in buf; returns the bytes used, or -1. */
static ssize_t
serve(struct conn *c, const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len && (n = request(c, buf + off, len - off)) != 0) {
		if (n == -1)
			return -1;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

/*
 * Bytes received into a provided buffer: parsed in place unless part of
 * a request is stashed; what is left over is stashed (bounded by MAXREQ).
 */
static void
conn_data(struct conn *c, const char *buf, size_t len)
{
	ssize_t used;
	size_t have;

	if (c->stashlen > 0) {
		if (c->stashlen + len > sizeof rbuf)
			goto close;	/* a request over MAXREQ */
		memcpy(rbuf, c->stash, c->stashlen);
		memcpy(rbuf + c->stashlen, buf, len);
		len += c->stashlen;
		buf = rbuf;
		free(c->stash);
		c->stash = NULL;
		c->stashlen = 0;
	}
	if ((used = serve(c, buf, len)) < 0)
		goto close;
	if ((have = len - (size_t)used) == 0)
		return;
	if (have >= MAXREQ || (c->stash = malloc(have)) == NULL)
		goto close;
	memcpy(c->stash, buf + used, have);
	c->stashlen = have;
	return;
close:
	conn_close(c);
}

static void
on_recv(struct conn *c, struct io_uring_cqe *cqe)
{
	unsigned bid;
	int more = (cqe->flags & IORING_CQE_F_MORE) != 0;

	if (!more)
		c->recving = 0;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		if (cqe->res > 0 && !c->closing)
			conn_data(c, bufs + (size_t)bid * BUFSZ,
			    (size_t)cqe->res);
		/* Parsed: the buffer goes back to the kernel at once. */
		io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ,
		    (unsigned short)bid, io_uring_buf_ring_mask(NBUFS), 0);
		io_uring_buf_ring_advance(br, 1);
	}
	if (c->closing) {
		conn_reap(c);
		return;
	}
	if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS)) {
		conn_close(c);	/* EOF or an error */
		return;
	}
	/* Ended without EOF (out of buffers, or the kernel's choice). */
	if (!more)
		arm_recv(c);
}

static void
on_accept(struct io_uring_cqe *cqe)
{
	struct conn *c;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		accepting = 0;
	if (cqe->res >= 0) {
		if ((c = calloc(1, sizeof *c)) == NULL)
			die("out of memory");
		c->fd = cqe->res;
		c->held = -1;
		arm_recv(c);
	}
	if (accepting || quit)
		return;
	/* Out of descriptors: wait for a close, as floor waits for an edge. */
	if (cqe->res == -EMFILE || cqe->res == -ENFILE)
		accept_stalled = 1;
	else
		arm_accept();
}

static void
on_cqe(struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	struct conn *c = (struct conn *)(uintptr_t)(ud & ~OP_MASK);

	switch (ud & OP_MASK) {
	case OP_ACCEPT:
		on_accept(cqe);
		break;
	case OP_RECV:
		on_recv(c, cqe);
		break;
	case OP_SEND:
		on_send(c, cqe->res);
		break;
	case OP_SIGNAL:
		quit = 1;
		break;
	}
}

static void
reap(void)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	/* Handlers may submit (a full SQ): that never touches the CQ. */
	io_uring_for_each_cqe(&ring, head, cqe) {
		on_cqe(cqe);
		if (++n == 4096) {	/* free CQ room as we go */
			io_uring_cq_advance(&ring, n);
			n = 0;
		}
	}
	io_uring_cq_advance(&ring, n);
}

/* liburing 2.3 has no io_uring_setup_buf_ring: map and register it. */
static void
setup_bufs(void)
{
	struct io_uring_buf_reg reg = { .ring_entries = NBUFS, .bgid = BGID };
	int ret;

	br = mmap(NULL, NBUFS * sizeof(struct io_uring_buf), PROT_READ |
	    PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (br == MAP_FAILED || (bufs = malloc((size_t)NBUFS * BUFSZ)) == NULL)
		die("out of memory");
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	if ((ret = io_uring_register_buf_ring(&ring, &reg, 0)) < 0)
		die("io_uring_register_buf_ring: %s", strerror(-ret));
	io_uring_buf_ring_init(br);
	for (unsigned i = 0; i < NBUFS; i++)
		io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ,
		    (unsigned short)i, io_uring_buf_ring_mask(NBUFS), (int)i);
	io_uring_buf_ring_advance(br, NBUFS);
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
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* Accepted sockets inherit it: direct ones cannot be setsockopt'd. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, 65535) == -1)	/* the kernel caps it at somaxconn */
		die("%s: %s", addr, strerror(errno));
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: floor_uring [-DR] [-q SQ] -l HOST:PORT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct io_uring_params p = { .cq_entries = CQSIZE };
	struct io_uring_sqe *sqe;
	struct rlimit rl = { 0, 0 };
	struct conn *c;
	sigset_t block;
	const char *addr = NULL;
	unsigned sqsize = 256;
	int ch, sfd, ret, defer = 1;

	while ((ch = getopt(argc, argv, "DRl:q:")) != -1) {
		switch (ch) {
		case 'D':	/* no SINGLE_ISSUER | DEFER_TASKRUN */
			defer = 0;
			break;
		case 'R':	/* plain descriptors, not registered ones */
			fixed = 0;
			break;
		case 'q':	/* SQ entries: a publish submits this many at once */
			if ((sqsize = (unsigned)atoi(optarg)) == 0)
				usage();
			break;
		case 'l':
			addr = optarg;
			break;
		default:
			usage();
		}
	}
	if (addr == NULL || optind != argc)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* SIGTERM arrives as a CQE (a signalfd read): no race with the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if ((sfd = signalfd(-1, &block, SFD_CLOEXEC)) == -1)
		die("signalfd: %s", strerror(errno));

	lfd = listen_on(addr);
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
	    IORING_SETUP_COOP_TASKRUN;
	if (defer)
		p.flags |= IORING_SETUP_SINGLE_ISSUER |
		    IORING_SETUP_DEFER_TASKRUN;
	if ((ret = io_uring_queue_init_params(sqsize, &ring, &p)) < 0)
		die("io_uring_queue_init: %s", strerror(-ret));
	/* Saves an fget of the ring on every io_uring_enter. */
	io_uring_register_ring_fd(&ring);
	/* The table lives beside the fd table, as big as it may be. */
	if (fixed && (ret = io_uring_register_files_sparse(&ring,
	    rl.rlim_cur > 0 && rl.rlim_cur < 1U << 20 ? (unsigned)rl.rlim_cur :
	    65536)) < 0)
		die("io_uring_register_files_sparse: %s", strerror(-ret));
	setup_bufs();

	sqe = sqe_get();
	/* A poll, not a read: a signalfd read would go to an iou-wrk thread. */
	io_uring_prep_poll_add(sqe, sfd, POLLIN);
	io_uring_sqe_set_data64(sqe, OP_SIGNAL);
	arm_accept();
	while (!quit) {
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EBUSY && ret != -ETIME)
			die("io_uring_submit_and_wait: %s", strerror(-ret));
		reap();
		while ((c = dead) != NULL) {
			dead = c->next;
			free(c->stash);
			free(c->out);
			free(c);
		}
	}
	log_fanouts();
	/*
	 * The ring is torn down by a kernel worker after we exit, and until
	 * then the armed accept keeps the listener listening: stop it now,
	 * so the port is free (SO_REUSEADDR) the moment we are gone.
	 */
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	io_uring_queue_exit(&ring);
	return 0;
}

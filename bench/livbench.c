/*
 * livbench: hold N HTTP/1.1 keep-alive long-poll clients against a push
 * server (livd or nginx+nchan), fan events out to all of them in rounds,
 * and report one key=value line: set-up rate, server RSS per held poll,
 * deliveries per second, send->receive latency, lost deliveries, and
 * server CPU per delivery.
 *
 * One thread, raw epoll, level-triggered. Clients bind to 127.0.0.2,
 * 127.0.0.3, ... (--per-addr clients each) before connecting, so N can
 * pass the ephemeral port range. Every event carries a marker
 * "LBR<round>T<monotonic ns>E" in its payload; a client counts a round
 * once, a second copy is a duplicate, a missing one is lost.
 *
 * Rounds: round 0 is a warm-up (proves every poll is held; not timed),
 * rounds 1..R are timed; each waits until every live client has its
 * event before the next is published. Server CPU is the utime+stime
 * delta (/proc/PID/stat) of the server process and its descendants
 * over the timed rounds; the schedstat figure is the same in ns.
 *
 * Several servers (a livd cluster): -a, -s and -P may each be given
 * more than once (or as a comma list). Client i connects to and polls
 * the i-th address round-robin; events are published on the first
 * control socket only; livd's own fan-out time is read from every
 * socket after each round and the maximum over nodes kept; CPU and RSS
 * are summed over every -P pid (and descendants), and each pid's share
 * is printed as well (srvK_* keys, K in -P order from 1).
 *
 * Streams (--transport sse|ws): each client holds an event stream or a
 * WebSocket instead (livd: GET /client/UUID/events or /ws; nchan and
 * floor: GET /sse/CHANNEL or /ws/CHANNEL) and every event is a message on
 * it; the line then begins mode=stream transport=T.
 *
 * Publish mode (--publish, --seconds): P keep-alive connections post
 * publishes, one in flight each, as fast as the answers come (nchan:
 * POST /pub/CHANNEL; livd: POST /api, --batch send lines a request),
 * with -n N clients held (0: none); it reports publishes/s, events/s,
 * server CPU per publish and per event, and request-to-answer latency.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define READ_CHUNK	65536
#define MAX_PIDS	64
#define MAX_SRVS	16	/* -a addresses, -s sockets, -P pids */

enum kind { K_LIVD, K_NCHAN };
enum state {
	ST_NEW,			/* not started */
	ST_CONNECTING,		/* connect() in progress */
	ST_CONNECT_SENT,	/* livd: POST /connect written */
	ST_POLL,		/* a long-poll is written and unanswered */
	ST_OPENING,		/* a stream's request is written, no head yet */
	ST_STREAM,		/* a stream (SSE or WebSocket) is open */
	ST_DEAD,		/* failed; counts as lost from here */
};

/* How a client waits for events: --transport. */
enum transport { T_POLL, T_SSE, T_WS };
static const char *const transport_names[] = {
	[T_POLL] = "poll", [T_SSE] = "sse", [T_WS] = "ws",
};

struct cl {
	int		 fd;
	uint8_t		 state;
	uint8_t		 wantout;
	uint8_t		 has_cursor;
	int32_t		 last_round;	/* highest round seen, -1 none */
	uint32_t	 got;		/* distinct rounds received */
	uint32_t	 dups;
	uint64_t	 since;		/* livd cursor */
	char		*in;		/* partial response, if any */
	uint32_t	 inlen, incap;
	char		*out;		/* unwritten request, if any */
	uint32_t	 outlen, outoff;
	char		 uuid[33];
	char		 lastmod[48];	/* nchan cursor */
	char		 etag[48];
};

static struct {
	enum kind	 kind;
	enum transport	 transport;
	const char	*kind_name;
	const char	*label;
	struct sockaddr_in srv;		/* the first -a: nchan publishes there */
	char		 host[64];
	int		 n;
	int		 rounds;
	int		 window;
	int		 per_addr;
	double		 round_timeout;
	const char	*location;
	const char	*channel;
	const char	*stats_cmd;
	const char	*stats_key;
	const char	*ingest_file;
	const char	*livctl;
	bool		 verbose;
	bool		 no_repoll;	/* ingest: each client polls once */
} opt = {
	.rounds = 20, .window = 128, .per_addr = 10000, .round_timeout = 60,
	.location = "/bench", .channel = "bench", .stats_key =
	"fanout_seconds_last", .stats_cmd = "stats", .label = "",
};

/* Where the clients go: client i to srvs[i % nsrvs]. */
static struct {
	struct sockaddr_in addr;
	char		 host[64];	/* HOST:PORT, for Host: */
} srvs[MAX_SRVS];
static int		 nsrvs;

/* The server processes named by -P; each one's descendants count too. */
static pid_t		 roots[MAX_SRVS];
static int		 nroots;

static struct cl	*cls;
static int		 ep;
static char		 rbuf[READ_CHUNK];

/* Counters. */
static int		 started, inflight, held, dead, errors, reconnects;
static int		 cur_round = -1;
static int		 round_got;
static uint32_t		*lat;		/* µs, timed rounds only */
static size_t		 nlat, latcap;
static uint64_t		 seen_events;	/* markers seen at all */
static uint64_t		 answers;	/* poll answers with a body */

/* What a non-blocking write did not take, written on EPOLLOUT. */
struct outq {
	char		*buf;
	size_t		 len, off;
};

/*
 * A control connection: livd's control socket (several with several
 * -s; the first publishes) or nchan's /pub connection. epoll id: N + i.
 */
struct ctl {
	int		 fd;
	char		*in;
	size_t		 inlen, incap;
	struct outq	 out;
	int		 pending;	/* answers awaited */
	int		 pub_errors;
	char		 status[65536];	/* last stats answer */
	bool		 status_wait;
	bool		 status_done;
};
static struct ctl	 ctls[MAX_SRVS];
static int		 nctls = 1;	/* nchan: the one /pub connection */
static const char	*sockets[MAX_SRVS];
static int		 nsockets;

static pid_t		 pids[MAX_PIDS];
static int		 pid_root[MAX_PIDS];	/* index into roots[] */
static int		 npids;

static void	die(const char *, ...) __attribute__((format(printf, 1, 2),
		    noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "livbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "livbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("out of memory");
	return p;
}

/* --- the server's processes, from /proc --------------------------------- */

/* The server pids and every descendant of them. */
static void
proc_collect(void)
{
	bool added = true;

	npids = 0;
	for (int i = 0; i < nroots; i++) {
		pid_root[npids] = i;
		pids[npids++] = roots[i];
	}
	while (added) {
		DIR *d = opendir("/proc");
		struct dirent *de;

		added = false;
		if (d == NULL)
			die("/proc: %s", strerror(errno));
		while ((de = readdir(d)) != NULL) {
			char path[64], buf[512], *p;
			long pid, ppid;
			FILE *f;
			bool have = false;

			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pid = strtol(de->d_name, NULL, 10);
			for (int i = 0; i < npids; i++)
				have |= pids[i] == pid;
			if (have)
				continue;
			snprintf(path, sizeof path, "/proc/%ld/stat", pid);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			if (fgets(buf, sizeof buf, f) != NULL &&
			    (p = strrchr(buf, ')')) != NULL &&
			    sscanf(p + 2, "%*c %ld", &ppid) == 1) {
				for (int i = 0; i < npids; i++)
					if (pids[i] == ppid &&
					    npids < MAX_PIDS) {
						pid_root[npids] = pid_root[i];
						pids[npids++] = (pid_t)pid;
						added = true;
						break;
					}
			}
			fclose(f);
		}
		closedir(d);
	}
}

/*
 * Sum of utime+stime of the server's processes, in clock ticks; the
 * user part alone in *user. root: those of roots[root] only, or -1: all.
 */
static uint64_t
srv_cpu_ticks_of(int root, uint64_t *user)
{
	uint64_t sum = 0;

	*user = 0;

	for (int i = 0; i < npids; i++) {
		char path[64], buf[1024], *p;
		unsigned long long ut, st;
		FILE *f;

		if (root >= 0 && pid_root[i] != root)
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pids[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof buf, f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %llu %llu", &ut, &st) == 2) {
			sum += ut + st;
			*user += ut;
		}
		fclose(f);
	}
	return sum;
}

static uint64_t
srv_cpu_ticks(uint64_t *user)
{
	return srv_cpu_ticks_of(-1, user);
}

/* Time on CPU of every thread of the server's processes, in ns. */
static uint64_t
srv_cpu_ns_of(int root)
{
	uint64_t sum = 0;

	for (int i = 0; i < npids; i++) {
		char path[64];
		DIR *d;
		struct dirent *de;

		if (root >= 0 && pid_root[i] != root)
			continue;
		snprintf(path, sizeof path, "/proc/%d/task", (int)pids[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			char p2[320];
			unsigned long long ns;
			FILE *f;

			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			snprintf(p2, sizeof p2, "/proc/%d/task/%s/schedstat",
			    (int)pids[i], de->d_name);
			if ((f = fopen(p2, "r")) == NULL)
				continue;
			if (fscanf(f, "%llu", &ns) == 1)
				sum += ns;
			fclose(f);
		}
		closedir(d);
	}
	return sum;
}

static uint64_t
srv_cpu_ns(void)
{
	return srv_cpu_ns_of(-1);
}

/* Sum over the server's processes of a "Key:  N kB" line, in kB. */
static long
srv_kb_of(int root, const char *file, const char *key)
{
	long sum = 0;
	size_t klen = strlen(key);

	for (int i = 0; i < npids; i++) {
		char path[64], line[256];
		FILE *f;

		if (root >= 0 && pid_root[i] != root)
			continue;
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pids[i], file);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof line, f) != NULL)
			if (strncmp(line, key, klen) == 0 &&
			    line[klen] == ':') {
				sum += strtol(line + klen + 1, NULL, 10);
				break;
			}
		fclose(f);
	}
	return sum;
}

static long srv_rss_kb(void) { return srv_kb_of(-1, "status", "VmRSS"); }
static long srv_pss_kb(void) { return srv_kb_of(-1, "smaps_rollup", "Pss"); }

/* --- small parsers ------------------------------------------------------- */

/*
 * The raw value of a top-level key of a JSON object: *vlen bytes at the
 * returned pointer (a number, true/false, or a string with its quotes).
 */
static const char *
json_top(const char *s, size_t len, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '"') {
			size_t start = ++i;

			while (i < len && s[i] != '"')
				i += s[i] == '\\' ? 2 : 1;
			if (i >= len)
				return NULL;
			if (depth == 1 && i - start == klen &&
			    memcmp(s + start, key, klen) == 0) {
				size_t j = i + 1, k;

				while (j < len && (s[j] == ' ' || s[j] == ':'))
					j++;
				if (j >= len)
					return NULL;
				k = j;
				if (s[k] == '"') {
					for (k++; k < len && s[k] != '"';)
						k += s[k] == '\\' ? 2 : 1;
					k++;
				} else
					while (k < len && s[k] != ',' &&
					    s[k] != '}' && s[k] != ']' &&
					    s[k] != ' ')
						k++;
				if (k > len)
					return NULL;
				/* a key is followed by ':'; a value is not */
				if (memchr(s + i + 1, ':', j - i - 1) != NULL) {
					*vlen = k - j;
					return s + j;
				}
			}
		} else if (ch == '{' || ch == '[')
			depth++;
		else if (ch == '}' || ch == ']')
			depth--;
	}
	return NULL;
}

static bool
json_top_u64(const char *s, size_t len, const char *key, uint64_t *out)
{
	size_t vlen;
	const char *v = json_top(s, len, key, &vlen);

	if (v == NULL || vlen == 0 || !isdigit((unsigned char)*v))
		return false;
	*out = strtoull(v, NULL, 10);
	return true;
}

/*
 * Note every marker in a payload: count the round, sample latency.
 * Returns the bytes scanned for good: on a stream, a marker cut by the
 * end of a read is left for the next one.
 */
static size_t
scan_markers(struct cl *c, const char *body, size_t len, uint64_t now)
{
	const char *p = body, *end = body + len;

	while ((p = memmem(p, (size_t)(end - p), "LBR", 3)) != NULL) {
		uint64_t r = 0, ts = 0;
		const char *q = p + 3;

		while (q < end && isdigit((unsigned char)*q))
			r = r * 10 + (uint64_t)(*q++ - '0');
		if (q >= end)
			return (size_t)(p - body);	/* cut short */
		p += 3;
		if (*q++ != 'T')
			continue;
		while (q < end && isdigit((unsigned char)*q))
			ts = ts * 10 + (uint64_t)(*q++ - '0');
		if (q >= end)
			return (size_t)(p - 3 - body);
		if (*q != 'E')
			continue;
		seen_events++;
		if ((int32_t)r <= c->last_round) {
			c->dups++;
			continue;
		}
		c->last_round = (int32_t)r;
		c->got++;
		if ((int)r == cur_round)
			round_got++;
		if (r >= 1 && now > ts) {
			if (nlat == latcap) {
				latcap = latcap ? latcap * 2 : 65536;
				lat = xrealloc(lat, latcap * sizeof *lat);
			}
			lat[nlat++] = (uint32_t)((now - ts) / 1000);
		}
	}
	/* "L" or "LB" at the very end may begin the next marker */
	if (len >= 2 && memcmp(end - 2, "LB", 2) == 0)
		return len - 2;
	if (len >= 1 && end[-1] == 'L')
		return len - 1;
	return len;
}

/* --- clients ------------------------------------------------------------- */

static void
ep_mod(int fd, uint64_t id, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.u64 = id };

	if (epoll_ctl(ep, op, fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

static void
cl_kill(struct cl *c, const char *why)
{
	int id = (int)(c - cls);

	if (c->state == ST_DEAD)
		return;
	if (errors < 5)
		warnx("client %d: %s", id, why);
	errors++;
	if (c->state == ST_CONNECTING || c->state == ST_CONNECT_SENT ||
	    c->state == ST_OPENING)
		inflight--;
	if (c->state == ST_POLL || c->state == ST_STREAM)
		held--;
	c->state = ST_DEAD;
	dead++;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->inlen = c->incap = c->outlen = c->outoff = 0;
}

/* Write a request; what the socket does not take waits for EPOLLOUT. */
static void
cl_write(struct cl *c, const char *buf, size_t len)
{
	ssize_t n = 0;

	if (c->outlen == 0) {
		n = write(c->fd, buf, len);
		if (n < 0) {
			if (errno != EAGAIN) {
				cl_kill(c, strerror(errno));
				return;
			}
			n = 0;
		}
		if ((size_t)n == len)
			return;
	}
	c->out = xrealloc(c->out, c->outlen + len - (size_t)n);
	memcpy(c->out + c->outlen, buf + n, len - (size_t)n);
	c->outlen += (uint32_t)(len - (size_t)n);
	if (!c->wantout) {
		c->wantout = 1;
		ep_mod(c->fd, (uint64_t)(c - cls), EPOLLIN | EPOLLOUT,
		    EPOLL_CTL_MOD);
	}
}

/* The server client c talks to: round-robin over the -a addresses. */
static int
cl_srv(const struct cl *c)
{
	return (int)(c - cls) % nsrvs;
}

static void
cl_send_connect(struct cl *c)
{
	char req[512], body[128];
	int blen, len;

	blen = snprintf(body, sizeof body, "location=%s&principal=b%d",
	    opt.location, (int)(c - cls));
	len = snprintf(req, sizeof req, "POST /connect HTTP/1.1\r\n"
	    "Host: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: %d\r\n\r\n%s", srvs[cl_srv(c)].host, blen,
	    body);
	c->state = ST_CONNECT_SENT;
	cl_write(c, req, (size_t)len);
}

static void
cl_send_poll(struct cl *c)
{
	const char *host = srvs[cl_srv(c)].host;
	char req[512];
	int len;

	if (opt.kind == K_LIVD)
		len = snprintf(req, sizeof req, "GET /client/%s/output?since="
		    "%" PRIu64 " HTTP/1.1\r\nHost: %s\r\n\r\n", c->uuid,
		    c->since, host);
	else if (c->has_cursor)
		len = snprintf(req, sizeof req, "GET /sub/%s HTTP/1.1\r\n"
		    "Host: %s\r\nIf-Modified-Since: %s\r\n"
		    "If-None-Match: %s\r\n\r\n", opt.channel, host,
		    c->lastmod, c->etag);
	else
		len = snprintf(req, sizeof req, "GET /sub/%s HTTP/1.1\r\n"
		    "Host: %s\r\n\r\n", opt.channel, host);
	if (c->state != ST_POLL)
		held++;
	c->state = ST_POLL;
	cl_write(c, req, (size_t)len);
}

/*
 * Open the client's stream: livd's /client/UUID/events or /ws, nchan's
 * (and floor's) /sse/CHANNEL or /ws/CHANNEL. The client is being set up
 * until the head arrives. The key is a constant: this is a bench.
 */
static void
cl_send_stream(struct cl *c)
{
	const char *host = srvs[cl_srv(c)].host;
	char path[128], req[640];
	int len;

	if (opt.kind == K_LIVD)
		snprintf(path, sizeof path, "/client/%s/%s?since=%" PRIu64,
		    c->uuid, opt.transport == T_WS ? "ws" : "events", c->since);
	else
		snprintf(path, sizeof path, "/%s/%s", opt.transport == T_WS ?
		    "ws" : "sse", opt.channel);
	if (opt.transport == T_WS)
		len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n"
		    "Host: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n", path, host);
	else
		len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n"
		    "Host: %s\r\nAccept: text/event-stream\r\n\r\n", path,
		    host);
	c->state = ST_OPENING;
	cl_write(c, req, (size_t)len);
}

/* Connected (and, to livd, connected as a page): start waiting. */
static void
cl_wait(struct cl *c)
{
	if (opt.transport != T_POLL) {
		cl_send_stream(c);
		return;
	}
	inflight--;
	cl_send_poll(c);
}

/* Answer a ping: a masked pong with its payload (at most 125 bytes). */
static void
cl_pong(struct cl *c, const unsigned char *data, size_t len)
{
	static const unsigned char key[4] = { 0x12, 0x34, 0x56, 0x78 };
	unsigned char f[6 + 125];

	f[0] = 0x8a;
	f[1] = (unsigned char)(0x80 | len);
	memcpy(f + 2, key, 4);
	for (size_t i = 0; i < len; i++)
		f[6 + i] = data[i] ^ key[i % 4];
	cl_write(c, (const char *)f, 6 + len);
}

/*
 * The whole WebSocket frames at buf: each data frame's markers counted,
 * pings answered. Returns the bytes used; a cut frame waits.
 */
static size_t
ws_frames(struct cl *c, const char *buf, size_t len, uint64_t now)
{
	size_t off = 0;

	while (len - off >= 2 && c->state == ST_STREAM) {
		const unsigned char *h = (const unsigned char *)buf + off;
		uint64_t plen = h[1] & 0x7f;
		size_t hlen = 2;

		if (h[1] & 0x80) {
			cl_kill(c, "a masked frame from the server");
			return len;
		}
		if (plen == 126) {
			if (len - off < 4)
				break;
			plen = (uint64_t)h[2] << 8 | h[3];
			hlen = 4;
		} else if (plen == 127) {
			if (len - off < 10)
				break;
			plen = 0;
			for (int i = 2; i < 10; i++)
				plen = plen << 8 | h[i];
			hlen = 10;
		}
		if (len - off - hlen < plen)
			break;
		switch (h[0] & 0x0f) {
		case 0x0: case 0x1: case 0x2:
			answers++;
			scan_markers(c, (const char *)h + hlen, plen, now);
			break;
		case 0x8:
			cl_kill(c, "closed by the server (WebSocket close)");
			return len;
		case 0x9:
			if (plen <= 125)
				cl_pong(c, h + hlen, plen);
			break;
		}
		off += hlen + plen;
	}
	return off;
}

/*
 * Bytes on a stream: first the head (101 for a WebSocket, 200 for SSE),
 * then events. Returns the bytes used; the rest waits for more.
 */
static size_t
cl_stream(struct cl *c, const char *data, size_t len, uint64_t now)
{
	const char *end;
	size_t off = 0;
	int want = opt.transport == T_WS ? 101 : 200, status;
	char why[64];

	if (c->state == ST_OPENING) {
		if ((end = memmem(data, len, "\r\n\r\n", 4)) == NULL) {
			if (len > 65536)
				cl_kill(c, "a stream's head over 64 KiB");
			return 0;
		}
		status = len >= 12 && memcmp(data, "HTTP/1.", 7) == 0 ?
		    atoi(data + 9) : 0;
		if (status != want) {
			snprintf(why, sizeof why, "stream answered %d", status);
			cl_kill(c, why);
			return len;
		}
		off = (size_t)(end - data) + 4;
		c->state = ST_STREAM;
		inflight--;
		held++;
	}
	if (opt.transport == T_WS)
		return off + ws_frames(c, data + off, len - off, now);
	return off + scan_markers(c, data + off, len - off, now);
}

/* Open (or reopen) a client's connection from its source address. */
static void
cl_connect(struct cl *c)
{
	int id = (int)(c - cls), one = 1;
	struct sockaddr_in src = { .sin_family = AF_INET };
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		die("socket (client %d): %s", id, strerror(errno));
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(id /
	    opt.per_addr));
	if (bind(fd, (struct sockaddr *)&src, sizeof src) == -1)
		die("bind 127.0.0.%d: %s", 2 + id / opt.per_addr,
		    strerror(errno));
	c->fd = fd;
	c->state = ST_CONNECTING;
	inflight++;
	if (connect(fd, (struct sockaddr *)&srvs[cl_srv(c)].addr,
	    sizeof srvs[0].addr) == -1 && errno != EINPROGRESS)
		die("connect (client %d): %s", id, strerror(errno));
	c->wantout = 1;
	ep_mod(fd, (uint64_t)id, EPOLLOUT, EPOLL_CTL_ADD);
}

static void
cl_connected(struct cl *c)
{
	int err = 0;
	socklen_t elen = sizeof err;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	if (err != 0) {
		cl_kill(c, strerror(err));
		return;
	}
	c->wantout = 0;
	ep_mod(c->fd, (uint64_t)(c - cls), EPOLLIN, EPOLL_CTL_MOD);
	if (opt.kind == K_LIVD && c->uuid[0] == '\0')
		cl_send_connect(c);
	else
		cl_wait(c);
}

static void
copy_header(char *dst, size_t size, const char *v, size_t vlen)
{
	if (vlen >= size)
		vlen = size - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

/*
 * Parse one response at buf: returns its length, 0 if incomplete, -1 if
 * malformed. Sets status, body, cursor headers and whether it closes.
 */
static ssize_t
parse_response(const char *buf, size_t len, int *status, const char **body,
    size_t *blen, struct cl *c, bool *closes)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *p, *eol;
	size_t hlen, clen = 0;
	bool have_len = false;

	if (end == NULL)
		return len > 65536 ? -1 : 0;
	hlen = (size_t)(end - buf) + 4;
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(buf + 9);
	*closes = buf[7] == '0';
	p = memchr(buf, '\n', hlen) + 1;
	for (; p < end; p = eol + 2) {
		const char *colon, *v;
		size_t nlen, vlen;

		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL)
			continue;
		nlen = (size_t)(colon - p);
		for (v = colon + 1; v < eol && *v == ' '; v++)
			;
		vlen = (size_t)(eol - v);
		if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
			clen = strtoul(v, NULL, 10);
			have_len = true;
		} else if (nlen == 17 &&
		    strncasecmp(p, "transfer-encoding", 17) == 0)
			return -1;	/* chunked: not expected here */
		else if (nlen == 10 && strncasecmp(p, "connection", 10) == 0)
			*closes = vlen >= 5 && strncasecmp(v, "close", 5) == 0;
		else if (c != NULL && nlen == 13 &&
		    strncasecmp(p, "last-modified", 13) == 0) {
			copy_header(c->lastmod, sizeof c->lastmod, v, vlen);
			c->has_cursor = 1;
		} else if (c != NULL && nlen == 4 &&
		    strncasecmp(p, "etag", 4) == 0)
			copy_header(c->etag, sizeof c->etag, v, vlen);
	}
	if (!have_len && *status != 204 && *status != 304)
		return -1;
	if (len < hlen + clen)
		return 0;
	*body = buf + hlen;
	*blen = clen;
	return (ssize_t)(hlen + clen);
}

/* A whole response arrived for client c. */
static void
cl_response(struct cl *c, int status, const char *body, size_t blen,
    uint64_t now)
{
	uint64_t seq;

	switch (c->state) {
	case ST_CONNECT_SENT: {
		size_t vlen;
		const char *v;

		if (status != 200 ||
		    (v = json_top(body, blen, "uuid", &vlen)) == NULL ||
		    vlen != 34 || !json_top_u64(body, blen, "seq", &seq)) {
			cl_kill(c, "bad /connect answer");
			return;
		}
		memcpy(c->uuid, v + 1, 32);
		c->uuid[32] = '\0';
		c->since = seq;
		cl_wait(c);
		return;
	}
	case ST_POLL:
		if (status == 200) {
			answers++;
			if (opt.kind == K_LIVD) {
				if (!json_top_u64(body, blen, "seq", &seq)) {
					cl_kill(c, "answer without seq");
					return;
				}
				c->since = seq;
			}
			scan_markers(c, body, blen, now);
		} else if (status != 304 && status != 408) {
			char why[64];

			snprintf(why, sizeof why, "poll answered %d", status);
			cl_kill(c, why);
			return;
		}
		held--;
		c->state = ST_NEW;	/* between polls */
		if (!opt.no_repoll)
			cl_send_poll(c);
		return;
	default:
		cl_kill(c, "unexpected response");
	}
}

static void
cl_readable(struct cl *c)
{
	uint64_t now;
	const char *data;
	size_t len, off = 0;
	ssize_t n;

	n = read(c->fd, rbuf, sizeof rbuf);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		if (n == 0 && c->state == ST_POLL && c->inlen == 0 &&
		    c->outlen == 0) {
			/* closed between answers: reconnect and re-poll */
			close(c->fd);
			held--;
			reconnects++;
			cl_connect(c);
			return;
		}
		cl_kill(c, n == 0 ? "connection closed" : strerror(errno));
		return;
	}
	now = now_ns();
	if (c->inlen > 0) {
		if (c->inlen + (size_t)n > c->incap) {
			c->incap = c->inlen + (uint32_t)n;
			c->in = xrealloc(c->in, c->incap);
		}
		memcpy(c->in + c->inlen, rbuf, (size_t)n);
		c->inlen += (uint32_t)n;
		data = c->in;
		len = c->inlen;
	} else {
		data = rbuf;
		len = (size_t)n;
	}
	if (c->state == ST_OPENING || c->state == ST_STREAM)
		off = cl_stream(c, data, len, now);
	while (off < len && c->state != ST_DEAD && c->state != ST_OPENING &&
	    c->state != ST_STREAM) {
		int status = 0;
		const char *body = NULL;
		size_t blen = 0;
		bool closes = false;
		ssize_t r = parse_response(data + off, len - off, &status,
		    &body, &blen, c, &closes);

		if (r < 0) {
			cl_kill(c, "malformed response");
			return;
		}
		if (r == 0)
			break;
		off += (size_t)r;
		cl_response(c, status, body, blen, now);
		if (closes && c->state != ST_DEAD) {
			/* the server ends keep-alive: reopen, re-poll */
			free(c->out);
			free(c->in);
			c->out = c->in = NULL;
			c->outlen = c->outoff = c->inlen = c->incap = 0;
			close(c->fd);
			if (c->state == ST_POLL)
				held--;
			reconnects++;
			cl_connect(c);
			return;
		}
	}
	if (c->state == ST_DEAD)
		return;
	if (off == len) {
		if (c->in != NULL) {
			free(c->in);
			c->in = NULL;
			c->inlen = c->incap = 0;
		}
		return;
	}
	if (data == rbuf) {
		c->incap = (uint32_t)(len - off);
		c->in = xrealloc(NULL, c->incap);
		memcpy(c->in, data + off, len - off);
		c->inlen = (uint32_t)(len - off);
	} else {
		memmove(c->in, c->in + off, len - off);
		c->inlen = (uint32_t)(len - off);
	}
}

static void
cl_writable(struct cl *c)
{
	if (c->state == ST_CONNECTING) {
		cl_connected(c);
		return;
	}
	while (c->outoff < c->outlen) {
		ssize_t n = write(c->fd, c->out + c->outoff,
		    c->outlen - c->outoff);

		if (n < 0) {
			if (errno == EAGAIN)
				return;
			cl_kill(c, strerror(errno));
			return;
		}
		c->outoff += (uint32_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	c->wantout = 0;
	ep_mod(c->fd, (uint64_t)(c - cls), EPOLLIN, EPOLL_CTL_MOD);
}

/* --- the publisher ------------------------------------------------------- */

/* Open control connection i: livd's socket i, or nchan's /pub. */
static void
pub_open(int i)
{
	struct ctl *p = &ctls[i];
	int fd;

	if (opt.kind == K_LIVD) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(sockets[i]) >= sizeof sun.sun_path)
			die("socket path too long");
		strcpy(sun.sun_path, sockets[i]);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&sun,
		    sizeof sun) == -1)
			die("cannot connect to %s: %s", sockets[i],
			    strerror(errno));
	} else {
		int one = 1;

		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1 || connect(fd, (struct sockaddr *)&opt.srv,
		    sizeof opt.srv) == -1)
			die("cannot connect to %s: %s", opt.host,
			    strerror(errno));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	p->fd = fd;
	ep_mod(fd, (uint64_t)(opt.n + i), EPOLLIN, EPOLL_CTL_ADD);
}

/* Write buf to fd (epoll id id), queueing what it does not take. */
static void
outq_write(struct outq *q, int fd, uint64_t id, const char *buf, size_t len)
{
	if (q->len == q->off) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno != EAGAIN)
				die("publisher: %s", strerror(errno));
			n = 0;
		}
		if ((size_t)n == len)
			return;
		buf += n;
		len -= (size_t)n;
		q->len = q->off = 0;
	}
	q->buf = xrealloc(q->buf, q->len + len);
	memcpy(q->buf + q->len, buf, len);
	q->len += len;
	ep_mod(fd, id, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
}

/* EPOLLOUT: write what is queued; all out, back to EPOLLIN alone. */
static void
outq_flush(struct outq *q, int fd, uint64_t id)
{
	while (q->off < q->len) {
		ssize_t n = write(fd, q->buf + q->off, q->len - q->off);

		if (n < 0) {
			if (errno == EAGAIN)
				return;
			die("publisher: %s", strerror(errno));
		}
		q->off += (size_t)n;
	}
	q->len = q->off = 0;
	ep_mod(fd, id, EPOLLIN, EPOLL_CTL_MOD);
}

static void
pub_write(struct ctl *p, const char *buf, size_t len)
{
	outq_write(&p->out, p->fd, (uint64_t)(opt.n + (p - ctls)), buf, len);
}

static void
pub_writable(struct ctl *p)
{
	outq_flush(&p->out, p->fd, (uint64_t)(opt.n + (p - ctls)));
}

/* Publish round r's event, stamped now, on the first connection. */
static void
publish(int r)
{
	struct ctl *p = &ctls[0];
	char html[96], req[512];
	int hlen, len;

	hlen = snprintf(html, sizeof html, "<p>LBR%dT%" PRIu64 "E</p>", r,
	    now_ns());
	if (opt.kind == K_LIVD)
		len = snprintf(req, sizeof req, "{\"cmd\":\"send\","
		    "\"location\":\"%s\",\"verb\":\"append\",\"id\":\"t\","
		    "\"html\":\"%s\"}\n", opt.location, html);
	else
		len = snprintf(req, sizeof req, "POST /pub/%s HTTP/1.1\r\n"
		    "Host: %s\r\nContent-Type: text/html\r\n"
		    "Content-Length: %d\r\n\r\n%s", opt.channel, opt.host,
		    hlen, html);
	p->pending++;
	pub_write(p, req, (size_t)len);
}

/* Ask livd for its counters (the hook for livd's own fan-out time). */
static void
ctl_status(struct ctl *p)
{
	char req[128];
	int len;

	len = snprintf(req, sizeof req, "{\"cmd\":\"%s\"}\n", opt.stats_cmd);
	p->status_wait = true;
	p->status_done = false;
	p->pending++;
	pub_write(p, req, (size_t)len);
}

static void
pub_readable(struct ctl *p)
{
	ssize_t n;
	size_t off = 0;

	if (p->inlen + READ_CHUNK > p->incap) {
		p->incap = p->inlen + READ_CHUNK;
		p->in = xrealloc(p->in, p->incap);
	}
	n = read(p->fd, p->in + p->inlen, READ_CHUNK);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		if (p == ctls)
			die("publisher connection: %s", n ?
			    strerror(errno) : "closed");
		die("control connection %s: %s", sockets[p - ctls], n ?
		    strerror(errno) : "closed");
	}
	p->inlen += (size_t)n;
	for (;;) {
		if (opt.kind == K_LIVD) {
			char *nl = memchr(p->in + off, '\n', p->inlen - off);
			size_t llen;

			if (nl == NULL)
				break;
			llen = (size_t)(nl - (p->in + off));
			if (llen < 10 || memcmp(p->in + off, "{\"ok\":true",
			    10) != 0) {
				if (p->pub_errors++ < 5)
					warnx("control answer%s%s%s: %.*s",
					    p == ctls ? "" : " (",
					    p == ctls ? "" : sockets[p - ctls],
					    p == ctls ? "" : ")",
					    (int)llen, p->in + off);
			}
			p->pending--;
			if (p->status_wait && p->pending == 0) {
				copy_header(p->status, sizeof p->status,
				    p->in + off, llen);
				p->status_wait = false;
				p->status_done = true;
			}
			off += llen + 1;
		} else {
			int status;
			const char *body;
			size_t blen;
			bool closes;
			ssize_t r = parse_response(p->in + off,
			    p->inlen - off, &status, &body, &blen, NULL,
			    &closes);

			if (r < 0)
				die("publisher: malformed response");
			if (r == 0)
				break;
			if (status != 201 && status != 202 &&
			    p->pub_errors++ < 5)
				warnx("publish answered %d", status);
			p->pending--;
			off += (size_t)r;
		}
	}
	memmove(p->in, p->in + off, p->inlen - off);
	p->inlen -= off;
}

/* --- the publish mode: HTTP publishers --------------------------------- */

/*
 * P keep-alive connections, each with one request in flight (ping-pong):
 * single-event publishes (nchan and floor: POST /pub/CHANNEL; livd:
 * POST /api with one send line), or livd batches of --batch send lines.
 * epoll id: PC_ID + i, above any client's.
 */
#define PC_ID	(UINT64_C(1) << 40)

struct pc {
	int		 fd;
	char		*in;
	size_t		 inlen, incap;
	struct outq	 out;
	uint64_t	 sent;		/* ns the request went out; 0: idle */
};

static struct pc	*pcs;
static char		 pc_token[4096];	/* livd: the API token */
static struct {
	int		 conns;		/* --conns */
	int		 batch;		/* --batch: send lines per request */
	long		 count;		/* --publish: requests, 0: by time */
	double		 seconds;	/* --seconds: 0: by count */
} popt = { .conns = 1, .batch = 1 };
static struct {
	long		 left;		/* requests still to send */
	uint64_t	 stop_at;	/* ns: send no more after it; 0: never */
	long		 sent, answered;
	uint64_t	 last_answer;	/* ns */
	int		 unavailable;	/* livd answered /api with this */
	int		 errors, reconnects;
	uint64_t	 event;		/* events published, all phases */
} ps;

static void
pc_open(struct pc *p, uint64_t id)
{
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&opt.srv,
	    sizeof opt.srv) == -1)
		die("cannot connect to %s: %s", opt.host, strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	p->fd = fd;
	p->inlen = p->out.len = p->out.off = 0;
	ep_mod(fd, id, EPOLLIN, EPOLL_CTL_ADD);
}

static void
pc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A publish answered wrong; the first few are told. */
static void
pc_error(const char *fmt, ...)
{
	va_list ap;

	if (ps.errors++ < 5) {
		fprintf(stderr, "livbench: publish: ");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
}

/* One request: popt.batch send lines to livd's /api, or one /pub. */
static size_t
pc_request(char *req, size_t size)
{
	char body[65536], html[64];
	size_t blen = 0;
	int hlen, len;

	if (opt.kind == K_NCHAN) {
		hlen = snprintf(html, sizeof html, "<p>LBP%" PRIu64 "</p>",
		    ps.event++);
		len = snprintf(req, size, "POST /pub/%s HTTP/1.1\r\n"
		    "Host: %s\r\nContent-Type: text/html\r\n"
		    "Content-Length: %d\r\n\r\n%s", opt.channel, opt.host,
		    hlen, html);
		return (size_t)len;
	}
	for (int i = 0; i < popt.batch; i++) {
		blen += (size_t)snprintf(body + blen, sizeof body - blen,
		    "{\"cmd\":\"send\",\"location\":\"%s\",\"verb\":"
		    "\"append\",\"id\":\"t\",\"html\":\"<p>LBP%" PRIu64
		    "</p>\"}\n", opt.location, ps.event++);
		if (blen >= sizeof body)
			die("a request of %d lines is too long", popt.batch);
	}
	len = snprintf(req, size, "POST /api HTTP/1.1\r\nHost: %s\r\n"
	    "Authorization: Bearer %s\r\n"
	    "Content-Type: application/x-ndjson\r\n"
	    "Content-Length: %zu\r\n\r\n", opt.host, pc_token, blen);
	if ((size_t)len + blen > size)
		die("a request of %d lines is too long", popt.batch);
	memcpy(req + len, body, blen);
	return (size_t)len + blen;
}

/* Send the next request on p, if one is due. */
static void
pc_next(struct pc *p)
{
	static char req[70000];
	size_t len;

	if (ps.left == 0 || ps.unavailable ||
	    (ps.stop_at != 0 && now_ns() >= ps.stop_at))
		return;
	ps.left--;
	ps.sent++;
	len = pc_request(req, sizeof req);
	p->sent = now_ns();
	outq_write(&p->out, p->fd, PC_ID + (uint64_t)(p - pcs), req, len);
}

static void
pc_writable(struct pc *p)
{
	outq_flush(&p->out, p->fd, PC_ID + (uint64_t)(p - pcs));
}

/* livd's answer: one line per send line, each {"ok":true...}. */
static void
pc_check_api(const char *body, size_t blen)
{
	const char *p = body, *end = body + blen, *nl;
	int lines = 0;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p)
			continue;
		lines++;
		if (memmem(p, (size_t)(nl - p), "\"ok\":true", 9) == NULL) {
			pc_error("/api answered: %.*s", (int)(nl - p), p);
			return;
		}
	}
	if (lines != popt.batch)
		pc_error("/api answered %d lines to %d", lines, popt.batch);
}

/* A whole answer to p's request. */
static void
pc_answer(struct pc *p, int status, const char *body, size_t blen,
    uint64_t now)
{
	if (p->sent == 0) {
		pc_error("an answer to no request (status %d)", status);
		return;
	}
	if (nlat == latcap) {
		latcap = latcap ? latcap * 2 : 65536;
		lat = xrealloc(lat, latcap * sizeof *lat);
	}
	lat[nlat++] = (uint32_t)((now - p->sent) / 1000);
	p->sent = 0;
	ps.answered++;
	ps.last_answer = now;
	if (opt.kind == K_LIVD && status == 404)
		ps.unavailable = 404;	/* no /api in this livd (yet) */
	else if (opt.kind == K_LIVD && status == 200)
		pc_check_api(body, blen);
	else if (opt.kind == K_LIVD || (status != 201 && status != 202))
		pc_error("answered %d", status);
}

static void
pc_readable(struct pc *p)
{
	uint64_t now;
	size_t off = 0;
	ssize_t n;

	if (p->inlen + READ_CHUNK > p->incap) {
		p->incap = p->inlen + READ_CHUNK;
		p->in = xrealloc(p->in, p->incap);
	}
	if ((n = read(p->fd, p->in + p->inlen, READ_CHUNK)) < 0 &&
	    errno == EAGAIN)
		return;
	if (n <= 0)
		die("publisher connection: %s", n ? strerror(errno) :
		    "closed by the server");
	now = now_ns();
	p->inlen += (size_t)n;
	for (;;) {
		int status;
		const char *body;
		size_t blen;
		bool closes;
		ssize_t r = parse_response(p->in + off, p->inlen - off,
		    &status, &body, &blen, NULL, &closes);

		if (r < 0)
			die("publisher: malformed response");
		if (r == 0)
			break;
		off += (size_t)r;
		pc_answer(p, status, body, blen, now);
		if (closes) {
			/* the server ends keep-alive: a new connection */
			close(p->fd);
			ps.reconnects++;
			pc_open(p, PC_ID + (uint64_t)(p - pcs));
			off = 0;
			break;
		}
	}
	memmove(p->in, p->in + off, p->inlen - off);
	p->inlen -= off;
	pc_next(p);
}

/* --- the loop ------------------------------------------------------------ */

/* Start clients while fewer than the window are being set up. */
static void
launch(void)
{
	while (started < opt.n && inflight < opt.window)
		cl_connect(&cls[started++]);
}

static void
loop_once(int timeout_ms)
{
	struct epoll_event evs[512];
	int n = epoll_wait(ep, evs, 512, timeout_ms);

	if (n < 0) {
		if (errno == EINTR)
			return;
		die("epoll_wait: %s", strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		uint64_t id = evs[i].data.u64;

		if (id >= PC_ID) {
			struct pc *p = &pcs[id - PC_ID];

			if (evs[i].events & EPOLLOUT)
				pc_writable(p);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				pc_readable(p);
			continue;
		}
		if (id >= (uint64_t)opt.n) {
			struct ctl *p = &ctls[id - (uint64_t)opt.n];

			if (evs[i].events & EPOLLOUT)
				pub_writable(p);
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				pub_readable(p);
			continue;
		}
		struct cl *c = &cls[id];

		if (c->state == ST_DEAD)
			continue;
		if (evs[i].events & EPOLLOUT)
			cl_writable(c);
		if (c->state != ST_DEAD && c->state != ST_CONNECTING &&
		    (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			cl_readable(c);
	}
	launch();
}

/* Serve the clients for ms milliseconds. */
static void
serve_for(int ms)
{
	uint64_t until = now_ns() + (uint64_t)ms * 1000000u;
	uint64_t t;

	while ((t = now_ns()) < until)
		loop_once((int)((until - t) / 1000000u) + 1);
}

/*
 * Serve until the server's CPU time stops moving: returns the time of the
 * last sample in which it still moved. "Moving": more than 0.3 ms in a
 * 10 ms sample, per -P pid (an idle redis-server's 10 Hz cron alone takes
 * about 0.3 ms a tick, which would keep a threshold of 0.3 ms in all from
 * ever settling).
 */
static uint64_t
wait_quiet(double max_s)
{
	uint64_t start = now_ns(), last_busy = start, cpu = srv_cpu_ns();
	int quiet = 0;

	while (quiet < 20 && now_ns() - start < (uint64_t)(max_s * 1e9)) {
		uint64_t c2;

		serve_for(10);
		c2 = srv_cpu_ns();
		if (c2 - cpu > 300000u * (uint64_t)nroots) {
			quiet = 0;
			last_busy = now_ns();
		} else
			quiet++;
		cpu = c2;
	}
	return last_busy;
}

/* Publish round r and serve until every live client has it. */
static bool
run_round(int r, uint64_t *took)
{
	uint64_t t0, deadline;

	cur_round = r;
	round_got = 0;
	t0 = now_ns();
	deadline = t0 + (uint64_t)(opt.round_timeout * 1e9);
	publish(r);
	while (round_got < opt.n - dead) {
		if (now_ns() > deadline) {
			warnx("round %d: %d of %d clients got the event in "
			    "%.0f s", r, round_got, opt.n - dead,
			    opt.round_timeout);
			*took = now_ns() - t0;
			return false;
		}
		loop_once(100);
	}
	*took = now_ns() - t0;
	return true;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const uint32_t *a, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)n + 0.999999);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return a[i] / 1000.0;	/* ms */
}

/* Raise RLIMIT_NOFILE as far as allowed; returns what we got. */
static long
raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if ((rlim_t)want > rl.rlim_max) {
		struct rlimit up = { (rlim_t)want, (rlim_t)want };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return want;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return (long)rl.rlim_cur;
}

static double
cpu_self_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The ingest run: hold the clients, time livctl send - < file. */
static void
run_ingest(long nofile, double setup_s)
{
	char line[4096], sock[512];
	long lines = 0;
	uint64_t t0, t1, answers0 = answers;
	double cpu0, cpu1;
	uint64_t scpu0, scpu1;
	int status;
	pid_t child;
	struct rusage cru;
	FILE *f;

	if ((f = fopen(opt.ingest_file, "r")) == NULL)
		die("%s: %s", opt.ingest_file, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL)
		if (line[0] != '\n' && line[0] != '#')
			lines++;
	fclose(f);
	snprintf(sock, sizeof sock, "%s", sockets[0]);
	cpu0 = cpu_self_s();
	scpu0 = srv_cpu_ns();
	t0 = now_ns();
	if ((child = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		int fd = open(opt.ingest_file, O_RDONLY);

		if (fd == -1 || dup2(fd, 0) == -1)
			_exit(127);
		execl(opt.livctl, opt.livctl, "-s", sock, "send", "-l",
		    opt.location, "-", (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t w = wait4(child, &status, WNOHANG, &cru);

		if (w == child)
			break;
		loop_once(5);
	}
	t1 = now_ns();
	cpu1 = cpu_self_s();
	scpu1 = srv_cpu_ns();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		warnx("livctl send - exited with status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	serve_for(200);
	printf("mode=ingest server=%s%s%s repoll=%d n=%d nofile=%ld "
	    "setup_s=%.3f "
	    "held=%d events=%ld ingest_s=%.3f ingest_events_per_s=%.0f "
	    "livctl_status=%d livctl_cpu_s=%.3f srv_cpu_s=%.3f "
	    "srv_cpu_us_per_event=%.2f "
	    "bench_cpu_s=%.2f poll_answers=%" PRIu64 " errors=%d\n",
	    opt.kind_name, opt.label[0] ? " label=" : "", opt.label,
	    !opt.no_repoll, opt.n, nofile, setup_s, held, lines, (double)(t1 - t0) / 1e9,
	    (double)lines / ((double)(t1 - t0) / 1e9),
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	    (double)cru.ru_utime.tv_sec + cru.ru_utime.tv_usec / 1e6 +
	    (double)cru.ru_stime.tv_sec + cru.ru_stime.tv_usec / 1e6,
	    (double)(scpu1 - scpu0) / 1e9,
	    (double)(scpu1 - scpu0) / 1e3 / (double)lines, cpu1 - cpu0,
	    answers - answers0, errors);
}

/*
 * One phase of the publish mode: count requests (0: until stop_at) over
 * the connections, each as soon as the last is answered; returns when
 * all are answered, or when none has come for --round-timeout seconds.
 */
static void
pc_phase(long count, double seconds)
{
	uint64_t t0 = now_ns();

	ps.left = count > 0 ? count : LONG_MAX;
	ps.stop_at = seconds > 0 ? t0 + (uint64_t)(seconds * 1e9) : 0;
	ps.last_answer = t0;
	for (int i = 0; i < popt.conns; i++)
		pc_next(&pcs[i]);
	while (ps.answered < ps.sent) {
		if (now_ns() - ps.last_answer > opt.round_timeout * 1e9) {
			warnx("publish: no answer for %.0f s", opt.round_timeout);
			break;
		}
		loop_once(100);
	}
}

/*
 * The publish run: a warm-up (untimed), then the timed requests; the
 * server's CPU over the timed part, per request and per event.
 */
static void
run_publish(long nofile, double setup_s)
{
	uint64_t t0, t1, ns0, ns1, ticks0, ticks1, user0, user1, answers0;
	long reqs, hz = sysconf(_SC_CLK_TCK), lost;
	double self0, self1, wall, events;

	if ((pcs = calloc((size_t)popt.conns, sizeof *pcs)) == NULL)
		die("out of memory");
	for (int i = 0; i < popt.conns; i++)
		pc_open(&pcs[i], PC_ID + (uint64_t)i);
	/* warm-up: the server's buffers and caches, and is /api there? */
	pc_phase(popt.batch > 1 ? 10 : 100, 0);
	if (ps.unavailable) {
		printf("mode=publish server=%s%s%s conns=%d batch=%d n=%d "
		    "unavailable=%d\n", opt.kind_name, opt.label[0] ?
		    " label=" : "", opt.label, popt.conns, popt.batch, opt.n,
		    ps.unavailable);
		fflush(stdout);
		exit(3);
	}
	lost = ps.sent - ps.answered;
	nlat = 0;
	ps.sent = ps.answered = 0;
	answers0 = answers;
	self0 = cpu_self_s();
	ticks0 = srv_cpu_ticks(&user0);
	ns0 = srv_cpu_ns();
	t0 = now_ns();
	if (lost == 0)
		pc_phase(popt.count, popt.seconds);
	t1 = ps.last_answer > t0 ? ps.last_answer : now_ns();
	ns1 = srv_cpu_ns();
	ticks1 = srv_cpu_ticks(&user1);
	self1 = cpu_self_s();
	if (opt.n > 0)
		serve_for(200);	/* the polls' last answers */
	lost += ps.sent - ps.answered;
	reqs = ps.answered > 0 ? ps.answered : 1;
	events = (double)ps.answered * popt.batch;
	wall = (double)(t1 - t0) / 1e9;
	qsort(lat, nlat, sizeof *lat, cmp_u32);
	printf("mode=publish server=%s%s%s conns=%d batch=%d n=%d "
	    "nofile=%ld setup_s=%.3f held=%d requests=%ld events=%.0f "
	    "publish_s=%.3f publishes_per_s=%.0f events_per_s=%.0f "
	    "lat_p50_us=%.0f lat_p99_us=%.0f lat_max_us=%.0f "
	    "srv_cpu_s=%.3f srv_cpu_us_per_publish=%.2f "
	    "srv_sched_us_per_publish=%.2f srv_user_us_per_publish=%.2f "
	    "srv_user_share=%.2f srv_sched_us_per_event=%.3f "
	    "bench_cpu_us_per_publish=%.2f srv_util=%.2f bench_util=%.2f "
	    "poll_answers=%" PRIu64 " lost=%ld errors=%d reconnects=%d\n",
	    opt.kind_name, opt.label[0] ? " label=" : "", opt.label,
	    popt.conns, popt.batch, opt.n, nofile, setup_s, held,
	    ps.answered, events, wall, (double)ps.answered / wall,
	    events / wall,
	    pct(lat, nlat, 0.50) * 1e3, pct(lat, nlat, 0.99) * 1e3,
	    nlat ? (double)lat[nlat - 1] : 0.0,
	    (double)(ticks1 - ticks0) / (double)hz,
	    (double)(ticks1 - ticks0) * 1e6 / (double)hz / (double)reqs,
	    (double)(ns1 - ns0) / 1e3 / (double)reqs,
	    (double)(user1 - user0) * 1e6 / (double)hz / (double)reqs,
	    ticks1 > ticks0 ? (double)(user1 - user0) /
	    (double)(ticks1 - ticks0) : 0.0,
	    (double)(ns1 - ns0) / 1e3 / (events > 0 ? events : 1),
	    (self1 - self0) * 1e6 / (double)reqs,
	    (double)(ns1 - ns0) / (double)(t1 - t0),
	    (self1 - self0) * 1e9 / (double)(t1 - t0),
	    answers - answers0, lost, ps.errors + errors, ps.reconnects);
	fflush(stdout);
	exit(lost > 0 || ps.errors > 0 || dead > 0 || errors > 0 ? 1 : 0);
}

static void	usage(void) __attribute__((noreturn));

/* The publish mode's options, checked; livd: the token read. */
static void
publish_opts(const char *token_file)
{
	FILE *f;

	if (popt.batch > 1 && opt.kind != K_LIVD)
		die("--batch is for -k livd (lines of its /api)");
	if (opt.ingest_file != NULL)
		die("--publish and --ingest do not go together");
	if (opt.kind != K_LIVD)
		return;
	if (token_file == NULL)
		die("-k livd --publish needs --token-file FILE (the API token)");
	if ((f = fopen(token_file, "r")) == NULL)
		die("%s: %s", token_file, strerror(errno));
	if (fgets(pc_token, sizeof pc_token, f) == NULL)
		die("%s: empty", token_file);
	fclose(f);
	pc_token[strcspn(pc_token, "\r\n")] = '\0';
}

/* Append the comma-separated items of arg to list (at most MAX_SRVS). */
static void
add_list(char *arg, const char **list, int *n, const char *what)
{
	for (char *item = strtok(arg, ","); item != NULL;
	    item = strtok(NULL, ",")) {
		if (*n == MAX_SRVS)
			die("too many %s values (at most %d)", what, MAX_SRVS);
		list[(*n)++] = item;
	}
}

static void
usage(void)
{
	fprintf(stderr,
"usage: livbench -k livd|nchan -a HOST:PORT -P SERVER_PID -n N [options]\n"
"  -k KIND        livd or nchan\n"
"  -a HOST:PORT   the server's HTTP address; several (-a repeated or a\n"
"                 comma list): clients split round-robin across them\n"
"  -P PID         the server's pid (its descendants are counted too);\n"
"                 several: CPU and RSS summed, each also apart (srvK_*)\n"
"  -n N           clients to hold\n"
"  -r ROUNDS      timed fan-out rounds (default 20; plus one warm-up)\n"
"  -w WINDOW      clients being set up at once (default 128)\n"
"  -s SOCKET      livd: control socket (publishing, status); several:\n"
"                 the first publishes, stats are read from all and\n"
"                 livd's own fan-out is the maximum over them\n"
"  -l LOCATION    livd: the clients' location (default /bench)\n"
"  -c CHANNEL     nchan: channel id (default bench)\n"
"  --per-addr K   clients per source address 127.0.0.2... (default 10000)\n"
"  --round-timeout S  give up on a round after S seconds (default 60)\n"
"  --stats-cmd CMD    livd: control command read after each round\n"
"                 (default stats)\n"
"  --stats-key KEY    livd: its key holding livd's own fan-out time in\n"
"                 seconds (default fanout_seconds_last)\n"
"  --ingest FILE --livctl PATH  livd: hold N clients and time\n"
"                 `livctl -s SOCKET send -l LOCATION - < FILE` instead\n"
"  --no-repoll    with --ingest or --publish: a client that is answered\n"
"                 does not poll again (events then only queue), to time\n"
"                 ingest alone\n"
"  --publish COUNT  publish mode: COUNT requests (after 100 untimed,\n"
"                 10 with --batch), each sent when the last is answered\n"
"                 on its connection; nchan: POST /pub/CHANNEL, livd:\n"
"                 POST /api (-n may be 0: no subscribers)\n"
"  --seconds S    publish mode: for S seconds (with --publish: whichever\n"
"                 ends first)\n"
"  --conns P      publish mode: keep-alive connections (default 1)\n"
"  --batch B      publish mode, livd: send lines per request (default 1)\n"
"  --token-file F publish mode, livd: the API token (Bearer)\n"
"  --transport T  poll (default), sse or ws: hold long-polls, event\n"
"                 streams (livd: /client/UUID/events; nchan: /sse/CHANNEL)\n"
"                 or WebSockets (livd: /client/UUID/ws; nchan: /ws/CHANNEL);\n"
"                 streams print mode=stream transport=T\n"
"  --label TEXT   added to the output line\n"
"  -v             per-round times on stderr\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "per-addr", required_argument, NULL, 'A' },
		{ "round-timeout", required_argument, NULL, 'T' },
		{ "stats-key", required_argument, NULL, 'K' },
		{ "stats-cmd", required_argument, NULL, 'C' },
		{ "ingest", required_argument, NULL, 'I' },
		{ "livctl", required_argument, NULL, 'L' },
		{ "label", required_argument, NULL, 'B' },
		{ "no-repoll", no_argument, NULL, 'N' },
		{ "publish", required_argument, NULL, 'U' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "conns", required_argument, NULL, 'O' },
		{ "batch", required_argument, NULL, 'H' },
		{ "token-file", required_argument, NULL, 'J' },
		{ "transport", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kind = NULL, *token_file = NULL;
	const char *addrs[MAX_SRVS];
	int naddrs = 0;
	long nofile, rss0, rss1, rss2, pss0, pss1;
	uint64_t t_start, t_held, t_quiet, fan_ns = 0, ticks0, ticks1, ns0,
	    user0, user1, t_begin, t_end,
	    ns1, lost = 0, dups = 0;
	double self0, self1, *fanout = NULL, livd_fan_p50 = -1,
	    livd_fan_max = -1;
	int ch, rounds_done = 0, nfan = 0;
	/* per -P pid (with several) and per control socket (with several) */
	uint64_t rticks0[MAX_SRVS], rticks1[MAX_SRVS], ruser0[MAX_SRVS],
	    ruser1[MAX_SRVS], rns0[MAX_SRVS], rns1[MAX_SRVS];
	long rrss0[MAX_SRVS], rrss1[MAX_SRVS];
	double *nodefan[MAX_SRVS] = { NULL };
	int nnodefan[MAX_SRVS] = { 0 };
	bool ok = true, publishing;
	char *colon;

	while ((ch = getopt_long(argc, argv, "k:a:P:n:r:w:s:l:c:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'k': kind = optarg; break;
		case 'a': add_list(optarg, addrs, &naddrs, "-a"); break;
		case 'P': {
			const char *v[MAX_SRVS];
			int nv = 0;

			add_list(optarg, v, &nv, "-P");
			for (int i = 0; i < nv; i++) {
				if (nroots == MAX_SRVS)
					die("too many -P pids (at most %d)",
					    MAX_SRVS);
				if ((roots[nroots++] = (pid_t)atoi(v[i])) <= 0)
					usage();
			}
			break;
		}
		case 'n': opt.n = atoi(optarg); break;
		case 'r': opt.rounds = atoi(optarg); break;
		case 'w': opt.window = atoi(optarg); break;
		case 's': add_list(optarg, sockets, &nsockets, "-s"); break;
		case 'l': opt.location = optarg; break;
		case 'c': opt.channel = optarg; break;
		case 'v': opt.verbose = true; break;
		case 'A': opt.per_addr = atoi(optarg); break;
		case 'T': opt.round_timeout = atof(optarg); break;
		case 'K': opt.stats_key = optarg; break;
		case 'C': opt.stats_cmd = optarg; break;
		case 'I': opt.ingest_file = optarg; break;
		case 'L': opt.livctl = optarg; break;
		case 'B': opt.label = optarg; break;
		case 'N': opt.no_repoll = true; break;
		case 'U': popt.count = atol(optarg); break;
		case 'S': popt.seconds = atof(optarg); break;
		case 'O': popt.conns = atoi(optarg); break;
		case 'H': popt.batch = atoi(optarg); break;
		case 'J': token_file = optarg; break;
		case 'X':
			for (opt.transport = T_POLL; opt.transport <= T_WS;
			    opt.transport++)
				if (strcmp(optarg,
				    transport_names[opt.transport]) == 0)
					break;
			if (opt.transport > T_WS)
				usage();
			break;
		default: usage();
		}
	}
	publishing = popt.count > 0 || popt.seconds > 0;
	if (kind == NULL || naddrs == 0 || opt.n < 0 ||
	    (opt.n == 0 && !publishing) || nroots == 0 || opt.rounds < 1 ||
	    opt.window < 1 || opt.per_addr < 1 || optind != argc ||
	    popt.count < 0 || popt.seconds < 0 || popt.conns < 1 ||
	    popt.conns > 1000 || popt.batch < 1 || popt.batch > 500)
		usage();
	if (strcmp(kind, "livd") == 0)
		opt.kind = K_LIVD;
	else if (strcmp(kind, "nchan") == 0)
		opt.kind = K_NCHAN;
	else
		usage();
	opt.kind_name = kind;
	if (publishing)
		publish_opts(token_file);
	else if (opt.kind == K_LIVD && nsockets == 0)
		die("livd needs -s SOCKET (its control socket)");
	if (opt.kind == K_NCHAN && (naddrs > 1 || nsockets > 0))
		die("nchan takes one -a and no -s");
	if (publishing)
		nctls = 0;	/* the publishers are HTTP connections */
	else if (opt.kind == K_LIVD)
		nctls = nsockets;
	if (opt.ingest_file != NULL && (opt.kind != K_LIVD ||
	    opt.livctl == NULL))
		die("--ingest needs -k livd and --livctl PATH");
	if (opt.no_repoll && opt.ingest_file == NULL && !publishing)
		die("--no-repoll goes with --ingest or --publish");
	if (opt.transport != T_POLL && (publishing ||
	    opt.ingest_file != NULL))
		die("--transport goes with the fan-out mode only");
	for (int i = 0; i < naddrs; i++) {
		char *host = srvs[i].host;
		struct sockaddr_in *sa = &srvs[i].addr;

		snprintf(host, sizeof srvs[i].host, "%s", addrs[i]);
		if ((colon = strrchr(host, ':')) == NULL)
			usage();
		*colon = '\0';
		sa->sin_family = AF_INET;
		sa->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			die("%s: not an IPv4 address", host);
		*colon = ':';
	}
	nsrvs = naddrs;
	opt.srv = srvs[0].addr;
	snprintf(opt.host, sizeof opt.host, "%s", srvs[0].host);
	if (opt.n / opt.per_addr + 2 > 254)
		die("too many clients for 127.0.0.2-254 at --per-addr %d",
		    opt.per_addr);

	signal(SIGPIPE, SIG_IGN);
	nofile = raise_nofile(opt.n + 64);
	fprintf(stderr, "livbench: RLIMIT_NOFILE %ld (wanted %d)\n", nofile,
	    opt.n + 64);
	if (nsrvs > 1)
		fprintf(stderr, "livbench: %d clients split across %d "
		    "servers\n", opt.n, nsrvs);
	if (nofile < opt.n + 16)
		die("RLIMIT_NOFILE is %ld: too few descriptors for %d clients",
		    nofile, opt.n);
	if ((cls = calloc((size_t)opt.n + 1, sizeof *cls)) == NULL)
		die("out of memory");
	for (int i = 0; i < opt.n; i++) {
		cls[i].fd = -1;
		cls[i].last_round = -1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	for (int i = 0; i < nroots; i++)
		if (kill(roots[i], 0) == -1)
			die("server pid %d: %s", (int)roots[i],
			    strerror(errno));
	proc_collect();

	for (int i = 0; i < nctls; i++)
		pub_open(i);
	serve_for(100);
	rss0 = srv_rss_kb();
	pss0 = srv_pss_kb();
	for (int i = 0; nroots > 1 && i < nroots; i++)
		rrss0[i] = srv_kb_of(i, "status", "VmRSS");

	/* Set-up: every client connected and its poll written. */
	t_start = now_ns();
	launch();
	while (held + dead < opt.n)
		loop_once(100);
	t_held = now_ns();
	t_quiet = wait_quiet(30);
	if (t_quiet < t_held)
		t_quiet = t_held;
	rss1 = srv_rss_kb();
	pss1 = srv_pss_kb();
	for (int i = 0; nroots > 1 && i < nroots; i++)
		rrss1[i] = srv_kb_of(i, "status", "VmRSS");
	fprintf(stderr, "livbench: %s: %d clients held (%d dead) in %.3f s, "
	    "server quiet after %.3f s; RSS %ld -> %ld kB\n", kind, held,
	    dead, (double)(t_held - t_start) / 1e9,
	    (double)(t_quiet - t_start) / 1e9, rss0, rss1);

	if (opt.ingest_file != NULL) {
		run_ingest(nofile, (double)(t_quiet - t_start) / 1e9);
		return dead > 0;
	}
	if (publishing)
		run_publish(nofile, (double)(t_quiet - t_start) / 1e9);

	/* Warm-up round: every held poll answers once. */
	{
		uint64_t took;

		ok = run_round(0, &took);
		serve_for(50);
	}
	fanout = calloc((size_t)opt.rounds, sizeof *fanout);
	for (int i = 0; i < nctls; i++)
		nodefan[i] = calloc((size_t)opt.rounds, sizeof *nodefan[i]);
	self0 = cpu_self_s();
	ticks0 = srv_cpu_ticks(&user0);
	for (int i = 0; nroots > 1 && i < nroots; i++) {
		rticks0[i] = srv_cpu_ticks_of(i, &ruser0[i]);
		rns0[i] = srv_cpu_ns_of(i);
	}
	t_begin = now_ns();
	ns0 = srv_cpu_ns();
	for (int r = 1; ok && r <= opt.rounds; r++) {
		uint64_t took;

		size_t lat0 = nlat;

		ok = run_round(r, &took);
		fan_ns += took;
		if (opt.verbose) {
			uint32_t mx = 0, mn = UINT32_MAX;

			for (size_t i = lat0; i < nlat; i++) {
				mx = lat[i] > mx ? lat[i] : mx;
				mn = lat[i] < mn ? lat[i] : mn;
			}
			fprintf(stderr, "livbench: round %d: %.1f ms, first "
			    "receipt %.1f ms, latest %.1f ms after send\n", r,
			    (double)took / 1e6, nlat > lat0 ? mn / 1e3 : 0.0,
			    mx / 1e3);
		}
		rounds_done = r;
		if (ok && opt.kind == K_LIVD) {
			uint64_t t0 = now_ns();
			double mx = -1;
			bool all;

			/*
			 * livd's own figure, when it reports one; with
			 * several nodes, the slowest node's.
			 */
			for (int i = 0; i < nctls; i++)
				ctl_status(&ctls[i]);
			do {
				all = true;
				for (int i = 0; i < nctls; i++)
					all &= ctls[i].status_done;
				if (!all)
					loop_once(10);
			} while (!all && now_ns() - t0 < 5000000000u);
			for (int i = 0; i < nctls; i++) {
				struct ctl *p = &ctls[i];
				size_t vlen;
				const char *v;

				if (!p->status_done)
					continue;
				v = json_top(p->status, strlen(p->status),
				    opt.stats_key, &vlen);
				if (v != NULL && (isdigit((unsigned char)*v) ||
				    *v == '.')) {
					double x = atof(v);

					nodefan[i][nnodefan[i]++] = x;
					mx = x > mx ? x : mx;
				}
			}
			if (mx >= 0)
				fanout[nfan++] = mx;
		}
	}
	t_end = now_ns();
	ticks1 = srv_cpu_ticks(&user1);
	ns1 = srv_cpu_ns();
	for (int i = 0; nroots > 1 && i < nroots; i++) {
		rticks1[i] = srv_cpu_ticks_of(i, &ruser1[i]);
		rns1[i] = srv_cpu_ns_of(i);
	}
	self1 = cpu_self_s();
	serve_for(300);		/* late copies would show as duplicates */
	rss2 = srv_rss_kb();

	for (int i = 0; i < opt.n; i++) {
		uint32_t want = (uint32_t)opt.rounds + 1;

		lost += cls[i].got < want ? want - cls[i].got : 0;
		dups += cls[i].dups;
	}
	if (nfan > 0) {
		qsort(fanout, (size_t)nfan, sizeof *fanout, cmp_double);
		livd_fan_p50 = fanout[(nfan - 1) / 2] * 1e3;
		livd_fan_max = fanout[nfan - 1] * 1e3;
	}
	qsort(lat, nlat, sizeof *lat, cmp_u32);
	{
		double deliveries = (double)opt.n * rounds_done;
		long hz = sysconf(_SC_CLK_TCK);
		char fan50[32] = "na", fanmax[32] = "na";

		if (nfan > 0) {
			snprintf(fan50, sizeof fan50, "%.2f", livd_fan_p50);
			snprintf(fanmax, sizeof fanmax, "%.2f", livd_fan_max);
		}
		/* a stream's line says which: the long-poll's is as it was */
		if (opt.transport == T_POLL)
			printf("mode=fanout");
		else
			printf("mode=stream transport=%s",
			    transport_names[opt.transport]);
		printf(" server=%s%s%s n=%d nofile=%ld "
		    "setup_s=%.3f setup_rate=%.0f "
		    "rss_before_kb=%ld rss_held_kb=%ld rss_after_kb=%ld "
		    "rss_per_client_b=%.0f pss_per_client_b=%.0f "
		    "rounds=%d deliveries=%.0f fanout_s=%.3f "
		    "deliveries_per_s=%.0f lat_p50_ms=%.2f lat_p99_ms=%.2f "
		    "lat_max_ms=%.2f lost=%" PRIu64 " dup=%" PRIu64 " "
		    "errors=%d reconnects=%d "
		    "srv_cpu_s=%.2f srv_cpu_us_per_delivery=%.2f "
		    "srv_sched_us_per_delivery=%.2f "
		    "srv_user_share=%.2f srv_user_us_per_delivery=%.2f "
		    "bench_cpu_us_per_delivery=%.2f srv_util=%.2f "
		    "bench_util=%.2f "
		    "livd_fanout_ms_p50=%s livd_fanout_ms_max=%s",
		    kind, opt.label[0] ? " label=" : "", opt.label, opt.n,
		    nofile, (double)(t_quiet - t_start) / 1e9,
		    opt.n / ((double)(t_quiet - t_start) / 1e9),
		    rss0, rss1, rss2, (double)(rss1 - rss0) * 1024 / opt.n,
		    (double)(pss1 - pss0) * 1024 / opt.n,
		    rounds_done, deliveries, (double)fan_ns / 1e9,
		    deliveries / ((double)fan_ns / 1e9),
		    pct(lat, nlat, 0.50), pct(lat, nlat, 0.99),
		    nlat ? lat[nlat - 1] / 1000.0 : 0.0, lost, dups, errors,
		    reconnects, (double)(ticks1 - ticks0) / (double)hz,
		    (double)(ticks1 - ticks0) * 1e6 / (double)hz / deliveries,
		    (double)(ns1 - ns0) / 1e3 / deliveries,
		    ticks1 > ticks0 ? (double)(user1 - user0) /
		    (double)(ticks1 - ticks0) : 0.0,
		    (double)(user1 - user0) * 1e6 / (double)hz / deliveries,
		    (self1 - self0) * 1e6 / deliveries,
		    (double)(ns1 - ns0) / (double)(t_end - t_begin),
		    (self1 - self0) * 1e9 / (double)(t_end - t_begin),
		    fan50, fanmax);
		/* several servers: each -P pid's share, each node's fan-out */
		for (int i = 0; nroots > 1 && i < nroots; i++)
			printf(" srv%d_pid=%d srv%d_rss_before_kb=%ld "
			    "srv%d_rss_held_kb=%ld srv%d_cpu_s=%.2f "
			    "srv%d_sched_us_per_delivery=%.2f "
			    "srv%d_user_us_per_delivery=%.2f srv%d_util=%.2f",
			    i + 1, (int)roots[i], i + 1, rrss0[i], i + 1,
			    rrss1[i], i + 1, (double)(rticks1[i] -
			    rticks0[i]) / (double)hz, i + 1,
			    (double)(rns1[i] - rns0[i]) / 1e3 / deliveries,
			    i + 1, (double)(ruser1[i] - ruser0[i]) * 1e6 /
			    (double)hz / deliveries, i + 1,
			    (double)(rns1[i] - rns0[i]) /
			    (double)(t_end - t_begin));
		for (int i = 0; nctls > 1 && i < nctls; i++) {
			int k = nnodefan[i];

			if (k == 0) {
				printf(" node%d_fanout_ms_p50=na "
				    "node%d_fanout_ms_max=na", i + 1, i + 1);
				continue;
			}
			qsort(nodefan[i], (size_t)k, sizeof *nodefan[i],
			    cmp_double);
			printf(" node%d_fanout_ms_p50=%.2f "
			    "node%d_fanout_ms_max=%.2f", i + 1,
			    nodefan[i][(k - 1) / 2] * 1e3, i + 1,
			    nodefan[i][k - 1] * 1e3);
		}
		if (nroots > 1 || nctls > 1)
			printf(" servers=%d\n", nsrvs);
		else
			printf("\n");
	}
	fflush(stdout);
	for (int i = 0; i < nctls; i++)
		free(nodefan[i]);
	free(fanout);
	free(lat);
	return (lost > 0 || dups > 0 || !ok) ? 1 : 0;
}

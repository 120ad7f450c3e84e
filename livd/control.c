/*
 * The control socket: a stream Unix socket speaking newline-delimited
 * JSON. Requests on one connection are answered in order. A request that
 * cannot be answered at once (a poll, a cluster send waiting for Redis)
 * takes an answer slot and the requests after it go on; their answers
 * wait in slots behind it, so what the client reads stays in order.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "util.h"
#include "control.h"
#include "livd.h"
#include "log.h"
#include "msg.h"

/* Stop reading requests while this much output waits for the reader, */
#define CTL_OUTPUT_HIGH	(4 * 1024 * 1024)
/* or while this many answers are still to come. */
#define CTL_SLOTS_HIGH	65536

/* An answer in its place in line: still to come, or ready behind one. */
struct ctl_slot {
	struct ctl_conn		*conn;
	char			*text;		/* NULL until answered */
	size_t			 len;
	void			(*cancel)(void *);
	void			*arg;
	bool			 barrier;	/* nothing after it runs first */
	TAILQ_ENTRY(ctl_slot)	 link;
};

struct ctl_conn {
	struct bufferevent	*bev;
	TAILQ_HEAD(, ctl_slot)	 slots;
	size_t			 nslots;
	size_t			 barriers;	/* unanswered barrier slots */
	bool			 eof;		/* the peer sent all it will */
	bool			 closing;	/* close once output is out */
	bool			 streaming;	/* see ctl_stream */
	const char		*stream_name;
	void			(*stream_stop)(void *);
	void			*stream_arg;
	struct event		*resume;
	/* A sink's (POST /api): no socket, the lines and answers are its. */
	const struct ctl_sink	*sink;
	void			*sink_arg;
	const char		*lines;		/* request lines, */
	size_t			 linesoff;	/* run up to here */
	size_t			 lineslen;
	char			*copy;		/* lines kept while waiting */
	bool			 waiting;	/* done() is owed */
	TAILQ_ENTRY(ctl_conn)	 link;
};

static struct evconnlistener	*listener;
static struct event		*accept_pause;
static double			 accept_failed_at = -100;
static char			*socket_path;
static TAILQ_HEAD(, ctl_conn)	 ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);

static void	ctl_read_cb(struct bufferevent *, void *);
static bool	ctl_process(struct ctl_conn *);
static void	ctl_resume_cb(evutil_socket_t, short, void *);

/* Operations still owing the connection an answer are cancelled. */
static void
ctl_cancel(struct ctl_conn *c)
{
	struct ctl_slot *slot;

	while ((slot = TAILQ_FIRST(&c->slots)) != NULL) {
		TAILQ_REMOVE(&c->slots, slot, link);
		if (slot->text == NULL && slot->cancel != NULL)
			slot->cancel(slot->arg);
		free(slot->text);
		free(slot);
	}
	c->nslots = 0;
	c->barriers = 0;
	if (c->streaming)
		c->stream_stop(c->stream_arg);
	c->streaming = false;
}

/* Free a connection; operations still owing it an answer are cancelled. */
static void
ctl_free(struct ctl_conn *c)
{
	ctl_cancel(c);
	event_free(c->resume);
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&ctl_conns, c, link);
	free(c);
}

/* Close when nothing is outstanding and all output is written. */
static bool
ctl_maybe_close(struct ctl_conn *c)
{
	if (!(c->closing || c->eof) || c->nslots > 0 || c->streaming)
		return false;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return false;
	ctl_free(c);
	return true;
}

static void
ctl_write(struct ctl_conn *c, const char *s, size_t len)
{
	struct evbuffer *out;

	if (c->sink != NULL) {
		c->sink->answer(c->sink_arg, s, len);
		return;
	}
	out = bufferevent_get_output(c->bev);
	evbuffer_add(out, s, len);
	evbuffer_add(out, "\n", 1);
}

/*
 * Put an answer in its place: written now when nothing is owed before
 * it, else kept in a slot. slot is NULL for an answer made at once.
 */
static void
ctl_put(struct ctl_conn *c, struct ctl_slot *slot, const char *s, size_t len)
{
	if (slot == NULL) {
		if (TAILQ_EMPTY(&c->slots)) {
			ctl_write(c, s, len);
			return;
		}
		slot = xcalloc(1, sizeof *slot);
		slot->conn = c;
		TAILQ_INSERT_TAIL(&c->slots, slot, link);
		c->nslots++;
	}
	slot->text = xstrndup(s, len);
	slot->len = len;
	if (slot->barrier)
		c->barriers--;
	while ((slot = TAILQ_FIRST(&c->slots)) != NULL && slot->text != NULL) {
		TAILQ_REMOVE(&c->slots, slot, link);
		c->nslots--;
		ctl_write(c, slot->text, slot->len);
		free(slot->text);
		free(slot);
	}
	/* Slots freed: reading may go on, or the connection may close. */
	event_active(c->resume, EV_TIMEOUT, 0);
}

/*
 * The request in hand will be answered later, through the slot. A
 * barrier (a poll) also holds back the requests after it until then, as
 * a client reading one answer at a time would see; other deferred
 * answers (cluster sends) let the requests after them run.
 */
struct ctl_slot *
ctl_defer(struct ctl_conn *c, bool barrier, void (*cancel)(void *),
    void *arg)
{
	struct ctl_slot *slot = xcalloc(1, sizeof *slot);

	slot->conn = c;
	slot->cancel = cancel;
	slot->arg = arg;
	slot->barrier = barrier;
	c->barriers += barrier;
	TAILQ_INSERT_TAIL(&c->slots, slot, link);
	c->nslots++;
	return slot;
}

static char *
encode_ok(json_t *answer, size_t *len)
{
	char *s = answer ? json_dumps(answer, JSON_COMPACT) :
	    xstrdup("{\"ok\":true}");

	json_decref(answer);
	*len = strlen(s);
	return s;
}

static char *
encode_error(const char *fmt, va_list ap, size_t *len)
{
	char msg[1024], *s;
	json_t *answer;

	vsnprintf(msg, sizeof msg, fmt, ap);
	answer = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	if (answer == NULL)	/* not UTF-8: never from livd's own text */
		answer = json_pack("{s:b,s:s}", "ok", 0, "error",
		    "invalid request");
	s = json_dumps(answer, JSON_COMPACT);
	json_decref(answer);
	log_debug("control: error: %s", msg);
	*len = strlen(s);
	return s;
}

/* Answer ok; answer holds more keys, or is NULL. Takes the reference. */
void
ctl_ok(struct ctl_conn *c, json_t *answer)
{
	size_t len;
	char *s = encode_ok(answer, &len);

	ctl_put(c, NULL, s, len);
	free(s);
}

/* Answer with text that is already a JSON object holding "ok": true. */
void
ctl_ok_raw(struct ctl_conn *c, const char *s, size_t len)
{
	ctl_put(c, NULL, s, len);
}

/* An error answer, to a connection's next answer or to a slot. */
static void
put_error(struct ctl_conn *c, struct ctl_slot *slot, const char *fmt,
    va_list ap)
{
	size_t len;
	char *s = encode_error(fmt, ap, &len);

	ctl_put(c, slot, s, len);
	free(s);
}

void
ctl_error(struct ctl_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_error(c, NULL, fmt, ap);
	va_end(ap);
}

void
ctl_slot_ok(struct ctl_slot *slot, json_t *answer)
{
	size_t len;
	char *s = encode_ok(answer, &len);

	ctl_put(slot->conn, slot, s, len);
	free(s);
}

void
ctl_slot_ok_raw(struct ctl_slot *slot, const char *s, size_t len)
{
	ctl_put(slot->conn, slot, s, len);
}

void
ctl_slot_error(struct ctl_slot *slot, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_error(slot->conn, slot, fmt, ap);
	va_end(ap);
}

/*
 * The connection streams: answer ok, then the caller's lines until the
 * connection closes, when stop(arg) ends what feeds it. name says whose
 * stream is cut off.
 */
void
ctl_stream(struct ctl_conn *c, const char *name, void (*stop)(void *),
    void *arg)
{
	c->stream_name = name;
	c->stream_stop = stop;
	c->stream_arg = arg;
	c->streaming = true;
	ctl_put(c, NULL, "{\"ok\":true}", 11);	/* then the lines */
}

/*
 * One line of a stream. A reader that falls too far behind is cut off,
 * so a stalled livctl tail cannot make livd hold its output without
 * bound; the stream's stop runs then (it may be the caller's own).
 */
void
ctl_stream_line(struct ctl_conn *c, const char *s, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char behind[128];
	int n;

	if (c->closing)
		return;
	if (evbuffer_get_length(out) > livd.cfg.max_output) {
		n = snprintf(behind, sizeof behind, "{\"ok\":false,\"error\":"
		    "\"%s: too far behind\"}", c->stream_name);
		ctl_write(c, behind, (size_t)n);
		c->streaming = false;
		c->closing = true;
		c->stream_stop(c->stream_arg);
		return;
	}
	ctl_write(c, s, len);
}

/* A string member of a request, or NULL. */
const char *
ctl_string(json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

/*
 * Handle complete lines until a barrier, backpressure or the end of the
 * input; true when that also ended the connection (c is freed).
 */
static bool
ctl_process(struct ctl_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t max = livd.cfg.max_line;

	while (!c->closing && !c->streaming && c->barriers == 0) {
		struct evbuffer_ptr eol;
		size_t eol_len, len;
		char *line;

		if (evbuffer_get_length(out) > CTL_OUTPUT_HIGH ||
		    c->nslots > CTL_SLOTS_HIGH) {
			bufferevent_disable(c->bev, EV_READ);
			break;
		}
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			len = evbuffer_get_length(in);
			if (len > max) {
				ctl_error(c, "request line over %zu bytes", max);
				c->closing = true;
				evbuffer_drain(in, len);
			} else if (c->eof && len > 0) {
				/* The last line needs no newline. */
				line = (char *)evbuffer_pullup(in, -1);
				commands_run(c, line, len);
				evbuffer_drain(in, len);
			}
			break;
		}
		len = (size_t)eol.pos;
		if (len > max) {
			ctl_error(c, "request line over %zu bytes", max);
			c->closing = true;
			evbuffer_drain(in, evbuffer_get_length(in));
			break;
		}
		line = (char *)evbuffer_pullup(in, (ssize_t)(len + 1));
		commands_run(c, line, len);
		evbuffer_drain(in, len + 1);
	}
	return ctl_maybe_close(c);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	ctl_process(arg);
}

/* Read again once the backlog of output and answers has shrunk. */
static void
ctl_resume_reading(struct ctl_conn *c)
{
	struct bufferevent *bev = c->bev;

	if (!c->eof && !c->closing && !(bufferevent_get_enabled(bev) &
	    EV_READ) && evbuffer_get_length(bufferevent_get_output(bev)) <
	    CTL_OUTPUT_HIGH / 2 && c->nslots < CTL_SLOTS_HIGH / 2)
		bufferevent_enable(bev, EV_READ);
}

static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;

	(void)bev;
	if (ctl_maybe_close(c))
		return;
	ctl_resume_reading(c);
	ctl_process(c);
}

/*
 * Run a sink's lines until a barrier; true when every line has run and
 * been answered.
 */
static bool
ctl_sink_process(struct ctl_conn *c)
{
	while (c->barriers == 0 && c->linesoff < c->lineslen) {
		const char *line = c->lines + c->linesoff;
		size_t left = c->lineslen - c->linesoff, len;
		const char *eol = memchr(line, '\n', left);

		len = eol != NULL ? (size_t)(eol - line) : left;
		c->linesoff += eol != NULL ? len + 1 : len;
		commands_run(c, line, len);
	}
	return c->linesoff == c->lineslen && c->nslots == 0;
}

/*
 * A connection with no socket: its answers go to sink->answer, one line
 * at a time and in order, as a socket client would read them. POST /api
 * runs request bodies through one, so an HTTP client gets exactly the
 * control socket's answers.
 */
struct ctl_conn *
ctl_sink_new(const struct ctl_sink *sink, void *arg)
{
	struct ctl_conn *c = xcalloc(1, sizeof *c);

	TAILQ_INIT(&c->slots);
	c->resume = event_new(livd.base, -1, 0, ctl_resume_cb, c);
	c->sink = sink;
	c->sink_arg = arg;
	return c;
}

/*
 * Run request lines (one request, newlines and all, when one is true).
 * True when all are answered now; else sink->done comes when they are,
 * and the lines not yet run are kept in a copy meanwhile.
 */
bool
ctl_sink_run(struct ctl_conn *c, const char *lines, size_t len, bool one)
{
	if (one) {
		commands_run(c, lines, len);
		len = 0;
	}
	c->lines = lines;
	c->linesoff = 0;
	c->lineslen = len;
	if (ctl_sink_process(c))
		return true;
	c->lineslen -= c->linesoff;
	c->lines = c->copy = xmalloc(c->lineslen + 1);
	memcpy(c->copy, lines + c->linesoff, c->lineslen);
	c->linesoff = 0;
	c->waiting = true;
	return false;
}

/* Free a sink's connection; what still owes it an answer is cancelled. */
void
ctl_sink_free(struct ctl_conn *c)
{
	ctl_cancel(c);
	event_free(c->resume);
	free(c->copy);
	free(c);
}

/* May c run the command? A sink says, and answers why not itself. */
bool
ctl_admit(struct ctl_conn *c, const struct ctlspec *spec)
{
	return c->sink == NULL || c->sink->admit(c->sink_arg, c, spec);
}

static void
ctl_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn *c = arg;

	(void)fd; (void)what;
	if (c->sink != NULL) {
		/* An answer came in: run what waited behind it; all done? */
		if (!c->waiting || !ctl_sink_process(c))
			return;
		c->waiting = false;
		free(c->copy);
		c->copy = NULL;
		c->lines = NULL;
		c->sink->done(c->sink_arg);	/* may free c */
		return;
	}
	/* Lines may wait in the input (behind a barrier, or after EOF). */
	if (!ctl_process(c))
		ctl_resume_reading(c);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && c->streaming) {
		ctl_free(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Answer what was asked, then close. */
		c->eof = true;
		ctl_process(c);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		ctl_free(c);
}

/* Serve a connected control socket. */
void
control_adopt(int fd)
{
	struct ctl_conn *c;

	c = xcalloc(1, sizeof *c);
	TAILQ_INIT(&c->slots);
	c->bev = bufferevent_socket_new(livd.base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->resume = event_new(livd.base, -1, 0, ctl_resume_cb, c);
	bufferevent_setcb(c->bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&ctl_conns, c, link);
}

static void
ctl_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l; (void)sa; (void)salen; (void)arg;
	control_adopt(fd);
}

static void
ctl_resume_accept(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	evconnlistener_enable(arg);
}

/*
 * Out of descriptors: pause a moment rather than spin on the listener,
 * and say so once per shortage.
 */
static void
ctl_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval pause = { 0, 200000 };

	(void)arg;
	/* One line per shortage: a burst ends after 10 s without failing. */
	if (now_mono() - accept_failed_at > 10)
		log_warn("control: accept (pausing until it works again)");
	accept_failed_at = now_mono();
	evconnlistener_disable(l);
	if (accept_pause == NULL)
		accept_pause = evtimer_new(livd.base, ctl_resume_accept, l);
	event_add(accept_pause, &pause);
}

/* mkdir -p, each missing level 0700. */
static int
make_dirs(char *dir)
{
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(dir, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/*
 * Why another user could replace what st's directory holds, or NULL.
 * The socket's own directory (top) must be ours and writable by no one
 * else, or sticky (root's /tmp, for a livd run as root), where no one
 * else may remove what is ours. A directory above it must be ours or
 * root's, and writable by others only when sticky, so that no one else
 * can move the directories below it away.
 */
static const char *
socket_dir_unsafe(const struct stat *st, bool top)
{
	if (st->st_uid != geteuid() && (top || st->st_uid != 0))
		return "belongs to another user";
	if ((st->st_mode & 022) != 0 && (st->st_mode & S_ISVTX) == 0)
		return "can be written by others";
	return NULL;
}

/*
 * May the control socket go in dir? Each directory from dir up to / is
 * looked at (symbolic links resolved first); below one that others may
 * write (such as /tmp), the directory must be writable by us alone, even
 * sticky (a clone in /tmp/src, mode 0755, will do; tmux's /tmp/tmux-UID
 * is 0700).
 */
static int
socket_dir_safe(const char *dir)
{
	char path[PATH_MAX], child[PATH_MAX], *slash;
	struct stat st, below;
	const char *why;
	bool top = true;

	if (realpath(dir, path) == NULL) {
		log_warn("cannot resolve %s", dir);
		return -1;
	}
	for (;;) {
		if (stat(path, &st) != 0) {
			log_warn("cannot stat %s", path);
			return -1;
		}
		if ((why = socket_dir_unsafe(&st, top)) != NULL) {
			log_warnx("%s %s: not putting the control socket "
			    "there", path, why);
			return -1;
		}
		if (!top && (st.st_mode & 022) != 0 &&
		    (below.st_mode & 022) != 0) {
			log_warnx("%s must be writable by its owner alone in "
			    "%s, which others can write: not putting the "
			    "control socket there", child, path);
			return -1;
		}
		if (strcmp(path, "/") == 0)
			return 0;
		memcpy(child, path, sizeof child);
		below = st;
		top = false;
		slash = strrchr(path, '/');
		slash[slash == path] = '\0';	/* "/a" -> "/", "/a/b" -> "/a" */
	}
}

/*
 * The socket's directory must be one no other user can write, or another
 * user could put a socket of their own in its place and take the next
 * livctl's requests. livd makes a missing directory (and any missing
 * parents) 0700, then checks it and every one above it.
 */
static int
make_socket_dir(const char *path)
{
	char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0 && (errno != ENOENT || make_dirs(dir) != 0)) {
		log_warn("cannot make %s", dir);
		return -1;
	}
	return socket_dir_safe(dir);
}

/* Set the socket's mode and group from the config (default 0600). */
static int
socket_access(const char *path)
{
	mode_t mode = (mode_t)strtol(livd.cfg.socket_mode, NULL, 8);

	if (livd.cfg.socket_group != NULL) {
		struct group *gr = getgrnam(livd.cfg.socket_group);

		if (gr == NULL) {
			log_warnx("socket_group: no group '%s'",
			    livd.cfg.socket_group);
			return -1;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) != 0) {
			log_warn("cannot give %s to group %s", path,
			    livd.cfg.socket_group);
			return -1;
		}
	}
	if (chmod(path, mode) != 0) {
		log_warn("chmod %s", path);
		return -1;
	}
	return 0;
}

/*
 * Listen on the control socket. A socket left by a dead livd is replaced;
 * one that answers belongs to a running livd and is never taken.
 */
int
control_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd, probe;
	mode_t mask;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		log_warnx("socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (make_socket_dir(path) != 0)
		return -1;
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0) {
			close(probe);
			log_warnx("another livd is running on %s", path);
			return -1;
		}
		close(probe);
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("cannot remove %s", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0) {
		log_warn("socket");
		return -1;
	}
	mask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		umask(mask);
		log_warn("cannot bind %s", path);
		close(fd);
		return -1;
	}
	umask(mask);
	if (socket_access(path) != 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	listener = evconnlistener_new(livd.base, ctl_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (listener == NULL) {
		log_warn("cannot listen on %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	evconnlistener_set_error_cb(listener, ctl_accept_error_cb);
	socket_path = xstrdup(path);
	return 0;
}

/* Close every control connection and remove the socket. */
void
control_shutdown(void)
{
	struct ctl_conn *c;

	while ((c = TAILQ_FIRST(&ctl_conns)) != NULL) {
		struct evbuffer *out = bufferevent_get_output(c->bev);

		/* The last answers (held polls, answered idle) go out now;
		 * only the bufferevent may drain its buffer, hence the thaw. */
		evbuffer_unfreeze(out, 1);
		evbuffer_write(out, bufferevent_getfd(c->bev));
		ctl_free(c);
	}
	if (accept_pause != NULL) {
		event_free(accept_pause);
		accept_pause = NULL;
	}
	if (listener != NULL) {
		evconnlistener_free(listener);
		listener = NULL;
	}
	if (socket_path != NULL) {
		unlink(socket_path);
		free(socket_path);
		socket_path = NULL;
	}
}

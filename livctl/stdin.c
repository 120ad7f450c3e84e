/*
 * send -: events from stdin, one a line, pipelined over one connection.
 * Each line is sent as soon as it is read; answers come back in order and
 * are matched to line numbers, so a bad line is reported and the rest
 * still goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../livd/util.h"
#include "livctl.h"

/* A line longer than this is refused without sending it. */
#define STDIN_MAX_LINE	(1024 * 1024)
/* Stop reading stdin while this much waits to be written to livd. */
#define STDIN_OUT_HIGH	(1024 * 1024)

/*
 * Lines sent and not yet answered, oldest first. A line refused here
 * waits in the same queue with its message, so errors come out in line
 * order.
 */
struct entry {
	size_t	 line;
	char	*error;		/* refused by livctl itself */
};

struct pending {
	struct entry	*entries;
	size_t		 cap;
	size_t		 head;
	size_t		 count;
	size_t		 sent;		/* entries that await an answer */
};

static void
pending_push(struct pending *p, size_t line, const char *error)
{
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		struct entry *entries = xmalloc(cap * sizeof *entries);

		for (size_t i = 0; i < p->count; i++)
			entries[i] = p->entries[(p->head + i) % p->cap];
		free(p->entries);
		p->entries = entries;
		p->cap = cap;
		p->head = 0;
	}
	p->entries[(p->head + p->count++) % p->cap] = (struct entry){
		line, error ? xstrdup(error) : NULL };
	p->sent += error == NULL;
}

static struct entry
pending_pop(struct pending *p)
{
	struct entry e = p->entries[p->head];

	p->head = (p->head + 1) % p->cap;
	p->count--;
	p->sent -= e.error == NULL;
	return e;
}

struct stream {
	json_t		*target;
	struct buf	 in;		/* stdin not yet split into lines */
	struct buf	 out;		/* requests not yet written */
	size_t		 outoff;
	struct buf	 answers;	/* answers not yet read whole */
	struct pending	 pending;
	size_t		 lineno;
	bool		 skipping;	/* discarding an overlong line */
	int		 errors;
	int		 fatal;		/* 3: livd went away */
	bool		 dry_run;	/* print who would receive each */
};

static void
line_error(struct stream *s, size_t line, const char *msg)
{
	fprintf(stderr, "livctl: stdin:%zu: %s\n", line, msg);
	s->errors++;
}

/* Report the refusals at the head of the queue, up to the next request. */
static void
report_refused(struct stream *s)
{
	while (s->pending.count > 0 &&
	    s->pending.entries[s->pending.head].error != NULL) {
		struct entry e = pending_pop(&s->pending);

		line_error(s, e.line, e.error);
		free(e.error);
	}
}

static void
take_line(struct stream *s, const char *line, size_t len)
{
	char err[512];
	int rc;

	s->lineno++;
	rc = stdin_request(line, len, s->target, &s->out, err, sizeof err);
	if (rc < 0)
		pending_push(&s->pending, s->lineno, err);
	else if (rc > 0)
		pending_push(&s->pending, s->lineno, NULL);
	report_refused(s);
}

/* Split what stdin gave into lines; at eof the rest is a line too. */
static void
take_input(struct stream *s, bool eof)
{
	size_t start = 0;

	for (size_t i = 0; i < s->in.len; i++) {
		if (s->in.data[i] != '\n')
			continue;
		if (s->skipping)
			s->skipping = false;
		else
			take_line(s, s->in.data + start, i - start);
		start = i + 1;
	}
	if (eof && start < s->in.len && !s->skipping) {
		take_line(s, s->in.data + start, s->in.len - start);
		start = s->in.len;
	}
	memmove(s->in.data, s->in.data + start, s->in.len - start);
	s->in.len -= start;
	if (s->in.len > STDIN_MAX_LINE && !s->skipping) {
		s->lineno++;
		pending_push(&s->pending, s->lineno, "line too long");
		report_refused(s);
		s->skipping = true;
	}
	if (s->skipping)
		s->in.len = 0;
}

static void
flush_out(struct stream *s, int fd)
{
	while (s->outoff < s->out.len) {
		ssize_t n = write(fd, s->out.data + s->outoff,
		    s->out.len - s->outoff);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			s->fatal = complain(3, "lost connection to %s: %s",
			    socket_path, strerror(errno));
			return;
		}
		s->outoff += (size_t)n;
	}
	s->out.len = s->outoff = 0;
}

static void
take_answer(struct stream *s, const char *line, size_t len)
{
	size_t lineno;
	json_t *answer;
	json_error_t jerr;
	const char *msg;

	if (s->pending.sent == 0) {
		s->fatal = complain(3, "unexpected answer from livd");
		return;
	}
	lineno = pending_pop(&s->pending).line;
	if (json_output)
		printf("%.*s\n", (int)len, line);
	else if (s->dry_run && (answer = json_loadb(line, len, 0, NULL)) !=
	    NULL) {
		print_clients(answer, s->target);	/* who would get it */
		json_decref(answer);
	}
	if (len < 10 || memcmp(line, "{\"ok\":true", 10) != 0) {
		if ((answer = json_loadb(line, len, 0, &jerr)) == NULL) {
			s->fatal = complain(3, "unreadable answer from livd: "
			    "%s", jerr.text);
			return;
		}
		if (!json_is_true(json_object_get(answer, "ok"))) {
			msg = json_string_value(json_object_get(answer,
			    "error"));
			line_error(s, lineno, msg ? msg : "request failed");
		}
		json_decref(answer);
	}
	report_refused(s);
}

static void
read_answers(struct stream *s, int fd)
{
	char chunk[65536];
	size_t start = 0;
	ssize_t n;

	do
		n = read(fd, chunk, sizeof chunk);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		s->fatal = complain(3, "lost connection to %s", socket_path);
		return;
	}
	buf_add(&s->answers, chunk, (size_t)n);
	for (size_t i = 0; i < s->answers.len && !s->fatal; i++)
		if (s->answers.data[i] == '\n') {
			take_answer(s, s->answers.data + start, i - start);
			start = i + 1;
		}
	memmove(s->answers.data, s->answers.data + start,
	    s->answers.len - start);
	s->answers.len -= start;
}

/* Stream stdin to livd; exit status 1 if any line failed. */
int
send_stdin(json_t *target)
{
	struct stream s;
	char chunk[65536];
	bool eof = false;
	int fd = connect_socket(), rc;

	if (fd < 0)
		return 3;
	memset(&s, 0, sizeof s);
	s.target = target;
	s.dry_run = json_is_true(json_object_get(target, "dry_run"));
	buf_init(&s.in);
	buf_init(&s.out);
	buf_init(&s.answers);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while ((!eof || s.pending.count > 0 || s.out.len > 0) && !s.fatal) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int sock;

		if (!eof && s.out.len - s.outoff < STDIN_OUT_HIGH) {
			pfd[n].fd = STDIN_FILENO;
			pfd[n++].events = POLLIN;
		}
		sock = (int)n;
		pfd[n].fd = fd;
		pfd[n++].events = POLLIN | (s.out.len > 0 ? POLLOUT : 0);
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			s.fatal = complain(1, "poll: %s", strerror(errno));
			break;
		}
		if (sock == 1 && (pfd[0].revents & (POLLIN | POLLHUP))) {
			ssize_t got = read(STDIN_FILENO, chunk, sizeof chunk);

			if (got < 0 && errno != EINTR && errno != EAGAIN) {
				s.fatal = complain(1, "stdin: %s",
				    strerror(errno));
				break;
			}
			if (got == 0)
				eof = true;
			if (got > 0)
				buf_add(&s.in, chunk, (size_t)got);
			take_input(&s, eof);
			flush_out(&s, fd);	/* as soon as it is read */
		}
		if (!s.fatal && (pfd[sock].revents & POLLOUT))
			flush_out(&s, fd);
		if (!s.fatal && (pfd[sock].revents & (POLLIN | POLLHUP |
		    POLLERR)))
			read_answers(&s, fd);
	}
	close(fd);
	while (s.pending.count > 0)
		free(pending_pop(&s.pending).error);
	buf_free(&s.in);
	buf_free(&s.out);
	buf_free(&s.answers);
	free(s.pending.entries);
	fflush(stdout);
	rc = s.fatal ? s.fatal : s.errors ? 1 : 0;
	return rc;
}

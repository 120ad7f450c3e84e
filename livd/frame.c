/*
 * An event as one Server-Sent Events message ("id: SEQ", then data), in
 * the format a stream asked for. A stream at a busy location sends the
 * same event to every page there, so each event is framed once per
 * format, when a stream first needs it, and the frame is kept with the
 * event (msg.h) until the event goes. A frame of length 0 says that the
 * format has nothing for this event: the stream skips it. A verbs file
 * reloaded later does not change frames already made.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "frame.h"
#include "msg.h"
#include "verbs.h"

_Static_assert(FRAME_FORMATS == MSG_FRAMES, "an event keeps each format");

struct frame_kind {
	const char	*name;
	/* Add the data of m's message to b; false: m is not sent. */
	bool		(*make)(const struct msg *, const struct verb *,
			    struct buf *);
};

static bool	frame_json(const struct msg *, const struct verb *,
		    struct buf *);
static bool	frame_turbo(const struct msg *, const struct verb *,
		    struct buf *);
static bool	frame_htmx(const struct msg *, const struct verb *,
		    struct buf *);

static const struct frame_kind kinds[FRAME_FORMATS] = {
	[FRAME_JSON] = { "json", frame_json },
	[FRAME_TURBO] = { "turbo", frame_turbo },
	[FRAME_HTMX] = { "htmx", frame_htmx },
};

/* The format called name, or -1. */
int
frame_format(const char *name)
{
	for (size_t i = 0; i < countof(kinds); i++)
		if (strcmp(name, kinds[i].name) == 0)
			return (int)i;
	return -1;
}

const char *
frame_format_name(enum frame_format f)
{
	return kinds[f].name;
}

/*
 * Data lines: the SSE parser ends a line at CR, LF or CRLF, so each line
 * of s is a "data:" line of its own, and the page gets them joined by LF.
 */
static void
add_data(struct buf *b, const char *s, size_t len)
{
	const char *end = s + len;

	buf_adds(b, "data: ");
	while (s < end) {
		size_t n = strcspn(s, "\r\n");

		if (s + n > end)
			n = (size_t)(end - s);
		buf_add(b, s, n);
		s += n;
		if (s == end)
			break;
		s += s[0] == '\r' && s + 1 < end && s[1] == '\n' ? 2 : 1;
		buf_adds(b, "\ndata: ");
	}
	buf_addc(b, '\n');
}

static bool
frame_json(const struct msg *m, const struct verb *v, struct buf *b)
{
	(void)v;
	buf_adds(b, "data: ");
	buf_add(b, m->json, m->jsonlen);	/* JSON has no line breaks */
	buf_addc(b, '\n');
	return true;
}

/*
 * <turbo-stream action="A" target="ID"><template>HTML</template>
 * </turbo-stream>, unnamed: Turbo listens for "message". The template
 * holds the html argument as it is, or the text argument escaped; a
 * verb with neither (remove) has none.
 */
static bool
frame_turbo(const struct msg *m, const struct verb *v, struct buf *b)
{
	char *id, *html, *text;
	struct buf el;

	if (v == NULL || v->turbo == NULL)
		return false;
	id = msg_arg(m, "id");
	html = msg_arg(m, "html");
	if (html == NULL && (text = msg_arg(m, "text")) != NULL) {
		html = html_escape(text);
		free(text);
	}
	buf_init(&el);
	buf_printf(&el, "<turbo-stream action=\"%s\"", v->turbo);
	if (id != NULL) {
		char *eid = html_escape(id);

		buf_printf(&el, " target=\"%s\"", eid);
		free(eid);
	}
	buf_addc(&el, '>');
	if (html != NULL)
		buf_printf(&el, "<template>%s</template>", html);
	buf_adds(&el, "</turbo-stream>");
	add_data(b, el.data, el.len);
	buf_free(&el);
	free(id);
	free(html);
	return true;
}

/*
 * "event: ID", data the HTML: for sse-swap="ID". An id that would break
 * the event line (a line break) or name no event cannot be swapped.
 */
static bool
frame_htmx(const struct msg *m, const struct verb *v, struct buf *b)
{
	char *id = msg_arg(m, "id"), *html = msg_arg(m, "html");
	bool ok = id != NULL && html != NULL && *id != '\0' &&
	    strpbrk(id, "\r\n") == NULL;

	(void)v;
	if (ok) {
		buf_printf(b, "event: %s\n", id);
		add_data(b, html, strlen(html));
	}
	free(id);
	free(html);
	return ok;
}

/*
 * m as a message in format f, made on first use and kept with m: a blob
 * of length 0 when f does not send m. The blob is m's: take a reference
 * to keep it past m.
 */
struct blob *
frame_get(struct msg *m, enum frame_format f, const struct verbs *vs)
{
	struct buf b;

	if (m->frames[f] != NULL)
		return m->frames[f];
	buf_init(&b);
	buf_printf(&b, "id: %" PRIu64 "\n", m->seq);
	if (kinds[f].make(m, verbs_find(vs, m->verb), &b)) {
		buf_addc(&b, '\n');
		msg_frame_kept(m, f, blob_new(b.data, b.len));
	} else
		msg_frame_kept(m, f, blob_new(NULL, 0));
	buf_free(&b);
	return m->frames[f];
}

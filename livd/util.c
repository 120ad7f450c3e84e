/* Small helpers shared by livd and livctl: memory, byte buffers, text. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void
out_of_memory(void)
{
	fputs("out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		out_of_memory();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		out_of_memory();
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xprintf(const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	int n;

	buf_init(&b);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reserve(&b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return b.data;
}

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Make room for n more bytes plus the terminating NUL. */
void
buf_reserve(struct buf *b, size_t n)
{
	size_t cap;

	if (b->len + n + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/*
 * Open an error object, {"error":"MESSAGE", for the caller to close: the
 * message formatted (at most 511 bytes), and left empty if not UTF-8.
 */
void
buf_error(struct buf *b, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof msg, fmt, ap);
	buf_adds(b, "{\"error\":");
	buf_json_string(b, msg, utf8_valid(msg, strlen(msg)) ? strlen(msg) :
	    0);
}

/* Append s as a JSON string literal; s must be valid UTF-8. */
void
buf_json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	buf_reserve(b, n + 2);
	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':  buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
}

/* Append a JSON array of n strings (valid UTF-8). */
void
buf_json_strings(struct buf *b, const char *const *s, size_t n)
{
	buf_addc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(b, ',');
		buf_json_string(b, s[i], strlen(s[i]));
	}
	buf_addc(b, ']');
}

/* Append UTF-8 for code point cp. */
static void
buf_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* Four hex digits at s, or -1. */
long
hex4(const char *s, const char *end)
{
	long v = 0;

	if (end - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Append the text of a JSON string's contents (between its quotes), as
 * buf_json_string wrote them: its inverse. A bad escape is kept as is.
 */
void
buf_json_unescape(struct buf *b, const char *s, size_t n)
{
	static const char plain[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	const char *end = s + n, *bs, *p;
	long cp, lo;

	buf_reserve(b, n);
	while (s < end) {
		if ((bs = memchr(s, '\\', (size_t)(end - s))) == NULL)
			bs = end;
		buf_add(b, s, (size_t)(bs - s));
		if ((s = bs) == end || s + 1 == end)
			break;
		if (s[1] != 'u') {
			for (p = plain; *p != '\0' && *p != s[1]; p += 2)
				;
			if (*p != '\0')
				buf_addc(b, p[1]);
			else
				buf_add(b, s, 2);
			s += 2;
			continue;
		}
		if ((cp = hex4(s + 2, end)) < 0) {
			buf_add(b, s, 2);
			s += 2;
			continue;
		}
		s += 6;
		if (cp >= 0xd800 && cp < 0xdc00 && end - s >= 6 && s[0] == '\\' &&
		    s[1] == 'u' && (lo = hex4(s + 2, end)) >= 0xdc00 &&
		    lo < 0xe000) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			s += 6;
		}
		buf_utf8(b, (unsigned long)cp);
	}
	buf_add(b, "", 0);	/* NUL-terminated even when empty */
}

/* Hand the buffer's memory to the caller. */
char *
buf_steal(struct buf *b)
{
	char *p;

	if (b->data == NULL)
		buf_add(b, "", 0);
	p = b->data;
	buf_init(b);
	return p;
}

/* Is s well-formed UTF-8, without overlongs, surrogates or NUL? */
bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		unsigned c = *p;
		size_t need;
		unsigned min, cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1; min = 0x80; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2; min = 0x800; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3; min = 0x10000; cp = c & 0x07;
		} else
			return false;
		if ((size_t)(end - p) <= need)
			return false;
		for (size_t i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += need + 1;
	}
	return true;
}

/* Escape & < > " ' as HTML entities; the caller frees the result. */
char *
html_escape(const char *s)
{
	struct buf b;

	buf_init(&b);
	buf_reserve(&b, strlen(s));
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':  buf_adds(&b, "&amp;"); break;
		case '<':  buf_adds(&b, "&lt;"); break;
		case '>':  buf_adds(&b, "&gt;"); break;
		case '"':  buf_adds(&b, "&quot;"); break;
		case '\'': buf_adds(&b, "&#39;"); break;
		default:   buf_addc(&b, *s);
		}
	}
	return buf_steal(&b);
}

/*
 * A location or principal is printed in space-separated lines, so it may
 * hold neither white space nor control characters.
 */
bool
word_valid(const char *s, size_t n)
{
	if (n == 0 || !utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* Parse a decimal number of seconds; -1 when malformed. */
int
parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (*s == '\0' || strchr(" \t\n+", *s) != NULL)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	for (const char *p = s; *p != '\0'; p++)
		if (strchr("0123456789.-", *p) == NULL)
			return -1;
	*out = v;
	return 0;
}

/*
 * Copy user input for an error message: capped in length, with control
 * characters shown as '?', so one message stays one line.
 */
void
quote_for_error(char *dst, size_t size, const char *src)
{
	size_t i, n = strlen(src), max = size - 1;

	if (n > max) {
		n = max > 3 ? max - 3 : max;
		for (i = 0; i < n; i++)
			dst[i] = (unsigned char)src[i] < 0x20 ? '?' : src[i];
		/* Do not cut a UTF-8 sequence in half. */
		while (i > 0 && ((unsigned char)dst[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0 && (unsigned char)dst[i - 1] >= 0xc0)
			i--;
		memcpy(dst + i, "...", 4);
		return;
	}
	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 ? '?' : src[i];
	dst[n] = '\0';
}

static uint64_t hash_seed = 0x9e3779b97f4a7c15ULL;

/* Seed the hash so that names chosen by browsers cannot collide on purpose. */
void
hash_init(uint64_t seed)
{
	hash_seed = seed;
}

/* A seeded 64-bit FNV-style hash with a final mix. */
uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = hash_seed ^ 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

struct blob *
blob_new(const void *data, size_t len)
{
	struct blob *b = xmalloc(sizeof *b + len + 1);

	b->refs = 1;
	b->len = len;
	if (data != NULL)
		memcpy(b->data, data, len);
	b->data[len] = '\0';
	return b;
}

struct blob *
blob_ref(struct blob *b)
{
	b->refs++;
	return b;
}

void
blob_unref(struct blob *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

/* Seconds on a clock that never jumps. */
double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The control socket when none is named: $LIVD_SOCKET, else
 * $XDG_RUNTIME_DIR/livd.sock, else /tmp/livd-UID/livd.sock.
 */
const char *
socket_default(char *out, size_t size)
{
	const char *env;

	if ((env = getenv("LIVD_SOCKET")) != NULL && *env != '\0')
		snprintf(out, size, "%s", env);
	else if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && *env != '\0')
		snprintf(out, size, "%s/livd.sock", env);
	else
		snprintf(out, size, "/tmp/livd-%u/livd.sock", (unsigned)getuid());
	return out;
}

/*
 * The next wait of an exponential backoff: first after no wait, then
 * twice the last, never over cap.
 */
double
backoff_next(double prev, double first, double cap)
{
	double next = prev <= 0 ? first : prev * 2;

	return next > cap ? cap : next;
}

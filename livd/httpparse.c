/* Parsing HTTP/1.x request heads (read only) and url-encoded forms. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpparse.h"
#include "util.h"

/* Characters of an HTTP token (RFC 9110, 5.6.2), as a table. */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

static bool
is_tchar(unsigned char c)
{
	return tchar[c] != 0;
}

/* Find the end of the head: the byte after CRLF CRLF (or LF LF). */
static size_t
head_end(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t i = (size_t)(p - buf);

		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
		p++;
	}
	return 0;
}

/* Is the span exactly s? */
bool
http_span_is(struct http_span v, const char *s)
{
	size_t n = strlen(s);

	return v.p != NULL && v.len == n && memcmp(v.p, s, n) == 0;
}

static bool
span_caseis(struct http_span v, const char *s, size_t n)
{
	return v.len == n && strncasecmp(v.p, s, n) == 0;
}

/* Does a comma-separated header value hold the token? */
bool
http_has_token(struct http_span v, const char *token)
{
	size_t n = strlen(token), i = 0;

	while (i < v.len) {
		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' ||
		    v.p[i] == ','))
			i++;
		if (v.len - i >= n && strncasecmp(v.p + i, token, n) == 0 &&
		    (i + n == v.len || v.p[i + n] == ',' || v.p[i + n] == ' ' ||
		    v.p[i + n] == '\t'))
			return true;
		while (i < v.len && v.p[i] != ',')
			i++;
	}
	return false;
}

static int
parse_length(struct http_span v, int64_t *out)
{
	int64_t n = 0;

	if (v.len == 0)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9' || n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (v.p[i] - '0');
	}
	*out = n;
	return 0;
}

static enum http_parse
bad(const char **err, const char *why)
{
	*err = why;
	return HTTP_PARSE_BAD;
}

static enum http_parse
h_content_length(struct http_head *h, struct http_span v, const char **err)
{
	int64_t n;

	if (parse_length(v, &n) != 0)
		return bad(err, "invalid Content-Length");
	if (h->content_length >= 0 && h->content_length != n)
		return bad(err, "conflicting Content-Length");
	h->content_length = n;
	return HTTP_PARSE_OK;
}

static enum http_parse
h_transfer_encoding(struct http_head *h, struct http_span v,
    const char **err)
{
	if (!http_has_token(v, "chunked"))
		return bad(err, "unsupported Transfer-Encoding");
	h->chunked = true;
	return HTTP_PARSE_OK;
}

static enum http_parse
h_connection(struct http_head *h, struct http_span v, const char **err)
{
	(void)err;
	if (http_has_token(v, "close"))
		h->close = true;
	if (http_has_token(v, "keep-alive"))
		h->keep_alive = true;
	if (http_has_token(v, "upgrade"))
		h->upgrade = true;
	return HTTP_PARSE_OK;
}

static enum http_parse
h_expect(struct http_head *h, struct http_span v, const char **err)
{
	(void)err;
	if (span_caseis(v, "100-continue", 12))
		h->expect_continue = true;
	return HTTP_PARSE_OK;
}

/*
 * The headers livd reads; the rest (Host, User-Agent, Accept...) concern
 * it not at all, and most are sent away by their name's length. A row
 * without a function keeps the value at offset.
 */
static const struct {
	const char	*name;
	size_t		 len;
	enum http_parse	(*fn)(struct http_head *, struct http_span,
			    const char **);
	size_t		 offset;
} headers[] = {
	{ "content-length", 14, h_content_length, 0 },
	{ "content-type", 12, NULL, offsetof(struct http_head, content_type) },
	{ "authorization", 13, NULL,
	    offsetof(struct http_head, authorization) },
	{ "origin", 6, NULL, offsetof(struct http_head, origin) },
	{ "connection", 10, h_connection, 0 },
	{ "last-event-id", 13, NULL,
	    offsetof(struct http_head, last_event_id) },
	{ "transfer-encoding", 17, h_transfer_encoding, 0 },
	{ "expect", 6, h_expect, 0 },
	{ "x-forwarded-for", 15, NULL,
	    offsetof(struct http_head, forwarded_for) },
	{ "if-none-match", 13, NULL,
	    offsetof(struct http_head, if_none_match) },
	{ "upgrade", 7, NULL, offsetof(struct http_head, upgrade_to) },
	{ "sec-websocket-key", 17, NULL, offsetof(struct http_head, ws_key) },
	{ "sec-websocket-version", 21, NULL,
	    offsetof(struct http_head, ws_version) },
	{ "sec-websocket-protocol", 22, NULL,
	    offsetof(struct http_head, ws_protocol) },
};

static enum http_parse
header(struct http_head *h, struct http_span name, struct http_span value,
    const char **err)
{
	for (size_t i = 0; i < countof(headers); i++) {
		if (!span_caseis(name, headers[i].name, headers[i].len))
			continue;
		if (headers[i].fn != NULL)
			return headers[i].fn(h, value, err);
		*(struct http_span *)((char *)h + headers[i].offset) = value;
		return HTTP_PARSE_OK;
	}
	return HTTP_PARSE_OK;
}

/* The line at p, without its CR LF; *next is the byte after the LF. */
static struct http_span
next_line(const char *p, const char *end, const char **next)
{
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	struct http_span line = { p, 0 };

	if (eol == NULL)
		eol = end;
	*next = eol < end ? eol + 1 : end;
	if (eol > p && eol[-1] == '\r')
		eol--;
	line.len = (size_t)(eol - p);
	return line;
}

/*
 * The value of any header, by name (any case), trimmed: for the headers
 * livd passes on without reading (hooks.forward_headers). The first
 * one when it came more than once; p is NULL when there is none.
 */
struct http_span
http_head_find(const struct http_head *h, const char *name)
{
	const char *p = h->raw.p, *end = h->raw.p + h->raw.len, *v, *e;
	size_t n = strlen(name);
	struct http_span line, none = { NULL, 0 };

	if (p == NULL)
		return none;
	next_line(p, end, &p);		/* the request line */
	while (p < end) {
		line = next_line(p, end, &p);
		if (line.len == 0)
			break;
		if (line.len <= n || line.p[n] != ':' ||
		    !span_caseis((struct http_span){ line.p, n }, name, n))
			continue;
		v = line.p + n + 1;
		e = line.p + line.len;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		return (struct http_span){ v, (size_t)(e - v) };
	}
	return none;
}

/* HTTP/1.x after the target: sets the minor version. */
static enum http_parse
parse_version(struct http_head *h, const char *v, size_t len,
    const char **err)
{
	if (len < 5 || memcmp(v, "HTTP/", 5) != 0)
		return bad(err, "malformed request line");
	if (len == 8 && v[5] == '1' && v[6] == '.' && v[7] >= '0' &&
	    v[7] <= '9') {
		h->minor = v[7] - '0';
		return HTTP_PARSE_OK;
	}
	if (len > 5 && v[5] >= '2' && v[5] <= '9') {
		*err = "HTTP version not supported";
		return HTTP_PARSE_VERSION;
	}
	return bad(err, "malformed HTTP version");
}

/* Request line: METHOD SP target SP HTTP/1.x */
static enum http_parse
parse_request_line(struct http_head *h, struct http_span line,
    const char **err)
{
	const char *p = line.p, *end = line.p + line.len, *sp, *q;

	if (http_span_is(line, "PRI * HTTP/2.0")) {
		*err = "HTTP version not supported";
		return HTTP_PARSE_VERSION;
	}
	while (p < end && is_tchar((unsigned char)*p))
		p++;
	if (p == line.p || p == end || *p != ' ')
		return bad(err, "malformed request line");
	h->method = (struct http_span){ line.p, (size_t)(p - line.p) };
	if (++p == end || *p != '/')
		return bad(err, "malformed request target");
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		return bad(err, "malformed request line");
	for (q = p; q < sp; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q == 0x7f)
			return bad(err, "malformed request target");
	h->path = (struct http_span){ p, (size_t)(sp - p) };
	if ((q = memchr(p, '?', h->path.len)) != NULL) {
		h->path.len = (size_t)(q - p);
		h->query = (struct http_span){ q + 1, (size_t)(sp - q - 1) };
	}
	sp++;
	return parse_version(h, sp, (size_t)(end - sp), err);
}

/* One "Name: value" line, the value trimmed of blanks. */
static enum http_parse
parse_header_line(struct http_head *h, struct http_span line,
    const char **err)
{
	const char *p = line.p, *end = line.p + line.len, *v;
	struct http_span name;

	if (*p == ' ' || *p == '\t')
		return bad(err, "obsolete header folding");
	while (p < end && is_tchar((unsigned char)*p))
		p++;
	if (p == line.p || p == end || *p != ':')
		return bad(err, "malformed header");
	name = (struct http_span){ line.p, (size_t)(p - line.p) };
	for (v = p + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		continue;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (p = v; p < end; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return bad(err, "control character in header");
	return header(h, name, (struct http_span){ v, (size_t)(end - v) },
	    err);
}

/*
 * Parse the request line and headers at the start of buf, which is only
 * read: the spans in h point into it.
 */
enum http_parse
http_parse_head(const char *buf, size_t len, size_t max,
    struct http_head *h, const char **err)
{
	size_t skip = 0, end;
	const char *p, *stop;
	struct http_span line;
	enum http_parse rc;

	memset(h, 0, sizeof *h);
	h->content_length = -1;
	*err = NULL;
	/* Skip the empty lines a client may send between requests. */
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	end = head_end(buf + skip, len - skip < max ? len - skip : max);
	if (end == 0) {
		if (len - skip >= max) {
			*err = "request header too large";
			return HTTP_PARSE_TOO_LARGE;
		}
		return HTTP_PARSE_INCOMPLETE;
	}
	h->size = skip + end;
	buf += skip;
	h->raw = (struct http_span){ buf, end };
	if (memchr(buf, '\0', end) != NULL)
		return bad(err, "NUL in request head");
	stop = buf + end;
	line = next_line(buf, stop, &p);
	if ((rc = parse_request_line(h, line, err)) != HTTP_PARSE_OK)
		return rc;
	while (p < stop) {
		line = next_line(p, stop, &p);
		if (line.len == 0)
			break;		/* the blank line */
		if ((rc = parse_header_line(h, line, err)) != HTTP_PARSE_OK)
			return rc;
	}
	if (h->chunked && h->content_length >= 0)
		return bad(err, "both Content-Length and Transfer-Encoding");
	return HTTP_PARSE_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX and '+' in place; -1 on a bad escape. */
static int
url_decode(char *s, size_t len, size_t *outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			s[o++] = ' ';
		else if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			s[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			s[o++] = s[i];
	}
	*outlen = o;
	return 0;
}

/* The only field a form may repeat: a page at several locations. */
static const char *form_repeatable[] = { "location" };

static bool
form_may_repeat(const char *name)
{
	for (size_t i = 0; i < countof(form_repeatable); i++)
		if (strcmp(form_repeatable[i], name) == 0)
			return true;
	return false;
}

/*
 * Parse an application/x-www-form-urlencoded body in place into fields.
 * Names must be unique but for form_repeatable, values valid UTF-8
 * without NUL.
 */
int
form_parse(char *body, size_t len, struct form *f, const char **err)
{
	size_t i = 0;

	f->count = 0;
	while (i < len) {
		size_t start = i, eq = 0, nlen, vlen;
		char *name, *value;

		while (i < len && body[i] != '&') {
			if (body[i] == '=' && eq == 0)
				eq = i + 1;
			i++;
		}
		if (i == start) {
			i++;
			continue;	/* "a=1&&b=2" */
		}
		name = body + start;
		if (eq == 0) {
			nlen = i - start;
			value = body + i;	/* an empty value */
			vlen = 0;
		} else {
			nlen = eq - 1 - start;
			value = body + eq;
			vlen = i - eq;
		}
		if (url_decode(name, nlen, &nlen) != 0 ||
		    url_decode(value, vlen, &vlen) != 0) {
			*err = "malformed percent-encoding";
			return -1;
		}
		if (!utf8_valid(name, nlen) || !utf8_valid(value, vlen)) {
			*err = "invalid UTF-8";
			return -1;
		}
		if (f->count == FORM_MAX_FIELDS) {
			*err = "too many fields";
			return -1;
		}
		/* The separator or the end becomes the terminator. */
		name[nlen] = '\0';
		value[vlen] = '\0';
		for (size_t k = 0; k < f->count && !form_may_repeat(name); k++)
			if (strcmp(f->names[k], name) == 0) {
				*err = "duplicate field";
				return -1;
			}
		f->names[f->count] = name;
		f->values[f->count++] = value;
		i++;
	}
	return 0;
}

/* The first field called name, or NULL. */
const char *
form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->count; i++)
		if (strcmp(f->names[i], name) == 0)
			return f->values[i];
	return NULL;
}

/* The values of every field called name, in order, up to max; how many. */
size_t
form_get_all(const struct form *f, const char *name, const char **out,
    size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < f->count && n < max; i++)
		if (strcmp(f->names[i], name) == 0)
			out[n++] = f->values[i];
	return n;
}

/*
 * Copy the decoded value of one query parameter: 0, or -1 when absent, or
 * -2 when malformed (a bad escape, or longer than out).
 */
int
query_get(struct http_span query, const char *name, char *out, size_t size)
{
	const char *p = query.p, *end;
	size_t n = strlen(name);

	if (p == NULL)
		return -1;
	end = p + query.len;
	while (p != NULL && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		size_t len = amp ? (size_t)(amp - p) : (size_t)(end - p);

		if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t vlen = len - n - 1, outlen;

			if (vlen >= size)
				return -2;
			memcpy(out, p + n + 1, vlen);
			if (url_decode(out, vlen, &outlen) != 0)
				return -2;
			out[outlen] = '\0';
			return 0;
		}
		if (len == n && strncmp(p, name, n) == 0) {
			out[0] = '\0';
			return 0;
		}
		p = amp ? amp + 1 : NULL;
	}
	return -1;
}

/*
 * Does If-None-Match name the entity tag etag (quoted)? "*" names any; a
 * weak tag W/"x" matches "x", as the weak comparison this header uses.
 */
bool
http_etag_match(struct http_span v, const char *etag)
{
	size_t n = strlen(etag), i = 0, start;

	while (i < v.len) {
		while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' ||
		    v.p[i] == ','))
			i++;
		start = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		while (i > start && (v.p[i - 1] == ' ' || v.p[i - 1] == '\t'))
			i--;
		if (i - start == 1 && v.p[start] == '*')
			return true;
		if (i - start >= 2 && memcmp(v.p + start, "W/", 2) == 0)
			start += 2;
		if (i - start == n && memcmp(v.p + start, etag, n) == 0)
			return true;
		while (i < v.len && v.p[i] != ',')
			i++;
	}
	return false;
}

/* An IPv4 or IPv6 address in text, exactly. */
bool
http_addr_parse(const char *s, size_t len, struct http_addr *a)
{
	char text[INET6_ADDRSTRLEN];
	unsigned char v4[4];

	if (len == 0 || len >= sizeof text)
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, v4) == 1) {
		memset(a->b, 0, 10);
		a->b[10] = a->b[11] = 0xff;
		memcpy(a->b + 12, v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, text, a->b) == 1;
}

static bool
addr_is_v4(const struct http_addr *a)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(a->b, mapped, sizeof mapped) == 0;
}

/* The address as text: 192.0.2.1, 2001:db8::1. */
void
http_addr_format(const struct http_addr *a, char *out, size_t size)
{
	if (addr_is_v4(a))
		snprintf(out, size, "%u.%u.%u.%u", a->b[12], a->b[13], a->b[14],
		    a->b[15]);
	else if (inet_ntop(AF_INET6, a->b, out, (socklen_t)size) == NULL)
		snprintf(out, size, "?");
}

/* ADDR or ADDR/BITS (at most 32 for IPv4, 128 for IPv6). */
bool
http_net_parse(const char *s, size_t len, struct http_net *n)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - s) : len, i;
	unsigned bits = 0, max;

	if (!http_addr_parse(s, alen, &n->addr))
		return false;
	max = addr_is_v4(&n->addr) ? 32 : 128;
	if (slash == NULL) {
		n->bits = 128;
		return true;
	}
	if (len - alen < 2 || len - alen > 4)
		return false;
	for (i = alen + 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		bits = bits * 10 + (unsigned)(s[i] - '0');
	}
	if (bits > max)
		return false;
	n->bits = bits + 128 - max;
	return true;
}

/* Is the address in the net? */
bool
http_net_has(const struct http_net *n, const struct http_addr *a)
{
	size_t whole = n->bits / 8;
	unsigned rest = n->bits % 8;

	if (memcmp(n->addr.b, a->b, whole) != 0)
		return false;
	return rest == 0 || ((n->addr.b[whole] ^ a->b[whole]) &
	    (0xff << (8 - rest)) & 0xff) == 0;
}

/* Is the address in one of the nets? */
bool
http_nets_have(const struct http_net *nets, size_t n,
    const struct http_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (http_net_has(&nets[i], a))
			return true;
	return false;
}

/*
 * One X-Forwarded-For entry: an address, [IPv6]:PORT or IPv4:PORT (some
 * proxies add the port).
 */
static bool
forwarded_entry(const char *p, size_t len, struct http_addr *a)
{
	const char *colon;

	if (len > 0 && p[0] == '[') {
		const char *end = memchr(p, ']', len);

		return end != NULL && http_addr_parse(p + 1,
		    (size_t)(end - p - 1), a);
	}
	if ((colon = memchr(p, ':', len)) != NULL &&
	    memchr(colon + 1, ':', len - (size_t)(colon - p) - 1) == NULL)
		len = (size_t)(colon - p);	/* IPv4:PORT */
	return http_addr_parse(p, len, a);
}

/*
 * The client behind trusted proxies (the peer, in *addr, is one): each
 * proxy appends the address it was reached from to X-Forwarded-For, so
 * the right-most address not trusted is the client. Entries to its left
 * were written by the client itself and are not believed. The walk stops
 * at an entry that is no address, keeping the last proxy's.
 */
void
http_forwarded(struct http_span xff, const struct http_net *trusted,
    size_t ntrusted, struct http_addr *addr)
{
	const char *end, *start;
	struct http_addr a;

	if (xff.p == NULL)
		return;		/* NULL + 0 is undefined too */
	end = xff.p + xff.len;
	while (end > xff.p) {
		for (start = end; start > xff.p && start[-1] != ','; start--)
			;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (!forwarded_entry(start, (size_t)(end - start), &a))
			return;
		*addr = a;
		if (!http_nets_have(trusted, ntrusted, &a))
			return;
		while (start > xff.p && start[-1] != ',')
			start--;
		end = start > xff.p ? start - 1 : xff.p;
	}
}

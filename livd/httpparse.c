/* Parsing HTTP/1.x request heads and url-encoded forms, in place. */
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

/* Does a comma-separated header value hold the token? */
static bool
has_token(const char *value, const char *token)
{
	size_t n = strlen(token);

	while (*value != '\0') {
		while (*value == ' ' || *value == '\t' || *value == ',')
			value++;
		if (strncasecmp(value, token, n) == 0 &&
		    (value[n] == '\0' || value[n] == ',' || value[n] == ' ' ||
		    value[n] == '\t'))
			return true;
		while (*value != '\0' && *value != ',')
			value++;
	}
	return false;
}

static int
parse_length(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

static enum http_parse
bad(const char **err, const char *why)
{
	*err = why;
	return HTTP_PARSE_BAD;
}

/*
 * Handle one "Name: value" line; name and value are NUL-terminated.
 * Most headers (Host, User-Agent, Accept...) concern livd not at all: a
 * look at the name's length sends them away before any comparison.
 */
static enum http_parse
header(struct http_head *h, const char *name, size_t namelen,
    const char *value, const char **err)
{
	switch (namelen) {
	case 6:		/* expect, origin */
	case 10:	/* connection */
	case 12:	/* content-type */
	case 13:	/* last-event-id */
	case 14:	/* content-length */
	case 17:	/* transfer-encoding */
		break;
	default:
		return HTTP_PARSE_OK;
	}
	if (strcasecmp(name, "content-length") == 0) {
		int64_t n;

		if (parse_length(value, &n) != 0)
			return bad(err, "invalid Content-Length");
		if (h->content_length >= 0 && h->content_length != n)
			return bad(err, "conflicting Content-Length");
		h->content_length = n;
	} else if (strcasecmp(name, "transfer-encoding") == 0) {
		if (has_token(value, "chunked"))
			h->chunked = true;
		else
			return bad(err, "unsupported Transfer-Encoding");
	} else if (strcasecmp(name, "connection") == 0) {
		if (has_token(value, "close"))
			h->close = true;
		if (has_token(value, "keep-alive"))
			h->keep_alive = true;
	} else if (strcasecmp(name, "expect") == 0) {
		if (strcasecmp(value, "100-continue") == 0)
			h->expect_continue = true;
	} else if (strcasecmp(name, "content-type") == 0)
		h->content_type = value;
	else if (strcasecmp(name, "origin") == 0)
		h->origin = value;
	else if (strcasecmp(name, "last-event-id") == 0)
		h->last_event_id = value;
	return HTTP_PARSE_OK;
}

/*
 * Parse the request line and headers at the start of buf. On success the
 * strings in h point into buf, which is changed in place.
 */
enum http_parse
http_parse_head(char *buf, size_t len, size_t max, struct http_head *h,
    const char **err)
{
	size_t skip = 0, end;
	char *p, *line, *eol, *sp, *next;
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
	if (memchr(buf, '\0', end) != NULL)
		return bad(err, "NUL in request head");
	buf[end - 1] = '\0';

	/* Request line: METHOD SP target SP HTTP/1.x */
	line = buf;
	eol = strchr(line, '\n');
	*eol = '\0';
	if (eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	if (strcmp(line, "PRI * HTTP/2.0") == 0) {
		*err = "HTTP version not supported";
		return HTTP_PARSE_VERSION;
	}
	p = line;
	while (is_tchar((unsigned char)*p))
		p++;
	if (p == line || *p != ' ')
		return bad(err, "malformed request line");
	*p++ = '\0';
	h->method = line;
	if (*p != '/')
		return bad(err, "malformed request target");
	h->path = p;
	if ((sp = strchr(p, ' ')) == NULL)
		return bad(err, "malformed request line");
	*sp++ = '\0';
	for (char *q = h->path; *q != '\0'; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q == 0x7f)
			return bad(err, "malformed request target");
	if ((h->query = strchr(h->path, '?')) != NULL)
		*h->query++ = '\0';
	if (strncmp(sp, "HTTP/", 5) != 0)
		return bad(err, "malformed request line");
	if (sp[5] != '1' || sp[6] != '.' || sp[7] < '0' || sp[7] > '9' ||
	    sp[8] != '\0') {
		if (sp[5] >= '2' && sp[5] <= '9') {
			*err = "HTTP version not supported";
			return HTTP_PARSE_VERSION;
		}
		return bad(err, "malformed HTTP version");
	}
	h->minor = sp[7] - '0';

	for (line = eol + 1; line < buf + end; line = next) {
		char *colon, *value, *vend;
		size_t namelen;

		if ((eol = strchr(line, '\n')) == NULL)
			eol = line + strlen(line);
		next = eol + 1;
		*eol = '\0';
		if (eol > line && eol[-1] == '\r')
			eol[-1] = '\0';
		if (*line == '\0')
			break;		/* the blank line */
		if (*line == ' ' || *line == '\t')
			return bad(err, "obsolete header folding");
		colon = line;
		while (is_tchar((unsigned char)*colon))
			colon++;
		if (colon == line || *colon != ':')
			return bad(err, "malformed header");
		namelen = (size_t)(colon - line);
		*colon = '\0';
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		vend = value + strlen(value);
		while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
			*--vend = '\0';
		for (char *q = value; *q != '\0'; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') ||
			    *q == 0x7f)
				return bad(err, "control character in header");
		if ((rc = header(h, line, namelen, value, err)) != HTTP_PARSE_OK)
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
query_get(const char *query, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	while (query != NULL && *query != '\0') {
		const char *end = strchr(query, '&');
		size_t len = end ? (size_t)(end - query) : strlen(query);

		if (len > n && strncmp(query, name, n) == 0 && query[n] == '=') {
			size_t vlen = len - n - 1, outlen;

			if (vlen >= size)
				return -2;
			memcpy(out, query + n + 1, vlen);
			if (url_decode(out, vlen, &outlen) != 0)
				return -2;
			out[outlen] = '\0';
			return 0;
		}
		if (len == n && strncmp(query, name, n) == 0) {
			out[0] = '\0';
			return 0;
		}
		query = end ? end + 1 : NULL;
	}
	return -1;
}

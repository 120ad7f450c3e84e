/*
 * A reader for one shape of JSON only, the flat object a publisher sends
 * (`{"cmd":"send","location":"/x","verb":"append","id":"t","html":"..."}`),
 * so that the hot path of publishing builds no jansson values. Its
 * strings are ASCII, escapes included (Rails writes "\u003c" for "<").
 * A raw control character, a byte over 0x7f or an escape above it, a
 * number, a nested object, a duplicate key or a line over FLATJSON_SIZE
 * is "not this shape": the caller then reads the line with jansson,
 * which decides everything else, errors included. So it never accepts
 * what jansson would refuse, nor reads a value differently.
 */
#include <string.h>

#include "util.h"
#include "flatjson.h"

static char *
skip_space(char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

/* The byte an escape stands for (after its backslash), or -1. */
static int
unescape(const char *p, const char *end, size_t *used)
{
	static const char plain[] = "\"\\/bfnrt", means[] = "\"\\/\b\f\n\r\t";
	const char *at;
	long v;

	*used = 1;
	if (p < end && *p != '\0' && *p != 'u' &&
	    (at = strchr(plain, *p)) != NULL)
		return means[at - plain];
	if (p >= end || *p != 'u' || (v = hex4(p + 1, end)) < 0)
		return -1;
	*used = 5;
	/* ASCII only: the rest needs UTF-8 and surrogates, and \u0000
	 * is refused by jansson. */
	return v > 0 && v < 0x80 ? (int)v : -1;
}

/*
 * A string at p (its opening quote): unescaped and cut in place, its end
 * past the closing quote in *next; NULL if it is not a plain one.
 */
static char *
take_string(char *p, const char *end, char **next)
{
	char *s, *w;
	size_t used;
	int ch;

	if (p >= end || *p != '"')
		return NULL;
	for (s = w = ++p; p < end; p++) {
		ch = (unsigned char)*p;
		if (ch == '"') {
			*w = '\0';
			*next = p + 1;
			return s;
		}
		if (ch < 0x20 || ch > 0x7f)
			return NULL;
		if (ch == '\\') {
			if ((ch = unescape(p + 1, end, &used)) < 0)
				return NULL;
			p += used;
		}
		*w++ = (char)ch;
	}
	return NULL;
}

/* A list of plain strings at p (its '['), its items added to f. */
static bool
take_list(struct flatjson *f, struct flatjson_pair *pair, char *p,
    const char *end, char **next)
{
	char *s;

	pair->items = &f->items[f->nitems];
	p = skip_space(p + 1, end);
	if (p < end && *p == ']') {
		*next = p + 1;
		return true;
	}
	for (;;) {
		if (f->nitems == FLATJSON_ITEMS ||
		    (s = take_string(p, end, &p)) == NULL)
			return false;
		f->items[f->nitems++] = s;
		pair->nitems++;
		p = skip_space(p, end);
		if (p < end && *p == ']') {
			*next = p + 1;
			return true;
		}
		if (p >= end || *p != ',')
			return false;
		p = skip_space(p + 1, end);
	}
}

/* Is the object's last key new? jansson refuses a duplicate. */
static bool
key_new(const struct flatjson *f)
{
	const char *key = f->pairs[f->npairs].key;

	for (size_t i = 0; i < f->npairs; i++)
		if (strcmp(f->pairs[i].key, key) == 0)
			return false;
	return true;
}

/*
 * Read line into f; false if it is not a flat object of plain strings
 * (f is then undefined). Its strings point into f.
 */
bool
flatjson_parse(struct flatjson *f, const char *line, size_t len)
{
	char *p = f->text, *end;
	struct flatjson_pair *pair;

	f->npairs = f->nitems = 0;
	if (len > sizeof f->text)
		return false;
	memcpy(f->text, line, len);
	end = f->text + len;
	p = skip_space(p, end);
	if (p >= end || *p != '{')
		return false;
	p = skip_space(p + 1, end);
	for (;;) {
		if (f->npairs == FLATJSON_KEYS)
			return false;
		pair = &f->pairs[f->npairs];
		memset(pair, 0, sizeof *pair);
		if ((pair->key = take_string(p, end, &p)) == NULL ||
		    !key_new(f))
			return false;
		p = skip_space(p, end);
		if (p >= end || *p != ':')
			return false;
		p = skip_space(p + 1, end);
		if (p < end && *p == '[') {
			if (!take_list(f, pair, p, end, &p))
				return false;
		} else if ((pair->string = take_string(p, end, &p)) == NULL)
			return false;
		f->npairs++;
		p = skip_space(p, end);
		if (p < end && *p == '}')
			break;
		if (p >= end || *p != ',')
			return false;
		p = skip_space(p + 1, end);
	}
	return skip_space(p + 1, end) == end;
}

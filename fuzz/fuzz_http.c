/*
 * libFuzzer: the HTTP request head, query and form parsers. The head is
 * parsed straight from the fuzzer's own read-only bytes, unterminated,
 * so ASan sees any read past them; every span must lie inside the head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../livd/httpparse.h"

static void
inside(struct http_span v, const char *head, size_t size)
{
	if (v.p != NULL && (v.p < head || v.p + v.len > head + size))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char *buf = malloc(size + 1), out[64];
	struct http_head h;
	struct form f;
	const char *err;

	if (http_parse_head(in, size, 8192, &h, &err) == HTTP_PARSE_OK) {
		if (h.size > size || h.method.p == NULL || h.path.p == NULL)
			abort();
		inside(h.method, in, h.size);
		inside(h.path, in, h.size);
		inside(h.query, in, h.size);
		inside(h.content_type, in, h.size);
		inside(h.origin, in, h.size);
		inside(h.last_event_id, in, h.size);
		query_get(h.query, "since", out, sizeof out);
		/* The rest is the body; form_parse writes buf[size]. */
		memcpy(buf, data, size);
		if (form_parse(buf + h.size, size - h.size, &f, &err) == 0)
			for (size_t i = 0; i < f.count; i++)
				(void)strlen(f.values[i]);
	}
	memcpy(buf, data, size);
	if (form_parse(buf, size, &f, &err) == 0)
		(void)form_get(&f, "verb");
	free(buf);
	return 0;
}

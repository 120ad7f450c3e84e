/* libFuzzer: the HTTP request head, query and form parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../livd/httpparse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), out[64];
	struct http_head h;
	struct form f;
	const char *err;

	memcpy(buf, data, size);
	buf[size] = '\0';
	if (http_parse_head(buf, size, 8192, &h, &err) == HTTP_PARSE_OK) {
		if (h.query != NULL)
			query_get(h.query, "since", out, sizeof out);
		/* The rest is the body; form_parse writes buf[size]. */
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

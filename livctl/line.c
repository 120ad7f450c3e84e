/*
 * One line of `livctl send -` as a control request: "VERB ARG..." lines
 * go to livd as text (livd splits them by the verb's arguments), JSON
 * lines as objects, both with the command line's target unless the line
 * names its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../livd/util.h"
#include "livctl.h"

static const char *target_keys[] = { "location", "client", "principal" };

/*
 * Append the request for one line to out. Returns 1 when a request was
 * added, 0 for a line to skip (blank or #), -1 with err set when bad.
 */
int
stdin_request(const char *line, size_t len, json_t *target, struct buf *out,
    char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	while (len > 0 && line[len - 1] == '\r')
		len--;
	if (!utf8_valid(line, len)) {
		snprintf(err, errlen, "invalid UTF-8");
		return -1;
	}
	if (line[i] == '{') {
		json_error_t jerr;
		json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES,
		    &jerr);
		bool targeted = false;
		char *text;

		if (req == NULL || !json_is_object(req)) {
			snprintf(err, errlen, "invalid JSON: %s", req ?
			    "not an object" : jerr.text);
			json_decref(req);
			return -1;
		}
		if (json_object_get(req, "cmd") != NULL) {
			snprintf(err, errlen, "a line may not set 'cmd'");
			json_decref(req);
			return -1;
		}
		for (size_t k = 0; k < countof(target_keys); k++)
			targeted |= json_object_get(req, target_keys[k]) != NULL;
		/* The line's own target wins over the command line's. */
		for (size_t k = 0; !targeted && k < countof(target_keys); k++) {
			json_t *v = json_object_get(target, target_keys[k]);

			if (v != NULL)
				json_object_set(req, target_keys[k], v);
		}
		if (json_is_true(json_object_get(target, "dry_run")))
			json_object_set_new(req, "dry_run", json_true());
		json_object_set_new(req, "cmd", json_string("send"));
		text = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		buf_adds(out, text);
		buf_addc(out, '\n');
		free(text);
		return 1;
	}
	buf_adds(out, "{\"cmd\":\"send\"");
	for (size_t k = 0; k < countof(target_keys); k++) {
		const char *v = json_string_value(json_object_get(target,
		    target_keys[k]));

		if (v == NULL)
			continue;
		buf_printf(out, ",\"%s\":", target_keys[k]);
		buf_json_string(out, v, strlen(v));
	}
	if (json_is_true(json_object_get(target, "dry_run")))
		buf_adds(out, ",\"dry_run\":true");
	buf_adds(out, ",\"line\":");
	buf_json_string(out, line, len);
	buf_adds(out, "}\n");
	return 1;
}


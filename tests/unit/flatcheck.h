/*
 * A check shared by the unit tests and the control fuzzer: flatjson must
 * read a line as jansson does, or leave it to jansson.
 */
#ifndef LIVD_FLATCHECK_H
#define LIVD_FLATCHECK_H

#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "../../livd/flatjson.h"

/*
 * Does flatjson read line as jansson does? true if flatjson declines it
 * (jansson then reads it), or if both read the same keys, in the same
 * order, with the same strings and lists.
 */
static inline bool
flat_agrees(const char *line, size_t len, bool *taken)
{
	static struct flatjson f;
	json_error_t jerr;
	const char *key;
	json_t *req, *v;
	size_t i = 0;
	bool same;

	if (!(*taken = flatjson_parse(&f, line, len)))
		return true;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	same = json_is_object(req) && json_object_size(req) == f.npairs;
	json_object_foreach(req, key, v) {
		const struct flatjson_pair *p = &f.pairs[i++];

		if (!same || strcmp(key, p->key) != 0) {
			same = false;
			break;
		}
		if (p->string != NULL)
			same = json_is_string(v) &&
			    strcmp(json_string_value(v), p->string) == 0;
		else {
			same = json_is_array(v) &&
			    json_array_size(v) == p->nitems;
			for (size_t j = 0; same && j < p->nitems; j++) {
				json_t *item = json_array_get(v, j);

				same = json_is_string(item) &&
				    strcmp(json_string_value(item),
				    p->items[j]) == 0;
			}
		}
	}
	json_decref(req);
	return same;
}

#endif

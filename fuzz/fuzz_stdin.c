/*
 * libFuzzer: livctl's stdin lines (text and JSON) and livd's splitting
 * of a text line by the verb's arguments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../livd/util.h"
#include "../livd/msg.h"
#include "../livd/verbs.h"
#include "../livctl/livctl.h"

static struct verbs *verbs;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *values[VERBS_MAX_ARGS];
	char err[512], *line;
	struct yamlerr yerr = { err, sizeof err };
	struct msg_input in;
	json_t *target;
	struct buf out;

	if (verbs == NULL && (verbs = verbs_load("share/livd/verbs.yaml",
	    &yerr)) == NULL)
		abort();
	target = json_pack("{s:s}", "location", "/fuzz");
	buf_init(&out);
	stdin_request((const char *)data, size, target, &out, err, sizeof err);
	buf_free(&out);
	json_decref(target);
	line = xstrndup((const char *)data, size);
	if (msg_split_line(line, &in, verbs, err, sizeof err) == 0 &&
	    msg_check(verbs, &in, values, err, sizeof err) != NULL) {
		const struct verb *v = verbs_find(verbs, in.verb);
		struct msg *m = msg_make(v, values, 1);

		msg_unref(m);
	}
	free(line);
	return 0;
}

/* Turning a request into an event: check it, encode it once, send it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "budget.h"
#include "cluster.h"
#include "hub.h"
#include "livd.h"
#include "msg.h"
#include "publish.h"
#include "verbs.h"

/* Check an event as publish would, without sending it (send --dry-run). */
enum publish_status
publish_check(struct msg_input *in, char *err, size_t errlen)
{
	const char *values[VERBS_MAX_ARGS];
	size_t size = 0;
	const struct verb *v;

	if ((v = msg_check(livd.verbs, in, values, err, errlen)) == NULL)
		return in->verb == NULL || verbs_find(livd.verbs, in->verb) ==
		    NULL ? PUBLISH_UNKNOWN_VERB : PUBLISH_INVALID;
	for (size_t i = 0; i < v->nargs; i++)
		size += strlen(values[i]);
	if (size > livd.cfg.max_event) {
		snprintf(err, errlen, "event over %zu bytes",
		    (size_t)livd.cfg.max_event);
		return PUBLISH_TOO_LARGE;
	}
	return PUBLISH_OK;
}

/*
 * Send the event described by in. From the control socket the target is
 * given; from a browser (sender set) it follows the verb's scope, the
 * verb must allow it, and the arguments are HTML-escaped unless the verb
 * is raw; a verb with forward: true passes the same checks and is left to
 * the caller (PUBLISH_FORWARD). The checks run in the order the contract
 * gives.
 */
enum publish_status
publish(struct msg_input *in, const struct target *given,
    struct client *sender, struct publish_result *res, char *err,
    size_t errlen)
{
	const char *values[VERBS_MAX_ARGS];
	char *escaped[VERBS_MAX_ARGS];
	const struct verb *v;
	struct target t;
	struct msg *m;
	size_t size = 0;

	if (sender != NULL && in->verb != NULL &&
	    (v = verbs_find(livd.verbs, in->verb)) != NULL &&
	    !v->from_client) {
		snprintf(err, errlen, "verb '%s' may not be sent by a browser",
		    v->name);
		return PUBLISH_FORBIDDEN;
	}
	if ((v = msg_check(livd.verbs, in, values, err, errlen)) == NULL)
		return in->verb == NULL || verbs_find(livd.verbs, in->verb) ==
		    NULL ? PUBLISH_UNKNOWN_VERB : PUBLISH_INVALID;
	for (size_t i = 0; i < v->nargs; i++)
		size += strlen(values[i]);
	if (sender != NULL && !v->raw)
		size += size / 2;	/* room for entities, checked below */
	if (size > livd.cfg.max_event) {
		snprintf(err, errlen, "event over %zu bytes",
		    (size_t)livd.cfg.max_event);
		return PUBLISH_TOO_LARGE;
	}
	/* The application hears it as the browser sent it (hook.c). */
	if (sender != NULL && v->forward)
		return PUBLISH_FORWARD;
	/* Near the budget the oldest history goes; past it, input does. */
	if (!budget_admit(size + 256)) {
		snprintf(err, errlen, BUDGET_REFUSED);
		return PUBLISH_NO_MEMORY;
	}
	memset(escaped, 0, sizeof escaped);
	if (sender != NULL && !v->raw)
		for (size_t i = 0; i < v->nargs; i++)
			values[i] = escaped[i] = html_escape(values[i]);
	if (sender != NULL) {
		memset(&t, 0, sizeof t);
		switch (v->scope) {
		case SCOPE_LOCATION:
			/* The page's first location, or the one it named. */
			t.kind = TARGET_LOCATION;
			t.name = in->location ? in->location :
			    sender->location->name;
			break;
		case SCOPE_SELF:
			t.kind = TARGET_CLIENT;
			t.client = sender;
			break;
		case SCOPE_PRINCIPAL:
			t.kind = TARGET_PRINCIPAL;
			t.name = sender->principal->name;
			break;
		case SCOPE_ALL:
			t.kind = TARGET_ALL;
			break;
		}
		given = &t;
	}
	/* In a cluster Redis gives the seq; the event comes back from it. */
	m = msg_make(v, values, hub.cluster ? 0 : hub_next_seq());
	for (size_t i = 0; i < v->nargs; i++)
		free(escaped[i]);
	if (m->jsonlen > livd.cfg.max_event) {
		snprintf(err, errlen, "event over %zu bytes",
		    (size_t)livd.cfg.max_event);
		msg_unref(m);
		return PUBLISH_TOO_LARGE;
	}
	if (!budget_admit(0)) {		/* it came out larger than said */
		snprintf(err, errlen, BUDGET_REFUSED);
		msg_unref(m);
		return PUBLISH_NO_MEMORY;
	}
	if (hub.cluster != NULL) {
		res->deferred = true;
		cluster_send(m, given, res->done, res->arg);
		msg_unref(m);
		return PUBLISH_OK;
	}
	res->seq = m->seq;
	res->reached = hub_send(m, given);
	msg_unref(m);
	return PUBLISH_OK;
}

/*
 * A page connecting: POST /connect answers with the new client's uuid,
 * GET /stream streams its events at once (stream.c). Both ask the same
 * way (form fields location, principal or token, presence), are checked
 * here the same way, and fail with the same answers. With auth: hook
 * the application decides who the page is (hook.c): the page is held
 * until it answers, then goes on as the others do.
 */
#include <string.h>

#include "util.h"
#include "budget.h"
#include "connect.h"
#include "hook.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "metrics.h"
#include "rate.h"

/*
 * auth: token: the principal is the token's, and each location one its
 * patterns allow; without a location field, every exact (non-'*') one of
 * the token's.
 */
static int
connect_token(struct conn *c, const struct form *f, struct connect_ask *a)
{
	const char *token = form_get(f, "token"), *why;
	char q[80];

	if (token == NULL) {
		metrics_rejected(REJECT_TOKEN);
		http_error(c, 401, "missing token");
		return -1;
	}
	if (auth_verify(token, &a->claims, &why) != 0) {
		metrics_rejected(REJECT_TOKEN);
		http_error(c, 401, "%s", why);
		return -1;
	}
	if (a->n == 0)
		a->n = auth_exact(&a->claims, a->locations,
		    countof(a->locations));
	if (a->n == 0) {
		http_error(c, 400, "missing field 'location'");
		return -1;
	}
	for (size_t i = 0; i < a->n; i++)
		if (!auth_allows(&a->claims, a->locations[i])) {
			metrics_rejected(REJECT_TOKEN);
			quote_for_error(q, sizeof q, a->locations[i]);
			http_error(c, 403, "token does not allow location '%s'",
			    q);
			return -1;
		}
	a->principal = a->claims.sub;
	return 0;
}

/*
 * Who the page in form f is and where it may be; -1 when it may not
 * connect, answered. In open mode the principal is the form's, or
 * anonymous when given (NULL: the field is required).
 */
int
connect_check(struct conn *c, const struct form *f, const char *anonymous,
    struct connect_ask *a)
{
	const char *presence;

	a->n = form_get_all(f, "location", a->locations,
	    countof(a->locations));
	a->principal = NULL;
	if (strcmp(livd.cfg.auth, "hook") == 0) {
		/* The application names the principal and the locations. */
	} else if (strcmp(livd.cfg.auth, "token") == 0) {
		if (connect_token(c, f, a) != 0)
			return -1;
	} else if (a->n == 0) {
		http_error(c, 400, "missing field 'location'");
		return -1;
	} else if ((a->principal = form_get(f, "principal")) == NULL &&
	    (a->principal = anonymous) == NULL) {
		http_error(c, 400, "missing field 'principal'");
		return -1;
	}
	presence = form_get(f, "presence");
	a->presence = presence != NULL && strcmp(presence, "0") != 0 &&
	    *presence != '\0';
	return 0;
}

/* Is err why the hub had no room (503), not what the page asked (400)? */
static bool
connect_busy(const char *err)
{
	static const char *const busy[] = {
		"too many clients", "too many locations in all", BUDGET_REFUSED
	};

	for (size_t i = 0; i < countof(busy); i++)
		if (strcmp(err, busy[i]) == 0)
			return true;
	return false;
}

/* The client a page may have; NULL when there is none, answered. */
static struct client *
connect_client(struct conn *c, const struct http_addr *from,
    const char *const *locations, size_t n, const char *principal,
    bool presence)
{
	struct client *client;
	enum rate_verdict rv;
	char err[256], addr[HTTP_ADDR_MAX];

	if (n == 0) {
		http_error(c, 400, "missing field 'location'");
		return NULL;
	}
	if ((rv = rate_take(from, principal)) != RATE_OK) {
		metrics_rejected(REJECT_CONNECT_RATE);
		http_error(c, 429, "%s", rate_message(rv, err, sizeof err));
		return NULL;
	}
	if ((client = hub_connect_at(locations, n, principal, presence, err,
	    sizeof err)) == NULL) {
		http_error(c, connect_busy(err) ? 503 : 400, "%s", err);
		return NULL;
	}
	if (log_level >= LOG_LEVEL_DEBUG && from != NULL) {
		http_addr_format(from, addr, sizeof addr);
		log_debug("client %s from %s", client->uuid, addr);
	}
	return client;
}

/* A page held while the connect hook runs: the call, then the ask. */
struct connect_wait {
	struct hook_call	*call;
	void			(*done)(struct conn *, struct client *,
				    const struct connect_then *);
	uint64_t		 since;
	uint8_t			 format;
	bool			 rewind;
	bool			 presence;
};

_Static_assert(sizeof(struct connect_wait) <= HTTP_OWNER_SIZE,
    "a page waiting for the connect hook fits in its connection");

/* The application decided: connect the held page, or refuse it. */
static void
connect_hooked(void *arg, const struct hook_connect_answer *a)
{
	struct conn *c = arg;
	struct connect_wait w = *(struct connect_wait *)c->owner_data;
	struct connect_then then = {
		.done = w.done, .since = w.since, .format = w.format,
		.rewind = w.rewind,
	};
	struct client *client;

	if (a->status != 200) {
		if (a->status == 401 || a->status == 403)
			metrics_rejected(REJECT_TOKEN);
		http_error(c, a->status, "%s", a->error);
		return;
	}
	if ((client = connect_client(c, NULL, a->locations, a->n,
	    a->principal, w.presence)) != NULL)
		then.done(c, client, &then);
}

/*
 * Make the client a checked page asked for, and hand it to then->done;
 * with auth: hook, once the application has said who the page is.
 * Failures are answered.
 */
void
connect_page(struct conn *c, const struct request *r,
    const struct connect_ask *a, const struct connect_then *then)
{
	struct client *client;
	struct connect_wait *w;
	struct hook_call *call;

	if (strcmp(livd.cfg.auth, "hook") != 0) {
		if ((client = connect_client(c, &r->addr, a->locations, a->n,
		    a->principal, a->presence)) != NULL)
			then->done(c, client, then);
		return;
	}
	if ((call = hook_connect(a->locations, a->n, &r->head, &r->addr,
	    connect_hooked, c)) == NULL) {
		http_error(c, 503, "application unreachable");
		return;
	}
	w = hook_hold(c, call);
	w->done = then->done;
	w->since = then->since;
	w->format = then->format;
	w->rewind = then->rewind;
	w->presence = a->presence;
}

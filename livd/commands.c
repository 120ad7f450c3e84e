/* The control commands: one handler per row of ctl.def. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "util.h"
#include "budget.h"
#include "auth.h"
#include "cluster.h"
#include "flatjson.h"
#include "control.h"
#include "ctlspec.h"
#include "hook.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "publish.h"
#include "verbs.h"

/* What dispatch resolved for a command before it runs. */
struct ctl_call {
	const struct ctlspec	*spec;
	struct client		*client;	/* "client", if this node's */
	struct target		 target;	/* CTL_TARGET_SEND's */
};

#define CTL(name, flags, target, options, arguments, summary) \
	static void cmd_##name(struct ctl_conn *, json_t *, \
	    const struct ctl_call *);
#include "ctl.def"
#undef CTL

/* The handlers in ctl.def's order, as ctlspec's index has them. */
static void (*const execs[])(struct ctl_conn *, json_t *,
    const struct ctl_call *) = {
#define CTL(name, flags, target, options, arguments, summary) cmd_##name,
#include "ctl.def"
#undef CTL
};

static bool	resolve_client(struct ctl_conn *, json_t *, struct ctl_call *);
static bool	resolve_target(struct ctl_conn *, json_t *, struct ctl_call *);
static bool	resolve_names(struct ctl_conn *, const char *, const char *,
		    const char *, struct ctl_call *);
static bool	send_flat(struct ctl_conn *, const char *, size_t);

/* How each kind of target is resolved before exec. */
static bool (*const resolvers[])(struct ctl_conn *, json_t *,
    struct ctl_call *) = {
	[CTL_TARGET_NONE] = NULL,
	[CTL_TARGET_CLIENT] = resolve_client,
	[CTL_TARGET_SEND] = resolve_target,
};

static bool
is_string(const json_t *v)
{
	return json_is_string(v) || json_is_null(v);	/* null: not given */
}

static bool
is_number(const json_t *v)
{
	return json_is_number(v);
}

static bool
is_list(const json_t *v)
{
	return json_is_array(v);
}

static bool
is_strings(const json_t *v)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return json_is_string(v) || json_is_null(v);
	json_array_foreach(v, i, item)
		if (!json_is_string(item))
			return false;
	return true;
}

/* The JSON each spec type takes; a flag is true or not given. */
static const struct {
	bool		(*ok)(const json_t *);
	const char	*what;
} types[] = {
	[CTLSPEC_STRING] = { is_string, "a string" },
	[CTLSPEC_NUMBER] = { is_number, "a number" },
	[CTLSPEC_FLAG] = { NULL, NULL },
	[CTLSPEC_LIST] = { is_list, "a list" },
	[CTLSPEC_STRINGS] = { is_strings, "a string or a list of strings" },
};

/*
 * Every key is the spec's (or, for CTL_NAMED, the event's), and each of
 * the spec's has its type, checked in the row's order.
 */
static bool
check_keys(struct ctl_conn *c, const struct ctlspec *spec, json_t *req)
{
	const struct ctlspec_key *all[2] = { spec->options, spec->args };
	size_t count[2] = { spec->noptions, spec->nargs };
	const char *key;
	json_t *value;
	char q[80];

	json_object_foreach(req, key, value) {
		if (strcmp(key, "cmd") == 0 || (spec->flags & CTL_NAMED) ||
		    ctlspec_key(spec, key) != NULL)
			continue;
		quote_for_error(q, sizeof q, key);
		ctl_error(c, "command '%s' takes no key '%s'", spec->name, q);
		return false;
	}
	for (size_t i = 0; i < countof(all); i++)
		for (size_t j = 0; j < count[i]; j++) {
			const struct ctlspec_key *k = &all[i][j];

			value = json_object_get(req, k->key);
			if (value == NULL || types[k->type].ok == NULL ||
			    types[k->type].ok(value))
				continue;
			ctl_error(c, "'%s' must be %s", k->key,
			    types[k->type].what);
			return false;
		}
	return true;
}

static void
log_request(const char *line, size_t len)
{
	if (log_level >= LOG_LEVEL_DEBUG)
		log_debug("control: %.*s", (int)(len > 200 ? 200 : len), line);
}

/*
 * Run one request line: find its command, check its keys, resolve what
 * it names, and exec. Every answer goes to c; nothing here knows it is a
 * Unix socket, so POST /api can run the same lines (a CTL_STREAMS
 * command is one it cannot offer).
 */
void
commands_run(struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_call call;
	json_error_t jerr;
	const char *name;
	json_t *req;
	char q[80];

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0 || send_flat(c, line, len))
		return;
	if ((req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		ctl_error(c, "invalid JSON: %s", jerr.text);
		return;
	}
	memset(&call, 0, sizeof call);
	if (!json_is_object(req))
		ctl_error(c, "a request must be a JSON object");
	else if ((name = ctl_string(req, "cmd")) == NULL)
		ctl_error(c, "missing 'cmd'");
	else if ((call.spec = ctlspec_find(name)) == NULL) {
		quote_for_error(q, sizeof q, name);
		ctl_error(c, "unknown command '%s'", q);
	} else if (ctl_admit(c, call.spec) && check_keys(c, call.spec, req)) {
		log_request(line, len);
		if (ctl_string(req, "client") != NULL)
			call.client = hub_find(ctl_string(req, "client"));
		if (resolvers[call.spec->target] == NULL ||
		    resolvers[call.spec->target](c, req, &call))
			execs[call.spec->index](c, req, &call);
	}
	json_decref(req);
}

/*
 * Is the cluster to be asked? Only in cluster mode with the link up, and
 * not when the request says --local.
 */
static bool
cluster_wide(json_t *req)
{
	return hub.cluster != NULL && cluster_up() &&
	    !json_is_true(json_object_get(req, "local"));
}

/*
 * An answer that waits for the cluster. If the control connection goes
 * first, the slot is cancelled and the answer is dropped on arrival.
 */
struct cluster_wait {
	struct ctl_slot	*slot;
	char		*location;	/* clients and who: only there */
	char		*principal;	/* a dry run's: only theirs */
	char		*uuid;		/* a dry run's: only that client */
	bool		 dry_run;	/* entries as send --dry-run's */
	bool		 gone;
};

static void
wait_cancel(void *arg)
{
	((struct cluster_wait *)arg)->gone = true;
}

static struct cluster_wait *
wait_for_cluster(struct ctl_conn *c, const char *location)
{
	struct cluster_wait *w = xcalloc(1, sizeof *w);

	w->slot = ctl_defer(c, false, wait_cancel, w);
	w->location = location ? xstrdup(location) : NULL;
	return w;
}

static void
wait_free(struct cluster_wait *w)
{
	free(w->location);
	free(w->principal);
	free(w->uuid);
	free(w);
}

/*
 * Did the cluster answer someone still waiting? If not, the wait is over
 * (and freed): dropped when the connection went, an error otherwise.
 */
static bool
wait_usable(struct cluster_wait *w, json_t *list)
{
	if (!w->gone && list == NULL)
		ctl_slot_error(w->slot, "redis: no answer");
	if (w->gone || list == NULL) {
		wait_free(w);
		return false;
	}
	return true;
}

/* Read an optional string key; false (with an answer sent) if mistyped. */
static bool
get_string(struct ctl_conn *c, json_t *req, const char *key,
    const char **out)
{
	json_t *v = json_object_get(req, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		ctl_error(c, "'%s' must be a string", key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* An argument value as text: strings as they are, numbers printed. */
static const char *
value_text(json_t *v, char *space, size_t size)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(space, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return space;
	}
	if (json_is_real(v)) {
		snprintf(space, size, "%.17g", json_real_value(v));
		return space;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return NULL;
}

/* The "client" key of ack and poll names a client of this node. */
static bool
resolve_client(struct ctl_conn *c, json_t *req, struct ctl_call *call)
{
	const char *uuid = ctl_string(req, "client");
	char q[80];

	if (uuid == NULL || call->client != NULL)
		return true;	/* none given: the command says so */
	quote_for_error(q, sizeof q, uuid);
	ctl_error(c, "unknown client '%s'", q);
	return false;
}

/* send's target: a location, a client, a principal, or everyone. */
static bool
resolve_target(struct ctl_conn *c, json_t *req, struct ctl_call *call)
{
	return resolve_names(c, ctl_string(req, "location"),
	    ctl_string(req, "client"), ctl_string(req, "principal"), call);
}

/* The target its names give, as resolve_target and send_flat take it. */
static bool
resolve_names(struct ctl_conn *c, const char *location, const char *uuid,
    const char *principal, struct ctl_call *call)
{
	const char *why;
	struct target *t = &call->target;
	char q[80];

	t->kind = TARGET_ALL;
	if ((location != NULL) + (uuid != NULL) + (principal != NULL) > 1) {
		ctl_error(c, "send takes one target: location, client or "
		    "principal");
		return false;
	}
	if (location != NULL) {
		if ((why = hub_names_check(location, NULL)) != NULL) {
			ctl_error(c, "%s", why);
			return false;
		}
		t->kind = TARGET_LOCATION;
		t->name = location;
	} else if (uuid != NULL) {
		t->kind = TARGET_CLIENT;
		t->name = uuid;
		/* Another node's client: Redis knows it, or says unknown. */
		if ((t->client = call->client) == NULL &&
		    (hub.cluster == NULL || !cluster_up())) {
			quote_for_error(q, sizeof q, uuid);
			ctl_error(c, "unknown client '%s'", q);
			return false;
		}
	} else if (principal != NULL) {
		t->kind = TARGET_PRINCIPAL;
		t->name = principal;
	}
	return true;
}

/* A cluster send's answer: the seq Redis gave, or why it failed. */
static void
send_done(void *arg, uint64_t seq, const char *err)
{
	struct cluster_wait *w = arg;
	char answer[64];
	int len;

	if (!w->gone) {
		if (err != NULL)
			ctl_slot_error(w->slot, "%s", err);
		else {
			len = snprintf(answer, sizeof answer,
			    "{\"ok\":true,\"seq\":%" PRIu64 "}", seq);
			ctl_slot_ok_raw(w->slot, answer, (size_t)len);
		}
	}
	wait_free(w);
}

static void
add_recipient(struct client *cl, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:s}", "uuid",
	    cl->uuid, "principal", cl->principal->name, "location",
	    cl->location->name));
}

static int
compare_entries(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	static const char *keys[] = { "location", "principal", "uuid" };

	for (size_t i = 0; i < countof(keys); i++) {
		int d = strcmp(json_string_value(json_object_get(x, keys[i])),
		    json_string_value(json_object_get(y, keys[i])));

		if (d != 0)
			return d;
	}
	return 0;
}

/* Sort client entries as livctl clients lists them. */
static void
json_array_sort_clients(json_t *list)
{
	size_t n = json_array_size(list);
	json_t **items = xcalloc(n ? n : 1, sizeof *items);

	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(list, i));
	qsort(items, n, sizeof *items, compare_entries);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, items[i]);
	free(items);
}

static void	clients_gathered(void *, json_t *);

/* A dry run in a cluster: every live node's clients that the target names. */
static void
dry_run_cluster(struct ctl_conn *c, const struct target *t)
{
	struct cluster_wait *w = wait_for_cluster(c, t->kind ==
	    TARGET_LOCATION ? t->name : NULL);

	w->dry_run = true;
	if (t->kind == TARGET_PRINCIPAL)
		w->principal = xstrdup(t->name);
	if (t->kind == TARGET_CLIENT)
		w->uuid = xstrdup(t->name);
	cluster_gather("clients", NULL, clients_gathered, w);
}

/*
 * A send's event as msg_input holds it, with the storage its words point
 * into: the line split in place, numbers printed as text.
 */
struct send_input {
	struct msg_input	 in;
	char			*copy;
	char			 numbers[VERBS_MAX_ARGS + 1][40];
	size_t			 nnum;
};

/* A value as an argument's text, kept in si; NULL if it has none. */
static const char *
send_text(struct send_input *si, json_t *v)
{
	return value_text(v, si->numbers[si->nnum++ % countof(si->numbers)],
	    sizeof si->numbers[0]);
}

/* "args": the positional values; -1 with err said on a bad one. */
static int
send_positional(struct send_input *si, json_t *args, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < json_array_size(args); i++) {
		const char *s = send_text(si, json_array_get(args, i));

		if (s == NULL) {
			snprintf(err, errlen, "argument %zu must be a string",
			    i + 1);
			return -1;
		}
		msg_input_add(&si->in, NULL, s);
	}
	return 0;
}

/* The request's other keys: the named arguments. */
static int
send_named(struct send_input *si, json_t *req, char *err, size_t errlen)
{
	const char *key, *s;
	json_t *value;
	char q[80];

	json_object_foreach(req, key, value) {
		if (verbs_reserved(key))
			continue;
		quote_for_error(q, sizeof q, key);
		if ((s = send_text(si, value)) == NULL) {
			snprintf(err, errlen, "argument '%s' must be a string",
			    q);
			return -1;
		}
		if (si->in.positional) {
			snprintf(err, errlen, "send takes 'args' or named "
			    "arguments, not both ('%s')", q);
			return -1;
		}
		msg_input_add(&si->in, key, s);
	}
	return 0;
}

/* "line": a text line, split in place into si's event. */
static int
send_line(struct send_input *si, char *text, char *err, size_t errlen)
{
	return msg_split_line(text, &si->in, livd.verbs, err, errlen) != 0 ?
	    -1 : 0;
}

/*
 * The event a send request gives: a text line ("line"), or a verb with
 * positional values ("args") or named keys. -1 with err said if bad.
 */
static int
send_parse(struct send_input *si, json_t *req, char *err, size_t errlen)
{
	json_t *line = json_object_get(req, "line");
	json_t *args = json_object_get(req, "args");
	const char *verb = ctl_string(req, "verb");

	memset(si, 0, sizeof *si);
	if (line != NULL && !is_string(line)) {
		snprintf(err, errlen, "'line' must be a string");
		return -1;
	}
	if (json_is_string(line)) {
		if (verb != NULL || args != NULL) {
			snprintf(err, errlen, "send takes a line or a verb, "
			    "not both");
			return -1;
		}
		si->copy = xstrdup(json_string_value(line));
		return send_line(si, si->copy, err, errlen);
	}
	msg_input_init(&si->in, verb);
	if (send_positional(si, args, err, errlen) != 0)
		return -1;
	return send_named(si, req, err, errlen);
}

/* send -n: who would receive it, here or in the whole cluster. */
static void
send_dry_run(struct ctl_conn *c, json_t *req, struct msg_input *in,
    const struct target *t)
{
	char err[512];
	json_t *list;

	if (publish_check(in, err, sizeof err) != PUBLISH_OK)
		ctl_error(c, "%s", err);
	else if (cluster_wide(req))
		dry_run_cluster(c, t);
	else {
		list = json_array();
		hub_recipients(t, add_recipient, list);
		json_array_sort_clients(list);
		ctl_ok(c, json_pack("{s:b,s:o}", "ok", 1, "clients", list));
	}
}

/* Publish; in a cluster the answer waits for Redis (send_done). */
static void
send_publish(struct ctl_conn *c, struct msg_input *in, const struct target *t)
{
	struct publish_result res;
	char err[512], answer[96];
	int len;

	memset(&res, 0, sizeof res);
	if (hub.cluster != NULL) {
		res.done = send_done;
		res.arg = wait_for_cluster(c, NULL);
	}
	if (publish(in, t, NULL, &res, err, sizeof err) != PUBLISH_OK) {
		if (res.arg != NULL) {
			ctl_slot_error(((struct cluster_wait *)res.arg)->slot,
			    "%s", err);
			wait_free(res.arg);
		} else
			ctl_error(c, "%s", err);
		return;
	}
	if (res.deferred)
		return;		/* send_done answers */
	len = snprintf(answer, sizeof answer, "{\"ok\":true,\"seq\":%" PRIu64
	    ",\"reached\":%zu}", res.seq, res.reached);
	ctl_ok_raw(c, answer, (size_t)len);
}

/* send: an event, to one target or to every client. */
static void
cmd_send(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	struct send_input si;
	char err[512];

	if (send_parse(&si, req, err, sizeof err) != 0)
		ctl_error(c, "%s", err);
	else if (json_is_true(json_object_get(req, "dry_run")))
		send_dry_run(c, req, &si.in, &call->target);
	else
		send_publish(c, &si.in, &call->target);
	free(si.copy);
}

/*
 * The send a publisher sends most, as flatjson reads it: a verb with a
 * list of arguments or named ones, or a line, and a target. It builds no
 * JSON values. Any other line is left to the general path (false, with
 * nothing done); from admission on, the two share every step and answer.
 */
static bool
send_flat(struct ctl_conn *c, const char *line, size_t len)
{
	/* The reserved keys it takes, each a string ("args" is the list). */
	enum { CMD, VERB, LINE, LOCATION, CLIENT, PRINCIPAL, NKEYS };
	static const char *const takes[NKEYS] = {
		[CMD] = "cmd", [VERB] = "verb", [LINE] = "line",
		[LOCATION] = "location", [CLIENT] = "client",
		[PRINCIPAL] = "principal"
	};
	static const struct ctlspec *spec;
	const struct flatjson_pair *p, *args = NULL;
	char *names[NKEYS] = { NULL };
	struct flatjson f;
	struct send_input si;
	struct ctl_call call;
	size_t named = 0, i;
	char err[512];
	int rc = 0;

	if (!flatjson_parse(&f, line, len))
		return false;
	for (p = f.pairs; p < f.pairs + f.npairs; p++) {
		for (i = 0; i < NKEYS && strcmp(p->key, takes[i]) != 0; i++)
			;
		if (i < NKEYS && p->string != NULL)
			names[i] = p->string;
		else if (strcmp(p->key, "args") == 0 && p->string == NULL)
			args = p;
		else if (i < NKEYS || verbs_reserved(p->key) ||
		    p->string == NULL)
			return false;	/* a list, or a key it leaves */
		else
			named++;
	}
	if (names[CMD] == NULL || strcmp(names[CMD], "send") != 0 ||
	    (names[LINE] != NULL ? names[VERB] != NULL || args != NULL ||
	    named > 0 : names[VERB] == NULL || (args != NULL && named > 0)))
		return false;

	if (spec == NULL)
		spec = ctlspec_find("send");
	memset(&call, 0, sizeof call);
	call.spec = spec;
	if (!ctl_admit(c, spec))
		return true;
	log_request(line, len);
	if (names[CLIENT] != NULL)
		call.client = hub_find(names[CLIENT]);
	if (!resolve_names(c, names[LOCATION], names[CLIENT],
	    names[PRINCIPAL], &call))
		return true;
	memset(&si, 0, sizeof si);
	if (names[LINE] != NULL)
		rc = send_line(&si, names[LINE], err, sizeof err);
	else {
		msg_input_init(&si.in, names[VERB]);
		for (i = 0; args != NULL && i < args->nitems; i++)
			msg_input_add(&si.in, NULL, args->items[i]);
		for (p = f.pairs; p < f.pairs + f.npairs; p++)
			if (!verbs_reserved(p->key))
				msg_input_add(&si.in, p->key, p->string);
	}
	if (rc != 0)
		ctl_error(c, "%s", err);
	else
		send_publish(c, &si.in, &call.target);
	return true;
}

/* Pairs of location and principal, for who without a location. */
struct online {
	const char	*location;
	const char	*principal;
};

static int
compare_online(const void *a, const void *b)
{
	const struct online *x = a, *y = b;
	int d = strcmp(x->location, y->location);

	return d ? d : strcmp(x->principal, y->principal);
}

/* who's answer from (location, principal) pairs: sorted, unique. */
static json_t *
who_answer(const char *name, struct online *all, size_t n)
{
	json_t *answer = json_pack("{s:b}", "ok", 1), *list = json_array();

	qsort(all, n, sizeof *all, compare_online);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && compare_online(&all[i], &all[i - 1]) == 0)
			continue;
		if (name != NULL)
			json_array_append_new(list,
			    json_string(all[i].principal));
		else
			json_array_append_new(list, json_pack("{s:s,s:s}",
			    "location", all[i].location, "principal",
			    all[i].principal));
	}
	if (name != NULL) {
		json_object_set_new(answer, "location", json_string(name));
		json_object_set_new(answer, "principals", list);
	} else
		json_object_set_new(answer, "online", list);
	return answer;
}

/* Entries "LOCATION\tPRINCIPAL" from every node. */
static void
who_gathered(void *arg, json_t *list)
{
	struct cluster_wait *w = arg;
	struct online *all;
	json_t *item;
	size_t i, n = 0;
	char **copies;

	if (!wait_usable(w, list))
		return;
	all = xcalloc(json_array_size(list) + 1, sizeof *all);
	copies = xcalloc(json_array_size(list) + 1, sizeof *copies);
	json_array_foreach(list, i, item) {
		char *tab;

		copies[i] = xstrdup(json_string_value(item));
		if ((tab = strchr(copies[i], '\t')) == NULL)
			continue;
		*tab = '\0';
		all[n].location = copies[i];
		all[n++].principal = tab + 1;
	}
	ctl_slot_ok(w->slot, who_answer(w->location, all, n));
	for (i = 0; i < json_array_size(list); i++)
		free(copies[i]);
	free(copies);
	free(all);
	wait_free(w);
}

/* who: the principals online at a location, or everywhere; sorted, unique. */
static void
cmd_who(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	const char *name;
	struct location *loc;
	struct hnode *node;
	struct online *all;
	size_t i, n = 0;

	(void)call;
	name = ctl_string(req, "location");
	if (cluster_wide(req)) {
		char *prefix = name ? xprintf("%s\t", name) : NULL;

		cluster_gather("who", prefix, who_gathered,
		    wait_for_cluster(c, name));
		free(prefix);
		return;
	}
	/* A client at several locations is a member of each. */
	TAILQ_FOREACH(loc, &hub.all, link)
		n += loc->members.count;
	all = xcalloc(n ? n : 1, sizeof *all);
	n = 0;
	TAILQ_FOREACH(loc, &hub.all, link) {
		if (name != NULL && strcmp(loc->name, name) != 0)
			continue;
		HMAP_FOREACH(&loc->members, node, i) {
			all[n].location = loc->name;
			all[n++].principal = node->key;
		}
	}
	ctl_ok(c, who_answer(name, all, n));
	free(all);
}

/*
 * refresh: print the interval in force, or set it (globally or at -l), or
 * with -u drop a location's own so the global one applies there again.
 */
static void
cmd_refresh(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	const char *location, *why;
	json_t *seconds = json_object_get(req, "seconds");
	bool unset = json_is_true(json_object_get(req, "unset"));

	(void)call;
	if (!get_string(c, req, "location", &location))
		return;
	if (location != NULL &&
	    (why = hub_names_check(location, NULL)) != NULL) {
		ctl_error(c, "%s", why);
		return;
	}
	if (unset && (location == NULL || seconds != NULL)) {
		ctl_error(c, "refresh -u takes -l LOCATION and no SECONDS");
		return;
	}
	if (unset) {
		hub_set_refresh(location, 0);
		if (cluster_wide(req))
			cluster_refresh(location, 0);
		log_info("refresh %s: the global one", location);
	} else if (seconds != NULL) {
		double s;

		if (!json_is_number(seconds)) {
			ctl_error(c, "'seconds' must be a number");
			return;
		}
		s = json_number_value(seconds);
		if (!hub_refresh_valid(s)) {
			ctl_error(c, "refresh must be more than 0 and at most "
			    "%d seconds", HUB_REFRESH_MAX);
			return;
		}
		hub_set_refresh(location, s);
		if (cluster_wide(req))
			cluster_refresh(location, s);
		log_info("refresh %s%s%g", location ? location : "",
		    location ? ": " : "", s);
	}
	ctl_ok(c, json_pack("{s:b,s:f}", "ok", 1, "refresh",
	    hub_refresh(location ? hub_location(location) : NULL)));
}

/* verbs: the table as /verbs.json serves it. */
static void
cmd_verbs(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	struct buf b;

	(void)req;
	(void)call;
	buf_init(&b);
	buf_adds(&b, "{\"ok\":true,\"verbs\":");
	buf_add(&b, livd.verbs->json, livd.verbs->jsonlen);
	buf_addc(&b, '}');
	ctl_ok_raw(c, b.data, b.len);
	buf_free(&b);
}

/* connect: a client registered as a server-rendered page would. */
static void
cmd_connect(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	const char *location = ctl_string(req, "location");
	const char *principal = ctl_string(req, "principal");
	struct client *cl;
	char err[256];

	(void)call;
	if (location == NULL) {
		ctl_error(c, "connect needs a location");
		return;
	}
	if (principal == NULL)
		principal = "anonymous";
	if ((cl = hub_connect(location, principal, false, err,
	    sizeof err)) == NULL) {
		ctl_error(c, "%s", err);
		return;
	}
	ctl_ok(c, json_pack("{s:b,s:s,s:s,s:s,s:f,s:I}", "ok", 1, "uuid",
	    cl->uuid, "location", location, "principal", principal,
	    "refresh", hub_refresh(cl->location), "seq",
	    (json_int_t)cl->start));
}

/* One line of clients: idle seconds and queue length when it is ours. */
static json_t *
client_entry(const char *uuid, const char *principal, const char *location)
{
	json_t *e = json_pack("{s:s,s:s,s:s}", "uuid", uuid, "principal",
	    principal, "location", location);
	struct client *cl = hub_find(uuid);

	if (cl != NULL) {
		json_object_set_new(e, "idle", json_real(cl->state ==
		    CLIENT_IDLE ? now_mono() - cl->last_seen : 0.0));
		json_object_set_new(e, "queue",
		    json_integer((json_int_t)hub_queued(cl)));
	}
	return e;
}

/* Entries "UUID\tPRINCIPAL\tLOCATION" from every node. */
static void
clients_gathered(void *arg, json_t *list)
{
	struct cluster_wait *w = arg;
	json_t *out, *item;
	size_t i;

	if (!wait_usable(w, list))
		return;
	out = json_array();
	json_array_foreach(list, i, item) {
		char *copy = xstrdup(json_string_value(item)), *p, *l;

		if ((p = strchr(copy, '\t')) != NULL &&
		    (l = strchr(p + 1, '\t')) != NULL) {
			*p++ = '\0';
			*l++ = '\0';
			if ((w->location == NULL || strcmp(l, w->location) == 0) &&
			    (w->principal == NULL || strcmp(p, w->principal) == 0) &&
			    (w->uuid == NULL || strcmp(copy, w->uuid) == 0))
				json_array_append_new(out, w->dry_run ?
				    json_pack("{s:s,s:s,s:s}", "uuid", copy,
				    "principal", p, "location", l) :
				    client_entry(copy, p, l));
		}
		free(copy);
	}
	if (w->uuid != NULL && json_array_size(out) == 0) {
		char q[80];

		quote_for_error(q, sizeof q, w->uuid);
		ctl_slot_error(w->slot, "unknown client '%s'", q);
		json_decref(out);
		wait_free(w);
		return;
	}
	json_array_sort_clients(out);
	ctl_slot_ok(w->slot, json_pack("{s:b,s:o}", "ok", 1, "clients", out));
	wait_free(w);
}

struct clients_at {
	json_t		*list;
	const char	*location;
};

static void
add_client_line(struct client *cl, void *arg)
{
	struct clients_at *at = arg;

	json_array_append_new(at->list, client_entry(cl->uuid,
	    cl->principal->name, at->location));
}

/* clients: UUID PRINCIPAL LOCATION, sorted by location and principal. */
static void
cmd_clients(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	const char *name;
	struct location *loc;
	json_t *list;

	(void)call;
	name = ctl_string(req, "location");
	if (cluster_wide(req)) {
		cluster_gather("clients", NULL, clients_gathered,
		    wait_for_cluster(c, name));
		return;
	}
	list = json_array();
	TAILQ_FOREACH(loc, &hub.all, link) {
		struct clients_at at = { list, loc->name };

		/* One line per client and location it is at. */
		if (name == NULL || strcmp(loc->name, name) == 0)
			hub_at(loc, add_client_line, &at);
	}
	json_array_sort_clients(list);
	ctl_ok(c, json_pack("{s:b,s:o}", "ok", 1, "clients", list));
}

/*
 * A livctl poll held for a client: its own waiter and deadline, and the
 * slot its answer goes to. Freed once answered, or when the control
 * connection goes first.
 */
struct ctl_poll {
	struct waiter	 waiter;
	struct ctl_slot	*slot;
	struct event	*timer;
};

static void	poll_wake(struct waiter *, struct client *);
static void	poll_release(struct waiter *, struct client *);

static const struct waiter_ops poll_ops = {
	.name = "control",
	.wake = poll_wake,
	.release = poll_release,
};

static void
poll_free(struct ctl_poll *p)
{
	if (p->waiter.client != NULL)
		hub_unwait(&p->waiter);
	event_free(p->timer);
	free(p);
}

/* Answer a control poll: the long-poll's body with "ok" in front. */
static void
poll_answer(struct ctl_poll *p, struct blob *body)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "{\"ok\":true,");
	buf_add(&b, body->data + 1, body->len - 1);
	ctl_slot_ok_raw(p->slot, b.data, b.len);
	buf_free(&b);
	blob_unref(body);
	poll_free(p);
}

/*
 * The events stay queued: livctl acknowledges them (ack) once it has
 * printed them, so a livctl killed before printing loses nothing.
 */
static void
poll_wake(struct waiter *w, struct client *cl)
{
	uint64_t seq;

	poll_answer(container_of(w, struct ctl_poll, waiter),
	    hub_answer(cl, &seq));
}

static void
poll_release(struct waiter *w, struct client *cl)
{
	poll_answer(container_of(w, struct ctl_poll, waiter), hub_idle(cl));
}

static void
poll_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_poll *p = arg;
	struct client *cl = p->waiter.client;
	struct blob *body;
	uint64_t seq;

	(void)fd; (void)what;
	if (cl == NULL)
		return;
	hub_unwait(&p->waiter);
	body = hub_answer(cl, &seq);
	poll_answer(p, body);
}

static void
poll_cancel(void *arg)
{
	poll_free(arg);
}

/*
 * A seq from JSON: a whole number from 0 to 2^64 - 1, written as an
 * integer or not (livctl sends 1e3 as a real). The range is checked
 * before the conversion, which out of range is undefined.
 */
static bool
json_seq(const json_t *v, uint64_t *seq)
{
	double d;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return false;
		*seq = (uint64_t)json_integer_value(v);
		return true;
	}
	d = json_number_value(v);
	if (!(d >= 0 && d < 18446744073709551616.0))
		return false;
	*seq = (uint64_t)d;
	return (double)*seq == d;
}

/* ack: acknowledge a client's events up to seq, as since= does. */
static void
cmd_ack(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	json_t *seq = json_object_get(req, "seq");
	uint64_t n;

	if (call->client == NULL || seq == NULL) {
		ctl_error(c, "ack needs a client and a seq");
		return;
	}
	if (!json_seq(seq, &n)) {
		ctl_error(c, "'seq' must be a whole number from 0 to "
		    "18446744073709551615");
		return;
	}
	hub_ack(call->client, n);
	ctl_ok(c, NULL);
}

/* poll: one long-poll as a client; answered when events come or idle. */
static void
cmd_poll(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	struct client *cl = call->client;
	struct ctl_poll *p;
	struct timeval tv;
	double refresh;

	(void)req;
	if (cl == NULL) {
		ctl_error(c, "poll needs a client");
		return;
	}
	p = xcalloc(1, sizeof *p);
	p->waiter.ops = &poll_ops;
	p->slot = ctl_defer(c, true, poll_cancel, p);
	p->timer = evtimer_new(livd.base, poll_deadline, p);
	refresh = hub_refresh(cl->location);
	tv.tv_sec = (time_t)refresh;
	tv.tv_usec = (suseconds_t)((refresh - (double)tv.tv_sec) * 1e6);
	evtimer_add(p->timer, &tv);
	hub_wait(cl, &p->waiter);
}

/* status: key: value lines; tests wait for it to answer. */
static void
cmd_status(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	json_t *answer, *hooks;

	(void)req;
	(void)call;
	answer = json_pack("{s:b,s:s,s:I,s:s,s:s,s:I,s:f}", "ok", 1,
	    "version", LIVD_VERSION, "uptime",
	    (json_int_t)(now_wall() - livd.started), "listen",
	    livd.listen_name, "socket", livd.cfg.socket, "clients",
	    (json_int_t)hub.count, "refresh", hub.refresh);
	/* The memory budget; what it holds now is in stats, which change. */
	json_object_set_new(answer, "max_memory", json_integer((json_int_t)
	    budget.limit));
	if (cluster_status() != NULL) {
		json_object_set_new(answer, "redis",
		    json_string(cluster_status()));
		json_object_set_new(answer, "node", json_string(cluster_node()));
	}
	if ((hooks = hook_status_json()) != NULL)
		json_object_set_new(answer, "hooks", hooks);
	ctl_ok(c, answer);
}

/* A string, or a list of strings (check_keys saw to it), as a list. */
static json_t *
as_list(json_t *v)
{
	if (v == NULL || json_is_null(v))
		return json_array();
	return json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
}

/*
 * The names of --cmds: each a control command or "*", given as items or
 * comma-separated within one. NULL (answered) when one is not a command.
 */
static json_t *
token_cmds(struct ctl_conn *c, json_t *given)
{
	json_t *items = as_list(given), *names = json_array(), *item;
	char q[80], name[AUTH_CMD_MAX + 1];
	size_t i;

	json_array_foreach(items, i, item) {
		const char *p = json_string_value(item);

		for (size_t n; *p != '\0'; p += n + (p[n] == ',')) {
			n = strcspn(p, ",");
			snprintf(name, sizeof name, "%.*s", (int)n, p);
			if (n == 0)
				continue;
			if (n > AUTH_CMD_MAX || (strcmp(name, "*") != 0 &&
			    ctlspec_find(name) == NULL)) {
				quote_for_error(q, sizeof q, name);
				ctl_error(c, "unknown command '%s'", q);
				goto fail;
			}
			json_array_append_new(names, json_string(name));
		}
	}
	json_decref(items);
	return names;
fail:
	json_decref(items);
	json_decref(names);
	return NULL;
}

/* Point out[] at a list's strings; false (answered) when too many. */
static bool
token_strings(struct ctl_conn *c, json_t *list, const char **out,
    size_t max, const char *what)
{
	size_t i;
	json_t *item;

	if (json_array_size(list) > max) {
		ctl_error(c, "a token holds at most %zu %s", max, what);
		return false;
	}
	json_array_foreach(list, i, item)
		out[i] = json_string_value(item);
	return true;
}

/*
 * token: a JWT an application hands a page for auth: token (locations
 * and a principal), or keeps for POST /api (cmds), or both in one.
 */
static void
cmd_token(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	const char *principal, *why, *locs[AUTH_MAX_LOCATIONS];
	const char *cmds[AUTH_MAX_CMDS];
	json_t *ttl = json_object_get(req, "ttl"), *locations, *names = NULL;
	struct auth_grant grant = { 0 };
	double seconds = 3600;
	char err[256], *token;
	size_t i;

	(void)call;
	locations = as_list(json_object_get(req, "location"));
	if (!get_string(c, req, "principal", &principal))
		goto done;
	if (json_object_get(req, "cmds") != NULL &&
	    (names = token_cmds(c, json_object_get(req, "cmds"))) == NULL)
		goto done;
	if (json_array_size(names) == 0 && (json_array_size(locations) == 0 ||
	    principal == NULL)) {
		ctl_error(c, "token needs a location and a principal");
		goto done;
	}
	if (json_array_size(locations) > 0 && principal == NULL) {
		ctl_error(c, "a page token needs a principal");
		goto done;
	}
	for (i = 0; i < json_array_size(locations); i++)
		if ((why = hub_names_check(json_string_value(
		    json_array_get(locations, i)), NULL)) != NULL) {
			ctl_error(c, "%s", why);
			goto done;
		}
	if ((why = hub_names_check(NULL, principal)) != NULL) {
		ctl_error(c, "%s", why);
		goto done;
	}
	if (ttl != NULL) {
		seconds = json_number_value(ttl);
		if (!(seconds >= 1 && seconds <= 366 * 86400)) {
			ctl_error(c, "ttl must be 1 to 31622400 seconds");
			goto done;
		}
	}
	if (!token_strings(c, locations, locs, AUTH_MAX_LOCATIONS,
	    "locations") || !token_strings(c, names, cmds, AUTH_MAX_CMDS,
	    "commands"))
		goto done;
	grant.sub = principal;
	grant.locations = locs;
	grant.nlocations = json_array_size(locations);
	grant.cmds = cmds;
	grant.ncmds = json_array_size(names);
	if ((token = auth_mint(&grant, seconds, err, sizeof err)) == NULL) {
		ctl_error(c, "%s", err);
		goto done;
	}
	ctl_ok(c, json_pack("{s:b,s:s,s:I}", "ok", 1, "token", token,
	    "expires", (json_int_t)time(NULL) + (json_int_t)seconds));
	free(token);
done:
	json_decref(locations);
	json_decref(names);
}

/* A tail: the connection it streams to, and where it looks. */
struct tail {
	struct observer	 observer;
	struct ctl_conn	*conn;
	char		*location;	/* NULL: everywhere */
};

/* An event was sent: a line with the event and where it went. */
static void
tail_seen(struct observer *o, struct msg *m, const struct target *t)
{
	struct tail *tl = container_of(o, struct tail, observer);
	struct buf line;

	if (tl->location != NULL && !hub_reaches(t, tl->location))
		return;
	buf_init(&line);
	buf_adds(&line, "{\"event\":");
	buf_add(&line, m->json, m->jsonlen);
	if (t->kind != TARGET_ALL) {
		const char *to = t->kind == TARGET_CLIENT ? t->client->uuid :
		    t->name;

		buf_printf(&line, ",\"%s\":", hub_target_names[t->kind]);
		buf_json_string(&line, to, strlen(to));
	}
	buf_addc(&line, '}');
	ctl_stream_line(tl->conn, line.data, line.len);	/* may free tl */
	buf_free(&line);
}

/* The connection closed, or fell behind: stop looking. */
static void
tail_stop(void *arg)
{
	struct tail *tl = arg;

	hub_unobserve(&tl->observer);
	free(tl->location);
	free(tl);
}

/* tail: answer ok, then every event sent (there, or anywhere) as it goes. */
static void
cmd_tail(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	struct tail *tl = xcalloc(1, sizeof *tl);
	const char *location = ctl_string(req, "location");

	(void)call;
	tl->conn = c;
	tl->location = location ? xstrdup(location) : NULL;
	tl->observer.seen = tail_seen;
	hub_observe(&tl->observer);
	ctl_stream(c, "tail", tail_stop, tl);
}

/* shell: livctl's, named here so that POST /api can refuse it by flag. */
static void
cmd_shell(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	(void)req;
	(void)call;
	ctl_error(c, "command 'shell' is livctl's own: run livctl shell");
}

/* stats: livd's counters, as GET /metrics has them. */
static void
cmd_stats(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	(void)req;
	(void)call;
	ctl_ok(c, metrics_json());
}

/* reload: as SIGHUP. */
static void
cmd_reload(struct ctl_conn *c, json_t *req, const struct ctl_call *call)
{
	char err[1024];

	(void)call;
	if (livd_reload(err, sizeof err) != 0) {
		ctl_error(c, "%s", err);
		return;
	}
	if (cluster_wide(req))
		cluster_reload();
	ctl_ok(c, NULL);
}

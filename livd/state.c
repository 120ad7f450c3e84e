/*
 * The state file: on SIGTERM livd writes its clients, their cursors and
 * the events queued for them (write, then rename), and a new livd reads
 * it back at start, so a page polling through a restart keeps its uuid
 * and loses nothing. A missing or broken file is logged and ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "msg.h"
#include "state.h"
#include "verbs.h"

#define STATE_VERSION	1

static json_t *
queue_json(const struct queue *q)
{
	json_t *list = json_array();

	for (size_t i = 0; i < q->len; i++)
		json_array_append_new(list, json_loadb(queue_at(q, i)->json,
		    queue_at(q, i)->jsonlen, 0, NULL));
	return list;
}

/* All of the client's locations, the first first. */
static json_t *
locations_json(const struct client *c)
{
	json_t *list = json_array();

	for (size_t i = 0; i <= c->nmore; i++)
		json_array_append_new(list, json_string(HUB_CLIENT_AT(c,
		    i)->name));
	return list;
}

static json_t *
state_json(void)
{
	json_t *locations = json_array(), *clients = json_array();
	struct location *loc;
	struct client *c;

	TAILQ_FOREACH(loc, &hub.all, link) {
		json_array_append_new(locations, json_pack(
		    "{s:s,s:f,s:I,s:o}", "name", loc->name, "refresh",
		    loc->refresh, "floor", (json_int_t)loc->history.floor,
		    "events", queue_json(&loc->history)));
		/*
		 * Each client once, at its first location. A client that
		 * lived as long as its stream is not: the stream comes back
		 * as a new client, from its Last-Event-ID.
		 */
		TAILQ_FOREACH(c, &loc->clients, at_location) {
			if (c->ephemeral)
				continue;
			json_array_append_new(clients, json_pack(
			    "{s:s,s:s,s:o,s:s,s:b,s:I,s:I,s:b,s:I,s:o}",
			    "uuid", c->uuid, "location", loc->name,
			    "locations", locations_json(c),
			    "principal", c->principal->name,
			    "presence", c->presence,
			    "start", (json_int_t)c->start,
			    "cursor", (json_int_t)c->cursor,
			    "polled", c->polled,
			    "floor", (json_int_t)c->own.floor,
			    "events", queue_json(&c->own)));
		}
	}
	return json_pack("{s:i,s:I,s:f,s:o,s:o}", "livd_state",
	    STATE_VERSION, "seq", (json_int_t)hub.seq, "refresh", hub.refresh,
	    "locations", locations, "clients", clients);
}

/* Write the state to path atomically; -1 (logged) on failure. */
int
state_save(const char *path)
{
	char *tmp = xprintf("%s.tmp", path);
	json_t *state = state_json();
	int fd, rc = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("state file %s", tmp);
		goto out;
	}
	if (json_dumpfd(state, fd, JSON_COMPACT) != 0 || fsync(fd) != 0) {
		log_warn("cannot write state file %s", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		log_warn("cannot rename %s to %s", tmp, path);
		unlink(tmp);
		goto out;
	}
	log_info("saved %zu clients to %s",
	    json_array_size(json_object_get(state, "clients")), path);
	rc = 0;
out:
	json_decref(state);
	free(tmp);
	return rc;
}

static uint64_t
get_seq(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* Refill a queue from saved events, oldest first; -1 if one is bad. */
static int
queue_restore(struct queue *q, json_t *events, uint64_t floor)
{
	json_t *e;
	size_t i;
	uint64_t last = floor;

	queue_clear(q, floor);
	json_array_foreach(events, i, e) {
		struct msg *m = msg_from_json(e, livd.verbs);

		if (m == NULL || m->seq <= last) {
			msg_unref(m);
			return -1;
		}
		last = m->seq;
		queue_push(q, m, livd.cfg.queue_limit);
		msg_unref(m);
	}
	return 0;
}

/*
 * Read the state file, if there is one, and bring its clients back. It is
 * removed afterwards, so a crash later cannot bring back stale clients.
 */
void
state_restore(const char *path)
{
	json_error_t jerr;
	json_t *state, *o;
	size_t i, nclients = 0;
	char err[256];

	if (access(path, F_OK) != 0) {
		log_info("state file %s: %s: starting empty", path,
		    strerror(errno));
		return;
	}
	if ((state = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || json_integer_value(json_object_get(state, "livd_state")) !=
	    STATE_VERSION) {
		log_warnx("state file %s:%d: %s: ignored", path, jerr.line,
		    state ? "not a livd state file" : jerr.text);
		json_decref(state);
		return;
	}
	hub_advance_seq(get_seq(state, "seq"));
	hub_set_refresh(NULL, json_number_value(json_object_get(state,
	    "refresh")));
	hub.quiet = true;	/* these pages knew each other already */
	json_array_foreach(json_object_get(state, "locations"), i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		struct location *loc;

		if (name == NULL || hub_names_check(name, NULL) != NULL)
			continue;
		loc = hub_location_make(name);
		hub_set_refresh(name, json_number_value(json_object_get(o,
		    "refresh")));
		if (queue_restore(&loc->history, json_object_get(o, "events"),
		    get_seq(o, "floor")) != 0)
			log_warnx("state file %s: bad events at %s: dropped",
			    path, name);
	}
	json_array_foreach(json_object_get(state, "clients"), i, o) {
		const char *uuid = json_string_value(json_object_get(o, "uuid"));
		const char *location = json_string_value(json_object_get(o,
		    "location"));
		const char *principal = json_string_value(json_object_get(o,
		    "principal"));
		const char *at[HUB_LOCATIONS_MAX];
		json_t *list = json_object_get(o, "locations"), *e;
		size_t n = 0, k;
		struct client *c;

		/* A file from before several locations has only location. */
		json_array_foreach(list, k, e)
			if (n < countof(at) && json_is_string(e))
				at[n++] = json_string_value(e);
		if (n == 0 && location != NULL)
			at[n++] = location;
		if (uuid == NULL || n == 0 || principal == NULL ||
		    (c = hub_restore(uuid, at, n, principal, json_is_true(
		    json_object_get(o, "presence")), err, sizeof err)) == NULL) {
			log_warnx("state file %s: client %zu: %s: skipped", path,
			    i, uuid == NULL ? "incomplete" : err);
			continue;
		}
		c->start = get_seq(o, "start");
		c->cursor = get_seq(o, "cursor");
		c->polled = json_is_true(json_object_get(o, "polled"));
		if (queue_restore(&c->own, json_object_get(o, "events"),
		    get_seq(o, "floor")) != 0) {
			/* It will be told to resync. */
			queue_clear(&c->own, hub.seq);
		}
		nclients++;
	}
	hub.quiet = false;
	json_decref(state);
	if (unlink(path) != 0)
		log_warn("cannot remove %s", path);
	log_info("restored %zu clients from %s", nclients, path);
}

/*
 * How livctl prints each command's answer as text: a printer per command
 * that prints something, found by name in printers[]; the others print
 * nothing. With -j livctl prints the JSON instead.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../livd/util.h"
#include "livctl.h"

static void
print_connect(json_t *answer, json_t *req)
{
	(void)req;
	printf("%s\n", json_string_value(json_object_get(answer, "uuid")));
}

static void
print_token(json_t *answer, json_t *req)
{
	(void)req;
	printf("%s\n", json_string_value(json_object_get(answer, "token")));
}

static void
print_refresh(json_t *answer, json_t *req)
{
	(void)req;
	printf("%g\n", json_number_value(json_object_get(answer, "refresh")));
}

/* Text form: verb and all arguments but the last, then the last. */
void
print_event(json_t *event, FILE *f)
{
	const char *key, *verb = json_string_value(json_object_get(event,
	    "verb"));
	json_t *value;
	size_t n = 0, i = 0;

	json_object_foreach(event, key, value)
		if (strcmp(key, "seq") != 0 && strcmp(key, "verb") != 0)
			n++;
	fputs(verb ? verb : "?", f);
	json_object_foreach(event, key, value) {
		if (strcmp(key, "seq") == 0 || strcmp(key, "verb") == 0)
			continue;
		fputc(++i == n ? '\n' : ' ', f);
		fputs(json_is_string(value) ? json_string_value(value) : "", f);
	}
	fputc('\n', f);
}

static void
print_poll(json_t *answer, json_t *req)
{
	json_t *events = json_object_get(answer, "events"), *e;
	size_t i;

	(void)req;
	if (json_array_size(events) == 0) {
		printf("idle\n");
		return;
	}
	json_array_foreach(events, i, e)
		print_event(e, stdout);
}

/* key: value lines; nested objects as parent.key: value. */
static void
print_keys(json_t *o, const char *prefix)
{
	const char *key;
	json_t *value;

	json_object_foreach(o, key, value) {
		if (*prefix == '\0' && strcmp(key, "ok") == 0)
			continue;
		if (json_is_object(value)) {
			char nested[256];

			snprintf(nested, sizeof nested, "%s%s.", prefix, key);
			print_keys(value, nested);
		} else if (json_is_string(value))
			printf("%s%s: %s\n", prefix, key,
			    json_string_value(value));
		else if (json_is_integer(value))
			printf("%s%s: %" JSON_INTEGER_FORMAT "\n", prefix, key,
			    json_integer_value(value));
		else if (json_is_number(value))
			printf("%s%s: %g\n", prefix, key,
			    json_number_value(value));
		else if (json_is_boolean(value))
			printf("%s%s: %s\n", prefix, key,
			    json_is_true(value) ? "yes" : "no");
	}
}

static void
print_status(json_t *answer, json_t *req)
{
	(void)req;
	print_keys(answer, "");
}

static void
print_stats(json_t *answer, json_t *req)
{
	(void)req;
	print_keys(answer, "");
}

static void
print_verbs(json_t *answer, json_t *req)
{
	(void)req;
	json_t *verbs = json_object_get(answer, "verbs"), *v, *arg;
	const char *name;
	size_t i;

	/* livd sends them sorted by name. */
	json_object_foreach(verbs, name, v) {
		fputs(name, stdout);
		json_array_foreach(json_object_get(v, "args"), i, arg)
			printf(" %s", json_string_value(arg));
		putchar('\n');
	}
}

static void
print_who(json_t *answer, json_t *req)
{
	(void)req;
	json_t *list, *item;
	size_t i;

	if ((list = json_object_get(answer, "principals")) != NULL) {
		json_array_foreach(list, i, item)
			printf("%s\n", json_string_value(item));
		return;
	}
	json_array_foreach(json_object_get(answer, "online"), i, item)
		printf("%s %s\n", json_string_value(json_object_get(item,
		    "location")), json_string_value(json_object_get(item,
		    "principal")));
}

/* Also send -n -'s: who would receive each line. */
void
print_clients(json_t *answer, json_t *req)
{
	bool verbose = json_is_true(json_object_get(req, "verbose"));
	json_t *item;
	size_t i;

	json_array_foreach(json_object_get(answer, "clients"), i, item) {
		printf("%s %s %s",
		    json_string_value(json_object_get(item, "uuid")),
		    json_string_value(json_object_get(item, "principal")),
		    json_string_value(json_object_get(item, "location")));
		/* -v: idle seconds and queue length after the contract's */
		if (verbose)
			printf(" %.0f %" JSON_INTEGER_FORMAT,
			    json_number_value(json_object_get(item, "idle")),
			    json_integer_value(json_object_get(item, "queue")));
		putchar('\n');
	}
}

/* send prints nothing, but --dry-run prints who would receive it. */
static void
print_send(json_t *answer, json_t *req)
{
	if (json_object_get(answer, "clients") != NULL)
		print_clients(answer, req);
}

static const struct {
	const char	*name;
	void		(*print)(json_t *, json_t *);
} printers[] = {
	{ "clients", print_clients },
	{ "connect", print_connect },
	{ "poll", print_poll },
	{ "refresh", print_refresh },
	{ "send", print_send },
	{ "stats", print_stats },
	{ "status", print_status },
	{ "token", print_token },
	{ "verbs", print_verbs },
	{ "who", print_who },
};

/* Print a command's answer as text, if it has a printer. */
void
print_answer(const struct ctlspec *cmd, json_t *answer, json_t *req)
{
	for (size_t i = 0; i < countof(printers); i++)
		if (strcmp(printers[i].name, cmd->name) == 0)
			printers[i].print(answer, req);
}

/*
 * How livctl prints each command's answer as text: one printer per row
 * of ctl.def, named print_NAME. With -j livctl prints the JSON instead.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../livd/util.h"
#include "livctl.h"

static void
print_nothing(json_t *answer, json_t *req)
{
	(void)answer;
	(void)req;
}

void
print_ack(json_t *answer, json_t *req)
{
	print_nothing(answer, req);
}

void
print_reload(json_t *answer, json_t *req)
{
	print_nothing(answer, req);
}

void
print_tail(json_t *answer, json_t *req)
{
	print_nothing(answer, req);
}

void
print_connect(json_t *answer, json_t *req)
{
	(void)req;
	printf("%s\n", json_string_value(json_object_get(answer, "uuid")));
}

void
print_token(json_t *answer, json_t *req)
{
	(void)req;
	printf("%s\n", json_string_value(json_object_get(answer, "token")));
}

void
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

void
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

void
print_status(json_t *answer, json_t *req)
{
	(void)req;
	print_keys(answer, "");
}

void
print_stats(json_t *answer, json_t *req)
{
	(void)req;
	print_keys(answer, "");
}

void
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

void
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

/* send prints nothing, but --dry-run prints who would receive it. */
void
print_send(json_t *answer, json_t *req)
{
	if (json_object_get(answer, "clients") != NULL)
		print_clients(answer, req);
}

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

/*
 * An event: a verb, its arguments and the seq livd gave it. It is encoded
 * to JSON once, when made, and shared by reference count among every
 * queue it lands in.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "budget.h"
#include "msg.h"
#include "util.h"

void
msg_input_init(struct msg_input *in, const char *verb)
{
	memset(in, 0, sizeof *in);
	in->verb = verb;
}

/* Add an argument; name is NULL for a positional one. */
void
msg_input_add(struct msg_input *in, const char *name, const char *value)
{
	if (in->count == countof(in->values)) {
		in->too_many = true;
		return;
	}
	if (name == NULL)
		in->positional = true;
	in->names[in->count] = name;
	in->values[in->count++] = value;
}

static void
quoted(char *dst, size_t size, const char *s)
{
	quote_for_error(dst, size, s);
}

/*
 * Check an event's arguments against its verb; on success fill out[] with
 * the values in the verb's order and return the verb.
 */
const struct verb *
msg_check(const struct verbs *vs, struct msg_input *in, const char **out,
    char *err, size_t errlen)
{
	const struct verb *v;
	char q[80];

	if (in->verb == NULL || *in->verb == '\0') {
		snprintf(err, errlen, "missing verb");
		return NULL;
	}
	if ((v = verbs_find(vs, in->verb)) == NULL) {
		quoted(q, sizeof q, in->verb);
		snprintf(err, errlen, "unknown verb '%s'", q);
		return NULL;
	}
	if (in->positional) {
		if (in->count < v->nargs) {
			snprintf(err, errlen, "verb '%s' needs argument '%s'",
			    v->name, v->args[in->count]);
			return NULL;
		}
		if (in->count > v->nargs || in->too_many) {
			if (v->nargs == 0)
				snprintf(err, errlen,
				    "verb '%s' takes no arguments", v->name);
			else
				snprintf(err, errlen, "verb '%s' takes only "
				    "%zu argument%s", v->name, v->nargs,
				    v->nargs == 1 ? "" : "s");
			return NULL;
		}
		for (size_t i = 0; i < v->nargs; i++)
			out[i] = in->values[i];
		return v;
	}
	for (size_t i = 0; i < v->nargs; i++)
		out[i] = NULL;
	for (size_t i = 0; i < in->count; i++) {
		int a = verb_arg(v, in->names[i]);

		if (a < 0) {
			quoted(q, sizeof q, in->names[i]);
			snprintf(err, errlen, "verb '%s' takes no argument '%s'",
			    v->name, q);
			return NULL;
		}
		if (out[a] != NULL) {
			snprintf(err, errlen, "argument '%s' given twice",
			    v->args[a]);
			return NULL;
		}
		out[a] = in->values[i];
	}
	if (in->too_many) {
		snprintf(err, errlen, "verb '%s' takes only %zu arguments",
		    v->name, v->nargs);
		return NULL;
	}
	for (size_t i = 0; i < v->nargs; i++)
		if (out[i] == NULL) {
			snprintf(err, errlen, "verb '%s' needs argument '%s'",
			    v->name, v->args[i]);
			return NULL;
		}
	return v;
}

/*
 * Split a text line "VERB ARG... LAST" in place: words are separated by
 * spaces or tabs, and the verb's last argument is the rest of the line.
 */
int
msg_split_line(char *line, struct msg_input *in, const struct verbs *vs,
    char *err, size_t errlen)
{
	const struct verb *v;
	char *p = line, *word;
	char q[80];

	while (*p == ' ' || *p == '\t')
		p++;
	word = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	msg_input_init(in, word);
	if (*word == '\0') {
		snprintf(err, errlen, "missing verb");
		return -1;
	}
	if ((v = verbs_find(vs, word)) == NULL) {
		quoted(q, sizeof q, word);
		snprintf(err, errlen, "unknown verb '%s'", q);
		return -1;
	}
	in->positional = true;
	for (size_t i = 0; i < v->nargs; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (i + 1 == v->nargs) {
			msg_input_add(in, NULL, p);
			p += strlen(p);
			break;
		}
		word = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
		msg_input_add(in, NULL, word);
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0')
		msg_input_add(in, NULL, p);	/* extra: reported by msg_check */
	return 0;
}

/*
 * Make an event from a verb name and its named values, encoding it once.
 * All of it lives in one allocation: the JSON, where each value is found
 * by its span, the verb and argument names, and the coalescing id.
 */
struct msg *
msg_new(const char *verb, size_t nargs, const char **names,
    const char **values, const char *coalesce_id, uint64_t seq)
{
	struct buf json;
	struct msg *m;
	size_t size, *spans, verblen = strlen(verb), idlen = 0;
	char *p;

	spans = xmalloc((2 * nargs + 1) * sizeof *spans);
	buf_init(&json);
	buf_printf(&json, "{\"seq\":%" PRIu64 ",\"verb\":", seq);
	buf_json_string(&json, verb, verblen);
	size = sizeof *m + nargs * (sizeof(char *) + 2 * sizeof(size_t)) +
	    verblen + 1;
	for (size_t i = 0; i < nargs; i++) {
		size += strlen(names[i]) + 1;
		buf_addc(&json, ',');
		buf_json_string(&json, names[i], strlen(names[i]));
		buf_addc(&json, ':');
		spans[2 * i] = json.len + 1;
		buf_json_string(&json, values[i], strlen(values[i]));
		spans[2 * i + 1] = json.len - 1 - spans[2 * i];
	}
	buf_addc(&json, '}');
	if (coalesce_id != NULL)
		idlen = strlen(coalesce_id) + 1;
	size += json.len + 1 + idlen;

	m = xmalloc(size);
	m->refs = 1;
	m->seq = seq;
	m->nargs = nargs;
	m->size = size;
	m->names = (const char **)(void *)(m + 1);
	m->spans = (const size_t *)(void *)(m->names + nargs);
	memcpy((void *)(uintptr_t)m->spans, spans, 2 * nargs * sizeof *spans);
	p = (char *)(m->spans + 2 * nargs);
	memcpy(p, json.data, json.len + 1);
	m->json = p;
	m->jsonlen = json.len;
	p += json.len + 1;
	memcpy(p, verb, verblen + 1);
	m->verb = p;
	p += verblen + 1;
	m->coalesce_id = NULL;
	if (coalesce_id != NULL) {
		memcpy(p, coalesce_id, idlen);
		m->coalesce_id = p;
		p += idlen;
	}
	memset(m->frames, 0, sizeof m->frames);
	for (size_t i = 0; i < nargs; i++) {
		size_t len = strlen(names[i]) + 1;

		memcpy(p, names[i], len);
		m->names[i] = p;
		p += len;
	}
	buf_free(&json);
	free(spans);
	budget_add(m->size);
	return m;
}

/* The same event with another seq (cluster.c, sending locally). */
struct msg *
msg_reseq(const struct msg *m, uint64_t seq)
{
	const char *values[VERBS_MAX_ARGS];
	struct buf text[VERBS_MAX_ARGS];
	struct msg *r;

	for (size_t i = 0; i < m->nargs; i++) {
		buf_init(&text[i]);
		msg_value(m, i, &text[i]);
		values[i] = text[i].data;
	}
	r = msg_new(m->verb, m->nargs, m->names, values, m->coalesce_id, seq);
	for (size_t i = 0; i < m->nargs; i++)
		buf_free(&text[i]);
	return r;
}

/* Append the text of m's i-th value to b. */
void
msg_value(const struct msg *m, size_t i, struct buf *b)
{
	buf_json_unescape(b, m->json + m->spans[2 * i], m->spans[2 * i + 1]);
}

/* The text of m's argument called name (to free), or NULL. */
char *
msg_arg(const struct msg *m, const char *name)
{
	struct buf b;

	for (size_t i = 0; i < m->nargs; i++)
		if (strcmp(m->names[i], name) == 0) {
			buf_init(&b);
			msg_value(m, i, &b);
			return buf_steal(&b);
		}
	return NULL;
}

/* Keep frame f of m (frame.c), counted with m. */
void
msg_frame_kept(struct msg *m, size_t f, struct blob *frame)
{
	m->frames[f] = frame;
	budget_add(sizeof *frame + frame->len + 1);
}

/* Make an event of verb v from values in the verb's argument order. */
struct msg *
msg_make(const struct verb *v, const char **values, uint64_t seq)
{
	const char *id = NULL;

	if (v->coalesce && v->id_arg >= 0)
		id = values[v->id_arg];
	return msg_new(v->name, v->nargs, (const char **)v->args, values, id,
	    seq);
}

struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m == NULL || --m->refs > 0)
		return;
	for (size_t i = 0; i < MSG_FRAMES; i++)
		if (m->frames[i] != NULL) {
			budget_sub(sizeof *m->frames[i] + m->frames[i]->len + 1);
			blob_unref(m->frames[i]);
		}
	budget_sub(m->size);
	free(m);
}

/*
 * The seed's text form: the verb and every argument but the last on one
 * line, then the last argument.
 */
void
msg_text(const struct msg *m, struct buf *b)
{
	buf_adds(b, m->verb);
	for (size_t i = 0; i + 1 < m->nargs; i++) {
		buf_addc(b, ' ');
		msg_value(m, i, b);
	}
	if (m->nargs > 0) {
		buf_addc(b, '\n');
		msg_value(m, m->nargs - 1, b);
	}
}

/* An event as saved (its JSON) made again, coalescing as its verb says. */
struct msg *
msg_from_json(json_t *e, const struct verbs *vs)
{
	const char *names[VERBS_MAX_ARGS], *values[VERBS_MAX_ARGS];
	const char *verb = json_string_value(json_object_get(e, "verb"));
	const char *key, *coalesce = NULL;
	const struct verb *v;
	json_int_t seq = json_integer_value(json_object_get(e, "seq"));
	size_t n = 0;
	json_t *value;

	if (verb == NULL || seq <= 0)
		return NULL;
	json_object_foreach(e, key, value) {
		if (strcmp(key, "seq") == 0 || strcmp(key, "verb") == 0)
			continue;
		if (n == VERBS_MAX_ARGS || !json_is_string(value))
			return NULL;
		names[n] = key;
		values[n++] = json_string_value(value);
	}
	v = verbs_find(vs, verb);
	if (v != NULL && v->coalesce && v->id_arg >= 0 &&
	    (size_t)v->id_arg < n)
		coalesce = values[v->id_arg];
	return msg_new(verb, n, names, values, coalesce, (uint64_t)seq);
}

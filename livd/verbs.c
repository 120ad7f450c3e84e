/* The verb table, loaded from the verbs file (YAML). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "verbs.h"

/* Keys of a send request; an argument may not take one of these names. */
static const char *reserved_names[] = {
	"seq", "verb", "cmd", "args", "line", "location", "client",
	"principal", "dry_run", "local", "since"
};

static const char *dom_names[] = {
	[DOM_NONE] = NULL, [DOM_BEFOREEND] = "beforeend",
	[DOM_AFTERBEGIN] = "afterbegin", [DOM_BEFOREBEGIN] = "beforebegin",
	[DOM_AFTEREND] = "afterend", [DOM_INNER] = "inner",
	[DOM_OUTER] = "outer", [DOM_TEXT] = "text", [DOM_REMOVE] = "remove",
	[DOM_ATTR] = "attr", [DOM_RELOAD] = "reload"
};

static const char *scope_names[] = {
	[SCOPE_LOCATION] = "location", [SCOPE_SELF] = "self",
	[SCOPE_PRINCIPAL] = "principal", [SCOPE_ALL] = "all"
};

static const char *dedupe_names[] = {
	[DEDUPE_NONE] = "none", [DEDUPE_ID] = "id", [DEDUPE_CONTENT] = "content"
};

struct verb_key {
	const char	*name;
	int		(*parse)(struct yamlfile *, struct verb *, yaml_node_t *,
			    struct yamlerr *);
};

static int	parse_args(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);
static int	parse_dom(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);
static int	parse_scope(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);
static int	parse_dedupe(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);
static int	parse_from_client(struct yamlfile *, struct verb *,
		    yaml_node_t *, struct yamlerr *);
static int	parse_raw(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);
static int	parse_coalesce(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);
static int	parse_summary(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);
static int	parse_turbo(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);
static int	parse_forward(struct yamlfile *, struct verb *, yaml_node_t *,
		    struct yamlerr *);

/* Every key a verb may have; anything else is an error. */
static const struct verb_key verb_keys[] = {
	{ "args", parse_args },
	{ "coalesce", parse_coalesce },
	{ "dedupe", parse_dedupe },
	{ "dom", parse_dom },
	{ "forward", parse_forward },
	{ "from_client", parse_from_client },
	{ "raw", parse_raw },
	{ "scope", parse_scope },
	{ "summary", parse_summary },
	{ "turbo", parse_turbo },
};

const char *
verbs_dom_name(enum verb_dom dom)
{
	return dom_names[dom];
}

/* Is name one of the keys a send request uses for itself? */
bool
verbs_reserved(const char *name)
{
	for (size_t i = 0; i < countof(reserved_names); i++)
		if (strcmp(name, reserved_names[i]) == 0)
			return true;
	return false;
}

/* Names of verbs and arguments: a lower-case letter, then [a-z0-9_-]. */
static bool
name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VERBS_MAX_NAME || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", s[i]) ==
		    NULL)
			return false;
	return true;
}

/* Match a scalar against a table of names; the index, or -1. */
static int
pick(struct yamlfile *yf, yaml_node_t *node, const char **names, size_t n,
    const char *what, struct yamlerr *err)
{
	const char *s = yamlfile_scalar(node);
	struct buf choices;

	if (s != NULL)
		for (size_t i = 0; i < n; i++)
			if (names[i] != NULL && strcmp(s, names[i]) == 0)
				return (int)i;
	buf_init(&choices);
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		buf_printf(&choices, "%s%s", choices.len ? ", " : "", names[i]);
	}
	if (s == NULL)
		yamlfile_error(yf, node, err, "%s must be one of: %s", what,
		    choices.data);
	else
		yamlfile_error(yf, node, err, "unknown %s '%s' (one of: %s)",
		    what, s, choices.data);
	buf_free(&choices);
	return -1;
}

static int
parse_args(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	yaml_node_item_t *item;

	if (node->type != YAML_SEQUENCE_NODE)
		return yamlfile_error(yf, node, err,
		    "args must be a list of names");
	for (item = node->data.sequence.items.start;
	    item < node->data.sequence.items.top; item++) {
		yaml_node_t *arg = yamlfile_node(yf, *item);
		const char *name = yamlfile_scalar(arg);

		if (name == NULL || !name_valid(name))
			return yamlfile_error(yf, arg, err,
			    "invalid argument name '%s'", name ? name : "");
		if (verbs_reserved(name))
			return yamlfile_error(yf, arg, err,
			    "argument name '%s' is reserved", name);
		if (verb_arg(v, name) >= 0)
			return yamlfile_error(yf, arg, err,
			    "duplicate argument '%s'", name);
		if (v->nargs == VERBS_MAX_ARGS)
			return yamlfile_error(yf, arg, err,
			    "more than %d arguments", VERBS_MAX_ARGS);
		v->args[v->nargs++] = xstrdup(name);
	}
	return 0;
}

static int
parse_dom(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	int i = pick(yf, node, dom_names, countof(dom_names), "dom", err);

	if (i < 0)
		return -1;
	v->dom = (enum verb_dom)i;
	return 0;
}

static int
parse_scope(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	int i = pick(yf, node, scope_names, countof(scope_names), "scope", err);

	if (i < 0)
		return -1;
	v->scope = (enum verb_scope)i;
	return 0;
}

static int
parse_dedupe(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	int i = pick(yf, node, dedupe_names, countof(dedupe_names), "dedupe",
	    err);

	if (i < 0)
		return -1;
	v->dedupe = (enum verb_dedupe)i;
	return 0;
}

static int
parse_from_client(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	return yamlfile_bool(yf, node, &v->from_client, err);
}

static int
parse_raw(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	return yamlfile_bool(yf, node, &v->raw, err);
}

static int
parse_coalesce(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	return yamlfile_bool(yf, node, &v->coalesce, err);
}

/* A browser's event the application hears (parse_verb: from_client). */
static int
parse_forward(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	return yamlfile_bool(yf, node, &v->forward, err);
}

static int
parse_summary(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	const char *s = yamlfile_scalar(node);

	if (s == NULL)
		return yamlfile_error(yf, node, err, "summary must be text");
	free(v->summary);
	v->summary = xstrdup(s);
	return 0;
}

/*
 * The Turbo Stream action (GET /stream?format=turbo): Turbo's own (append,
 * prepend, before, after, update, replace, remove, refresh) or one a page
 * adds to Turbo.StreamActions, so any name is taken.
 */
static int
parse_turbo(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	const char *s = yamlfile_scalar(node);

	if (s == NULL || !name_valid(s))
		return yamlfile_error(yf, node, err,
		    "invalid turbo action '%s'", s ? s : "");
	free(v->turbo);
	v->turbo = xstrdup(s);
	return 0;
}

/* Every Turbo action but refresh names its target: the id argument. */
static int
check_turbo(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	if (v->turbo == NULL || v->id_arg >= 0 ||
	    strcmp(v->turbo, "refresh") == 0)
		return 0;
	return yamlfile_error(yf, node, err,
	    "turbo '%s' needs argument 'id'", v->turbo);
}

/* The arguments a dom rule applies, which the verb must therefore have. */
static int
check_dom(struct yamlfile *yf, struct verb *v, yaml_node_t *node,
    struct yamlerr *err)
{
	static const char *attr_args[] = { "id", "name", "value" };

	switch (v->dom) {
	case DOM_NONE:
	case DOM_RELOAD:
		return 0;
	case DOM_ATTR:
		for (size_t i = 0; i < countof(attr_args); i++)
			if (verb_arg(v, attr_args[i]) < 0)
				return yamlfile_error(yf, node, err,
				    "dom 'attr' needs argument '%s'",
				    attr_args[i]);
		return 0;
	case DOM_REMOVE:
		break;
	default:
		if (v->nargs < 2)
			return yamlfile_error(yf, node, err,
			    "dom '%s' needs argument 'id' and a content "
			    "argument", dom_names[v->dom]);
	}
	if (v->id_arg < 0)
		return yamlfile_error(yf, node, err,
		    "dom '%s' needs argument 'id'", dom_names[v->dom]);
	return 0;
}

static int
parse_verb(struct yamlfile *yf, struct verb *v, yaml_node_t *key,
    yaml_node_t *body, struct yamlerr *err)
{
	yaml_node_pair_t *pair;
	yaml_node_t *dom_node = key, *turbo_node = key;
	const char *name = yamlfile_scalar(key);

	if (name == NULL || !name_valid(name))
		return yamlfile_error(yf, key, err, "invalid verb name '%s'",
		    name ? name : "");
	v->name = xstrdup(name);
	v->line = yamlfile_line(key);
	v->id_arg = -1;
	if (body->type == YAML_SCALAR_NODE && body->data.scalar.length == 0)
		return 0;	/* "verb:" alone: no arguments, no dom */
	if (body->type != YAML_MAPPING_NODE)
		return yamlfile_error(yf, body, err,
		    "verb '%s' must be a mapping of keys", name);
	for (pair = body->data.mapping.pairs.start;
	    pair < body->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yamlfile_node(yf, pair->key);
		yaml_node_t *val = yamlfile_node(yf, pair->value);
		const char *kname = yamlfile_scalar(k);
		const struct verb_key *vk = NULL;

		for (size_t i = 0; kname != NULL && i < countof(verb_keys); i++)
			if (strcmp(kname, verb_keys[i].name) == 0)
				vk = &verb_keys[i];
		if (vk == NULL)
			return yamlfile_error(yf, k, err, "unknown key '%s'",
			    kname ? kname : "");
		for (yaml_node_pair_t *p = body->data.mapping.pairs.start;
		    p < pair; p++)
			if (strcmp(yamlfile_scalar(yamlfile_node(yf, p->key)),
			    kname) == 0)
				return yamlfile_error(yf, k, err,
				    "duplicate key '%s'", kname);
		if (vk->parse(yf, v, val, err) != 0)
			return -1;
		if (vk->parse == parse_dom)
			dom_node = val;
		if (vk->parse == parse_turbo)
			turbo_node = val;
	}
	v->id_arg = verb_arg(v, "id");
	if (check_turbo(yf, v, turbo_node, err) != 0)
		return -1;
	v->from_client |= v->forward;
	return check_dom(yf, v, dom_node, err);
}

static void
verb_clear(struct verb *v)
{
	free(v->name);
	for (size_t i = 0; i < v->nargs; i++)
		free(v->args[i]);
	free(v->turbo);
	free(v->summary);
}

/* Before the table is sorted: has a verb of this name been read? */
static bool
verbs_find_linear(const struct verbs *vs, const char *name)
{
	for (size_t i = 0; i < vs->count; i++)
		if (vs->list[i].name != NULL && strcmp(vs->list[i].name,
		    name) == 0)
			return true;
	return false;
}

static int
verb_compare(const void *a, const void *b)
{
	return strcmp(((const struct verb *)a)->name,
	    ((const struct verb *)b)->name);
}

/* Encode the table once, for GET /verbs.json. */
static void
encode_json(struct verbs *vs)
{
	struct buf b;

	buf_init(&b);
	buf_addc(&b, '{');
	for (size_t i = 0; i < vs->count; i++) {
		const struct verb *v = &vs->list[i];

		if (i)
			buf_addc(&b, ',');
		buf_json_string(&b, v->name, strlen(v->name));
		buf_adds(&b, ":{\"args\":[");
		for (size_t a = 0; a < v->nargs; a++) {
			if (a)
				buf_addc(&b, ',');
			buf_json_string(&b, v->args[a], strlen(v->args[a]));
		}
		buf_addc(&b, ']');
		if (v->dom != DOM_NONE)
			buf_printf(&b, ",\"dom\":\"%s\"", dom_names[v->dom]);
		buf_printf(&b, ",\"from_client\":%s,\"scope\":\"%s\","
		    "\"raw\":%s,\"dedupe\":\"%s\",\"coalesce\":%s",
		    v->from_client ? "true" : "false", scope_names[v->scope],
		    v->raw ? "true" : "false", dedupe_names[v->dedupe],
		    v->coalesce ? "true" : "false");
		if (v->turbo != NULL)
			buf_printf(&b, ",\"turbo\":\"%s\"", v->turbo);
		if (v->forward)
			buf_adds(&b, ",\"forward\":true");
		if (v->summary != NULL) {
			buf_adds(&b, ",\"summary\":");
			buf_json_string(&b, v->summary, strlen(v->summary));
		}
		buf_addc(&b, '}');
	}
	buf_addc(&b, '}');
	vs->jsonlen = b.len;
	vs->json = buf_steal(&b);
}

/* Build a table from YAML text; path names the text in messages. */
struct verbs *
verbs_parse(const char *path, const char *text, size_t len,
    struct yamlerr *err)
{
	struct yamlfile yf;
	struct verbs *vs;
	yaml_node_t *root;
	yaml_node_pair_t *pair;
	size_t n;

	if (yamlfile_load(&yf, path, text, len, err) != 0)
		return NULL;
	vs = xcalloc(1, sizeof *vs);
	vs->path = xstrdup(path);
	root = yamlfile_root(&yf);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		yamlfile_error(&yf, root, err,
		    "the verbs file must be a mapping of verb names");
		goto fail;
	}
	n = (size_t)(root->data.mapping.pairs.top -
	    root->data.mapping.pairs.start);
	vs->list = xcalloc(n, sizeof *vs->list);
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = yamlfile_node(&yf, pair->key);
		const char *name = yamlfile_scalar(key);

		if (name != NULL && verbs_find_linear(vs, name)) {
			yamlfile_error(&yf, key, err, "duplicate verb '%s'",
			    name);
			goto fail;
		}
		if (parse_verb(&yf, &vs->list[vs->count++], key,
		    yamlfile_node(&yf, pair->value), err) != 0)
			goto fail;
	}
	qsort(vs->list, vs->count, sizeof *vs->list, verb_compare);
	encode_json(vs);
	yamlfile_free(&yf);
	return vs;
fail:
	yamlfile_free(&yf);
	verbs_free(vs);
	return NULL;
}

/* Read the verbs file at path. */
struct verbs *
verbs_load(const char *path, struct yamlerr *err)
{
	struct verbs *vs;
	struct buf b;

	if (yamlfile_slurp(path, &b, err) != 0)
		return NULL;
	vs = verbs_parse(path, b.data, b.len, err);
	buf_free(&b);
	return vs;
}

void
verbs_free(struct verbs *vs)
{
	if (vs == NULL)
		return;
	for (size_t i = 0; i < vs->count; i++)
		verb_clear(&vs->list[i]);
	free(vs->list);
	free(vs->json);
	free(vs->path);
	free(vs);
}

static int
verb_name_compare(const void *key, const void *elem)
{
	return strcmp(key, ((const struct verb *)elem)->name);
}

const struct verb *
verbs_find(const struct verbs *vs, const char *name)
{
	return bsearch(name, vs->list, vs->count, sizeof *vs->list,
	    verb_name_compare);
}

/* The index of the argument called name, or -1. */
int
verb_arg(const struct verb *v, const char *name)
{
	for (size_t i = 0; i < v->nargs; i++)
		if (strcmp(v->args[i], name) == 0)
			return (int)i;
	return -1;
}

/* The config's max_args: no verb may take more arguments. */
int
verbs_check_args(const struct verbs *vs, size_t max, struct yamlerr *err)
{
	for (size_t i = 0; i < vs->count; i++)
		if (vs->list[i].nargs > max) {
			snprintf(err->text, err->size, "%s:%d: verb '%s' takes "
			    "%zu arguments, more than max_args (%zu)", vs->path,
			    vs->list[i].line, vs->list[i].name,
			    vs->list[i].nargs, max);
			return -1;
		}
	return 0;
}

/* A verb with forward: true needs hooks.input to go to. */
int
verbs_check_forward(const struct verbs *vs, bool input_hook,
    struct yamlerr *err)
{
	for (size_t i = 0; i < vs->count && !input_hook; i++)
		if (vs->list[i].forward) {
			snprintf(err->text, err->size, "%s:%d: verb '%s' has "
			    "forward: true, but hooks.input is not set",
			    vs->path, vs->list[i].line, vs->list[i].name);
			return -1;
		}
	return 0;
}

/* livd.yaml: the configuration, one table of keys. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "hub.h"
#include "util.h"

enum config_type {
	CONFIG_STRING, CONFIG_LIST, CONFIG_SECONDS, CONFIG_SIZE, CONFIG_COUNT,
	CONFIG_BOOL
};

/* One row per key: its type, where it lives, its bounds and default. */
struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 offset;
	double			 min;
	double			 max;
	const char		*initial;
};

#define MIB(n)	((n) * 1024.0 * 1024.0)
#define KEY(name, type, min, max, initial) \
	{ #name, type, offsetof(struct config, name), min, max, initial }

static const struct config_key config_keys[] = {
	KEY(allowed_origins,	CONFIG_LIST,	0, 0,		NULL),
	KEY(auth,		CONFIG_STRING,	0, 0,		"open"),
	KEY(history_limit,	CONFIG_COUNT,	0, 1e6,		"100"),
	KEY(input_burst,	CONFIG_COUNT,	1, 1e6,		"20"),
	KEY(input_rate,		CONFIG_SECONDS,	0, 1e6,		"10"),
	KEY(insecure_open,	CONFIG_BOOL,	0, 0,		"false"),
	KEY(keepalive_timeout,	CONFIG_SECONDS,	0.1, 3600,	"75"),
	KEY(listen,		CONFIG_STRING,	0, 0,		"127.0.0.1:8088"),
	KEY(log_level,		CONFIG_STRING,	0, 0,		"info"),
	KEY(max_args,		CONFIG_COUNT,	1, 16,		"16"),
	KEY(max_body,		CONFIG_SIZE,	256, MIB(64),	"64K"),
	KEY(max_clients,	CONFIG_COUNT,	1, 1e8,		"1000000"),
	KEY(max_connections,	CONFIG_COUNT,	1, 1e8,		"1000000"),
	KEY(max_event,		CONFIG_SIZE,	256, MIB(64),	"256K"),
	KEY(max_header,		CONFIG_SIZE,	1024, MIB(1),	"8K"),
	KEY(max_line,		CONFIG_SIZE,	1024, MIB(1024), "1M"),
	KEY(max_output,		CONFIG_SIZE,	4096, MIB(1024), "1M"),
	KEY(max_polls,		CONFIG_COUNT,	1, 1e8,		"1000000"),
	KEY(presence_timeout,	CONFIG_SECONDS,	0, 86400,	"0"),
	KEY(node_id,		CONFIG_STRING,	0, 0,		NULL),
	KEY(queue_limit,	CONFIG_COUNT,	1, 1e7,		"1000"),
	KEY(redis,		CONFIG_STRING,	0, 0,		NULL),
	KEY(refresh,		CONFIG_SECONDS,	0, HUB_REFRESH_MAX, "25"),
	KEY(secret_file,	CONFIG_STRING,	0, 0,		NULL),
	KEY(share,		CONFIG_STRING,	0, 0,		NULL),
	KEY(socket,		CONFIG_STRING,	0, 0,		NULL),
	KEY(socket_group,	CONFIG_STRING,	0, 0,		NULL),
	KEY(socket_mode,	CONFIG_STRING,	0, 0,		"0600"),
	KEY(state_file,		CONFIG_STRING,	0, 0,		NULL),
	KEY(verbs,		CONFIG_STRING,	0, 0,		NULL),
};

static const char *auth_modes[] = { "open", "token" };
static const char *log_levels[] = { "error", "warning", "info", "debug" };

static const struct config_key *
config_find(const char *name)
{
	for (size_t i = 0; i < countof(config_keys); i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* A size: digits with an optional K, M or G (powers of 1024). */
static int
parse_size(const char *s, double *out)
{
	char *end;
	unsigned long long v;
	double mult = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = 1024; end++; break;
	case 'm': case 'M': mult = 1024 * 1024; end++; break;
	case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0')
		return -1;
	*out = (double)v * mult;
	return 0;
}

/* A bound as a person would write it: 64M, 8K, 3600. */
static void
format_bound(char *out, size_t size, enum config_type type, double v)
{
	if (type == CONFIG_SIZE && v >= 1024 * 1024 * 1024 &&
	    fmod(v, 1024 * 1024 * 1024) == 0)
		snprintf(out, size, "%.0fG", v / (1024 * 1024 * 1024));
	else if (type == CONFIG_SIZE && v >= 1024 * 1024 &&
	    fmod(v, 1024 * 1024) == 0)
		snprintf(out, size, "%.0fM", v / (1024 * 1024));
	else if (type == CONFIG_SIZE && v >= 1024 && fmod(v, 1024) == 0)
		snprintf(out, size, "%.0fK", v / 1024);
	else
		snprintf(out, size, "%.15g", v);
}

/* redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], the host not empty. */
static bool
redis_url_valid(const char *v)
{
	const char *at;

	if (strncmp(v, "redis://", 8) != 0)
		return false;
	v += 8;
	if ((at = strrchr(v, '@')) != NULL)
		v = at + 1;
	return *v != '\0' && *v != ':' && *v != '/';
}

static bool
one_of(const char *s, const char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

/* Set one key from its text form; a message in err on failure. */
int
config_set(struct config *cfg, const char *name, const char *value,
    char *err, size_t errlen)
{
	const struct config_key *k = config_find(name);
	void *field;
	double v = 0;

	if (k == NULL) {
		snprintf(err, errlen, "unknown key '%s'", name);
		return -1;
	}
	field = (char *)cfg + k->offset;
	switch (k->type) {
	case CONFIG_STRING:
		if (strcmp(name, "auth") == 0 &&
		    !one_of(value, auth_modes, countof(auth_modes))) {
			snprintf(err, errlen,
			    "auth must be open or token, not '%s'", value);
			return -1;
		}
		if (strcmp(name, "log_level") == 0 &&
		    !one_of(value, log_levels, countof(log_levels))) {
			snprintf(err, errlen, "log_level must be error, "
			    "warning, info or debug, not '%s'", value);
			return -1;
		}
		if (strcmp(name, "socket_mode") == 0 && (strlen(value) < 3 ||
		    strlen(value) > 4 || strspn(value, "01234567") !=
		    strlen(value) || strtol(value, NULL, 8) & ~0777)) {
			snprintf(err, errlen, "socket_mode must be an octal mode "
			    "such as 0660, not '%s'", value);
			return -1;
		}
		if (strcmp(name, "redis") == 0 && !redis_url_valid(value)) {
			snprintf(err, errlen, "redis must be redis://"
			    "[[USER]:PASSWORD@]HOST[:PORT][/DB]");
			return -1;
		}
		if (*value == '\0') {
			snprintf(err, errlen, "%s must not be empty", name);
			return -1;
		}
		/* FALLTHROUGH */
	case CONFIG_LIST:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONFIG_BOOL:
		/* YAML 1.1's spellings, as in the verbs file. */
		if (strcasecmp(value, "true") == 0 ||
		    strcasecmp(value, "yes") == 0 || strcasecmp(value, "on") == 0)
			*(bool *)field = true;
		else if (strcasecmp(value, "false") == 0 ||
		    strcasecmp(value, "no") == 0 || strcasecmp(value, "off") == 0)
			*(bool *)field = false;
		else {
			snprintf(err, errlen, "%s must be true or false, not "
			    "'%s'", name, value);
			return -1;
		}
		return 0;
	case CONFIG_SECONDS:
		if (parse_seconds(value, &v) != 0) {
			snprintf(err, errlen, "%s: invalid number '%s'", name,
			    value);
			return -1;
		}
		break;
	case CONFIG_SIZE:
	case CONFIG_COUNT:
		if (parse_size(value, &v) != 0 ||
		    (k->type == CONFIG_COUNT && strpbrk(value, "kKmMgGbB"))) {
			snprintf(err, errlen, "%s: invalid %s '%s'", name,
			    k->type == CONFIG_SIZE ? "size" : "number", value);
			return -1;
		}
		break;
	}
	if (v < k->min || v > k->max || (strcmp(name, "refresh") == 0 &&
	    v <= 0)) {
		char lo[32], hi[32];

		format_bound(lo, sizeof lo, k->type, k->min);
		format_bound(hi, sizeof hi, k->type, k->max);
		if (strcmp(name, "refresh") == 0)
			snprintf(err, errlen, "refresh must be more than 0 and "
			    "at most %s", hi);
		else
			snprintf(err, errlen, "%s must be %s to %s", name, lo,
			    hi);
		return -1;
	}
	if (k->type == CONFIG_SECONDS)
		*(double *)field = v;
	else
		*(uint64_t *)field = (uint64_t)v;
	return 0;
}

void
config_defaults(struct config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < countof(config_keys); i++)
		if (config_keys[i].initial != NULL &&
		    config_set(cfg, config_keys[i].name,
		    config_keys[i].initial, err, sizeof err) != 0)
			abort();
}

/* Settings that depend on each other. */
int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (strcmp(cfg->auth, "token") == 0 && cfg->secret_file == NULL) {
		snprintf(err, errlen, "auth: token needs a secret_file");
		return -1;
	}
	if (cfg->history_limit > cfg->queue_limit) {
		snprintf(err, errlen, "history_limit (%" PRIu64 ") may not "
		    "exceed queue_limit (%" PRIu64 ")", cfg->history_limit,
		    cfg->queue_limit);
		return -1;
	}
	return 0;
}

/* A YAML list of words, joined by spaces. */
static int
list_value(struct yamlfile *yf, yaml_node_t *seq, struct buf *out,
    struct yamlerr *err)
{
	yaml_node_item_t *item;

	out->len = 0;
	for (item = seq->data.sequence.items.start;
	    item < seq->data.sequence.items.top; item++) {
		yaml_node_t *n = yamlfile_node(yf, *item);
		const char *s = yamlfile_scalar(n);

		if (s == NULL || *s == '\0' || strpbrk(s, " \t") != NULL)
			return yamlfile_error(yf, n, err,
			    "expected a word without spaces");
		if (out->len)
			buf_addc(out, ' ');
		buf_adds(out, s);
	}
	return 0;
}

/* Apply YAML text (a mapping of keys) over cfg. */
int
config_parse(struct config *cfg, const char *path, const char *text,
    size_t len, struct yamlerr *err)
{
	struct yamlfile yf;
	yaml_node_t *root;
	yaml_node_pair_t *pair;
	struct buf joined;
	char msg[512];
	int rc = -1;

	buf_init(&joined);
	if (yamlfile_load(&yf, path, text, len, err) != 0)
		return -1;
	root = yamlfile_root(&yf);
	if (root == NULL ||
	    (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
		rc = 0;		/* an empty file: all defaults */
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		yamlfile_error(&yf, root, err,
		    "the config file must be a mapping of keys");
		goto out;
	}
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yamlfile_node(&yf, pair->key);
		yaml_node_t *v = yamlfile_node(&yf, pair->value);
		const char *name = yamlfile_scalar(k);
		const char *value = yamlfile_scalar(v);

		if (name == NULL || config_find(name) == NULL) {
			yamlfile_error(&yf, k, err, "unknown key '%s'",
			    name ? name : "");
			goto out;
		}
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		    p < pair; p++)
			if (strcmp(yamlfile_scalar(yamlfile_node(&yf, p->key)),
			    name) == 0) {
				yamlfile_error(&yf, k, err,
				    "duplicate key '%s'", name);
				goto out;
			}
		if (value == NULL && config_find(name)->type == CONFIG_LIST &&
		    v->type == YAML_SEQUENCE_NODE) {
			if (list_value(&yf, v, &joined, err) != 0)
				goto out;
			value = joined.data ? joined.data : "";
		}
		if (value == NULL) {
			yamlfile_error(&yf, v, err, "%s must be a single value",
			    name);
			goto out;
		}
		if (config_set(cfg, name, value, msg, sizeof msg) != 0) {
			yamlfile_error(&yf, v, err, "%s", msg);
			goto out;
		}
	}
	if (config_check(cfg, msg, sizeof msg) != 0) {
		yamlfile_error(&yf, root, err, "%s", msg);
		goto out;
	}
	rc = 0;
out:
	buf_free(&joined);
	yamlfile_free(&yf);
	return rc;
}

int
config_read(struct config *cfg, const char *path, struct yamlerr *err)
{
	struct buf b;
	int rc;

	if (yamlfile_slurp(path, &b, err) != 0)
		return -1;
	rc = config_parse(cfg, path, b.data, b.len, err);
	buf_free(&b);
	return rc;
}

/* Deep copy: dst gets its own strings. */
void
config_copy(struct config *dst, const struct config *src)
{
	*dst = *src;
	for (size_t i = 0; i < countof(config_keys); i++) {
		char **p;

		if (config_keys[i].type != CONFIG_STRING &&
		    config_keys[i].type != CONFIG_LIST)
			continue;
		p = (char **)((char *)dst + config_keys[i].offset);
		if (*p != NULL)
			*p = xstrdup(*p);
	}
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < countof(config_keys); i++)
		if (config_keys[i].type == CONFIG_STRING ||
		    config_keys[i].type == CONFIG_LIST)
			free(*(char **)((char *)cfg + config_keys[i].offset));
	memset(cfg, 0, sizeof *cfg);
}

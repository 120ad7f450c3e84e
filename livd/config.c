/* livd.yaml: the configuration, one table of keys. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "httpparse.h"
#include "hub.h"
#include "util.h"

enum config_type {
	CONFIG_STRING, CONFIG_LIST, CONFIG_SECONDS, CONFIG_SIZE, CONFIG_COUNT,
	CONFIG_BOOL
};

struct config_key;

/* A row's own check of a value, past its type: -1 with a message in err. */
typedef int config_check_fn(const struct config_key *, const char *, double,
    char *, size_t);

/* Kept by a reload until livd restarts; CONFIG_QUIET: without a warning. */
#define CONFIG_RESTART	0x1
#define CONFIG_QUIET	0x2

/*
 * One row per key: its type, where it lives, its bounds and default, its
 * own check (which replaces the bounds' message for numbers) and flags.
 */
struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 offset;
	double			 min;
	double			 max;
	const char		*initial;
	config_check_fn		*check;
	int			 flags;
	const char *const	*choices;	/* check_choice's, NULL-ended */
};

static config_check_fn	check_choice, check_socket_mode, check_redis,
			check_refresh, check_nets, check_url, check_headers;

#define MIB(n)	((n) * 1024.0 * 1024.0)
#define KEY(name, type, min, max, initial) \
	KEYX(name, type, min, max, initial, NULL, 0)
#define KEYX(name, type, min, max, initial, check, flags) \
	{ #name, type, offsetof(struct config, name), min, max, initial, \
	    check, flags, NULL }
/* A key of a section (hooks.connect): field section_name. */
#define KEYS(section, name, type, min, max, initial, check) \
	{ #section "." #name, type, offsetof(struct config, section##_##name), \
	    min, max, initial, check, 0, NULL }
#define KEYC(name, initial, choices) \
	{ #name, CONFIG_STRING, offsetof(struct config, name), 0, 0, initial, \
	    check_choice, 0, choices }

static const char *const auth_modes[] = { "open", "token", "hook", NULL };
static const char *const log_levels[] = {
	"error", "warning", "info", "debug", NULL
};

static const struct config_key config_keys[] = {
	KEY(allowed_origins,	CONFIG_LIST,	0, 0,		NULL),
	KEYX(api_listen,	CONFIG_STRING,	0, 0,		NULL,
	    NULL, CONFIG_RESTART),
	KEYC(auth,		"open",		auth_modes),
	KEY(demo,		CONFIG_BOOL,	0, 0,		"true"),
	KEY(connect_burst,	CONFIG_COUNT,	1, 1e6,		"1000"),
	KEY(connect_rate,	CONFIG_SECONDS,	0, 1e6,		"100"),
	KEY(history_bytes,	CONFIG_SIZE,	MIB(0.0625), MIB(65536), "16M"),
	KEY(history_limit,	CONFIG_COUNT,	0, 1e6,		"100"),
	KEY(history_ttl,	CONFIG_SECONDS,	0, 31622400,	"0"),
	KEYS(hooks, connect,	CONFIG_STRING,	0, 0,		NULL, check_url),
	KEYS(hooks, forward_headers, CONFIG_LIST, 0, 0, "Cookie Authorization",
	    check_headers),
	KEYS(hooks, input,	CONFIG_STRING,	0, 0,		NULL, check_url),
	KEYS(hooks, presence,	CONFIG_STRING,	0, 0,		NULL, check_url),
	KEYS(hooks, queue_limit, CONFIG_COUNT,	1, 1e7,		"10000", NULL),
	KEYS(hooks, timeout,	CONFIG_SECONDS,	0.01, 3600,	"5", NULL),
	KEY(input_burst,	CONFIG_COUNT,	1, 1e6,		"20"),
	KEY(input_rate,		CONFIG_SECONDS,	0, 1e6,		"10"),
	KEY(insecure_open,	CONFIG_BOOL,	0, 0,		"false"),
	KEY(keepalive_timeout,	CONFIG_SECONDS,	0.1, 3600,	"75"),
	KEYX(listen,		CONFIG_STRING,	0, 0,		"127.0.0.1:8088",
	    NULL, CONFIG_RESTART),
	KEY(location_limit,	CONFIG_COUNT,	1, 1e8,		"100000"),
	KEYC(log_level,		"info",		log_levels),
	KEY(max_api_body,	CONFIG_SIZE,	256, MIB(1024),	"1M"),
	KEY(max_args,		CONFIG_COUNT,	1, 16,		"16"),
	KEY(max_body,		CONFIG_SIZE,	256, MIB(64),	"64K"),
	KEY(max_clients,	CONFIG_COUNT,	1, 1e8,		"1000000"),
	KEY(max_connections,	CONFIG_COUNT,	1, 1e8,		"1000000"),
	KEY(max_event,		CONFIG_SIZE,	256, MIB(64),	"256K"),
	KEY(max_header,		CONFIG_SIZE,	1024, MIB(1),	"8K"),
	KEY(max_line,		CONFIG_SIZE,	1024, MIB(1024), "1M"),
	KEY(max_locations,	CONFIG_COUNT,	1, 30,		"16"),
	/* NULL: config_defaults works it out from the machine's memory. */
	KEY(max_memory,		CONFIG_SIZE,	MIB(1), MIB(1048576), NULL),
	KEY(max_output,		CONFIG_SIZE,	4096, MIB(1024), "1M"),
	KEY(max_polls,		CONFIG_COUNT,	1, 1e8,		"1000000"),
	KEY(metrics,		CONFIG_BOOL,	0, 0,		"true"),
	KEY(presence_timeout,	CONFIG_SECONDS,	0, 86400,	"0"),
	KEYX(node_id,		CONFIG_STRING,	0, 0,		NULL,
	    NULL, CONFIG_RESTART | CONFIG_QUIET),
	KEY(queue_limit,	CONFIG_COUNT,	1, 1e7,		"1000"),
	KEYX(redis,		CONFIG_STRING,	0, 0,		NULL,
	    check_redis, CONFIG_RESTART),
	KEYX(refresh,		CONFIG_SECONDS,	HUB_REFRESH_MIN, HUB_REFRESH_MAX,
	    "25", check_refresh, 0),
	KEY(secret_file,	CONFIG_STRING,	0, 0,		NULL),
	KEY(share,		CONFIG_STRING,	0, 0,		NULL),
	KEYX(socket,		CONFIG_STRING,	0, 0,		NULL,
	    NULL, CONFIG_RESTART),
	KEY(socket_group,	CONFIG_STRING,	0, 0,		NULL),
	KEYX(socket_mode,	CONFIG_STRING,	0, 0,		"0600",
	    check_socket_mode, 0),
	KEY(state_file,		CONFIG_STRING,	0, 0,		NULL),
	KEYX(trusted_proxies,	CONFIG_LIST,	0, 0,		NULL,
	    check_nets, 0),
	KEY(verbs,		CONFIG_STRING,	0, 0,		NULL),
};

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

/* One of the values listed for the key: "K must be A, B or C, not 'V'". */
static int
check_choice(const struct config_key *k, const char *value, double v,
    char *err, size_t errlen)
{
	const char *const *names = k->choices;
	struct buf list;
	size_t i, n;

	(void)v;
	for (n = 0; names[n] != NULL; n++)
		if (strcmp(value, names[n]) == 0)
			return 0;
	buf_init(&list);
	for (i = 0; i < n; i++)
		buf_printf(&list, "%s%s", i == 0 ? "" : i + 1 == n ? " or " :
		    ", ", names[i]);
	snprintf(err, errlen, "%s must be %s, not '%s'", k->name,
	    list.data ? list.data : "", value);
	buf_free(&list);
	return -1;
}

static int
check_socket_mode(const struct config_key *k, const char *value, double v,
    char *err, size_t errlen)
{
	(void)k; (void)v;
	if (strlen(value) >= 3 && strlen(value) <= 4 &&
	    strspn(value, "01234567") == strlen(value) &&
	    (strtol(value, NULL, 8) & ~0777) == 0)
		return 0;
	snprintf(err, errlen, "socket_mode must be an octal mode such as 0660, "
	    "not '%s'", value);
	return -1;
}

static int
check_redis(const struct config_key *k, const char *value, double v,
    char *err, size_t errlen)
{
	(void)k; (void)v;
	if (redis_url_valid(value))
		return 0;
	snprintf(err, errlen, "redis must be redis://"
	    "[[USER]:PASSWORD@]HOST[:PORT][/DB]");
	return -1;
}

/* Less than its minimum (a millisecond) counts as 0: more than 0. */
static int
check_refresh(const struct config_key *k, const char *value, double v,
    char *err, size_t errlen)
{
	char hi[32];

	(void)value;
	if (v >= k->min && v <= k->max)
		return 0;
	format_bound(hi, sizeof hi, k->type, k->max);
	snprintf(err, errlen, "%s must be more than 0 and at most %s", k->name,
	    hi);
	return -1;
}

/* Words that are each an address or ADDR/BITS. */
static int
check_nets(const struct config_key *k, const char *value, double v,
    char *err, size_t errlen)
{
	struct http_net net;
	size_t len;

	(void)v;
	for (value += strspn(value, " "); *value != '\0';
	    value += strspn(value, " ")) {
		len = strcspn(value, " ");
		if (!http_net_parse(value, len, &net)) {
			snprintf(err, errlen, "%s: '%.*s' is not an address or "
			    "ADDR/BITS", k->name, (int)(len > 64 ? 64 : len),
			    value);
			return -1;
		}
		value += len;
	}
	return 0;
}

/* A hook's URL: http:// or https://, and a host. */
static int
check_url(const struct config_key *k, const char *value, double v,
    char *err, size_t errlen)
{
	const char *host = value;

	(void)v;
	if (strncmp(host, "http://", 7) == 0)
		host += 7;
	else if (strncmp(host, "https://", 8) == 0)
		host += 8;
	if (host != value && *host != '\0' && *host != '/' && *host != ':' &&
	    strpbrk(value, " \t\r\n") == NULL)
		return 0;
	snprintf(err, errlen, "%s must be an http:// or https:// URL, not "
	    "'%.64s'", k->name, value);
	return -1;
}

/* Words that are each a header name (RFC 9110's token). */
static int
check_headers(const struct config_key *k, const char *value, double v,
    char *err, size_t errlen)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t len;

	(void)v;
	for (value += strspn(value, " "); *value != '\0';
	    value += strspn(value, " ")) {
		len = strcspn(value, " ");
		if (strspn(value, tchar) < len || len > 64) {
			snprintf(err, errlen, "%s: '%.*s' is not a header name",
			    k->name, (int)(len > 64 ? 64 : len), value);
			return -1;
		}
		value += len;
	}
	return 0;
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
	case CONFIG_LIST:
		if (k->check != NULL && k->check(k, value, 0, err, errlen) != 0)
			return -1;
		if (k->type == CONFIG_STRING && *value == '\0') {
			snprintf(err, errlen, "%s must not be empty", name);
			return -1;
		}
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
	if (k->check != NULL) {
		if (k->check(k, value, v, err, errlen) != 0)
			return -1;
	} else if (v < k->min || v > k->max) {
		char lo[32], hi[32];

		format_bound(lo, sizeof lo, k->type, k->min);
		format_bound(hi, sizeof hi, k->type, k->max);
		snprintf(err, errlen, "%s must be %s to %s", name, lo, hi);
		return -1;
	}
	if (k->type == CONFIG_SECONDS)
		*(double *)field = v;
	else
		*(uint64_t *)field = (uint64_t)v;
	return 0;
}

/*
 * max_memory's default: a quarter of the machine's memory, at least 64M
 * and at most 4G, so that livd on a shared host leaves room for the rest.
 */
static uint64_t
memory_default(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	uint64_t quarter, lo = 64ULL << 20, hi = 4ULL << 30;

	if (pages <= 0 || size <= 0)
		return 1ULL << 30;
	quarter = (uint64_t)pages * (uint64_t)size / 4;
	return quarter < lo ? lo : quarter > hi ? hi : quarter;
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
	cfg->max_memory = memory_default();
}

/* Settings that depend on each other. */
int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (strcmp(cfg->auth, "token") == 0 && cfg->secret_file == NULL) {
		snprintf(err, errlen, "auth: token needs a secret_file");
		return -1;
	}
	if (strcmp(cfg->auth, "hook") == 0 && cfg->hooks_connect == NULL) {
		snprintf(err, errlen, "auth: hook needs hooks.connect, the URL "
		    "that decides who connects");
		return -1;
	}
	if ((cfg->hooks_connect != NULL || cfg->hooks_input != NULL ||
	    cfg->hooks_presence != NULL) && cfg->secret_file == NULL) {
		snprintf(err, errlen, "hooks need a secret_file: its secret "
		    "signs every hook request");
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

/* Is name a section of keys (hooks), whose value is a mapping? */
static bool
config_section(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < countof(config_keys); i++)
		if (strncmp(config_keys[i].name, name, len) == 0 &&
		    config_keys[i].name[len] == '.')
			return true;
	return false;
}

/*
 * Apply a mapping's keys over cfg; prefix names its section ("hooks."),
 * or is "" at the top. The message names the key as livd.yaml(5) does.
 */
static int
parse_mapping(struct config *cfg, struct yamlfile *yf, yaml_node_t *map,
    const char *prefix, struct buf *joined, struct yamlerr *err)
{
	yaml_node_pair_t *pair;
	char name[128], msg[512];

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yamlfile_node(yf, pair->key);
		yaml_node_t *v = yamlfile_node(yf, pair->value);
		const char *key = yamlfile_scalar(k);
		const char *value = yamlfile_scalar(v);

		snprintf(name, sizeof name, "%s%s", prefix, key ? key : "");
		for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
		    key != NULL && p < pair; p++) {
			const char *seen = yamlfile_scalar(yamlfile_node(yf,
			    p->key));

			if (seen != NULL && strcmp(seen, key) == 0)
				return yamlfile_error(yf, k, err,
				    "duplicate key '%s'", name);
		}
		if (key != NULL && *prefix == '\0' && config_section(name)) {
			if (v->type != YAML_MAPPING_NODE)
				return yamlfile_error(yf, v, err, "%s must be a "
				    "mapping of keys", name);
			snprintf(msg, sizeof msg, "%s.", name);
			if (parse_mapping(cfg, yf, v, msg, joined, err) != 0)
				return -1;
			continue;
		}
		if (key == NULL || config_find(name) == NULL)
			return yamlfile_error(yf, k, err, "unknown key '%s'",
			    name);
		if (value == NULL && config_find(name)->type == CONFIG_LIST &&
		    v->type == YAML_SEQUENCE_NODE) {
			if (list_value(yf, v, joined, err) != 0)
				return -1;
			value = joined->data ? joined->data : "";
		}
		if (value == NULL)
			return yamlfile_error(yf, v, err, "%s must be a single "
			    "value", name);
		if (config_set(cfg, name, value, msg, sizeof msg) != 0)
			return yamlfile_error(yf, v, err, "%s", msg);
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
	if (parse_mapping(cfg, &yf, root, "", &joined, err) != 0)
		goto out;
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

/*
 * Give cfg the restart-only keys' values from old (a reload keeps them);
 * true when cfg had changed one that is not CONFIG_QUIET.
 */
bool
config_keep_restart(struct config *cfg, const struct config *old)
{
	bool changed = false;

	for (size_t i = 0; i < countof(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		char **to = (char **)((char *)cfg + k->offset);
		char *const *from = (char *const *)((const char *)old +
		    k->offset);

		if (!(k->flags & CONFIG_RESTART))
			continue;
		if (!(k->flags & CONFIG_QUIET) && ((*to == NULL) !=
		    (*from == NULL) || (*to != NULL && strcmp(*to, *from) != 0)))
			changed = true;
		free(*to);
		*to = *from ? xstrdup(*from) : NULL;
	}
	return changed;
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

/*
 * ctl.def's rows, parsed once into typed specs (the words are described
 * there). livd and livctl ask these specs, never the row strings, so
 * nothing else tokenizes an option list or asks which command it holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "ctlspec.h"

static const struct ctlspec_row rows[] = {
#define CTL(name, flags, target, options, arguments, summary) \
	{ #name, flags, target, options, arguments, summary },
#include "ctl.def"
#undef CTL
};
const size_t ctlspec_count = countof(rows);

/*
 * Keys whose values name something: what completion offers for them,
 * how usage shows them, and what "missing %s" calls them (the key itself
 * when NULL).
 */
static const struct {
	const char		*key;
	enum ctlspec_kind	 kind;
	const char		*metavar;
	const char		*missing;
} named[] = {
	{ "location", CTLSPEC_LOCATION, "LOCATION", NULL },
	{ "principal", CTLSPEC_PRINCIPAL, "PRINCIPAL", NULL },
	{ "client", CTLSPEC_CLIENT, "UUID", "UUID" },
	{ "verb", CTLSPEC_VERB, "VERB", "VERB" },
	{ "args", CTLSPEC_TEXT, "ARG", NULL },
	{ "cmds", CTLSPEC_TEXT, "CMD,...", NULL },
};

/* The suffix characters after a key and what each sets. */
static const struct {
	char			 c;
	bool			 option;	/* allowed on an option */
	bool			 argument;	/* allowed on an argument */
} suffixes[] = {
	{ '#', true, true }, { '!', true, false }, { '?', false, true },
	{ '*', false, true }, { '+', true, false },
};

/* Fill k from "key" plus its suffixes; -1 (err said) if malformed. */
static int
key_parse(struct ctlspec_key *k, const char *word, size_t len, bool option,
    char *err, size_t errlen)
{
	size_t n = strspn(word, "abcdefghijklmnopqrstuvwxyz0123456789_");

	if (n == 0 || n >= CTLSPEC_KEY_MAX) {
		snprintf(err, errlen, "bad key in '%.*s'", (int)len, word);
		return -1;
	}
	memcpy(k->key, word, n);
	k->key[n] = '\0';
	for (size_t i = n; i < len; i++) {
		size_t s = 0;

		while (s < countof(suffixes) && suffixes[s].c != word[i])
			s++;
		if (s == countof(suffixes) || !(option ? suffixes[s].option :
		    suffixes[s].argument) || memchr(word + n, word[i], i - n)) {
			snprintf(err, errlen, "bad suffix '%c' in '%.*s'",
			    word[i], (int)len, word);
			return -1;
		}
		if (word[i] == '#')
			k->type = CTLSPEC_NUMBER;
		else if (word[i] == '!')
			k->type = CTLSPEC_FLAG;
		else if (word[i] == '*')
			k->type = CTLSPEC_LIST;
		else if (word[i] == '+')
			k->type = CTLSPEC_STRINGS;
		else
			k->optional = true;
	}
	if ((memchr(word + n, '*', len - n) || memchr(word + n, '+', len - n))
	    && n + 1 != len) {
		snprintf(err, errlen, "'%.*s': a list takes no other suffix",
		    (int)len, word);
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		k->name[i] = k->key[i] == '_' ? '-' : k->key[i];
		k->metavar[i] = k->key[i] >= 'a' && k->key[i] <= 'z' ?
		    (char)(k->key[i] - 'a' + 'A') : k->key[i];
	}
	k->missing = k->key;
	for (size_t i = 0; i < countof(named); i++) {
		if (strcmp(named[i].key, k->key) != 0)
			continue;
		k->kind = named[i].kind;
		snprintf(k->metavar, sizeof k->metavar, "%s", named[i].metavar);
		if (named[i].missing != NULL)
			k->missing = named[i].missing;
	}
	return 0;
}

/* The next space-separated word of *p, or 0 at the end. */
static size_t
next_word(const char **p)
{
	size_t n = 0;

	while (**p == ' ')
		(*p)++;
	while ((*p)[n] != '\0' && (*p)[n] != ' ')
		n++;
	return n;
}

/* "l:location", ":ttl#", "n:dry_run!" */
static int
options_parse(struct ctlspec *s, const char *p, char *err, size_t errlen)
{
	size_t n;

	for (; (n = next_word(&p)) > 0; p += n) {
		struct ctlspec_key *k = &s->options[s->noptions];
		size_t skip = p[0] == ':' ? 1 : n > 2 && p[1] == ':' ? 2 : 0;

		if (skip == 0 || s->noptions == CTLSPEC_MAX_OPTIONS) {
			snprintf(err, errlen, "%s: bad option '%.*s'", s->name,
			    (int)n, p);
			return -1;
		}
		k->letter = skip == 2 ? p[0] : 0;
		if (key_parse(k, p + skip, n - skip, true, err, errlen) != 0)
			return -1;
		if (ctlspec_key(s, k->key) != NULL || (k->letter != 0 &&
		    ctlspec_letter(s, k->letter) != NULL)) {
			snprintf(err, errlen, "%s: option '%.*s' twice",
			    s->name, (int)n, p);
			return -1;
		}
		s->noptions++;
	}
	return 0;
}

/* "client seq#", "location?", "verb args*" */
static int
args_parse(struct ctlspec *s, const char *p, char *err, size_t errlen)
{
	size_t n;

	for (; (n = next_word(&p)) > 0; p += n) {
		struct ctlspec_key *k = &s->args[s->nargs];
		const struct ctlspec_key *last = s->nargs ?
		    &s->args[s->nargs - 1] : NULL;

		if (s->nargs == CTLSPEC_MAX_ARGS) {
			snprintf(err, errlen, "%s: too many arguments",
			    s->name);
			return -1;
		}
		if (key_parse(k, p, n, false, err, errlen) != 0)
			return -1;
		if (ctlspec_key(s, k->key) != NULL) {
			snprintf(err, errlen, "%s: key '%s' twice", s->name,
			    k->key);
			return -1;
		}
		/* Optional ones last, but a list may be empty anyway. */
		if (last != NULL && (last->type == CTLSPEC_LIST ||
		    (last->optional && !k->optional &&
		    k->type != CTLSPEC_LIST))) {
			snprintf(err, errlen, "%s: '%.*s' cannot follow '%s'",
			    s->name, (int)n, p, last->key);
			return -1;
		}
		s->nargs++;
	}
	return 0;
}

/* Parse one row into s; -1 with err said if the row is malformed. */
int
ctlspec_parse(struct ctlspec *s, const struct ctlspec_row *row, char *err,
    size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->name = row->name;
	s->summary = row->summary;
	s->flags = row->flags;
	s->target = row->target;
	if (options_parse(s, row->options, err, errlen) != 0 ||
	    args_parse(s, row->arguments, err, errlen) != 0)
		return -1;
	return 0;
}

/* Every row, parsed on first use; a bad row is a bug in ctl.def. */
const struct ctlspec *
ctlspec_table(void)
{
	static struct ctlspec specs[countof(rows)];
	static bool parsed;
	char err[256];

	for (size_t i = 0; !parsed && i < countof(rows); i++) {
		if (ctlspec_parse(&specs[i], &rows[i], err, sizeof err) != 0) {
			fprintf(stderr, "ctl.def: %s\n", err);
			abort();
		}
		specs[i].index = i;
	}
	parsed = true;
	return specs;
}

/* The command called exactly name, or NULL. */
const struct ctlspec *
ctlspec_find(const char *name)
{
	const struct ctlspec *all = ctlspec_table();

	for (size_t i = 0; i < ctlspec_count; i++)
		if (strcmp(all[i].name, name) == 0)
			return &all[i];
	return NULL;
}

/* Exact name, else a unique prefix (as tmux does); NULL if none. */
const struct ctlspec *
ctlspec_lookup(const char *name, bool *ambiguous)
{
	const struct ctlspec *all = ctlspec_table(), *found;
	size_t n = strlen(name);

	*ambiguous = false;
	if ((found = ctlspec_find(name)) != NULL)
		return found;
	for (size_t i = 0; n > 0 && i < ctlspec_count; i++) {
		if (strncmp(all[i].name, name, n) != 0)
			continue;
		if (found != NULL) {
			*ambiguous = true;
			return NULL;
		}
		found = &all[i];
	}
	return found;
}

/* The option or argument that sets key, or NULL. */
const struct ctlspec_key *
ctlspec_key(const struct ctlspec *s, const char *key)
{
	for (size_t i = 0; i < s->noptions; i++)
		if (strcmp(s->options[i].key, key) == 0)
			return &s->options[i];
	for (size_t i = 0; i < s->nargs; i++)
		if (strcmp(s->args[i].key, key) == 0)
			return &s->args[i];
	return NULL;
}

/* The option -letter, or NULL. */
const struct ctlspec_key *
ctlspec_letter(const struct ctlspec *s, char letter)
{
	for (size_t i = 0; letter != 0 && i < s->noptions; i++)
		if (s->options[i].letter == letter)
			return &s->options[i];
	return NULL;
}

/* The option --name, or NULL. */
const struct ctlspec_key *
ctlspec_long(const struct ctlspec *s, const char *name)
{
	for (size_t i = 0; i < s->noptions; i++)
		if (strcmp(s->options[i].name, name) == 0)
			return &s->options[i];
	return NULL;
}

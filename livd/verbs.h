/* The verb table, loaded from the verbs file (YAML). */
#ifndef LIVD_VERBS_H
#define LIVD_VERBS_H

#include <stdbool.h>
#include <stddef.h>

#include "yamlfile.h"

#define VERBS_MAX_ARGS	16
#define VERBS_MAX_NAME	64

enum verb_dom {
	DOM_NONE, DOM_BEFOREEND, DOM_AFTERBEGIN, DOM_BEFOREBEGIN, DOM_AFTEREND,
	DOM_INNER, DOM_OUTER, DOM_TEXT, DOM_REMOVE, DOM_ATTR, DOM_RELOAD
};

enum verb_scope { SCOPE_LOCATION, SCOPE_SELF, SCOPE_PRINCIPAL, SCOPE_ALL };

enum verb_dedupe { DEDUPE_NONE, DEDUPE_ID, DEDUPE_CONTENT };

struct verb {
	char		*name;
	char		*args[VERBS_MAX_ARGS];
	size_t		 nargs;
	int		 id_arg;	/* index of the "id" argument, or -1 */
	enum verb_dom	 dom;
	enum verb_scope	 scope;
	enum verb_dedupe dedupe;
	bool		 from_client;
	bool		 raw;
	bool		 coalesce;
	char		*turbo;		/* its Turbo Stream action, or NULL */
	bool		 forward;	/* a browser's goes to hooks.input */
	char		*summary;
	int		 line;		/* where the verbs file names it */
};

/* A loaded table; replaced whole on reload, never changed in place. */
struct verbs {
	char		*path;
	struct verb	*list;		/* sorted by name */
	size_t		 count;
	char		*json;		/* the table as /verbs.json serves it */
	size_t		 jsonlen;
};

struct verbs		*verbs_load(const char *, struct yamlerr *);
struct verbs		*verbs_parse(const char *, const char *, size_t,
			    struct yamlerr *);
void			 verbs_free(struct verbs *);
const struct verb	*verbs_find(const struct verbs *, const char *);
int			 verb_arg(const struct verb *, const char *);
const char		*verbs_dom_name(enum verb_dom);
bool			 verbs_reserved(const char *);
int			 verbs_check_args(const struct verbs *, size_t,
			    struct yamlerr *);
int			 verbs_check_forward(const struct verbs *, bool,
			    struct yamlerr *);

#endif

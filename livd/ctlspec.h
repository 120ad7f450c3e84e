/*
 * The control commands as data: each row of ctl.def parsed once into
 * typed option and argument specs. livd checks request keys and their
 * types against them; livctl builds requests, usage, help and completion
 * from them. Linked into both, as util.c is.
 */
#ifndef LIVD_CTLSPEC_H
#define LIVD_CTLSPEC_H

#include <stdbool.h>
#include <stddef.h>

/* What a command does beyond one request and one answer. */
#define CTL_STREAMS	0x01	/* after its answer, lines until closed */
#define CTL_STDIN	0x02	/* livctl: "-" reads requests from stdin */
#define CTL_ACKS	0x04	/* livctl acknowledges the events it printed */
#define CTL_NAMED	0x08	/* other keys are the event's named arguments */
#define CTL_LIVCTL	0x10	/* livctl's own: livd only names it */

/* What livd resolves for a command before it runs. */
enum ctl_target {
	CTL_TARGET_NONE,
	CTL_TARGET_CLIENT,	/* "client": a client of this node */
	CTL_TARGET_SEND		/* one of location, client, principal */
};

/* A request key's JSON type. */
enum ctlspec_type {
	CTLSPEC_STRING,		/* a string (null: not given) */
	CTLSPEC_NUMBER,		/* NAME#: a number */
	CTLSPEC_FLAG,		/* NAME!: true when given */
	CTLSPEC_LIST,		/* NAME*: the rest, as a list of strings */
	CTLSPEC_STRINGS		/* NAME+: an option given again adds to a list */
};

/* What a value names, for completion. */
enum ctlspec_kind {
	CTLSPEC_TEXT, CTLSPEC_LOCATION, CTLSPEC_PRINCIPAL, CTLSPEC_CLIENT,
	CTLSPEC_VERB
};

#define CTLSPEC_KEY_MAX		32
#define CTLSPEC_MAX_OPTIONS	8
#define CTLSPEC_MAX_ARGS	4

/* One option ("l:location") or positional argument ("seq#"). */
struct ctlspec_key {
	char			 key[CTLSPEC_KEY_MAX];	/* the request key */
	char			 name[CTLSPEC_KEY_MAX];	/* --dry-run */
	char			 metavar[CTLSPEC_KEY_MAX]; /* UUID, ARG */
	const char		*missing;	/* "missing %s" says this */
	char			 letter;	/* -l; 0: long form only */
	bool			 optional;	/* NAME? */
	enum ctlspec_type	 type;
	enum ctlspec_kind	 kind;
};

/* A row of ctl.def as written. */
struct ctlspec_row {
	const char	*name;
	unsigned int	 flags;
	enum ctl_target	 target;
	const char	*options;
	const char	*arguments;
	const char	*summary;
};

/* A row of ctl.def, parsed. index is its place in ctl.def. */
struct ctlspec {
	const char		*name;
	const char		*summary;
	unsigned int		 flags;
	enum ctl_target		 target;
	size_t			 index;
	size_t			 noptions;
	size_t			 nargs;
	struct ctlspec_key	 options[CTLSPEC_MAX_OPTIONS];
	struct ctlspec_key	 args[CTLSPEC_MAX_ARGS];
};

extern const size_t	 ctlspec_count;

int	 ctlspec_parse(struct ctlspec *, const struct ctlspec_row *, char *,
	    size_t);
const struct ctlspec *ctlspec_table(void);
const struct ctlspec *ctlspec_find(const char *);
const struct ctlspec *ctlspec_lookup(const char *, bool *);
const struct ctlspec_key *ctlspec_key(const struct ctlspec *, const char *);
const struct ctlspec_key *ctlspec_letter(const struct ctlspec *, char);
const struct ctlspec_key *ctlspec_long(const struct ctlspec *, const char *);

#endif

/*
 * A page connecting, by POST /connect or GET /stream: who it is and
 * where, checked the same way for both, then the client made.
 */
#ifndef LIVD_CONNECT_H
#define LIVD_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "httpparse.h"

struct client;
struct conn;
struct request;

/* What a page asks for. The names point into its form or the claims. */
struct connect_ask {
	const char		*locations[FORM_MAX_FIELDS];
	size_t			 n;
	const char		*principal;
	bool			 presence;	/* wants join and leave events */
	struct auth_claims	 claims;	/* auth: token */
};

/*
 * What the caller does with the client once it is made, at once or, with
 * auth: hook, when the application has answered: its function, and what
 * it needs then (a stream's format and where it resumes). Small, as it
 * waits in the held connection.
 */
struct connect_then {
	void		(*done)(struct conn *, struct client *,
			    const struct connect_then *);
	uint64_t	 since;
	uint8_t		 format;
	bool		 rewind;
};

int		 connect_check(struct conn *, const struct form *,
		    const char *, struct connect_ask *);
void		 connect_page(struct conn *, const struct request *,
		    const struct connect_ask *, const struct connect_then *);

#endif

/*
 * Tokens: what an application gives a page so that it may connect as a
 * principal at a location until a time. A token is
 * base64url(payload) "." base64url(HMAC-SHA256(secret, payload)), the
 * payload being "v1\nEXPIRES\nLOCATION\nPRINCIPAL".
 */
#ifndef LIVD_AUTH_H
#define LIVD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_MIN_SECRET	16

struct token_claims {
	char		location[1025];
	char		principal[257];
	uint64_t	expires;	/* Unix time */
};

char	*token_mint(const void *, size_t, const char *, const char *,
	    uint64_t);
int	 token_verify(const void *, size_t, const char *, uint64_t,
	    struct token_claims *, const char **);

int	 auth_load(const char *, char *, size_t);
void	 auth_free(void);
char	*auth_mint(const char *, const char *, double, char *, size_t);
int	 auth_verify(const char *, struct token_claims *, const char **);

#endif

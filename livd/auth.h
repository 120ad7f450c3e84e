/*
 * Tokens are JWTs (RFC 7519) in compact JWS form, HS256 only, signed with
 * the secret of secret_file. A page token names its principal (sub) and
 * the locations a page may be at; an API token names the control commands
 * an application may run (livd.cmds). livd mints both and checks both;
 * applications may mint them with any JWT library.
 */
#ifndef LIVD_AUTH_H
#define LIVD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_MIN_SECRET		16
#define AUTH_TOKEN_MAX		4096	/* longest token accepted, in bytes */
#define AUTH_MAX_LOCATIONS	64	/* patterns in one token */
#define AUTH_MAX_CMDS		64	/* command names in one token */
#define AUTH_PRINCIPAL_MAX	256
#define AUTH_LOCATION_MAX	1024
#define AUTH_CMD_MAX		64

/* What a token is checked as: each kind needs its own claims. */
enum auth_kind {
	AUTH_PAGE = 1,
	AUTH_API = 2
};

/*
 * A verified token's claims. The strings point into the struct's own
 * pool, so it needs no freeing, but it must not be copied: pass it by
 * pointer. locations are patterns: an exact location, or a prefix ending
 * in '*'.
 */
struct auth_claims {
	const char	*sub;		/* NULL when absent (API tokens) */
	const char	*locations[AUTH_MAX_LOCATIONS];
	size_t		 nlocations;
	const char	*cmds[AUTH_MAX_CMDS];
	size_t		 ncmds;
	bool		 has_exp, has_nbf;
	double		 exp, nbf;	/* Unix time */
	size_t		 used;
	char		 pool[AUTH_TOKEN_MAX];
};

/* What a new token says: a page token, an API token, or both at once. */
struct auth_grant {
	const char		*sub;
	const char *const	*locations;
	size_t			 nlocations;
	const char *const	*cmds;
	size_t			 ncmds;
};

char	*auth_jwt_mint(const void *, size_t, const struct auth_grant *,
	    int64_t, int64_t);
int	 auth_jwt_verify(const void *, size_t, const char *, int64_t,
	    enum auth_kind, struct auth_claims *, const char **);
bool	 auth_allows(const struct auth_claims *, const char *);
size_t	 auth_exact(const struct auth_claims *, const char **, size_t);
bool	 auth_cmd_allowed(const struct auth_claims *, const char *);

void	 auth_hmac_hex(const void *, size_t, const void *, size_t,
	    char[65]);
int	 auth_sign(const void *, size_t, char[65]);
int	 auth_load(const char *, char *, size_t);
void	 auth_free(void);
unsigned int auth_generation(void);
char	*auth_mint(const struct auth_grant *, double, char *, size_t);
int	 auth_verify(const char *, struct auth_claims *, const char **);
int	 auth_verify_api(const char *, struct auth_claims *, const char **);

#endif

/*
 * libFuzzer: the JWT verifier. Each input is tried as it is, then signed
 * (so that the header and claims parsers behind the signature are reached
 * too), then split into a principal and a location that must survive a
 * mint and a verify unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../livd/auth.h"

static const char key[] = "fuzzing-secret-0123456789abcdef";

/* What any accepted token must hold, whatever it was made of. */
static void
check_claims(const struct auth_claims *cl, enum auth_kind kind)
{
	if (kind == AUTH_PAGE && (cl->sub == NULL || cl->nlocations == 0))
		abort();
	if (kind == AUTH_API && cl->ncmds == 0)
		abort();
	if (cl->sub != NULL && strlen(cl->sub) > AUTH_PRINCIPAL_MAX)
		abort();
	for (size_t i = 0; i < cl->nlocations; i++)
		if (*cl->locations[i] == '\0' ||
		    strlen(cl->locations[i]) > AUTH_LOCATION_MAX ||
		    !auth_allows(cl, cl->locations[i]))
			abort();
	for (size_t i = 0; i < cl->ncmds; i++)
		if (!auth_cmd_allowed(cl, cl->cmds[i]))
			abort();
	if (cl->has_exp && 1000 >= cl->exp)
		abort();
	if (cl->has_nbf && 1000 < cl->nbf)
		abort();
}

static void
verify_both(const char *token)
{
	static const enum auth_kind kinds[] = { AUTH_PAGE, AUTH_API };
	struct auth_claims cl;
	const char *why;

	for (size_t i = 0; i < 2; i++) {
		if (auth_jwt_verify(key, sizeof key - 1, token, 1000, kinds[i],
		    &cl, &why) == 0)
			check_claims(&cl, kinds[i]);
		else if (strcmp(why, "invalid token") != 0 &&
		    strcmp(why, "token expired") != 0)
			abort();
	}
}

/* The input up to its last '.', signed with the key. */
static char *
resign(const char *s)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *dot = strrchr(s, '.');
	size_t n = dot ? (size_t)(dot - s) : strlen(s), o;
	unsigned char mac[32];
	unsigned int maclen = sizeof mac;
	char *t = malloc(n + 1 + 44);

	HMAC(EVP_sha256(), key, sizeof key - 1, (const unsigned char *)s, n,
	    mac, &maclen);
	memcpy(t, s, n);
	o = n;
	t[o++] = '.';
	for (size_t i = 0; i < 32; i += 3) {
		uint32_t v = (uint32_t)mac[i] << 16 |
		    (i + 1 < 32 ? (uint32_t)mac[i + 1] << 8 : 0) |
		    (i + 2 < 32 ? mac[i + 2] : 0);

		t[o++] = b64[v >> 18];
		t[o++] = b64[(v >> 12) & 63];
		t[o++] = b64[(v >> 6) & 63];
		if (i + 2 < 32)
			t[o++] = b64[v & 63];
	}
	t[o] = '\0';
	return t;
}

/* Principal and location from the two halves must come back as they were. */
static void
round_trip(const uint8_t *data, size_t size)
{
	struct auth_claims cl;
	const char *why;
	char *sub = strndup((const char *)data, size / 2);
	char *loc = strndup((const char *)data + size / 2, size - size / 2);
	const char *locs[] = { loc };
	char *t;

	t = auth_jwt_mint(key, sizeof key - 1, &(struct auth_grant){
	    .sub = sub, .locations = locs, .nlocations = 1, .cmds = locs,
	    .ncmds = 1 }, 900, 2000);
	if (t != NULL && strlen(sub) <= AUTH_PRINCIPAL_MAX &&
	    strlen(loc) <= AUTH_CMD_MAX) {
		if (auth_jwt_verify(key, sizeof key - 1, t, 1000, AUTH_PAGE,
		    &cl, &why) != 0 || strcmp(cl.sub, sub) != 0 ||
		    strcmp(cl.locations[0], loc) != 0 ||
		    !auth_allows(&cl, loc) ||
		    auth_jwt_verify(key, sizeof key - 1, t, 1000, AUTH_API,
		    &cl, &why) != 0 || !auth_cmd_allowed(&cl, loc) ||
		    auth_jwt_verify(key, sizeof key - 1, t, 2000, AUTH_PAGE,
		    &cl, &why) == 0 || strcmp(why, "token expired") != 0)
			abort();
	}
	free(t);
	free(sub);
	free(loc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = malloc(size + 1), *signed_token;

	memcpy(token, data, size);
	token[size] = '\0';
	verify_both(token);
	signed_token = resign(token);
	verify_both(signed_token);
	free(signed_token);
	free(token);
	if (size >= 2 && memchr(data, '\0', size) == NULL)
		round_trip(data, size);
	return 0;
}

/*
 * Tokens are JWTs: what an application gives a page so that it may connect
 * as a principal at some locations until a time (a page token), or gives
 * itself to run control commands over HTTP (an API token). livd mints
 * them (livctl token) and checks them, HS256 with the secret of
 * secret_file and nothing else: the alg a token names is only checked,
 * never followed, so "none" or another key type cannot get in.
 *
 * A token's strings are copied into its claims' pool, bounded by the
 * token's length, so a verified token needs no freeing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util.h"
#include "auth.h"
#include "log.h"

static unsigned char	*secret;
static size_t		 secret_len;
static unsigned int	 generation;	/* bumped as the secret goes */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding. */
static void
b64_encode(struct buf *out, const unsigned char *in, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];

		buf_addc(out, b64[v >> 18]);
		buf_addc(out, b64[(v >> 12) & 63]);
		buf_addc(out, b64[(v >> 6) & 63]);
		buf_addc(out, b64[v & 63]);
	}
	if (n - i == 1) {
		buf_addc(out, b64[in[i] >> 2]);
		buf_addc(out, b64[(in[i] & 3) << 4]);
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		buf_addc(out, b64[v >> 10]);
		buf_addc(out, b64[(v >> 4) & 63]);
		buf_addc(out, b64[(v & 15) << 2]);
	}
}

/* Decode base64url into out (at most max bytes); -1 when malformed. */
static int
b64_decode(const char *in, size_t n, unsigned char *out, size_t max,
    size_t *len)
{
	uint32_t acc = 0;
	int bits = 0;

	*len = 0;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *p = in[i] ? strchr(b64, in[i]) : NULL;

		if (p == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (*len == max)
				return -1;
			out[(*len)++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return acc == 0 ? 0 : -1;	/* no stray bits: one spelling only */
}

/* HMAC-SHA256 of data with key. */
static void
sign(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char mac[32])
{
	unsigned int maclen = 32;

	HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen);
}

/* A JSON value as base64url of its compact text. */
static void
add_json(struct buf *out, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	if (s == NULL)
		fatalx("json_dumps: out of memory");
	b64_encode(out, (unsigned char *)s, strlen(s));
	free(s);
}

/* A JSON array of strings; NULL when one is not UTF-8. */
static json_t *
string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The claims of a grant, issued at iat until exp; NULL when not UTF-8. */
static json_t *
grant_json(const struct auth_grant *g, int64_t iat, int64_t exp)
{
	json_t *claims = json_object();
	int rc = 0;

	/* A NULL value (not UTF-8) makes json_pack and _set_new fail. */
	if (g->sub != NULL)
		rc |= json_object_set_new(claims, "sub", json_string(g->sub));
	if (g->nlocations > 0)
		rc |= json_object_set_new(claims, "locations",
		    string_array(g->locations, g->nlocations));
	if (g->ncmds > 0)
		rc |= json_object_set_new(claims, "livd", json_pack("{s:o}",
		    "cmds", string_array(g->cmds, g->ncmds)));
	rc |= json_object_set_new(claims, "iat", json_integer(iat));
	rc |= json_object_set_new(claims, "exp", json_integer(exp));
	if (rc != 0) {
		json_decref(claims);
		return NULL;
	}
	return claims;
}

/*
 * A token for what g grants, issued at iat, good until exp (Unix times).
 * NULL when a string is not UTF-8 or the token would be too long for
 * livd to accept.
 */
char *
auth_jwt_mint(const void *key, size_t keylen, const struct auth_grant *g,
    int64_t iat, int64_t exp)
{
	unsigned char mac[32];
	json_t *head, *claims;
	struct buf out;

	if ((claims = grant_json(g, iat, exp)) == NULL)
		return NULL;
	head = json_pack("{s:s,s:s}", "alg", "HS256", "typ", "JWT");
	buf_init(&out);
	add_json(&out, head);
	buf_addc(&out, '.');
	add_json(&out, claims);
	json_decref(head);
	json_decref(claims);
	sign(key, keylen, out.data, out.len, mac);
	buf_addc(&out, '.');
	b64_encode(&out, mac, sizeof mac);
	if (out.len > AUTH_TOKEN_MAX) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

/* One base64url part of a token as a JSON object; NULL when it is not. */
static json_t *
part_json(const char *s, size_t n)
{
	unsigned char raw[AUTH_TOKEN_MAX];
	json_t *v;
	size_t len;

	if (b64_decode(s, n, raw, sizeof raw, &len) != 0)
		return NULL;
	v = json_loadb((char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	if (v != NULL && !json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* A copy of a JSON string in the claims' pool: 1 to max bytes, no NUL. */
static const char *
pool_add(struct auth_claims *cl, json_t *v, size_t max)
{
	size_t n = json_string_length(v);
	char *p;

	if (!json_is_string(v) || n == 0 || n > max ||
	    strlen(json_string_value(v)) != n ||
	    n + 1 > sizeof cl->pool - cl->used)
		return NULL;
	p = cl->pool + cl->used;
	memcpy(p, json_string_value(v), n + 1);
	cl->used += n + 1;
	return p;
}

/* A non-empty array of strings into out; -1 when it is anything else. */
static int
pool_array(struct auth_claims *cl, json_t *a, const char **out, size_t *n,
    size_t maxn, size_t max)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > maxn)
		return -1;
	json_array_foreach(a, i, v)
		if ((out[i] = pool_add(cl, v, max)) == NULL)
			return -1;
	*n = json_array_size(a);
	return 0;
}

static int
claim_exp(json_t *v, struct auth_claims *cl)
{
	cl->has_exp = true;
	cl->exp = json_number_value(v);
	return json_is_number(v) ? 0 : -1;
}

static int
claim_nbf(json_t *v, struct auth_claims *cl)
{
	cl->has_nbf = true;
	cl->nbf = json_number_value(v);
	return json_is_number(v) ? 0 : -1;
}

static int
claim_sub(json_t *v, struct auth_claims *cl)
{
	return (cl->sub = pool_add(cl, v, AUTH_PRINCIPAL_MAX)) ? 0 : -1;
}

static int
claim_locations(json_t *v, struct auth_claims *cl)
{
	return pool_array(cl, v, cl->locations, &cl->nlocations,
	    AUTH_MAX_LOCATIONS, AUTH_LOCATION_MAX);
}

static int
claim_livd(json_t *v, struct auth_claims *cl)
{
	if (!json_is_object(v))
		return -1;
	return pool_array(cl, json_object_get(v, "cmds"), cl->cmds,
	    &cl->ncmds, AUTH_MAX_CMDS, AUTH_CMD_MAX);
}

/*
 * The claims livd reads: which kinds of token need each one, and which
 * read it (a claim a kind does not read is not checked for that kind, so
 * one token may serve as both).
 */
static const struct {
	const char	*name;
	int		(*parse)(json_t *, struct auth_claims *);
	unsigned	 needed;
	unsigned	 read;
} claim_table[] = {
	{ "exp", claim_exp, 0, AUTH_PAGE | AUTH_API },
	{ "nbf", claim_nbf, 0, AUTH_PAGE | AUTH_API },
	{ "sub", claim_sub, AUTH_PAGE, AUTH_PAGE | AUTH_API },
	{ "locations", claim_locations, AUTH_PAGE, AUTH_PAGE },
	{ "livd", claim_livd, AUTH_API, AUTH_API },
};

/* The header livd accepts: HS256, and no extension it must understand. */
static int
header_ok(const char *s, size_t n)
{
	json_t *h = part_json(s, n);
	const char *alg;
	int ok;

	if (h == NULL)
		return 0;
	alg = json_string_value(json_object_get(h, "alg"));
	ok = alg != NULL && strcmp(alg, "HS256") == 0 &&
	    json_object_get(h, "crit") == NULL;
	json_decref(h);
	return ok;
}

/* The signature over the first two parts, compared in constant time. */
static int
signature_ok(const void *key, size_t keylen, const char *token,
    const char *dot2)
{
	unsigned char mac[33], want[32];
	size_t maclen;

	if (b64_decode(dot2 + 1, strlen(dot2 + 1), mac, sizeof mac,
	    &maclen) != 0 || maclen != sizeof want)
		return 0;
	sign(key, keylen, token, (size_t)(dot2 - token), want);
	return CRYPTO_memcmp(mac, want, sizeof want) == 0;
}

/* Walk the claim table over a payload the signature vouched for. */
static int
claims_parse(json_t *payload, enum auth_kind kind, struct auth_claims *cl)
{
	for (size_t i = 0; i < countof(claim_table); i++) {
		json_t *v = json_object_get(payload, claim_table[i].name);

		if (v == NULL) {
			if (claim_table[i].needed & kind)
				return -1;
		} else if ((claim_table[i].read & kind) &&
		    claim_table[i].parse(v, cl) != 0)
			return -1;
	}
	return 0;
}

/*
 * Check a token as kind at time now: its form, alg, signature, claims,
 * exp and nbf. On success fill the claims; otherwise why says what to
 * tell the client ("invalid token" or "token expired").
 */
int
auth_jwt_verify(const void *key, size_t keylen, const char *token,
    int64_t now, enum auth_kind kind, struct auth_claims *cl,
    const char **why)
{
	const char *dot1, *dot2;
	json_t *payload;
	int rc;

	memset(cl, 0, offsetof(struct auth_claims, pool));
	*why = "invalid token";
	if (strnlen(token, AUTH_TOKEN_MAX + 1) > AUTH_TOKEN_MAX ||
	    (dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL)
		return -1;
	if (!header_ok(token, (size_t)(dot1 - token)) ||
	    !signature_ok(key, keylen, token, dot2))
		return -1;
	if ((payload = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL)
		return -1;
	rc = claims_parse(payload, kind, cl);
	json_decref(payload);
	if (rc != 0)
		return -1;
	if (cl->has_exp && (double)now >= cl->exp) {
		*why = "token expired";
		return -1;
	}
	if (cl->has_nbf && (double)now < cl->nbf)
		return -1;
	*why = NULL;
	return 0;
}

/* Whether one of the token's patterns allows location. */
bool
auth_allows(const struct auth_claims *cl, const char *location)
{
	for (size_t i = 0; i < cl->nlocations; i++) {
		const char *p = cl->locations[i];
		size_t n = strlen(p);

		if (p[n - 1] == '*' ? strncmp(location, p, n - 1) == 0 :
		    strcmp(location, p) == 0)
			return true;
	}
	return false;
}

/*
 * Where a page goes that names no location: every exact (non-'*') one,
 * in the token's order, at most max of them. Returns how many.
 */
size_t
auth_exact(const struct auth_claims *cl, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cl->nlocations && n < max; i++)
		if (cl->locations[i][strlen(cl->locations[i]) - 1] != '*')
			out[n++] = cl->locations[i];
	return n;
}

/* Whether an API token lets its holder run the control command name. */
bool
auth_cmd_allowed(const struct auth_claims *cl, const char *name)
{
	for (size_t i = 0; i < cl->ncmds; i++)
		if (strcmp(cl->cmds[i], "*") == 0 ||
		    strcmp(cl->cmds[i], name) == 0)
			return true;
	return false;
}

/* Read the secret: the file's bytes, less one final newline. */
int
auth_load(const char *path, char *err, size_t errlen)
{
	struct buf b;
	struct stat st;
	FILE *f;
	char chunk[4096];
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "secret_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < 65536)
		buf_add(&b, chunk, n);
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		log_warnx("secret_file %s can be read by group or others",
		    path);
	fclose(f);
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.len--;
	if (b.len < AUTH_MIN_SECRET) {
		snprintf(err, errlen, "secret_file %s: the secret must be at "
		    "least %d bytes", path, AUTH_MIN_SECRET);
		OPENSSL_cleanse(b.data, b.cap);
		buf_free(&b);
		return -1;
	}
	auth_free();
	secret = (unsigned char *)b.data;
	secret_len = b.len;
	return 0;
}

void
auth_free(void)
{
	generation++;
	if (secret != NULL)
		OPENSSL_cleanse(secret, secret_len);
	free(secret);
	secret = NULL;
	secret_len = 0;
}

/* Changes whenever the secret does: what was verified must be again. */
unsigned int
auth_generation(void)
{
	return generation;
}

/* A token for what g grants, good for ttl seconds from now. */
char *
auth_mint(const struct auth_grant *g, double ttl, char *err, size_t errlen)
{
	int64_t now = (int64_t)time(NULL);
	char *token;

	if (secret == NULL) {
		snprintf(err, errlen, "no secret_file is configured");
		return NULL;
	}
	if ((token = auth_jwt_mint(secret, secret_len, g, now,
	    now + (int64_t)ttl)) == NULL)
		snprintf(err, errlen, "the token would be longer than %d bytes",
		    AUTH_TOKEN_MAX);
	return token;
}

static int
verify(const char *token, enum auth_kind kind, struct auth_claims *cl,
    const char **why)
{
	if (secret == NULL) {
		*why = "no secret_file is configured";
		return -1;
	}
	return auth_jwt_verify(secret, secret_len, token, (int64_t)time(NULL),
	    kind, cl, why);
}

/* Check a page token (POST /connect, GET /stream). */
int
auth_verify(const char *token, struct auth_claims *cl, const char **why)
{
	return verify(token, AUTH_PAGE, cl, why);
}

/* Check an API token (POST /api). */
int
auth_verify_api(const char *token, struct auth_claims *cl, const char **why)
{
	return verify(token, AUTH_API, cl, why);
}

/* The HMAC-SHA256 of data with key as 64 lower-case hex digits. */
void
auth_hmac_hex(const void *key, size_t keylen, const void *data, size_t len,
    char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[32];

	sign(key, keylen, data, len, mac);
	for (size_t i = 0; i < sizeof mac; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
}

/* A hook request's signature: the body's HMAC with the secret. */
int
auth_sign(const void *data, size_t len, char out[65])
{
	if (secret == NULL)
		return -1;
	auth_hmac_hex(secret, secret_len, data, len, out);
	return 0;
}

/*
 * Tokens: what an application gives a page so that it may connect as a
 * principal at a location until a time. livd mints them (livctl token)
 * and checks them on POST /connect in auth: token mode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util.h"
#include "auth.h"
#include "log.h"

#define TOKEN_MAX_PAYLOAD	2048

static unsigned char	*secret;
static size_t		 secret_len;

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

static void
sign(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char mac[32])
{
	unsigned int maclen = 32;

	HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen);
}

/* A token for principal at location, good until expires (Unix time). */
char *
token_mint(const void *key, size_t keylen, const char *location,
    const char *principal, uint64_t expires)
{
	unsigned char mac[32];
	struct buf payload, out;

	buf_init(&payload);
	buf_printf(&payload, "v1\n%" PRIu64 "\n%s\n%s", expires, location,
	    principal);
	sign(key, keylen, payload.data, payload.len, mac);
	buf_init(&out);
	b64_encode(&out, (unsigned char *)payload.data, payload.len);
	buf_addc(&out, '.');
	b64_encode(&out, mac, sizeof mac);
	buf_free(&payload);
	return buf_steal(&out);
}

/*
 * Check a token's signature (in constant time) and expiry; on success
 * fill the claims. why says what is wrong otherwise.
 */
int
token_verify(const void *key, size_t keylen, const char *token, uint64_t now,
    struct token_claims *claims, const char **why)
{
	unsigned char payload[TOKEN_MAX_PAYLOAD + 1], mac[33], want[32];
	const char *dot = strchr(token, '.');
	char *p, *field[4];
	size_t plen, maclen;

	*why = "invalid token";
	if (dot == NULL || (size_t)(dot - token) > TOKEN_MAX_PAYLOAD * 4 / 3 + 4)
		return -1;
	if (b64_decode(token, (size_t)(dot - token), payload, TOKEN_MAX_PAYLOAD,
	    &plen) != 0 || b64_decode(dot + 1, strlen(dot + 1), mac,
	    sizeof mac, &maclen) != 0 || maclen != 32)
		return -1;
	sign(key, keylen, payload, plen, want);
	if (CRYPTO_memcmp(mac, want, sizeof want) != 0)
		return -1;
	/* Signed by us: now the fields can be trusted to be well formed. */
	payload[plen] = '\0';
	if (memchr(payload, '\0', plen) != NULL)
		return -1;
	p = (char *)payload;
	for (int i = 0; i < 4; i++) {
		field[i] = p;
		if (i < 3) {
			if ((p = strchr(p, '\n')) == NULL)
				return -1;
			*p++ = '\0';
		}
	}
	if (strcmp(field[0], "v1") != 0 ||
	    strlen(field[2]) >= sizeof claims->location ||
	    strlen(field[3]) >= sizeof claims->principal)
		return -1;
	claims->expires = strtoull(field[1], NULL, 10);
	snprintf(claims->location, sizeof claims->location, "%s", field[2]);
	snprintf(claims->principal, sizeof claims->principal, "%s", field[3]);
	if (claims->expires <= now) {
		*why = "token expired";
		return -1;
	}
	*why = NULL;
	return 0;
}

/* Read the secret: the file's bytes, less a final newline. */
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
	while (b.len > 0 && (b.data[b.len - 1] == '\n' ||
	    b.data[b.len - 1] == '\r'))
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
	if (secret != NULL)
		OPENSSL_cleanse(secret, secret_len);
	free(secret);
	secret = NULL;
	secret_len = 0;
}

char *
auth_mint(const char *location, const char *principal, double ttl,
    char *err, size_t errlen)
{
	if (secret == NULL) {
		snprintf(err, errlen, "no secret_file is configured");
		return NULL;
	}
	return token_mint(secret, secret_len, location, principal,
	    (uint64_t)time(NULL) + (uint64_t)ttl);
}

int
auth_verify(const char *token, struct token_claims *claims, const char **why)
{
	if (secret == NULL) {
		*why = "no secret_file is configured";
		return -1;
	}
	return token_verify(secret, secret_len, token, (uint64_t)time(NULL),
	    claims, why);
}

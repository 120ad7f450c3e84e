/* libFuzzer: the token verifier, on garbage and on near-valid tokens. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../livd/auth.h"

static const char key[] = "fuzzing-secret-0123456789abcdef";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims claims;
	const char *why;
	char *token = malloc(size + 1);

	memcpy(token, data, size);
	token[size] = '\0';
	if (token_verify(key, sizeof key - 1, token, 1000, &claims, &why) == 0)
		abort();	/* only a forged signature could pass */
	free(token);
	/* Valid signatures over fuzzed fields must round-trip. */
	if (size > 2 && memchr(data, '\0', size) == NULL) {
		char *loc = strndup((const char *)data, size / 2);
		char *who = strndup((const char *)data + size / 2,
		    size - size / 2);

		if (strchr(loc, '\n') == NULL && strchr(who, '\n') == NULL &&
		    strlen(loc) < 1024 && strlen(who) < 256) {
			char *t = token_mint(key, sizeof key - 1, loc, who, 2000);

			if (token_verify(key, sizeof key - 1, t, 1000, &claims,
			    &why) != 0 || strcmp(claims.location, loc) != 0 ||
			    strcmp(claims.principal, who) != 0)
				abort();
			free(t);
		}
		free(loc);
		free(who);
	}
	return 0;
}

/*
 * connect_rate's token buckets (see rate.h). A source is an IPv4 address
 * or an IPv6 /64 (one host's addresses cost it nothing to vary), or a
 * principal. Buckets live in one hash map: a lookup per request. Every
 * ten seconds, or when the map is full, the buckets that have filled up
 * again go: a full bucket and no bucket mean the same. When it is still
 * full, new sources share one bucket, so memory stays bounded and a
 * flood of addresses throttles itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "hmap.h"
#include "httpparse.h"
#include "hub.h"
#include "livd.h"
#include "rate.h"

struct bucket {
	struct hnode	 node;
	double		 tokens;
	double		 at;
	char		 key[];
};

static struct hmap	 sources;
static struct bucket	*overflow;
static double		 swept;

/* Refill b to now; true when it is full (as good as forgotten). */
static bool
bucket_refill(struct bucket *b, double now, double rate, double burst)
{
	b->tokens = fmin(burst, b->tokens + (now - b->at) * rate);
	b->at = now;
	return b->tokens >= burst;
}

static struct bucket *
bucket_new(const char *key, double now, double burst)
{
	size_t len = strlen(key) + 1;
	struct bucket *b = xmalloc(sizeof *b + len);

	memcpy(b->key, key, len);
	b->tokens = burst;
	b->at = now;
	return b;
}

/* Forget the buckets that are full again. */
static void
rate_sweep(double now, double rate, double burst)
{
	struct bucket **gone;
	struct hnode *node;
	size_t i, n = 0;

	swept = now;
	if (sources.count == 0)
		return;
	gone = xcalloc(sources.count, sizeof *gone);
	HMAP_FOREACH(&sources, node, i) {
		struct bucket *b = container_of(node, struct bucket, node);

		if (bucket_refill(b, now, rate, burst))
			gone[n++] = b;
	}
	for (i = 0; i < n; i++) {
		hmap_del(&sources, &gone[i]->node);
		free(gone[i]);
	}
	free(gone);
}

/* The bucket for key, made when new; the shared one when none fits. */
static struct bucket *
bucket_get(const char *key, double now, double rate, double burst)
{
	struct hnode *node = hmap_get(&sources, key);
	struct bucket *b;

	if (node != NULL)
		return container_of(node, struct bucket, node);
	if (sources.count >= RATE_SOURCES)
		rate_sweep(now, rate, burst);
	if (sources.count >= RATE_SOURCES) {
		if (overflow == NULL)
			overflow = bucket_new("", now, burst);
		return overflow;
	}
	b = bucket_new(key, now, burst);
	hmap_put(&sources, &b->node, b->key);
	return b;
}

static bool
bucket_take(const char *key, double now, double rate, double burst)
{
	struct bucket *b = bucket_get(key, now, rate, burst);

	bucket_refill(b, now, rate, burst);
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

/* An address's key: IPv4 whole, IPv6 its /64. */
static void
address_key(const struct http_addr *a, char *out, size_t size)
{
	static const unsigned char v4[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	size_t n = memcmp(a->b, v4, sizeof v4) == 0 ? 16 : 8;

	out[0] = 'a';
	for (size_t i = 0; i < n && 2 * i + 3 <= size; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", a->b[i]);
}

/*
 * May one more connect or input come from this address (NULL: not
 * known) and principal (NULL: none yet)? Takes a token from each.
 */
enum rate_verdict
rate_take(const struct http_addr *from, const char *principal)
{
	double rate = livd.cfg.connect_rate, now;
	double burst = (double)livd.cfg.connect_burst;
	char key[HUB_PRINCIPAL_MAX + 2];

	if (rate <= 0)
		return RATE_OK;
	if (sources.buckets == NULL)
		hmap_init(&sources);
	now = now_mono();
	if (now - swept > 10)
		rate_sweep(now, rate, burst);
	if (from != NULL) {
		address_key(from, key, sizeof key);
		if (!bucket_take(key, now, rate, burst))
			return RATE_ADDRESS;
	}
	if (principal != NULL) {
		snprintf(key, sizeof key, "p%s", principal);
		if (!bucket_take(key, now, rate, burst))
			return RATE_PRINCIPAL;
	}
	return RATE_OK;
}

/* What a refused page is told (429). */
const char *
rate_message(enum rate_verdict v, char *out, size_t size)
{
	snprintf(out, size, "too many requests %s: at most %g a second",
	    v == RATE_ADDRESS ? "from this address" : "for this principal",
	    livd.cfg.connect_rate);
	return out;
}

void
rate_free(void)
{
	struct hnode *node, *next;
	size_t i;

	for (i = 0; i < sources.nbuckets; i++)
		for (node = sources.buckets[i]; node != NULL; node = next) {
			next = node->next;
			free(container_of(node, struct bucket, node));
		}
	if (sources.buckets != NULL)
		hmap_free(&sources);
	memset(&sources, 0, sizeof sources);
	free(overflow);
	overflow = NULL;
}

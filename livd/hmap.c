/* A hash map from strings to intrusive nodes, for uuids and names. */
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "util.h"

void
hmap_init(struct hmap *m)
{
	m->nbuckets = 16;
	m->count = 0;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
}

/* Free the bucket array; the nodes belong to their objects. */
void
hmap_free(struct hmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}

static void
hmap_grow(struct hmap *m)
{
	size_t n = m->nbuckets * 2;
	struct hnode **b = xcalloc(n, sizeof *b);

	for (size_t i = 0; i < m->nbuckets; i++) {
		struct hnode *node = m->buckets[i], *next;

		for (; node != NULL; node = next) {
			next = node->next;
			node->next = b[node->hash & (n - 1)];
			b[node->hash & (n - 1)] = node;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void
hmap_put(struct hmap *m, struct hnode *node, const char *key)
{
	struct hnode **slot;

	if (m->count >= m->nbuckets)
		hmap_grow(m);
	node->key = key;
	node->hash = hash_bytes(key, strlen(key));
	slot = &m->buckets[node->hash & (m->nbuckets - 1)];
	node->next = *slot;
	*slot = node;
	m->count++;
}

struct hnode *
hmap_get(const struct hmap *m, const char *key)
{
	uint64_t h = hash_bytes(key, strlen(key));
	struct hnode *node = m->buckets[h & (m->nbuckets - 1)];

	for (; node != NULL; node = node->next)
		if (node->hash == h && strcmp(node->key, key) == 0)
			return node;
	return NULL;
}

void
hmap_del(struct hmap *m, struct hnode *node)
{
	struct hnode **p = &m->buckets[node->hash & (m->nbuckets - 1)];

	for (; *p != NULL; p = &(*p)->next)
		if (*p == node) {
			*p = node->next;
			m->count--;
			return;
		}
}

/* A hash map from strings to intrusive nodes, for uuids and names. */
#ifndef LIVD_HMAP_H
#define LIVD_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode	*next;
	uint64_t	 hash;
	const char	*key;	/* owned by the object that holds the node */
};

struct hmap {
	struct hnode	**buckets;
	size_t		  nbuckets;	/* a power of two */
	size_t		  count;
};

void		 hmap_init(struct hmap *);
void		 hmap_free(struct hmap *);
void		 hmap_put(struct hmap *, struct hnode *, const char *);
struct hnode	*hmap_get(const struct hmap *, const char *);
void		 hmap_del(struct hmap *, struct hnode *);

/* Visit every node; the callback must not change the map. */
#define HMAP_FOREACH(map, var, i)					\
	for ((i) = 0; (i) < (map)->nbuckets; (i)++)			\
		for ((var) = (map)->buckets[(i)]; (var) != NULL;	\
		    (var) = (var)->next)

#endif

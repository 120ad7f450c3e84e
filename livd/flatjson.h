/*
 * The control lines a publisher sends most, read without building JSON
 * values: one object whose values are plain strings or lists of them.
 */
#ifndef LIVD_FLATJSON_H
#define LIVD_FLATJSON_H

#include <stdbool.h>
#include <stddef.h>

#define FLATJSON_KEYS	24	/* pairs in one object */
#define FLATJSON_ITEMS	24	/* strings in its lists, all together */
#define FLATJSON_SIZE	4096	/* the longest line taken */

struct flatjson_pair {
	const char	*key;
	char		*string;	/* NULL: a list */
	const char	**items;	/* a list's strings */
	size_t		 nitems;
};

struct flatjson {
	struct flatjson_pair	 pairs[FLATJSON_KEYS];
	size_t			 npairs;
	const char		*items[FLATJSON_ITEMS];
	size_t			 nitems;
	char			 text[FLATJSON_SIZE];	/* the line, cut */
};

bool	flatjson_parse(struct flatjson *, const char *, size_t);

#endif

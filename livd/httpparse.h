/* Parsing HTTP/1.x request heads and url-encoded forms, in place. */
#ifndef LIVD_HTTPPARSE_H
#define LIVD_HTTPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_parse {
	HTTP_PARSE_OK,
	HTTP_PARSE_INCOMPLETE,
	HTTP_PARSE_BAD,		/* 400 */
	HTTP_PARSE_TOO_LARGE,	/* 431 */
	HTTP_PARSE_VERSION	/* 505 */
};

struct http_head {
	char		*method;
	char		*path;
	char		*query;		/* after '?', or NULL */
	int		 minor;		/* HTTP/1.minor */
	size_t		 size;		/* bytes up to and including the blank line */
	int64_t		 content_length;	/* -1: none */
	bool		 chunked;
	bool		 close;		/* Connection: close */
	bool		 keep_alive;	/* Connection: keep-alive */
	bool		 expect_continue;
	const char	*content_type;
	const char	*origin;
	const char	*last_event_id;
};

#define FORM_MAX_FIELDS	32

struct form {
	const char	*names[FORM_MAX_FIELDS];
	const char	*values[FORM_MAX_FIELDS];
	size_t		 count;
};

/* form_parse writes a terminator after the last field: buf[len] too. */
enum http_parse	 http_parse_head(char *, size_t, size_t, struct http_head *,
		    const char **);
int		 form_parse(char *, size_t, struct form *, const char **);
const char	*form_get(const struct form *, const char *);
size_t		 form_get_all(const struct form *, const char *, const char **,
		    size_t);
int		 query_get(const char *, const char *, char *, size_t);

#endif

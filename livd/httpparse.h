/* Parsing HTTP/1.x request heads (read only) and url-encoded forms. */
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

/*
 * A piece of the buffer parsed, which is never written: not terminated.
 * p is NULL when the piece is absent.
 */
struct http_span {
	const char	*p;
	size_t		 len;
};

struct http_head {
	struct http_span method;
	struct http_span path;
	struct http_span query;		/* after '?' */
	int		 minor;		/* HTTP/1.minor */
	size_t		 size;		/* bytes up to and including the blank line */
	int64_t		 content_length;	/* -1: none */
	bool		 chunked;
	bool		 close;		/* Connection: close */
	bool		 keep_alive;	/* Connection: keep-alive */
	bool		 expect_continue;
	bool		 upgrade;	/* Connection: upgrade */
	struct http_span authorization;
	struct http_span content_type;
	struct http_span origin;
	struct http_span last_event_id;
	struct http_span forwarded_for;	/* X-Forwarded-For, the last one */
	struct http_span if_none_match;
	struct http_span upgrade_to;	/* Upgrade: */
	struct http_span ws_key;	/* Sec-WebSocket-Key */
	struct http_span ws_version;	/* Sec-WebSocket-Version */
	struct http_span ws_protocol;	/* Sec-WebSocket-Protocol */
	struct http_span raw;		/* the whole head, for http_head_find */
};

/* An address; IPv4 as IPv4-mapped IPv6, so that one compare fits both. */
struct http_addr {
	unsigned char	 b[16];
};

#define HTTP_ADDR_MAX	46	/* an address as text, with its NUL */

/* The addresses of a net: ADDR/BITS, or one ADDR. */
struct http_net {
	struct http_addr addr;
	unsigned	 bits;		/* of b, IPv4's counted from 96 */
};

#define FORM_MAX_FIELDS	32

struct form {
	const char	*names[FORM_MAX_FIELDS];
	const char	*values[FORM_MAX_FIELDS];
	size_t		 count;
};

/* form_parse writes a terminator after the last field: buf[len] too. */
enum http_parse	 http_parse_head(const char *, size_t, size_t,
		    struct http_head *, const char **);
bool		 http_span_is(struct http_span, const char *);
bool		 http_has_token(struct http_span, const char *);
struct http_span http_head_find(const struct http_head *, const char *);
int		 form_parse(char *, size_t, struct form *, const char **);
const char	*form_get(const struct form *, const char *);
size_t		 form_get_all(const struct form *, const char *, const char **,
		    size_t);
int		 query_get(struct http_span, const char *, char *, size_t);
bool		 http_etag_match(struct http_span, const char *);
bool		 http_addr_parse(const char *, size_t, struct http_addr *);
void		 http_addr_format(const struct http_addr *, char *, size_t);
bool		 http_net_parse(const char *, size_t, struct http_net *);
bool		 http_net_has(const struct http_net *, const struct http_addr *);
bool		 http_nets_have(const struct http_net *, size_t,
		    const struct http_addr *);
void		 http_forwarded(struct http_span, const struct http_net *,
		    size_t, struct http_addr *);

#endif

/*
 * The hooks' HTTP client: libcurl's multi interface driven by livd's
 * libevent loop. A request is a signed JSON POST; its answer (or why there
 * is none) comes back in a callback on a later loop turn, never inside the
 * call that made it, so no hook ever blocks the loop or its caller.
 */
#ifndef LIVD_HOOKCLIENT_H
#define LIVD_HOOKCLIENT_H

#include <stddef.h>

struct event_base;
struct hookclient_req;

enum hookclient_outcome {
	HOOKCLIENT_ANSWERED,	/* status and body are the application's */
	HOOKCLIENT_TIMEOUT,	/* no whole answer within the timeout */
	HOOKCLIENT_UNREACHABLE,	/* no connection: refused, unresolved... */
	HOOKCLIENT_TOO_LARGE	/* the answer's body was over the limit */
};

struct hookclient_result {
	enum hookclient_outcome	 outcome;
	long			 status;	/* HTTP status, when answered */
	const char		*body;		/* NUL-terminated */
	size_t			 len;
	const char		*type;		/* Content-Type, or NULL */
	const char		*error;		/* why, when not answered */
	double			 seconds;	/* from start to answer */
};

typedef void hookclient_cb(void *, const struct hookclient_result *);

int	 hookclient_init(struct event_base *);
void	 hookclient_shutdown(void);
struct hookclient_req *hookclient_post(const char *, const char *, size_t,
	    const char *, double, size_t, hookclient_cb *, void *);
void	 hookclient_cancel(struct hookclient_req *);

#endif

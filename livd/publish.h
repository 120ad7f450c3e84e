/* Turning a request into an event: check it, encode it once, send it. */
#ifndef LIVD_PUBLISH_H
#define LIVD_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;
struct msg_input;
struct target;

enum publish_status {
	PUBLISH_OK,
	PUBLISH_UNKNOWN_VERB,
	PUBLISH_INVALID,	/* a missing or extra argument */
	PUBLISH_FORBIDDEN,	/* a browser may not send this verb */
	PUBLISH_TOO_LARGE,	/* over max_event */
	PUBLISH_NO_MEMORY,	/* over max_memory (budget.h) */
	PUBLISH_FORWARD		/* a browser's, for hooks.input: not sent */
};

struct publish_result {
	size_t		 reached;
	uint64_t	 seq;
	bool		 deferred;	/* went to the cluster: done tells */
	void		(*done)(void *, uint64_t, const char *);
	void		*arg;
};

enum publish_status publish(struct msg_input *, const struct target *,
		    struct client *, struct publish_result *, char *, size_t);
enum publish_status publish_check(struct msg_input *, char *, size_t);

#endif

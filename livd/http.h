/*
 * A lean HTTP/1.1 server on libevent: one struct event per connection,
 * no buffers while a poll is held, replies written straight from shared
 * encoded answers. Routes and transports sit on top (routes.c,
 * longpoll.c).
 */
#ifndef LIVD_HTTP_H
#define LIVD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include <event2/event_struct.h>

#include "httpparse.h"
#include "hub.h"

struct blob;
struct evbuffer;

enum conn_state {
	CONN_READING,		/* between requests, or reading one */
	CONN_HELD,		/* a long-poll waits for events */
	CONN_WRITING,		/* a reply is partly written */
	CONN_STREAMING,		/* an event stream stays open */
	CONN_CLOSING		/* closed on the next loop turn */
};

struct conn {
	int			 fd;
	enum conn_state		 state;
	bool			 keep_alive;	/* after the current reply */
	bool			 head_only;	/* a HEAD request */
	bool			 continued;	/* 100 Continue was sent */
	bool			 http10;	/* the request was HTTP/1.0 */
	short			 armed;		/* the events ev waits for */
	struct event		 ev;
	char			*in;		/* input not yet handled */
	size_t			 inlen;
	size_t			 incap;
	struct evbuffer		*out;		/* output not yet written */
	struct waiter		 waiter;	/* while a poll is held */
	void			(*deadline)(struct conn *);
	float			 hold;		/* a stream's heartbeat */
	double			 request_at;	/* first byte of a partial request */
	TAILQ_ENTRY(conn)	 link;
};

/* A parsed request as handlers see it. */
struct request {
	struct http_head	 head;
	char			*body;
	size_t			 bodylen;
	struct client		*client;	/* for /client/UUID/... */
};

struct http_stats {
	uint64_t	 connections;
	uint64_t	 requests;
	uint64_t	 bytes_out;
	size_t		 open;
};

extern struct http_stats http_stats;

int	 http_listen(const char *, char *, size_t);
void	 http_shutdown(void);
void	 http_set_limits(void);

void	 http_reply(struct conn *, int, const char *, const char *,
	    const void *, size_t);
void	 http_reply_blob(struct conn *, int, const char *, struct blob *);
void	 http_error(struct conn *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 http_hold(struct conn *, double, void (*)(struct conn *));
void	 http_stream_start(struct conn *, const char *, double,
	    void (*)(struct conn *));
void	 http_stream_write(struct conn *, const char *, size_t);
void	 http_stream_end(struct conn *);
bool	 http_streaming(const struct conn *);

#define HTTP_NO_LENGTH	((size_t)-1)

/* routes.c */
void	 routes_dispatch(struct conn *, struct request *);
int	 routes_preflight(struct request *);
void	 routes_free(void);

#endif

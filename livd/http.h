/*
 * A lean HTTP/1.1 server on libevent: one struct event per connection,
 * no buffers while a poll is held, replies written straight from shared
 * encoded answers. It knows no application: a listener is given a
 * handler (routes.c), and a transport that keeps a connection past its
 * request (longpoll.c, sse.c) becomes the connection's owner, which is
 * told when the connection goes. nginx's core knows no more of nchan.
 */
#ifndef LIVD_HTTP_H
#define LIVD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event_struct.h>

#include "httpparse.h"

struct blob;
struct client;
struct conn;
struct evbuffer;
struct request;

/* What a listener serves. */
struct http_handler {
	/* A whole request: answer it, or hold or stream the connection. */
	void	(*dispatch)(struct conn *, struct request *);
	/*
	 * The head announces a body, not yet read: false when the handler
	 * refuses it and has answered (413, or what its route says first);
	 * the connection then closes with the body unread.
	 */
	bool	(*admit)(struct conn *, struct request *);
	/* The listener is gone: free what the handler kept. */
	void	(*shutdown)(void);
	/*
	 * May a page at this origin read the answers (CORS)? NULL: no page
	 * of another origin may.
	 */
	bool	(*cors)(struct http_span);
};

/*
 * The transport that holds a connection past its request. Its state
 * lives in the connection (owner_data), so a held poll costs no
 * allocation; a reply ends the hold, and the owner is forgotten.
 */
struct http_owner {
	/* Held or streaming and quiet for the time asked: answer or beat. */
	void	(*deadline)(struct conn *, void *);
	/* The connection goes while held: let go of it, free nothing. */
	void	(*closed)(struct conn *, void *);
	/*
	 * A stream's peer sent something (NULL: ignored): read it with
	 * http_stream_read() until it returns 0 or -1, or end the stream.
	 */
	void	(*input)(struct conn *, void *);
};

/* Room for an owner's state: a hub waiter (two pointers), and two
 * words more for a WebSocket's (ws.c). */
#define HTTP_OWNER_SIZE	(4 * sizeof(void *))

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
	/* Bits, so that hold fits beside them and a conn stays as small. */
	bool			 keep_alive:1;	/* after the current reply */
	bool			 head_only:1;	/* a HEAD request */
	bool			 continued:1;	/* 100 Continue was sent */
	bool			 http10:1;	/* the request was HTTP/1.0 */
	bool			 more:1;	/* input waits unread in the socket */
	bool			 rdhup:1;	/* the peer has closed its side */
	bool			 eof:1;		/* ... and all it sent is read */
	bool			 processing:1;	/* inside conn_process */
	short			 armed;		/* the events ev waits for */
	float			 hold;		/* a stream's heartbeat */
	struct event		 ev;
	char			*in;		/* input not yet handled */
	size_t			 inlen;
	size_t			 incap;
	struct evbuffer		*out;		/* output not yet written */
	const struct http_handler *handler;	/* its listener's */
	const struct http_owner	*owner;		/* NULL: none holds it */
	_Alignas(void *) unsigned char owner_data[HTTP_OWNER_SIZE];
	char			*origin;	/* CORS: the page answers go to */
	struct http_addr	 peer;		/* the address it came from */
	double			 request_at;	/* first byte of a partial request */
	size_t			 counted;	/* its buffers, in the budget */
	TAILQ_ENTRY(conn)	 link;
};

/* A parsed request as handlers see it. */
struct request {
	struct http_head	 head;
	const char		*body;
	size_t			 bodylen;
	struct client		*client;	/* the handler's: /client/UUID/ */
	/* The client's: the peer's, or behind trusted_proxies the one
	 * they forwarded. */
	struct http_addr	 addr;
};

struct http_stats {
	uint64_t	 connections;
	uint64_t	 requests;
	uint64_t	 bytes_out;
	size_t		 open;
};

extern struct http_stats http_stats;

int	 http_listen(const char *, const struct http_handler *, char *,
	    size_t);
void	 http_shutdown(void);

void	 http_reply(struct conn *, int, const char *, const char *,
	    const void *, size_t);
void	 http_reply_blob(struct conn *, int, const char *, struct blob *);
void	 http_reply_tagged(struct conn *, const struct request *,
	    const char *, const char *, const char *, size_t, struct blob *);
void	 http_error(struct conn *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	*http_own(struct conn *, const struct http_owner *);
struct conn *http_owner_conn(void *);
void	 http_hold(struct conn *, double);
void	 http_stream_start(struct conn *, const char *, double);
void	 http_stream_write(struct conn *, const char *, size_t);
void	 http_stream_end(struct conn *);
void	 http_upgrade(struct conn *, const char *, double);
ssize_t	 http_stream_read(struct conn *, void *, size_t);
bool	 http_streaming(const struct conn *);

#define HTTP_NO_LENGTH	((size_t)-1)

/* A longer Origin is no web origin: no CORS for it. */
#define HTTP_ORIGIN_MAX	256

#endif

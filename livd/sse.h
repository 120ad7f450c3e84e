/* The Server-Sent Events transport: GET /client/UUID/events. */
#ifndef LIVD_SSE_H
#define LIVD_SSE_H

struct conn;
struct request;

void	sse_events(struct conn *, struct request *);

#endif

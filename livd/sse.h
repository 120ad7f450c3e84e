/* The Server-Sent Events transport: GET /client/UUID/events, /stream. */
#ifndef LIVD_SSE_H
#define LIVD_SSE_H

#include <stdint.h>

#include "frame.h"

struct client;
struct conn;
struct request;

void	sse_events(struct conn *, struct request *);
int	sse_resume(struct conn *, const struct request *, uint64_t *);
void	sse_start(struct conn *, struct client *, enum frame_format);

#endif

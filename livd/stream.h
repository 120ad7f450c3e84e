/* GET /stream: a page connects and streams in one request. */
#ifndef LIVD_STREAM_H
#define LIVD_STREAM_H

struct conn;
struct request;

void	stream_open(struct conn *, struct request *);

#endif

/* The long-poll transport: GET /client/UUID/output?since=SEQ. */
#ifndef LIVD_LONGPOLL_H
#define LIVD_LONGPOLL_H

#include <stdint.h>

struct conn;
struct request;
struct waiter;

void	longpoll_output(struct conn *, struct request *);
int	longpoll_parse_seq(const char *, uint64_t *);
void	longpoll_closed(struct conn *, void *);
struct conn *longpoll_conn(struct waiter *);

#endif

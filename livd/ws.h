/* The WebSocket transport: GET /client/UUID/ws. */
#ifndef LIVD_WS_H
#define LIVD_WS_H

#include <stddef.h>

struct client;
struct conn;
struct form;
struct request;

/*
 * An input event from the page (POST /client/UUID/input's fields): 200
 * when it went out, else the status, with why in the buffer.
 */
typedef int	(*ws_input_fn)(struct client *, const struct form *, char *,
		    size_t);

void	ws_upgrade(struct conn *, struct request *, ws_input_fn);
void	ws_free(void);

#endif

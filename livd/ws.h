/* The WebSocket transport: GET /client/UUID/ws. */
#ifndef LIVD_WS_H
#define LIVD_WS_H

#include <stddef.h>

#include "hook.h"

struct client;
struct conn;
struct form;
struct request;

/*
 * An input event from the page (POST /client/UUID/input's fields): 200
 * when it went out, else the status, with why in the buffer; 0 when it
 * went to the input hook, whose call is set and will call back.
 */
typedef int	(*ws_input_fn)(struct client *, const struct form *,
		    hook_input_cb *, void *, struct hook_call **, char *,
		    size_t);

void	ws_upgrade(struct conn *, struct request *, ws_input_fn);
void	ws_upgrade_required(struct conn *);
void	ws_free(void);

#endif

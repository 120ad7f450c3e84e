/*
 * Hooks: the application hears its pages (SPEC "Hooks"). connect decides
 * who a page is (auth: hook), input takes a browser's event of a verb
 * with forward: true, presence hears each page come and go. Transports
 * (POST /connect, GET /stream, POST /input, WebSocket frames) call
 * hook_connect and hook_input and are called back with the outcome.
 */
#ifndef LIVD_HOOK_H
#define LIVD_HOOK_H

#include <stddef.h>
#include <jansson.h>

#include "metrics.h"

struct client;
struct conn;
struct hook_call;
struct http_addr;
struct http_head;
struct msg_input;

/*
 * What the connect hook decided. status 200: connect the page as
 * principal at locations (the application's, else those asked for; n
 * may be 0 when neither named one). Otherwise answer the page status
 * with {"error": error}.
 */
struct hook_connect_answer {
	int			 status;
	const char		*error;
	const char		*principal;
	const char *const	*locations;
	size_t			 n;
};

/* The strings live until the callback returns. */
typedef void hook_connect_cb(void *, const struct hook_connect_answer *);
/* status 200 (error NULL), or the page's status and {"error": error}. */
typedef void hook_input_cb(void *, int, const char *);

void	 hook_init(void);
void	 hook_reload(void);
void	 hook_shutdown(void);
struct hook_call *hook_connect(const char *const *, size_t,
	    const struct http_head *, const struct http_addr *,
	    hook_connect_cb *, void *);
struct hook_call *hook_input(const struct client *, const struct msg_input *,
	    hook_input_cb *, void *);
void	 hook_forget(struct hook_call *);
void	*hook_hold(struct conn *, struct hook_call *);
json_t	*hook_status_json(void);

#endif

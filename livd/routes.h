/* The browser side's routes, as one HTTP handler for http_listen(). */
#ifndef LIVD_ROUTES_H
#define LIVD_ROUTES_H

struct http_handler;

extern const struct http_handler routes_handler;

#endif

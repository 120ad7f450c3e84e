/* POST /api: the control protocol over HTTP, for an API token. */
#ifndef LIVD_API_H
#define LIVD_API_H

#include <stdbool.h>

#include "http.h"

extern const struct http_handler api_handler;

bool	 api_admit(struct conn *, struct request *);
void	 api_serve(struct conn *, struct request *);
void	 api_free(void);

#endif

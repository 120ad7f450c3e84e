/* The daemon's global state: its loop, configuration and verb table. */
#ifndef LIVD_LIVD_H
#define LIVD_LIVD_H

#include "config.h"

struct event_base;
struct verbs;
struct blob;

/* The example pages, served at /examples/NAME with the demo. */
#define LIVD_EXAMPLES	2
extern const char *const livd_examples[LIVD_EXAMPLES];

struct livd {
	struct event_base	*base;
	struct config		 cfg;		/* in force: file, then flags */
	const char		*config_path;
	struct verbs		*verbs;
	char			*listen_name;	/* the bound address */
	double			 started;	/* wall clock */
	struct blob		*livepage_js;
	struct blob		*demo_html;
	struct blob		*examples[LIVD_EXAMPLES];	/* as named */
};

extern struct livd livd;

int	livd_reload(char *, size_t);
void	livd_stop(void);

#endif

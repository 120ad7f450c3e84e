/* livd.yaml: the configuration, one table of keys. */
#ifndef LIVD_CONFIG_H
#define LIVD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yamlfile.h"

struct config {
	char		*listen;
	char		*api_listen;		/* NULL: /api on listen */
	char		*socket;
	char		*verbs;
	char		*share;
	double		 refresh;
	char		*auth;
	char		*secret_file;
	char		*allowed_origins;	/* space-separated */
	double		 input_rate;		/* events a second, 0: any */
	uint64_t	 input_burst;
	char		*socket_mode;		/* octal */
	char		*socket_group;
	bool		 insecure_open;
	bool		 metrics;		/* GET /metrics */
	bool		 demo;			/* GET /demo/ */
	double		 presence_timeout;	/* 0: twice refresh plus 5 s */
	uint64_t	 queue_limit;
	uint64_t	 history_limit;
	uint64_t	 max_args;
	uint64_t	 max_body;
	uint64_t	 max_api_body;
	uint64_t	 max_header;
	uint64_t	 max_line;
	uint64_t	 max_locations;		/* of one client */
	uint64_t	 max_event;
	uint64_t	 max_output;
	uint64_t	 max_clients;
	uint64_t	 max_connections;
	uint64_t	 max_polls;
	double		 keepalive_timeout;
	char		*log_level;
	char		*state_file;
	char		*trusted_proxies;	/* space-separated ADDR[/BITS] */
	char		*redis;
	char		*node_id;
	/* hooks: the application's URLs (NULL: none), see hook.c */
	char		*hooks_connect;
	char		*hooks_input;
	char		*hooks_presence;
	double		 hooks_timeout;
	char		*hooks_forward_headers;	/* space-separated */
	uint64_t	 hooks_queue_limit;
	/* the memory budget and the limits on hostile load (budget.h) */
	uint64_t	 max_memory;
	uint64_t	 history_bytes;		/* of one location */
	double		 history_ttl;		/* 0: presence timeout + 300 */
	double		 connect_rate;		/* a source's, 0: any */
	uint64_t	 connect_burst;
	uint64_t	 location_limit;	/* at once, in open mode */
};

void	config_defaults(struct config *);
int	config_read(struct config *, const char *, struct yamlerr *);
int	config_parse(struct config *, const char *, const char *, size_t,
	    struct yamlerr *);
int	config_set(struct config *, const char *, const char *, char *, size_t);
int	config_check(const struct config *, char *, size_t);
void	config_copy(struct config *, const struct config *);
bool	config_keep_restart(struct config *, const struct config *);
void	config_free(struct config *);

#endif

/* Cluster mode: livd nodes sharing events and presence through Redis. */
#ifndef LIVD_CLUSTER_H
#define LIVD_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct client;
struct msg;
struct target;

typedef void (*cluster_done)(void *, uint64_t, const char *);
typedef void (*cluster_list_done)(void *, json_t *);

int		 cluster_init(char *, size_t);
void		 cluster_shutdown(void);
const char	*cluster_status(void);
const char	*cluster_node(void);
bool		 cluster_up(void);
void		 cluster_send(struct msg *, const struct target *, cluster_done,
		    void *);
void		 cluster_gather(const char *, const char *, cluster_list_done,
		    void *);
void		 cluster_refresh(const char *, double);
void		 cluster_reload(void);

#endif

/*
 * The hub: clients, locations, principals, presence and fan-out.
 *
 * The hub owns every client. An event sent to a location is appended once
 * to that location's history queue; events for one client or principal go
 * to each client's own queue. A client's pending events are those of both
 * queues above its cursor, so fan-out to a location costs one append plus
 * waking the polls held there.
 *
 * A held poll is a waiter: a transport (long-poll, control poll) that the
 * hub wakes when the client has events, or releases when the client goes
 * or another poll replaces it. The hub detaches a waiter before calling
 * it, and the transport calls hub_unwait() when its connection goes, so
 * neither side is ever left holding a freed pointer.
 */
#ifndef LIVD_HUB_H
#define LIVD_HUB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "hmap.h"
#include "queue.h"

struct blob;
struct client;
struct event_base;
struct msg;
struct target;
struct waiter;

struct waiter_ops {
	const char	*name;
	/* The client has events: answer them now. */
	void		(*wake)(struct waiter *, struct client *);
	/* The client left or another poll took over: answer idle. */
	void		(*release)(struct waiter *, struct client *);
};

struct waiter {
	const struct waiter_ops	*ops;
	struct client		*client;	/* set while attached */
};

TAILQ_HEAD(client_list, client);

/*
 * A client at a location other than its first. The first is inline in
 * struct client, so the common page at one location costs nothing more;
 * a page at several has an array of these, one per extra location.
 */
struct guest {
	struct client		*client;
	struct location		*location;
	TAILQ_ENTRY(guest)	 link;		/* the location's guests */
};
TAILQ_HEAD(guest_list, guest);

struct principal {
	struct hnode		 node;
	char			*name;
	struct client_list	 clients;
	size_t			 count;
};

/* A principal online at a location, with how many of its pages are. */
struct member {
	struct hnode		 node;		/* keyed by the principal's name */
	size_t			 count;
};

struct location {
	struct hnode		 node;
	char			*name;
	struct hmap		 members;
	size_t			 watchers;	/* clients with presence */
	struct client_list	 clients;	/* here first */
	struct guest_list	 guests;	/* here besides elsewhere */
	struct client_list	 waiting;	/* here first, holding a poll */
	size_t			 count;		/* clients and guests */
	struct queue		 history;
	double			 refresh;	/* 0: the global interval */
	double			 empty_since;
	TAILQ_ENTRY(location)	 link;

	/* The last answer made here, shared by clients at the same cursor. */
	struct blob		*cache;
	uint64_t		 cache_from;
	uint64_t		 cache_to;
	double			 cache_refresh;
};

enum client_state { CLIENT_IDLE, CLIENT_HELD, CLIENT_READY };

/* The small fields sit after uuid, in what would be padding. */
struct client {
	struct hnode		 node;
	char			 uuid[33];
	bool			 polled;	/* has acknowledged with since */
	bool			 presence;	/* wants join and leave events */
	bool			 backfilling;	/* history on its way (cluster) */
	bool			 ephemeral;	/* leaves with its stream (/stream) */
	uint8_t			 nmore;		/* extra locations */
	enum client_state	 state;
	float			 input_tokens;	/* the input rate's bucket */
	struct principal	*principal;
	struct location		*location;	/* the first */
	struct guest		*more;		/* the others, nmore of them */
	uint64_t		 start;		/* hub seq at connect */
	uint64_t		 cursor;	/* highest seq acknowledged */
	struct queue		 own;		/* events for this client alone */
	struct waiter		*waiter;
	double			 last_seen;
	double			 held_since;
	double			 input_at;
	TAILQ_ENTRY(client)	 at_location;
	TAILQ_ENTRY(client)	 of_principal;
	TAILQ_ENTRY(client)	 state_link;	/* idle, waiting or ready */
};

enum target_kind {
	TARGET_ALL, TARGET_LOCATION, TARGET_CLIENT, TARGET_PRINCIPAL
};
/* Each kind as messages spell it: "all", "location", ... */
extern const char *const hub_target_names[];

/* Something that sees every event as it is sent (livctl tail). */
struct observer {
	void			(*seen)(struct observer *, struct msg *,
				    const struct target *);
	TAILQ_ENTRY(observer)	 link;
};

/* What cluster mode (cluster.c) hears of; NULL when standalone. */
struct cluster_hooks {
	void	(*connect)(struct client *);
	void	(*close)(struct client *);
	void	(*member)(struct location *, const char *, bool);
	bool	(*backfill)(struct client *);
	/* Is the principal at the location on another node? */
	bool	(*elsewhere)(const char *, const char *);
	/* The principals at a location on other nodes (an array to free). */
	const char **(*principals)(const char *, size_t *);
};

/*
 * Who hears a page come to and leave each of its locations (hook.c's
 * presence hook); NULL: nobody. Unlike join and leave events, which are a
 * principal's, these are each page's, and only the pages of this node.
 */
struct hub_watch {
	void	(*arrived)(const struct client *, const struct location *);
	void	(*left)(const struct client *, const struct location *);
};

struct target {
	enum target_kind	 kind;
	const char		*name;		/* location or principal */
	struct client		*client;
};

struct hub_stats {
	uint64_t	events;
	uint64_t	deliveries;
	uint64_t	answers;
	uint64_t	resyncs;
	uint64_t	connects;
	uint64_t	expired;
};

/* The longest names livd takes, in bytes. */
#define HUB_LOCATION_MAX	1024
#define HUB_PRINCIPAL_MAX	256

/*
 * The refresh intervals livd takes, in seconds (config, livctl, cluster):
 * under a millisecond counts as 0, which would answer every held poll
 * at once and have the pages poll in a loop.
 */
#define HUB_REFRESH_MIN		0.001
#define HUB_REFRESH_MAX		3600

/* Locations of one client at most (max_locations is checked too). */
#define HUB_LOCATIONS_MAX	30

/* The client's i-th location, 0 being the first. */
#define HUB_CLIENT_AT(c, i) \
	((i) == 0 ? (c)->location : (c)->more[(i) - 1].location)

/* Events in one answer at most; the page polls again for the rest. */
#define HUB_ANSWER_MAX		1000
#define HUB_ANSWER_BYTES	(1024 * 1024)

/* What a client gets next (hub_take). */
struct batch {
	struct msg	*msgs[HUB_ANSWER_MAX];
	size_t		 count;
	uint64_t	 seq;		/* acknowledging it covers them all */
	bool		 shareable;	/* the same for every client here */
};

struct hub {
	struct hmap		 clients;
	struct hmap		 locations;
	struct hmap		 principals;
	TAILQ_HEAD(, location)	 all;
	struct client_list	 idle;		/* not polling, oldest first */
	struct client_list	 ready;		/* to be woken */
	size_t			 count;
	size_t			 waiting;	/* polls held */
	uint64_t		 seq;
	double			 refresh;
	bool			 quiet;		/* no presence events */
	double			 fanout_start;	/* 0: no fan-out under way */
	struct event		*flush_ev;
	struct event		*sweep_ev;
	struct hub_stats	 stats;
	TAILQ_HEAD(, observer)	 observers;
	const struct cluster_hooks *cluster;
	const struct hub_watch	*watch;
};

extern struct hub hub;

void		 hub_init(struct event_base *, uint64_t, double);
void		 hub_shutdown(void);
struct client	*hub_connect(const char *, const char *, bool, char *,
		    size_t);
struct client	*hub_connect_at(const char *const *, size_t, const char *,
		    bool, char *, size_t);
struct client	*hub_find(const char *);
void		 hub_close(struct client *);
void		 hub_ack(struct client *, uint64_t);
void		 hub_rewind(struct client *, uint64_t);
bool		 hub_pending(const struct client *);
bool		 hub_take_input(struct client *);
void		 hub_wait(struct client *, struct waiter *);
void		 hub_unwait(struct waiter *);
const struct batch *hub_take(struct client *);
struct blob	*hub_answer(struct client *, uint64_t *);
struct blob	*hub_idle(struct client *);
uint64_t	 hub_next_seq(void);
void		 hub_advance_seq(uint64_t);
const char	*hub_names_check(const char *, const char *);
size_t		 hub_send(struct msg *, const struct target *);
size_t		 hub_recipients(const struct target *,
		    void (*)(struct client *, void *), void *);
bool		 hub_reaches(const struct target *, const char *);
void		 hub_observe(struct observer *);
void		 hub_unobserve(struct observer *);
struct location	*hub_location(const char *);
struct location	*hub_location_make(const char *);
struct client	*hub_restore(const char *, const char *const *, size_t,
		    const char *, bool, char *, size_t);
size_t		 hub_at(struct location *, void (*)(struct client *, void *),
		    void *);
struct location	*hub_client_location(const struct client *, const char *);
size_t		 hub_queued(const struct client *);
const char	**hub_principals(const struct location *, size_t *);
void		 hub_presence_elsewhere(const char *, const char *, bool);
double		 hub_refresh(const struct location *);
bool		 hub_refresh_valid(double);
bool		 hub_set_refresh(const char *, double);
double		 hub_presence_timeout(const struct location *);
void		 hub_sweep(void);
void		 hub_backfilled(const char *, struct msg **, size_t, bool);
void		 hub_resync(struct location *);
void		 hub_client_resync(struct client *);

#endif

/* The control socket: newline-delimited JSON requests and answers. */
#ifndef LIVD_CONTROL_H
#define LIVD_CONTROL_H

#include <stdbool.h>
#include <jansson.h>

#include "hub.h"

struct ctl_conn;
struct ctl_slot;
struct ctlspec;

/* Where a connection without a socket (ctl_sink_new) puts its answers. */
struct ctl_sink {
	/* One answer line, without its newline, in request order. */
	void	(*answer)(void *, const char *, size_t);
	/* May the command run? If not, it answers (ctl_error) and says no. */
	bool	(*admit)(void *, struct ctl_conn *, const struct ctlspec *);
	/* Every line of a ctl_sink_run that returned false is answered. */
	void	(*done)(void *);
};

int	 control_listen(const char *);
void	 control_adopt(int);
void	 control_shutdown(void);

struct ctl_conn *ctl_sink_new(const struct ctl_sink *, void *);
bool	 ctl_sink_run(struct ctl_conn *, const char *, size_t, bool);
void	 ctl_sink_free(struct ctl_conn *);
bool	 ctl_admit(struct ctl_conn *, const struct ctlspec *);

void	 ctl_ok(struct ctl_conn *, json_t *);
void	 ctl_ok_raw(struct ctl_conn *, const char *, size_t);
void	 ctl_error(struct ctl_conn *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
struct ctl_slot *ctl_defer(struct ctl_conn *, bool, void (*)(void *), void *);
void	 ctl_slot_ok(struct ctl_slot *, json_t *);
void	 ctl_slot_ok_raw(struct ctl_slot *, const char *, size_t);
void	 ctl_slot_error(struct ctl_slot *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 ctl_stream(struct ctl_conn *, const char *, void (*)(void *),
	    void *);
void	 ctl_stream_line(struct ctl_conn *, const char *, size_t);
const char *ctl_string(json_t *, const char *);

/* commands.c */
void	 commands_run(struct ctl_conn *, const char *, size_t);

#endif

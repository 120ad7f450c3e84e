/* The control socket: newline-delimited JSON requests and answers. */
#ifndef LIVD_CONTROL_H
#define LIVD_CONTROL_H

#include <stdbool.h>
#include <jansson.h>

#include "hub.h"

struct ctl_conn;
struct ctl_slot;

int	 control_listen(const char *);
void	 control_adopt(int);
void	 control_shutdown(void);

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

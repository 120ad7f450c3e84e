/* livctl: a thin client of livd's control socket. */
#ifndef LIVCTL_H
#define LIVCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

/* A control command: one row of ../livd/ctl.def plus its printer. */
struct command {
	const char	*name;
	const char	*options;
	const char	*arguments;
	const char	*summary;
	void		(*print)(json_t *);
};

extern const struct command	commands[];
extern const size_t		ncommands;
extern const char		*socket_path;
extern bool			 json_output;

void	fail(int, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
int	connect_socket(void);
void	usage_line(FILE *, const struct command *);
void	print_event(json_t *, FILE *);

struct buf;

/* stdin.c, line.c */
int	send_stdin(json_t *);
int	stdin_request(const char *, size_t, json_t *, struct buf *, char *,
	    size_t);

#endif

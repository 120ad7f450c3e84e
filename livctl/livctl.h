/* livctl: a thin client of livd's control socket. */
#ifndef LIVCTL_H
#define LIVCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "../livd/ctlspec.h"

struct buf;

extern const char		*socket_path;
extern bool			 json_output;
extern bool			 quiet;
extern bool			 in_shell;

/* livctl.c */
int	complain(int, const char *, ...) __attribute__((format(printf, 2, 3)));
int	connect_socket(void);
void	synopsis(FILE *, const struct ctlspec *);
void	usage_line(FILE *, const struct ctlspec *);
int	run_command(int, char **);

/* print.c */
void	print_answer(const struct ctlspec *, json_t *, json_t *);
void	print_clients(json_t *, json_t *);
void	print_event(json_t *, FILE *);

/* stdin.c, line.c */
int	send_stdin(json_t *);
int	stdin_request(const char *, size_t, json_t *, struct buf *, char *,
	    size_t);

/* shell.c */
int	shell(void);
int	shell_split(char *, char **, int);

#endif

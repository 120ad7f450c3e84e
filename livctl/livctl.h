/* livctl: a thin client of livd's control socket. */
#ifndef LIVCTL_H
#define LIVCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

struct buf;

/* A control command: one row of ../livd/ctl.def plus its printer. */
struct command {
	const char	*name;
	const char	*options;
	const char	*arguments;
	const char	*summary;
	void		(*print)(json_t *, json_t *);
};

extern const struct command	commands[];
extern const size_t		ncommands;
extern const char		*socket_path;
extern bool			 json_output;
extern bool			 quiet;
extern bool			 in_shell;

/* livctl.c */
int	complain(int, const char *, ...) __attribute__((format(printf, 2, 3)));
int	connect_socket(void);
const struct command *find_command(const char *, bool *);
void	synopsis(FILE *, const struct command *);
void	usage_line(FILE *, const struct command *);
int	run_command(int, char **);

/* print.c: print_NAME for each row of ctl.def */
#define CTL(name, options, arguments, summary) \
	void print_##name(json_t *, json_t *);
#include "../livd/ctl.def"
#undef CTL
void	print_event(json_t *, FILE *);

/* stdin.c, line.c */
int	send_stdin(json_t *);
int	stdin_request(const char *, size_t, json_t *, struct buf *, char *,
	    size_t);

/* shell.c */
int	shell(void);
int	shell_split(char *, char **, int);

#endif

/*
 * livctl: a thin client of livd's control socket. It turns a command line
 * into one JSON request (the rows of ctl.def say how), prints the answer
 * as text, and maps failures to exit codes: 1 livd refused, 2 usage,
 * 3 livd not reachable. livd checks everything else.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../livd/util.h"
#include "livctl.h"

const char	*socket_path;
bool		 json_output;
bool		 quiet;		/* the shell completing: say nothing */
bool		 in_shell;	/* errors stay short */

/* Say what went wrong, as "livctl: message"; returns code. */
int
complain(int code, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return code;
	fputs("livctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* One option or argument as usage shows it: "-l LOCATION", "--local". */
static void
put_key(FILE *f, const struct ctlspec_key *k)
{
	if (k->letter)
		fprintf(f, "-%c", k->letter);
	else
		fprintf(f, "--%s", k->name);
	if (k->type != CTLSPEC_FLAG)
		fprintf(f, " %s", k->metavar);
}

/* The command's synopsis, from its spec: "send [-l LOCATION] ... VERB". */
void
synopsis(FILE *f, const struct ctlspec *cmd)
{
	fputs(cmd->name, f);
	for (size_t i = 0; i < cmd->noptions; i++) {
		fputs(" [", f);
		put_key(f, &cmd->options[i]);
		fputs(cmd->options[i].type == CTLSPEC_STRINGS ? "]..." : "]", f);
	}
	for (size_t i = 0; i < cmd->nargs; i++) {
		const struct ctlspec_key *a = &cmd->args[i];

		fprintf(f, a->optional ? " [%s%s]" : " %s%s", a->metavar,
		    a->type == CTLSPEC_LIST ? "..." : "");
	}
}

/* A CTL_STDIN command's other form: "send [-l LOCATION | ...] -". */
static void
synopsis_stdin(FILE *f, const struct ctlspec *cmd)
{
	const char *sep = " [";

	fputs(cmd->name, f);
	for (size_t i = 0; i < cmd->noptions; i++) {
		if (cmd->options[i].kind == CTLSPEC_TEXT ||
		    cmd->options[i].type == CTLSPEC_FLAG)
			continue;	/* only the targets */
		fputs(sep, f);
		put_key(f, &cmd->options[i]);
		sep = " | ";
	}
	fputs(sep[1] == '|' ? "] -" : " -", f);
}

void
usage_line(FILE *f, const struct ctlspec *cmd)
{
	if (in_shell && f == stderr)
		return;		/* one line per error; help COMMAND says more */
	fputs("usage: livctl [-j] [-s SOCKET] ", f);
	synopsis(f, cmd);
	if (cmd->flags & CTL_STDIN) {
		fputs("\n       livctl [-j] [-s SOCKET] ", f);
		synopsis_stdin(f, cmd);
	}
	fputc('\n', f);
}

static void
usage(FILE *f)
{
	const struct ctlspec *all = ctlspec_table();

	fprintf(f, "usage: livctl [-j] [-s SOCKET] COMMAND [ARG...]\n"
	    "       livctl [-s SOCKET] [shell]\n"
	    "       livctl --version\n\ncommands:\n");
	for (size_t i = 0; i < ctlspec_count; i++)
		fprintf(f, "  %-9s %s\n", all[i].name, all[i].summary);
}

/*
 * Was the socket put there by someone livctl may talk to? Like tmux,
 * livctl sends nothing to a socket another user could have made: it must
 * be ours or root's, or its directory's owner's when root gave them that
 * directory (its parent root's and writable by no one else, as systemd
 * makes /run/livd for a service's user). NULL, or why not, in why.
 */
static const char *
socket_untrusted(const char *path, char *why, size_t size)
{
	char dir[sizeof ((struct sockaddr_un *)0)->sun_path + 3], *slash;
	struct stat st, d, up;
	struct passwd *pw;

	if (lstat(path, &st) != 0 || st.st_uid == getuid() || st.st_uid == 0)
		return NULL;	/* connect says what is missing */
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof dir, ".");
	else
		slash[slash == dir] = '\0';
	if (stat(dir, &d) == 0 && d.st_uid == st.st_uid &&
	    (d.st_mode & 022) == 0) {
		strcat(dir, "/..");	/* room was made for it */
		if (stat(dir, &up) == 0 && up.st_uid == 0 &&
		    (up.st_mode & 022) == 0)
			return NULL;
	}
	if ((pw = getpwuid(st.st_uid)) != NULL)
		snprintf(why, size, "it belongs to %s, not to you or root",
		    pw->pw_name);
	else
		snprintf(why, size, "it belongs to uid %u, not to you or root",
		    (unsigned)st.st_uid);
	return why;
}

/* Connect to the control socket; -1 (said) when livd is not there. */
int
connect_socket(void)
{
	struct sockaddr_un sun;
	char why[128];
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof sun.sun_path) {
		complain(3, "cannot connect to %s: path too long", socket_path);
		return -1;
	}
	if (socket_untrusted(socket_path, why, sizeof why) != NULL) {
		complain(3, "cannot connect to %s: %s", socket_path, why);
		return -1;
	}
	memcpy(sun.sun_path, socket_path, strlen(socket_path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		complain(3, "cannot connect to %s: %s", socket_path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return complain(3, "lost connection to %s: %s",
			    socket_path, strerror(errno));
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one answer line; NULL (said) if livd goes away first. */
static char *
read_answer(int fd)
{
	struct buf b;
	char c;

	buf_init(&b);
	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf_free(&b);
			complain(3, "lost connection to %s", socket_path);
			return NULL;
		}
		if (c == '\n')
			break;
		buf_addc(&b, c);
	}
	return buf_steal(&b);
}

/*
 * tail: after the first answer, every line is an event livd sent; print
 * each as it comes (text form, or the JSON line with -j) until livd goes.
 */
static int
follow(int fd)
{
	FILE *f = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *o = json_loadb(line, (size_t)n, 0, NULL);

		if (json_output)
			fputs(line, stdout);
		else if (json_object_get(o, "event") != NULL)
			print_event(json_object_get(o, "event"), stdout);
		else if (o != NULL && !json_is_true(json_object_get(o, "ok"))) {
			rc = complain(1, "%s", json_string_value(
			    json_object_get(o, "error")));
			json_decref(o);
			break;
		}
		fflush(stdout);
		json_decref(o);
	}
	free(line);
	fclose(f);
	return rc;
}

/*
 * poll: the events are printed, now acknowledge them, on the same
 * connection. Killed before this, livctl loses nothing: livd still holds
 * them for the next poll.
 */
static int
acknowledge(int fd, json_t *client, json_t *seq)
{
	json_t *req = json_pack("{s:s,s:O,s:O}", "cmd", "ack", "client",
	    client, "seq", seq);
	char *text = json_dumps(req, JSON_COMPACT), *line;
	int rc;

	json_decref(req);
	rc = write_all(fd, text, strlen(text));
	free(text);
	if (rc != 0 || write_all(fd, "\n", 1) != 0 ||
	    (line = read_answer(fd)) == NULL)
		return 3;
	if (strncmp(line, "{\"ok\":true", 10) != 0)
		rc = complain(1, "cannot acknowledge: %s", line);
	free(line);
	return rc;
}

/* A number argument: an integer when it is one, so seqs stay exact. */
static json_t *
number_value(const char *s, double d)
{
	if (strchr(s, '.') == NULL && d >= 0 && d < 9007199254740992.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

/* Send one request and print its answer; returns the exit code. */
static int
request(json_t *req, const struct ctlspec *cmd)
{
	char *text = json_dumps(req, JSON_COMPACT), *line;
	json_t *answer;
	json_error_t jerr;
	int fd, rc = 0;

	if (text == NULL)
		return complain(1, "arguments must be valid UTF-8");
	if ((fd = connect_socket()) < 0) {
		free(text);
		return 3;
	}
	rc = write_all(fd, text, strlen(text));
	free(text);
	if (rc != 0 || (rc = write_all(fd, "\n", 1)) != 0 ||
	    (line = read_answer(fd)) == NULL) {
		close(fd);
		return 3;
	}
	if ((answer = json_loads(line, 0, &jerr)) == NULL ||
	    !json_is_object(answer)) {
		json_decref(answer);
		free(line);
		close(fd);
		return complain(3, "unreadable answer from livd: %s", jerr.text);
	}
	if (json_output)
		printf("%s\n", line);
	if (!json_is_true(json_object_get(answer, "ok"))) {
		const char *msg = json_string_value(json_object_get(answer,
		    "error"));

		rc = complain(1, "%s", msg ? msg : "request failed");
	} else if (!json_output)
		print_answer(cmd, answer, req);
	fflush(stdout);
	if (rc == 0 && (cmd->flags & CTL_ACKS) &&
	    json_array_size(json_object_get(answer, "events")) > 0)
		rc = acknowledge(fd, json_object_get(req, "client"),
		    json_object_get(answer, "seq"));
	json_decref(answer);
	free(line);
	if (rc == 0 && (cmd->flags & CTL_STREAMS))
		return follow(fd);
	close(fd);
	return rc;
}

static int
usage_error(const struct ctlspec *cmd, const char *fmt, const char *what)
{
	fputs("livctl: ", stderr);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	usage_line(stderr, cmd);
	return 2;
}

/*
 * A repeated option's value: the first is sent as a string, as the
 * option without repeats always was; more make a list. Takes v.
 */
static json_t *
add_to_list(json_t *old, json_t *v)
{
	json_t *list;

	if (old == NULL)
		return v;
	list = json_is_array(old) ? json_incref(old) : json_pack("[O]", old);
	json_array_append_new(list, v);
	return list;
}

/* Read the command's options into req; the index after them, or -2. */
static int
read_options(const struct ctlspec *cmd, int argc, char **argv, json_t *req)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *value = NULL;
		const struct ctlspec_key *o;
		char name[64];
		json_t *v;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] == '-') {
			snprintf(name, sizeof name, "%s", a + 2);
			if (strchr(name, '=') != NULL) {
				*strchr(name, '=') = '\0';
				value = strchr(a, '=') + 1;
			}
			o = ctlspec_long(cmd, name);
		} else {
			o = ctlspec_letter(cmd, a[1]);
			if (o != NULL && o->type != CTLSPEC_FLAG && a[2] != '\0')
				value = a + 2;
			else if (o != NULL && a[2] != '\0')
				o = NULL;
		}
		if (o == NULL) {
			fprintf(stderr, "livctl: unknown option '%s' for %s\n",
			    a, cmd->name);
			usage_line(stderr, cmd);
			return -2;
		}
		if (o->type == CTLSPEC_FLAG) {
			if (value != NULL) {
				usage_error(cmd, "option '%s' takes no value", a);
				return -2;
			}
			json_object_set_new(req, o->key, json_true());
			continue;
		}
		if (value == NULL) {
			if (i + 1 == argc) {
				usage_error(cmd, "option '%s' needs a value", a);
				return -2;
			}
			value = argv[++i];
		}
		if (o->type == CTLSPEC_NUMBER) {
			double d;

			if (parse_seconds(value, &d) != 0) {
				usage_error(cmd, "invalid number '%s'", value);
				return -2;
			}
			v = number_value(value, d);
		} else if ((v = json_string(value)) == NULL) {
			complain(1, "'%s' must be valid UTF-8", value);
			return -1;
		}
		if (o->type == CTLSPEC_STRINGS)
			v = add_to_list(json_object_get(req, o->key), v);
		json_object_set_new(req, o->key, v);
	}
	return i;
}

/*
 * Turn "[options] args" into request keys as the command's row says.
 * Returns 0, STDIN_MODE for "send ... -", or an exit code (said).
 */
#define STDIN_MODE	(-1)
static int
build_request(const struct ctlspec *cmd, int argc, char **argv, json_t *req)
{
	int i = read_options(cmd, argc, argv, req);

	if (i < 0)
		return i == -2 ? 2 : 1;
	if ((cmd->flags & CTL_STDIN) && i + 1 == argc &&
	    strcmp(argv[i], "-") == 0)
		return STDIN_MODE;
	for (size_t k = 0; k < cmd->nargs; k++) {
		const struct ctlspec_key *a = &cmd->args[k];
		json_t *v;

		if (a->type == CTLSPEC_LIST) {
			json_t *list = json_array();

			for (; i < argc; i++) {
				if ((v = json_string(argv[i])) == NULL) {
					json_decref(list);
					return complain(1,
					    "arguments must be valid UTF-8");
				}
				json_array_append_new(list, v);
			}
			json_object_set_new(req, a->key, list);
			break;
		}
		if (i == argc) {
			if (a->optional)
				break;
			return usage_error(cmd, "missing %s", a->missing);
		}
		if (a->type == CTLSPEC_NUMBER) {
			double d;

			if (parse_seconds(argv[i], &d) != 0)
				return usage_error(cmd, "invalid number '%s'",
				    argv[i]);
			v = number_value(argv[i], d);
		} else if ((v = json_string(argv[i])) == NULL)
			return complain(1, "arguments must be valid UTF-8");
		json_object_set_new(req, a->key, v);
		i++;
	}
	if (i < argc)
		return usage_error(cmd, "too many arguments for %s", cmd->name);
	return 0;
}

/* Run one command line ("who /chat"); returns its exit code. */
int
run_command(int argc, char **argv)
{
	const struct ctlspec *cmd;
	bool ambiguous;
	json_t *req;
	int rc;

	/* livctl's own commands (shell) start by their full name only. */
	if ((cmd = ctlspec_lookup(argv[0], &ambiguous)) != NULL &&
	    (cmd->flags & CTL_LIVCTL) && strcmp(cmd->name, argv[0]) != 0)
		cmd = NULL;
	if (cmd == NULL) {
		complain(2, "%s command '%s'%s", ambiguous ? "ambiguous" :
		    "unknown", argv[0], in_shell ? " (help lists them)" : "");
		if (!in_shell)
			usage(stderr);
		return 2;
	}
	req = json_pack("{s:s}", "cmd", cmd->name);
	rc = build_request(cmd, argc - 1, argv + 1, req);
	if (rc == STDIN_MODE)
		rc = send_stdin(req);
	else if (rc == 0)
		rc = request(req, cmd);
	json_decref(req);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char sock[512];
	int ch;

	while ((ch = getopt_long(argc, argv, "+hjs:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j': json_output = true; break;
		case 's': socket_path = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'R': printf("livctl %s\n", LIVD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (socket_path == NULL)
		socket_path = socket_default(sock, sizeof sock);
	if (argc == 0 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		return shell();
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[0], "shell") == 0) {
		if (argc > 1)
			return complain(2, "shell takes no arguments");
		return shell();
	}
	return run_command(argc, argv);
}

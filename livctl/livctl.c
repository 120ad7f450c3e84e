/*
 * livctl: a thin client of livd's control socket. It turns a command line
 * into one JSON request (the rows of ctl.def say how), prints the answer
 * as text, and maps failures to exit codes: 1 livd refused, 2 usage,
 * 3 livd not reachable. livd checks everything else.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../livd/util.h"
#include "livctl.h"

const struct command commands[] = {
#define CTL(name, options, arguments, summary) \
	{ #name, options, arguments, summary, print_##name },
#include "../livd/ctl.def"
#undef CTL
};
const size_t ncommands = countof(commands);

const char	*socket_path;
bool		 json_output;
bool		 quiet;		/* the shell completing: say nothing */
bool		 in_shell;	/* errors stay short */

/*
 * The options of a command row: "l:location" is -l or --location with a
 * value, ":ttl#" only --ttl with a number, "n:dry_run!" -n or --dry-run
 * without a value.
 */
struct option_spec {
	char	letter;
	char	key[48];
	char	name[48];	/* the long form: key with - for _ */
	bool	number;
	bool	flag;
};

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

size_t
command_options(const struct command *cmd, struct option_spec *out,
    size_t max)
{
	size_t count = 0;

	for (const char *p = cmd->options; *p != '\0' && count < max;) {
		struct option_spec *o = &out[count];
		size_t n = 0;
		const char *w;

		while (*p == ' ')
			p++;
		while (p[n] != '\0' && p[n] != ' ')
			n++;
		if (n == 0)
			break;
		memset(o, 0, sizeof *o);
		w = p;
		if (w[0] == ':')
			w++;
		else if (n > 2 && w[1] == ':') {
			o->letter = w[0];
			w += 2;
		}
		snprintf(o->key, sizeof o->key, "%.*s", (int)(p + n - w), w);
		o->number = strchr(o->key, '#') != NULL;
		o->flag = strchr(o->key, '!') != NULL;
		o->key[strcspn(o->key, "#!")] = '\0';
		snprintf(o->name, sizeof o->name, "%s", o->key);
		for (char *q = o->name; *q != '\0'; q++)
			if (*q == '_')
				*q = '-';
		count++;
		p += n;
	}
	return count;
}

static void
put_upper(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc(*s >= 'a' && *s <= 'z' ? *s - 32 : (*s == '-' ? '_' : *s),
		    f);
}

/* The command's synopsis, from its row: "send [-l LOCATION] ... VERB". */
void
synopsis(FILE *f, const struct command *cmd)
{
	struct option_spec opts[8];
	size_t nopts = command_options(cmd, opts, countof(opts));
	char arg[128];

	fputs(cmd->name, f);
	for (size_t i = 0; i < nopts; i++) {
		if (opts[i].letter)
			fprintf(f, " [-%c", opts[i].letter);
		else
			fprintf(f, " [--%s", opts[i].name);
		if (!opts[i].flag) {
			fputc(' ', f);
			put_upper(f, strcmp(opts[i].key, "client") == 0 ?
			    "uuid" : opts[i].key);
		}
		fputc(']', f);
	}
	for (const char *p = cmd->arguments; *p != '\0';) {
		size_t n = 0;
		bool optional, rest;

		while (*p == ' ')
			p++;
		while (p[n] != '\0' && p[n] != ' ')
			n++;
		if (n == 0)
			break;
		snprintf(arg, sizeof arg, "%.*s", (int)n, p);
		optional = strchr(arg, '?') != NULL;
		rest = strchr(arg, '*') != NULL;
		arg[strcspn(arg, "?#*")] = '\0';
		fputc(' ', f);
		if (optional)
			fputc('[', f);
		put_upper(f, strcmp(arg, "args") == 0 ? "arg" :
		    strcmp(arg, "client") == 0 ? "uuid" : arg);
		if (rest)
			fputs("...", f);
		if (optional)
			fputc(']', f);
		p += n;
	}
}

void
usage_line(FILE *f, const struct command *cmd)
{
	if (in_shell && f == stderr)
		return;		/* one line per error; help COMMAND says more */
	fputs("usage: livctl [-j] [-s SOCKET] ", f);
	synopsis(f, cmd);
	if (strcmp(cmd->name, "send") == 0)
		fprintf(f, "\n       livctl [-j] [-s SOCKET] send [-l LOCATION | "
		    "-c UUID | -p PRINCIPAL] -");
	fputc('\n', f);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: livctl [-j] [-s SOCKET] COMMAND [ARG...]\n"
	    "       livctl [-s SOCKET] [shell]\n"
	    "       livctl --version\n\ncommands:\n");
	for (size_t i = 0; i < ncommands; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-9s %s\n", "shell", "an interactive shell on the "
	    "control socket");
}

/* Exact name, else a unique prefix (as tmux does); NULL if none. */
const struct command *
find_command(const char *name, bool *ambiguous)
{
	const struct command *found = NULL;
	size_t n = strlen(name);

	*ambiguous = false;
	for (size_t i = 0; i < ncommands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	for (size_t i = 0; n > 0 && i < ncommands; i++) {
		if (strncmp(commands[i].name, name, n) != 0)
			continue;
		if (found != NULL) {
			*ambiguous = true;
			return NULL;
		}
		found = &commands[i];
	}
	return found;
}

/* Connect to the control socket; -1 (said) when livd is not there. */
int
connect_socket(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof sun.sun_path) {
		complain(3, "cannot connect to %s: path too long", socket_path);
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
request(json_t *req, const struct command *cmd)
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
		cmd->print(answer, req);
	fflush(stdout);
	if (rc == 0 && strcmp(cmd->name, "poll") == 0 &&
	    json_array_size(json_object_get(answer, "events")) > 0)
		rc = acknowledge(fd, json_object_get(req, "client"),
		    json_object_get(answer, "seq"));
	json_decref(answer);
	free(line);
	if (rc == 0 && strcmp(cmd->name, "tail") == 0)
		return follow(fd);
	close(fd);
	return rc;
}

static int
usage_error(const struct command *cmd, const char *fmt, const char *what)
{
	fputs("livctl: ", stderr);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	usage_line(stderr, cmd);
	return 2;
}

/* Read the command's options into req; the index after them, or -2. */
static int
read_options(const struct command *cmd, int argc, char **argv, json_t *req)
{
	struct option_spec opts[8];
	size_t nopts = command_options(cmd, opts, countof(opts));
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *value = NULL;
		const struct option_spec *o = NULL;
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
			for (size_t k = 0; k < nopts; k++)
				if (strcmp(opts[k].name, name) == 0)
					o = &opts[k];
		} else {
			for (size_t k = 0; k < nopts; k++)
				if (opts[k].letter == a[1])
					o = &opts[k];
			if (o != NULL && !o->flag && a[2] != '\0')
				value = a + 2;
			else if (o != NULL && o->flag && a[2] != '\0')
				o = NULL;
		}
		if (o == NULL) {
			fprintf(stderr, "livctl: unknown option '%s' for %s\n",
			    a, cmd->name);
			usage_line(stderr, cmd);
			return -2;
		}
		if (o->flag) {
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
		if (o->number) {
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
build_request(const struct command *cmd, int argc, char **argv, json_t *req)
{
	const char *p = cmd->arguments;
	char spec[64];
	int i = read_options(cmd, argc, argv, req);

	if (i < 0)
		return i == -2 ? 2 : 1;
	if (strcmp(cmd->name, "send") == 0 && i + 1 == argc &&
	    strcmp(argv[i], "-") == 0)
		return STDIN_MODE;
	while (*p != '\0') {
		size_t n = 0;
		bool optional, number, rest;
		json_t *v;

		while (*p == ' ')
			p++;
		while (p[n] != '\0' && p[n] != ' ')
			n++;
		if (n == 0)
			break;
		snprintf(spec, sizeof spec, "%.*s", (int)n, p);
		p += n;
		optional = strchr(spec, '?') != NULL;
		number = strchr(spec, '#') != NULL;
		rest = strchr(spec, '*') != NULL;
		spec[strcspn(spec, "?#*")] = '\0';
		if (rest) {
			json_t *list = json_array();

			for (; i < argc; i++) {
				if ((v = json_string(argv[i])) == NULL) {
					json_decref(list);
					return complain(1,
					    "arguments must be valid UTF-8");
				}
				json_array_append_new(list, v);
			}
			json_object_set_new(req, spec, list);
			break;
		}
		if (i == argc) {
			if (optional)
				break;
			return usage_error(cmd, "missing %s",
			    strcmp(spec, "client") == 0 ? "UUID" :
			    strcmp(spec, "verb") == 0 ? "VERB" : spec);
		}
		if (number) {
			double d;

			if (parse_seconds(argv[i], &d) != 0)
				return usage_error(cmd, "invalid number '%s'",
				    argv[i]);
			v = number_value(argv[i], d);
		} else if ((v = json_string(argv[i])) == NULL)
			return complain(1, "arguments must be valid UTF-8");
		json_object_set_new(req, spec, v);
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
	const struct command *cmd;
	bool ambiguous;
	json_t *req;
	int rc;

	if ((cmd = find_command(argv[0], &ambiguous)) == NULL) {
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

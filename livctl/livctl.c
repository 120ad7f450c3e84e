/*
 * livctl: a thin client of livd's control socket. It turns a command line
 * into one JSON request (the rows of ctl.def say how), prints the answer
 * as text, and maps failures to exit codes. livd checks everything else.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../livd/util.h"
#include "livctl.h"

static void	print_nothing(json_t *);
static void	print_clients(json_t *);
static void	print_connect(json_t *);
static void	print_poll(json_t *);
static void	print_refresh(json_t *);
static void	print_status(json_t *);
static void	print_stats(json_t *);
static void	print_token(json_t *);
static void	print_verbs(json_t *);
static void	print_who(json_t *);

#define print_reload	print_nothing
#define print_tail	print_nothing
static void	print_send(json_t *);

const struct command commands[] = {
#define CTL(name, options, arguments, summary) \
	{ #name, options, arguments, summary, print_##name },
#include "../livd/ctl.def"
#undef CTL
};
const size_t ncommands = countof(commands);

const char	*socket_path;
bool		 json_output;

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

static size_t
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

void
usage_line(FILE *f, const struct command *cmd)
{
	struct option_spec opts[8];
	size_t nopts = command_options(cmd, opts, countof(opts));
	char arg[128];

	fprintf(f, "usage: livctl [-j] [-s SOCKET] %s", cmd->name);
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
		if (strcmp(arg, "args") == 0)
			snprintf(arg, sizeof arg, "arg");
		fputc(' ', f);
		if (optional)
			fputc('[', f);
		for (char *q = arg; *q != '\0'; q++)
			fputc(*q >= 'a' && *q <= 'z' ? *q - 32 : *q, f);
		if (rest)
			fputs("...", f);
		if (optional)
			fputc(']', f);
		p += n;
	}
	if (strcmp(cmd->name, "send") == 0)
		fprintf(f, "\n       livctl [-j] [-s SOCKET] send [-l LOCATION | "
		    "-c UUID | -p PRINCIPAL] -");
	fputc('\n', f);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: livctl [-j] [-s SOCKET] COMMAND [ARG...]\n"
	    "       livctl --version\n\ncommands:\n");
	for (size_t i = 0; i < ncommands; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
}

void
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("livctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* Exact name, else a unique prefix (as tmux does). */
static const struct command *
find_command(const char *name)
{
	const struct command *found = NULL;
	size_t n = strlen(name);

	for (size_t i = 0; i < ncommands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	for (size_t i = 0; i < ncommands; i++) {
		if (strncmp(commands[i].name, name, n) != 0)
			continue;
		if (found != NULL)
			fail(2, "ambiguous command '%s'", name);
		found = &commands[i];
	}
	return found;
}

/* Connect to the control socket; exit 3 when livd is not there. */
int
connect_socket(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof sun.sun_path)
		fail(3, "cannot connect to %s: path too long", socket_path);
	memcpy(sun.sun_path, socket_path, strlen(socket_path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fail(3, "cannot connect to %s: %s", socket_path,
		    strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		fail(3, "cannot connect to %s: %s", socket_path,
		    strerror(errno));
	return fd;
}

static void
write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail(3, "lost connection to %s: %s", socket_path,
			    strerror(errno));
		s += n;
		len -= (size_t)n;
	}
}

/* Read one answer line; exit 3 if livd goes away first. */
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
		if (n <= 0)
			fail(3, "lost connection to %s", socket_path);
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

	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *o = json_loadb(line, (size_t)n, 0, NULL);

		if (json_output)
			fputs(line, stdout);
		else if (json_object_get(o, "event") != NULL)
			print_event(json_object_get(o, "event"), stdout);
		else if (o != NULL && !json_is_true(json_object_get(o, "ok"))) {
			fprintf(stderr, "livctl: %s\n", json_string_value(
			    json_object_get(o, "error")));
			json_decref(o);
			free(line);
			fclose(f);
			return 1;
		}
		fflush(stdout);
		json_decref(o);
	}
	free(line);
	fclose(f);
	return 0;
}

/* Send one request and handle its answer; returns the exit code. */
static int
request(json_t *req, const struct command *cmd)
{
	char *text = json_dumps(req, JSON_COMPACT), *line;
	json_t *answer;
	json_error_t jerr;
	int fd = connect_socket(), rc = 0;

	if (text == NULL)
		fail(1, "arguments must be valid UTF-8");
	write_all(fd, text, strlen(text));
	write_all(fd, "\n", 1);
	free(text);
	line = read_answer(fd);
	if ((answer = json_loads(line, 0, &jerr)) == NULL ||
	    !json_is_object(answer))
		fail(3, "unreadable answer from livd: %s", jerr.text);
	if (json_output)
		printf("%s\n", line);
	if (!json_is_true(json_object_get(answer, "ok"))) {
		const char *msg = json_string_value(json_object_get(answer,
		    "error"));

		fprintf(stderr, "livctl: %s\n", msg ? msg : "request failed");
		rc = 1;
	} else if (!json_output)
		cmd->print(answer);
	fflush(stdout);
	json_decref(answer);
	free(line);
	if (rc == 0 && strcmp(cmd->name, "tail") == 0)
		return follow(fd);
	close(fd);
	return rc;
}

/*
 * Turn "[options] args" into request keys as the command's row says;
 * usage errors exit 2.
 */
static bool
build_request(const struct command *cmd, int argc, char **argv, json_t *req)
{
	struct option_spec opts[8];
	size_t nopts;
	char spec[64];
	const char *p = cmd->arguments;
	int i;

	nopts = command_options(cmd, opts, countof(opts));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *value = NULL;
		const struct option_spec *o = NULL;
		char name[64];
		json_t *v;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
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
			exit(2);
		}
		if (o->flag) {
			if (value != NULL) {
				fprintf(stderr, "livctl: option '%s' takes no "
				    "value\n", a);
				usage_line(stderr, cmd);
				exit(2);
			}
			json_object_set_new(req, o->key, json_true());
			continue;
		}
		if (value == NULL) {
			if (i + 1 == argc) {
				fprintf(stderr, "livctl: option '%s' needs a "
				    "value\n", a);
				usage_line(stderr, cmd);
				exit(2);
			}
			value = argv[++i];
		}
		if (o->number) {
			double d;

			if (parse_seconds(value, &d) != 0) {
				fprintf(stderr, "livctl: invalid number '%s'\n",
				    value);
				usage_line(stderr, cmd);
				exit(2);
			}
			v = json_real(d);
		} else if ((v = json_string(value)) == NULL)
			fail(1, "'%s' must be valid UTF-8", value);
		json_object_set_new(req, o->key, v);
	}
	if (strcmp(cmd->name, "send") == 0 && i + 1 == argc &&
	    strcmp(argv[i], "-") == 0)
		return true;
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
				v = json_string(argv[i]);
				if (v == NULL)
					fail(1, "arguments must be valid UTF-8");
				json_array_append_new(list, v);
			}
			json_object_set_new(req, spec, list);
			break;
		}
		if (i == argc) {
			if (optional)
				break;
			fprintf(stderr, "livctl: %s needs %s\n", cmd->name,
			    strcmp(spec, "client") == 0 ? "a UUID" :
			    strcmp(spec, "verb") == 0 ? "a VERB" : spec);
			usage_line(stderr, cmd);
			exit(2);
		}
		if (number) {
			double d;

			if (parse_seconds(argv[i], &d) != 0) {
				fprintf(stderr, "livctl: invalid number '%s'\n",
				    argv[i]);
				usage_line(stderr, cmd);
				exit(2);
			}
			v = json_real(d);
		} else if ((v = json_string(argv[i])) == NULL)
			fail(1, "arguments must be valid UTF-8");
		json_object_set_new(req, spec, v);
		i++;
	}
	if (i < argc) {
		fprintf(stderr, "livctl: too many arguments for %s\n", cmd->name);
		usage_line(stderr, cmd);
		exit(2);
	}
	return false;
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
	const struct command *cmd;
	json_t *req;
	int ch, rc;

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
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	if ((cmd = find_command(argv[0])) == NULL) {
		fprintf(stderr, "livctl: unknown command '%s'\n", argv[0]);
		usage(stderr);
		return 2;
	}
	req = json_pack("{s:s}", "cmd", cmd->name);
	if (build_request(cmd, argc - 1, argv + 1, req)) {
		rc = send_stdin(req);
		json_decref(req);
		return rc;
	}
	rc = request(req, cmd);
	json_decref(req);
	return rc;
}

static void
print_nothing(json_t *answer)
{
	(void)answer;
}

static void
print_connect(json_t *answer)
{
	printf("%s\n", json_string_value(json_object_get(answer, "uuid")));
}

static void
print_token(json_t *answer)
{
	printf("%s\n", json_string_value(json_object_get(answer, "token")));
}

static void
print_refresh(json_t *answer)
{
	printf("%g\n", json_number_value(json_object_get(answer, "refresh")));
}

/* Text form: verb and all arguments but the last, then the last. */
void
print_event(json_t *event, FILE *f)
{
	const char *key, *verb = json_string_value(json_object_get(event,
	    "verb"));
	json_t *value;
	size_t n = 0, i = 0;

	json_object_foreach(event, key, value)
		if (strcmp(key, "seq") != 0 && strcmp(key, "verb") != 0)
			n++;
	fputs(verb ? verb : "?", f);
	json_object_foreach(event, key, value) {
		if (strcmp(key, "seq") == 0 || strcmp(key, "verb") == 0)
			continue;
		fputc(++i == n ? '\n' : ' ', f);
		fputs(json_is_string(value) ? json_string_value(value) : "", f);
	}
	fputc('\n', f);
}

static void
print_poll(json_t *answer)
{
	json_t *events = json_object_get(answer, "events"), *e;
	size_t i;

	if (json_array_size(events) == 0) {
		printf("idle\n");
		return;
	}
	json_array_foreach(events, i, e)
		print_event(e, stdout);
}

/* key: value lines; nested objects as parent.key: value. */
static void
print_keys(json_t *o, const char *prefix)
{
	const char *key;
	json_t *value;

	json_object_foreach(o, key, value) {
		if (*prefix == '\0' && strcmp(key, "ok") == 0)
			continue;
		if (json_is_object(value)) {
			char nested[256];

			snprintf(nested, sizeof nested, "%s%s.", prefix, key);
			print_keys(value, nested);
		} else if (json_is_string(value))
			printf("%s%s: %s\n", prefix, key,
			    json_string_value(value));
		else if (json_is_integer(value))
			printf("%s%s: %" JSON_INTEGER_FORMAT "\n", prefix, key,
			    json_integer_value(value));
		else if (json_is_number(value))
			printf("%s%s: %g\n", prefix, key,
			    json_number_value(value));
		else if (json_is_boolean(value))
			printf("%s%s: %s\n", prefix, key,
			    json_is_true(value) ? "yes" : "no");
	}
}

static void
print_status(json_t *answer)
{
	print_keys(answer, "");
}

static void
print_stats(json_t *answer)
{
	print_keys(answer, "");
}

static void
print_verbs(json_t *answer)
{
	json_t *verbs = json_object_get(answer, "verbs"), *v, *arg;
	const char *name;
	size_t i;

	/* livd sends them sorted by name. */
	json_object_foreach(verbs, name, v) {
		fputs(name, stdout);
		json_array_foreach(json_object_get(v, "args"), i, arg)
			printf(" %s", json_string_value(arg));
		putchar('\n');
	}
}

static void
print_who(json_t *answer)
{
	json_t *list, *item;
	size_t i;

	if ((list = json_object_get(answer, "principals")) != NULL) {
		json_array_foreach(list, i, item)
			printf("%s\n", json_string_value(item));
		return;
	}
	json_array_foreach(json_object_get(answer, "online"), i, item)
		printf("%s %s\n", json_string_value(json_object_get(item,
		    "location")), json_string_value(json_object_get(item,
		    "principal")));
}

/* send prints nothing, but --dry-run prints who would receive it. */
static void
print_send(json_t *answer)
{
	if (json_object_get(answer, "clients") != NULL)
		print_clients(answer);
}

static void
print_clients(json_t *answer)
{
	json_t *item;
	size_t i;

	json_array_foreach(json_object_get(answer, "clients"), i, item)
		printf("%s %s %s\n",
		    json_string_value(json_object_get(item, "uuid")),
		    json_string_value(json_object_get(item, "principal")),
		    json_string_value(json_object_get(item, "location")));
}

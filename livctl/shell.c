/*
 * livctl shell: every livctl command without the "livctl" in front, on a
 * readline prompt that names the socket. Tab completes commands, verbs
 * after send, locations, principals and uuids, asking livd for them, so
 * the shell knows nothing livd does not say. History is kept in
 * ~/.livctl_history; Ctrl-D leaves.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "../livd/util.h"
#include "livctl.h"

#define SHELL_MAX_WORDS	256

static const char *builtins[] = { "help", "quit" };

/* Candidates for the word being completed, and where the generator is. */
static char	**candidates;
static size_t	  ncandidates, next_candidate;

/*
 * Split a line into words as a shell would: 'single' and "double" quotes,
 * backslash escapes. Returns the count, or -1 for an unterminated quote.
 */
int
shell_split(char *line, char **words, int max)
{
	char *in = line, *out = line;
	int n = 0;

	for (;;) {
		char quote = 0;

		while (*in == ' ' || *in == '\t')
			in++;
		if (*in == '\0')
			return n;
		if (n == max)
			return -1;
		words[n++] = out;
		for (; *in != '\0'; in++) {
			if (quote == '\'') {
				if (*in == '\'')
					quote = 0;
				else
					*out++ = *in;
			} else if (quote == '"') {
				if (*in == '"')
					quote = 0;
				else if (*in == '\\' && (in[1] == '"' ||
				    in[1] == '\\'))
					*out++ = *++in;
				else
					*out++ = *in;
			} else if (*in == '\'' || *in == '"')
				quote = *in;
			else if (*in == '\\' && in[1] != '\0')
				*out++ = *++in;
			else if (*in == ' ' || *in == '\t')
				break;
			else
				*out++ = *in;
		}
		if (quote != 0)
			return -1;
		if (*in != '\0')
			in++;
		*out++ = '\0';
	}
}

/* One quiet request for completion; NULL when livd does not answer. */
static json_t *
ask(const char *cmd)
{
	json_t *answer = NULL;
	char line[65536];
	size_t len = 0;
	int fd;

	quiet = true;
	fd = connect_socket();
	quiet = false;
	if (fd < 0)
		return NULL;
	snprintf(line, sizeof line, "{\"cmd\":\"%s\"}\n", cmd);
	if (write(fd, line, strlen(line)) == (ssize_t)strlen(line)) {
		ssize_t n;

		while (len < sizeof line - 1 && (n = read(fd, line + len,
		    sizeof line - 1 - len)) > 0) {
			len += (size_t)n;
			if (memchr(line, '\n', len) != NULL)
				break;
		}
		answer = json_loadb(line, len, JSON_DISABLE_EOF_CHECK, NULL);
	}
	close(fd);
	return answer;
}

static void
add_candidate(const char *word)
{
	for (size_t i = 0; i < ncandidates; i++)
		if (strcmp(candidates[i], word) == 0)
			return;
	candidates = xrealloc(candidates, (ncandidates + 1) *
	    sizeof *candidates);
	candidates[ncandidates++] = xstrdup(word);
}

static void
clear_candidates(void)
{
	for (size_t i = 0; i < ncandidates; i++)
		free(candidates[i]);
	free(candidates);
	candidates = NULL;
	ncandidates = next_candidate = 0;
}

/* Candidates from a list in livd's answer to cmd: key of each item. */
static void
add_from(const char *cmd, const char *list, const char *key)
{
	json_t *answer = ask(cmd), *item;
	size_t i;

	json_array_foreach(json_object_get(answer, list), i, item)
		if (json_is_string(json_object_get(item, key)))
			add_candidate(json_string_value(json_object_get(item,
			    key)));
	json_decref(answer);
}

/* What a word is to complete: a command, or what a spec key names. */
enum shell_kind { KIND_NONE, KIND_COMMAND, KIND_VERB, KIND_LOCATION,
    KIND_PRINCIPAL, KIND_UUID };

static const enum shell_kind kinds[] = {
	[CTLSPEC_TEXT] = KIND_NONE, [CTLSPEC_LOCATION] = KIND_LOCATION,
	[CTLSPEC_PRINCIPAL] = KIND_PRINCIPAL, [CTLSPEC_CLIENT] = KIND_UUID,
	[CTLSPEC_VERB] = KIND_VERB
};

/* The option a word like "-l" or "--location" is, or NULL. */
static const struct ctlspec_key *
word_option(const struct ctlspec *cmd, const char *word)
{
	if (word[0] != '-' || word[1] == '\0')
		return NULL;
	if (word[1] == '-')
		return ctlspec_long(cmd, word + 2);
	return word[2] == '\0' ? ctlspec_letter(cmd, word[1]) : NULL;
}

/* What the word being completed is, from the words before it. */
static enum shell_kind
word_kind(char **words, int n)
{
	const struct ctlspec *cmd;
	const struct ctlspec_key *o;
	bool ambiguous;
	size_t args = 0;

	if (n == 0)
		return KIND_COMMAND;
	if (strcmp(words[0], "help") == 0)
		return n == 1 ? KIND_COMMAND : KIND_NONE;
	if ((cmd = ctlspec_lookup(words[0], &ambiguous)) == NULL)
		return KIND_NONE;
	o = word_option(cmd, words[n - 1]);
	if (o != NULL && o->type != CTLSPEC_FLAG)
		return kinds[o->kind];
	for (int i = 1; i < n; i++) {
		if (words[i][0] == '-' && words[i][1] != '\0') {
			o = word_option(cmd, words[i]);
			if (o != NULL && o->type != CTLSPEC_FLAG)
				i++;	/* its value */
			continue;
		}
		args++;
	}
	/* The first argument only: a verb's arguments are the page's. */
	if (args > 0 || cmd->nargs == 0)
		return KIND_NONE;
	return kinds[cmd->args[0].kind];
}

static void
gather(enum shell_kind kind)
{
	json_t *answer;
	const char *name;
	json_t *value;

	switch (kind) {
	case KIND_NONE:
		break;
	case KIND_COMMAND:
		for (size_t i = 0; i < ctlspec_count; i++)
			add_candidate(ctlspec_table()[i].name);
		for (size_t i = 0; i < countof(builtins); i++)
			add_candidate(builtins[i]);
		break;
	case KIND_VERB:
		answer = ask("verbs");
		json_object_foreach(json_object_get(answer, "verbs"), name,
		    value)
			add_candidate(name);
		json_decref(answer);
		break;
	case KIND_LOCATION:
		add_from("who", "online", "location");
		break;
	case KIND_PRINCIPAL:
		add_from("who", "online", "principal");
		break;
	case KIND_UUID:
		add_from("clients", "clients", "uuid");
		break;
	}
}

static char *
generate(const char *text, int state)
{
	size_t len = strlen(text);

	if (state == 0)
		next_candidate = 0;
	while (next_candidate < ncandidates) {
		const char *c = candidates[next_candidate++];

		if (strncmp(c, text, len) == 0)
			return xstrdup(c);
	}
	return NULL;
}

static char **
complete(const char *text, int start, int end)
{
	char *before = xstrndup(rl_line_buffer, (size_t)start);
	char *words[SHELL_MAX_WORDS];
	int n = shell_split(before, words, SHELL_MAX_WORDS);

	(void)end;
	rl_attempted_completion_over = 1;	/* no file names */
	clear_candidates();
	if (n >= 0)
		gather(word_kind(words, n));
	free(before);
	return rl_completion_matches(text, generate);
}

static void
help(const char *name)
{
	const struct ctlspec *cmd, *all = ctlspec_table();
	bool ambiguous;

	if (name == NULL) {
		for (size_t i = 0; i < ctlspec_count; i++)
			printf("%-9s %s\n", all[i].name, all[i].summary);
		printf("%-9s %s\n%-9s %s\n", "help", "help [COMMAND]: this, "
		    "or how to use a command", "quit", "leave (or Ctrl-D)");
		return;
	}
	if ((cmd = ctlspec_lookup(name, &ambiguous)) == NULL) {
		complain(2, "%s command '%s'", ambiguous ? "ambiguous" :
		    "unknown", name);
		return;
	}
	fputs("usage: ", stdout);
	synopsis(stdout, cmd);
	printf("\n  %s\n", cmd->summary);
}

/* Ctrl-C clears the line being typed, as in a shell; it does not leave. */
static void
on_interrupt(int sig)
{
	(void)sig;
	if (write(STDOUT_FILENO, "\n", 1) < 0)
		return;
	rl_on_new_line();
	rl_replace_line("", 0);
	rl_redisplay();
}

static char *
history_path(void)
{
	const char *home = getenv("HOME");

	return home && *home ? xprintf("%s/.livctl_history", home) : NULL;
}

/*
 * The interactive shell; leaving it (Ctrl-D, quit) exits 0. Each line
 * goes to the history file as it is entered, so a killed shell keeps it.
 */
int
shell(void)
{
	struct sigaction sa;

	char *prompt = xprintf("livctl %s> ", socket_path);
	char *history = history_path(), *line;
	char *words[SHELL_MAX_WORDS];

	in_shell = true;
	rl_readline_name = "livctl";
	rl_attempted_completion_function = complete;
	rl_completer_quote_characters = "'\"";
	using_history();
	stifle_history(1000);
	if (history != NULL)
		read_history(history);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	while ((line = readline(prompt)) != NULL) {
		char *copy = xstrdup(line);
		int n = shell_split(copy, words, SHELL_MAX_WORDS);

		if (n != 0) {
			add_history(line);
			if (history != NULL && append_history(1, history) != 0)
				write_history(history);
		}
		if (n < 0)
			complain(2, "unterminated quote");
		else if (n > 0 && strcmp(words[0], "help") == 0)
			help(n > 1 ? words[1] : NULL);
		else if (n > 0 && (strcmp(words[0], "quit") == 0 ||
		    strcmp(words[0], "exit") == 0)) {
			free(copy);
			free(line);
			break;
		} else if (n > 0 && strcmp(words[0], "shell") == 0)
			complain(2, "already in the shell");
		else if (n > 0)
			run_command(n, words);
		fflush(stdout);
		free(copy);
		free(line);
	}
	if (line == NULL)
		putchar('\n');
	if (history != NULL)
		history_truncate_file(history, 1000);
	clear_candidates();
	clear_history();
	free(history);
	free(prompt);
	return 0;
}

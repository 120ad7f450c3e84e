/* livd: main, options, signals and the event loop. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "util.h"
#include "budget.h"
#include "api.h"
#include "auth.h"
#include "cluster.h"
#include "control.h"
#include "hook.h"
#include "hookclient.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "state.h"
#include "verbs.h"

#ifndef LIVD_SHARE_DIR
#define LIVD_SHARE_DIR "/usr/local/share/livd"
#endif

struct livd livd;

/* The options that set config keys, so they win over the file. */
struct flag {
	const char	*key;
	const char	*value;
};
static struct flag	flags[8];
static size_t		nflags;

static void
usage(FILE *f)
{
	fprintf(f, "usage: livd [-tvq] [-c CONFIG] [-l [ADDR:]PORT] "
	    "[-s SOCKET] [-V VERBS] [-r SECONDS]\n"
	    "            [--insecure-open] [-h] [--version]\n");
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * The share directory: beside the binary (../share/livd, which finds the
 * source tree's from build/ and the installed one from PREFIX/sbin), else
 * the one this livd was built for.
 */
static char *
find_share(void)
{
	char exe[PATH_MAX], *dir, *path;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (n > 0) {
		exe[n] = '\0';
		dir = dirname(exe);
		path = xprintf("%s/../share/livd/verbs.yaml", dir);
		if (file_exists(path)) {
			free(path);
			return xprintf("%s/../share/livd", dir);
		}
		free(path);
	}
	return xstrdup(LIVD_SHARE_DIR);
}

/* Build the configuration: defaults, then the file, then the flags. */
static int
config_build(struct config *cfg, char *err, size_t errlen)
{
	struct yamlerr yerr = { err, errlen };
	char msg[512], sock[512];

	config_defaults(cfg);
	if (livd.config_path != NULL &&
	    config_read(cfg, livd.config_path, &yerr) != 0)
		return -1;
	for (size_t i = 0; i < nflags; i++)
		if (config_set(cfg, flags[i].key, flags[i].value, msg,
		    sizeof msg) != 0) {
			snprintf(err, errlen, "livd: %s", msg);
			return -1;
		}
	if (config_check(cfg, msg, sizeof msg) != 0) {
		snprintf(err, errlen, "livd: %s", msg);
		return -1;
	}
	if (cfg->share == NULL)
		cfg->share = find_share();
	if (cfg->verbs == NULL)
		cfg->verbs = xprintf("%s/verbs.yaml", cfg->share);
	if (cfg->socket == NULL)
		cfg->socket = xstrdup(socket_default(sock, sizeof sock));
	return 0;
}

const char *const livd_examples[LIVD_EXAMPLES] = {
	"turbo.html", "htmx.html"
};

static struct blob *
load_file(const char *dir, const char *name)
{
	char *path = xprintf("%s/%s", dir, name);
	struct blob *b = NULL;
	struct buf data;
	FILE *f;
	char chunk[8192];
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		log_warn("cannot read %s", path);
		free(path);
		return NULL;
	}
	buf_init(&data);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&data, chunk, n);
	fclose(f);
	b = blob_new(data.data, data.len);
	buf_free(&data);
	free(path);
	return b;
}

static void
load_share(void)
{
	blob_unref(livd.livepage_js);
	blob_unref(livd.demo_html);
	livd.livepage_js = load_file(livd.cfg.share, "livepage.js");
	livd.demo_html = load_file(livd.cfg.share, "demo.html");
	for (size_t i = 0; i < LIVD_EXAMPLES; i++) {
		char *name = xprintf("examples/%s", livd_examples[i]);

		blob_unref(livd.examples[i]);
		livd.examples[i] = load_file(livd.cfg.share, name);
		free(name);
	}
}

static void
apply_log_level(void)
{
	static const char *names[] = { "error", "warning", "info", "debug" };

	for (size_t i = 0; i < countof(names); i++)
		if (strcmp(livd.cfg.log_level, names[i]) == 0)
			log_level = (int)i;
}

/* auth: open lets anyone in as anyone: only on loopback, unless told. */
static bool
open_refused(const struct config *cfg, const char *bound)
{
	return strcmp(cfg->auth, "open") == 0 && !cfg->insecure_open &&
	    strncmp(bound, "127.", 4) != 0 && strncmp(bound, "[::1]", 5) != 0;
}

/*
 * The one loader, at start and at reload: config (defaults, file, flags),
 * then verbs checked against it, then the secret. On failure nothing is
 * left allocated in cfg or verbs and err holds why: "FILE:LINE: message",
 * or, for the secret, the message after prefix.
 */
static int
load_settings(struct config *cfg, struct verbs **verbs, const char *prefix,
    char *err, size_t errlen)
{
	struct yamlerr yerr = { err, errlen };
	char msg[512];

	*verbs = NULL;
	if (config_build(cfg, err, errlen) != 0)
		goto fail;
	if ((*verbs = verbs_load(cfg->verbs, &yerr)) == NULL ||
	    verbs_check_args(*verbs, cfg->max_args, &yerr) != 0 ||
	    verbs_check_forward(*verbs, cfg->hooks_input != NULL, &yerr) != 0)
		goto fail;
	if (cfg->secret_file != NULL &&
	    auth_load(cfg->secret_file, msg, sizeof msg) != 0) {
		snprintf(err, errlen, "%s%s", prefix, msg);
		goto fail;
	}
	return 0;
fail:
	verbs_free(*verbs);
	*verbs = NULL;
	config_free(cfg);
	return -1;
}

/*
 * Re-read config and verbs (SIGHUP, livctl reload). On any error the old
 * ones stay and err holds "FILE:LINE: message". The restart-only keys
 * (listen, socket, redis, node_id) keep their values.
 */
int
livd_reload(char *err, size_t errlen)
{
	struct config cfg;
	struct verbs *verbs;

	if (load_settings(&cfg, &verbs, "", err, errlen) != 0)
		goto fail;
	if (open_refused(&cfg, livd.listen_name)) {
		snprintf(err, errlen, "auth: open on %s needs insecure_open",
		    livd.listen_name);
		goto fail;
	}
	if (cfg.secret_file == NULL)
		auth_free();
	if (config_keep_restart(&cfg, &livd.cfg))
		log_warnx("reload: listen, socket and redis change at restart "
		    "only");
	/* livctl refresh holds until the configured interval changes. */
	if (cfg.refresh != livd.cfg.refresh)
		hub_set_refresh(NULL, cfg.refresh);
	config_free(&livd.cfg);
	livd.cfg = cfg;
	budget.limit = livd.cfg.max_memory;
	verbs_free(livd.verbs);
	livd.verbs = verbs;
	apply_log_level();
	load_share();
	hook_reload();
	log_info("reloaded %s (%zu verbs)", verbs->path, verbs->count);
	return 0;
fail:
	/* load_settings() leaves both empty when it fails. */
	verbs_free(verbs);
	config_free(&cfg);
	log_warnx("reload: %s", err);
	return -1;
}

void
livd_stop(void)
{
	event_base_loopbreak(livd.base);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	char err[1024];

	(void)what; (void)arg;
	if (sig == SIGHUP) {
		log_info("SIGHUP: reloading");
		livd_reload(err, sizeof err);
		return;
	}
	log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	livd_stop();
}

/* Take as many descriptors as the system allows: one per page. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Let go of everything, whatever stage livd reached, and return rc: the
 * one way out of main, so that valgrind finds nothing on any path.
 */
static int
livd_exit(int rc)
{
	if (livd.base != NULL) {
		hook_shutdown();	/* calls out are answered as failures */
		cluster_shutdown();
		hub_shutdown();		/* held polls are answered idle */
	}
	http_shutdown();
	control_shutdown();
	hookclient_shutdown();
	if (livd.base != NULL)
		event_base_free(livd.base);
	verbs_free(livd.verbs);
	auth_free();
	metrics_free();
	blob_unref(livd.livepage_js);
	blob_unref(livd.demo_html);
	for (size_t i = 0; i < LIVD_EXAMPLES; i++)
		blob_unref(livd.examples[i]);
	free(livd.listen_name);
	config_free(&livd.cfg);
	return rc;
}

static void
add_flag(const char *key, const char *value)
{
	flags[nflags].key = key;
	flags[nflags++].value = value;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "insecure-open", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};
	struct event *sig_hup, *sig_term, *sig_int;
	char err[1024], bound[256], apibound[256];
	bool test = false;
	uint64_t seed;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:hl:qr:s:tvV:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': livd.config_path = optarg; break;
		case 'l': add_flag("listen", optarg); break;
		case 's': add_flag("socket", optarg); break;
		case 'V': add_flag("verbs", optarg); break;
		case 'r': add_flag("refresh", optarg); break;
		case 'v': add_flag("log_level", "debug"); break;
		case 'q': add_flag("log_level", "warning"); break;
		case 't': test = true; break;
		case 'h': usage(stdout); return 0;
		case 'R': printf("livd %s\n", LIVD_VERSION); return 0;
		case 'O': add_flag("insecure_open", "true"); break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (load_settings(&livd.cfg, &livd.verbs, "livd: ", err,
	    sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return livd_exit(1);
	}
	if (test)
		return livd_exit(0);
	apply_log_level();
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (getrandom(&seed, sizeof seed, 0) == (ssize_t)sizeof seed)
		hash_init(seed);

	livd.base = event_base_new();
	livd.started = now_wall();
	/* seq starts from the clock, so it grows across restarts. */
	hub_init(livd.base, (uint64_t)(now_wall() * 1e6), livd.cfg.refresh);
	if (hookclient_init(livd.base) != 0) {
		log_warnx("cannot start libcurl");
		return livd_exit(1);
	}
	hook_init();
	load_share();
	if (http_listen(livd.cfg.listen, &routes_handler, bound,
	    sizeof bound) != 0)
		return livd_exit(1);
	livd.listen_name = xstrdup(bound);
	if (livd.cfg.api_listen != NULL && http_listen(livd.cfg.api_listen,
	    &api_handler, apibound, sizeof apibound) != 0)
		return livd_exit(1);
	if (open_refused(&livd.cfg, bound)) {
		log_warnx("auth: open lets anyone connect as anyone; on %s use "
		    "auth: token, or --insecure-open if you mean it", bound);
		return livd_exit(1);
	}
	if (control_listen(livd.cfg.socket) != 0)
		return livd_exit(1);
	/* Only now: a livd that cannot start must not use up the file. */
	if (livd.cfg.state_file != NULL)
		state_restore(livd.cfg.state_file);
	if (cluster_init(err, sizeof err) != 0) {
		log_warnx("%s", err);
		return livd_exit(1);
	}
	sig_hup = evsignal_new(livd.base, SIGHUP, signal_cb, NULL);
	sig_term = evsignal_new(livd.base, SIGTERM, signal_cb, NULL);
	sig_int = evsignal_new(livd.base, SIGINT, signal_cb, NULL);
	evsignal_add(sig_hup, NULL);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	log_info("livd %s: http://%s/ control socket %s, %zu verbs from %s",
	    LIVD_VERSION, bound, livd.cfg.socket, livd.verbs->count,
	    livd.verbs->path);
	if (livd.cfg.api_listen != NULL)
		log_info("POST /api on http://%s/api only", apibound);

	event_base_dispatch(livd.base);

	if (livd.cfg.state_file != NULL)
		state_save(livd.cfg.state_file);
	event_free(sig_hup);
	event_free(sig_term);
	event_free(sig_int);
	livd_exit(0);
	log_info("stopped");
	return 0;
}

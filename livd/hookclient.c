/*
 * The hooks' HTTP client: libcurl's multi interface on the libevent loop
 * (CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION, as curl's hiper
 * example does). curl tells which sockets to watch and when its next
 * timeout is; livd's events call curl_multi_socket_action and then
 * collect finished transfers. Connections stay in the multi handle's
 * cache, so a hook's next request reuses its keep-alive connection.
 *
 * Ownership: a request belongs to this file from hookclient_post until
 * its callback returns (or hookclient_cancel). Callbacks run only from
 * check_done, outside any curl callback, so they may start or cancel
 * other requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "util.h"
#include "hookclient.h"
#include "log.h"

struct hookclient_req {
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;		/* the request's */
	struct buf		 answer;
	size_t			 limit;
	int			 over;		/* the answer passed limit */
	double			 started;
	hookclient_cb		*cb;
	void			*arg;
	char			 error[CURL_ERROR_SIZE];
	TAILQ_ENTRY(hookclient_req) link;
};

/* A socket curl asked to watch. */
struct watch {
	struct event	*ev;
	curl_socket_t	 fd;
};

static struct {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	int			 running;
	TAILQ_HEAD(, hookclient_req) reqs;
} hc;

static void	check_done(void);

static void
req_free(struct hookclient_req *r)
{
	TAILQ_REMOVE(&hc.reqs, r, link);
	curl_multi_remove_handle(hc.multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	buf_free(&r->answer);
	free(r);
}

/* curl_multi_socket_action, then the transfers it finished. */
static void
drive(curl_socket_t fd, int flags)
{
	CURLMcode rc;

	rc = curl_multi_socket_action(hc.multi, fd, flags, &hc.running);
	if (rc != CURLM_OK)
		log_warnx("hook client: %s", curl_multi_strerror(rc));
	check_done();
}

static void
socket_event(evutil_socket_t fd, short what, void *arg)
{
	int flags = 0;

	(void)arg;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	drive(fd, flags);
}

static void
timer_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	drive(CURL_SOCKET_TIMEOUT, 0);
}

/* curl says what to wait for on a socket (CURLMOPT_SOCKETFUNCTION). */
static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct watch *w = sockp;
	short events = 0;

	(void)easy; (void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			event_free(w->ev);
			free(w);
			curl_multi_assign(hc.multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (w == NULL) {
		w = xcalloc(1, sizeof *w);
		w->fd = fd;
		curl_multi_assign(hc.multi, fd, w);
	} else
		event_free(w->ev);
	w->ev = event_new(hc.base, fd, events | EV_PERSIST, socket_event,
	    NULL);
	event_add(w->ev, NULL);
	return 0;
}

/* curl's next timeout (CURLMOPT_TIMERFUNCTION); -1: none. */
static int
timer_cb(CURLM *multi, long ms, void *userp)
{
	struct timeval tv;

	(void)multi; (void)userp;
	if (ms < 0) {
		evtimer_del(hc.timer);
		return 0;
	}
	/* Even 0 waits for the loop: curl may not be re-entered from here. */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(hc.timer, &tv);
	return 0;
}

/* Keep the answer, up to the limit: past it the transfer fails. */
static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct hookclient_req *r = arg;

	n *= size;
	if (r->answer.len + n > r->limit) {
		r->over = 1;
		return 0;
	}
	buf_add(&r->answer, data, n);
	return n;
}

/* A finished transfer: its result to its owner, then it is freed. */
static void
finish(struct hookclient_req *r, CURLcode code)
{
	struct hookclient_result res;
	char *type = NULL;

	memset(&res, 0, sizeof res);
	res.seconds = now_mono() - r->started;
	buf_add(&r->answer, "", 0);	/* a terminator, even when empty */
	res.body = r->answer.data;
	res.len = r->answer.len;
	if (code == CURLE_OK) {
		res.outcome = HOOKCLIENT_ANSWERED;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &type);
		res.type = type;
	} else if (r->over) {
		res.outcome = HOOKCLIENT_TOO_LARGE;
		res.error = "answer over max_api_body";
	} else {
		res.outcome = code == CURLE_OPERATION_TIMEDOUT ?
		    HOOKCLIENT_TIMEOUT : HOOKCLIENT_UNREACHABLE;
		res.error = *r->error ? r->error : curl_easy_strerror(code);
	}
	r->cb(r->arg, &res);
	req_free(r);
}

static void
check_done(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(hc.multi, &left)) != NULL) {
		struct hookclient_req *r;
		CURL *easy = m->easy_handle;
		CURLcode code = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		finish(r, code);
	}
}

int
hookclient_init(struct event_base *base)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -1;
	hc.base = base;
	TAILQ_INIT(&hc.reqs);
	hc.multi = curl_multi_init();
	hc.timer = evtimer_new(base, timer_event, NULL);
	curl_multi_setopt(hc.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(hc.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	return 0;
}

/* At exit: requests still out are dropped without their callbacks. */
void
hookclient_shutdown(void)
{
	struct hookclient_req *r;

	if (hc.multi == NULL)
		return;
	while ((r = TAILQ_FIRST(&hc.reqs)) != NULL)
		req_free(r);
	curl_multi_cleanup(hc.multi);
	event_free(hc.timer);
	hc.multi = NULL;
	curl_global_cleanup();
}

/*
 * POST body (JSON) to url, signed (sig: the HMAC's hex), within timeout
 * seconds, taking an answer of at most limit bytes. cb gets the result
 * on a later loop turn; NULL when curl cannot even start it.
 */
struct hookclient_req *
hookclient_post(const char *url, const char *body, size_t len,
    const char *sig, double timeout, size_t limit, hookclient_cb *cb,
    void *arg)
{
	struct hookclient_req *r = xcalloc(1, sizeof *r);
	char header[128];

	r->easy = curl_easy_init();
	r->body = xmalloc(len + 1);
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	buf_init(&r->answer);
	r->limit = limit;
	r->cb = cb;
	r->arg = arg;
	r->started = now_mono();
	snprintf(header, sizeof header, "X-Livd-Signature: sha256=%s", sig);
	r->headers = curl_slist_append(r->headers,
	    "Content-Type: application/json");
	r->headers = curl_slist_append(r->headers, header);
	/* curl would wait for "100 Continue" before a large body. */
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
	    (long)(timeout * 1000 + 0.5));
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "livd/" LIVD_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	TAILQ_INSERT_TAIL(&hc.reqs, r, link);
	if (curl_multi_add_handle(hc.multi, r->easy) != CURLM_OK) {
		req_free(r);
		return NULL;
	}
	return r;
}

/* The caller no longer wants the answer: the transfer stops now. */
void
hookclient_cancel(struct hookclient_req *r)
{
	req_free(r);
}

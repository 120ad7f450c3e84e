/*
 * What is happening inside: counters, gauges and histograms, read by
 * livctl stats (JSON) and GET /metrics (Prometheus text format). Counters
 * only grow; they live for the process.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "budget.h"
#include "util.h"
#include "http.h"
#include "hub.h"
#include "livd.h"
#include "metrics.h"

#define METRICS_MAX_VERBS	256

struct histogram {
	const char	*name;
	const char	*help;
	uint64_t	 counts[12];
	uint64_t	 count;
	double		 sum;
};

/* Upper bounds in seconds, shared by both histograms. */
static const double bounds[] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30
};

static struct histogram poll_wait = { "livd_poll_wait_seconds",
    "How long a poll was held before it was answered.", { 0 }, 0, 0 };
static struct histogram fanout = { "livd_fanout_seconds",
    "From accepting an event to having written the last answer it woke.",
    { 0 }, 0, 0 };
static double fanout_last;

/* Deliveries by verb: verbs are few, so a short list will do. */
static struct {
	char		*verb;
	uint64_t	 count;
} verbs[METRICS_MAX_VERBS];
static size_t nverbs;

/* Each hook's answers by status ("200", "timeout"...), and its latency. */
#define METRICS_HOOK_STATUSES	24
static const char *const hook_names[] = {
	[HOOK_CONNECT] = "connect", [HOOK_INPUT] = "input",
	[HOOK_PRESENCE] = "presence"
};
static struct {
	struct {
		char		 label[16];
		uint64_t	 count;
	}			 status[METRICS_HOOK_STATUSES];
	size_t			 nstatus;
	uint64_t		 requests;
	uint64_t		 failures;
	struct histogram	 seconds;
} hooks[HOOK_KINDS];
static uint64_t hook_line_errors, hook_dropped;

static void	prom(struct buf *, const char *, const char *, const char *,
		    double);

static const char *reasons[] = {
	[REJECT_FORM] = "bad_form",
	[REJECT_UNKNOWN_VERB] = "unknown_verb",
	[REJECT_FORBIDDEN] = "not_from_client",
	[REJECT_ARGUMENTS] = "bad_arguments",
	[REJECT_TOO_LARGE] = "too_large",
	[REJECT_RATE] = "rate",
	[REJECT_ORIGIN] = "origin",
	[REJECT_TOKEN] = "token",
	[REJECT_MEMORY] = "memory",
	[REJECT_CONNECT_RATE] = "connect_rate",
};
static uint64_t rejected[countof(reasons)];

static void
observe(struct histogram *h, double seconds)
{
	for (size_t i = 0; i < countof(bounds); i++)
		if (seconds <= bounds[i])
			h->counts[i]++;
	h->count++;
	h->sum += seconds;
}

void
metrics_delivered(const char *verb, size_t n)
{
	size_t i;

	for (i = 0; i < nverbs; i++)
		if (strcmp(verbs[i].verb, verb) == 0)
			break;
	if (i == nverbs) {
		if (nverbs == METRICS_MAX_VERBS)
			return;
		verbs[nverbs++].verb = xstrdup(verb);
	}
	verbs[i].count += n;
}

void
metrics_rejected(enum reject_reason reason)
{
	rejected[reason]++;
}

void
metrics_poll_wait(double seconds)
{
	observe(&poll_wait, seconds);
}

void
metrics_fanout(double seconds)
{
	fanout_last = seconds;
	observe(&fanout, seconds);
}

/* A hook request ended: how (its status), whether it failed, how long. */
void
metrics_hook(enum hook_kind kind, const char *status, bool failed,
    double seconds)
{
	size_t i, n = hooks[kind].nstatus;

	for (i = 0; i < n; i++)
		if (strcmp(hooks[kind].status[i].label, status) == 0)
			break;
	if (i == n && n < METRICS_HOOK_STATUSES) {
		snprintf(hooks[kind].status[i].label,
		    sizeof hooks[kind].status[i].label, "%s", status);
		hooks[kind].nstatus++;
	}
	if (i < METRICS_HOOK_STATUSES)
		hooks[kind].status[i].count++;
	hooks[kind].requests++;
	hooks[kind].failures += failed;
	observe(&hooks[kind].seconds, seconds);
}

/* A control line of an input hook's answer failed. */
void
metrics_hook_line_error(void)
{
	hook_line_errors++;
}

/* Presence events the queue had no room for. */
void
metrics_hook_dropped(size_t n)
{
	hook_dropped += n;
}

void
metrics_free(void)
{
	for (size_t i = 0; i < nverbs; i++)
		free(verbs[i].verb);
	nverbs = 0;
}

/* A histogram's samples; labels ("hook=\"input\"") may be "". */
static void
prom_buckets(struct buf *b, const char *name, const struct histogram *h,
    const char *labels)
{
	const char *sep = *labels ? "," : "";

	for (size_t i = 0; i < countof(bounds); i++)
		buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name,
		    labels, sep, bounds[i], h->counts[i]);
	buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels,
	    sep, h->count);
	if (*labels) {
		buf_printf(b, "%s_sum{%s} %.6f\n%s_count{%s} %" PRIu64 "\n",
		    name, labels, h->sum, name, labels, h->count);
		return;
	}
	buf_printf(b, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name, h->sum,
	    name, h->count);
}

static void
prom_histogram(struct buf *b, const struct histogram *h)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help,
	    h->name);
	prom_buckets(b, h->name, h, "");
}

/* The hooks' families: requests by hook and status, latency, drops. */
static void
prom_hooks(struct buf *b)
{
	char labels[32];

	buf_adds(b, "# HELP livd_hook_requests_total Requests to the "
	    "application's hooks, by hook and how they ended.\n"
	    "# TYPE livd_hook_requests_total counter\n");
	for (size_t k = 0; k < HOOK_KINDS; k++)
		for (size_t i = 0; i < hooks[k].nstatus; i++)
			buf_printf(b, "livd_hook_requests_total{hook=\"%s\","
			    "status=\"%s\"} %" PRIu64 "\n", hook_names[k],
			    hooks[k].status[i].label, hooks[k].status[i].count);
	buf_adds(b, "# HELP livd_hook_seconds How long the application took "
	    "to answer a hook.\n# TYPE livd_hook_seconds histogram\n");
	for (size_t k = 0; k < HOOK_KINDS; k++) {
		snprintf(labels, sizeof labels, "hook=\"%s\"", hook_names[k]);
		prom_buckets(b, "livd_hook_seconds", &hooks[k].seconds, labels);
	}
	prom(b, "livd_hook_line_errors_total", "counter", "Control lines of "
	    "input hook answers that failed.", (double)hook_line_errors);
	prom(b, "livd_hook_dropped_total", "counter", "Presence events "
	    "dropped: the queue was full or the application refused them.",
	    (double)hook_dropped);
}

static void
prom(struct buf *b, const char *name, const char *type, const char *help,
    double value)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help,
	    name, type, name, value);
}

/* The Prometheus text exposition, for GET /metrics. */
char *
metrics_text(void)
{
	struct buf b;

	buf_init(&b);
	prom(&b, "livd_clients", "gauge", "Clients (pages) online.",
	    (double)hub.count);
	prom(&b, "livd_polls_pending", "gauge", "Polls and streams held.",
	    (double)hub.waiting);
	prom(&b, "livd_connections", "gauge", "Open HTTP connections.",
	    (double)http_stats.open);
	prom(&b, "livd_uptime_seconds", "gauge", "Seconds since livd started.",
	    now_wall() - livd.started);
	prom(&b, "livd_connects_total", "counter", "Clients connected.",
	    (double)hub.stats.connects);
	prom(&b, "livd_expired_total", "counter",
	    "Clients that stopped polling and timed out.",
	    (double)hub.stats.expired);
	prom(&b, "livd_events_total", "counter", "Events sent.",
	    (double)hub.stats.events);
	buf_adds(&b, "# HELP livd_deliveries_total Events queued for clients, "
	    "by verb.\n# TYPE livd_deliveries_total counter\n");
	for (size_t i = 0; i < nverbs; i++)
		buf_printf(&b, "livd_deliveries_total{verb=\"%s\"} %" PRIu64
		    "\n", verbs[i].verb, verbs[i].count);
	prom(&b, "livd_answers_total", "counter", "Answers with events.",
	    (double)hub.stats.answers);
	prom(&b, "livd_resyncs_total", "counter",
	    "Clients that fell behind and were sent a reload.",
	    (double)hub.stats.resyncs);
	buf_adds(&b, "# HELP livd_input_rejected_total Browser requests "
	    "refused, by reason.\n# TYPE livd_input_rejected_total counter\n");
	for (size_t i = 0; i < countof(reasons); i++)
		buf_printf(&b, "livd_input_rejected_total{reason=\"%s\"} %"
		    PRIu64 "\n", reasons[i], rejected[i]);
	prom(&b, "livd_memory_bytes", "gauge",
	    "Bytes livd holds for events, queues and connection buffers.",
	    (double)budget.used);
	prom(&b, "livd_memory_limit_bytes", "gauge", "max_memory.",
	    (double)budget.limit);
	prom(&b, "livd_memory_refused_total", "counter",
	    "Inputs and connects refused for want of memory.",
	    (double)budget.refused);
	prom(&b, "livd_memory_dropped_total", "counter",
	    "Events of history dropped to keep within max_memory.",
	    (double)budget.reclaimed);
	prom(&b, "livd_http_requests_total", "counter", "HTTP requests.",
	    (double)http_stats.requests);
	prom(&b, "livd_bytes_out_total", "counter", "Bytes written to browsers.",
	    (double)http_stats.bytes_out);
	prom_histogram(&b, &poll_wait);
	prom_histogram(&b, &fanout);
	prom(&b, "livd_fanout_seconds_last", "gauge",
	    "The last fan-out's time, as in livd_fanout_seconds.", fanout_last);
	prom_hooks(&b);
	return buf_steal(&b);
}

static json_t *
histogram_json(const struct histogram *h)
{
	return json_pack("{s:I,s:f}", "count", (json_int_t)h->count, "sum",
	    h->sum);
}

/* hooks.HOOK.requests and .failures, .line_errors, .dropped. */
static json_t *
hooks_json(void)
{
	json_t *o = json_object();

	for (size_t k = 0; k < HOOK_KINDS; k++)
		json_object_set_new(o, hook_names[k], json_pack("{s:I,s:I}",
		    "requests", (json_int_t)hooks[k].requests,
		    "failures", (json_int_t)hooks[k].failures));
	json_object_set_new(o, "line_errors",
	    json_integer((json_int_t)hook_line_errors));
	json_object_set_new(o, "dropped",
	    json_integer((json_int_t)hook_dropped));
	return o;
}

/* The same figures as one JSON object, for livctl stats. */
json_t *
metrics_json(void)
{
	json_t *o, *deliveries = json_object(), *rej = json_object();

	for (size_t i = 0; i < nverbs; i++)
		json_object_set_new(deliveries, verbs[i].verb,
		    json_integer((json_int_t)verbs[i].count));
	for (size_t i = 0; i < countof(reasons); i++)
		json_object_set_new(rej, reasons[i],
		    json_integer((json_int_t)rejected[i]));
	o = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:o,s:I,"
	    "s:I,s:o,s:o,s:f}", "ok", 1,
	    "clients", (json_int_t)hub.count,
	    "polls_pending", (json_int_t)hub.waiting,
	    "connections", (json_int_t)http_stats.open,
	    "uptime", (json_int_t)(now_wall() - livd.started),
	    "connects", (json_int_t)hub.stats.connects,
	    "expired", (json_int_t)hub.stats.expired,
	    "events", (json_int_t)hub.stats.events,
	    "deliveries", deliveries,
	    "answers", (json_int_t)hub.stats.answers,
	    "resyncs", (json_int_t)hub.stats.resyncs,
	    "input_rejected", rej,
	    "http_requests", (json_int_t)http_stats.requests,
	    "bytes_out", (json_int_t)http_stats.bytes_out,
	    "poll_wait_seconds", histogram_json(&poll_wait),
	    "fanout_seconds", histogram_json(&fanout),
	    "fanout_seconds_last", fanout_last);
	json_object_set_new(o, "hooks", hooks_json());
	json_object_set_new(o, "memory", json_pack("{s:I,s:I,s:I,s:I,s:I}",
	    "bytes", (json_int_t)budget.used,
	    "peak_bytes", (json_int_t)budget.peak,
	    "limit_bytes", (json_int_t)budget.limit,
	    "refused", (json_int_t)budget.refused,
	    "dropped", (json_int_t)budget.reclaimed));
	return o;
}

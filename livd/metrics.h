/* Counters, gauges and histograms for livctl stats and GET /metrics. */
#ifndef LIVD_METRICS_H
#define LIVD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

enum reject_reason {
	REJECT_FORM, REJECT_UNKNOWN_VERB, REJECT_FORBIDDEN, REJECT_ARGUMENTS,
	REJECT_TOO_LARGE, REJECT_RATE, REJECT_ORIGIN, REJECT_TOKEN,
	REJECT_MEMORY, REJECT_CONNECT_RATE
};

/* The application's hooks (hook.c), as /metrics labels them. */
enum hook_kind { HOOK_CONNECT, HOOK_INPUT, HOOK_PRESENCE, HOOK_KINDS };

void	 metrics_delivered(const char *, size_t);
void	 metrics_rejected(enum reject_reason);
void	 metrics_poll_wait(double);
void	 metrics_fanout(double);
void	 metrics_hook(enum hook_kind, const char *, bool, double);
void	 metrics_hook_line_error(void);
void	 metrics_hook_dropped(size_t);
void	 metrics_free(void);
char	*metrics_text(void);
json_t	*metrics_json(void);

#endif

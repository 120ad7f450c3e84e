/*
 * connect_rate: one token bucket per source address and one per
 * principal, each charged for every connect and every input, so that
 * many pages of one address or one principal cannot multiply the
 * per-page input_rate. O(1) a request; the table of recent sources is
 * bounded, and its full buckets (the same as none) are forgotten.
 */
#ifndef LIVD_RATE_H
#define LIVD_RATE_H

#include <stdbool.h>

struct http_addr;

enum rate_verdict { RATE_OK, RATE_ADDRESS, RATE_PRINCIPAL };

/* Sources remembered at most; past it new ones share one bucket. */
#define RATE_SOURCES	65536

enum rate_verdict rate_take(const struct http_addr *, const char *);
const char	*rate_message(enum rate_verdict, char *, size_t);
void		 rate_free(void);

#endif

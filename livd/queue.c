/*
 * A queue of events in seq order: a ring of shared pointers. It knows
 * how many bytes its events take (each event's size, counted once in the
 * budget however many queues hold it), for history_bytes, and counts its
 * ring in the budget.
 */
#include <stdlib.h>

#include "budget.h"
#include "msg.h"
#include "queue.h"
#include "util.h"

void
queue_init(struct queue *q, uint64_t floor)
{
	q->ring = NULL;
	q->cap = q->head = q->len = q->bytes = 0;
	q->floor = floor;
}

/* Free the ring, counting it out of the budget. */
static void
queue_free_ring(struct queue *q)
{
	budget_sub(q->cap * sizeof *q->ring);
	free(q->ring);
	q->ring = NULL;
	q->cap = q->head = 0;
}

void
queue_free(struct queue *q)
{
	for (size_t i = 0; i < q->len; i++)
		msg_unref(queue_at(q, i));
	queue_free_ring(q);
	q->len = q->bytes = 0;
}

struct msg *
queue_at(const struct queue *q, size_t i)
{
	return q->ring[(q->head + i) & (q->cap - 1)];
}

struct msg *
queue_last(const struct queue *q)
{
	return q->len ? queue_at(q, q->len - 1) : NULL;
}

static void
queue_grow(struct queue *q)
{
	size_t cap = q->cap ? q->cap * 2 : 4;
	struct msg **ring = xmalloc(cap * sizeof *ring);

	for (size_t i = 0; i < q->len; i++)
		ring[i] = queue_at(q, i);
	budget_add((cap - q->cap) * sizeof *ring);
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
}

/* Remove the oldest event; the floor rises to its seq. */
static void
queue_pop(struct queue *q)
{
	struct msg *m = queue_at(q, 0);

	q->floor = m->seq;
	q->bytes -= m->size;
	msg_unref(m);
	q->head = (q->head + 1) & (q->cap - 1);
	q->len--;
}

/*
 * Append m (taking a reference). At limit the oldest event goes, and
 * readers that had not yet acknowledged it will be told to resync.
 */
void
queue_push(struct queue *q, struct msg *m, size_t limit)
{
	if (limit > 0 && q->len >= limit)
		queue_pop(q);
	if (q->len == q->cap)
		queue_grow(q);
	q->ring[(q->head + q->len) & (q->cap - 1)] = msg_ref(m);
	q->len++;
	q->bytes += m->size;
}

/*
 * Drop the oldest events while the queue holds more than max bytes (but
 * never the newest) or any at or below seq; returns how many went.
 * Readers that had not acknowledged them will be told to resync.
 */
size_t
queue_trim(struct queue *q, size_t max, uint64_t seq)
{
	size_t n = 0;

	while (q->len > 0 && ((q->len > 1 && q->bytes > max) ||
	    queue_at(q, 0)->seq <= seq)) {
		queue_pop(q);
		n++;
	}
	return n;
}

/* The index of the first event with a seq above seq (len if none). */
size_t
queue_after(const struct queue *q, uint64_t seq)
{
	size_t lo = 0, hi = q->len;

	if (hi == 0 || queue_at(q, hi - 1)->seq <= seq)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (queue_at(q, mid)->seq <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Drop events up to and including seq, keeping at least keep of them. */
void
queue_drop(struct queue *q, uint64_t seq, size_t keep)
{
	while (q->len > keep && queue_at(q, 0)->seq <= seq)
		queue_pop(q);
	if (q->len == 0 && q->ring != NULL && q->cap > 4)
		queue_free_ring(q);
}

/* Forget everything; the history is known from floor on. */
void
queue_clear(struct queue *q, uint64_t floor)
{
	queue_free(q);
	q->floor = floor;
}

/*
 * Put n events (in seq order, all older than the queue's first) in front
 * of the queue; the history is then known from floor on.
 */
void
queue_prepend(struct queue *q, struct msg **msgs, size_t n, uint64_t floor)
{
	size_t cap = q->cap ? q->cap : 4;
	struct msg **ring;

	while (cap < q->len + n)
		cap *= 2;
	ring = xmalloc(cap * sizeof *ring);
	budget_add((cap - q->cap) * sizeof *ring);
	for (size_t i = 0; i < n; i++) {
		ring[i] = msg_ref(msgs[i]);
		q->bytes += msgs[i]->size;
	}
	for (size_t i = 0; i < q->len; i++)
		ring[n + i] = queue_at(q, i);
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
	q->len += n;
	q->floor = floor;
}

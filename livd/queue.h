/*
 * A queue of events in seq order: a ring of shared pointers. It also
 * remembers its floor, the seq below which it no longer knows what was
 * queued, so a reader whose cursor is under the floor knows it missed
 * events and must resync.
 */
#ifndef LIVD_QUEUE_H
#define LIVD_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct msg;

struct queue {
	struct msg	**ring;
	size_t		  cap;
	size_t		  head;
	size_t		  len;
	size_t		  bytes;	/* of the events it holds */
	uint64_t	  floor;
};

void		 queue_init(struct queue *, uint64_t);
void		 queue_free(struct queue *);
void		 queue_push(struct queue *, struct msg *, size_t);
struct msg	*queue_at(const struct queue *, size_t);
struct msg	*queue_last(const struct queue *);
size_t		 queue_after(const struct queue *, uint64_t);
void		 queue_drop(struct queue *, uint64_t, size_t);
size_t		 queue_trim(struct queue *, size_t, uint64_t);
void		 queue_clear(struct queue *, uint64_t);
void		 queue_prepend(struct queue *, struct msg **, size_t, uint64_t);

#endif

/*
 * The memory budget (max_memory): livd counts the bytes it holds for
 * events (each event once, with its frames), for the rings of the queues
 * that hold them and for connection buffers, as they are allocated and
 * freed: an add or a subtract, never a walk. Near the limit the hub drops
 * the oldest history (budget.reclaim); past it, new input and connects
 * are refused with 503 (budget_admit).
 */
#ifndef LIVD_BUDGET_H
#define LIVD_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What livd answers when the budget refuses (livd(8)). */
#define BUDGET_REFUSED	"out of memory budget"

struct budget {
	size_t		 used;
	size_t		 peak;
	size_t		 limit;		/* 0: none (unit tests, fuzzers) */
	uint64_t	 refused;	/* inputs and connects turned away */
	uint64_t	 reclaimed;	/* events dropped to make room */
	/* Free at least this many bytes if it can; returns the events dropped. */
	size_t		(*reclaim)(size_t);
};

extern struct budget budget;

/* Count n bytes more (allocated). */
static inline void
budget_add(size_t n)
{
	budget.used += n;
	if (budget.used > budget.peak)
		budget.peak = budget.used;
}

/* Count n bytes less (freed). */
static inline void
budget_sub(size_t n)
{
	budget.used -= n;
}

void	 budget_make_room(size_t);
bool	 budget_admit(size_t);

#endif

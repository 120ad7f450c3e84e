/*
 * The memory budget: see budget.h. What it counts is counted where it is
 * allocated (msg.c, frame.c, queue.c, http.c); this file only decides.
 */
#include "budget.h"

struct budget budget;

/* Above this share of the limit, history goes before input is refused. */
#define BUDGET_HIGH(l)	((l) / 8 * 7)
/* What reclaiming aims for, so that it does not run for every request. */
#define BUDGET_LOW(l)	((l) / 4 * 3)

/*
 * About to hold want bytes more: past the high mark, have the oldest
 * history go until the low mark is in reach.
 */
void
budget_make_room(size_t want)
{
	size_t limit = budget.limit;

	if (limit > 0 && budget.used + want > BUDGET_HIGH(limit) &&
	    budget.reclaim != NULL)
		budget.reclaimed += budget.reclaim(budget.used + want -
		    BUDGET_LOW(limit));
}

/*
 * May livd take on want bytes more (an event, a client; 0: is what it
 * holds within the limit)? Near the limit the oldest history goes first;
 * if that is not enough, no, and the refusal is counted.
 */
bool
budget_admit(size_t want)
{
	budget_make_room(want);
	if (budget.limit == 0 || budget.used + want <= budget.limit)
		return true;
	budget.refused++;
	return false;
}

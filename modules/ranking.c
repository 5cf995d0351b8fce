/*
 * ranking: integers only, so the same inputs give the same order on every
 * machine.  Text match dominates, then boosts, then sales on a log scale
 * (a best seller cannot bury everything else); ties go to the lower id.
 * Pinned slots come first: slot s holds the best remaining product whose
 * strongest rule pins more than s slots.
 */

#include <stdlib.h>

#include "ranking.h"

/* 100 points per doubling of sales, linear in between: log2 in integers. */
int64_t
ranking_sales_points(int64_t sales)
{
	uint64_t v, base;
	int64_t	 lg;

	if (sales <= 0)
		return (0);
	v = (uint64_t)sales + 1;
	lg = 63 - __builtin_clzll(v);
	base = (uint64_t)1 << lg;
	/* In 128 bits: (v - base) * 100 overflows 64 past 2^58 sales. */
	return (
	    lg * 100 + (int64_t)((unsigned __int128)(v - base) * 100 / base));
}

int64_t
ranking_score(const struct rank_item *it)
{
	int64_t boost, text;

	boost = it->boost;
	if (boost > RANKING_BOOST_MAX)
		boost = RANKING_BOOST_MAX;
	if (boost < -RANKING_BOOST_MAX)
		boost = -RANKING_BOOST_MAX;
	text = it->text < 0 ? 0 : (it->text > 2 ? 2 : it->text);
	return (text * RANKING_TEXT_WEIGHT + boost * RANKING_BOOST_WEIGHT +
	    ranking_sales_points(it->sales));
}

static int
ranking_cmp(const void *a, const void *b)
{
	const struct rank_item *x = a, *y = b;

	if (x->score != y->score)
		return (x->score > y->score ? -1 : 1);
	if (x->id != y->id)
		return (x->id < y->id ? -1 : 1);
	return (0);
}

/* Sorts items in place: pinned slots first, then by score, then by id. */
void
ranking_sort(struct rank_item *items, size_t n)
{
	struct rank_item tmp;
	size_t		 i, slot, j;

	for (i = 0; i < n; i++)
		items[i].score = ranking_score(&items[i]);
	if (n < 2)
		return;
	qsort(items, n, sizeof(*items), ranking_cmp);

	/*
	 * Fill the pinned slots from the sorted list: the first item able to
	 * take slot s moves up to it, the others keep their relative order.
	 */
	for (slot = 0; slot < n; slot++) {
		for (j = slot; j < n; j++) {
			if (items[j].pin > 0 && (size_t)items[j].pin > slot)
				break;
		}
		if (j == n)
			break;
		tmp = items[j];
		for (; j > slot; j--)
			items[j] = items[j - 1];
		items[slot] = tmp;
	}
}

/*
 * ranking: the order of products in search, region shops and the 扶贫频道
 * (clause 六, 流量支持): a relevance score from text match, sales and boosts,
 * pinned slots, and a deterministic tie-break.
 */

#ifndef RANKING_H
#define RANKING_H

#include <stddef.h>
#include <stdint.h>

#define RANKING_TEXT_WEIGHT  INT64_C(10000000)
#define RANKING_BOOST_WEIGHT INT64_C(1000)
#define RANKING_BOOST_MAX    5000

struct rank_item {
	int64_t id;
	int	text; /* 0 none, 1 description, 2 title */
	int64_t sales;
	int64_t boost; /* sum of rule and campaign weights */
	int	pin; /* pin slots of its strongest rule */
	int64_t score; /* out */
	size_t	index; /* the caller's, carried along */
};

int64_t ranking_sales_points(int64_t);
int64_t ranking_score(const struct rank_item *);
void	ranking_sort(struct rank_item *, size_t);

#endif

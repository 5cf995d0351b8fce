/*
 * facts.h: the per-worker cache of cart-relevant product facts.
 */

#ifndef FACTS_H
#define FACTS_H

#include <jansson.h>
#include <stdint.h>

#include "validate.h"

#define FACTS_MAX_TIERS 10

struct cache_mark;

struct product_fact {
	int64_t id;
	int	listed;
	int	service; /* kind service: sold by the date, never carted */
	int64_t stock;
	int64_t price_fen;
	int64_t vendor_id;
	/* Titles are 120 characters and names 100 at most: UTF-8 fits. */
	char title[512];
	char title_json[1024]; /* the title as a JSON string */
	/* What the fee rules match on, and the vendor's name for orders. */
	char	vendor_name[512];
	char	vendor_kind[VENDOR_KIND_BUF];
	char	region[REGION_CODE_BUF];
	char	category[CATEGORY_CODE_BUF];
	int	qualified;
	int	poverty_county;
	int	stock_stale; /* stock moved since: carts reload, checkout not */
	int	ntiers;
	int64_t tier_qty[FACTS_MAX_TIERS];
	int64_t tier_price[FACTS_MAX_TIERS];
	uint64_t gen;
	uint64_t expires;
};

const struct product_fact *facts_get(int64_t);
const struct product_fact *facts_terms(int64_t);
void			   facts_put(json_t *, const struct cache_mark *);
void			   facts_drop(int64_t);
void			   facts_stock_moved(int64_t);
int64_t facts_unit_price(const struct product_fact *, int64_t);

#endif

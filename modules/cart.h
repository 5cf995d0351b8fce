/*
 * cart: the rules of a cart, apart from where it is kept: quantities,
 * merging a guest cart into a user's, and totals from catalog prices.
 */

#ifndef CART_H
#define CART_H

#include <stdint.h>

#define CART_MAX_QTY   9999
#define CART_MAX_LINES 100
/* How long a cart lives after its last write, in seconds: plain numbers. */
#define CART_GUEST_TTL 604800 /* 7 days */
#define CART_USER_TTL  2592000 /* 30 days */

struct cart_line {
	int64_t product_id;
	int64_t qty;
	int64_t unit_price_fen; /* from the catalog, never the cart */
	int64_t stock;
	int	listed;
	int64_t line_total_fen; /* out */
	int	available; /* out: listed and in stock */
};

int	cart_qty_valid(int64_t);
int64_t cart_merge_qty(int64_t, int64_t, int64_t);
int	cart_price(struct cart_line *, int, int64_t *, int64_t *);
int64_t
cart_tier_price(int64_t, const int64_t *, const int64_t *, int, int64_t);

#endif

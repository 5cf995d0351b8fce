/*
 * cart: pure arithmetic over cart lines; the Redis layout lives in
 * app/cart_store.c.
 */

#include "cart.h"
#include "money.h"

/* A quantity a client may set: 0 (remove) to CART_MAX_QTY. */
int
cart_qty_valid(int64_t qty)
{
	return (qty >= 0 && qty <= CART_MAX_QTY);
}

/*
 * The quantity after a guest cart is merged into a user's: the two add up,
 * capped by the stock and by CART_MAX_QTY.  0 means the line goes.
 */
int64_t
cart_merge_qty(int64_t user_qty, int64_t guest_qty, int64_t stock)
{
	int64_t q;

	if (user_qty < 0)
		user_qty = 0;
	if (guest_qty < 0)
		guest_qty = 0;
	/* Compared before adding: the sum of two huge counts would overflow. */
	if (guest_qty > CART_MAX_QTY - user_qty)
		q = CART_MAX_QTY;
	else
		q = user_qty + guest_qty;
	if (stock < 0)
		stock = 0;
	if (q > stock)
		q = stock;
	return (q);
}

/*
 * Prices every line and sums them: *subtotal over available lines only,
 * *count their quantities.  Returns 0 on overflow.
 */
int
cart_price(struct cart_line *lines, int n, int64_t *subtotal, int64_t *count)
{
	int	i;
	int64_t sum, items;

	sum = 0;
	items = 0;
	for (i = 0; i < n; i++) {
		if (!money_mul(lines[i].unit_price_fen, lines[i].qty,
			&lines[i].line_total_fen))
			return (0);
		lines[i].available =
		    lines[i].listed && lines[i].qty <= lines[i].stock;
		if (!lines[i].available)
			continue;
		if (!money_add(sum, lines[i].line_total_fen, &sum))
			return (0);
		items += lines[i].qty;
	}
	*subtotal = sum;
	*count = items;
	return (1);
}

/*
 * The unit price a quantity reaches: the tier with the largest min_qty not
 * above qty (tiers need not be sorted), else the list price.
 */
int64_t
cart_tier_price(int64_t list_price, const int64_t *min_qty,
    const int64_t *unit_price, int ntiers, int64_t qty)
{
	int64_t best_qty, price;
	int	i;

	price = list_price;
	best_qty = 0;
	for (i = 0; i < ntiers; i++) {
		if (min_qty[i] <= qty && min_qty[i] > best_qty) {
			best_qty = min_qty[i];
			price = unit_price[i];
		}
	}
	return (price);
}

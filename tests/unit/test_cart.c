/*
 * test_cart: quantity bounds, merging a guest cart into a user's under the
 * stock and quantity caps, and pricing lines into a subtotal and a count.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cart.h"
#include "money.h"

static struct cart_line
line_of(int64_t id, int64_t qty, int64_t price, int64_t stock, int listed)
{
	struct cart_line l;

	/* Out fields start as garbage: cart_price must set them. */
	memset(&l, 0x5a, sizeof(l));
	l.product_id = id;
	l.qty = qty;
	l.unit_price_fen = price;
	l.stock = stock;
	l.listed = listed;
	return (l);
}

static void
test_qty_valid(void **state)
{
	(void)state;
	assert_int_equal(CART_MAX_QTY, 9999);
	assert_int_equal(cart_qty_valid(0), 1);
	assert_int_equal(cart_qty_valid(1), 1);
	assert_int_equal(cart_qty_valid(500), 1);
	assert_int_equal(cart_qty_valid(9998), 1);
	assert_int_equal(cart_qty_valid(9999), 1);
	assert_int_equal(cart_qty_valid(10000), 0);
	assert_int_equal(cart_qty_valid(-1), 0);
	assert_int_equal(cart_qty_valid(INT64_MAX), 0);
	assert_int_equal(cart_qty_valid(INT64_MIN), 0);
	assert_int_equal(cart_qty_valid(INT64_C(0x100000000)), 0);
}

static void
test_merge(void **state)
{
	(void)state;
	/* The two carts add up. */
	assert_int_equal(cart_merge_qty(2, 3, 100), 5);
	assert_int_equal(cart_merge_qty(0, 3, 100), 3);
	assert_int_equal(cart_merge_qty(2, 0, 100), 2);
	assert_int_equal(cart_merge_qty(0, 0, 100), 0);
	/* Capped by the stock, exactly reaching it is fine. */
	assert_int_equal(cart_merge_qty(5, 6, 8), 8);
	assert_int_equal(cart_merge_qty(5, 6, 11), 11);
	assert_int_equal(cart_merge_qty(5, 6, 12), 11);
	assert_int_equal(cart_merge_qty(20, 0, 8), 8);
	/* Capped by CART_MAX_QTY. */
	assert_int_equal(cart_merge_qty(9000, 999, 100000), 9999);
	assert_int_equal(cart_merge_qty(9000, 1000, 100000), 9999);
	assert_int_equal(cart_merge_qty(9999, 9999, INT64_MAX), 9999);
	assert_int_equal(cart_merge_qty(9999, 9999, 9998), 9998);
	/* No stock, or a stock count gone negative: the line goes. */
	assert_int_equal(cart_merge_qty(2, 3, 0), 0);
	assert_int_equal(cart_merge_qty(2, 3, -1), 0);
	assert_int_equal(cart_merge_qty(2, 3, INT64_MIN), 0);
}

static void
test_merge_bad_input(void **state)
{
	(void)state;
	/* Negative quantities count as none. */
	assert_int_equal(cart_merge_qty(-5, 3, 100), 3);
	assert_int_equal(cart_merge_qty(3, -5, 100), 3);
	assert_int_equal(cart_merge_qty(-1, -1, 100), 0);
	assert_int_equal(cart_merge_qty(INT64_MIN, 4, 100), 4);
	assert_int_equal(cart_merge_qty(4, INT64_MIN, 100), 4);
	/* Huge quantities are capped, never summed past int64_t. */
	assert_int_equal(cart_merge_qty(INT64_MAX, 1, 5), 5);
	assert_int_equal(cart_merge_qty(1, INT64_MAX, 100000), 9999);
	assert_int_equal(cart_merge_qty(INT64_MAX, INT64_MAX, INT64_MAX), 9999);
	assert_int_equal(cart_merge_qty(INT64_MAX, INT64_MIN, 7), 7);
}

static void
test_price(void **state)
{
	struct cart_line lines[5];
	int64_t		 subtotal, count;

	(void)state;
	lines[0] = line_of(1, 2, 1990, 10, 1); /* 3980, available */
	lines[1] = line_of(2, 3, 500, 3, 1); /* 1500, qty == stock */
	lines[2] = line_of(3, 4, 1000, 3, 1); /* 4000, short of stock */
	lines[3] = line_of(4, 1, 700, 100, 0); /* 700, unlisted */
	lines[4] = line_of(5, 0, 1200, 0, 1); /* 0, nothing asked */

	subtotal = count = -1;
	assert_int_equal(cart_price(lines, 5, &subtotal, &count), 1);
	assert_int_equal(lines[0].line_total_fen, 3980);
	assert_int_equal(lines[0].available, 1);
	assert_int_equal(lines[1].line_total_fen, 1500);
	assert_int_equal(lines[1].available, 1);
	/* Unavailable lines still get their total, for display. */
	assert_int_equal(lines[2].line_total_fen, 4000);
	assert_int_equal(lines[2].available, 0);
	assert_int_equal(lines[3].line_total_fen, 700);
	assert_int_equal(lines[3].available, 0);
	assert_int_equal(lines[4].line_total_fen, 0);
	assert_int_equal(lines[4].available, 1);
	assert_int_equal(subtotal, 3980 + 1500);
	assert_int_equal(count, 2 + 3);
}

static void
test_price_availability(void **state)
{
	struct cart_line l;
	int64_t		 subtotal, count;

	(void)state;
	/* Out of stock. */
	l = line_of(1, 1, 1000, 0, 1);
	assert_int_equal(cart_price(&l, 1, &subtotal, &count), 1);
	assert_int_equal(l.line_total_fen, 1000);
	assert_int_equal(l.available, 0);
	assert_int_equal(subtotal, 0);
	assert_int_equal(count, 0);
	/* One more than the stock. */
	l = line_of(1, 6, 1000, 5, 1);
	assert_int_equal(cart_price(&l, 1, &subtotal, &count), 1);
	assert_int_equal(l.available, 0);
	assert_int_equal(subtotal, 0);
	/* Just the stock. */
	l = line_of(1, 5, 1000, 5, 1);
	assert_int_equal(cart_price(&l, 1, &subtotal, &count), 1);
	assert_int_equal(l.available, 1);
	assert_int_equal(subtotal, 5000);
	assert_int_equal(count, 5);
	/* In stock but unlisted. */
	l = line_of(1, 5, 1000, 5, 0);
	assert_int_equal(cart_price(&l, 1, &subtotal, &count), 1);
	assert_int_equal(l.available, 0);
	assert_int_equal(subtotal, 0);
	assert_int_equal(count, 0);
}

static void
test_price_empty(void **state)
{
	struct cart_line l;
	int64_t		 subtotal, count;

	(void)state;
	subtotal = count = 77;
	assert_int_equal(cart_price(NULL, 0, &subtotal, &count), 1);
	assert_int_equal(subtotal, 0);
	assert_int_equal(count, 0);
	/* Lines that are all unavailable sum to nothing. */
	l = line_of(1, 3, 1000, 1, 1);
	subtotal = count = 77;
	assert_int_equal(cart_price(&l, 1, &subtotal, &count), 1);
	assert_int_equal(subtotal, 0);
	assert_int_equal(count, 0);
}

static void
test_price_large(void **state)
{
	struct cart_line lines[CART_MAX_LINES];
	int64_t		 subtotal, count;
	int		 i;

	(void)state;
	/* A full cart of the largest quantities. */
	for (i = 0; i < CART_MAX_LINES; i++)
		lines[i] =
		    line_of(i + 1, CART_MAX_QTY, 100000, CART_MAX_QTY, 1);
	assert_int_equal(
	    cart_price(lines, CART_MAX_LINES, &subtotal, &count), 1);
	assert_int_equal(
	    lines[CART_MAX_LINES - 1].line_total_fen, INT64_C(999900000));
	assert_int_equal(subtotal, INT64_C(99990000000));
	assert_int_equal(count, INT64_C(999900));

	/* Up to MONEY_MAX_FEN exactly. */
	lines[0] = line_of(1, 1, MONEY_MAX_FEN / 2, 1, 1);
	lines[1] = line_of(2, 2, MONEY_MAX_FEN / 4, 2, 1);
	assert_int_equal(cart_price(lines, 2, &subtotal, &count), 1);
	assert_int_equal(subtotal, MONEY_MAX_FEN);
	assert_int_equal(count, 3);
}

static void
test_price_overflow(void **state)
{
	struct cart_line lines[3];
	int64_t		 subtotal, count;

	(void)state;
	/* One line's total past MONEY_MAX_FEN. */
	lines[0] = line_of(1, 2, MONEY_MAX_FEN, 10, 1);
	assert_int_equal(cart_price(lines, 1, &subtotal, &count), 0);
	lines[0] = line_of(1, 9999, INT64_MAX / 2, 9999, 1);
	assert_int_equal(cart_price(lines, 1, &subtotal, &count), 0);
	lines[0] = line_of(1, 1, INT64_MAX, 10, 1);
	assert_int_equal(cart_price(lines, 1, &subtotal, &count), 0);
	/* The sum of lines that each fit. */
	lines[0] = line_of(1, 1, MONEY_MAX_FEN / 2 + 1, 1, 1);
	lines[1] = line_of(2, 1, 1000, 1, 1);
	lines[2] = line_of(3, 1, MONEY_MAX_FEN / 2, 1, 1);
	assert_int_equal(cart_price(lines, 3, &subtotal, &count), 0);
	/* Only available lines are summed: the same without the last. */
	lines[0] = line_of(1, 1, MONEY_MAX_FEN / 2 + 1, 1, 1);
	lines[1] = line_of(2, 1, 1000, 1, 1);
	lines[2] = line_of(3, 1, MONEY_MAX_FEN / 2, 1, 0);
	assert_int_equal(cart_price(lines, 3, &subtotal, &count), 1);
	assert_int_equal(subtotal, MONEY_MAX_FEN / 2 + 1 + 1000);
	assert_int_equal(count, 2);
	/* An unavailable line whose own total overflows still fails. */
	lines[2] = line_of(3, 3, MONEY_MAX_FEN, 1, 0);
	assert_int_equal(cart_price(lines, 3, &subtotal, &count), 0);
}

/* The tier reached by the quantity, whatever order the tiers come in. */
static void
test_tier_price(void **state)
{
	const int64_t qty[] = { 50, 10, 200 };
	const int64_t price[] = { 900, 950, 800 };

	(void)state;
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 1), 1000);
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 9), 1000);
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 10), 950);
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 49), 950);
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 50), 900);
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 199), 900);
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 200), 800);
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 9999), 800);
	assert_int_equal(cart_tier_price(1000, NULL, NULL, 0, 500), 1000);
	assert_int_equal(cart_tier_price(1000, qty, price, 3, 0), 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qty_valid),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_bad_input),
		cmocka_unit_test(test_price),
		cmocka_unit_test(test_price_availability),
		cmocka_unit_test(test_price_empty),
		cmocka_unit_test(test_price_large),
		cmocka_unit_test(test_price_overflow),
		cmocka_unit_test(test_tier_price),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

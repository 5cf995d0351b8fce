/*
 * test_money: fen addition and multiplication up to MONEY_MAX_FEN and past
 * it, and basis-point shares rounded half up, with their refused operands.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"

/* What the out parameter holds when a call must leave it alone. */
#define UNTOUCHED INT64_C(-424242)

static void
test_add(void **state)
{
	int64_t out;

	(void)state;
	assert_int_equal(money_add(0, 0, &out), 1);
	assert_int_equal(out, 0);
	assert_int_equal(money_add(1990, 10, &out), 1);
	assert_int_equal(out, 2000);
	assert_int_equal(money_add(-500, 200, &out), 1);
	assert_int_equal(out, -300);
	assert_int_equal(money_add(-500, -200, &out), 1);
	assert_int_equal(out, -700);
	assert_int_equal(money_add(123456789, -123456789, &out), 1);
	assert_int_equal(out, 0);
}

static void
test_add_bounds(void **state)
{
	int64_t out;

	(void)state;
	/* Exactly at the bounds is allowed. */
	assert_int_equal(money_add(MONEY_MAX_FEN, 0, &out), 1);
	assert_int_equal(out, MONEY_MAX_FEN);
	assert_int_equal(money_add(MONEY_MAX_FEN - 1, 1, &out), 1);
	assert_int_equal(out, MONEY_MAX_FEN);
	assert_int_equal(money_add(-MONEY_MAX_FEN, 0, &out), 1);
	assert_int_equal(out, -MONEY_MAX_FEN);
	assert_int_equal(money_add(MONEY_MAX_FEN, -MONEY_MAX_FEN, &out), 1);
	assert_int_equal(out, 0);

	/* One fen past either bound is refused and out is left alone. */
	out = UNTOUCHED;
	assert_int_equal(money_add(MONEY_MAX_FEN, 1, &out), 0);
	assert_int_equal(money_add(1, MONEY_MAX_FEN, &out), 0);
	assert_int_equal(money_add(-MONEY_MAX_FEN, -1, &out), 0);
	assert_int_equal(money_add(MONEY_MAX_FEN + 1, 0, &out), 0);
	assert_int_equal(money_add(0, -MONEY_MAX_FEN - 1, &out), 0);
	assert_int_equal(money_add(MONEY_MAX_FEN, MONEY_MAX_FEN, &out), 0);
	assert_int_equal(out, UNTOUCHED);

	/* Operands far outside must not overflow on the way to a refusal. */
	assert_int_equal(money_add(INT64_MAX, 0, &out), 0);
	assert_int_equal(money_add(INT64_MAX, INT64_MAX, &out), 0);
	assert_int_equal(money_add(INT64_MIN, INT64_MIN, &out), 0);
	assert_int_equal(money_add(INT64_MAX, INT64_MIN, &out), 0);
	assert_int_equal(out, UNTOUCHED);
}

static void
test_mul(void **state)
{
	int64_t out;

	(void)state;
	assert_int_equal(money_mul(1990, 3, &out), 1);
	assert_int_equal(out, 5970);
	assert_int_equal(money_mul(1990, 0, &out), 1);
	assert_int_equal(out, 0);
	assert_int_equal(money_mul(0, 9999, &out), 1);
	assert_int_equal(out, 0);
	assert_int_equal(money_mul(-250, 4, &out), 1);
	assert_int_equal(out, -1000);
	assert_int_equal(money_mul(250, -4, &out), 1);
	assert_int_equal(out, -1000);
	assert_int_equal(money_mul(-250, -4, &out), 1);
	assert_int_equal(out, 1000);
}

static void
test_mul_bounds(void **state)
{
	int64_t out;

	(void)state;
	assert_int_equal(money_mul(MONEY_MAX_FEN, 1, &out), 1);
	assert_int_equal(out, MONEY_MAX_FEN);
	assert_int_equal(money_mul(MONEY_MAX_FEN / 4, 4, &out), 1);
	assert_int_equal(out, MONEY_MAX_FEN);
	assert_int_equal(money_mul(-MONEY_MAX_FEN, 1, &out), 1);
	assert_int_equal(out, -MONEY_MAX_FEN);
	assert_int_equal(money_mul(10000000, 10000000, &out), 1);
	assert_int_equal(out, MONEY_MAX_FEN);

	out = UNTOUCHED;
	assert_int_equal(money_mul(MONEY_MAX_FEN, 2, &out), 0);
	assert_int_equal(money_mul(MONEY_MAX_FEN / 4 + 1, 4, &out), 0);
	assert_int_equal(money_mul(-MONEY_MAX_FEN, 2, &out), 0);
	assert_int_equal(money_mul(MONEY_MAX_FEN + 1, 1, &out), 0);
	assert_int_equal(money_mul(1, MONEY_MAX_FEN + 1, &out), 0);
	assert_int_equal(money_mul(10000001, 10000000, &out), 0);
	/* 1e14 + 1 = 29 * 101 * 281 * 121499449: one fen over, either sign. */
	assert_int_equal(money_mul(29 * 101 * 281, 121499449, &out), 0);
	assert_int_equal(money_mul(-29 * 101 * 281, 121499449, &out), 0);
	/* Products that would wrap int64_t itself. */
	assert_int_equal(money_mul(INT64_MAX, 1, &out), 0);
	assert_int_equal(money_mul(INT64_MAX, INT64_MAX, &out), 0);
	assert_int_equal(money_mul(INT64_MIN, -1, &out), 0);
	assert_int_equal(money_mul(MONEY_MAX_FEN, MONEY_MAX_FEN, &out), 0);
	assert_int_equal(money_mul(MONEY_MAX_FEN, -MONEY_MAX_FEN, &out), 0);
	/* Overflow even with a zero factor, since the other is out of range. */
	assert_int_equal(money_mul(INT64_MAX, 0, &out), 0);
	assert_int_equal(out, UNTOUCHED);
}

static void
test_bps(void **state)
{
	int64_t out;

	(void)state;
	assert_int_equal(money_bps(10000, 500, &out), 1);
	assert_int_equal(out, 500);
	assert_int_equal(money_bps(10000, 1, &out), 1);
	assert_int_equal(out, 1);
	assert_int_equal(money_bps(0, 500, &out), 1);
	assert_int_equal(out, 0);
	assert_int_equal(money_bps(1234567, 0, &out), 1);
	assert_int_equal(out, 0);
	assert_int_equal(money_bps(1234567, 10000, &out), 1);
	assert_int_equal(out, 1234567);
	assert_int_equal(money_bps(MONEY_MAX_FEN, 10000, &out), 1);
	assert_int_equal(out, MONEY_MAX_FEN);
	assert_int_equal(money_bps(MONEY_MAX_FEN, 500, &out), 1);
	assert_int_equal(out, MONEY_MAX_FEN / 20);
}

static void
test_bps_rounding(void **state)
{
	int64_t out;

	(void)state;
	/* 5% of 1990 is 99.5: half rounds up. */
	assert_int_equal(money_bps(1990, 500, &out), 1);
	assert_int_equal(out, 100);
	/* 5% of 1989 is 99.45: down. */
	assert_int_equal(money_bps(1989, 500, &out), 1);
	assert_int_equal(out, 99);
	/* 5% of 1991 is 99.55: up. */
	assert_int_equal(money_bps(1991, 500, &out), 1);
	assert_int_equal(out, 100);
	/* 50% of 1 is 0.5: up; 1 bps of 4999 is 0.4999: down. */
	assert_int_equal(money_bps(1, 5000, &out), 1);
	assert_int_equal(out, 1);
	assert_int_equal(money_bps(4999, 1, &out), 1);
	assert_int_equal(out, 0);
	assert_int_equal(money_bps(5000, 1, &out), 1);
	assert_int_equal(out, 1);
	assert_int_equal(money_bps(15000, 1, &out), 1);
	assert_int_equal(out, 2);
	/* 33.33% of 100 is 33.33. */
	assert_int_equal(money_bps(100, 3333, &out), 1);
	assert_int_equal(out, 33);
	/* 99.99% of 99999 is 99989.0001. */
	assert_int_equal(money_bps(99999, 9999, &out), 1);
	assert_int_equal(out, 99989);
}

static void
test_bps_refused(void **state)
{
	int64_t out;

	(void)state;
	out = UNTOUCHED;
	assert_int_equal(money_bps(1000, -1, &out), 0);
	assert_int_equal(money_bps(1000, 10001, &out), 0);
	assert_int_equal(money_bps(1000, -10000, &out), 0);
	assert_int_equal(money_bps(1000, 1000000, &out), 0);
	assert_int_equal(money_bps(-1, 500, &out), 0);
	assert_int_equal(money_bps(-1990, 500, &out), 0);
	assert_int_equal(money_bps(-1, 0, &out), 0);
	assert_int_equal(money_bps(MONEY_MAX_FEN + 1, 500, &out), 0);
	assert_int_equal(money_bps(INT64_MAX, 10000, &out), 0);
	assert_int_equal(money_bps(INT64_MIN, 10000, &out), 0);
	assert_int_equal(out, UNTOUCHED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_add_bounds),
		cmocka_unit_test(test_mul),
		cmocka_unit_test(test_mul_bounds),
		cmocka_unit_test(test_bps),
		cmocka_unit_test(test_bps_rounding),
		cmocka_unit_test(test_bps_refused),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

/*
 * test_quota: shares in basis points, plans resolved from a reserved
 * amount or share, leap years, elapsed days, and on-track against the
 * prorated reservation at the year's edges.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "money.h"
#include "quota.h"

#define UNTOUCHED INT64_C(-424242)

static void
test_share(void **state)
{
	int64_t out;

	(void)state;
	assert_int_equal(quota_share_bps(0, 100, &out), 1);
	assert_int_equal(out, 0);
	assert_int_equal(quota_share_bps(30, 100, &out), 1);
	assert_int_equal(out, 3000);
	assert_int_equal(quota_share_bps(100, 100, &out), 1);
	assert_int_equal(out, 10000);
	/* Above the whole: more than 100%. */
	assert_int_equal(quota_share_bps(250, 100, &out), 1);
	assert_int_equal(out, 25000);
	/* Half up: 1/3 is 3333.33, 2/3 is 6666.67, 1/20000 is 0.5. */
	assert_int_equal(quota_share_bps(1, 3, &out), 1);
	assert_int_equal(out, 3333);
	assert_int_equal(quota_share_bps(2, 3, &out), 1);
	assert_int_equal(out, 6667);
	assert_int_equal(quota_share_bps(1, 20000, &out), 1);
	assert_int_equal(out, 1);
	assert_int_equal(quota_share_bps(1, 20001, &out), 1);
	assert_int_equal(out, 0);
	/* The largest amounts do not overflow. */
	assert_int_equal(
	    quota_share_bps(MONEY_MAX_FEN, MONEY_MAX_FEN, &out), 1);
	assert_int_equal(out, 10000);
	assert_int_equal(quota_share_bps(MONEY_MAX_FEN, 1, &out), 1);
	assert_int_equal(out, MONEY_MAX_FEN * 10000);
}

static void
test_share_refused(void **state)
{
	int64_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(quota_share_bps(1, 0, &out), 0);
	assert_int_equal(quota_share_bps(1, -5, &out), 0);
	assert_int_equal(quota_share_bps(-1, 5, &out), 0);
	assert_int_equal(quota_share_bps(MONEY_MAX_FEN + 1, 5, &out), 0);
	assert_int_equal(quota_share_bps(1, MONEY_MAX_FEN + 1, &out), 0);
	assert_int_equal(out, UNTOUCHED);
}

static void
test_plan_from_share(void **state)
{
	struct quota_plan p;

	(void)state;
	/* ¥2,000,000, 30%, ¥50,000: the demo plan. */
	assert_int_equal(
	    quota_plan_resolve(200000000, QUOTA_NOT_GIVEN, 3000, 5000000, &p),
	    QUOTA_OK);
	assert_int_equal(p.budget_fen, 200000000);
	assert_int_equal(p.reserved_fen, 60000000);
	assert_int_equal(p.reserved_share_bps, 3000);
	assert_int_equal(p.approval_threshold_fen, 5000000);
	assert_int_equal(p.basis_is_share, 1);
	/* Rounded half up to the fen: 1 bps of 5 fen is 0.0005. */
	assert_int_equal(
	    quota_plan_resolve(5000, QUOTA_NOT_GIVEN, 1, 0, &p), QUOTA_OK);
	assert_int_equal(p.reserved_fen, 1);
	assert_int_equal(
	    quota_plan_resolve(4999, QUOTA_NOT_GIVEN, 1, 0, &p), QUOTA_OK);
	assert_int_equal(p.reserved_fen, 0);
	assert_int_equal(
	    quota_plan_resolve(0, QUOTA_NOT_GIVEN, 10000, 0, &p), QUOTA_OK);
	assert_int_equal(p.reserved_fen, 0);
}

static void
test_plan_from_amount(void **state)
{
	struct quota_plan p;

	(void)state;
	assert_int_equal(
	    quota_plan_resolve(300000, 100000, QUOTA_NOT_GIVEN, 0, &p),
	    QUOTA_OK);
	assert_int_equal(p.reserved_fen, 100000);
	assert_int_equal(p.reserved_share_bps, 3333);
	assert_int_equal(p.basis_is_share, 0);
	assert_int_equal(
	    quota_plan_resolve(300000, 300000, QUOTA_NOT_GIVEN, 0, &p),
	    QUOTA_OK);
	assert_int_equal(p.reserved_share_bps, 10000);
	assert_int_equal(
	    quota_plan_resolve(0, 0, QUOTA_NOT_GIVEN, 0, &p), QUOTA_OK);
	assert_int_equal(p.reserved_share_bps, 0);
}

static void
test_plan_refused(void **state)
{
	struct quota_plan p;

	(void)state;
	assert_int_equal(
	    quota_plan_resolve(100, QUOTA_NOT_GIVEN, QUOTA_NOT_GIVEN, 0, &p),
	    QUOTA_ERR_NEITHER);
	assert_int_equal(
	    quota_plan_resolve(100, 10, 100, 0, &p), QUOTA_ERR_BOTH);
	assert_int_equal(quota_plan_resolve(100, 101, QUOTA_NOT_GIVEN, 0, &p),
	    QUOTA_ERR_RESERVED);
	assert_int_equal(quota_plan_resolve(100, -2, QUOTA_NOT_GIVEN, 0, &p),
	    QUOTA_ERR_RESERVED);
	assert_int_equal(quota_plan_resolve(100, QUOTA_NOT_GIVEN, 10001, 0, &p),
	    QUOTA_ERR_SHARE);
	assert_int_equal(quota_plan_resolve(100, QUOTA_NOT_GIVEN, -2, 0, &p),
	    QUOTA_ERR_SHARE);
	assert_int_equal(quota_plan_resolve(-1, QUOTA_NOT_GIVEN, 100, 0, &p),
	    QUOTA_ERR_BUDGET);
	assert_int_equal(
	    quota_plan_resolve(MONEY_MAX_FEN + 1, QUOTA_NOT_GIVEN, 100, 0, &p),
	    QUOTA_ERR_BUDGET);
	assert_int_equal(quota_plan_resolve(100, QUOTA_NOT_GIVEN, 100, -1, &p),
	    QUOTA_ERR_THRESHOLD);
	assert_string_equal(
	    quota_error_field(QUOTA_ERR_SHARE), "reserved_share_bps");
	assert_string_equal(quota_error_field(QUOTA_ERR_BOTH), "reserved_fen");
	assert_non_null(strstr(quota_error_text(QUOTA_ERR_BOTH), "not both"));
}

static void
test_year_days(void **state)
{
	(void)state;
	assert_int_equal(quota_year_days(2023), 365);
	assert_int_equal(quota_year_days(2024), 366);
	assert_int_equal(quota_year_days(2100), 365);
	assert_int_equal(quota_year_days(2000), 366);
}

static void
test_elapsed(void **state)
{
	(void)state;
	/* January 1st: nothing has elapsed yet. */
	assert_int_equal(quota_elapsed_days(2025, 2025, 1), 0);
	assert_int_equal(quota_elapsed_days(2025, 2025, 2), 1);
	assert_int_equal(quota_elapsed_days(2025, 2025, 365), 364);
	assert_int_equal(quota_elapsed_days(2024, 2024, 366), 365);
	/* Years past are whole, years to come have not begun. */
	assert_int_equal(quota_elapsed_days(2024, 2025, 100), 366);
	assert_int_equal(quota_elapsed_days(2026, 2025, 100), 0);
	/* Nonsense days are clamped. */
	assert_int_equal(quota_elapsed_days(2025, 2025, 0), 0);
	assert_int_equal(quota_elapsed_days(2025, 2025, 400), 365);
}

static void
test_expected(void **state)
{
	int64_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(quota_expected(60000000, 0, 365, &out), 1);
	assert_int_equal(out, 0);
	assert_int_equal(quota_expected(60000000, 365, 365, &out), 1);
	assert_int_equal(out, 60000000);
	/* Rounded down: 100 * 1 / 3 = 33.3. */
	assert_int_equal(quota_expected(100, 1, 3, &out), 1);
	assert_int_equal(out, 33);
	assert_int_equal(quota_expected(100, 2, 3, &out), 1);
	assert_int_equal(out, 66);
	assert_int_equal(quota_expected(MONEY_MAX_FEN, 365, 366, &out), 1);
	assert_true(out < MONEY_MAX_FEN);
	out = UNTOUCHED;
	assert_int_equal(quota_expected(100, 4, 3, &out), 0);
	assert_int_equal(quota_expected(100, -1, 3, &out), 0);
	assert_int_equal(quota_expected(100, 0, 0, &out), 0);
	assert_int_equal(quota_expected(-1, 0, 3, &out), 0);
	assert_int_equal(out, UNTOUCHED);
}

static void
test_progress(void **state)
{
	struct quota_progress q;

	(void)state;
	memset(&q, 0, sizeof(q));
	/* Mid-year (2025-07-02 is day 183; 182 days gone of 365). */
	q.budget_fen = 200000000;
	q.reserved_fen = 60000000;
	q.paired_fen = 29917808;
	q.year = 2025;
	q.today_year = 2025;
	q.today_yday = 183;
	assert_int_equal(quota_progress(&q), 1);
	assert_int_equal(q.elapsed_days, 182);
	assert_int_equal(q.year_days, 365);
	/* 60000000 * 182 / 365 = 29917808.2 */
	assert_int_equal(q.expected_fen, 29917808);
	assert_int_equal(q.on_track, 1);
	assert_int_equal(q.share_bps, 1496);
	q.paired_fen = 29917807;
	assert_int_equal(quota_progress(&q), 1);
	assert_int_equal(q.on_track, 0);

	/* A year past must have met the whole reservation. */
	q.year = 2024;
	q.paired_fen = 59999999;
	assert_int_equal(quota_progress(&q), 1);
	assert_int_equal(q.expected_fen, 60000000);
	assert_int_equal(q.on_track, 0);
	q.paired_fen = 60000000;
	assert_int_equal(quota_progress(&q), 1);
	assert_int_equal(q.on_track, 1);
	assert_int_equal(q.share_bps, 3000);

	/* A year to come, or its first day, asks nothing yet. */
	q.year = 2026;
	q.paired_fen = 0;
	assert_int_equal(quota_progress(&q), 1);
	assert_int_equal(q.expected_fen, 0);
	assert_int_equal(q.on_track, 1);
	assert_int_equal(q.share_bps, 0);

	/* No budget: no share, and nothing reserved. */
	q.year = 2025;
	q.budget_fen = 0;
	q.reserved_fen = 0;
	q.paired_fen = 500;
	assert_int_equal(quota_progress(&q), 1);
	assert_int_equal(q.share_bps, 0);
	assert_int_equal(q.on_track, 1);

	/* Facts out of range. */
	q.reserved_fen = 1;
	assert_int_equal(quota_progress(&q), 0);
	q.reserved_fen = 0;
	q.paired_fen = -1;
	assert_int_equal(quota_progress(&q), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_share_refused),
		cmocka_unit_test(test_plan_from_share),
		cmocka_unit_test(test_plan_from_amount),
		cmocka_unit_test(test_plan_refused),
		cmocka_unit_test(test_year_days),
		cmocka_unit_test(test_elapsed),
		cmocka_unit_test(test_expected),
		cmocka_unit_test(test_progress),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

/*
 * test_histogram: bucket placement on and around the bounds, count and sum,
 * cumulative counts, and quantiles on empty, known and overflowing data.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "histogram.h"

static void
test_bounds(void **state)
{
	int i;

	(void)state;
	assert_int_equal(histogram_bounds_us[0], 250);
	assert_int_equal(histogram_bounds_us[HISTOGRAM_BUCKETS - 1], 1000000);
	for (i = 1; i < HISTOGRAM_BUCKETS; i++)
		assert_true(
		    histogram_bounds_us[i] > histogram_bounds_us[i - 1]);
}

static void
test_empty(void **state)
{
	struct histogram h;
	int		 i;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (i = -1; i <= HISTOGRAM_BUCKETS; i++)
		assert_int_equal(histogram_cumulative(&h, i), 0);
	assert_int_equal(histogram_quantile_us(&h, 0.5), 0);
	assert_int_equal(histogram_quantile_us(&h, 0.99), 0);
	assert_int_equal(histogram_quantile_us(&h, 1.0), 0);
}

/* A value on a bound belongs to that bucket; one above, to the next. */
static void
test_on_bounds(void **state)
{
	struct histogram h;
	uint64_t	 b;
	int		 i;

	(void)state;
	for (i = 0; i < HISTOGRAM_BUCKETS; i++) {
		b = histogram_bounds_us[i];

		memset(&h, 0, sizeof(h));
		histogram_observe(&h, b);
		assert_int_equal(h.bucket[i], 1);
		assert_int_equal(h.count, 1);
		assert_int_equal(h.sum_us, b);

		memset(&h, 0, sizeof(h));
		histogram_observe(&h, b - 1);
		assert_int_equal(h.bucket[i], 1);

		memset(&h, 0, sizeof(h));
		histogram_observe(&h, b + 1);
		assert_int_equal(h.bucket[i], 0);
		if (i + 1 < HISTOGRAM_BUCKETS)
			assert_int_equal(h.bucket[i + 1], 1);
		assert_int_equal(h.count, 1);
	}

	memset(&h, 0, sizeof(h));
	histogram_observe(&h, 0);
	histogram_observe(&h, 1);
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.sum_us, 1);
}

static void
test_count_sum(void **state)
{
	static const uint64_t v[] = { 0, 100, 250, 251, 999, 1000, 1001, 49999,
		1000000, 1000001, 5000000 };
	struct histogram      h;
	uint64_t	      sum, inb;
	size_t		      i;
	int		      k;

	(void)state;
	memset(&h, 0, sizeof(h));
	sum = 0;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		histogram_observe(&h, v[i]);
		sum += v[i];
	}
	assert_int_equal(h.count, sizeof(v) / sizeof(v[0]));
	assert_int_equal(h.sum_us, sum);
	assert_int_equal(h.sum_us, 7053601);

	/* The buckets hold every observation but the two beyond 1 s. */
	for (inb = 0, k = 0; k < HISTOGRAM_BUCKETS; k++)
		inb += h.bucket[k];
	assert_int_equal(inb, h.count - 2);
	assert_int_equal(h.bucket[0], 3); /* 0, 100, 250 */
	assert_int_equal(h.bucket[1], 1); /* 251 */
	assert_int_equal(h.bucket[2], 2); /* 999, 1000 */
	assert_int_equal(h.bucket[3], 1); /* 1001 */
	assert_int_equal(h.bucket[7], 1); /* 49999 */
	assert_int_equal(h.bucket[11], 1); /* 1000000 */
}

static void
test_cumulative(void **state)
{
	struct histogram h;
	uint64_t	 prev, c, v;
	int		 i;

	(void)state;
	memset(&h, 0, sizeof(h));
	/* Roughly log-spread values, some beyond the last bound. */
	for (v = 1; v < 4000000; v = v * 3 + 7)
		histogram_observe(&h, v);

	prev = 0;
	for (i = 0; i < HISTOGRAM_BUCKETS; i++) {
		c = histogram_cumulative(&h, i);
		assert_true(c >= prev);
		assert_int_equal(c - prev, h.bucket[i]);
		assert_true(c <= h.count);
		prev = c;
	}
	assert_true(prev < h.count);

	/* Out-of-range indices: nothing below the first, all buckets above. */
	assert_int_equal(histogram_cumulative(&h, -1), 0);
	assert_int_equal(histogram_cumulative(&h, HISTOGRAM_BUCKETS), prev);
	assert_int_equal(histogram_cumulative(&h, 1000), prev);
}

static void
test_quantile_known(void **state)
{
	struct histogram h;
	int		 i;

	(void)state;
	/* 90 fast (in 250), 9 medium (in 5000), 1 slow (in 100000). */
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 90; i++)
		histogram_observe(&h, 120);
	for (i = 0; i < 9; i++)
		histogram_observe(&h, 3000);
	histogram_observe(&h, 80000);
	assert_int_equal(h.count, 100);
	assert_int_equal(histogram_quantile_us(&h, 0.5), 250);
	assert_int_equal(histogram_quantile_us(&h, 0.9), 250);
	assert_int_equal(histogram_quantile_us(&h, 0.91), 5000);
	assert_int_equal(histogram_quantile_us(&h, 0.99), 5000);
	assert_int_equal(histogram_quantile_us(&h, 0.995), 100000);
	assert_int_equal(histogram_quantile_us(&h, 1.0), 100000);

	/* Quantiles never decrease with q. */
	for (i = 1; i < 100; i++)
		assert_true(histogram_quantile_us(&h, i / 100.0) <=
		    histogram_quantile_us(&h, (i + 1) / 100.0));
}

/*
 * The answer is an upper estimate: the bucket that holds the q-th
 * observation, counting a fractional rank up, as Prometheus does.
 */
static void
test_quantile_rank_up(void **state)
{
	struct histogram h;
	int		 i;

	(void)state;
	/* Median of 100, 600, 3000 is 600, in the 1000 bucket. */
	memset(&h, 0, sizeof(h));
	histogram_observe(&h, 100);
	histogram_observe(&h, 600);
	histogram_observe(&h, 3000);
	assert_int_equal(histogram_quantile_us(&h, 0.5), 1000);
	assert_int_equal(histogram_quantile_us(&h, 0.99), 5000);
	assert_int_equal(histogram_quantile_us(&h, 0.1), 250);

	/* 148 fast and 2 slow of 150: p99 (rank 148.5) is slow. */
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 148; i++)
		histogram_observe(&h, 200);
	histogram_observe(&h, 40000);
	histogram_observe(&h, 40000);
	assert_int_equal(histogram_quantile_us(&h, 0.5), 250);
	assert_int_equal(histogram_quantile_us(&h, 0.99), 50000);

	/* One observation is every quantile. */
	memset(&h, 0, sizeof(h));
	histogram_observe(&h, 7000);
	assert_int_equal(histogram_quantile_us(&h, 0.01), 10000);
	assert_int_equal(histogram_quantile_us(&h, 0.5), 10000);
	assert_int_equal(histogram_quantile_us(&h, 1.0), 10000);
}

static void
test_above_last_bound(void **state)
{
	struct histogram h;
	int		 i;

	(void)state;
	memset(&h, 0, sizeof(h));
	histogram_observe(&h, 1000001);
	histogram_observe(&h, UINT64_C(3600000000));
	assert_int_equal(h.count, 2);
	assert_int_equal(h.sum_us, UINT64_C(3601000001));
	for (i = 0; i < HISTOGRAM_BUCKETS; i++)
		assert_int_equal(h.bucket[i], 0);
	assert_int_equal(histogram_cumulative(&h, HISTOGRAM_BUCKETS - 1), 0);
	assert_true(histogram_quantile_us(&h, 0.5) == UINT64_MAX);
	assert_true(histogram_quantile_us(&h, 0.99) == UINT64_MAX);

	/* 95 in range, 5 beyond: p95 is in range, p99 beyond. */
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 95; i++)
		histogram_observe(&h, 900000);
	for (i = 0; i < 5; i++)
		histogram_observe(&h, 2000000);
	assert_int_equal(histogram_quantile_us(&h, 0.95), 1000000);
	assert_true(histogram_quantile_us(&h, 0.96) == UINT64_MAX);
	assert_true(histogram_quantile_us(&h, 0.99) == UINT64_MAX);
	assert_true(histogram_quantile_us(&h, 1.0) == UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_on_bounds),
		cmocka_unit_test(test_count_sum),
		cmocka_unit_test(test_cumulative),
		cmocka_unit_test(test_quantile_known),
		cmocka_unit_test(test_quantile_rank_up),
		cmocka_unit_test(test_above_last_bound),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

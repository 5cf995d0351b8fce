/*
 * test_ranking: sales points on their log scale, the score's composition
 * and clamps, the order by score then id whatever the input order, the
 * pinned slots, and the caller's index carried along.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "ranking.h"

#define TW  RANKING_TEXT_WEIGHT
#define BW  RANKING_BOOST_WEIGHT
#define E15 INT64_C(1000000000000000)

static struct rank_item
item(int64_t id, int text, int64_t sales, int64_t boost, int pin)
{
	struct rank_item r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.text = text;
	r.sales = sales;
	r.boost = boost;
	r.pin = pin;
	r.score = -1;
	r.index = (size_t)-1;
	return (r);
}

/* Sorts a copy of in[0..n) and checks the ids come out as want[]. */
static void
check_order(const struct rank_item *in, size_t n, const int64_t *want)
{
	struct rank_item *r;
	size_t		  i;

	r = calloc(n ? n : 1, sizeof(*r));
	assert_non_null(r);
	memcpy(r, in, n * sizeof(*r));
	for (i = 0; i < n; i++)
		r[i].index = i;
	ranking_sort(r, n);
	for (i = 0; i < n; i++) {
		if (r[i].id != want[i])
			fail_msg("position %zu: id %lld, want %lld", i,
			    (long long)r[i].id, (long long)want[i]);
		/* The index still names the item the caller gave. */
		assert_int_equal(in[r[i].index].id, r[i].id);
		assert_int_equal(r[i].score, ranking_score(&in[r[i].index]));
	}
	free(r);
}

/* ------------------------------------------------------------ sales */

static void
test_sales_points_small(void **state)
{
	(void)state;
	assert_int_equal(ranking_sales_points(0), 0);
	assert_int_equal(ranking_sales_points(-1), 0);
	assert_int_equal(ranking_sales_points(-1000000), 0);
	assert_int_equal(ranking_sales_points(INT64_MIN), 0);
	/* One sale is one doubling of (sales + 1). */
	assert_int_equal(ranking_sales_points(1), 100);
	/* Linear in between: 3 of 2..4 is half way. */
	assert_int_equal(ranking_sales_points(2), 150);
	assert_int_equal(ranking_sales_points(3), 200);
	assert_int_equal(ranking_sales_points(4), 225);
	assert_int_equal(ranking_sales_points(5), 250);
	assert_int_equal(ranking_sales_points(6), 275);
	assert_int_equal(ranking_sales_points(7), 300);
	/* 700 + 99 * 100 / 128 = 777 (integer division). */
	assert_int_equal(ranking_sales_points(226), 777);
}

/* 2^k - 1 sales is exactly k doublings; 2^k a hair more, 2^k - 2 less. */
static void
test_sales_points_boundaries(void **state)
{
	int64_t s, p;
	int	k;

	(void)state;
	for (k = 1; k <= 62; k++) {
		s = (INT64_C(1) << k) - 1;
		assert_int_equal(ranking_sales_points(s), k * 100);
		p = ranking_sales_points(s + 1);
		assert_true(p >= k * 100);
		assert_true(p <= k * 100 + 100 / ((INT64_C(1) << k)));
		/* (Above 2^58 the wrap of test_sales_points_huge.) */
		if (k >= 2 && k <= 58) {
			p = ranking_sales_points(s - 1);
			assert_true(p < k * 100);
			assert_true(p >= (k - 1) * 100);
		}
	}
	/* Beyond 2^7 the step below a doubling rounds away. */
	assert_int_equal(ranking_sales_points(128), 700);
	assert_int_equal(ranking_sales_points(1023), 1000);
	assert_int_equal(ranking_sales_points(1000000), 1990);
}

/* Never decreasing, and bounded: a best seller gains 100 a doubling. */
static void
test_sales_points_monotonic(void **state)
{
	int64_t s, prev, p;

	(void)state;
	prev = 0;
	for (s = 0; s <= 70000; s++) {
		p = ranking_sales_points(s);
		assert_true(p >= prev);
		assert_true(p - prev <= 100);
		prev = p;
	}
	/* Up the scale in steps of about 1/8, to 2^57 (no overflow there). */
	prev = 0;
	for (s = 1; s < (INT64_C(1) << 57); s += s / 8 + 1) {
		p = ranking_sales_points(s);
		assert_true(p >= prev);
		prev = p;
	}
}

static void
test_sales_points_huge(void **state)
{
	int64_t mid, p;

	(void)state;
	assert_int_equal(ranking_sales_points(INT64_MAX), 6300);
	assert_int_equal(ranking_sales_points((INT64_C(1) << 62) - 1), 6200);
	/* Half way through the 57th doubling: (2^57 + 2^56) - 1 sales. */
	assert_int_equal(
	    ranking_sales_points((INT64_C(1) << 57) + (INT64_C(1) << 56) - 1),
	    5750);
	/* The largest sales are worth less than one text level. */
	assert_true(ranking_sales_points(INT64_MAX) < TW);

	/*
	 * Half way through the 62nd doubling: 6250, though (v - base) * 100
	 * no longer fits 64 bits there.
	 */
	mid = (INT64_C(1) << 62) + (INT64_C(1) << 61) - 1;
	p = ranking_sales_points(mid);
	assert_int_equal(p, 6250);
	assert_int_equal(ranking_sales_points(INT64_MAX - 1), 6299);
	assert_true(
	    ranking_sales_points((INT64_C(1) << 62) + INT64_C(180) * E15) <=
	    ranking_sales_points((INT64_C(1) << 62) + INT64_C(185) * E15));
}

/* ------------------------------------------------------------ score */

static void
test_score_composition(void **state)
{
	struct rank_item r;

	(void)state;
	r = item(1, 0, 0, 0, 0);
	assert_int_equal(ranking_score(&r), 0);
	r = item(1, 1, 0, 0, 0);
	assert_int_equal(ranking_score(&r), TW);
	r = item(1, 2, 0, 0, 0);
	assert_int_equal(ranking_score(&r), 2 * TW);
	r = item(1, 2, 1, 3, 0);
	assert_int_equal(ranking_score(&r), 2 * TW + 3 * BW + 100);
	r = item(1, 1, 7, -250, 0);
	assert_int_equal(ranking_score(&r), TW - 250 * BW + 300);
	r = item(1, 0, 3, -1, 0);
	assert_int_equal(ranking_score(&r), -1000 + 200);
	/* Pin and index play no part in the score. */
	r = item(1, 1, 1, 1, 20);
	r.index = 99;
	assert_int_equal(ranking_score(&r), TW + BW + 100);
	/* Only the inputs: the id is no part of it either. */
	r.id = INT64_MAX;
	assert_int_equal(ranking_score(&r), TW + BW + 100);
}

static void
test_score_clamps(void **state)
{
	struct rank_item r;

	(void)state;
	r = item(1, 0, 0, RANKING_BOOST_MAX, 0);
	assert_int_equal(ranking_score(&r), 5000 * BW);
	r = item(1, 0, 0, RANKING_BOOST_MAX + 1, 0);
	assert_int_equal(ranking_score(&r), 5000 * BW);
	r = item(1, 0, 0, INT64_MAX, 0);
	assert_int_equal(ranking_score(&r), 5000 * BW);
	r = item(1, 0, 0, -RANKING_BOOST_MAX, 0);
	assert_int_equal(ranking_score(&r), -5000 * BW);
	r = item(1, 0, 0, -RANKING_BOOST_MAX - 1, 0);
	assert_int_equal(ranking_score(&r), -5000 * BW);
	r = item(1, 0, 0, INT64_MIN, 0);
	assert_int_equal(ranking_score(&r), -5000 * BW);
	/* Text is 0, 1 or 2 whatever the caller says. */
	r = item(1, 3, 0, 0, 0);
	assert_int_equal(ranking_score(&r), 2 * TW);
	r = item(1, 1000, 0, 0, 0);
	assert_int_equal(ranking_score(&r), 2 * TW);
	r = item(1, -1, 0, 0, 0);
	assert_int_equal(ranking_score(&r), 0);
	r = item(1, -1000, 5, 0, 0);
	assert_int_equal(ranking_score(&r), 250);
	/* Everything at its extreme at once. */
	r = item(1, 99, INT64_MAX, INT64_MAX, 0);
	assert_int_equal(ranking_score(&r), 2 * TW + 5000 * BW + 6300);
	r = item(1, -99, INT64_MIN, INT64_MIN, 0);
	assert_int_equal(ranking_score(&r), -5000 * BW);
}

/*
 * One text level is 10^7 and the boost spans 2 * 5000 * 1000 = 10^7, with
 * sales adding at most 6300: text outweighs boost spreads up to 9993; at
 * wider spreads a description match with a best seller can pass a title
 * match (the formula as given; see the report).
 */
static void
test_score_text_weight(void **state)
{
	struct rank_item a, b;

	(void)state;
	a = item(1, 2, 0, -4990, 0);
	b = item(2, 1, INT64_MAX, 5000, 0);
	assert_true(ranking_score(&a) > ranking_score(&b));
	/* ... but not with a spread of 9999 and a best seller. */
	a = item(1, 2, 0, -4999, 0);
	assert_true(ranking_score(&a) < ranking_score(&b));
	a = item(1, 1, 0, -4990, 0);
	b = item(2, 0, INT64_MAX, 5000, 0);
	assert_true(ranking_score(&a) > ranking_score(&b));
	a = item(1, 1, 0, -5000, 0);
	b = item(2, 0, 0, 5000, 0);
	assert_int_equal(ranking_score(&a), ranking_score(&b));
	/* Seven boost points outweigh any sales (at most 6300); six not. */
	a = item(1, 0, 0, 7, 0);
	b = item(2, 0, INT64_MAX, 0, 0);
	assert_true(ranking_score(&a) > ranking_score(&b));
	a = item(1, 0, 0, 6, 0);
	assert_true(ranking_score(&a) < ranking_score(&b));
}

/* ------------------------------------------------------------ order */

static void
test_sort_by_score_then_id(void **state)
{
	struct rank_item in[8];
	/* Text first, then boost, then sales, then the lower id. */
	static const int64_t want[8] = { 60, 50, 40, 20, 30, 10, 70, 80 };

	(void)state;
	in[0] = item(10, 1, 0, 0, 0); /* TW */
	in[1] = item(20, 1, 1, 0, 0); /* TW + 100 */
	in[2] = item(30, 1, 1, 0, 0); /* TW + 100, higher id */
	in[3] = item(40, 1, 0, 1, 0); /* TW + 1000 */
	in[4] = item(50, 2, 0, -5000, 0); /* 2TW - 5e6 */
	in[5] = item(60, 2, 0, 0, 0); /* 2TW */
	in[6] = item(70, 0, 1000000, 4000, 0);
	in[7] = item(80, 0, 0, -3, 0);
	check_order(in, 8, want);
}

static void
test_sort_ties_lower_id(void **state)
{
	struct rank_item     in[5];
	static const int64_t want[5] = { -7, 0, 3, 9, INT64_MAX };

	(void)state;
	in[0] = item(INT64_MAX, 1, 7, 2, 0);
	in[1] = item(9, 1, 7, 2, 0);
	in[2] = item(-7, 1, 7, 2, 0);
	in[3] = item(3, 1, 7, 2, 0);
	in[4] = item(0, 1, 7, 2, 0);
	check_order(in, 5, want);
	/* Equal scores from different parts tie too: 1 boost = 1000 pts. */
	in[0] = item(5, 0, 0, 1, 0);
	in[1] = item(4, 0, 0, 0, 0);
	in[1].boost = 1;
	in[2] = item(3, 1, 0, -5000, 0);
	in[3] = item(2, 0, 0, 5000, 0);
	{
		static const int64_t w2[4] = { 2, 3, 4, 5 };

		check_order(in, 4, w2);
	}
}

/* A fixed pseudo-random shuffle (same on every machine). */
static void
shuffle(struct rank_item *r, size_t n, uint32_t *seed)
{
	struct rank_item t;
	size_t		 i, j;

	for (i = n; i > 1; i--) {
		*seed = *seed * 1103515245u + 12345u;
		j = (*seed >> 8) % i;
		t = r[i - 1];
		r[i - 1] = r[j];
		r[j] = t;
	}
}

static void
test_sort_deterministic(void **state)
{
	struct rank_item base[200], r[200];
	int64_t		 want[200];
	uint32_t	 seed = 12345;
	size_t		 i, n = 200;
	int		 round;

	(void)state;
	/* Many ties in score, a few pins. */
	for (i = 0; i < n; i++) {
		base[i] = item((int64_t)(i * 7919 % 1009), (int)(i % 3),
		    (int64_t)(i % 5) * 3, (int64_t)(i % 4) - 1,
		    i % 37 == 0 ? (int)(i % 4) : 0);
		base[i].index = i;
	}
	memcpy(r, base, sizeof(r));
	ranking_sort(r, n);
	for (i = 0; i < n; i++)
		want[i] = r[i].id;
	for (round = 0; round < 50; round++) {
		memcpy(r, base, sizeof(r));
		shuffle(r, n, &seed);
		if (round == 1) {
			/* Reversed input. */
			for (i = 0; i < n; i++)
				r[i] = base[n - 1 - i];
		}
		for (i = 0; i < n; i++)
			r[i].index = i;
		check_order(r, n, want);
	}
	/* Sorting the sorted list changes nothing. */
	memcpy(r, base, sizeof(r));
	ranking_sort(r, n);
	ranking_sort(r, n);
	for (i = 0; i < n; i++)
		assert_int_equal(r[i].id, want[i]);
}

/* Without pins, consecutive items never increase in (score, -id). */
static void
test_sort_sorted_invariant(void **state)
{
	struct rank_item r[300];
	uint32_t	 seed = 7;
	size_t		 i;

	(void)state;
	for (i = 0; i < 300; i++) {
		seed = seed * 1103515245u + 12345u;
		r[i] = item((int64_t)i, (int)(seed >> 30), (seed >> 10) % 5000,
		    (int64_t)((seed >> 4) % 21) - 10, 0);
	}
	ranking_sort(r, 300);
	for (i = 1; i < 300; i++) {
		assert_true(r[i - 1].score > r[i].score ||
		    (r[i - 1].score == r[i].score && r[i - 1].id < r[i].id));
	}
}

static void
test_sort_empty_and_one(void **state)
{
	struct rank_item r[1];

	(void)state;
	r[0] = item(42, 3, 5, 9000, 0);
	ranking_sort(r, 0);
	/* n = 0 touches nothing. */
	assert_int_equal(r[0].id, 42);
	assert_int_equal(r[0].score, -1);
	ranking_sort(r, 1);
	assert_int_equal(r[0].id, 42);
	assert_int_equal(r[0].score, 2 * TW + 5000 * BW + 250);
	assert_int_equal(r[0].index, (size_t)-1);
	/* A single pinned item stays where it is. */
	r[0] = item(43, 0, 0, -9000, 3);
	r[0].index = 0;
	ranking_sort(r, 1);
	assert_int_equal(r[0].id, 43);
	assert_int_equal(r[0].score, -5000 * BW);
	assert_int_equal(r[0].index, 0);
}

/* ranking_sort(NULL, 0): glibc's qsort is declared nonnull. */
static void
test_sort_null_empty(void **state)
{
	pid_t pid;
	int   st, fd;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The sanitizer's report would only be noise here. */
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			(void)dup2(fd, 2);
		ranking_sort(NULL, 0);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_sort_index_carried(void **state)
{
	struct rank_item     r[6];
	static const int64_t ids[6] = { 11, 22, 33, 44, 55, 66 };
	size_t		     i;

	(void)state;
	for (i = 0; i < 6; i++) {
		r[i] =
		    item(ids[i], (int)(i % 3), (int64_t)i, 0, i == 5 ? 1 : 0);
		/* An index unlike the position: the sort must not renumber. */
		r[i].index = 1000 + i * 10;
	}
	ranking_sort(r, 6);
	/* 66 pinned; then text 2 (33, 66), text 1 (22, 55), text 0. */
	assert_int_equal(r[0].id, 66);
	assert_int_equal(r[1].id, 33);
	assert_int_equal(r[2].id, 55);
	assert_int_equal(r[3].id, 22);
	assert_int_equal(r[4].id, 44);
	assert_int_equal(r[5].id, 11);
	for (i = 0; i < 6; i++) {
		assert_int_equal(
		    r[i].index, 1000 + (size_t)(r[i].id / 11 - 1) * 10);
		assert_int_equal(r[i].pin, r[i].id == 66 ? 1 : 0);
	}
}

/* ------------------------------------------------------------ pins */

static void
test_pin_none(void **state)
{
	struct rank_item     in[4];
	static const int64_t want[4] = { 2, 4, 1, 3 };

	(void)state;
	in[0] = item(1, 0, 10, 0, 0);
	in[1] = item(2, 0, 10, 2, 0);
	in[2] = item(3, 0, 1, 0, 0);
	in[3] = item(4, 0, 0, 1, 0);
	check_order(in, 4, want);
	/* Negative pins are no pins. */
	in[2].pin = -1;
	in[3].pin = -20;
	check_order(in, 4, want);
}

/*
 * A 2-slot rule: its best two items take slots 0 and 1 in their own
 * order; its third stays in place; the others keep their order.
 */
static void
test_pin_two_slots(void **state)
{
	struct rank_item     in[7];
	static const int64_t want[7] = { 3, 5, 1, 2, 4, 6, 7 };

	(void)state;
	in[0] = item(1, 2, 0, 0, 0); /* best */
	in[1] = item(2, 1, 0, 900, 0);
	in[2] = item(3, 1, 0, 800, 2); /* pinned, 3rd by score */
	in[3] = item(4, 1, 0, 700, 0);
	in[4] = item(5, 1, 0, 600, 2); /* pinned */
	in[5] = item(6, 1, 0, 500, 2); /* pinned, no slot left */
	in[6] = item(7, 0, 0, 0, 0);
	check_order(in, 7, want);
	/* Given in another order, the same answer. */
	{
		struct rank_item rev[7];
		size_t		 i;

		for (i = 0; i < 7; i++)
			rev[i] = in[6 - i];
		check_order(rev, 7, want);
	}
}

/* Pinned items already at the top stay there. */
static void
test_pin_already_on_top(void **state)
{
	struct rank_item     in[4];
	static const int64_t want[4] = { 1, 2, 3, 4 };

	(void)state;
	in[0] = item(1, 2, 0, 0, 2);
	in[1] = item(2, 1, 0, 0, 2);
	in[2] = item(3, 0, 5, 0, 0);
	in[3] = item(4, 0, 0, 0, 2);
	check_order(in, 4, want);
}

/* The worst possible scores still take the pinned slots. */
static void
test_pin_low_score(void **state)
{
	struct rank_item     in[5];
	static const int64_t want[5] = { 9, 8, 1, 2, 3 };

	(void)state;
	in[0] = item(1, 2, 1000, 5000, 0);
	in[1] = item(2, 2, 100, 5000, 0);
	in[2] = item(3, 1, 0, 0, 0);
	in[3] = item(8, -5, 0, -100000, 20); /* score -5e6 */
	in[4] = item(9, 0, 1, -5000, 20); /* score -5e6 + 100 */
	check_order(in, 5, want);
}

/*
 * Pin 1 against pin 3: slot 0 goes to the best pinned item of either;
 * slots 1 and 2 only to pin-3 items.
 */
static void
test_pin_one_vs_three(void **state)
{
	struct rank_item     in[8];
	struct rank_item     in2[5];
	struct rank_item     in3[5];
	static const int64_t want[8] = { 2, 3, 5, 1, 4, 6, 7, 8 };
	static const int64_t want2[5] = { 11, 12, 13, 10, 14 };
	static const int64_t want3[5] = { 21, 25, 20, 22, 23 };

	(void)state;
	/* The pin-1 item is the best pinned one: it takes slot 0. */
	in[0] = item(1, 2, 0, 0, 0);
	in[1] = item(2, 1, 0, 900, 1);
	in[2] = item(3, 1, 0, 800, 3);
	in[3] = item(4, 1, 0, 700, 0);
	in[4] = item(5, 1, 0, 600, 3);
	in[5] = item(6, 1, 0, 500, 3); /* slot 3 is nobody's: stays */
	in[6] = item(7, 1, 0, 400, 1); /* slot 0 taken: stays */
	in[7] = item(8, 0, 0, 0, 0);
	check_order(in, 8, want);

	/* Pin-3 items better than the pin-1 one fill all three slots. */
	in2[0] = item(10, 2, 0, 0, 0);
	in2[1] = item(11, 1, 0, 900, 3);
	in2[2] = item(12, 1, 0, 800, 3);
	in2[3] = item(13, 1, 0, 700, 3);
	in2[4] = item(14, 1, 0, 600, 1);
	check_order(in2, 5, want2);

	/* Two pin-1 items and one pin-3: the second pin-1 gets no slot. */
	in3[0] = item(20, 2, 0, 0, 0);
	in3[1] = item(21, 1, 0, 900, 1);
	in3[2] = item(22, 1, 0, 800, 1);
	in3[3] = item(23, 1, 0, 700, 0);
	in3[4] = item(25, 0, 0, -5000, 3);
	check_order(in3, 5, want3);
}

/* More pin slots than items: every pinned item first, by score. */
static void
test_pin_more_slots_than_items(void **state)
{
	struct rank_item     in[4];
	static const int64_t want[4] = { 3, 4, 1, 2 };

	(void)state;
	in[0] = item(1, 2, 0, 0, 0);
	in[1] = item(2, 1, 0, 0, 0);
	in[2] = item(3, 0, 9, 0, 20);
	in[3] = item(4, 0, 1, 0, 20);
	check_order(in, 4, want);
	/* Equal pinned scores: the lower id first. */
	in[3] = item(4, 0, 9, 0, 20);
	in[2] = item(3, 0, 9, 0, 20);
	check_order(in, 4, want);
}

/* Everything pinned: the order is the plain order. */
static void
test_pin_all(void **state)
{
	struct rank_item     in[5];
	static const int64_t want[5] = { 5, 1, 4, 2, 3 };

	(void)state;
	in[0] = item(1, 1, 0, 0, 5);
	in[1] = item(2, 0, 5, 0, 5);
	in[2] = item(3, 0, 0, 0, 5);
	in[3] = item(4, 1, 0, 0, 5);
	in[4] = item(5, 2, 0, 0, 5);
	check_order(in, 5, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sales_points_small),
		cmocka_unit_test(test_sales_points_boundaries),
		cmocka_unit_test(test_sales_points_monotonic),
		cmocka_unit_test(test_sales_points_huge),
		cmocka_unit_test(test_score_composition),
		cmocka_unit_test(test_score_clamps),
		cmocka_unit_test(test_score_text_weight),
		cmocka_unit_test(test_sort_by_score_then_id),
		cmocka_unit_test(test_sort_ties_lower_id),
		cmocka_unit_test(test_sort_deterministic),
		cmocka_unit_test(test_sort_sorted_invariant),
		cmocka_unit_test(test_sort_empty_and_one),
		cmocka_unit_test(test_sort_null_empty),
		cmocka_unit_test(test_sort_index_carried),
		cmocka_unit_test(test_pin_none),
		cmocka_unit_test(test_pin_two_slots),
		cmocka_unit_test(test_pin_already_on_top),
		cmocka_unit_test(test_pin_low_score),
		cmocka_unit_test(test_pin_one_vs_three),
		cmocka_unit_test(test_pin_more_slots_than_items),
		cmocka_unit_test(test_pin_all),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

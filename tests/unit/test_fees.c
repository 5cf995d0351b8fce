/*
 * test_fees: which rule a line gets (priority, ties, validity, matches) and
 * the fee and waiver it yields, with the monthly cap and the rounding.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fees.h"
#include "money.h"

#define NOW	INT64_C(1750000000)
#define BIG_CAP INT64_C(1000000000)
#define ID_A	1
#define ID_B	2
#define ID_C	3

/* A rule that matches everything, forever, with no cap. */
static struct fee_rule
rule_any(int64_t id, int commission_bps, int waiver_bps, int priority)
{
	struct fee_rule r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	snprintf(r.name, sizeof(r.name), "rule %lld", (long long)id);
	r.commission_bps = commission_bps;
	r.waiver_bps = waiver_bps;
	r.priority = priority;
	r.match_qualified = FEES_ANY;
	r.match_poverty_county = FEES_ANY;
	r.cap_fen_per_month = FEES_NO_CAP;
	r.valid_from = 0;
	r.valid_to = 0;
	return (r);
}

/*
 * The demo rules.  A: 5% on everything.  B: the fee fully waived for a
 * qualified vendor in a poverty county.  C: half waived for cooperatives,
 * up to 2000 yuan a month.
 */
static void
demo_rules(struct fee_rule r[3])
{
	r[0] = rule_any(ID_A, 500, 0, 0);
	r[1] = rule_any(ID_B, 500, 10000, 20);
	r[1].match_qualified = 1;
	r[1].match_poverty_county = 1;
	r[2] = rule_any(ID_C, 500, 5000, 10);
	snprintf(r[2].match_vendor_kind, sizeof(r[2].match_vendor_kind), "%s",
	    "cooperative");
	r[2].cap_fen_per_month = 200000;
}

static struct fee_line
line_of(int qualified, int poverty, const char *kind, int64_t amount)
{
	struct fee_line l;

	memset(&l, 0, sizeof(l));
	l.vendor_id = 42;
	l.qualified = qualified;
	l.poverty_county = poverty;
	l.vendor_kind = kind;
	l.region = "lancang";
	l.category = "tea";
	l.amount_fen = amount;
	return (l);
}

/* Applies the rules and checks every field of the result. */
static void
check_apply(const struct fee_rule *rules, int n, const struct fee_line *l,
    int64_t now, int64_t cap_left, int64_t rule_id, int64_t fee, int64_t waived,
    int capped)
{
	struct fee_result res;

	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(fees_apply(rules, n, l, now, cap_left, &res), 1);
	assert_int_equal(res.rule_id, rule_id);
	assert_int_equal(res.fee_fen, fee);
	assert_int_equal(res.waived_fen, waived);
	assert_int_equal(res.capped, capped);
}

static void
test_demo_qualified_poverty(void **state)
{
	struct fee_rule	  rules[3];
	struct fee_line	  l;
	struct fee_result res;

	(void)state;
	demo_rules(rules);
	l = line_of(1, 1, "enterprise", 1990);
	assert_int_equal(fees_apply(rules, 3, &l, NOW, BIG_CAP, &res), 1);
	assert_int_equal(res.rule_id, ID_B);
	assert_int_equal(res.commission_bps, 500);
	assert_int_equal(res.waiver_bps, 10000);
	assert_int_equal(res.fee_fen, 100);
	assert_int_equal(res.waived_fen, 100);
	assert_int_equal(res.capped, 0);

	/* A cooperative matches C too, but B has the higher priority. */
	l = line_of(1, 1, "cooperative", 1990);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_B, 100, 100, 0);
	/* B has no cap: cap_left does not touch its waiver. */
	check_apply(rules, 3, &l, NOW, 0, ID_B, 100, 100, 0);
	check_apply(rules, 3, &l, NOW, -1, ID_B, 100, 100, 0);
	/* Any non-zero fact counts as true. */
	l = line_of(7, 3, "individual", 20000);
	check_apply(rules, 3, &l, NOW, 0, ID_B, 1000, 1000, 0);
}

static void
test_demo_cooperative(void **state)
{
	struct fee_rule	  rules[3];
	struct fee_line	  l;
	struct fee_result res;

	(void)state;
	demo_rules(rules);
	/* Qualified cooperative outside a poverty county: C, half waived. */
	l = line_of(1, 0, "cooperative", 20000);
	assert_int_equal(fees_apply(rules, 3, &l, NOW, BIG_CAP, &res), 1);
	assert_int_equal(res.rule_id, ID_C);
	assert_int_equal(res.commission_bps, 500);
	assert_int_equal(res.waiver_bps, 5000);
	assert_int_equal(res.fee_fen, 1000);
	assert_int_equal(res.waived_fen, 500);
	assert_int_equal(res.capped, 0);

	l = line_of(0, 0, "cooperative", 20000);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 1000, 500, 0);
	/* In a poverty county but unqualified: B does not apply, C does. */
	l = line_of(0, 1, "cooperative", 20000);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 1000, 500, 0);
}

static void
test_demo_default(void **state)
{
	struct fee_rule	  rules[3];
	struct fee_line	  l;
	struct fee_result res;

	(void)state;
	demo_rules(rules);
	l = line_of(0, 0, "individual", 20000);
	assert_int_equal(fees_apply(rules, 3, &l, NOW, BIG_CAP, &res), 1);
	assert_int_equal(res.rule_id, ID_A);
	assert_int_equal(res.commission_bps, 500);
	assert_int_equal(res.waiver_bps, 0);
	assert_int_equal(res.fee_fen, 1000);
	assert_int_equal(res.waived_fen, 0);
	assert_int_equal(res.capped, 0);

	/* Qualified alone, or poverty county alone, is not enough for B. */
	l = line_of(1, 0, "individual", 20000);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_A, 1000, 0, 0);
	l = line_of(0, 1, "enterprise", 20000);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_A, 1000, 0, 0);
	/* No vendor kind at all cannot match C. */
	l = line_of(0, 0, NULL, 20000);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_A, 1000, 0, 0);
	/* Kinds compare exactly. */
	l = line_of(0, 0, "Cooperative", 20000);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_A, 1000, 0, 0);
	l = line_of(0, 0, "cooperativ", 20000);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_A, 1000, 0, 0);
	/* A zero amount gives a zero fee, still under the rule. */
	l = line_of(0, 0, "individual", 0);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_A, 0, 0, 0);
}

static void
test_cap(void **state)
{
	struct fee_rule rules[3];
	struct fee_line l;

	(void)state;
	demo_rules(rules);
	/* 1,000,000 fen: fee 50,000, half of it 25,000 waivable. */
	l = line_of(0, 0, "cooperative", 1000000);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 50000, 25000, 0);
	check_apply(rules, 3, &l, NOW, 200000, ID_C, 50000, 25000, 0);
	/* Exactly what is left: not cut. */
	check_apply(rules, 3, &l, NOW, 25000, ID_C, 50000, 25000, 0);
	/* Less left than the waiver: the cap cuts it, the fee stays. */
	check_apply(rules, 3, &l, NOW, 24999, ID_C, 50000, 24999, 1);
	check_apply(rules, 3, &l, NOW, 10000, ID_C, 50000, 10000, 1);
	check_apply(rules, 3, &l, NOW, 1, ID_C, 50000, 1, 1);
	/* Nothing left, or a cap overdrawn: nothing waived. */
	check_apply(rules, 3, &l, NOW, 0, ID_C, 50000, 0, 1);
	check_apply(rules, 3, &l, NOW, -1, ID_C, 50000, 0, 1);
	check_apply(rules, 3, &l, NOW, -500000, ID_C, 50000, 0, 1);
	check_apply(rules, 3, &l, NOW, INT64_MIN, ID_C, 50000, 0, 1);
}

static void
test_cap_zero_rule(void **state)
{
	struct fee_rule r;
	struct fee_line l;

	(void)state;
	/* A cap of 0 is a cap: no waiver at all. */
	r = rule_any(5, 500, 10000, 0);
	r.cap_fen_per_month = 0;
	l = line_of(0, 0, "individual", 20000);
	check_apply(&r, 1, &l, NOW, 0, 5, 1000, 0, 1);
	/* With no waiver there is nothing for the cap to cut. */
	r = rule_any(5, 500, 0, 0);
	r.cap_fen_per_month = 100;
	check_apply(&r, 1, &l, NOW, 0, 5, 1000, 0, 0);
	/* Without a cap, cap_left is ignored however low. */
	r = rule_any(5, 500, 10000, 0);
	check_apply(&r, 1, &l, NOW, -1, 5, 1000, 1000, 0);
}

static void
test_validity_window(void **state)
{
	struct fee_rule rules[2], w;
	struct fee_line l;

	(void)state;
	rules[0] = rule_any(ID_A, 500, 0, 0);
	rules[1] = rule_any(9, 300, 10000, 50);
	rules[1].valid_from = 1000;
	rules[1].valid_to = 2000;
	l = line_of(0, 0, "individual", 20000);

	check_apply(rules, 2, &l, 0, 0, ID_A, 1000, 0, 0);
	check_apply(rules, 2, &l, 999, 0, ID_A, 1000, 0, 0);
	check_apply(rules, 2, &l, 1000, 0, 9, 600, 600, 0);
	check_apply(rules, 2, &l, 1500, 0, 9, 600, 600, 0);
	check_apply(rules, 2, &l, 1999, 0, 9, 600, 600, 0);
	check_apply(rules, 2, &l, 2000, 0, ID_A, 1000, 0, 0);
	check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);

	w = rules[1];
	assert_int_equal(fees_rule_matches(&w, &l, 999), 0);
	assert_int_equal(fees_rule_matches(&w, &l, 1000), 1);
	assert_int_equal(fees_rule_matches(&w, &l, 1999), 1);
	assert_int_equal(fees_rule_matches(&w, &l, 2000), 0);

	/* valid_to 0: open-ended. */
	w.valid_to = 0;
	assert_int_equal(fees_rule_matches(&w, &l, 999), 0);
	assert_int_equal(fees_rule_matches(&w, &l, 1000), 1);
	assert_int_equal(fees_rule_matches(&w, &l, INT64_MAX), 1);
	/* valid_from 0 too: always. */
	w.valid_from = 0;
	assert_int_equal(fees_rule_matches(&w, &l, 0), 1);
	assert_int_equal(fees_rule_matches(&w, &l, NOW), 1);
	/* Only an end. */
	w.valid_to = 2000;
	assert_int_equal(fees_rule_matches(&w, &l, 0), 1);
	assert_int_equal(fees_rule_matches(&w, &l, 1999), 1);
	assert_int_equal(fees_rule_matches(&w, &l, 2000), 0);
}

static void
test_priority(void **state)
{
	struct fee_rule rules[3];
	struct fee_line l;

	(void)state;
	/* The higher priority wins whatever the ids and the order. */
	rules[0] = rule_any(1, 100, 0, 0);
	rules[1] = rule_any(9, 200, 0, 30);
	rules[2] = rule_any(5, 300, 0, 29);
	l = line_of(0, 0, "individual", 100000);
	check_apply(rules, 3, &l, NOW, 0, 9, 2000, 0, 0);
	rules[0] = rule_any(9, 200, 0, 30);
	rules[1] = rule_any(5, 300, 0, 29);
	rules[2] = rule_any(1, 100, 0, 0);
	check_apply(rules, 3, &l, NOW, 0, 9, 2000, 0, 0);
	/* Negative priorities still order. */
	rules[0] = rule_any(1, 100, 0, -5);
	rules[1] = rule_any(2, 200, 0, -1);
	check_apply(rules, 2, &l, NOW, 0, 2, 2000, 0, 0);
}

static void
test_priority_tie(void **state)
{
	struct fee_rule rules[3];
	struct fee_line l;

	(void)state;
	l = line_of(0, 0, "individual", 100000);
	/* Lower id first in the array. */
	rules[0] = rule_any(4, 100, 0, 5);
	rules[1] = rule_any(7, 200, 0, 5);
	check_apply(rules, 2, &l, NOW, 0, 4, 1000, 0, 0);
	assert_ptr_equal(fees_select(rules, 2, &l, NOW), &rules[0]);
	/* Lower id last in the array. */
	rules[0] = rule_any(7, 200, 0, 5);
	rules[1] = rule_any(4, 100, 0, 5);
	check_apply(rules, 2, &l, NOW, 0, 4, 1000, 0, 0);
	assert_ptr_equal(fees_select(rules, 2, &l, NOW), &rules[1]);
	/* Three-way tie, lowest id in the middle. */
	rules[0] = rule_any(12, 300, 0, 5);
	rules[1] = rule_any(3, 100, 0, 5);
	rules[2] = rule_any(8, 200, 0, 5);
	check_apply(rules, 3, &l, NOW, 0, 3, 1000, 0, 0);
	/* A tie among the losers does not matter. */
	rules[0] = rule_any(1, 100, 0, 5);
	rules[1] = rule_any(2, 200, 0, 5);
	rules[2] = rule_any(30, 300, 0, 6);
	check_apply(rules, 3, &l, NOW, 0, 30, 3000, 0, 0);
}

static void
test_no_rule(void **state)
{
	struct fee_rule	  rules[3];
	struct fee_line	  l;
	struct fee_result res;

	(void)state;
	demo_rules(rules);
	/* Only B, and the line is not eligible for it. */
	l = line_of(0, 0, "individual", 20000);
	check_apply(&rules[1], 1, &l, NOW, BIG_CAP, 0, 0, 0, 0);
	/* Only C, and not a cooperative. */
	check_apply(&rules[2], 1, &l, NOW, 0, 0, 0, 0, 0);
	/* No rules at all. */
	check_apply(rules, 0, &l, NOW, BIG_CAP, 0, 0, 0, 0);
	check_apply(NULL, 0, &l, NOW, BIG_CAP, 0, 0, 0, 0);
	assert_null(fees_select(rules, 0, &l, NOW));
	assert_null(fees_select(&rules[1], 1, &l, NOW));

	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(fees_apply(rules, 0, &l, NOW, 0, &res), 1);
	assert_int_equal(res.commission_bps, 0);
	assert_int_equal(res.waiver_bps, 0);
}

static void
test_invalid_rules(void **state)
{
	struct fee_rule rules[2], *bad;
	struct fee_line l;
	int		i;

	(void)state;
	l = line_of(1, 1, "cooperative", 20000);
	rules[0] = rule_any(ID_A, 500, 0, 0);
	bad = &rules[1];
	assert_int_equal(fees_rule_valid(&rules[0]), 1);

	/* Each broken rule would win on priority; it must be skipped. */
	for (i = 0; i < 11; i++) {
		*bad = rule_any(9, 300, 10000, 100);
		assert_int_equal(fees_rule_valid(bad), 1);
		check_apply(rules, 2, &l, NOW, 0, 9, 600, 600, 0);
		switch (i) {
		case 0: bad->commission_bps = 10001; break;
		case 1: bad->commission_bps = -1; break;
		case 2: bad->waiver_bps = 10001; break;
		case 3: bad->waiver_bps = -1; break;
		case 4:
			bad->valid_from = 2000;
			bad->valid_to = 2000;
			break;
		case 5:
			bad->valid_from = 2000;
			bad->valid_to = 1000;
			break;
		case 6: bad->match_qualified = 2; break;
		case 7: bad->match_poverty_county = 2; break;
		case 8: bad->match_qualified = -2; break;
		case 9: bad->match_poverty_county = -2; break;
		case 10: bad->cap_fen_per_month = -2; break;
		}
		assert_int_equal(fees_rule_valid(bad), 0);
		assert_ptr_equal(fees_select(rules, 2, &l, NOW), &rules[0]);
		check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);
		/* Alone, it leaves no rule. */
		check_apply(bad, 1, &l, NOW, BIG_CAP, 0, 0, 0, 0);
	}

	/* The edges of the ranges are valid. */
	*bad = rule_any(9, 10000, 10000, 100);
	assert_int_equal(fees_rule_valid(bad), 1);
	*bad = rule_any(9, 0, 0, 100);
	bad->match_qualified = 0;
	bad->match_poverty_county = 0;
	bad->cap_fen_per_month = 0;
	bad->valid_from = 1999;
	bad->valid_to = 2000;
	assert_int_equal(fees_rule_valid(bad), 1);
}

static void
test_string_match(void **state)
{
	struct fee_rule rules[2];
	struct fee_line l;

	(void)state;
	rules[0] = rule_any(ID_A, 500, 0, 0);
	rules[1] = rule_any(9, 500, 10000, 50);
	snprintf(rules[1].match_region, sizeof(rules[1].match_region), "%s",
	    "lancang");
	snprintf(rules[1].match_category, sizeof(rules[1].match_category), "%s",
	    "tea");

	l = line_of(0, 0, "individual", 20000);
	check_apply(rules, 2, &l, NOW, 0, 9, 1000, 1000, 0);

	l.region = "menglian";
	check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);
	l.region = "Lancang";
	check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);
	l.region = "lancang2";
	check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);
	l.region = "";
	check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);
	l.region = NULL;
	check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);

	l.region = "lancang";
	l.category = "coffee";
	check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);
	l.category = NULL;
	check_apply(rules, 2, &l, NOW, 0, ID_A, 1000, 0, 0);

	/* Only the category asked for: any region, even none. */
	rules[1].match_region[0] = '\0';
	l.category = "tea";
	l.region = NULL;
	check_apply(rules, 2, &l, NOW, 0, 9, 1000, 1000, 0);
	l.region = "menglian";
	check_apply(rules, 2, &l, NOW, 0, 9, 1000, 1000, 0);
	assert_int_equal(fees_rule_matches(&rules[1], &l, NOW), 1);
	l.category = "te";
	assert_int_equal(fees_rule_matches(&rules[1], &l, NOW), 0);
}

static void
test_amount_refused(void **state)
{
	struct fee_rule	  rules[3];
	struct fee_line	  l;
	struct fee_result res;

	(void)state;
	demo_rules(rules);
	l = line_of(1, 1, "cooperative", -1);
	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(fees_apply(rules, 3, &l, NOW, BIG_CAP, &res), 0);
	assert_int_equal(res.rule_id, 0);
	assert_int_equal(res.fee_fen, 0);
	assert_int_equal(res.waived_fen, 0);

	l.amount_fen = INT64_MIN;
	assert_int_equal(fees_apply(rules, 3, &l, NOW, BIG_CAP, &res), 0);
	/* Beyond what money accepts. */
	l.amount_fen = MONEY_MAX_FEN + 1;
	assert_int_equal(fees_apply(rules, 3, &l, NOW, BIG_CAP, &res), 0);
	l.amount_fen = INT64_MAX;
	assert_int_equal(fees_apply(rules, 3, &l, NOW, BIG_CAP, &res), 0);
	/* The largest amount is fine. */
	l.amount_fen = MONEY_MAX_FEN;
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_B, MONEY_MAX_FEN / 20,
	    MONEY_MAX_FEN / 20, 0);
}

static void
test_rounding(void **state)
{
	struct fee_rule rules[3];
	struct fee_line l;

	(void)state;
	demo_rules(rules);
	/* 5% of 1990 is 99.5 -> 100; half of 100 is 50. */
	l = line_of(0, 0, "cooperative", 1990);
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 100, 50, 0);
	/* 5% of 1989 is 99.45 -> 99; half of 99 is 49.5 -> 50. */
	l.amount_fen = 1989;
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 99, 50, 0);
	/* 5% of 1970 is 98.5 -> 99; half of 99 -> 50. */
	l.amount_fen = 1970;
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 99, 50, 0);
	/* 5% of 1969 is 98.45 -> 98; half is 49. */
	l.amount_fen = 1969;
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 98, 49, 0);
	/* 5% of 10 is 0.5 -> 1; half of 1 is 0.5 -> 1. */
	l.amount_fen = 10;
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 1, 1, 0);
	/* 5% of 9 is 0.45 -> 0: no fee, nothing to waive. */
	l.amount_fen = 9;
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 0, 0, 0);
	/*
	 * The waiver is a share of the rounded fee, not of the amount: 5% of
	 * 50 is 2.5 -> 3, half of 3 is 1.5 -> 2 (2.5% of 50 would give 1).
	 */
	l.amount_fen = 50;
	check_apply(rules, 3, &l, NOW, BIG_CAP, ID_C, 3, 2, 0);
}

/* What pricing.c's copy does: at most len - 1 bytes, NUL-terminated. */
static void
copy_field(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * A region, category and vendor kind at their longest (32 characters of
 * three bytes, the longest kind) fit the rule's match fields whole: a
 * rule copied into them (as pricing.c copies, by sizeof) still matches.
 */
static void
test_match_fields_at_their_longest(void **state)
{
	struct fee_rule r;
	struct fee_line l;
	char		code[200];
	int		i;

	(void)state;
	code[0] = '\0';
	for (i = 0; i < 32; i++)
		strcat(code, "区");
	r = rule_any(1, 500, 0, 0);
	copy_field(r.match_region, sizeof(r.match_region), code);
	copy_field(r.match_category, sizeof(r.match_category), code);
	copy_field(
	    r.match_vendor_kind, sizeof(r.match_vendor_kind), "cooperative");
	l = line_of(0, 0, "cooperative", 100000);
	l.region = code;
	l.category = code;
	assert_true(fees_rule_matches(&r, &l, NOW));
	/* And one character less is another region. */
	code[strlen(code) - 3] = '\0';
	assert_false(fees_rule_matches(&r, &l, NOW));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_qualified_poverty),
		cmocka_unit_test(test_demo_cooperative),
		cmocka_unit_test(test_demo_default),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_cap_zero_rule),
		cmocka_unit_test(test_validity_window),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_match_fields_at_their_longest),
		cmocka_unit_test(test_priority_tie),
		cmocka_unit_test(test_no_rule),
		cmocka_unit_test(test_invalid_rules),
		cmocka_unit_test(test_string_match),
		cmocka_unit_test(test_amount_refused),
		cmocka_unit_test(test_rounding),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

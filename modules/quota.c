/*
 * quota: integer arithmetic only.  A share is rounded half up to the basis
 * point (the rule of money_bps); an expectation is rounded down, so that
 * being on track never asks for a fen more than the prorated reservation.
 */

#include "money.h"
#include "quota.h"

/*
 * part / whole in basis points, rounded half up.  0 when whole is not
 * positive or an operand is out of range; a share may pass 10000 (a spend
 * above the budget).
 */
int
quota_share_bps(int64_t part, int64_t whole, int64_t *out)
{
	__int128 r;

	if (whole <= 0 || whole > MONEY_MAX_FEN || part < 0 ||
	    part > MONEY_MAX_FEN)
		return (0);
	r = ((__int128)part * 10000 + whole / 2) / whole;
	*out = (int64_t)r;
	return (1);
}

/*
 * A plan from its request: budget, exactly one of reserved_fen and
 * reserved_share_bps (the other QUOTA_NOT_GIVEN) and the approval
 * threshold.  The form not given is derived from the other.
 */
int
quota_plan_resolve(int64_t budget, int64_t reserved_fen, int64_t share_bps,
    int64_t threshold, struct quota_plan *p)
{
	int64_t v;

	if (budget < 0 || budget > MONEY_MAX_FEN)
		return (QUOTA_ERR_BUDGET);
	if (reserved_fen == QUOTA_NOT_GIVEN && share_bps == QUOTA_NOT_GIVEN)
		return (QUOTA_ERR_NEITHER);
	if (reserved_fen != QUOTA_NOT_GIVEN && share_bps != QUOTA_NOT_GIVEN)
		return (QUOTA_ERR_BOTH);
	if (threshold < 0 || threshold > MONEY_MAX_FEN)
		return (QUOTA_ERR_THRESHOLD);

	p->budget_fen = budget;
	p->approval_threshold_fen = threshold;
	if (share_bps != QUOTA_NOT_GIVEN) {
		if (share_bps < 0 || share_bps > 10000)
			return (QUOTA_ERR_SHARE);
		if (!money_bps(budget, (int)share_bps, &v))
			return (QUOTA_ERR_BUDGET);
		p->reserved_fen = v;
		p->reserved_share_bps = share_bps;
		p->basis_is_share = 1;
		return (QUOTA_OK);
	}
	if (reserved_fen < 0 || reserved_fen > budget)
		return (QUOTA_ERR_RESERVED);
	p->reserved_fen = reserved_fen;
	/* A budget of 0 reserves nothing: a share of 0. */
	if (!quota_share_bps(reserved_fen, budget, &p->reserved_share_bps))
		p->reserved_share_bps = 0;
	p->basis_is_share = 0;
	return (QUOTA_OK);
}

int
quota_year_days(int year)
{
	if ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)
		return (366);
	return (365);
}

/*
 * Whole days of year gone by on (today_year, today_yday): none for a year
 * to come, all of a year past, the days before today in the current one.
 */
int
quota_elapsed_days(int year, int today_year, int today_yday)
{
	if (year > today_year)
		return (0);
	if (year < today_year)
		return (quota_year_days(year));
	if (today_yday < 1)
		return (0);
	if (today_yday > quota_year_days(year))
		return (quota_year_days(year));
	return (today_yday - 1);
}

/* reserved * elapsed / days, rounded down. */
int
quota_expected(int64_t reserved, int elapsed, int days, int64_t *out)
{
	if (reserved < 0 || reserved > MONEY_MAX_FEN || days <= 0 ||
	    elapsed < 0 || elapsed > days)
		return (0);
	*out = (int64_t)(((__int128)reserved * elapsed) / days);
	return (1);
}

/*
 * Fills the outputs of q.  Returns 0 when the facts are out of range.
 * Without a budget (0) share_bps is 0 and only the reservation counts.
 */
int
quota_progress(struct quota_progress *q)
{
	if (q->paired_fen < 0 || q->budget_fen < 0 || q->reserved_fen < 0 ||
	    q->reserved_fen > q->budget_fen)
		return (0);
	q->year_days = quota_year_days(q->year);
	q->elapsed_days =
	    quota_elapsed_days(q->year, q->today_year, q->today_yday);
	if (!quota_expected(q->reserved_fen, q->elapsed_days, q->year_days,
		&q->expected_fen))
		return (0);
	if (q->budget_fen == 0)
		q->share_bps = 0;
	else if (!quota_share_bps(q->paired_fen, q->budget_fen, &q->share_bps))
		return (0);
	q->on_track = q->paired_fen >= q->expected_fen;
	return (1);
}

/* The field a QUOTA_ERR_* is about, and what it should be. */
const char *
quota_error_field(int err)
{
	switch (err) {
	case QUOTA_ERR_BUDGET: return ("budget_fen");
	case QUOTA_ERR_NEITHER:
	case QUOTA_ERR_BOTH:
	case QUOTA_ERR_RESERVED: return ("reserved_fen");
	case QUOTA_ERR_SHARE: return ("reserved_share_bps");
	case QUOTA_ERR_THRESHOLD: return ("approval_threshold_fen");
	default: return ("plan");
	}
}

const char *
quota_error_text(int err)
{
	switch (err) {
	case QUOTA_ERR_BUDGET: return ("fen from 0");
	case QUOTA_ERR_NEITHER:
		return ("give reserved_fen or reserved_share_bps");
	case QUOTA_ERR_BOTH:
		return ("give reserved_fen or reserved_share_bps, not both");
	case QUOTA_ERR_RESERVED: return ("fen from 0 to budget_fen");
	case QUOTA_ERR_SHARE: return ("an integer from 0 to 10000");
	case QUOTA_ERR_THRESHOLD: return ("fen from 0");
	default: return ("invalid plan");
	}
}

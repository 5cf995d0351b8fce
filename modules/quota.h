/*
 * quota: the arithmetic of a buying organisation's yearly plan (clause 一:
 * a reserved amount or share of the budget for paired-region products):
 * shares in basis points, the reserved part resolved from either form,
 * and whether the year's purchases are on track.
 */

#ifndef QUOTA_H
#define QUOTA_H

#include <stdint.h>

#define QUOTA_OK	    0
#define QUOTA_ERR_BUDGET    (-1) /* budget out of range */
#define QUOTA_ERR_NEITHER   (-2) /* neither reserved form given */
#define QUOTA_ERR_BOTH	    (-3) /* both given */
#define QUOTA_ERR_RESERVED  (-4) /* reserved_fen out of [0, budget] */
#define QUOTA_ERR_SHARE	    (-5) /* reserved_share_bps out of [0, 10000] */
#define QUOTA_ERR_THRESHOLD (-6) /* approval threshold out of range */
#define QUOTA_NOT_GIVEN	    (-1) /* for the form not given */

struct quota_plan {
	int64_t budget_fen;
	int64_t reserved_fen;
	int64_t reserved_share_bps;
	int64_t approval_threshold_fen;
	int	basis_is_share; /* which form was given */
};

/*
 * The facts of a year and, once quota_progress() ran, where they stand:
 * share_bps = paired_fen / budget_fen; expected_fen = reserved_fen times
 * the elapsed part of the year (whole Shanghai days before today, over the
 * days of the year), rounded down; on_track when paired_fen reaches it.
 */
struct quota_progress {
	int64_t paired_fen;
	int64_t budget_fen;
	int64_t reserved_fen;
	int	year;
	int	today_year;
	int	today_yday; /* 1 on January 1st */

	int64_t share_bps; /* out */
	int64_t expected_fen; /* out */
	int	elapsed_days; /* out */
	int	year_days; /* out */
	int	on_track; /* out */
};

int quota_share_bps(int64_t, int64_t, int64_t *);
int quota_plan_resolve(int64_t, int64_t, int64_t, int64_t, struct quota_plan *);
int quota_year_days(int);
int quota_elapsed_days(int, int, int);
int quota_expected(int64_t, int, int, int64_t *);
int quota_progress(struct quota_progress *);
const char *quota_error_field(int);
const char *quota_error_text(int);

#endif

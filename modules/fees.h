/*
 * fees: the fee-waiver rule engine (clause 六, 费用减免).  Given the active
 * rules and the facts of an order line, picks the rule that applies and
 * computes the platform's fee and the part of it that is waived.
 */

#ifndef FEES_H
#define FEES_H

#include <stdint.h>

#include "validate.h"

#define FEES_ANY    (-1) /* a tri-state match field that matches all */
#define FEES_NO_CAP (-1)

struct fee_rule {
	int64_t id;
	char	name[64];
	int	commission_bps; /* 0..10000 */
	int	waiver_bps; /* share of the fee waived */
	int	priority; /* higher wins */
	int	match_qualified; /* FEES_ANY, 0 or 1 */
	int	match_poverty_county; /* FEES_ANY, 0 or 1 */
	char	match_vendor_kind[VENDOR_KIND_BUF]; /* "" is any */
	char	match_region[REGION_CODE_BUF];
	char	match_category[CATEGORY_CODE_BUF];
	int64_t cap_fen_per_month; /* waiver cap per vendor */
	int64_t valid_from; /* unix seconds */
	int64_t valid_to; /* 0: open-ended */
};

struct fee_line {
	int64_t	    vendor_id;
	int	    qualified;
	int	    poverty_county;
	const char *vendor_kind;
	const char *region;
	const char *category;
	int64_t	    amount_fen; /* the line total */
};

struct fee_result {
	int64_t rule_id; /* 0 when no rule applies */
	int	commission_bps;
	int	waiver_bps;
	int64_t fee_fen;
	int64_t waived_fen;
	int	capped; /* the cap cut the waiver */
};

int
fees_rule_matches(const struct fee_rule *, const struct fee_line *, int64_t);
const struct fee_rule	  *
fees_select(const struct fee_rule *, int, const struct fee_line *, int64_t);
int fees_apply(const struct fee_rule *, int, const struct fee_line *, int64_t,
    int64_t, struct fee_result *);
int fees_rule_valid(const struct fee_rule *);

#endif

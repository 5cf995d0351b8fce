/*
 * fees: one rule applies to a line: the valid, matching rule of highest
 * priority (the lower id on a tie, so the answer never depends on the
 * order rules come in).  Its commission gives the fee; its waiver share of
 * the fee is waived, up to what remains of the rule's monthly cap for the
 * vendor, which the caller tracks.
 */

#include <string.h>

#include "fees.h"
#include "money.h"

static int
fees_str_matches(const char *want, const char *have)
{
	return (want[0] == '\0' || (have != NULL && strcmp(want, have) == 0));
}

static int
fees_flag_matches(int want, int have)
{
	return (want == FEES_ANY || want == (have != 0));
}

/* The rule is well formed: shares in range, period ordered. */
int
fees_rule_valid(const struct fee_rule *r)
{
	if (r->commission_bps < 0 || r->commission_bps > 10000)
		return (0);
	if (r->waiver_bps < 0 || r->waiver_bps > 10000)
		return (0);
	if (r->cap_fen_per_month < FEES_NO_CAP)
		return (0);
	if (r->valid_to != 0 && r->valid_to <= r->valid_from)
		return (0);
	if (r->match_qualified < FEES_ANY || r->match_qualified > 1 ||
	    r->match_poverty_county < FEES_ANY || r->match_poverty_county > 1)
		return (0);
	return (1);
}

/* Whether r applies to line l at time now. */
int
fees_rule_matches(
    const struct fee_rule *r, const struct fee_line *l, int64_t now)
{
	if (now < r->valid_from || (r->valid_to != 0 && now >= r->valid_to))
		return (0);
	return (fees_flag_matches(r->match_qualified, l->qualified) &&
	    fees_flag_matches(r->match_poverty_county, l->poverty_county) &&
	    fees_str_matches(r->match_vendor_kind, l->vendor_kind) &&
	    fees_str_matches(r->match_region, l->region) &&
	    fees_str_matches(r->match_category, l->category));
}

const struct fee_rule *
fees_select(
    const struct fee_rule *rules, int n, const struct fee_line *l, int64_t now)
{
	const struct fee_rule *best;
	int		       i;

	best = NULL;
	for (i = 0; i < n; i++) {
		if (!fees_rule_valid(&rules[i]) ||
		    !fees_rule_matches(&rules[i], l, now))
			continue;
		if (best == NULL || rules[i].priority > best->priority ||
		    (rules[i].priority == best->priority &&
			rules[i].id < best->id))
			best = &rules[i];
	}
	return (best);
}

/*
 * Fills res for line l.  cap_left is what remains of the chosen rule's
 * monthly cap for l's vendor (ignored when the rule has none).  Returns 0
 * when the amounts are out of range.
 */
int
fees_apply(const struct fee_rule *rules, int n, const struct fee_line *l,
    int64_t now, int64_t cap_left, struct fee_result *res)
{
	const struct fee_rule *r;
	int64_t		       waived;

	memset(res, 0, sizeof(*res));
	if (l->amount_fen < 0)
		return (0);
	if ((r = fees_select(rules, n, l, now)) == NULL)
		return (1);

	res->rule_id = r->id;
	res->commission_bps = r->commission_bps;
	res->waiver_bps = r->waiver_bps;
	if (!money_bps(l->amount_fen, r->commission_bps, &res->fee_fen) ||
	    !money_bps(res->fee_fen, r->waiver_bps, &waived))
		return (0);
	if (r->cap_fen_per_month != FEES_NO_CAP) {
		if (cap_left < 0)
			cap_left = 0;
		if (waived > cap_left) {
			waived = cap_left;
			res->capped = 1;
		}
	}
	res->waived_fen = waived;
	return (1);
}

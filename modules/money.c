/*
 * money: every operation returns 1 with the result, or 0 when an operand
 * is out of range or the result would leave [-MONEY_MAX_FEN, MONEY_MAX_FEN].
 */

#include "money.h"

static int
money_in_range(int64_t v)
{
	return (v >= -MONEY_MAX_FEN && v <= MONEY_MAX_FEN);
}

int
money_add(int64_t a, int64_t b, int64_t *out)
{
	if (!money_in_range(a) || !money_in_range(b) || !money_in_range(a + b))
		return (0);
	*out = a + b;
	return (1);
}

/* amount * qty, e.g. a unit price times a quantity. */
int
money_mul(int64_t amount, int64_t qty, int64_t *out)
{
	__int128 r;

	if (!money_in_range(amount) || !money_in_range(qty))
		return (0);
	r = (__int128)amount * qty;
	if (r < -MONEY_MAX_FEN || r > MONEY_MAX_FEN)
		return (0);
	*out = (int64_t)r;
	return (1);
}

/*
 * The share bps/10000 of a non-negative amount, rounded half up to the fen:
 * 5% (500 bps) of 1990 fen is 99.5, so 100.
 */
int
money_bps(int64_t amount, int bps, int64_t *out)
{
	if (amount < 0 || amount > MONEY_MAX_FEN || bps < 0 || bps > 10000)
		return (0);
	*out = (amount * bps + 5000) / 10000;
	return (1);
}

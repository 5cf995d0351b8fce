/*
 * money: integer fen arithmetic that refuses to overflow, and basis-point
 * shares rounded half up.  Never a float.
 */

#ifndef MONEY_H
#define MONEY_H

#include <stdint.h>

/* Large enough for any order, far from INT64_MAX. */
#define MONEY_MAX_FEN INT64_C(100000000000000) /* 1e14 fen */

int money_add(int64_t, int64_t, int64_t *);
int money_mul(int64_t, int64_t, int64_t *);
int money_bps(int64_t, int, int64_t *);

#endif

/*
 * timefmt: RFC 3339 times as the API accepts them, to seconds since the
 * epoch, so that periods can be checked before they reach the database.
 */

#ifndef TIMEFMT_H
#define TIMEFMT_H

#include <stdint.h>

int	timefmt_rfc3339(const char *, int64_t *);
int64_t timefmt_days_from_civil(int, int, int);

#endif

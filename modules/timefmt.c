/*
 * timefmt: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), the T may be a
 * space or lowercase; nothing else.  Integer arithmetic only.
 */

#include <string.h>

#include "timefmt.h"

static int
timefmt_num(const char *s, int n, int *out)
{
	int i, v;

	for (v = 0, i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (0);
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return (1);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
int64_t
timefmt_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

int
timefmt_rfc3339(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	int		 y, mo, d, h, mi, se, oh, om, sign;
	const char	*p;

	if (s == NULL || strlen(s) < 20 || strlen(s) > 40)
		return (0);
	if (!timefmt_num(s, 4, &y) || s[4] != '-' ||
	    !timefmt_num(s + 5, 2, &mo) || s[7] != '-' ||
	    !timefmt_num(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !timefmt_num(s + 11, 2, &h) || s[13] != ':' ||
	    !timefmt_num(s + 14, 2, &mi) || s[16] != ':' ||
	    !timefmt_num(s + 17, 2, &se))
		return (0);
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return (0);
	if (mo == 2 && d == 29 &&
	    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (0);
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return (0);
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		oh = om = 0;
		sign = 1;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 &&
	    timefmt_num(p + 1, 2, &oh) && p[3] == ':' &&
	    timefmt_num(p + 4, 2, &om) && oh <= 23 && om <= 59) {
		sign = (*p == '+') ? 1 : -1;
	} else {
		return (0);
	}
	*out = timefmt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    se - sign * (oh * 3600 + om * 60);
	return (1);
}

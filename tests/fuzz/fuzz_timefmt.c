/*
 * fuzz_timefmt: timefmt_rfc3339 on any string.  An accepted time agrees
 * with the C library's timegm over the same fields, and written back in
 * UTC it reads as the same second; timefmt_days_from_civil agrees with
 * timegm on any day the input names.
 */

#include <time.h>

#include "fuzz.h"
#include "timefmt.h"

static int
num(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return (v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tm tm;
	char	 *s, back[32];
	int64_t	  t, t2, off;
	time_t	  ref;
	size_t	  n;
	int	  y, m, d;

	s = fuzz_str(data, len);
	t = -1;
	if (timefmt_rfc3339(s, &t)) {
		n = strlen(s);
		CHECK(n >= 20 && n <= 40);
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = num(s, 4) - 1900;
		tm.tm_mon = num(s + 5, 2) - 1;
		tm.tm_mday = num(s + 8, 2);
		tm.tm_hour = num(s + 11, 2);
		tm.tm_min = num(s + 14, 2);
		tm.tm_sec = num(s + 17, 2);
		ref = timegm(&tm);
		/* timegm moved a day that does not exist. */
		CHECK(tm.tm_mday == num(s + 8, 2) || tm.tm_sec == 0);
		off = 0;
		if (s[n - 1] != 'Z' && s[n - 1] != 'z') {
			off = num(s + n - 5, 2) * 3600 + num(s + n - 2, 2) * 60;
			if (s[n - 6] == '-')
				off = -off;
		}
		CHECK(t == (int64_t)ref - off);
		/* Back in UTC, and read again. */
		ref = (time_t)t;
		CHECK(gmtime_r(&ref, &tm) != NULL);
		if (tm.tm_year + 1900 >= 1970 && tm.tm_year + 1900 <= 9999) {
			CHECK(strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%SZ",
				  &tm) == 20);
			CHECK(timefmt_rfc3339(back, &t2) && t2 == t);
		}
	} else {
		CHECK(t == -1); /* nothing written */
	}

	/* Any day from the first bytes, against timegm. */
	if (len >= 4) {
		y = 1 + (data[0] | data[1] << 8) % 9999;
		m = 1 + data[2] % 12;
		d = 1 + data[3] % 28;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		ref = timegm(&tm);
		CHECK(timefmt_days_from_civil(y, m, d) * 86400 == (int64_t)ref);
	}
	free(s);
	return (0);
}

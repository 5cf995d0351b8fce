/*
 * test_timefmt: RFC 3339 parsing to epoch seconds, offsets, fractions,
 * calendar limits and everything that is not RFC 3339.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "timefmt.h"

static void
test_epochs(void **state)
{
	int64_t t;

	(void)state;
	assert_true(timefmt_rfc3339("1970-01-01T00:00:00Z", &t));
	assert_int_equal(t, 0);
	assert_true(timefmt_rfc3339("2026-11-29T03:00:00Z", &t));
	assert_int_equal(t, 1795921200);
	assert_true(timefmt_rfc3339("2026-11-29T11:00:00+08:00", &t));
	assert_int_equal(t, 1795921200);
	assert_true(timefmt_rfc3339("2026-11-29 01:30:00-01:30", &t));
	assert_int_equal(t, 1795921200);
	assert_true(timefmt_rfc3339("2026-11-29t03:00:00.999z", &t));
	assert_int_equal(t, 1795921200);
	assert_true(timefmt_rfc3339("2024-02-29T00:00:00Z", &t));
	assert_int_equal(t, 1709164800);
}

static void
test_rejects(void **state)
{
	int64_t	    t;
	const char *bad[] = { NULL, "", "2026-11-29", "2026-11-29T03:00Z",
		"2026-11-29T03:00:00", "2026-11-29T03:00:00+0800",
		"2026-11-29T03:00:00+08", "2026-13-01T00:00:00Z",
		"2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
		"2026-04-31T00:00:00Z", "2026-11-29T24:00:00Z",
		"2026-11-29T03:60:00Z", "2026-11-29T03:00:00.Z",
		"2026-11-29T03:00:00ZZ", "1969-12-31T23:59:59Z",
		"2026/11/29T03:00:00Z", "2026-11-29T03:00:00+24:00",
		"not a time at all, really", NULL };
	int	    i;

	(void)state;
	assert_false(timefmt_rfc3339(NULL, &t));
	for (i = 1; bad[i] != NULL; i++)
		assert_false(timefmt_rfc3339(bad[i], &t));
}

static void
test_days(void **state)
{
	(void)state;
	assert_int_equal(timefmt_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(timefmt_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(timefmt_days_from_civil(1969, 12, 31), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_days),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

/*
 * test_query: query_parse decoding and limits, and the typed getters
 * query_get, query_int and query_date, on good and hostile query strings.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"

static struct query q;

static void
test_null_empty(void **state)
{
	(void)state;
	assert_int_equal(query_parse(&q, NULL), QUERY_OK);
	assert_int_equal(q.npairs, 0);
	assert_null(query_get(&q, "a"));

	assert_int_equal(query_parse(&q, ""), QUERY_OK);
	assert_int_equal(q.npairs, 0);
	assert_null(query_get(&q, ""));

	/* Empty pieces between separators are no pairs at all. */
	assert_int_equal(query_parse(&q, "&&&"), QUERY_OK);
	assert_int_equal(q.npairs, 0);
	assert_int_equal(query_parse(&q, "&a=1&&b=2&"), QUERY_OK);
	assert_int_equal(q.npairs, 2);
	assert_string_equal(query_get(&q, "a"), "1");
	assert_string_equal(query_get(&q, "b"), "2");
}

static void
test_simple(void **state)
{
	(void)state;
	assert_int_equal(
	    query_parse(&q, "page=2&size=20&sort=price"), QUERY_OK);
	assert_int_equal(q.npairs, 3);
	assert_string_equal(q.pair[0].name, "page");
	assert_string_equal(q.pair[0].value, "2");
	assert_string_equal(query_get(&q, "page"), "2");
	assert_string_equal(query_get(&q, "size"), "20");
	assert_string_equal(query_get(&q, "sort"), "price");
	assert_null(query_get(&q, "Page"));
	assert_null(query_get(&q, "pag"));
	assert_null(query_get(&q, "pages"));
	assert_null(query_get(&q, "missing"));

	/* Only the first '=' separates; '=' later belongs to the value. */
	assert_int_equal(query_parse(&q, "f=a=b=c"), QUERY_OK);
	assert_string_equal(query_get(&q, "f"), "a=b=c");
}

static void
test_decoding(void **state)
{
	(void)state;
	assert_int_equal(query_parse(&q, "q=%E6%99%AE%E6%B4%B1"), QUERY_OK);
	assert_string_equal(query_get(&q, "q"), "普洱");
	assert_string_equal(query_get(&q, "q"), "\xe6\x99\xae\xe6\xb4\xb1");

	/* Lower-case hex, and raw UTF-8 passed through untouched. */
	assert_int_equal(
	    query_parse(&q, "q=%e6%99%ae%e6%b4%b1&r=普洱"), QUERY_OK);
	assert_string_equal(query_get(&q, "q"), "普洱");
	assert_string_equal(query_get(&q, "r"), "普洱");

	assert_int_equal(query_parse(&q, "q=green+tea&n=a%20b"), QUERY_OK);
	assert_string_equal(query_get(&q, "q"), "green tea");
	assert_string_equal(query_get(&q, "n"), "a b");

	/* %2B is a literal plus; %26 and %3D do not split. */
	assert_int_equal(
	    query_parse(&q, "x=1%2B1&y=a%26b%3Dc&z=%25"), QUERY_OK);
	assert_int_equal(q.npairs, 3);
	assert_string_equal(query_get(&q, "x"), "1+1");
	assert_string_equal(query_get(&q, "y"), "a&b=c");
	assert_string_equal(query_get(&q, "z"), "%");

	/* Names are decoded too. */
	assert_int_equal(
	    query_parse(&q, "%E5%93%81%E7%A7%8D=x&a%3Db=y"), QUERY_OK);
	assert_string_equal(query_get(&q, "品种"), "x");
	assert_string_equal(query_get(&q, "a=b"), "y");
	assert_null(query_get(&q, "a"));
}

static void
test_bad_escapes(void **state)
{
	static const char *const bad[] = { "a=%G1", "a=%1G", "a=%", "a=x%",
		"a=%0", "a=%0&b=1", "%=1", "a%=1", "a=%%41", "a=%-1", "a=% 1",
		"a=%00", "%00=1", "a=x%00y", NULL };
	int			 i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		if (query_parse(&q, bad[i]) != QUERY_INVALID)
			fail_msg("accepted %s", bad[i]);
	}
}

static void
test_pair_limit(void **state)
{
	char   qs[QUERY_MAX_BYTES];
	size_t o;
	int    i;

	(void)state;
	o = 0;
	for (i = 0; i < QUERY_MAX_PAIRS; i++)
		o += snprintf(
		    qs + o, sizeof(qs) - o, "%sp%d=%d", i ? "&" : "", i, i);
	assert_int_equal(query_parse(&q, qs), QUERY_OK);
	assert_int_equal(q.npairs, QUERY_MAX_PAIRS);
	assert_string_equal(query_get(&q, "p0"), "0");
	assert_string_equal(query_get(&q, "p31"), "31");

	/* One more pair, even a bare name, is refused. */
	snprintf(qs + o, sizeof(qs) - o, "&x");
	assert_int_equal(query_parse(&q, qs), QUERY_INVALID);

	/* Empty pieces do not count. */
	snprintf(qs + o, sizeof(qs) - o, "&&&");
	assert_int_equal(query_parse(&q, qs), QUERY_OK);
	assert_int_equal(q.npairs, QUERY_MAX_PAIRS);

	o = 0;
	for (i = 0; i < 1000; i++)
		o += snprintf(qs + o, sizeof(qs) - o, "%sa", i ? "&" : "");
	assert_int_equal(query_parse(&q, qs), QUERY_INVALID);
}

static void
test_long_query(void **state)
{
	static char qs[8 * QUERY_MAX_BYTES];
	size_t	    n;

	(void)state;
	/* A moderate value fits. */
	memset(qs, 0, sizeof(qs));
	memcpy(qs, "v=", 2);
	memset(qs + 2, 'x', 1000);
	assert_int_equal(query_parse(&q, qs), QUERY_OK);
	assert_int_equal(strlen(query_get(&q, "v")), 1000);

	/*
	 * Around the size of the buffer: short enough is whole, too long is
	 * refused, and no length in between may write past the buffer.
	 */
	for (n = QUERY_MAX_BYTES - 64; n < QUERY_MAX_BYTES + 64; n++) {
		memset(qs, 0, sizeof(qs));
		memcpy(qs, "v=", 2);
		memset(qs + 2, 'x', n - 2);
		if (n <= QUERY_MAX_BYTES - 8) {
			assert_int_equal(query_parse(&q, qs), QUERY_OK);
			assert_int_equal(strlen(query_get(&q, "v")), n - 2);
		} else if (n >= QUERY_MAX_BYTES) {
			assert_int_equal(query_parse(&q, qs), QUERY_INVALID);
		} else if (query_parse(&q, qs) == QUERY_OK) {
			assert_int_equal(strlen(query_get(&q, "v")), n - 2);
		}
	}
	memset(qs, 'x', sizeof(qs) - 1);
	qs[sizeof(qs) - 1] = '\0';
	assert_int_equal(query_parse(&q, qs), QUERY_INVALID);
	memset(qs, '&', sizeof(qs) - 1);
	assert_int_equal(query_parse(&q, qs), QUERY_INVALID);

	/* Escapes shrink the input, so more raw bytes fit in the buffer. */
	memset(qs, 0, sizeof(qs));
	memcpy(qs, "v=", 2);
	for (n = 0; n < 1500; n++)
		memcpy(qs + 2 + 3 * n, "%41", 3);
	assert_int_equal(query_parse(&q, qs), QUERY_OK);
	assert_int_equal(strlen(query_get(&q, "v")), 1500);
	assert_int_equal(query_get(&q, "v")[1499], 'A');

	for (n = 0; n < 2100; n++)
		memcpy(qs + 2 + 3 * n, "%41", 3);
	assert_int_equal(query_parse(&q, qs), QUERY_INVALID);
}

static void
test_duplicates(void **state)
{
	(void)state;
	assert_int_equal(query_parse(&q, "a=1&a=2&a=3"), QUERY_OK);
	assert_int_equal(q.npairs, 3);
	assert_string_equal(query_get(&q, "a"), "1");

	/* The first wins even when it is empty: absent, not the second. */
	assert_int_equal(query_parse(&q, "a=&a=2"), QUERY_OK);
	assert_null(query_get(&q, "a"));
}

static void
test_bare_and_empty(void **state)
{
	int64_t n;
	char	d[11];

	(void)state;
	assert_int_equal(query_parse(&q, "flag&b=&c=x&=orphan"), QUERY_OK);
	assert_int_equal(q.npairs, 4);
	assert_string_equal(q.pair[0].name, "flag");
	assert_string_equal(q.pair[0].value, "");
	assert_string_equal(q.pair[1].name, "b");
	assert_string_equal(q.pair[1].value, "");
	assert_string_equal(q.pair[3].name, "");
	assert_string_equal(q.pair[3].value, "orphan");

	assert_null(query_get(&q, "flag"));
	assert_null(query_get(&q, "b"));
	assert_string_equal(query_get(&q, "c"), "x");
	assert_int_equal(query_int(&q, "b", 0, 10, &n), QUERY_MISSING);
	assert_int_equal(query_int(&q, "flag", 0, 10, &n), QUERY_MISSING);
	assert_int_equal(query_date(&q, "b", d), QUERY_MISSING);
}

static void
test_int(void **state)
{
	int64_t n;

	(void)state;
	assert_int_equal(
	    query_parse(&q, "a=5&b=0&c=-7&d=100&e=007&f=-0"), QUERY_OK);
	n = -1;
	assert_int_equal(query_int(&q, "a", 1, 100, &n), QUERY_OK);
	assert_int_equal(n, 5);
	assert_int_equal(query_int(&q, "b", 0, 100, &n), QUERY_OK);
	assert_int_equal(n, 0);
	assert_int_equal(query_int(&q, "c", -10, 10, &n), QUERY_OK);
	assert_int_equal(n, -7);
	assert_int_equal(query_int(&q, "e", 0, 10, &n), QUERY_OK);
	assert_int_equal(n, 7);
	assert_int_equal(query_int(&q, "f", 0, 10, &n), QUERY_OK);
	assert_int_equal(n, 0);

	/* Bounds are inclusive. */
	assert_int_equal(query_int(&q, "d", 1, 100, &n), QUERY_OK);
	assert_int_equal(n, 100);
	assert_int_equal(query_int(&q, "a", 5, 5, &n), QUERY_OK);

	/* Out of bounds is invalid, and leaves *out alone. */
	n = 1234;
	assert_int_equal(query_int(&q, "d", 1, 99, &n), QUERY_INVALID);
	assert_int_equal(query_int(&q, "b", 1, 100, &n), QUERY_INVALID);
	assert_int_equal(query_int(&q, "c", 0, 100, &n), QUERY_INVALID);
	assert_int_equal(query_int(&q, "a", 6, 100, &n), QUERY_INVALID);
	assert_int_equal(n, 1234);

	assert_int_equal(query_int(&q, "zz", 0, 100, &n), QUERY_MISSING);
	assert_int_equal(n, 1234);
}

static void
test_int_invalid(void **state)
{
	static const char *const bad[] = { "-", "--1", "+1", "1-", "1.0", "1e3",
		"0x10", "abc", "12a", "%201", "1%20", "+1+", "%E4%B8%80",
		/* 19 digits and more: refused before they can overflow. */
		"1000000000000000000", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808",
		"99999999999999999999999999999999", NULL };
	char			 qs[128];
	int64_t			 n;
	int			 i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(qs, sizeof(qs), "n=%s", bad[i]);
		assert_int_equal(query_parse(&q, qs), QUERY_OK);
		n = 42;
		if (query_int(&q, "n", INT64_MIN, INT64_MAX, &n) !=
		    QUERY_INVALID)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(n, 42);
	}

	/* 18 digits, either sign, are still exact. */
	assert_int_equal(
	    query_parse(&q, "p=999999999999999999&m=-999999999999999999"),
	    QUERY_OK);
	assert_int_equal(
	    query_int(&q, "p", INT64_MIN, INT64_MAX, &n), QUERY_OK);
	assert_int_equal(n, INT64_C(999999999999999999));
	assert_int_equal(
	    query_int(&q, "m", INT64_MIN, INT64_MAX, &n), QUERY_OK);
	assert_int_equal(n, INT64_C(-999999999999999999));
}

static void
test_date(void **state)
{
	static const char *const good[] = { "2024-01-01", "2024-02-29",
		"2000-02-29", "2023-02-28", "2023-12-31", "1970-01-01",
		"2024-04-30", "2024-01-31", "9999-12-31", NULL };
	char			 qs[64], d[11];
	int			 i;

	(void)state;
	for (i = 0; good[i] != NULL; i++) {
		snprintf(qs, sizeof(qs), "from=%s", good[i]);
		assert_int_equal(query_parse(&q, qs), QUERY_OK);
		memset(d, 'z', sizeof(d));
		if (query_date(&q, "from", d) != QUERY_OK)
			fail_msg("refused %s", good[i]);
		assert_string_equal(d, good[i]);
	}
	assert_int_equal(query_date(&q, "to", d), QUERY_MISSING);
}

static void
test_date_invalid(void **state)
{
	static const char *const bad[] = { "2023-02-29", /* not a leap year */
		"2100-02-29", /* century, not a leap year */
		"2024-02-30", "2024-04-31", "2024-06-31", "2024-13-01",
		"2024-00-10", "2024-01-00", "2024-01-32", "2024-99-99",
		"1969-12-31", "0000-01-01", "2024/01/01", "2024.01.01",
		"2024-01/01", "20240101", "2024-1-01", "2024-01-1",
		"2024-01-011", "24-01-01", "2024-01-01T00:00:00", " 2024-01-01",
		"2024-01-01 ", "2024-0a-01", "2024--1-01", "-024-01-01",
		"202x-01-01", "today", NULL };
	char			 qs[64], d[11];
	int			 i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(qs, sizeof(qs), "from=%s", bad[i]);
		/* "+" would decode to a space: escape none here. */
		assert_int_equal(query_parse(&q, qs), QUERY_OK);
		memset(d, 'z', sizeof(d));
		if (query_date(&q, "from", d) != QUERY_INVALID)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(d[0], 'z');
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_empty),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_decoding),
		cmocka_unit_test(test_bad_escapes),
		cmocka_unit_test(test_pair_limit),
		cmocka_unit_test(test_long_query),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_bare_and_empty),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_int_invalid),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_date_invalid),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

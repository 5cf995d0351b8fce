/*
 * test_csvout: CSV fields as RFC 4180 wants them (quoted only when needed,
 * quotes doubled), defused formulas in text, and snprintf-like truncation.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "csvout.h"

/* The field for s as a string, in a buffer large enough. */
static const char *
field(const char *s, int flags)
{
	static char buf[256];
	size_t	    n;

	n = csvout_field(buf, sizeof(buf), s, strlen(s), flags);
	assert_true(n < sizeof(buf));
	assert_int_equal(strlen(buf), n);
	return (buf);
}

static void
test_plain(void **state)
{
	(void)state;
	assert_string_equal(field("", 0), "");
	assert_string_equal(field("yunnan", 0), "yunnan");
	assert_string_equal(
	    field("澜沧拉祜族自治县", CSVOUT_TEXT), "澜沧拉祜族自治县");
	assert_string_equal(field("12345", 0), "12345");
	/* Spaces and semicolons need no quotes in RFC 4180. */
	assert_string_equal(field(" a; b ", CSVOUT_TEXT), " a; b ");
	assert_int_equal(csvout_needs_quotes("abc", 3, CSVOUT_TEXT), 0);
}

static void
test_quoted(void **state)
{
	(void)state;
	assert_string_equal(field("a,b", 0), "\"a,b\"");
	assert_string_equal(field("say \"hi\"", 0), "\"say \"\"hi\"\"\"");
	assert_string_equal(field("\"", 0), "\"\"\"\"");
	assert_string_equal(field("two\nlines", 0), "\"two\nlines\"");
	assert_string_equal(field("cr\rlf", 0), "\"cr\rlf\"");
	assert_string_equal(field("合作社,\"有限\"\r\n公司", CSVOUT_TEXT),
	    "\"合作社,\"\"有限\"\"\r\n公司\"");
	assert_int_equal(csvout_needs_quotes("a,b", 3, 0), 1);
}

static void
test_formulas(void **state)
{
	(void)state;
	/* Text that a spreadsheet would run is prefixed and quoted. */
	assert_string_equal(field("=1+1", CSVOUT_TEXT), "\"'=1+1\"");
	assert_string_equal(field("+86", CSVOUT_TEXT), "\"'+86\"");
	assert_string_equal(field("-x", CSVOUT_TEXT), "\"'-x\"");
	assert_string_equal(field("@SUM(A1)", CSVOUT_TEXT), "\"'@SUM(A1)\"");
	assert_string_equal(field("\tx", CSVOUT_TEXT), "\"'\tx\"");
	assert_string_equal(field("=HYPERLINK(\"x\",\"y\")", CSVOUT_TEXT),
	    "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
	/* Only the first character matters. */
	assert_string_equal(field("a=b", CSVOUT_TEXT), "a=b");
	/* Numbers keep their sign. */
	assert_string_equal(field("-1500", 0), "-1500");
}

static void
test_truncation(void **state)
{
	char   buf[8];
	size_t n;

	(void)state;
	/* The length needed comes back whatever the buffer. */
	n = csvout_field(NULL, 0, "a,b", 3, 0);
	assert_int_equal(n, 5);
	memset(buf, 'X', sizeof(buf));
	n = csvout_field(buf, 4, "a,b", 3, 0);
	assert_int_equal(n, 5);
	assert_string_equal(buf, "\"a,");
	assert_int_equal(buf[4], 'X');
	n = csvout_field(buf, 6, "a,b", 3, 0);
	assert_int_equal(n, 5);
	assert_string_equal(buf, "\"a,b\"");
	n = csvout_field(buf, 1, "abc", 3, 0);
	assert_int_equal(n, 3);
	assert_string_equal(buf, "");
	/* Embedded NUL bytes are data: len rules, not strlen. */
	n = csvout_field(buf, sizeof(buf), "a\0b", 3, 0);
	assert_int_equal(n, 3);
	assert_int_equal(buf[1], '\0');
	assert_int_equal(buf[2], 'b');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_formulas),
		cmocka_unit_test(test_truncation),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

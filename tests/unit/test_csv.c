/*
 * test_csv: RFC 4180 records (quotes, doubled quotes, CRLF, LF and CR),
 * the BOM, line numbers across quoted newlines, the limits, and going on
 * after a bad record.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

#define ROW_MAX 1024

static char out[ROW_MAX + CSV_MAX_FIELDS];

static void
open_csv(struct csv_reader *r, const char *s)
{
	csv_init(r, s, strlen(s), ROW_MAX, 8);
}

static void
expect_fields(const struct csv_record *rec, int n, ...)
{
	va_list ap;
	int	i;

	assert_int_equal(rec->nfields, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);

		assert_string_equal(rec->field[i], want);
		assert_int_equal(rec->flen[i], strlen(want));
	}
	va_end(ap);
}

static void
test_plain(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	open_csv(
	    &r, "name,phone,qty\n张三,13800138000,2\n李四,13900139000,1\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 3, "name", "phone", "qty");
	assert_int_equal(rec.line, 1);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 3, "张三", "13800138000", "2");
	assert_int_equal(rec.line, 2);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 3, "李四", "13900139000", "1");
	assert_int_equal(rec.line, 3);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
}

static void
test_no_final_newline_and_empty_fields(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	open_csv(&r, "a,,c\n,,\n,x");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 3, "a", "", "c");
	assert_int_equal(csv_blank(&rec), 0);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 3, "", "", "");
	assert_int_equal(csv_blank(&rec), 1);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "", "x");
	assert_int_equal(rec.line, 3);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
}

static void
test_empty_input(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	open_csv(&r, "");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
	/* A BOM alone is empty too. */
	open_csv(&r, "\xef\xbb\xbf");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
	/* An empty line is a blank record of one empty field. */
	open_csv(&r, "\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 1, "");
	assert_int_equal(csv_blank(&rec), 1);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
}

static void
test_quotes(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	open_csv(&r,
	    "\"a,b\",\"say \"\"hi\"\"\",\"\",plain\n"
	    "\"\"\"\",x\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 4, "a,b", "say \"hi\"", "", "plain");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "\"", "x");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
}

static void
test_blanks_around_quotes(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	/* Blanks around a quoted field go; inside an unquoted one they stay. */
	open_csv(&r, "a,  \"b c\"  , d \n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 3, "a", "b c", " d ");
}

static void
test_line_ends(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	open_csv(&r, "a,b\r\nc,d\re,f\ng,h\r\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "a", "b");
	assert_int_equal(rec.bytes, 3);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "c", "d");
	assert_int_equal(rec.line, 2);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "e", "f");
	assert_int_equal(rec.line, 3);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "g", "h");
	assert_int_equal(rec.line, 4);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
}

static void
test_bom(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	open_csv(&r, "\xef\xbb\xbfname,qty\r\nx,1\r\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "name", "qty");
	assert_int_equal(rec.line, 1);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "x", "1");
	assert_int_equal(rec.line, 2);
	/* Only at the very start. */
	open_csv(&r,
	    "a\n\xef\xbb\xbf"
	    "b\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 1,
	    "\xef\xbb\xbf"
	    "b");
}

static void
test_quoted_newlines_count_lines(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	open_csv(&r,
	    "h1,h2\n"
	    "\"two\nlines\",x\n"
	    "\"three\r\nlines\rhere\",y\r\n"
	    "last,z\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	assert_int_equal(rec.line, 1);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "two\nlines", "x");
	assert_int_equal(rec.line, 2);
	assert_int_equal(rec.lines, 2);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "three\r\nlines\rhere", "y");
	assert_int_equal(rec.line, 4);
	assert_int_equal(rec.lines, 3);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "last", "z");
	assert_int_equal(rec.line, 7);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
}

static void
test_row_too_long(void **state)
{
	struct csv_reader r;
	struct csv_record rec;
	char		 *s;
	size_t		  n;

	(void)state;
	/* 1024 bytes is allowed, 1025 is not; the next row still reads. */
	n = 3 + 1024 + 1 + 1025 + 4;
	s = calloc(1, n + 1);
	memcpy(s, "h\r\n", 3);
	memset(s + 3, 'a', 1024);
	s[3 + 1024] = '\n';
	memset(s + 3 + 1025, 'b', 1025);
	memcpy(s + 3 + 1025 + 1025, "\nok\n", 4);
	csv_init(&r, s, n, ROW_MAX, 8);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	assert_int_equal(rec.bytes, 1024);
	assert_int_equal(rec.flen[0], 1024);
	assert_int_equal(rec.line, 2);
	assert_int_equal(
	    csv_next(&r, &rec, out, sizeof(out)), CSV_ERR_TOO_LONG);
	assert_int_equal(rec.line, 3);
	assert_int_equal(rec.bytes, 1025);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 1, "ok");
	assert_int_equal(rec.line, 4);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
	free(s);
}

static void
test_long_row_never_overflows(void **state)
{
	struct csv_reader r;
	struct csv_record rec;
	char		  small[8];
	char		 *s;
	size_t		  n = 100000;

	(void)state;
	s = malloc(n);
	memset(s, ',', n);
	csv_init(&r, s, n, ROW_MAX, 4);
	assert_int_equal(
	    csv_next(&r, &rec, out, sizeof(out)), CSV_ERR_TOO_LONG);
	assert_int_equal(rec.nfields, (int)n + 1);
	memset(s, 'x', n);
	csv_init(&r, s, n, ROW_MAX, 4);
	assert_int_equal(
	    csv_next(&r, &rec, small, sizeof(small)), CSV_ERR_TOO_LONG);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	/* Fields that begin once the buffer is full are cut, not overrun. */
	memset(s, 'x', n);
	s[1000] = s[1100] = s[1101] = ',';
	csv_init(&r, s, 2000, ROW_MAX, 8);
	assert_int_equal(
	    csv_next(&r, &rec, small, sizeof(small)), CSV_ERR_TOO_LONG);
	assert_int_equal(rec.nfields, 4);
	assert_int_equal(rec.flen[0], sizeof(small) - 1);
	assert_int_equal(rec.flen[1], 0);
	assert_int_equal(rec.flen[3], 0);
	csv_init(&r, s, 2000, ROW_MAX, 8);
	assert_int_equal(csv_next(&r, &rec, out, 0), CSV_ERR_TOO_LONG);
	assert_string_equal(rec.field[2], "");
	free(s);
}

static void
test_too_many_fields(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	csv_init(&r, "a,b,c\na,b,c,d\nx\n", 16, ROW_MAX, 3);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 3, "a", "b", "c");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_ERR_FIELDS);
	assert_int_equal(rec.nfields, 4);
	assert_int_equal(rec.line, 2);
	assert_string_equal(rec.field[2], "c");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 1, "x");
}

static void
test_bad_quotes(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	/* A quote inside an unquoted field, text after a closing quote. */
	open_csv(&r, "ab\"c,d\n\"x\"y,z\nok,1\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_ERR_QUOTE);
	assert_int_equal(rec.line, 1);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_ERR_QUOTE);
	assert_int_equal(rec.line, 2);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "ok", "1");
	assert_int_equal(rec.line, 3);
}

static void
test_unterminated(void **state)
{
	struct csv_reader r;
	struct csv_record rec;

	(void)state;
	open_csv(&r, "h\nok\n\"never\nclosed,\nat all\n");
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	assert_int_equal(
	    csv_next(&r, &rec, out, sizeof(out)), CSV_ERR_UNTERMINATED);
	assert_int_equal(rec.line, 3);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_END);
}

static void
test_nul(void **state)
{
	struct csv_reader r;
	struct csv_record rec;
	static const char s[] = "a,b\nc\0d,e\nf,g\n";

	(void)state;
	csv_init(&r, s, sizeof(s) - 1, ROW_MAX, 8);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_ERR_NUL);
	assert_int_equal(rec.line, 2);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	expect_fields(&rec, 2, "f", "g");
}

static void
test_error_texts(void **state)
{
	(void)state;
	assert_non_null(strstr(csv_error_text(CSV_ERR_TOO_LONG), "long"));
	assert_non_null(strstr(csv_error_text(CSV_ERR_FIELDS), "columns"));
	assert_non_null(strstr(csv_error_text(CSV_ERR_QUOTE), "quote"));
	assert_non_null(strstr(csv_error_text(CSV_ERR_UNTERMINATED), "closed"));
	assert_non_null(strstr(csv_error_text(CSV_ERR_NUL), "NUL"));
	assert_non_null(csv_error_text(42));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_no_final_newline_and_empty_fields),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_blanks_around_quotes),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_quoted_newlines_count_lines),
		cmocka_unit_test(test_row_too_long),
		cmocka_unit_test(test_long_row_never_overflows),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_bad_quotes),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_error_texts),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

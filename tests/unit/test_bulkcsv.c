/*
 * test_bulkcsv: the recipients file's pure rules: trimming, whole
 * numbers, the header's mapping (English and Chinese names, any case,
 * any order; a column named twice, unknown or missing), a data row's
 * checks, and the words for a bad record.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulkcsv.h"

static char out[BULKCSV_ROW_MAX + CSV_MAX_FIELDS];

/* The first record of s. */
static struct csv_record
first(const char *s)
{
	struct csv_reader r;
	struct csv_record rec;

	csv_init(&r, s, strlen(s), BULKCSV_ROW_MAX, CSV_MAX_FIELDS);
	assert_int_equal(csv_next(&r, &rec, out, sizeof(out)), CSV_RECORD);
	return (rec);
}

static void
test_trim(void **state)
{
	char d[8];

	(void)state;
	bulkcsv_trim(" \tab c\t ", 8, d, sizeof(d));
	assert_string_equal(d, "ab c");
	bulkcsv_trim("   ", 3, d, sizeof(d));
	assert_string_equal(d, "");
	bulkcsv_trim("abcdefghij", 10, d, sizeof(d));
	assert_string_equal(d, "abcdefg"); /* cut to the buffer */
	bulkcsv_trim("x y", 1, d, sizeof(d));
	assert_string_equal(d, "x");
}

static void
test_posint(void **state)
{
	int64_t v = 42;

	(void)state;
	assert_true(bulkcsv_posint("1", 9999, &v));
	assert_int_equal(v, 1);
	assert_true(bulkcsv_posint("9999", 9999, &v));
	assert_int_equal(v, 9999);
	assert_true(bulkcsv_posint("007", 9999, &v));
	assert_int_equal(v, 7);
	v = 42;
	assert_false(bulkcsv_posint("10000", 9999, &v));
	assert_false(bulkcsv_posint("0", 9999, &v));
	assert_false(bulkcsv_posint("000", 9999, &v));
	assert_false(bulkcsv_posint("", 9999, &v));
	assert_false(bulkcsv_posint(NULL, 9999, &v));
	assert_false(bulkcsv_posint("-1", 9999, &v));
	assert_false(bulkcsv_posint("+1", 9999, &v));
	assert_false(bulkcsv_posint("1.5", 9999, &v));
	assert_false(bulkcsv_posint("1 ", 9999, &v));
	assert_false(bulkcsv_posint("99999999999999999999999", 9999, &v));
	assert_int_equal(v, 42); /* untouched when refused */
	assert_true(bulkcsv_posint("999999999999999", BULKCSV_PRODUCT_MAX, &v));
	assert_int_equal(v, BULKCSV_PRODUCT_MAX);
	assert_false(
	    bulkcsv_posint("1000000000000000", BULKCSV_PRODUCT_MAX, &v));
}

static void
test_header_english(void **state)
{
	struct csv_record rec;
	int		  col[BULKCSV_NCOLS];
	char		  msg[256] = "";

	(void)state;
	rec = first("qty, Product_ID ,ADDRESS,phone,name\n");
	assert_true(bulkcsv_header(&rec, col, msg, sizeof(msg)));
	assert_int_equal(col[BULKCSV_QTY], 0);
	assert_int_equal(col[BULKCSV_PRODUCT], 1);
	assert_int_equal(col[BULKCSV_ADDRESS], 2);
	assert_int_equal(col[BULKCSV_PHONE], 3);
	assert_int_equal(col[BULKCSV_NAME], 4);
	assert_string_equal(msg, "");
}

static void
test_header_chinese(void **state)
{
	struct csv_record rec;
	int		  col[BULKCSV_NCOLS];
	char		  msg[256];

	(void)state;
	rec = first("收件人,手机号,收货地址,商品id,数量\n");
	assert_true(bulkcsv_header(&rec, col, msg, sizeof(msg)));
	assert_int_equal(col[BULKCSV_NAME], 0);
	assert_int_equal(col[BULKCSV_PHONE], 1);
	assert_int_equal(col[BULKCSV_ADDRESS], 2);
	assert_int_equal(col[BULKCSV_PRODUCT], 3);
	assert_int_equal(col[BULKCSV_QTY], 4);
	rec = first("姓名,电话,地址,商品编号,数量\n");
	assert_true(bulkcsv_header(&rec, col, msg, sizeof(msg)));
}

static void
test_header_bad(void **state)
{
	struct csv_record rec;
	int		  col[BULKCSV_NCOLS];
	char		  msg[256];

	(void)state;
	rec = first("name,phone,电话,address,product_id,qty\n");
	assert_false(bulkcsv_header(&rec, col, msg, sizeof(msg)));
	assert_string_equal(msg, "bad header: the column phone is named twice");
	rec = first("name,phone,address,product_id,qty,colour\n");
	assert_false(bulkcsv_header(&rec, col, msg, sizeof(msg)));
	assert_string_equal(msg,
	    "bad header: column 6 is not one of name, phone, address, "
	    "product_id, qty");
	rec = first("name,phone,address,product_id\n");
	assert_false(bulkcsv_header(&rec, col, msg, sizeof(msg)));
	assert_string_equal(msg,
	    "bad header: the column qty is missing (the header names name, "
	    "phone, address, product_id, qty)");
}

static void
test_row_good(void **state)
{
	struct csv_record  rec;
	struct bulkcsv_row row;
	int		   col[BULKCSV_NCOLS];
	char		   msg[256];
	int		   i;

	(void)state;
	rec = first("qty,name,phone,address,product_id\n");
	assert_true(bulkcsv_header(&rec, col, msg, sizeof(msg)));
	rec = first(" 3 ,张三,138-0000-0000,\"北京市, 1号\",12\n");
	bulkcsv_row(&rec, col, &row);
	for (i = 0; i < BULKCSV_NCOLS; i++)
		assert_null(row.bad[i]);
	assert_string_equal(row.f[BULKCSV_NAME], "张三");
	assert_string_equal(row.f[BULKCSV_ADDRESS], "北京市, 1号");
	assert_true(row.has_product);
	assert_int_equal(row.product_id, 12);
	assert_int_equal(row.qty, 3);
}

static void
test_row_bad(void **state)
{
	struct csv_record  rec;
	struct bulkcsv_row row;
	int		   col[BULKCSV_NCOLS] = { 0, 1, 2, 3, 4 };

	(void)state;
	rec = first(" ,12ab,,0,10000\n");
	bulkcsv_row(&rec, col, &row);
	assert_string_equal(row.bad[BULKCSV_NAME],
	    "bad name: 1 to 50 characters of UTF-8 text");
	assert_string_equal(row.bad[BULKCSV_PHONE],
	    "bad phone: 6 to 20 digits, with an optional leading + and "
	    "dashes");
	assert_string_equal(row.bad[BULKCSV_ADDRESS],
	    "bad address: 1 to 200 characters of UTF-8 text");
	assert_string_equal(row.bad[BULKCSV_PRODUCT],
	    "bad product_id: the id of a listed product");
	assert_string_equal(
	    row.bad[BULKCSV_QTY], "bad qty: a positive integer from 1 to 9999");
	assert_false(row.has_product);

	/* A bad row with a product is still checked for its product. */
	rec = first("a,13800000000,addr,77,0\n");
	bulkcsv_row(&rec, col, &row);
	assert_true(row.has_product);
	assert_int_equal(row.product_id, 77);
	assert_null(row.bad[BULKCSV_NAME]);
	assert_non_null(row.bad[BULKCSV_QTY]);
}

static void
test_message(void **state)
{
	struct csv_record rec;
	char		  buf[96];

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.bytes = 2000;
	assert_string_equal(
	    bulkcsv_message(CSV_ERR_TOO_LONG, &rec, buf, sizeof(buf)),
	    "row too long: 2000 bytes, at most 1024");
	rec.nfields = 17;
	assert_string_equal(
	    bulkcsv_message(CSV_ERR_FIELDS, &rec, buf, sizeof(buf)),
	    "too many columns: 17, the header has 5");
	assert_string_equal(
	    bulkcsv_message(CSV_ERR_QUOTE, &rec, buf, sizeof(buf)),
	    csv_error_text(CSV_ERR_QUOTE));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_posint),
		cmocka_unit_test(test_header_english),
		cmocka_unit_test(test_header_chinese),
		cmocka_unit_test(test_header_bad),
		cmocka_unit_test(test_row_good),
		cmocka_unit_test(test_row_bad),
		cmocka_unit_test(test_message),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

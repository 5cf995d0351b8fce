/*
 * test_validate: UTF-8 lengths and malformed sequences, text, e-mail,
 * password and enum checks, on the inputs a hostile client would send.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

static void
test_utf8_ascii(void **state)
{
	(void)state;
	assert_int_equal(validate_utf8_len("", 0), 0);
	assert_int_equal(validate_utf8_len("a", 1), 1);
	assert_int_equal(validate_utf8_len("hello world", 11), 11);
	assert_int_equal(validate_utf8_len("tab\there", 8), 8);
	assert_int_equal(validate_utf8_len("two\nlines\r\n", 11), 11);
	assert_int_equal(validate_utf8_len("~!@#$%^&*()", 11), 11);
	/* Only len bytes are looked at. */
	assert_int_equal(validate_utf8_len("abcdef", 3), 3);
	assert_int_equal(validate_utf8_len("abc\x01", 3), 3);
}

static void
test_utf8_multibyte(void **state)
{
	(void)state;
	/* Two, three and four byte forms each count as one code point. */
	assert_int_equal(validate_utf8_len("\xc3\xa9", 2), 1); /* é */
	assert_int_equal(validate_utf8_len("普洱", strlen("普洱")), 2);
	assert_int_equal(strlen("普洱"), 6);
	assert_int_equal(validate_utf8_len("云南普洱茶", 15), 5);
	assert_int_equal(validate_utf8_len("\xf0\x9f\x8d\xb5", 4), 1); /* 🍵 */
	assert_int_equal(
	    validate_utf8_len("tea 🍵 茶!", strlen("tea 🍵 茶!")), 8);

	/* The smallest and largest of each form. */
	assert_int_equal(validate_utf8_len("\xc2\x80", 2), 1); /* U+0080 */
	assert_int_equal(validate_utf8_len("\xdf\xbf", 2), 1); /* U+07FF */
	assert_int_equal(validate_utf8_len("\xe0\xa0\x80", 3), 1); /* U+0800 */
	assert_int_equal(validate_utf8_len("\xed\x9f\xbf", 3), 1); /* U+D7FF */
	assert_int_equal(validate_utf8_len("\xee\x80\x80", 3), 1); /* U+E000 */
	assert_int_equal(validate_utf8_len("\xef\xbf\xbf", 3), 1); /* U+FFFF */
	assert_int_equal(validate_utf8_len("\xf0\x90\x80\x80", 4), 1);
	assert_int_equal(validate_utf8_len("\xf4\x8f\xbf\xbf", 4), 1);
}

static void
test_utf8_invalid(void **state)
{
	static const struct {
		const char *s;
		size_t	    len;
	} bad[] = {
		/* Overlong forms. */
		{ "\xc0\x80", 2 },
		{ "\xc1\xbf", 2 },
		{ "\xc0\xaf", 2 },
		{ "\xe0\x80\x80", 3 },
		{ "\xe0\x9f\xbf", 3 },
		{ "\xf0\x80\x80\x80", 4 },
		{ "\xf0\x8f\xbf\xbf", 4 },
		/* Surrogates, alone and paired. */
		{ "\xed\xa0\x80", 3 },
		{ "\xed\xbf\xbf", 3 },
		{ "\xed\xa0\xbd\xed\xb5\x88", 6 },
		/* Beyond U+10FFFF, and bytes that never lead. */
		{ "\xf4\x90\x80\x80", 4 },
		{ "\xf5\x80\x80\x80", 4 },
		{ "\xf7\xbf\xbf\xbf", 4 },
		{ "\xf8\x88\x80\x80\x80", 5 },
		{ "\xfc\x84\x80\x80\x80\x80", 6 },
		{ "\xfe", 1 },
		{ "\xff", 1 },
		{ "\x80", 1 },
		{ "\xbf", 1 },
		{ "a\x80\x62", 3 },
		/* Continuation bytes missing or wrong. */
		{ "\xc3", 1 },
		{ "\xe6\x99", 2 },
		{ "\xf0\x9f\x8d", 3 },
		{ "abc\xe6", 4 },
		{ "\xe6\x99\xae\xe6\xb4", 5 },
		{ "\xc3\x61", 2 },
		{ "\xe6\x61\x62", 3 },
		{ "\xe6\x99\x61", 3 },
		{ "\xf0\x9f\x8d\x61", 4 },
		{ "\xc3\xc3\xa9", 3 },
		/* Control characters. */
		{ "\0", 1 },
		{ "a\0b", 3 },
		{ "\x01", 1 },
		{ "\x08", 1 },
		{ "\x0b", 1 },
		{ "\x0c", 1 },
		{ "\x1b[2J", 4 },
		{ "\x1f", 1 },
		{ "\x7f", 1 },
		{ "ok\x7f", 3 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (validate_utf8_len(bad[i].s, bad[i].len) != -1)
			fail_msg("accepted bad[%zu]", i);
	}

	/* A sequence cut by len is truncated even if the string goes on. */
	assert_int_equal(validate_utf8_len("\xe6\x99\xae", 2), -1);
	assert_int_equal(validate_utf8_len("\xf0\x9f\x8d\xb5", 3), -1);
	assert_int_equal(validate_utf8_len("a\xc3\xa9", 2), -1);
}

static void
test_text(void **state)
{
	char buf[512];

	(void)state;
	assert_int_equal(validate_text("Pu'er", 1, 100), 1);
	assert_int_equal(validate_text("a", 1, 1), 1);
	assert_int_equal(validate_text("ab", 1, 1), 0);
	assert_int_equal(validate_text("", 1, 10), 0);
	assert_int_equal(validate_text("", 0, 10), 1);
	assert_int_equal(validate_text(NULL, 0, 10), 0);

	/* Lengths are in code points, not bytes. */
	assert_int_equal(validate_text("普洱", 2, 2), 1);
	assert_int_equal(validate_text("普洱", 3, 10), 0);
	assert_int_equal(validate_text("普洱", 1, 1), 0);
	assert_int_equal(validate_text("🍵🍵🍵", 3, 3), 1);
	assert_int_equal(validate_text("🍵🍵🍵", 1, 2), 0);

	/* 64 Chinese characters (192 bytes) fit a 64 limit; 65 do not. */
	buf[0] = '\0';
	while (validate_utf8_len(buf, strlen(buf)) < 64)
		strcat(buf, "茶");
	assert_int_equal(strlen(buf), 192);
	assert_int_equal(validate_text(buf, 1, 64), 1);
	strcat(buf, "茶");
	assert_int_equal(validate_text(buf, 1, 64), 0);

	/* White space only is no text, whatever its length. */
	assert_int_equal(validate_text(" ", 1, 10), 0);
	assert_int_equal(validate_text("   ", 1, 10), 0);
	assert_int_equal(validate_text("\t\r\n ", 1, 10), 0);
	assert_int_equal(validate_text(" a ", 1, 10), 1);
	assert_int_equal(validate_text(" 茶 ", 1, 10), 1);

	/* Bad UTF-8 or control characters fail whatever the bounds. */
	assert_int_equal(validate_text("\xc0\x80", 0, 100), 0);
	assert_int_equal(validate_text("abc\xe6", 0, 100), 0);
	assert_int_equal(validate_text("name\x1b[31m", 0, 100), 0);
	assert_int_equal(validate_text("a\x7f", 0, 100), 0);
}

static void
test_email_good(void **state)
{
	static const char *const good[] = { "a@b.co", "a@b.c",
		"li.wei@example.com", "buyer+orders@tea.example.cn",
		"first.last@sub.domain.example", "x_y-z@b-c.org",
		"用户@例子.中国", NULL };
	int			 i;

	(void)state;
	for (i = 0; good[i] != NULL; i++) {
		if (!validate_email(good[i]))
			fail_msg("refused %s", good[i]);
	}
}

static void
test_email_bad(void **state)
{
	static const char *const bad[] = { "", "a", "@", "a@b", "ab.cd",
		"example.com", "a@bc", "a@example", "@example.com",
		"a@@example.com", "a@b@example.com", "a@example.com@", "a@.com",
		"a@.example.com", "a@example.com.", "a@example..com",
		"a@example.", ".a@example.com", "a.@example.com",
		"a..b@example.com", "a b@example.com", " a@example.com",
		"a@example.com ", "a@exam ple.com", "a\t@example.com",
		"a@example.com\n", "a@example.com\r\nBcc: x@evil.com",
		"a\n@example.com", "\"a\"@example.com", "<a@example.com>",
		"a@example.com,b@example.com", "a@example.com;b@example.com",
		"a\\b@example.com", "a\x01@example.com", "a\x7f@example.com",
		"a\xc0\x80@example.com", "a\xff@example.com", NULL };
	int			 i;

	(void)state;
	assert_int_equal(validate_email(NULL), 0);
	for (i = 0; bad[i] != NULL; i++) {
		if (validate_email(bad[i]))
			fail_msg("accepted bad[%d] \"%s\"", i, bad[i]);
	}
}

static void
test_email_lengths(void **state)
{
	char   s[400];
	size_t dlen;

	(void)state;
	/* Local part: 64 bytes is the limit. */
	memset(s, 'l', 64);
	strcpy(s + 64, "@example.com");
	assert_int_equal(validate_email(s), 1);
	memset(s, 'l', 65);
	strcpy(s + 65, "@example.com");
	assert_int_equal(validate_email(s), 0);

	/* Whole address: 254 bytes is the limit. */
	memset(s, 'l', 10);
	s[10] = '@';
	dlen = 254 - 11 - 4;
	memset(s + 11, 'd', dlen);
	strcpy(s + 11 + dlen, ".com");
	assert_int_equal(strlen(s), 254);
	assert_int_equal(validate_email(s), 1);
	memset(s + 11, 'd', dlen + 1);
	strcpy(s + 11 + dlen + 1, ".com");
	assert_int_equal(strlen(s), 255);
	assert_int_equal(validate_email(s), 0);
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	s[10] = '@';
	s[300] = '.';
	assert_int_equal(validate_email(s), 0);
}

static void
test_password(void **state)
{
	char s[400];

	(void)state;
	assert_int_equal(validate_password(NULL), 0);
	assert_int_equal(validate_password(""), 0);
	assert_int_equal(validate_password("123456789"), 0);
	assert_int_equal(validate_password("1234567890"), 1);
	assert_int_equal(validate_password("correct horse battery"), 1);

	/* Characters, not bytes: 9 Chinese (27 bytes) no, 10 yes. */
	assert_int_equal(validate_password("云南普洱茶云南普洱"), 0);
	assert_int_equal(validate_password("云南普洱茶云南普洱茶"), 1);
	assert_int_equal(validate_password("🍵🍵🍵🍵🍵🍵🍵🍵🍵"), 0);
	assert_int_equal(validate_password("🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵"), 1);

	/* At most 256 bytes. */
	memset(s, 'p', 256);
	s[256] = '\0';
	assert_int_equal(validate_password(s), 1);
	s[256] = 'p';
	s[257] = '\0';
	assert_int_equal(validate_password(s), 0);
	memset(s, 'p', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(validate_password(s), 0);

	/* 86 Chinese characters are 258 bytes: too long, though few. */
	s[0] = '\0';
	while (strlen(s) < 258)
		strcat(s, "茶");
	assert_int_equal(validate_password(s), 0);

	/* Bad UTF-8 and control characters, however long. */
	assert_int_equal(validate_password("1234567890\xc0\x80"), 0);
	assert_int_equal(validate_password("1234567890\xff"), 0);
	assert_int_equal(validate_password("abcde\x01ghijk"), 0);
}

static void
test_oneof(void **state)
{
	static const char *const roles[] = { "citizen", "vendor", NULL };
	static const char *const none[] = { NULL };

	(void)state;
	assert_int_equal(validate_oneof("citizen", roles), 1);
	assert_int_equal(validate_oneof("vendor", roles), 1);
	assert_int_equal(validate_oneof("admin", roles), 0);
	assert_int_equal(validate_oneof("Vendor", roles), 0);
	assert_int_equal(validate_oneof("vendors", roles), 0);
	assert_int_equal(validate_oneof("vend", roles), 0);
	assert_int_equal(validate_oneof("", roles), 0);
	assert_int_equal(validate_oneof(" vendor", roles), 0);
	assert_int_equal(validate_oneof(NULL, roles), 0);
	assert_int_equal(validate_oneof("citizen", none), 0);
}

/* The fee rules' match fields: 32 characters, and no more. */
static void
test_code_fields_at_the_boundary(void **state)
{
	char code[200];
	int  i;

	(void)state;
	code[0] = '\0';
	for (i = 0; i < 32; i++)
		strcat(code, "区");
	assert_true(validate_text(code, 1, 32));
	strcat(code, "区");
	assert_false(validate_text(code, 1, 32));
}

/* Checkout's and bulk orders' phone rule (was orders_phone_valid). */
static void
test_phone(void **state)
{
	(void)state;
	assert_int_equal(validate_phone("13800138000"), 1);
	assert_int_equal(validate_phone("+86 138-0013-8000"), 1);
	assert_int_equal(validate_phone("123456"), 1);
	assert_int_equal(validate_phone("12345678901234567890"), 1);
	assert_int_equal(validate_phone("12345"), 0);
	assert_int_equal(validate_phone("123456789012345678901"), 0);
	assert_int_equal(validate_phone("++8613800138000"), 0);
	assert_int_equal(validate_phone("138001380x0"), 0);
	assert_int_equal(validate_phone("1380013800\n"), 0);
	assert_int_equal(validate_phone("- - - -"), 0);
	assert_int_equal(validate_phone(""), 0);
	assert_int_equal(validate_phone(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_ascii),
		cmocka_unit_test(test_utf8_multibyte),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_email_good),
		cmocka_unit_test(test_email_bad),
		cmocka_unit_test(test_email_lengths),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_oneof),
		cmocka_unit_test(test_code_fields_at_the_boundary),
		cmocka_unit_test(test_phone),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

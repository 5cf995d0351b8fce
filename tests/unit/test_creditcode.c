/*
 * test_creditcode: the unified social credit code of GB 32100-2015: real
 * codes pass, any other check character fails, and so do lowercase, the
 * letters the standard leaves out (I, O, Z, S, V), other characters, the
 * wrong length and NULL.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "creditcode.h"

#define ALPHABET  "0123456789ABCDEFGHJKLMNPQRTUWXY"
#define FORBIDDEN "IOZSV"

/*
 * Real codes: the standard's example, two well-known companies', and
 * codes of the demo vendors (select credit_code from vendors).
 */
static const char *const valid_codes[] = {
	"91350100M000100Y43",
	"91110000600037341L",
	"91440300708461136T",
	"935307234252477625",
	"92532329188413308N",
	"93532329728382224P",
	"935323263186032075",
	"92532531202269788E",
	/* 31 - sum % 31 == 31 counts as 0. */
	"915308200000000020",
	/* The last letter of the alphabet as check character. */
	"9153082000000000CY",
	NULL,
};

/* A copy on the heap of exactly strlen + 1 bytes, for ASan to watch. */
static char *
heap(const char *s)
{
	char *p;

	p = strdup(s);
	assert_non_null(p);
	return (p);
}

static void
test_valid_codes(void **state)
{
	const char *const *c;
	char		  *p;

	(void)state;
	for (c = valid_codes; *c != NULL; c++) {
		p = heap(*c);
		assert_int_equal(strlen(p), CREDITCODE_LEN);
		if (!creditcode_valid(p))
			fail_msg("%s should be valid", p);
		assert_int_equal(creditcode_check_char(p), p[17]);
		free(p);
	}
}

/* The check character of the first 17, whatever the 18th says. */
static void
test_check_char(void **state)
{
	char *p;

	(void)state;
	p = heap("91350100M000100Y4");
	assert_int_equal(creditcode_check_char(p), '3');
	free(p);
	assert_int_equal(creditcode_check_char("91350100M000100Y4X"), '3');
	assert_int_equal(creditcode_check_char("91110000600037341"), 'L');
	assert_int_equal(creditcode_check_char("91440300708461136"), 'T');
	assert_int_equal(creditcode_check_char("91530820000000002"), '0');
	assert_int_equal(creditcode_check_char("9153082000000000C"), 'Y');
	/* All zeros: sum 0, 31 - 0 = 31, which counts as 0. */
	assert_int_equal(creditcode_check_char("00000000000000000"), '0');
	assert_true(creditcode_valid("000000000000000000"));
	/* A 1 in the last place (weight 28): 31 - 28 = 3. */
	assert_int_equal(creditcode_check_char("00000000000000001"), '3');
	/* A 1 in the first place (weight 1): 30, Y. */
	assert_int_equal(creditcode_check_char("10000000000000000"), 'Y');
	assert_true(creditcode_valid("10000000000000000Y"));
}

/* Every check character but the right one fails. */
static void
test_wrong_check_char(void **state)
{
	const char *const *c;
	const char	  *a;
	char		  *p;
	int		   n;

	(void)state;
	for (c = valid_codes; *c != NULL; c++) {
		p = heap(*c);
		n = 0;
		for (a = ALPHABET FORBIDDEN "ay-*?# "; *a != '\0'; a++) {
			p[17] = *a;
			if (*a == (*c)[17]) {
				assert_true(creditcode_valid(p));
				n++;
				continue;
			}
			if (creditcode_valid(p))
				fail_msg("%s should be invalid", p);
		}
		assert_int_equal(n, 1);
		free(p);
	}
}

/*
 * Any single changed character of the first 17 is caught: every weight
 * is prime to 31.
 */
static void
test_single_change_caught(void **state)
{
	const char *const *c;
	const char	  *a;
	char		  *p;
	int		   i;

	(void)state;
	for (c = valid_codes; *c != NULL; c++) {
		p = heap(*c);
		for (i = 0; i < 17; i++) {
			for (a = ALPHABET; *a != '\0'; a++) {
				if (*a == (*c)[i])
					continue;
				p[i] = *a;
				if (creditcode_valid(p))
					fail_msg("%s (from %s) should be "
						 "invalid",
					    p, *c);
			}
			p[i] = (*c)[i];
		}
		assert_true(creditcode_valid(p));
		free(p);
	}
}

static void
test_lowercase(void **state)
{
	(void)state;
	/* GB 32100 uses capitals only. */
	assert_false(creditcode_valid("91350100m000100Y43"));
	assert_false(creditcode_valid("91350100M000100y43"));
	assert_false(creditcode_valid("91350100m000100y43"));
	assert_false(creditcode_valid("91110000600037341l"));
	assert_false(creditcode_valid("92532531202269788e"));
	assert_int_equal(creditcode_check_char("91350100m000100Y4"), -1);
	assert_int_equal(creditcode_check_char("91350100M000100y4"), -1);
}

/* I, O, Z, S and V are not in the alphabet, anywhere. */
static void
test_forbidden_letters(void **state)
{
	const char *f;
	char	   *p;
	int	    i;

	(void)state;
	for (f = FORBIDDEN; *f != '\0'; f++) {
		for (i = 0; i < 18; i++) {
			p = heap("91350100M000100Y43");
			p[i] = *f;
			if (creditcode_valid(p))
				fail_msg("%s should be invalid", p);
			if (i < 17)
				assert_int_equal(creditcode_check_char(p), -1);
			free(p);
		}
	}
	/* O for 0 and I for 1, the usual typing slips. */
	assert_false(creditcode_valid("91350100M0OO100Y43"));
	assert_false(creditcode_valid("9I350100M000100Y43"));
	assert_false(creditcode_valid("91350100M000100Y4O"));
}

static void
test_other_characters(void **state)
{
	static const char *const bad[] = {
		"91350100M000100Y4 ",
		" 1350100M000100Y43",
		"91350100-000100Y43",
		"91350100M000100Y4\t",
		"9135010\xc3\xa9M000100Y4", /* é, 2 bytes */
		"913501\xe4\xb8\xadM000100Y4", /* 中, 3 bytes */
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1"
		"\xf0\xef\xee",
		NULL,
	};
	const char *const *b;
	char		  *p;

	(void)state;
	for (b = bad; *b != NULL; b++) {
		p = heap(*b);
		assert_int_equal(strlen(p), CREDITCODE_LEN);
		if (creditcode_valid(p))
			fail_msg("%s should be invalid", p);
		free(p);
	}
	assert_int_equal(creditcode_check_char("91350100-000100Y4"), -1);
}

static void
test_wrong_length(void **state)
{
	static const char *const bad[] = {
		"",
		"9",
		"91350100M000100Y4", /* 17: the check character missing */
		"91350100M000100Y430", /* 19 */
		"91350100M000100Y433", /* 19 */
		"091350100M000100Y43", /* 19, shifted */
		"91350100M000100Y4391350100M000100Y43",
		NULL,
	};
	const char *const *b;
	char		  *p;

	(void)state;
	for (b = bad; *b != NULL; b++) {
		p = heap(*b);
		if (creditcode_valid(p))
			fail_msg("\"%s\" should be invalid", p);
		free(p);
	}
	/* Short input stops at its end (ASan watches the heap copies). */
	p = heap("9135");
	assert_int_equal(creditcode_check_char(p), -1);
	free(p);
	p = heap("");
	assert_int_equal(creditcode_check_char(p), -1);
	free(p);
	p = heap("9135010");
	assert_int_equal(creditcode_check_char(p), -1);
	free(p);
}

static void
test_null(void **state)
{
	(void)state;
	assert_false(creditcode_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_codes),
		cmocka_unit_test(test_check_char),
		cmocka_unit_test(test_wrong_check_char),
		cmocka_unit_test(test_single_change_caught),
		cmocka_unit_test(test_lowercase),
		cmocka_unit_test(test_forbidden_letters),
		cmocka_unit_test(test_other_characters),
		cmocka_unit_test(test_wrong_length),
		cmocka_unit_test(test_null),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

/*
 * creditcode: GB 32100-2015.  The alphabet leaves out I, O, Z, S and V;
 * the check character is 31 minus the weighted sum mod 31 (31 counts as 0).
 */

#include <string.h>

#include "creditcode.h"

static const char creditcode_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int creditcode_weights[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29,
	25, 13, 8, 24, 10, 30, 28 };

static int
creditcode_value(char ch)
{
	const char *p;

	if (ch == '\0' || (p = strchr(creditcode_alphabet, ch)) == NULL)
		return (-1);
	return ((int)(p - creditcode_alphabet));
}

/* The check character the first 17 characters call for, or -1. */
int
creditcode_check_char(const char *code)
{
	int i, v, sum, c;

	for (sum = 0, i = 0; i < 17; i++) {
		if ((v = creditcode_value(code[i])) < 0)
			return (-1);
		sum += v * creditcode_weights[i];
	}
	c = 31 - sum % 31;
	if (c == 31)
		c = 0;
	return (creditcode_alphabet[c]);
}

int
creditcode_valid(const char *code)
{
	int c;

	if (code == NULL || strlen(code) != CREDITCODE_LEN)
		return (0);
	if ((c = creditcode_check_char(code)) < 0)
		return (0);
	return (code[17] == c);
}

/*
 * fuzz_creditcode: any string.  A valid code is 18 characters of the
 * alphabet ending in its check character; the check character of any 17
 * makes a valid code; changing one character of a valid code makes it
 * invalid (the weights are all prime to 31).
 */

#include "creditcode.h"
#include "fuzz.h"

static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char  *s, code[CREDITCODE_LEN + 1], saved;
	size_t i, k;
	int    valid, c, c2;

	s = fuzz_str(data, len);
	valid = creditcode_valid(s);
	c = creditcode_check_char(s);
	CHECK(valid == 0 || valid == 1);
	CHECK(c == -1 || (c != '\0' && strchr(alphabet, c) != NULL));
	if (valid) {
		CHECK(strlen(s) == CREDITCODE_LEN);
		CHECK(strspn(s, alphabet) == CREDITCODE_LEN);
		CHECK(s[17] == c);
	}
	if (strlen(s) >= 17 && strspn(s, alphabet) >= 17)
		CHECK(c != -1);
	else
		CHECK(c == -1);
	CHECK(!creditcode_valid(NULL));

	/* Any 17 characters of the alphabet, from the input. */
	for (i = 0; i < 17; i++)
		code[i] = alphabet[i < len ? data[i] % 31 : 0];
	code[17] = '\0';
	CHECK(!creditcode_valid(code));
	c = creditcode_check_char(code);
	CHECK(c != -1);
	code[17] = (char)c;
	code[18] = '\0';
	CHECK(creditcode_valid(code));
	/* One character changed, chosen by the input. */
	i = len > 17 ? data[17] % 18 : 0;
	k = len > 18 ? data[18] % 30 + 1 : 1;
	saved = code[i];
	code[i] = alphabet[(strchr(alphabet, saved) - alphabet + k) % 31];
	CHECK(code[i] != saved);
	CHECK(!creditcode_valid(code));
	c2 = creditcode_check_char(code);
	CHECK(c2 != -1);
	CHECK(i == 17 || c2 != c);
	free(s);
	return (0);
}

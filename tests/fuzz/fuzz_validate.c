/*
 * fuzz_validate: validate_utf8_len on any bytes (not NUL-terminated),
 * against a decoder written from the Unicode standard's table of
 * well-formed sequences (3-7); the text, e-mail, password, phone and enum
 * checks held to what they promise.
 */

#include "fuzz.h"
#include "validate.h"

/* Code points in s[0..n) by Table 3-7, controls refused, or -1. */
static long
ref_len(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;
	long   count = 0;
	int    lo, hi;

	while (i < n) {
		if (s[i] < 0x80) {
			if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' &&
				s[i] != '\r') ||
			    s[i] == 0x7f)
				return (-1);
			i++;
			count++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			need = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 3;
		else
			return (-1);
		if (s[i] == 0xe0)
			lo = 0xa0;
		else if (s[i] == 0xed)
			hi = 0x9f;
		else if (s[i] == 0xf0)
			lo = 0x90;
		else if (s[i] == 0xf4)
			hi = 0x8f;
		if (i + need >= n)
			return (-1);
		if (s[i + 1] < lo || s[i + 1] > hi)
			return (-1);
		for (k = 2; k <= need; k++) {
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return (-1);
		}
		i += need + 1;
		count++;
	}
	return (count);
}

static void
check_email(const char *s)
{
	const char *at;

	if (!validate_email(s))
		return;
	CHECK(strlen(s) >= 5 && strlen(s) <= 254);
	CHECK((at = strchr(s, '@')) != NULL && strrchr(s, '@') == at);
	CHECK(at > s && at - s <= 64);
	CHECK(strchr(at, '.') != NULL && strstr(s, "..") == NULL);
	CHECK(s[strlen(s) - 1] != '.' && s[0] != '.');
	CHECK(strpbrk(s, " \t\r\n\"<>,;\\") == NULL);
	CHECK(ref_len((const unsigned char *)s, strlen(s)) >= 0);
}

static void
check_phone(const char *s)
{
	size_t digits = 0;

	if (!validate_phone(s))
		return;
	if (*s == '+')
		s++;
	for (; *s != '\0'; s++) {
		CHECK((*s >= '0' && *s <= '9') || *s == '-' || *s == ' ');
		digits += (*s >= '0' && *s <= '9');
	}
	CHECK(digits >= 6 && digits <= 20);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const roles[] = { "citizen", "vendor", NULL };
	unsigned char		*buf;
	char			*s;
	long			 n, r, min, max;
	size_t			 slen;
	int			 ok;

	/* Exactly len bytes: a read past them is caught. */
	CHECK((buf = malloc(len ? len : 1)) != NULL);
	memcpy(buf, data, len);
	n = validate_utf8_len((const char *)buf, len);
	r = ref_len(buf, len);
	CHECK(n == r);
	CHECK(n <= (long)len && (n < 0 || n >= (long)len / 4));
	free(buf);

	s = fuzz_str(data, len);
	slen = strlen(s);
	n = validate_utf8_len(s, slen);
	min = len > 0 ? data[0] % 4 : 0;
	max = len > 1 ? data[1] % 64 : 100;
	ok = validate_text(s, min, max);
	if (ok) {
		CHECK(n >= min && n <= max);
		CHECK(min == 0 || strspn(s, " \t\r\n") < slen);
	} else {
		CHECK(n < 0 || n < min || n > max ||
		    (min > 0 && strspn(s, " \t\r\n") == slen));
	}
	CHECK(validate_text(s, 0, 1L << 30) == (n >= 0));
	ok = validate_password(s);
	CHECK(ok == (n >= PASSWORD_MIN_CHARS && slen <= PASSWORD_MAX_BYTES));
	check_email(s);
	check_phone(s);
	CHECK(validate_oneof(s, roles) ==
	    (strcmp(s, "citizen") == 0 || strcmp(s, "vendor") == 0));
	CHECK(!validate_text(NULL, 0, 10) && !validate_email(NULL) &&
	    !validate_password(NULL) && !validate_phone(NULL) &&
	    !validate_oneof(NULL, roles));
	free(s);
	return (0);
}

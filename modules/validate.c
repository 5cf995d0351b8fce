/*
 * validate: input rules shared by every handler.  Each returns 1 when the
 * value is acceptable and 0 otherwise, so the caller names the field.
 */

#include <string.h>

#include "validate.h"

/*
 * The number of code points in s[0..len), or -1 when it is not valid UTF-8
 * (overlong forms, surrogates and control characters other than tab and
 * newline included).
 */
long
validate_utf8_len(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     i, n, k;
	unsigned long	     cp, min;
	long		     count;

	count = 0;
	for (i = 0; i < len; count++) {
		if (p[i] < 0x80) {
			if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' &&
				p[i] != '\r') ||
			    p[i] == 0x7f)
				return (-1);
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else {
			return (-1);
		}
		if (i + n >= len)
			return (-1);
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (-1);
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (-1);
		i += n + 1;
	}
	return (count);
}

/* Valid UTF-8 of min to max code points, not only white space. */
int
validate_text(const char *s, long min, long max)
{
	long   n;
	size_t len;

	if (s == NULL)
		return (0);
	len = strlen(s);
	if ((n = validate_utf8_len(s, len)) < 0)
		return (0);
	if (n < min || n > max)
		return (0);
	if (min > 0 && strspn(s, " \t\r\n") == len)
		return (0);
	return (1);
}

/* A plausible address: local@domain.tld, no spaces, at most 254 bytes. */
int
validate_email(const char *s)
{
	const char *at, *dot, *p;
	size_t	    len;

	if (s == NULL || (len = strlen(s)) < 5 || len > 254)
		return (0);
	if (validate_utf8_len(s, len) < 0)
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' ||
		    *p == '"' || *p == '<' || *p == '>' || *p == ',' ||
		    *p == ';' || *p == '\\')
			return (0);
	}
	if ((at = strchr(s, '@')) == NULL || at == s || strchr(at + 1, '@'))
		return (0);
	if (at - s > 64)
		return (0);
	/* No empty dot-separated part on either side of the '@'. */
	if (s[0] == '.' || at[-1] == '.' || at[1] == '.' || strstr(s, ".."))
		return (0);
	if ((dot = strrchr(at, '.')) == NULL || dot == at + 1 || dot[1] == '\0')
		return (0);
	return (1);
}

int
validate_password(const char *s)
{
	long   n;
	size_t len;

	if (s == NULL || (len = strlen(s)) > PASSWORD_MAX_BYTES)
		return (0);
	if ((n = validate_utf8_len(s, len)) < 0)
		return (0);
	return (n >= PASSWORD_MIN_CHARS);
}

/* s is one of the NULL-terminated list. */
int
validate_oneof(const char *s, const char *const *list)
{
	if (s == NULL)
		return (0);
	for (; *list != NULL; list++) {
		if (strcmp(s, *list) == 0)
			return (1);
	}
	return (0);
}

/* A phone number: 6 to 20 digits, with an optional leading + and dashes. */
int
validate_phone(const char *s)
{
	size_t digits;

	if (s == NULL)
		return (0);
	if (*s == '+')
		s++;
	for (digits = 0; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s != '-' && *s != ' ')
			return (0);
	}
	return (digits >= 6 && digits <= 20);
}

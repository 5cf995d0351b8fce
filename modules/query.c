/*
 * query: decoding of application/x-www-form-urlencoded query strings.
 * Every limit is explicit so a hostile query cannot grow the work.
 */

#include <string.h>

#include "query.h"

static int query_hex(int);

static int
query_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Splits and decodes qs (which may be NULL) into q.  Returns QUERY_OK, or
 * QUERY_INVALID on a bad escape, an embedded NUL, or too many or too long
 * pairs.  A later duplicate name does not replace the first.
 */
int
query_parse(struct query *q, const char *qs)
{
	size_t o;
	char  *start;
	int    hi, lo, c, in_value;

	memset(q, 0, sizeof(*q));
	if (qs == NULL || *qs == '\0')
		return (QUERY_OK);

	o = 0;
	start = q->buf;
	in_value = 0;
	for (;; qs++) {
		if (o + 2 >= sizeof(q->buf))
			return (QUERY_INVALID);
		c = *qs;
		if (c == '&' || c == '\0') {
			q->buf[o++] = '\0';
			if (*start != '\0' || in_value) {
				if (q->npairs == QUERY_MAX_PAIRS)
					return (QUERY_INVALID);
				q->pair[q->npairs].name = start;
				q->pair[q->npairs].value =
				    in_value ? start + strlen(start) + 1 : "";
				q->npairs++;
			}
			if (c == '\0')
				break;
			start = &q->buf[o];
			in_value = 0;
			continue;
		}
		if (c == '=' && !in_value) {
			q->buf[o++] = '\0';
			in_value = 1;
			continue;
		}
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if ((hi = query_hex(qs[1])) == -1 ||
			    (lo = query_hex(qs[2])) == -1)
				return (QUERY_INVALID);
			c = hi * 16 + lo;
			if (c == 0)
				return (QUERY_INVALID);
			qs += 2;
		}
		q->buf[o++] = (char)c;
	}
	return (QUERY_OK);
}

/* The first value of name, or NULL.  An empty value counts as absent. */
const char *
query_get(const struct query *q, const char *name)
{
	int i;

	for (i = 0; i < q->npairs; i++) {
		if (strcmp(q->pair[i].name, name) == 0)
			return (*q->pair[i].value ? q->pair[i].value : NULL);
	}
	return (NULL);
}

/* A decimal integer within [min, max]. */
int
query_int(const struct query *q, const char *name, int64_t min, int64_t max,
    int64_t *out)
{
	const char *v, *p;
	int64_t	    n;
	int	    neg;

	if ((v = query_get(q, name)) == NULL)
		return (QUERY_MISSING);

	p = v;
	neg = (*p == '-');
	if (neg)
		p++;
	if (*p == '\0' || strlen(p) > 18)
		return (QUERY_INVALID);
	for (n = 0; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return (QUERY_INVALID);
		n = n * 10 + (*p - '0');
	}
	if (neg)
		n = -n;
	if (n < min || n > max)
		return (QUERY_INVALID);
	*out = n;
	return (QUERY_OK);
}

/* A calendar date YYYY-MM-DD, copied to out (11 bytes). */
int
query_date(const struct query *q, const char *name, char *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	const char	*v;
	int		 i, y, m, d;

	if ((v = query_get(q, name)) == NULL)
		return (QUERY_MISSING);
	if (strlen(v) != 10 || v[4] != '-' || v[7] != '-')
		return (QUERY_INVALID);
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9'))
			return (QUERY_INVALID);
	}
	y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 +
	    (v[3] - '0');
	m = (v[5] - '0') * 10 + (v[6] - '0');
	d = (v[8] - '0') * 10 + (v[9] - '0');
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return (QUERY_INVALID);
	if (m == 2 && d == 29 &&
	    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (QUERY_INVALID);
	memcpy(out, v, 11);
	return (QUERY_OK);
}

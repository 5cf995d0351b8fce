/*
 * fuzz_query: query_parse on any query string, then the getters.  A parsed
 * query encoded again parses to the same pairs; every name and value lies
 * NUL-terminated inside the buffer; query_int and query_date give only
 * what they promise.
 */

#include <time.h>

#include "fuzz.h"
#include "query.h"

static struct query q, q2;
static char	    enc[QUERY_MAX_BYTES * 3 + QUERY_MAX_PAIRS * 2 + 1];

static int
in_buf(const struct query *p, const char *s)
{
	return (s >= p->buf && s < p->buf + sizeof(p->buf));
}

static size_t
encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		  o = 0;
	unsigned char	  ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == '-') {
			out[o++] = (char)ch;
		} else if (ch == ' ') {
			out[o++] = '+';
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	return (o);
}

static void
check_int(const char *name)
{
	const char *v;
	int64_t	    n = 0, lo, hi;
	int	    rc;
	char	   *end;

	lo = -1000;
	hi = 100000;
	rc = query_int(&q, name, lo, hi, &n);
	v = query_get(&q, name);
	CHECK(rc == QUERY_OK || rc == QUERY_MISSING || rc == QUERY_INVALID);
	CHECK((rc == QUERY_MISSING) == (v == NULL));
	if (rc != QUERY_OK)
		return;
	CHECK(n >= lo && n <= hi);
	CHECK(strtoll(v, &end, 10) == n && *end == '\0');
	CHECK(v[0] == '-' || (v[0] >= '0' && v[0] <= '9'));
	rc = query_int(&q, name, INT64_MIN, INT64_MAX, &n);
	CHECK(rc == QUERY_OK);
}

static void
check_date(const char *name)
{
	struct tm   tm;
	const char *v;
	char	    out[11], back[11];
	int	    rc;
	time_t	    t;

	memset(out, 'x', sizeof(out));
	rc = query_date(&q, name, out);
	v = query_get(&q, name);
	CHECK((rc == QUERY_MISSING) == (v == NULL));
	if (rc != QUERY_OK) {
		CHECK(out[0] == 'x'); /* nothing written */
		return;
	}
	CHECK(out[10] == '\0' && strcmp(out, v) == 0);
	/* A real calendar day: through timegm and back unchanged. */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = atoi(out) - 1900;
	tm.tm_mon = atoi(out + 5) - 1;
	tm.tm_mday = atoi(out + 8);
	t = timegm(&tm);
	CHECK(gmtime_r(&t, &tm) != NULL);
	CHECK(strftime(back, sizeof(back), "%Y-%m-%d", &tm) == 10);
	CHECK(strcmp(back, out) == 0);
	CHECK(tm.tm_year + 1900 >= 1970);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char *v;
	char	   *s;
	size_t	    o;
	int	    i, j, rc;

	s = fuzz_str(data, len);
	rc = query_parse(&q, s);
	CHECK(rc == QUERY_OK || rc == QUERY_INVALID);
	if (rc != QUERY_OK) {
		free(s);
		return (0);
	}
	CHECK(q.npairs >= 0 && q.npairs <= QUERY_MAX_PAIRS);
	o = 0;
	for (i = 0; i < q.npairs; i++) {
		CHECK(in_buf(&q, q.pair[i].name));
		CHECK(fuzz_terminated(q.pair[i].name,
		    (size_t)(q.buf + sizeof(q.buf) - q.pair[i].name)));
		CHECK(
		    q.pair[i].value[0] == '\0' || in_buf(&q, q.pair[i].value));
		if (in_buf(&q, q.pair[i].value))
			CHECK(fuzz_terminated(q.pair[i].value,
			    (size_t)(q.buf + sizeof(q.buf) - q.pair[i].value)));
		/* A pair is never empty: a name, or at least an '='. */
		CHECK(q.pair[i].name[0] != '\0' || in_buf(&q, q.pair[i].value));
		/* Encoded again, the '=' kept only where there was one. */
		if (i > 0)
			enc[o++] = '&';
		o += encode(enc + o, q.pair[i].name);
		if (in_buf(&q, q.pair[i].value)) {
			enc[o++] = '=';
			o += encode(enc + o, q.pair[i].value);
		}
		CHECK(o < sizeof(enc));
	}
	enc[o] = '\0';
	CHECK(query_parse(&q2, enc) == QUERY_OK);
	CHECK(q2.npairs == q.npairs);
	for (i = 0; i < q.npairs; i++) {
		CHECK(strcmp(q.pair[i].name, q2.pair[i].name) == 0);
		CHECK(strcmp(q.pair[i].value, q2.pair[i].value) == 0);
		/* The first of a name wins. */
		for (j = 0; strcmp(q.pair[j].name, q.pair[i].name) != 0; j++)
			;
		v = query_get(&q, q.pair[i].name);
		if (q.pair[j].value[0] == '\0')
			CHECK(v == NULL);
		else
			CHECK(v == q.pair[j].value);
	}
	if (q.npairs > 0) {
		check_int(q.pair[0].name);
		check_date(q.pair[0].name);
	}
	check_int("page");
	check_date("from");
	free(s);
	return (0);
}

/*
 * json: answers built with jansson, and the pieces of hand-written JSON:
 * the hottest answer, the cart, is written straight into a buffer from
 * pieces jansson encoded once (json_buf_*).  app/answer.c sends them.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "json.h"
#include "problem.h"

/*
 * Answers with v (stolen).  NULL is a body that could not be built (a
 * failed json_pack): a 500, never an empty 200.  See json_reply_empty().
 */
void
json_reply(struct call *c, int status, json_t *v)
{
	char *s;

	if (v == NULL) {
		(void)problem_internal(
		    c, "json: the answer could not be built");
		return;
	}
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s == NULL) {
		(void)problem_internal(c, "json_dumps failed");
		return;
	}
	json_reply_raw(c, status, s, strlen(s));
	free(s);
}

/* A string member of an object, or NULL when absent or not a string. */
const char *
json_field_str(json_t *obj, const char *name)
{
	return (jsonbody_str(obj, name));
}

/*
 * v in decimal, written at the end of d and NUL-terminated; returns where
 * it starts.  For the hot paths' numbers, without printf.
 */
const char *
int_text(char d[INT_TEXT_LEN], int64_t v)
{
	size_t	 i;
	uint64_t u;

	i = INT_TEXT_LEN - 1;
	d[i] = '\0';
	u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[--i] = '-';
	return (d + i);
}

/* Appends v in decimal: the cart's numbers, without printf. */
void
json_buf_int(struct kore_buf *b, int64_t v)
{
	char	    d[INT_TEXT_LEN];
	const char *t;

	t = int_text(d, v);
	kore_buf_append(b, t, (size_t)(d + sizeof(d) - 1 - t));
}

/* Appends a literal piece of JSON. */
void
json_buf_lit(struct kore_buf *b, const char *s)
{
	kore_buf_append(b, s, strlen(s));
}

/*
 * Writes s as a JSON string into dst (len bytes, NUL-terminated), with
 * jansson's escaping; 0 when it does not fit.
 */
int
json_encode_str(char *dst, size_t len, const char *s)
{
	json_t *v;
	size_t	n;

	if ((v = json_string(s)) == NULL)
		return (0);
	n = json_dumpb(v, dst, len - 1, JSON_ENCODE_ANY);
	json_decref(v);
	if (n == 0 || n >= len)
		return (0);
	dst[n] = '\0';
	return (1);
}

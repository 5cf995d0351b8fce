/*
 * csvout: one field of a CSV answer (RFC 4180), quoted when it must be,
 * with spreadsheet formulas in text fields defused.
 */

#include <string.h>

#include "csvout.h"

static int  csvout_formula(const char *, size_t, int);
static void csvout_put(char *, size_t, size_t *, char);

/*
 * A spreadsheet runs a cell that starts with one of these as a formula
 * (CSV injection): a name a vendor chose must stay a name.  Numbers are
 * written without CSVOUT_TEXT, so a negative amount keeps its sign.
 */
static int
csvout_formula(const char *s, size_t len, int flags)
{
	if (!(flags & CSVOUT_TEXT) || len == 0 || s[0] == '\0')
		return (0);
	return (strchr("=+-@\t\r", s[0]) != NULL);
}

/* Appends ch at *n when it fits (the last byte is kept for the NUL). */
static void
csvout_put(char *out, size_t outlen, size_t *n, char ch)
{
	if (*n + 1 < outlen)
		out[*n] = ch;
	(*n)++;
}

/* 1 when the field must be quoted: a comma, quote, CR or LF, or a formula. */
int
csvout_needs_quotes(const char *s, size_t len, int flags)
{
	size_t i;

	if (csvout_formula(s, len, flags))
		return (1);
	for (i = 0; i < len; i++) {
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return (1);
	}
	return (0);
}

/*
 * Writes the field for s[0..len) into out, as snprintf does: at most
 * outlen - 1 bytes and a NUL when outlen > 0.  Returns the length the
 * whole field needs, so a result >= outlen means it was cut short.
 * Inside quotes a quote is doubled; a defused formula gets a leading '.
 */
size_t
csvout_field(char *out, size_t outlen, const char *s, size_t len, int flags)
{
	size_t i, n;
	int    quote;

	n = 0;
	quote = csvout_needs_quotes(s, len, flags);
	if (quote)
		csvout_put(out, outlen, &n, '"');
	if (csvout_formula(s, len, flags))
		csvout_put(out, outlen, &n, '\'');
	for (i = 0; i < len; i++) {
		if (quote && s[i] == '"')
			csvout_put(out, outlen, &n, '"');
		csvout_put(out, outlen, &n, s[i]);
	}
	if (quote)
		csvout_put(out, outlen, &n, '"');
	if (outlen > 0)
		out[n < outlen ? n : outlen - 1] = '\0';
	return (n);
}

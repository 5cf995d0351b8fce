/*
 * csv: reads one record at a time and, after a bad record, goes on with
 * the next, so that a caller can list every bad row of a file at once.
 * Lenient only where spreadsheets are: blanks around a quoted field.
 */

#include <string.h>

#include "csv.h"

#define ST_START  0 /* at the start of a field */
#define ST_PLAIN  1 /* in an unquoted field */
#define ST_QUOTED 2 /* in a quoted field */
#define ST_CLOSED 3 /* after the closing quote */

struct csv_out {
	char  *buf;
	size_t len;
	size_t off;
};

static void
csv_put(struct csv_out *o, char ch)
{
	/* Keeps room for the NUL of the field. */
	if (o->off + 1 < o->len)
		o->buf[o->off++] = ch;
}

/*
 * Ends the field that began at start.  Past a full buffer (an overlong
 * record, already an error) fields are cut, never written beyond it.
 */
static void
csv_end_field(
    struct csv_record *rec, struct csv_out *o, size_t start, int max_fields)
{
	if (rec->nfields < max_fields) {
		if (o->len == 0) {
			rec->field[rec->nfields] = "";
			rec->flen[rec->nfields] = 0;
		} else {
			if (o->off < o->len)
				o->buf[o->off++] = '\0';
			else
				o->buf[o->len - 1] = '\0';
			if (start >= o->len)
				start = o->len - 1;
			rec->field[rec->nfields] = o->buf + start;
			rec->flen[rec->nfields] = strlen(o->buf + start);
		}
	}
	rec->nfields++;
}

void
csv_init(struct csv_reader *r, const char *buf, size_t len, size_t row_max,
    int max_fields)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	r->line = 1;
	r->row_max = row_max;
	if (max_fields < 1 || max_fields > CSV_MAX_FIELDS)
		max_fields = CSV_MAX_FIELDS;
	r->max_fields = max_fields;
	/* A byte order mark, as spreadsheets write in front of UTF-8. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		r->pos = 3;
}

/*
 * Reads the next record into rec and out (outlen bytes).  Returns
 * CSV_RECORD, CSV_END at the end of the buffer, or a CSV_ERR_* for a bad
 * record, which is consumed all the same: the next call reads the next.
 */
int
csv_next(struct csv_reader *r, struct csv_record *rec, char *out, size_t outlen)
{
	struct csv_out o;
	size_t	       begin, fstart, k;
	int	       st, err_quote, err_nul, stored;
	char	       ch;

	memset(rec, 0, sizeof(*rec));
	if (r->pos >= r->len)
		return (CSV_END);
	o.buf = out;
	o.len = outlen;
	o.off = 0;
	rec->line = r->line;
	rec->lines = 1;
	begin = r->pos;
	fstart = 0;
	st = ST_START;
	err_quote = err_nul = 0;

	while (r->pos < r->len) {
		ch = r->buf[r->pos];
		stored = rec->nfields < r->max_fields;
		if (ch == '\0')
			err_nul = 1;
		if (st == ST_START) {
			fstart = o.off;
			/* Blanks, then a quote: a quoted field. */
			for (k = r->pos; k < r->len &&
			     (r->buf[k] == ' ' || r->buf[k] == '\t');
			     k++)
				;
			if (k < r->len && r->buf[k] == '"') {
				r->pos = k + 1;
				st = ST_QUOTED;
				continue;
			}
			st = ST_PLAIN;
		}
		if (st == ST_QUOTED) {
			if (ch == '"') {
				if (r->pos + 1 < r->len &&
				    r->buf[r->pos + 1] == '"') {
					if (stored)
						csv_put(&o, '"');
					r->pos += 2;
				} else {
					st = ST_CLOSED;
					r->pos++;
				}
				continue;
			}
			if (ch == '\n' ||
			    (ch == '\r' &&
				(r->pos + 1 >= r->len ||
				    r->buf[r->pos + 1] != '\n'))) {
				r->line++;
				rec->lines++;
			}
			if (stored)
				csv_put(&o, ch);
			r->pos++;
			continue;
		}
		if (ch == ',') {
			csv_end_field(rec, &o, fstart, r->max_fields);
			st = ST_START;
			r->pos++;
			continue;
		}
		if (ch == '\r' || ch == '\n')
			break;
		if (st == ST_CLOSED) {
			if (ch != ' ' && ch != '\t')
				err_quote = 1;
		} else {
			if (ch == '"')
				err_quote = 1;
			if (stored)
				csv_put(&o, ch);
		}
		r->pos++;
	}

	rec->bytes = r->pos - begin;
	if (st == ST_QUOTED) {
		/* Never closed: it took the rest of the file. */
		csv_end_field(rec, &o, fstart, r->max_fields);
		return (CSV_ERR_UNTERMINATED);
	}
	if (st == ST_START)
		fstart = o.off;
	csv_end_field(rec, &o, fstart, r->max_fields);

	/* The line end: CRLF, LF or a lone CR. */
	if (r->pos < r->len) {
		if (r->buf[r->pos] == '\r' && r->pos + 1 < r->len &&
		    r->buf[r->pos + 1] == '\n')
			r->pos++;
		r->pos++;
		r->line++;
	}

	if (err_nul)
		return (CSV_ERR_NUL);
	if (rec->bytes > r->row_max)
		return (CSV_ERR_TOO_LONG);
	if (err_quote)
		return (CSV_ERR_QUOTE);
	if (rec->nfields > r->max_fields)
		return (CSV_ERR_FIELDS);
	return (CSV_RECORD);
}

/* An empty line, or one of empty fields only (",,,," from a spreadsheet). */
int
csv_blank(const struct csv_record *rec)
{
	int i;

	for (i = 0; i < rec->nfields && i < CSV_MAX_FIELDS; i++) {
		if (rec->flen[i] != 0)
			return (0);
	}
	return (1);
}

const char *
csv_error_text(int err)
{
	switch (err) {
	case CSV_ERR_TOO_LONG: return ("the row is too long");
	case CSV_ERR_FIELDS: return ("too many columns");
	case CSV_ERR_QUOTE:
		return ("a quote must open and close a field (write \"\" "
			"for a quote inside a quoted field)");
	case CSV_ERR_UNTERMINATED: return ("a quoted field is never closed");
	case CSV_ERR_NUL: return ("a NUL byte: this is not a text file");
	default: return ("not CSV");
	}
}

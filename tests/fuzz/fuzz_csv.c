/*
 * fuzz_csv: the reader over any buffer (not NUL-terminated, so an
 * over-read is caught), with the first byte choosing the limits.  Every
 * call moves on; fields stay inside the caller's buffer, NUL-terminated,
 * of the length given; the line count is the input's; a good record
 * written out again, always quoted, reads back the same.
 */

#include "csv.h"
#include "fuzz.h"

/*
 * Line breaks in s[from..to) of s[0..n): CRLF, LF and a lone CR count one
 * each.
 */
static size_t
breaks(const char *s, size_t n, size_t from, size_t to)
{
	size_t i, k = 0;

	for (i = from; i < to; i++) {
		if (s[i] == '\n' ||
		    (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
			k++;
	}
	return (k);
}

static void
roundtrip(const struct csv_record *rec)
{
	struct csv_reader r;
	struct csv_record back;
	size_t		  n, i, o;
	char		 *text, *out;
	int		  f;

	for (n = 1, f = 0; f < rec->nfields; f++)
		n += 2 * rec->flen[f] + 3;
	text = malloc(n);
	out = malloc(n + CSV_MAX_FIELDS);
	CHECK(text != NULL && out != NULL);
	for (o = 0, f = 0; f < rec->nfields; f++) {
		if (f > 0)
			text[o++] = ',';
		text[o++] = '"';
		for (i = 0; i < rec->flen[f]; i++) {
			if (rec->field[f][i] == '"')
				text[o++] = '"';
			text[o++] = rec->field[f][i];
		}
		text[o++] = '"';
	}
	text[o++] = '\n';
	CHECK(o <= n);
	csv_init(&r, text, o, n, rec->nfields);
	CHECK(csv_next(&r, &back, out, n + CSV_MAX_FIELDS) == CSV_RECORD);
	CHECK(back.nfields == rec->nfields);
	for (f = 0; f < rec->nfields; f++) {
		CHECK(back.flen[f] == rec->flen[f]);
		CHECK(memcmp(back.field[f], rec->field[f], rec->flen[f]) == 0);
	}
	CHECK(back.lines == 1 + breaks(text, o, 0, o - 1));
	CHECK(csv_next(&r, &back, out, n + CSV_MAX_FIELDS) == CSV_END);
	free(text);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct csv_reader r;
	struct csv_record rec;
	size_t		  row_max, outlen, pos, line, start;
	char		 *buf, *out;
	int		  max_fields, rc, f, n;

	if (len < 1)
		return (0);
	/* As the bulk upload reads (1024, 16), or small limits. */
	if (data[0] & 0x80) {
		row_max = 1024;
		max_fields = CSV_MAX_FIELDS;
	} else {
		row_max = (data[0] & 0x0f) * 3;
		max_fields = (data[0] >> 4) & 0x07;
	}
	data++;
	len--;
	buf = malloc(len ? len : 1);
	CHECK(buf != NULL);
	memcpy(buf, data, len);
	outlen = row_max + CSV_MAX_FIELDS;
	out = malloc(outlen);
	CHECK(out != NULL);

	csv_init(&r, buf, len, row_max, max_fields);
	CHECK(r.max_fields >= 1 && r.max_fields <= CSV_MAX_FIELDS);
	start = r.pos;
	CHECK(start == 0 || start == 3);
	line = 1;
	for (n = 0;; n++) {
		pos = r.pos;
		rc = csv_next(&r, &rec, out, outlen);
		CHECK(rc <= CSV_RECORD && rc >= CSV_ERR_NUL);
		CHECK(csv_error_text(rc) != NULL);
		if (rc == CSV_END) {
			CHECK(pos >= len);
			break;
		}
		CHECK(r.pos > pos && r.pos <= len);
		CHECK(rec.line == line);
		CHECK(rec.lines >= 1);
		CHECK(rec.bytes <= r.pos - pos);
		CHECK(r.line == line + breaks(buf, len, pos, r.pos));
		line = r.line;
		CHECK(rec.nfields >= 1);
		for (f = 0; f < rec.nfields && f < r.max_fields; f++) {
			CHECK(rec.field[f] != NULL);
			if (rec.flen[f] > 0 || outlen > 0) {
				CHECK(rec.field[f] >= out &&
				    rec.field[f] + rec.flen[f] < out + outlen);
				CHECK(rec.field[f][rec.flen[f]] == '\0');
				CHECK(strlen(rec.field[f]) == rec.flen[f]);
			}
		}
		if (rc == CSV_RECORD) {
			CHECK(rec.nfields <= r.max_fields);
			CHECK(rec.bytes <= row_max);
			CHECK(memchr(buf + pos, '\0', r.pos - pos) == NULL);
			(void)csv_blank(&rec);
			roundtrip(&rec);
		}
		if (rc == CSV_ERR_UNTERMINATED)
			CHECK(r.pos == len);
		CHECK(n <= (int)len);
	}
	CHECK(csv_next(&r, &rec, out, outlen) == CSV_END);
	free(buf);
	free(out);
	return (0);
}

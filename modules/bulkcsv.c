/*
 * bulkcsv: the pure rules of a bulk order's recipients file (bulkcsv.h):
 * the header's mapping, trimming, the integer rules and the checks of a
 * data row.  No I/O and no Kore: app/http_bulk_csv.c reports what these
 * find.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bulkcsv.h"
#include "cart.h"
#include "validate.h"

/* The header's names of each column: English, or as Chinese sheets say. */
static const char *const bulkcsv_names[BULKCSV_NCOLS][5] = {
	{ "name", "姓名", "收件人", NULL, NULL },
	{ "phone", "电话", "手机", "手机号", NULL },
	{ "address", "地址", "收货地址", NULL, NULL },
	{ "product_id", "商品编号", "商品ID", NULL, NULL },
	{ "qty", "数量", NULL, NULL, NULL },
};

/* A field without the blanks around it, in dst. */
void
bulkcsv_trim(const char *s, size_t len, char *dst, size_t dstlen)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* A whole number from 1 to max, digits only. */
int
bulkcsv_posint(const char *s, int64_t max, int64_t *out)
{
	int64_t v;

	if (s == NULL || *s == '\0')
		return (0);
	for (v = 0; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (0);
		v = v * 10 + (*s - '0');
		if (v > max)
			return (0);
	}
	if (v < 1)
		return (0);
	*out = v;
	return (1);
}

/*
 * Maps the header's columns: col[i] is the position of column i.  Returns
 * 0 with the reason in msg when a column is missing, repeated or unknown.
 */
int
bulkcsv_header(const struct csv_record *rec, int *col, char *msg, size_t len)
{
	char	    h[BULKCSV_ROW_MAX + 1];
	int	    i, j, n, found;
	const char *nm;

	for (i = 0; i < BULKCSV_NCOLS; i++)
		col[i] = -1;
	for (i = 0; i < rec->nfields && i < CSV_MAX_FIELDS; i++) {
		bulkcsv_trim(rec->field[i], rec->flen[i], h, sizeof(h));
		found = 0;
		for (j = 0; j < BULKCSV_NCOLS && !found; j++) {
			for (n = 0; n < 5 && (nm = bulkcsv_names[j][n]); n++) {
				if (strcasecmp(h, nm) != 0)
					continue;
				if (col[j] >= 0) {
					(void)snprintf(msg, len,
					    "bad header: the column %s is "
					    "named twice",
					    bulkcsv_names[j][0]);
					return (0);
				}
				col[j] = i;
				found = 1;
				break;
			}
		}
		if (!found) {
			(void)snprintf(msg, len,
			    "bad header: column %d is not one of name, phone, "
			    "address, product_id, qty",
			    i + 1);
			return (0);
		}
	}
	for (j = 0; j < BULKCSV_NCOLS; j++) {
		if (col[j] < 0) {
			(void)snprintf(msg, len,
			    "bad header: the column %s is missing (the header "
			    "names name, phone, address, product_id, qty)",
			    bulkcsv_names[j][0]);
			return (0);
		}
	}
	return (1);
}

/* One data row's fields, trimmed, and each one's problem if any. */
void
bulkcsv_row(
    const struct csv_record *rec, const int *col, struct bulkcsv_row *row)
{
	int i;

	for (i = 0; i < BULKCSV_NCOLS; i++) {
		bulkcsv_trim(rec->field[col[i]], rec->flen[col[i]], row->f[i],
		    sizeof(row->f[i]));
		row->bad[i] = NULL;
	}
	row->product_id = row->qty = 0;
	if (!validate_text(row->f[BULKCSV_NAME], 1, 50))
		row->bad[BULKCSV_NAME] =
		    "bad name: 1 to 50 characters of UTF-8 text";
	if (!validate_phone(row->f[BULKCSV_PHONE]))
		row->bad[BULKCSV_PHONE] =
		    "bad phone: 6 to 20 digits, with an optional leading + "
		    "and dashes";
	if (!validate_text(row->f[BULKCSV_ADDRESS], 1, 200))
		row->bad[BULKCSV_ADDRESS] =
		    "bad address: 1 to 200 characters of UTF-8 text";
	row->has_product = bulkcsv_posint(
	    row->f[BULKCSV_PRODUCT], BULKCSV_PRODUCT_MAX, &row->product_id);
	if (!row->has_product)
		row->bad[BULKCSV_PRODUCT] =
		    "bad product_id: the id of a listed product";
	if (!bulkcsv_posint(row->f[BULKCSV_QTY], CART_MAX_QTY, &row->qty))
		row->bad[BULKCSV_QTY] =
		    "bad qty: a positive integer from 1 to 9999";
}

/* What a bad record (csv_next()'s error) is, for the importer's report. */
const char *
bulkcsv_message(int rc, const struct csv_record *rec, char *buf, size_t len)
{
	switch (rc) {
	case CSV_ERR_TOO_LONG:
		(void)snprintf(buf, len, "row too long: %zu bytes, at most %d",
		    rec->bytes, BULKCSV_ROW_MAX);
		return (buf);
	case CSV_ERR_FIELDS:
		(void)snprintf(buf, len,
		    "too many columns: %d, the header has %d", rec->nfields,
		    BULKCSV_NCOLS);
		return (buf);
	default: return (csv_error_text(rc));
	}
}

/*
 * bulkcsv: the pure rules of a bulk order's recipients file: which header
 * names which column (English, or as Chinese sheets say), fields without
 * their blanks, whole numbers, and each data row's checks, with the
 * messages the importer reports per line.  The reading of records is
 * modules/csv.c; the file's route is app/http_bulk_csv.c.
 */

#ifndef BULKCSV_H
#define BULKCSV_H

#include <stddef.h>
#include <stdint.h>

#include "csv.h"

#define BULKCSV_ROW_MAX	    1024 /* bytes of one record */
#define BULKCSV_PRODUCT_MAX INT64_C(999999999999999)

/* The columns, wherever the header puts them. */
enum bulkcsv_col {
	BULKCSV_NAME,
	BULKCSV_PHONE,
	BULKCSV_ADDRESS,
	BULKCSV_PRODUCT,
	BULKCSV_QTY,
	BULKCSV_NCOLS,
};

/* One data row: its fields trimmed, and what is wrong with each. */
struct bulkcsv_row {
	char	    f[BULKCSV_NCOLS][BULKCSV_ROW_MAX + 1];
	int64_t	    product_id; /* when has_product */
	int64_t	    qty;
	int	    has_product;
	const char *bad[BULKCSV_NCOLS]; /* a message, or NULL */
};

void bulkcsv_trim(const char *, size_t, char *, size_t);
int  bulkcsv_posint(const char *, int64_t, int64_t *);
int  bulkcsv_header(const struct csv_record *, int *, char *, size_t);
void bulkcsv_row(const struct csv_record *, const int *, struct bulkcsv_row *);
const char *bulkcsv_message(int, const struct csv_record *, char *, size_t);

#endif

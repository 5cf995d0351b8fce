/*
 * bulk.h: what the bulk order files share (app/http_bulk.c, the drafts
 * and reads; app/http_bulk_csv.c, the CSV import; app/http_bulk_place.c,
 * approval, placement and payment).
 */

#ifndef BULK_H
#define BULK_H

#include "bulkcsv.h"

#define BULK "/orgs/{#id}/bulk-orders/{#bid}"

#define BULK_MAX_ROWS	 10000 /* recipients' lines of one bulk order */
#define BULK_MAX_ERRORS	 100
#define BULK_PRODUCT_MAX BULKCSV_PRODUCT_MAX

json_t *bulk_row(const char *, int64_t, int64_t, const char *, const char *,
    const char *, int64_t, int64_t);

#endif

/*
 * http_bulk_csv: a bulk order's recipients from a CSV file, replacing its
 * draft's: the file's type and size, then each record read by
 * modules/csv.c and checked by modules/bulkcsv.c, every problem told by
 * its line; the rows are checked against the catalog by bulk_replace()
 * (005_orgs.sql) too, and the draft keeps the report.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "json.h"
#include "db.h"
#include "problem.h"
#include "routes.h"
#include "bulk.h"
#include "bulkcsv.h"
#include "csv.h"

#define BULK_CSV_MAX (1024 * 1024)

struct bulk_csv_ctx {
	struct call c;
	char	   *rows; /* recipients' lines, JSON text for SQL */
	char	   *errors; /* what the CSV parser found, JSON text */
	int	    nerr;
};

static int  bulk_csv_check(struct http_request *);
static int  bulk_csv_save(struct http_request *);
static void bulk_csv_cleanup(struct call *);

enum bulk_csv_state { BULK_CSV_CHECK, BULK_CSV_SAVE };
static struct http_state bulk_csv_states[] = {
	[BULK_CSV_CHECK] = { "BULK_CSV_CHECK", bulk_csv_check },
	[BULK_CSV_SAVE] = { "BULK_CSV_SAVE", bulk_csv_save },
};

/* The CSV route reads its own body (up to Kore's http_body_max, 1 MiB). */
struct api_route routes_bulk_csv[] = {
	{ HTTP_METHOD_POST, BULK "/recipients.csv", "bulk_csv", AUTH_USER,
	    STATES(bulk_csv_states), sizeof(struct bulk_csv_ctx),
	    bulk_csv_cleanup },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static void
bulk_csv_cleanup(struct call *c)
{
	struct bulk_csv_ctx *k = (struct bulk_csv_ctx *)c;

	free(k->rows);
	free(k->errors);
	k->rows = k->errors = NULL;
}

static void
bulk_csv_error(
    struct bulk_csv_ctx *k, json_t *errs, size_t line, const char *msg)
{
	char f[32];

	k->nerr++;
	if (json_array_size(errs) >= BULK_MAX_ERRORS)
		return;
	(void)snprintf(f, sizeof(f), "line %zu", line);
	json_array_append_new(errs,
	    json_pack("{s:s, s:I, s:s}", "field", f, "line", (json_int_t)line,
		"message", msg));
}

/*
 * Maps the header's columns (bulkcsv_header()); a column missing,
 * repeated or unknown is an error on the header's line.
 */
static int
bulk_csv_header(struct bulk_csv_ctx *k, json_t *errs,
    const struct csv_record *rec, int *col)
{
	char msg[256];

	if (bulkcsv_header(rec, col, msg, sizeof(msg)))
		return (1);
	bulk_csv_error(k, errs, rec->line, msg);
	return (0);
}

/* One data row: its checks, and the row for SQL when it has a product. */
static void
bulk_csv_row(struct bulk_csv_ctx *k, json_t *rows, json_t *errs,
    const struct csv_record *rec, const int *col)
{
	struct bulkcsv_row r;
	char		   field[32];
	int		   i, bad = 0;
	json_t		  *row;

	bulkcsv_row(rec, col, &r);
	for (i = 0; i < BULKCSV_NCOLS; i++) {
		if (r.bad[i] != NULL) {
			bulk_csv_error(k, errs, rec->line, r.bad[i]);
			bad = 1;
		}
	}
	if (!r.has_product)
		return;
	(void)snprintf(field, sizeof(field), "line %zu", rec->line);
	if (bad) {
		/* Checked for its product only: nothing is imported. */
		row = json_pack("{s:s, s:I, s:I}", "field", field, "line",
		    (json_int_t)rec->line, "product_id",
		    (json_int_t)r.product_id);
	} else {
		row = bulk_row(field, (int64_t)rec->line, 0, r.f[BULKCSV_NAME],
		    r.f[BULKCSV_PHONE], r.f[BULKCSV_ADDRESS], r.product_id,
		    r.qty);
	}
	if (row != NULL)
		json_array_append_new(rows, row);
}

/* text/csv, or what browsers send for a .csv file; UTF-8 if a charset. */
static int
bulk_csv_type(struct http_request *req, const char **why)
{
	const char *ct, *cs;

	*why = NULL;
	if (!http_request_header(req, "content-type", &ct)) {
		*why = "text/csv";
		return (0);
	}
	if (strncasecmp(ct, "text/csv", 8) != 0 &&
	    strncasecmp(ct, "application/csv", 15) != 0 &&
	    strncasecmp(ct, "application/vnd.ms-excel", 24) != 0) {
		*why = "text/csv";
		return (0);
	}
	if ((cs = strcasestr(ct, "charset=")) != NULL) {
		cs += 8;
		if (*cs == '"')
			cs++;
		if (strncasecmp(cs, "utf-8", 5) != 0 &&
		    strncasecmp(cs, "utf8", 4) != 0) {
			*why = "the file must be UTF-8 (charset=utf-8)";
			return (0);
		}
	}
	return (1);
}

static int
bulk_csv_check(struct http_request *req)
{
	struct bulk_csv_ctx *k = http_state_get(req);
	struct csv_reader    r;
	struct csv_record    rec;
	static char	     out[BULKCSV_ROW_MAX + CSV_MAX_FIELDS];
	json_t		    *rows, *errs, *e = NULL;
	const char	    *why;
	char		     msg[160], why_buf[96];
	int		     rc, col[BULKCSV_NCOLS], ncols;
	size_t		     nrows;

	if (!bulk_csv_type(req, &why)) {
		problem_field_add(&e, "Content-Type", why);
		return (problem_validation(&k->c, e));
	}
	if (req->http_body == NULL || req->http_body_length == 0) {
		problem_field_add(&e, "file", "the file is empty");
		return (problem_validation(&k->c, e));
	}
	if (req->http_body_length > BULK_CSV_MAX) {
		return (problem(&k->c, 413, "payload_too_large",
		    "a recipients file holds at most 1 MiB"));
	}

	csv_init(&r, (const char *)req->http_body->data, req->http_body_length,
	    BULKCSV_ROW_MAX, CSV_MAX_FIELDS);
	rows = json_array();
	errs = json_array();
	while ((rc = csv_next(&r, &rec, out, sizeof(out))) == CSV_RECORD &&
	    csv_blank(&rec))
		;
	if (rc == CSV_END) {
		bulk_csv_error(k, errs, 1, "bad header: the file is empty");
		goto refuse;
	}
	if (rc != CSV_RECORD) {
		(void)snprintf(msg, sizeof(msg), "bad header: %s",
		    bulkcsv_message(rc, &rec, why_buf, sizeof(why_buf)));
		bulk_csv_error(k, errs, rec.line, msg);
		goto refuse;
	}
	if (!bulk_csv_header(k, errs, &rec, col))
		goto refuse;
	ncols = rec.nfields;

	nrows = 0;
	while ((rc = csv_next(&r, &rec, out, sizeof(out))) != CSV_END) {
		if (rc == CSV_RECORD && csv_blank(&rec))
			continue;
		if (++nrows > BULK_MAX_ROWS) {
			bulk_csv_error(k, errs, rec.line,
			    "too many rows: at most " TEXT(
				BULK_MAX_ROWS) " lines in one bulk order");
			break;
		}
		if (rc != CSV_RECORD) {
			bulk_csv_error(k, errs, rec.line,
			    bulkcsv_message(rc, &rec, msg, sizeof(msg)));
			continue;
		}
		if (rec.nfields != ncols) {
			(void)snprintf(msg, sizeof(msg),
			    "too %s columns: %d, the header has %d",
			    rec.nfields > ncols ? "many" : "few", rec.nfields,
			    ncols);
			bulk_csv_error(k, errs, rec.line, msg);
			continue;
		}
		bulk_csv_row(k, rows, errs, &rec, col);
	}
	if (nrows == 0) {
		problem_field_add(&e, "file", "no rows after the header");
		json_decref(rows);
		json_decref(errs);
		return (problem_validation(&k->c, e));
	}

	/* Every row is checked against the catalog too, then all told. */
	k->rows = json_dumps(rows, JSON_COMPACT);
	k->errors = json_dumps(errs, JSON_COMPACT);
	json_decref(rows);
	json_decref(errs);
	if (k->rows == NULL || k->errors == NULL)
		return (problem_internal(&k->c, "bulk: cannot encode rows"));
	return (call_next(&k->c, BULK_CSV_SAVE));

refuse:
	json_decref(rows);
	return (problem_fields(&k->c, 422, "validation_failed",
	    "the file's header is not right; nothing was imported", errs));
}

static int
bulk_csv_save(struct http_request *req)
{
	struct bulk_csv_ctx *k = http_state_get(req);
	char		     uid[24], n[24];
	const char	    *v[6];

	call_uid(&k->c, uid, sizeof(uid));
	(void)snprintf(n, sizeof(n), "%d", k->nerr);
	v[0] = uid;
	v[1] = k->c.match.params[0];
	v[2] = k->c.match.params[1];
	v[3] = k->rows;
	v[4] = k->errors;
	v[5] = n;
	switch (db_poll(&k->c,
	    "SELECT status, body FROM bulk_replace($1::bigint, "
	    "$2::bigint, $3::bigint, $4::jsonb, $5::jsonb, $6::integer)",
	    6, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(&k->c, "bulk: database error"));
	}
	return (db_status_reply(&k->c, "refused"));
}

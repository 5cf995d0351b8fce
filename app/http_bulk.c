/*
 * http_bulk: an organisation's 以购代捐 bulk orders: drafts with many
 * recipients (a JSON body or a CSV file), submission and approval,
 * placement into one order per vendor priced as at checkout, and one
 * payment for all of them.  The rules of each step are in 005_orgs.sql.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bangfu.h"
#include "idem.h"
#include "cart.h"
#include "csv.h"
#include "http_orgs.h"
#include "orders.h"
#include "validate.h"

#define BULK_MAX_ROWS	  10000 /* recipients' lines of one bulk order */
#define BULK_MAX_LINES	  50 /* lines of one recipient in JSON */
#define BULK_MAX_ERRORS	  100
#define BULK_CSV_MAX	  (1024 * 1024)
#define BULK_CSV_ROW_MAX  1024
#define BULK_MAX_ATTEMPTS 3
#define BULK_PRODUCT_MAX  INT64_C(999999999999999)

struct bulk_ctx {
	struct call c;
	char	   *rows; /* recipients' lines, JSON text for SQL */
	char	   *errors; /* what the CSV parser found, JSON text */
	int	    nerr;
	char	    key[130];
	char	    hash[65];
	char	    route[96];
	int	    has_key;
	int	    attempts;
	json_t	   *order; /* the priced placement */
};

static int  bulk_create_check(struct http_request *);
static int  bulk_create_save(struct http_request *);
static int  bulk_list(struct http_request *);
static int  bulk_get(struct http_request *);
static int  bulk_recipients(struct http_request *);
static int  bulk_csv_check(struct http_request *);
static int  bulk_csv_save(struct http_request *);
static int  bulk_submit(struct http_request *);
static int  bulk_approve(struct http_request *);
static int  bulk_reject(struct http_request *);
static int  bulk_place_check(struct http_request *);
static int  bulk_place_idem(struct http_request *);
static int  bulk_place_quote(struct http_request *);
static int  bulk_place_write(struct http_request *);
static int  bulk_pay(struct http_request *);
static int  bulk_vendor_recipients(struct http_request *);
static void bulk_cleanup(struct call *);

enum bulk_create_state { BULK_CREATE_CHECK, BULK_CREATE_SAVE };
static struct http_state bulk_create_states[] = {
	[BULK_CREATE_CHECK] = { "BULK_CREATE_CHECK", bulk_create_check },
	[BULK_CREATE_SAVE] = { "BULK_CREATE_SAVE", bulk_create_save },
};
enum bulk_csv_state { BULK_CSV_CHECK, BULK_CSV_SAVE };
static struct http_state bulk_csv_states[] = {
	[BULK_CSV_CHECK] = { "BULK_CSV_CHECK", bulk_csv_check },
	[BULK_CSV_SAVE] = { "BULK_CSV_SAVE", bulk_csv_save },
};
enum bulk_place_state {
	BULK_PLACE_CHECK,
	BULK_PLACE_IDEM,
	BULK_PLACE_QUOTE,
	BULK_PLACE_WRITE,
};
static struct http_state bulk_place_states[] = {
	[BULK_PLACE_CHECK] = { "BULK_PLACE_CHECK", bulk_place_check },
	[BULK_PLACE_IDEM] = { "BULK_PLACE_IDEM", bulk_place_idem },
	[BULK_PLACE_QUOTE] = { "BULK_PLACE_QUOTE", bulk_place_quote },
	[BULK_PLACE_WRITE] = { "BULK_PLACE_WRITE", bulk_place_write },
};
ONE(bulk_list_states, bulk_list);
ONE(bulk_get_states, bulk_get);
ONE(bulk_recipients_states, bulk_recipients);
ONE(bulk_submit_states, bulk_submit);
ONE(bulk_approve_states, bulk_approve);
ONE(bulk_reject_states, bulk_reject);
ONE(bulk_pay_states, bulk_pay);
ONE(bulk_vendor_recipients_states, bulk_vendor_recipients);

#define BULK "/orgs/{#id}/bulk-orders/{#bid}"

/* The CSV route reads its own body (up to Kore's http_body_max, 1 MiB). */
struct api_route routes_bulk[] = {
	{ HTTP_METHOD_POST, "/orgs/{#id}/bulk-orders", "bulk_create",
	    AUTH_USER | BODY_JSON, STATES(bulk_create_states),
	    sizeof(struct bulk_ctx), bulk_cleanup },
	{ HTTP_METHOD_GET, "/orgs/{#id}/bulk-orders", "bulk_list", AUTH_USER,
	    STATES(bulk_list_states), 0, NULL },
	{ HTTP_METHOD_GET, BULK, "bulk", AUTH_USER, STATES(bulk_get_states), 0,
	    NULL },
	{ HTTP_METHOD_GET, BULK "/recipients", "bulk_recipients", AUTH_USER,
	    STATES(bulk_recipients_states), 0, NULL },
	{ HTTP_METHOD_POST, BULK "/recipients.csv", "bulk_csv", AUTH_USER,
	    STATES(bulk_csv_states), sizeof(struct bulk_ctx), bulk_cleanup },
	{ HTTP_METHOD_POST, BULK "/submit", "bulk_submit", AUTH_USER,
	    STATES(bulk_submit_states), 0, NULL },
	{ HTTP_METHOD_POST, BULK "/approve", "bulk_approve", AUTH_USER,
	    STATES(bulk_approve_states), 0, NULL },
	{ HTTP_METHOD_POST, BULK "/reject", "bulk_reject",
	    AUTH_USER | BODY_JSON, STATES(bulk_reject_states), 0, NULL },
	{ HTTP_METHOD_POST, BULK "/place", "bulk_place", AUTH_USER,
	    STATES(bulk_place_states), sizeof(struct bulk_ctx), bulk_cleanup },
	{ HTTP_METHOD_POST, BULK "/payments", "bulk_pay", AUTH_USER | BODY_JSON,
	    STATES(bulk_pay_states), 0, NULL },
	{ HTTP_METHOD_GET, "/vendor/orders/{#id}/recipients",
	    "vendor_part_recipients", AUTH_VENDOR,
	    STATES(bulk_vendor_recipients_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static const char *const bulk_purposes[] = { "welfare", "meeting_supply",
	"canteen", "other", NULL };
static const char *const bulk_statuses[] = { "draft", "submitted", "approved",
	"rejected", "placed", NULL };

static void
bulk_cleanup(struct call *c)
{
	struct bulk_ctx *k = (struct bulk_ctx *)c;

	free(k->rows);
	free(k->errors);
	if (k->order != NULL)
		json_decref(k->order);
	k->rows = k->errors = NULL;
	k->order = NULL;
}

/* A whole number from 1 to max, digits only. */
static int
bulk_posint(const char *s, int64_t max, int64_t *out)
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

/* One recipient's line as SQL's bulk_fill() takes it. */
static json_t *
bulk_row(const char *field, int64_t line, int64_t r, const char *name,
    const char *phone, const char *address, int64_t pid, int64_t qty)
{
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "field", field, "name",
	    name, "phone", phone, "address", address, "product_id",
	    (json_int_t)pid, "qty", (json_int_t)qty);
	if (o == NULL)
		return (NULL);
	json_object_set_new(
	    o, line > 0 ? "line" : "r", json_integer(line > 0 ? line : r));
	return (o);
}

/* ------------------------------------------------------------ create */

static void
bulk_json_line(
    json_t *rows, json_t **errs, json_t *rcp, size_t i, json_t *ln, size_t j)
{
	char	    f[96];
	const char *name, *phone, *address;
	json_t	   *pj, *qj, *sj, *row;
	int	    ok = 1;

	(void)snprintf(f, sizeof(f), "recipients[%zu].lines[%zu]", i, j);
	if (!json_is_object(ln)) {
		problem_field_add(errs, f, "an object {product_id, qty}");
		return;
	}
	pj = json_object_get(ln, "product_id");
	qj = json_object_get(ln, "qty");
	sj = json_object_get(ln, "session_id");
	if (sj != NULL && !json_is_null(sj) &&
	    (!json_is_integer(sj) || json_integer_value(sj) < 1 ||
		(json_is_integer(qj) && json_integer_value(qj) > 20))) {
		(void)snprintf(f, sizeof(f),
		    "recipients[%zu].lines[%zu].session_id", i, j);
		problem_field_add(
		    errs, f, "a session id, with qty at most 20 places");
		ok = 0;
	}
	if (!json_is_integer(pj) || json_integer_value(pj) < 1 ||
	    json_integer_value(pj) > BULK_PRODUCT_MAX) {
		(void)snprintf(f, sizeof(f),
		    "recipients[%zu].lines[%zu].product_id", i, j);
		problem_field_add(errs, f, "a product id");
		ok = 0;
	}
	if (!json_is_integer(qj) || json_integer_value(qj) < 1 ||
	    json_integer_value(qj) > CART_MAX_QTY) {
		(void)snprintf(
		    f, sizeof(f), "recipients[%zu].lines[%zu].qty", i, j);
		problem_field_add(errs, f, "an integer from 1 to 9999");
		ok = 0;
	}
	name = json_field_str(rcp, "name");
	phone = json_field_str(rcp, "phone");
	address = json_field_str(rcp, "address");
	if (!ok || !validate_text(name, 1, 50) || !orders_phone_valid(phone) ||
	    !validate_text(address, 1, 200))
		return;
	(void)snprintf(
	    f, sizeof(f), "recipients[%zu].lines[%zu].product_id", i, j);
	if ((row = bulk_row(f, 0, (int64_t)i, name, phone, address,
		 json_integer_value(pj), json_integer_value(qj))) == NULL)
		return;
	/* A service's line may book a session: the recipient is its guest. */
	if (json_is_integer(sj))
		json_object_set(row, "session_id", sj);
	json_array_append_new(rows, row);
}

static int
bulk_create_check(struct http_request *req)
{
	struct bulk_ctx *k = http_state_get(req);
	json_t		*errs = NULL, *rcps, *rcp, *lines, *ln, *rows;
	const char	*purpose;
	char		 f[48];
	size_t		 i, j, nrows;

	purpose = json_field_str(k->c.body, "purpose");
	if (purpose == NULL || !validate_oneof(purpose, bulk_purposes))
		problem_field_add(&errs, "purpose",
		    "welfare, meeting_supply, canteen or other");
	rcps = json_object_get(k->c.body, "recipients");
	if (rcps != NULL && !json_is_null(rcps) && !json_is_array(rcps))
		problem_field_add(&errs, "recipients", "an array");
	rows = json_array();
	nrows = 0;
	json_array_foreach(rcps, i, rcp)
	{
		if (errs != NULL && json_array_size(errs) >= BULK_MAX_ERRORS)
			break;
		if (!json_is_object(rcp)) {
			(void)snprintf(f, sizeof(f), "recipients[%zu]", i);
			problem_field_add(&errs, f,
			    "an object {name, phone, address, lines}");
			continue;
		}
		if (!validate_text(json_field_str(rcp, "name"), 1, 50)) {
			(void)snprintf(f, sizeof(f), "recipients[%zu].name", i);
			problem_field_add(&errs, f, "1 to 50 characters");
		}
		if (!orders_phone_valid(json_field_str(rcp, "phone"))) {
			(void)snprintf(
			    f, sizeof(f), "recipients[%zu].phone", i);
			problem_field_add(&errs, f, "a phone number");
		}
		if (!validate_text(json_field_str(rcp, "address"), 1, 200)) {
			(void)snprintf(
			    f, sizeof(f), "recipients[%zu].address", i);
			problem_field_add(&errs, f, "1 to 200 characters");
		}
		lines = json_object_get(rcp, "lines");
		if (!json_is_array(lines) || json_array_size(lines) < 1 ||
		    json_array_size(lines) > BULK_MAX_LINES) {
			(void)snprintf(
			    f, sizeof(f), "recipients[%zu].lines", i);
			problem_field_add(&errs, f, "1 to 50 lines");
			continue;
		}
		json_array_foreach(lines, j, ln)
		{
			bulk_json_line(rows, &errs, rcp, i, ln, j);
			nrows++;
		}
	}
	if (nrows > BULK_MAX_ROWS)
		problem_field_add(&errs, "recipients",
		    "at most 10000 lines in all (send a CSV file)");
	if (errs != NULL) {
		json_decref(rows);
		return (problem_validation(&k->c, errs));
	}
	k->rows = json_dumps(rows, JSON_COMPACT);
	json_decref(rows);
	if (k->rows == NULL)
		return (problem_internal(&k->c, "bulk: cannot encode rows"));
	return (call_next(&k->c, BULK_CREATE_SAVE));
}

static int
bulk_create_save(struct http_request *req)
{
	struct bulk_ctx *k = http_state_get(req);
	char		 uid[24];
	const char	*v[4];

	call_uid(&k->c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = k->c.match.params[0];
	v[2] = json_field_str(k->c.body, "purpose");
	v[3] = k->rows;
	switch (db_poll(&k->c,
	    "SELECT status, body FROM bulk_create($1::bigint, "
	    "$2::bigint, $3, $4::jsonb)",
	    4, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(&k->c, "bulk: database error"));
	}
	return (db_status_reply(&k->c, "refused"));
}

/* ------------------------------------------------------------ reads */

static int
bulk_list(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *st, *v[5];
	char	     uid[24], p[24], pp[24];

	st = query_get(&c->qs, "status");
	if (st != NULL && !validate_oneof(st, bulk_statuses))
		problem_field_add(&errs, "status",
		    "draft, submitted, approved, rejected or placed");
	(void)call_paging(c, &errs, p, pp, sizeof(p));
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = st;
	v[3] = p;
	v[4] = pp;
	return (db_status_call(c,
	    "SELECT status, body FROM api_bulk_orders($1::bigint, "
	    "$2::bigint, $3, $4::integer, $5::integer)",
	    5, v, NULL, "refused"));
}

static int
bulk_get(struct http_request *req)
{
	struct call *c = http_state_get(req);
	char	     uid[24];
	const char  *v[3];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = c->match.params[1];
	return (db_status_call(c,
	    "SELECT status, body FROM api_bulk_order($1::bigint, "
	    "$2::bigint, $3::bigint)",
	    3, v, NULL, "refused"));
}

static int
bulk_recipients(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	char	     uid[24], p[24], pp[24];
	const char  *v[5];

	if (!call_paging(c, &errs, p, pp, sizeof(p)))
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = c->match.params[1];
	v[3] = p;
	v[4] = pp;
	return (db_status_call(c,
	    "SELECT status, body FROM api_bulk_recipients($1::bigint, "
	    "$2::bigint, $3::bigint, $4::integer, $5::integer)",
	    5, v, NULL, "refused"));
}

/* ------------------------------------------------------------ CSV */

enum { COL_NAME, COL_PHONE, COL_ADDRESS, COL_PRODUCT, COL_QTY, BULK_NCOLS };

/* The header's names of each column: English, or as Chinese sheets say. */
static const char *const bulk_col_names[BULK_NCOLS][5] = {
	{ "name", "姓名", "收件人", NULL, NULL },
	{ "phone", "电话", "手机", "手机号", NULL },
	{ "address", "地址", "收货地址", NULL, NULL },
	{ "product_id", "商品编号", "商品ID", NULL, NULL },
	{ "qty", "数量", NULL, NULL, NULL },
};

/* A field without the blanks around it, in dst. */
static void
bulk_trim(const char *s, size_t len, char *dst, size_t dstlen)
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

static void
bulk_csv_error(struct bulk_ctx *k, json_t *errs, size_t line, const char *msg)
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
 * Maps the header's columns: col[i] is the position of column i.  Returns
 * 0 with an error (line 1 of the file, or wherever the header is) when a
 * column is missing, repeated or unknown.
 */
static int
bulk_csv_header(
    struct bulk_ctx *k, json_t *errs, const struct csv_record *rec, int *col)
{
	char	    h[BULK_CSV_ROW_MAX + 1], msg[256];
	int	    i, j, n, found;
	const char *nm;

	for (i = 0; i < BULK_NCOLS; i++)
		col[i] = -1;
	for (i = 0; i < rec->nfields && i < CSV_MAX_FIELDS; i++) {
		bulk_trim(rec->field[i], rec->flen[i], h, sizeof(h));
		found = 0;
		for (j = 0; j < BULK_NCOLS && !found; j++) {
			for (n = 0; n < 5 && (nm = bulk_col_names[j][n]); n++) {
				if (strcasecmp(h, nm) != 0)
					continue;
				if (col[j] >= 0) {
					(void)snprintf(msg, sizeof(msg),
					    "bad header: the column %s is "
					    "named twice",
					    bulk_col_names[j][0]);
					bulk_csv_error(k, errs, rec->line, msg);
					return (0);
				}
				col[j] = i;
				found = 1;
				break;
			}
		}
		if (!found) {
			(void)snprintf(msg, sizeof(msg),
			    "bad header: column %d is not one of name, phone, "
			    "address, product_id, qty",
			    i + 1);
			bulk_csv_error(k, errs, rec->line, msg);
			return (0);
		}
	}
	for (j = 0; j < BULK_NCOLS; j++) {
		if (col[j] < 0) {
			(void)snprintf(msg, sizeof(msg),
			    "bad header: the column %s is missing (the header "
			    "names name, phone, address, product_id, qty)",
			    bulk_col_names[j][0]);
			bulk_csv_error(k, errs, rec->line, msg);
			return (0);
		}
	}
	return (1);
}

/* One data row: its checks, and the row for SQL when it has a product. */
static void
bulk_csv_row(struct bulk_ctx *k, json_t *rows, json_t *errs,
    const struct csv_record *rec, const int *col)
{
	char	f[BULK_NCOLS][BULK_CSV_ROW_MAX + 1], field[32];
	int64_t pid = 0, qty = 0;
	int	i, bad = 0, has_pid;
	json_t *row;

	for (i = 0; i < BULK_NCOLS; i++)
		bulk_trim(
		    rec->field[col[i]], rec->flen[col[i]], f[i], sizeof(f[i]));
	if (!validate_text(f[COL_NAME], 1, 50)) {
		bulk_csv_error(k, errs, rec->line,
		    "bad name: 1 to 50 characters of UTF-8 text");
		bad = 1;
	}
	if (!orders_phone_valid(f[COL_PHONE])) {
		bulk_csv_error(k, errs, rec->line,
		    "bad phone: 6 to 20 digits, with an optional leading + "
		    "and dashes");
		bad = 1;
	}
	if (!validate_text(f[COL_ADDRESS], 1, 200)) {
		bulk_csv_error(k, errs, rec->line,
		    "bad address: 1 to 200 characters of UTF-8 text");
		bad = 1;
	}
	has_pid = bulk_posint(f[COL_PRODUCT], BULK_PRODUCT_MAX, &pid);
	if (!has_pid) {
		bulk_csv_error(k, errs, rec->line,
		    "bad product_id: the id of a listed product");
		bad = 1;
	}
	if (!bulk_posint(f[COL_QTY], CART_MAX_QTY, &qty)) {
		bulk_csv_error(k, errs, rec->line,
		    "bad qty: a positive integer from 1 to 9999");
		bad = 1;
	}
	if (!has_pid)
		return;
	(void)snprintf(field, sizeof(field), "line %zu", rec->line);
	if (bad) {
		/* Checked for its product only: nothing is imported. */
		row = json_pack("{s:s, s:I, s:I}", "field", field, "line",
		    (json_int_t)rec->line, "product_id", (json_int_t)pid);
	} else {
		row = bulk_row(field, (int64_t)rec->line, 0, f[COL_NAME],
		    f[COL_PHONE], f[COL_ADDRESS], pid, qty);
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

static const char *
bulk_csv_message(int rc, const struct csv_record *rec, char *buf, size_t len)
{
	switch (rc) {
	case CSV_ERR_TOO_LONG:
		(void)snprintf(buf, len, "row too long: %zu bytes, at most %d",
		    rec->bytes, BULK_CSV_ROW_MAX);
		return (buf);
	case CSV_ERR_FIELDS:
		(void)snprintf(buf, len,
		    "too many columns: %d, the header has %d", rec->nfields,
		    BULK_NCOLS);
		return (buf);
	default: return (csv_error_text(rc));
	}
}

static int
bulk_csv_check(struct http_request *req)
{
	struct bulk_ctx	 *k = http_state_get(req);
	struct csv_reader r;
	struct csv_record rec;
	static char	  out[BULK_CSV_ROW_MAX + CSV_MAX_FIELDS];
	json_t		 *rows, *errs, *e = NULL;
	const char	 *why;
	char		  msg[160], why_buf[96];
	int		  rc, col[BULK_NCOLS], ncols;
	size_t		  nrows;

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
	    BULK_CSV_ROW_MAX, CSV_MAX_FIELDS);
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
		    bulk_csv_message(rc, &rec, why_buf, sizeof(why_buf)));
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
			    "too many rows: at most 10000 lines in one bulk "
			    "order");
			break;
		}
		if (rc != CSV_RECORD) {
			bulk_csv_error(k, errs, rec.line,
			    bulk_csv_message(rc, &rec, msg, sizeof(msg)));
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
	struct bulk_ctx *k = http_state_get(req);
	char		 uid[24], n[24];
	const char	*v[6];

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

/* ------------------------------------------------------------ approval */

static int
bulk_action(struct http_request *req, const char *action, const char *reason)
{
	struct call *c = http_state_get(req);
	char	     uid[24];
	const char  *v[5];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = c->match.params[1];
	v[3] = action;
	v[4] = reason;
	return (db_status_call(c,
	    "SELECT status, body FROM bulk_action($1::bigint, "
	    "$2::bigint, $3::bigint, $4, $5)",
	    5, v, NULL, "refused"));
}

static int
bulk_submit(struct http_request *req)
{
	return (bulk_action(req, "submit", NULL));
}

static int
bulk_approve(struct http_request *req)
{
	return (bulk_action(req, "approve", NULL));
}

static int
bulk_reject(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *reason;

	reason = json_field_str(c->body, "reason");
	if (!validate_text(reason, 1, 500)) {
		problem_field_add(&errs, "reason", "1 to 500 characters");
		return (problem_validation(c, errs));
	}
	return (bulk_action(req, "reject", reason));
}

/* ------------------------------------------------------------ placement */

static int
bulk_place_check(struct http_request *req)
{
	struct bulk_ctx *k = http_state_get(req);
	json_t		*errs = NULL;
	int		 rc;

	rc = idem_key(&k->c, k->key, sizeof(k->key), k->hash);
	if (rc < 0) {
		problem_field_add(
		    &errs, "Idempotency-Key", "1 to 128 printable characters");
		return (problem_validation(&k->c, errs));
	}
	k->has_key = rc;
	(void)snprintf(k->route, sizeof(k->route),
	    "POST /orgs/%lld/bulk-orders/%lld/place",
	    (long long)k->c.match.ids[0], (long long)k->c.match.ids[1]);
	return (
	    call_next(&k->c, k->has_key ? BULK_PLACE_IDEM : BULK_PLACE_QUOTE));
}

/* A key seen before answers at once. */
static int
bulk_place_idem(struct http_request *req)
{
	struct bulk_ctx *k = http_state_get(req);

	return (
	    idem_replay(&k->c, k->route, k->key, k->hash, BULK_PLACE_QUOTE));
}

/*
 * Prices the placement as checkout does: orders_price() over the
 * recipients' lines, each at the unit price of its product's total, with
 * the fee rules; the lines keep their recipient.
 */
static int
bulk_place_quote(struct http_request *req)
{
	struct bulk_ctx *k = http_state_get(req);
	json_t		*in, *short_lines, *ql, *l;
	const char	*st, *v[3];
	char		 uid[24];
	size_t		 i;

	call_uid(&k->c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = k->c.match.params[0];
	v[2] = k->c.match.params[1];
	switch (db_poll(&k->c,
	    "SELECT status, body FROM bulk_place_input($1::bigint, "
	    "$2::bigint, $3::bigint)",
	    3, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(&k->c, "bulk: database error"));
	}
	if ((st = db_value(&k->c, 0, 0)) == NULL || atoi(st) != 200)
		return (db_status_reply(&k->c, "refused"));
	if ((in = db_json(&k->c, 0, 1)) == NULL)
		return (problem_internal(&k->c, "bulk: bad placement input"));

	short_lines = NULL;
	if (k->order != NULL)
		json_decref(k->order);
	k->order = orders_price(json_object_get(in, "quote"),
	    json_object_get(in, "items"), &short_lines);
	if (short_lines != NULL) {
		json_decref(in);
		return (problem_fields(&k->c, 409, "insufficient_stock",
		    "some lines are short of stock; nothing was taken",
		    short_lines));
	}
	if (k->order == NULL) {
		json_decref(in);
		return (problem_internal(&k->c, "bulk: cannot price"));
	}
	ql = json_object_get(json_object_get(in, "quote"), "lines");
	json_array_foreach(json_object_get(k->order, "lines"), i, l)
	{
		json_object_set(l, "recipient_id",
		    json_object_get(json_array_get(ql, i), "recipient_id"));
	}
	json_object_set_new(
	    k->order, "pay_timeout_s", json_integer(cfg.order_pay_timeout));
	json_decref(in);
	db_reset(&k->c.db);
	return (call_next(&k->c, BULK_PLACE_WRITE));
}

static int
bulk_id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * The placement took stock: caches everywhere drop its products' pages
 * and mark their cart facts stale, as after a checkout (each product once).
 */
static void
bulk_stock_moved(json_t *lines)
{
	int64_t *ids;
	json_t	*l;
	size_t	 i, n, m;

	if ((n = json_array_size(lines)) == 0)
		return;
	ids = kore_calloc(n, sizeof(*ids));
	json_array_foreach(lines, i, l) ids[i] =
	    json_integer_value(json_object_get(l, "product_id"));
	qsort(ids, n, sizeof(*ids), bulk_id_cmp);
	for (i = 1, m = 1; i < n; i++) {
		if (ids[i] != ids[m - 1])
			ids[m++] = ids[i];
	}
	invalidate_stock(ids, m);
	kore_free(ids);
}

static int
bulk_place_write(struct http_request *req)
{
	struct bulk_ctx *k = http_state_get(req);
	char		 uid[24], *s;
	const char	*v[7], *st, *body;
	int		 rc;

	call_uid(&k->c, uid, sizeof(uid));
	s = json_dumps(k->order, JSON_COMPACT);
	v[0] = uid;
	v[1] = k->c.match.params[0];
	v[2] = k->c.match.params[1];
	v[3] = k->route;
	v[4] = k->has_key ? k->key : NULL;
	v[5] = k->hash;
	v[6] = s;
	rc = db_poll(&k->c,
	    "SELECT status, body FROM bulk_place($1::bigint, $2::bigint, "
	    "$3::bigint, $4, $5, $6, $7::jsonb)",
	    7, v);
	free(s);
	switch (rc) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(&k->c, "bulk: database error"));
	}
	st = db_value(&k->c, 0, 0);
	body = db_value(&k->c, 0, 1);
	if (st != NULL && orders_stale(atoi(st), body)) {
		/* Something moved since pricing: price again. */
		if (++k->attempts >= BULK_MAX_ATTEMPTS)
			return (problem(&k->c, 409, "conflict",
			    "the catalog changed during placement; try again"));
		db_reset(&k->c.db);
		return (call_next(&k->c, BULK_PLACE_QUOTE));
	}
	if (st != NULL && atoi(st) == 201)
		bulk_stock_moved(json_object_get(k->order, "lines"));
	return (db_status_reply(&k->c, "refused"));
}

/* ------------------------------------------------------------ payment */

static int
bulk_pay(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *prov, *v[7];
	char	     uid[24], key[130], hash[65], route[96];
	int	     has, ps;

	prov = json_field_str(c->body, "provider");
	if ((ps = payment_provider_state(prov)) == PROVIDER_UNKNOWN)
		problem_field_add(&errs, "provider", "sandbox");
	if ((has = idem_key(c, key, sizeof(key), hash)) < 0)
		problem_field_add(
		    &errs, "Idempotency-Key", "1 to 128 printable characters");
	if (errs != NULL)
		return (problem_validation(c, errs));
	if (ps == PROVIDER_OFF)
		return (payment_unavailable(c));
	call_uid(c, uid, sizeof(uid));
	(void)snprintf(route, sizeof(route),
	    "POST /orgs/%lld/bulk-orders/%lld/payments",
	    (long long)c->match.ids[0], (long long)c->match.ids[1]);
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = c->match.params[1];
	v[3] = prov;
	v[4] = route;
	v[5] = has ? key : NULL;
	v[6] = hash;
	return (db_status_call(c,
	    "SELECT status, body FROM bulk_create_payment($1::bigint, "
	    "$2::bigint, $3::bigint, $4, $5, $6, $7)",
	    7, v, NULL, "refused"));
}

/* The vendor's delivery list for its part of a bulk order. */
static int
bulk_vendor_recipients(struct http_request *req)
{
	struct call *c = http_state_get(req);
	char	     uid[24];
	const char  *v[2];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	return (db_status_call(c,
	    "SELECT status, body FROM api_vendor_part_recipients("
	    "$1::bigint, $2::bigint)",
	    2, v, NULL, "refused"));
}

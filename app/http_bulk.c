/*
 * http_bulk: an organisation's 以购代捐 bulk orders: drafts with many
 * recipients in a JSON body, and the reads (the list, one bulk order,
 * its recipients).  The CSV import is app/http_bulk_csv.c; submission,
 * approval, placement and payment are app/http_bulk_place.c.  The rules
 * of each step are in 005_orgs.sql.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "bulk.h"
#include "cart.h"
#include "orders.h"
#include "validate.h"

#define BULK_MAX_LINES	   50 /* lines of one recipient in JSON */
#define BULK_NAME_CHARS	   50 /* a recipient's name */
#define BULK_ADDRESS_CHARS 200
#define BULK_SESSION_QTY   20 /* places one line books */

/* A draft from a JSON body: its recipients' lines, JSON text for SQL. */
struct bulk_create_ctx {
	struct call c;
	char	   *rows;
};

static int  bulk_create_check(struct http_request *);
static int  bulk_create_save(struct http_request *);
static int  bulk_list(struct http_request *);
static int  bulk_get(struct http_request *);
static int  bulk_recipients(struct http_request *);
static void bulk_create_cleanup(struct call *);

enum bulk_create_state { BULK_CREATE_CHECK, BULK_CREATE_SAVE };
static struct http_state bulk_create_states[] = {
	[BULK_CREATE_CHECK] = { "BULK_CREATE_CHECK", bulk_create_check },
	[BULK_CREATE_SAVE] = { "BULK_CREATE_SAVE", bulk_create_save },
};
ONE(bulk_list_states, bulk_list);
ONE(bulk_get_states, bulk_get);
ONE(bulk_recipients_states, bulk_recipients);

struct api_route routes_bulk[] = {
	{ HTTP_METHOD_POST, "/orgs/{#id}/bulk-orders", "bulk_create",
	    AUTH_USER | BODY_JSON, STATES(bulk_create_states),
	    sizeof(struct bulk_create_ctx), bulk_create_cleanup },
	{ HTTP_METHOD_GET, "/orgs/{#id}/bulk-orders", "bulk_list", AUTH_USER,
	    STATES(bulk_list_states), 0, NULL },
	{ HTTP_METHOD_GET, BULK, "bulk", AUTH_USER, STATES(bulk_get_states), 0,
	    NULL },
	{ HTTP_METHOD_GET, BULK "/recipients", "bulk_recipients", AUTH_USER,
	    STATES(bulk_recipients_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static const char *const bulk_purposes[] = { "welfare", "meeting_supply",
	"canteen", "other", NULL };
static const char *const bulk_statuses[] = { "draft", "submitted", "approved",
	"rejected", "placed", NULL };

static void
bulk_create_cleanup(struct call *c)
{
	struct bulk_create_ctx *k = (struct bulk_create_ctx *)c;

	free(k->rows);
	k->rows = NULL;
}

/* One recipient's line as SQL's bulk_fill() takes it. */
json_t *
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
		(json_is_integer(qj) &&
		    json_integer_value(qj) > BULK_SESSION_QTY))) {
		(void)snprintf(f, sizeof(f),
		    "recipients[%zu].lines[%zu].session_id", i, j);
		problem_field_add(errs, f,
		    "a session id, with qty at most " TEXT(
			BULK_SESSION_QTY) " places");
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
		problem_field_range(errs, f, "an integer", 1, CART_MAX_QTY);
		ok = 0;
	}
	name = json_field_str(rcp, "name");
	phone = json_field_str(rcp, "phone");
	address = json_field_str(rcp, "address");
	if (!ok || !validate_text(name, 1, BULK_NAME_CHARS) ||
	    !orders_phone_valid(phone) ||
	    !validate_text(address, 1, BULK_ADDRESS_CHARS))
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
	struct bulk_create_ctx *k = http_state_get(req);
	json_t		       *errs = NULL, *rcps, *rcp, *lines, *ln, *rows;
	const char	       *purpose;
	char			f[48];
	size_t			i, j, nrows;

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
		if (!validate_text(
			json_field_str(rcp, "name"), 1, BULK_NAME_CHARS)) {
			(void)snprintf(f, sizeof(f), "recipients[%zu].name", i);
			problem_field_chars(&errs, f, 1, BULK_NAME_CHARS);
		}
		if (!orders_phone_valid(json_field_str(rcp, "phone"))) {
			(void)snprintf(
			    f, sizeof(f), "recipients[%zu].phone", i);
			problem_field_add(&errs, f, "a phone number");
		}
		if (!validate_text(json_field_str(rcp, "address"), 1,
			BULK_ADDRESS_CHARS)) {
			(void)snprintf(
			    f, sizeof(f), "recipients[%zu].address", i);
			problem_field_chars(&errs, f, 1, BULK_ADDRESS_CHARS);
		}
		lines = json_object_get(rcp, "lines");
		if (!json_is_array(lines) || json_array_size(lines) < 1 ||
		    json_array_size(lines) > BULK_MAX_LINES) {
			(void)snprintf(
			    f, sizeof(f), "recipients[%zu].lines", i);
			problem_field_add(
			    &errs, f, "1 to " TEXT(BULK_MAX_LINES) " lines");
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
		    "at most " TEXT(
			BULK_MAX_ROWS) " lines in all (send a CSV file)");
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
	struct bulk_create_ctx *k = http_state_get(req);
	char			uid[24];
	const char	       *v[4];

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

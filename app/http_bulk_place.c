/*
 * http_bulk_place: a bulk order's way from draft to paid: submission,
 * approval or rejection, placement into one order per vendor priced as at
 * checkout (orders_price(), with the fee rules), keyed by an optional
 * Idempotency-Key (app/idem.c), and one payment for all its orders.  The
 * rules of each step are in 005_orgs.sql.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "invalidate.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "bulk.h"
#include "idem.h"
#include "orders.h"
#include "validate.h"

#define BULK_MAX_ATTEMPTS 3
#define BULK_REASON_CHARS 500 /* a rejection's reason */

/* A placement: its key, its route for the key, and the priced orders. */
struct bulk_place_ctx {
	struct call c;
	struct idem idem;
	char	    route[96];
	int	    attempts;
	json_t	   *order; /* the priced placement */
};

static int  bulk_submit(struct http_request *);
static int  bulk_approve(struct http_request *);
static int  bulk_reject(struct http_request *);
static int  bulk_place_check(struct http_request *);
static int  bulk_place_idem(struct http_request *);
static int  bulk_place_quote(struct http_request *);
static int  bulk_place_write(struct http_request *);
static int  bulk_pay(struct http_request *);
static void bulk_place_cleanup(struct call *);

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
ONE(bulk_submit_states, bulk_submit);
ONE(bulk_approve_states, bulk_approve);
ONE(bulk_reject_states, bulk_reject);
ONE(bulk_pay_states, bulk_pay);

struct api_route routes_bulk_place[] = {
	{ HTTP_METHOD_POST, BULK "/submit", "bulk_submit", AUTH_USER,
	    STATES(bulk_submit_states), 0, NULL },
	{ HTTP_METHOD_POST, BULK "/approve", "bulk_approve", AUTH_USER,
	    STATES(bulk_approve_states), 0, NULL },
	{ HTTP_METHOD_POST, BULK "/reject", "bulk_reject",
	    AUTH_USER | BODY_JSON, STATES(bulk_reject_states), 0, NULL },
	{ HTTP_METHOD_POST, BULK "/place", "bulk_place", AUTH_USER,
	    STATES(bulk_place_states), sizeof(struct bulk_place_ctx),
	    bulk_place_cleanup },
	{ HTTP_METHOD_POST, BULK "/payments", "bulk_pay", AUTH_USER | BODY_JSON,
	    STATES(bulk_pay_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static void
bulk_place_cleanup(struct call *c)
{
	struct bulk_place_ctx *k = (struct bulk_place_ctx *)c;

	if (k->order != NULL)
		json_decref(k->order);
	k->order = NULL;
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
	if (!validate_text(reason, 1, BULK_REASON_CHARS)) {
		problem_field_chars(&errs, "reason", 1, BULK_REASON_CHARS);
		return (problem_validation(c, errs));
	}
	return (bulk_action(req, "reject", reason));
}

/* ------------------------------------------------------------ placement */

static int
bulk_place_check(struct http_request *req)
{
	struct bulk_place_ctx *k = http_state_get(req);
	json_t		      *errs = NULL;

	if (!idem_read(&k->c, &k->idem, &errs))
		return (problem_validation(&k->c, errs));
	(void)snprintf(k->route, sizeof(k->route),
	    "POST /orgs/%lld/bulk-orders/%lld/place",
	    (long long)k->c.match.ids[0], (long long)k->c.match.ids[1]);
	return (
	    call_next(&k->c, k->idem.has ? BULK_PLACE_IDEM : BULK_PLACE_QUOTE));
}

/* A key seen before answers at once. */
static int
bulk_place_idem(struct http_request *req)
{
	struct bulk_place_ctx *k = http_state_get(req);

	return (idem_replay(&k->c, k->route, &k->idem, BULK_PLACE_QUOTE));
}

/*
 * Prices the placement as checkout does: orders_price() over the
 * recipients' lines, each at the unit price of its product's total, with
 * the fee rules; the lines keep their recipient.
 */
static int
bulk_place_quote(struct http_request *req)
{
	struct bulk_place_ctx *k = http_state_get(req);
	json_t		      *in, *short_lines, *ql, *l;
	const char	      *st, *v[3];
	char		       uid[24];
	size_t		       i;

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
	struct bulk_place_ctx *k = http_state_get(req);
	char		       uid[24], *s;
	const char	      *v[7], *st, *body;
	int		       rc;

	call_uid(&k->c, uid, sizeof(uid));
	s = json_dumps(k->order, JSON_COMPACT);
	v[0] = uid;
	v[1] = k->c.match.params[0];
	v[2] = k->c.match.params[1];
	v[3] = k->route;
	v[4] = k->idem.has ? k->idem.key : NULL;
	v[5] = k->idem.hash;
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
	struct idem  idem;
	char	     uid[24], route[96];
	int	     ps;

	prov = json_field_str(c->body, "provider");
	if ((ps = payment_provider_state(prov)) == PROVIDER_UNKNOWN)
		problem_field_add(&errs, "provider", "sandbox");
	(void)idem_read(c, &idem, &errs);
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
	v[5] = idem.has ? idem.key : NULL;
	v[6] = idem.hash;
	return (db_status_call(c,
	    "SELECT status, body FROM bulk_create_payment($1::bigint, "
	    "$2::bigint, $3::bigint, $4, $5, $6, $7)",
	    7, v, NULL, "refused"));
}

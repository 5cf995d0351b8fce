/*
 * http_vendor: the vendor console's order side: its parts of orders, the
 * shipping of a paid part, and its fee statement.  A vendor reaches only
 * its own parts: another's is 404.
 */

#include <stdlib.h>
#include <string.h>

#include "bangfu.h"
#include "order_fsm.h"
#include "orders.h"
#include "validate.h"

static int vendor_orders(struct http_request *);
static int vendor_ship(struct http_request *);
static int vendor_statement(struct http_request *);

#define STATES(s)     s, (sizeof(s) / sizeof(s[0]))
#define ONE(name, fn) static struct http_state name[] = { { #fn, fn } }

ONE(vendor_orders_states, vendor_orders);
ONE(vendor_ship_states, vendor_ship);
ONE(vendor_statement_states, vendor_statement);

struct api_route routes_vendor[] = {
	{ HTTP_METHOD_GET, "/vendor/orders", "vendor_orders", AUTH_VENDOR,
	    STATES(vendor_orders_states), 0, NULL },
	{ HTTP_METHOD_POST, "/vendor/orders/{#id}/ship", "vendor_ship",
	    AUTH_VENDOR | BODY_JSON, STATES(vendor_ship_states), 0, NULL },
	{ HTTP_METHOD_GET, "/vendor/statement", "vendor_statement", AUTH_VENDOR,
	    STATES(vendor_statement_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static int
vendor_orders(struct http_request *req)
{
	static const char *const states[] = { "pending", "paid", "shipped",
		"cancelled", "refunded", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL;
	const char		*st, *v[4];
	int64_t			 page, per;
	char			 uid[24], p[24], pp[24];

	page = 1;
	per = 20;
	st = query_get(&c->qs, "status");
	if (st != NULL && !validate_oneof(st, states))
		problem_field_add(&errs, "status", "a part status");
	if (query_int(&c->qs, "page", 1, 100000, &page) == QUERY_INVALID)
		problem_field_add(&errs, "page", "an integer from 1");
	if (query_int(&c->qs, "per_page", 1, 100, &per) == QUERY_INVALID)
		problem_field_add(
		    &errs, "per_page", "an integer from 1 to 100");
	if (errs != NULL)
		return (problem_validation(c, errs));
	(void)snprintf(uid, sizeof(uid), "%lld", (long long)c->who.uid);
	(void)snprintf(p, sizeof(p), "%lld", (long long)page);
	(void)snprintf(pp, sizeof(pp), "%lld", (long long)per);
	v[0] = uid;
	v[1] = st;
	v[2] = p;
	v[3] = pp;
	switch (db_poll(c,
	    "SELECT api_vendor_orders($1::bigint, $2, "
	    "$3::integer, $4::integer)",
	    4, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "vendor: database error"));
	}
	return (db_json_reply(c, 200));
}

static int
vendor_ship(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *carrier, *tracking, *v[6];
	char	     uid[24], *pm, *om;
	int	     rc;

	carrier = json_field_str(c->body, "carrier");
	tracking = json_field_str(c->body, "tracking_no");
	if (!validate_text(carrier, 1, 50))
		problem_field_add(&errs, "carrier", "1 to 50 characters");
	if (!validate_text(tracking, 1, 64))
		problem_field_add(&errs, "tracking_no", "1 to 64 characters");
	if (errs != NULL)
		return (problem_validation(c, errs));
	(void)snprintf(uid, sizeof(uid), "%lld", (long long)c->who.uid);
	pm = fsm_map(1, EV_SHIP);
	om = fsm_map(0, EV_SHIP_ALL);
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = carrier;
	v[3] = tracking;
	v[4] = pm;
	v[5] = om;
	rc = db_poll(c,
	    "SELECT status, body FROM vendor_ship($1::bigint, "
	    "$2::bigint, $3, $4, $5::jsonb, $6::jsonb)",
	    6, v);
	free(pm);
	free(om);
	switch (rc) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "vendor: database error"));
	}
	return (orders_sql_reply(c, "only paid parts ship"));
}

static int
vendor_statement(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	char	     uid[24], from[11], to[11];
	const char  *v[3];

	(void)snprintf(from, sizeof(from), "1970-01-01");
	(void)snprintf(to, sizeof(to), "9999-12-31");
	if (query_date(&c->qs, "from", from) == QUERY_INVALID)
		problem_field_add(&errs, "from", "a date YYYY-MM-DD");
	if (query_date(&c->qs, "to", to) == QUERY_INVALID)
		problem_field_add(&errs, "to", "a date YYYY-MM-DD");
	if (errs == NULL && strcmp(from, to) > 0)
		problem_field_add(&errs, "to", "not before from");
	if (errs != NULL)
		return (problem_validation(c, errs));
	(void)snprintf(uid, sizeof(uid), "%lld", (long long)c->who.uid);
	v[0] = uid;
	v[1] = from;
	v[2] = to;
	switch (db_poll(c,
	    "SELECT api_vendor_statement($1::bigint, $2::date, "
	    "$3::date)",
	    3, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "vendor: database error"));
	}
	return (db_json_reply(c, 200));
}

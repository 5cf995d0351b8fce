/*
 * http_vendor: the vendor console's order side: its parts of orders, the
 * shipping of a paid part, the delivery list of a bulk order's part, its
 * fee statement, and its application and profile (its listings are
 * app/http_vendor_products.c).  A vendor reaches only its own parts:
 * another's is 404.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "creditcode.h"
#include "order_fsm.h"
#include "orders.h"
#include "validate.h"
#include "vendor_check.h"

#define CARRIER_CHARS	  50
#define TRACKING_NO_CHARS 64
#define CREDIT_CODE_WORDS \
	"an " TEXT(CREDITCODE_LEN) "-character unified social credit code"

static int vendor_orders(struct http_request *);
static int vendor_ship(struct http_request *);
static int vendor_statement(struct http_request *);
static int vendor_profile(struct http_request *);
static int vendor_apply(struct http_request *);
static int vendor_part_recipients(struct http_request *);

ONE(vendor_orders_states, vendor_orders);
ONE(vendor_ship_states, vendor_ship);
ONE(vendor_statement_states, vendor_statement);
ONE(vendor_profile_states, vendor_profile);
ONE(vendor_apply_states, vendor_apply);
ONE(vendor_part_recipients_states, vendor_part_recipients);

/* The refusals of the vendor's own functions (006_vendors.sql). */
const struct code_detail vendor_details[] = {
	{ "vendor_exists", "this account has applied as a vendor already" },
	{ "credit_code_taken", "a vendor with this credit code exists" },
	{ "vendor_not_approved",
	    "the vendor is not approved: it cannot publish" },
	{ "no_vendor", "no vendor profile: apply first (POST /vendors)" },
	{ "batch_exists", "this product has a batch with this code" },
	{ NULL, NULL },
};

struct api_route routes_vendor[] = {
	{ HTTP_METHOD_GET, "/vendor/orders", "vendor_orders", AUTH_VENDOR,
	    STATES(vendor_orders_states), 0, NULL },
	{ HTTP_METHOD_POST, "/vendor/orders/{#id}/ship", "vendor_ship",
	    AUTH_VENDOR | BODY_JSON, STATES(vendor_ship_states), 0, NULL },
	{ HTTP_METHOD_GET, "/vendor/statement", "vendor_statement", AUTH_VENDOR,
	    STATES(vendor_statement_states), 0, NULL },
	{ HTTP_METHOD_GET, "/vendor/profile", "vendor_profile", AUTH_VENDOR,
	    STATES(vendor_profile_states), 0, NULL },
	{ HTTP_METHOD_POST, "/vendors", "vendor_apply", AUTH_VENDOR | BODY_JSON,
	    STATES(vendor_apply_states), 0, NULL },
	{ HTTP_METHOD_GET, "/vendor/orders/{#id}/recipients",
	    "vendor_part_recipients", AUTH_VENDOR,
	    STATES(vendor_part_recipients_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static int
vendor_orders(struct http_request *req)
{
	static const char *const states[] = { "pending", "paid", "shipped",
		"cancelled", "refunded", NULL };

	return (db_json_page(http_state_get(req),
	    "SELECT api_vendor_orders($1::bigint, $2, "
	    "$3::integer, $4::integer)",
	    states, "a part status"));
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
	if (!validate_text(carrier, 1, CARRIER_CHARS))
		problem_field_chars(&errs, "carrier", 1, CARRIER_CHARS);
	if (!validate_text(tracking, 1, TRACKING_NO_CHARS))
		problem_field_chars(&errs, "tracking_no", 1, TRACKING_NO_CHARS);
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
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
	return (db_status_reply(c, "only paid parts ship"));
}

/* The vendor's delivery list for its part of a bulk order. */
static int
vendor_part_recipients(struct http_request *req)
{
	return (db_status_mine(http_state_get(req),
	    "SELECT status, body FROM api_vendor_part_recipients("
	    "$1::bigint, $2::bigint)",
	    NULL, NULL, "refused"));
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
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = from;
	v[2] = to;
	return (db_json_call(c,
	    "SELECT api_vendor_statement($1::bigint, $2::date, "
	    "$3::date)",
	    3, v));
}

/*
 * The vendor's own record: review, qualification, credit and their events
 * (404 before it applies).  Read by the signed-in user's id only.
 */
static int
vendor_profile(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[1];
	char	     uid[24];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	return (db_json_call(c, "SELECT api_vendor_profile($1::bigint)", 1, v));
}

/* Validates the fields of an application (POST /vendors). */
static int
vendor_apply(struct http_request *req)
{
	static const char *const kinds[] = { "enterprise", "cooperative",
		"individual", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL;
	const char		*cc, *v[2];
	char			 uid[24], *s;
	int			 rc;

	vendor_text(c->body, "name", 2, 100, 1, &errs);
	if (!validate_oneof(json_field_str(c->body, "kind"), kinds))
		problem_field_add(
		    &errs, "kind", "enterprise, cooperative or individual");
	vendor_text(c->body, "county_code", 1, 40, 1, &errs);
	cc = json_field_str(c->body, "credit_code");
	if (!creditcode_valid(cc))
		problem_field_add(&errs, "credit_code", CREDIT_CODE_WORDS);
	(void)vendor_int(c->body, "poor_households_linked", 0, 1000000, 1,
	    &errs, "a non-negative integer");
	vendor_text(c->body, "description", 0, 2000, 0, &errs);
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	s = json_dumps(c->body, JSON_COMPACT);
	v[0] = uid;
	v[1] = s;
	rc = db_status_call(c,
	    "SELECT status, body FROM vendor_apply("
	    "$1::bigint, $2::jsonb)",
	    2, v, NULL, "application refused");
	free(s);
	return (rc);
}

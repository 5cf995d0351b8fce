/*
 * http_admin_fees: the operators' fee rules (role admin; anyone else 403),
 * kept as data with their history.  Checkouts price from cached rules, so
 * a saved rule empties the caches.
 */

#include <stdlib.h>
#include <string.h>

#include "admin_check.h"
#include "api.h"
#include "db.h"
#include "invalidate.h"
#include "problem.h"
#include "routes.h"
#include "validate.h"

/* A rate in basis points: 0 to 100 %. */
#define FEE_BPS_MAX	 10000
#define FEE_PRIORITY_MAX 1000000
#define FEE_CAP_FEN_MAX	 100000000000LL

static int fee_rules_list(struct http_request *);
static int fee_rule_create(struct http_request *);
static int fee_rule_update(struct http_request *);
static int fee_rule_history(struct http_request *);

ONE(fee_rules_states, fee_rules_list);
ONE(fee_rule_create_states, fee_rule_create);
ONE(fee_rule_update_states, fee_rule_update);
ONE(fee_rule_history_states, fee_rule_history);

#define A  AUTH_ADMIN
#define AJ (AUTH_ADMIN | BODY_JSON)

/* clang-format off */
struct api_route routes_admin_fees[] = {
	{ HTTP_METHOD_GET, "/admin/fee-rules", "admin_fee_rules", A,
	    STATES(fee_rules_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/fee-rules", "admin_fee_rule_create", AJ,
	    STATES(fee_rule_create_states), 0, NULL },
	{ HTTP_METHOD_PATCH, "/admin/fee-rules/{#id}", "admin_fee_rule_update",
	    AJ, STATES(fee_rule_update_states), 0, NULL },
	{ HTTP_METHOD_GET, "/admin/fee-rules/{#id}/history",
	    "admin_fee_rule_history", A, STATES(fee_rule_history_states), 0,
	    NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};
/* clang-format on */

/* The rule's fields as the contract names them; create requires some. */
static json_t *
fee_rule_check(json_t *b, int create)
{
	static const char *const kinds[] = { "enterprise", "cooperative",
		"individual", NULL };
	static const char *const keys[] = { "name", "commission_bps",
		"waiver_bps", "match", "cap_fen_per_month", "valid_from",
		"valid_to", "priority", NULL };
	json_t			*errs = NULL, *m, *v;
	const char		*k;
	int			 known;

	json_object_foreach(b, k, v)
	{
		known = validate_oneof(k, keys);
		if (!known)
			problem_field_add(&errs, k, "unknown field");
	}
	admin_name(b, "name", create, &errs);
	(void)admin_int(
	    b, "commission_bps", 0, FEE_BPS_MAX, create, &errs, NULL);
	(void)admin_int(b, "waiver_bps", 0, FEE_BPS_MAX, 0, &errs, NULL);
	(void)admin_int(b, "priority", -FEE_PRIORITY_MAX, FEE_PRIORITY_MAX, 0,
	    &errs, "an integer");
	v = json_object_get(b, "cap_fen_per_month");
	if (v != NULL && !json_is_null(v))
		(void)admin_int(b, "cap_fen_per_month", 0, FEE_CAP_FEN_MAX, 0,
		    &errs, "null or a non-negative integer");
	admin_period(b, "valid_from", "valid_to", 0, 1, &errs);
	if ((m = json_object_get(b, "match")) != NULL) {
		if (!json_is_object(m)) {
			problem_field_add(&errs, "match", "an object");
		} else {
			json_object_foreach(m, k, v)
			{
				if ((strcmp(k, "qualified") == 0 ||
					strcmp(k, "poverty_county") == 0) &&
				    json_is_boolean(v))
					continue;
				if (strcmp(k, "vendor_kind") == 0 &&
				    validate_oneof(json_string_value(v), kinds))
					continue;
				if (admin_code_field(k, v))
					continue;
				problem_field_add(&errs, "match",
				    "qualified, poverty_county (booleans), "
				    "vendor_kind, region, category");
				break;
			}
		}
	}
	if (!create && json_object_size(b) == 0)
		problem_field_add(&errs, "body", "at least one field");
	return (errs);
}

static int
fee_rules_list(struct http_request *req)
{
	struct call *c = http_state_get(req);

	return (db_json_call(c, "SELECT api_fee_rules()", 0, NULL));
}

static int
fee_rule_save(struct http_request *req, int create)
{
	struct call *c = http_state_get(req);
	json_t	    *errs;

	if ((errs = fee_rule_check(c->body, create)) != NULL)
		return (problem_validation(c, errs));
	/* Checkouts price from cached rules: every worker reads them again. */
	return (db_status_save(c,
	    "SELECT status, body FROM fee_rule_save($1::bigint, "
	    "$2::jsonb, $3::bigint)",
	    create, invalidate_catalog, "no such rule"));
}

static int
fee_rule_create(struct http_request *req)
{
	return (fee_rule_save(req, 1));
}

static int
fee_rule_update(struct http_request *req)
{
	return (fee_rule_save(req, 0));
}

/* Every saved version of a rule, newest first (404 for no such rule). */
static int
fee_rule_history(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[1];

	v[0] = c->match.params[0];
	return (
	    db_json_call(c, "SELECT api_fee_rule_history($1::bigint)", 1, v));
}

/*
 * http_admin: the operators' routes (role admin; anyone else 403): the
 * fee-waiver rules, kept as data with their history.
 */

#include <stdlib.h>
#include <string.h>

#include "bangfu.h"
#include "orders.h"
#include "validate.h"

static int fee_rules_list(struct http_request *);
static int fee_rule_create(struct http_request *);
static int fee_rule_update(struct http_request *);

#define STATES(s)     s, (sizeof(s) / sizeof(s[0]))
#define ONE(name, fn) static struct http_state name[] = { { #fn, fn } }

ONE(fee_rules_states, fee_rules_list);
ONE(fee_rule_create_states, fee_rule_create);
ONE(fee_rule_update_states, fee_rule_update);

struct api_route routes_admin[] = { { HTTP_METHOD_GET, "/admin/fee-rules",
					"admin_fee_rules", AUTH_ADMIN,
					STATES(fee_rules_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/fee-rules", "admin_fee_rule_create",
	    AUTH_ADMIN | BODY_JSON, STATES(fee_rule_create_states), 0, NULL },
	{ HTTP_METHOD_PATCH, "/admin/fee-rules/{#id}", "admin_fee_rule_update",
	    AUTH_ADMIN | BODY_JSON, STATES(fee_rule_update_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL } };

static int
admin_int(json_t *body, const char *name, int64_t min, int64_t max,
    int required, json_t **errs, const char *msg)
{
	json_t *v;

	if ((v = json_object_get(body, name)) == NULL) {
		if (required)
			problem_field_add(errs, name, msg);
		return (0);
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		problem_field_add(errs, name, msg);
		return (0);
	}
	return (1);
}

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
	if ((v = json_object_get(b, "name")) != NULL || create) {
		if (!json_is_string(v) ||
		    !validate_text(json_string_value(v), 1, 100))
			problem_field_add(&errs, "name", "1 to 100 characters");
	}
	(void)admin_int(b, "commission_bps", 0, 10000, create, &errs,
	    "an integer from 0 to 10000");
	(void)admin_int(
	    b, "waiver_bps", 0, 10000, 0, &errs, "an integer from 0 to 10000");
	(void)admin_int(
	    b, "priority", -1000000, 1000000, 0, &errs, "an integer");
	v = json_object_get(b, "cap_fen_per_month");
	if (v != NULL && !json_is_null(v))
		(void)admin_int(b, "cap_fen_per_month", 0, 100000000000LL, 0,
		    &errs, "null or a non-negative integer");
	if ((v = json_object_get(b, "valid_from")) != NULL &&
	    !json_is_string(v))
		problem_field_add(&errs, "valid_from", "an RFC 3339 time");
	if ((v = json_object_get(b, "valid_to")) != NULL &&
	    !json_is_string(v) && !json_is_null(v))
		problem_field_add(
		    &errs, "valid_to", "null or an RFC 3339 time");
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
				if ((strcmp(k, "region") == 0 ||
					strcmp(k, "category") == 0) &&
				    json_is_string(v) &&
				    validate_text(json_string_value(v), 1, 32))
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

	switch (db_poll(c, "SELECT api_fee_rules()", 0, NULL)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "admin: database error"));
	}
	return (db_json_reply(c, 200));
}

static int
fee_rule_save(struct http_request *req, int create)
{
	struct call *c = http_state_get(req);
	json_t	    *errs;
	char	     uid[24], *s;
	const char  *v[3];
	int	     rc;

	if ((errs = fee_rule_check(c->body, create)) != NULL)
		return (problem_validation(c, errs));
	(void)snprintf(uid, sizeof(uid), "%lld", (long long)c->who.uid);
	s = json_dumps(c->body, JSON_COMPACT);
	v[0] = create ? NULL : c->match.params[0];
	v[1] = s;
	v[2] = uid;
	rc = db_poll(c,
	    "SELECT status, body FROM fee_rule_save($1::bigint, "
	    "$2::jsonb, $3::bigint)",
	    3, v);
	free(s);
	switch (rc) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "admin: database error"));
	}
	return (orders_sql_reply(c, "no such rule"));
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

/*
 * http_admin: the operators' routes (role admin; anyone else 403): fee
 * and boost rules, kept as data with their history; vendor review and
 * credit; campaigns; 百县百品.  Catalog writes empty the caches.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bangfu.h"
#include "orders.h"
#include "timefmt.h"
#include "validate.h"

static int fee_rules_list(struct http_request *);
static int fee_rule_create(struct http_request *);
static int fee_rule_update(struct http_request *);
static int fee_rule_history(struct http_request *);
static int vendors_list(struct http_request *);
static int vendor_review(struct http_request *);
static int vendor_credit(struct http_request *);
static int vendor_credit_events(struct http_request *);
static int boost_rules_list(struct http_request *);
static int boost_rule_create(struct http_request *);
static int boost_rule_update(struct http_request *);
static int campaigns_list(struct http_request *);
static int campaign_create(struct http_request *);
static int campaign_update(struct http_request *);
static int bxbp_designate(struct http_request *);
static int bxbp_revoke(struct http_request *);

ONE(fee_rules_states, fee_rules_list);
ONE(fee_rule_create_states, fee_rule_create);
ONE(fee_rule_update_states, fee_rule_update);
ONE(fee_rule_history_states, fee_rule_history);
ONE(vendors_states, vendors_list);
ONE(vendor_review_states, vendor_review);
ONE(vendor_credit_states, vendor_credit);
ONE(vendor_credit_events_states, vendor_credit_events);
ONE(boost_rules_states, boost_rules_list);
ONE(boost_rule_create_states, boost_rule_create);
ONE(boost_rule_update_states, boost_rule_update);
ONE(campaigns_states, campaigns_list);
ONE(campaign_create_states, campaign_create);
ONE(campaign_update_states, campaign_update);
ONE(bxbp_designate_states, bxbp_designate);
ONE(bxbp_revoke_states, bxbp_revoke);

#define A  AUTH_ADMIN
#define AJ (AUTH_ADMIN | BODY_JSON)

/* clang-format off */
struct api_route routes_admin[] = {
	{ HTTP_METHOD_GET, "/admin/fee-rules", "admin_fee_rules", A,
	    STATES(fee_rules_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/fee-rules", "admin_fee_rule_create", AJ,
	    STATES(fee_rule_create_states), 0, NULL },
	{ HTTP_METHOD_PATCH, "/admin/fee-rules/{#id}", "admin_fee_rule_update",
	    AJ, STATES(fee_rule_update_states), 0, NULL },
	{ HTTP_METHOD_GET, "/admin/fee-rules/{#id}/history",
	    "admin_fee_rule_history", A, STATES(fee_rule_history_states), 0,
	    NULL },
	{ HTTP_METHOD_GET, "/admin/vendors", "admin_vendors", A,
	    STATES(vendors_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/vendors/{#id}/review", "admin_vendor_review",
	    AJ, STATES(vendor_review_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/vendors/{#id}/credit-events",
	    "admin_vendor_credit", AJ, STATES(vendor_credit_states), 0, NULL },
	{ HTTP_METHOD_GET, "/admin/vendors/{#id}/credit-events",
	    "admin_vendor_credit_events", A,
	    STATES(vendor_credit_events_states), 0, NULL },
	{ HTTP_METHOD_GET, "/admin/boost-rules", "admin_boost_rules", A,
	    STATES(boost_rules_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/boost-rules", "admin_boost_rule_create", AJ,
	    STATES(boost_rule_create_states), 0, NULL },
	{ HTTP_METHOD_PATCH, "/admin/boost-rules/{#id}",
	    "admin_boost_rule_update", AJ, STATES(boost_rule_update_states), 0,
	    NULL },
	{ HTTP_METHOD_GET, "/admin/campaigns", "admin_campaigns", A,
	    STATES(campaigns_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/campaigns", "admin_campaign_create", AJ,
	    STATES(campaign_create_states), 0, NULL },
	{ HTTP_METHOD_PATCH, "/admin/campaigns/{slug}", "admin_campaign_update",
	    AJ, STATES(campaign_update_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/products/{#id}/bxbp", "admin_bxbp_designate",
	    A, STATES(bxbp_designate_states), 0, NULL },
	{ HTTP_METHOD_DELETE, "/admin/products/{#id}/bxbp", "admin_bxbp_revoke",
	    A, STATES(bxbp_revoke_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};
/* clang-format on */

/*
 * A period of two RFC 3339 times: each well formed when given (the end may
 * be null where nullable), and the end after the start when both are.  A
 * PATCH that moves one end only is checked by the table's constraint.
 */
static void
admin_period(json_t *b, const char *from, const char *to, int required,
    int nullable, json_t **errs)
{
	json_t *f, *t;
	int64_t fs, ts;
	int	has_f, has_t;

	f = json_object_get(b, from);
	t = json_object_get(b, to);
	has_f = has_t = 0;
	if (f != NULL || required) {
		if (!(has_f = timefmt_rfc3339(json_string_value(f), &fs)))
			problem_field_add(errs, from, "an RFC 3339 time");
	}
	if (t != NULL && !(nullable && json_is_null(t))) {
		if (!(has_t = timefmt_rfc3339(json_string_value(t), &ts)))
			problem_field_add(errs, to,
			    nullable ? "null or an RFC 3339 time"
				     : "an RFC 3339 time");
	} else if (t == NULL && required && !nullable) {
		problem_field_add(errs, to, "an RFC 3339 time");
	}
	if (has_f && has_t && ts <= fs)
		problem_field_add(errs, to, "after the start of the period");
}

/* A match's region or category: a code of the size fee rules keep. */
static int
admin_code_field(const char *k, json_t *v)
{
	long max;

	if (strcmp(k, "region") == 0)
		max = REGION_CODE_CHARS;
	else if (strcmp(k, "category") == 0)
		max = CATEGORY_CODE_CHARS;
	else
		return (0);
	return (
	    json_is_string(v) && validate_text(json_string_value(v), 1, max));
}

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
	char	     uid[24], *s;
	const char  *v[3];
	int	     rc;

	if ((errs = fee_rule_check(c->body, create)) != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	s = json_dumps(c->body, JSON_COMPACT);
	v[0] = create ? NULL : c->match.params[0];
	v[1] = s;
	v[2] = uid;
	/* Checkouts price from cached rules: every worker reads them again. */
	rc = db_status_call(c,
	    "SELECT status, body FROM fee_rule_save($1::bigint, "
	    "$2::jsonb, $3::bigint)",
	    3, v, invalidate_catalog, "no such rule");
	free(s);
	return (rc);
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

static int
vendors_list(struct http_request *req)
{
	static const char *const states[] = { "pending_review", "approved",
		"rejected", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL;
	const char		*st, *v[3];
	char			 p[24], pp[24];

	st = query_get(&c->qs, "status");
	if (st != NULL && !validate_oneof(st, states))
		problem_field_add(
		    &errs, "status", "pending_review, approved or rejected");
	(void)call_paging(c, &errs, p, pp, sizeof(p));
	if (errs != NULL)
		return (problem_validation(c, errs));
	v[0] = st;
	v[1] = p;
	v[2] = pp;
	return (db_json_call(c,
	    "SELECT api_admin_vendors($1, $2::integer, "
	    "$3::integer)",
	    3, v));
}

/* Today's date in Shanghai, YYYY-MM-DD, into buf (11 bytes). */
static const char *
admin_today(char *buf)
{
	time_t	  now;
	struct tm tm;

	now = time(NULL) + 8 * 3600;
	(void)gmtime_r(&now, &tm);
	(void)strftime(buf, 11, "%Y-%m-%d", &tm);
	return (buf);
}

/* approve needs qualified_until (a date from today); reject a reason. */
static int
vendor_review(struct http_request *req)
{
	static const char *const decisions[] = { "approve", "reject", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL;
	const char		*d, *reason, *v[5];
	char			 uid[24], until[11], today[11];
	struct query		 q;

	d = json_field_str(c->body, "decision");
	reason = json_field_str(c->body, "reason");
	if (!validate_oneof(d, decisions))
		problem_field_add(&errs, "decision", "approve or reject");
	until[0] = '\0';
	if (d != NULL && strcmp(d, "approve") == 0) {
		memset(&q, 0, sizeof(q));
		q.npairs = 1;
		q.pair[0].name = "u";
		q.pair[0].value = json_field_str(c->body, "qualified_until")
		    ? json_field_str(c->body, "qualified_until")
		    : "";
		if (query_date(&q, "u", until) != QUERY_OK)
			problem_field_add(
			    &errs, "qualified_until", "a date YYYY-MM-DD");
		else if (strcmp(until, admin_today(today)) < 0)
			problem_field_add(&errs, "qualified_until",
			    "today or later (Asia/Shanghai)");
	}
	if (d != NULL && strcmp(d, "reject") == 0 &&
	    !validate_text(reason, 1, 500))
		problem_field_add(&errs, "reason", "required to reject");
	if (reason != NULL && !validate_text(reason, 0, 500))
		problem_field_add(&errs, "reason", "at most 500 characters");
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = d;
	v[3] = until[0] ? until : NULL;
	v[4] = reason;
	return (db_status_call(c,
	    "SELECT status, body FROM vendor_review("
	    "$1::bigint, $2::bigint, $3, $4::date, $5)",
	    5, v, invalidate_catalog, "no such vendor"));
}

static int
vendor_credit(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL, *pts;
	const char  *v[5];
	char	     uid[24], p[24];

	if (!validate_text(json_field_str(c->body, "kind"), 1, 40))
		problem_field_add(&errs, "kind", "1 to 40 characters");
	pts = json_object_get(c->body, "points");
	if (!json_is_integer(pts) || json_integer_value(pts) == 0 ||
	    json_integer_value(pts) < -100 || json_integer_value(pts) > 100)
		problem_field_add(
		    &errs, "points", "a non-zero integer from -100 to 100");
	if (json_object_get(c->body, "note") != NULL &&
	    !validate_text(json_field_str(c->body, "note"), 0, 500))
		problem_field_add(&errs, "note", "at most 500 characters");
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	(void)snprintf(
	    p, sizeof(p), "%lld", (long long)json_integer_value(pts));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = json_field_str(c->body, "kind");
	v[3] = p;
	v[4] = json_field_str(c->body, "note");
	return (db_status_call(c,
	    "SELECT status, body FROM "
	    "vendor_credit_event($1::bigint, $2::bigint, $3, $4::integer, $5)",
	    5, v, invalidate_catalog, "no such vendor"));
}

/* A vendor's credit events, newest first, a page of them. */
static int
vendor_credit_events(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *v[3];
	char	     p[24], pp[24];

	(void)call_paging(c, &errs, p, pp, sizeof(p));
	if (errs != NULL)
		return (problem_validation(c, errs));
	v[0] = c->match.params[0];
	v[1] = p;
	v[2] = pp;
	return (db_json_call(c,
	    "SELECT api_admin_credit_events($1::bigint, $2::integer, "
	    "$3::integer)",
	    3, v));
}

static int
admin_list(struct http_request *req, const char *sql)
{
	struct call *c = http_state_get(req);

	return (db_json_call(c, sql, 0, NULL));
}

static int
boost_rules_list(struct http_request *req)
{
	return (admin_list(req, "SELECT api_boost_rules()"));
}

static int
campaigns_list(struct http_request *req)
{
	return (admin_list(req, "SELECT api_admin_campaigns()"));
}

/* A match of a boost rule or campaign: the keys the ranking knows. */
static void
admin_match_check(json_t *m, json_t **errs)
{
	static const char *const kinds[] = { "enterprise", "cooperative",
		"individual", NULL };
	const char		*k;
	json_t			*v, *e;
	size_t			 i;

	if (!json_is_object(m)) {
		problem_field_add(errs, "match", "an object");
		return;
	}
	json_object_foreach(m, k, v)
	{
		if ((strcmp(k, "qualified") == 0 ||
			strcmp(k, "poverty_county") == 0 ||
			strcmp(k, "bxbp") == 0) &&
		    json_is_boolean(v))
			continue;
		if (strcmp(k, "vendor_kind") == 0 &&
		    validate_oneof(json_string_value(v), kinds))
			continue;
		if (admin_code_field(k, v))
			continue;
		if (strcmp(k, "vendor_id") == 0 && json_is_integer(v) &&
		    json_integer_value(v) > 0)
			continue;
		if (strcmp(k, "product_ids") == 0 && json_is_array(v) &&
		    json_array_size(v) <= 500) {
			json_array_foreach(v, i, e)
			{
				if (!json_is_integer(e))
					break;
			}
			if (i == json_array_size(v))
				continue;
		}
		problem_field_add(errs, "match",
		    "keys qualified, poverty_county, bxbp (booleans), "
		    "vendor_kind, region, category, vendor_id, product_ids");
		return;
	}
}

static int
boost_rule_save(struct http_request *req, int create)
{
	static const char *const keys[] = { "name", "weight", "pin_slots",
		"placements", "match", "valid_from", "valid_to", NULL };
	static const char *const places[] = { "search", "region_shop",
		"channel", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL, *v, *e;
	const char		*k, *args[3];
	char			 uid[24], *s;
	size_t			 i;
	int			 rc;

	json_object_foreach(c->body, k, v)
	{
		if (!validate_oneof(k, keys))
			problem_field_add(&errs, k, "unknown field");
	}
	if ((v = json_object_get(c->body, "name")) != NULL || create) {
		if (!json_is_string(v) ||
		    !validate_text(json_string_value(v), 1, 100))
			problem_field_add(&errs, "name", "1 to 100 characters");
	}
	(void)admin_int(c->body, "weight", -1000, 1000, create, &errs,
	    "an integer from -1000 to 1000");
	(void)admin_int(
	    c->body, "pin_slots", 0, 20, 0, &errs, "an integer from 0 to 20");
	if ((v = json_object_get(c->body, "placements")) != NULL || create) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			problem_field_add(&errs, "placements",
			    "a list of search, region_shop, channel");
		json_array_foreach(v, i, e)
		{
			if (!validate_oneof(json_string_value(e), places))
				problem_field_add(&errs, "placements",
				    "a list of search, region_shop, channel");
		}
	}
	if ((v = json_object_get(c->body, "match")) != NULL)
		admin_match_check(v, &errs);
	admin_period(c->body, "valid_from", "valid_to", 0, 1, &errs);
	if (!create && json_object_size(c->body) == 0)
		problem_field_add(&errs, "body", "at least one field");
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	s = json_dumps(c->body, JSON_COMPACT);
	args[0] = create ? NULL : c->match.params[0];
	args[1] = s;
	args[2] = uid;
	rc = db_status_call(c,
	    "SELECT status, body FROM boost_rule_save("
	    "$1::bigint, $2::jsonb, $3::bigint)",
	    3, args, invalidate_catalog, "no such rule");
	free(s);
	return (rc);
}

static int
boost_rule_create(struct http_request *req)
{
	return (boost_rule_save(req, 1));
}

static int
boost_rule_update(struct http_request *req)
{
	return (boost_rule_save(req, 0));
}

static int
campaign_save(struct http_request *req, int create)
{
	static const char *const keys[] = { "slug", "title", "theme",
		"starts_at", "ends_at", "match", "product_ids", "boost_weight",
		NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL, *v, *e;
	const char		*k, *slug, *args[2];
	char			*s;
	size_t			 i;
	int			 rc;

	json_object_foreach(c->body, k, v)
	{
		if (!validate_oneof(k, keys))
			problem_field_add(&errs, k, "unknown field");
	}
	slug = json_field_str(c->body, "slug");
	if (create &&
	    (slug == NULL || strlen(slug) > 64 || strlen(slug) < 1 ||
		strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		    strlen(slug) ||
		slug[0] == '-'))
		problem_field_add(
		    &errs, "slug", "lowercase letters, digits and dashes");
	if (!create && json_object_get(c->body, "slug") != NULL)
		problem_field_add(&errs, "slug", "cannot change");
	if ((v = json_object_get(c->body, "title")) != NULL || create) {
		if (!json_is_string(v) ||
		    !validate_text(json_string_value(v), 1, 100))
			problem_field_add(
			    &errs, "title", "1 to 100 characters");
	}
	if ((v = json_object_get(c->body, "theme")) != NULL &&
	    (!json_is_string(v) ||
		!validate_text(json_string_value(v), 0, 500)))
		problem_field_add(&errs, "theme", "at most 500 characters");
	admin_period(c->body, "starts_at", "ends_at", create, 0, &errs);
	(void)admin_int(c->body, "boost_weight", -1000, 1000, 0, &errs,
	    "an integer from -1000 to 1000");
	if ((v = json_object_get(c->body, "match")) != NULL)
		admin_match_check(v, &errs);
	if ((v = json_object_get(c->body, "product_ids")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > 500)
			problem_field_add(
			    &errs, "product_ids", "a list of product ids");
		json_array_foreach(v, i, e)
		{
			if (!json_is_integer(e) || json_integer_value(e) < 1)
				problem_field_add(&errs, "product_ids",
				    "a list of product ids");
		}
	}
	if (!create && json_object_size(c->body) == 0)
		problem_field_add(&errs, "body", "at least one field");
	if (errs != NULL)
		return (problem_validation(c, errs));
	s = json_dumps(c->body, JSON_COMPACT);
	args[0] = create ? NULL : c->match.params[0];
	args[1] = s;
	rc = db_status_call(c,
	    "SELECT status, body FROM campaign_save($1, "
	    "$2::jsonb)",
	    2, args, invalidate_catalog, "no such campaign");
	free(s);
	return (rc);
}

static int
campaign_create(struct http_request *req)
{
	return (campaign_save(req, 1));
}

static int
campaign_update(struct http_request *req)
{
	return (campaign_save(req, 0));
}

static int
bxbp_set(struct http_request *req, const char *on)
{
	struct call *c = http_state_get(req);
	const char  *v[3];
	char	     uid[24];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = on;
	return (db_status_call(c,
	    "SELECT status, body FROM bxbp_designate("
	    "$1::bigint, $2::bigint, $3::boolean)",
	    3, v, invalidate_catalog, "no such product"));
}

static int
bxbp_designate(struct http_request *req)
{
	return (bxbp_set(req, "true"));
}

static int
bxbp_revoke(struct http_request *req)
{
	return (bxbp_set(req, "false"));
}

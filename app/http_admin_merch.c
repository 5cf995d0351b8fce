/*
 * http_admin_merch: the operators' merchandising (role admin; anyone else
 * 403): boost rules, kept as data, that move products in the rankings;
 * campaigns (a themed, dated page of products); and 百县百品, the one
 * product a poverty county is known by.  Every write empties the caches.
 * The words for the refusals these routes raise are here too
 * (admin_merch_details, set for the table in app/routes.c).
 */

#include <stdlib.h>
#include <string.h>

#include "admin_check.h"
#include "api.h"
#include "db.h"
#include "invalidate.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "validate.h"

/* A boost's (or a campaign's) weight, either way; a rule's pinned slots. */
#define BOOST_WEIGHT_MAX 1000
#define BOOST_PIN_SLOTS	 20
/* The products a match or a campaign may name. */
#define MERCH_PRODUCTS_MAX   500
#define CAMPAIGN_SLUG_LEN    64
#define CAMPAIGN_THEME_CHARS 500

static int boost_rules_list(struct http_request *);
static int boost_rule_create(struct http_request *);
static int boost_rule_update(struct http_request *);
static int campaigns_list(struct http_request *);
static int campaign_create(struct http_request *);
static int campaign_update(struct http_request *);
static int bxbp_designate(struct http_request *);
static int bxbp_revoke(struct http_request *);

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
struct api_route routes_admin_merch[] = {
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

/* What the refusals of campaign_save and bxbp_designate mean. */
const struct code_detail admin_merch_details[] = {
	{ "bxbp_taken", "this county has its 百县百品 product already" },
	{ "not_poverty_county",
	    "百县百品 are designated in poverty counties only" },
	{ "slug_taken", "a campaign with this slug exists" },
	{ NULL, NULL },
};

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
		    json_array_size(v) <= MERCH_PRODUCTS_MAX) {
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
	const char		*k;
	size_t			 i;

	json_object_foreach(c->body, k, v)
	{
		if (!validate_oneof(k, keys))
			problem_field_add(&errs, k, "unknown field");
	}
	admin_name(c->body, "name", create, &errs);
	(void)admin_int(c->body, "weight", -BOOST_WEIGHT_MAX, BOOST_WEIGHT_MAX,
	    create, &errs, NULL);
	(void)admin_int(
	    c->body, "pin_slots", 0, BOOST_PIN_SLOTS, 0, &errs, NULL);
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
	return (db_status_save(c,
	    "SELECT status, body FROM boost_rule_save("
	    "$1::bigint, $2::jsonb, $3::bigint)",
	    create, invalidate_catalog, "no such rule"));
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

/* A new campaign's slug: lowercase letters, digits and dashes. */
static int
campaign_slug_valid(const char *slug)
{
	return (slug != NULL && strlen(slug) <= CAMPAIGN_SLUG_LEN &&
	    strlen(slug) >= 1 &&
	    strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
		strlen(slug) &&
	    slug[0] != '-');
}

static int
campaign_save(struct http_request *req, int create)
{
	static const char *const keys[] = { "slug", "title", "theme",
		"starts_at", "ends_at", "match", "product_ids", "boost_weight",
		NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL, *v, *e;
	const char		*k, *args[2];
	char			*s;
	size_t			 i;
	int			 rc;

	json_object_foreach(c->body, k, v)
	{
		if (!validate_oneof(k, keys))
			problem_field_add(&errs, k, "unknown field");
	}
	if (create && !campaign_slug_valid(json_field_str(c->body, "slug")))
		problem_field_add(
		    &errs, "slug", "lowercase letters, digits and dashes");
	if (!create && json_object_get(c->body, "slug") != NULL)
		problem_field_add(&errs, "slug", "cannot change");
	admin_name(c->body, "title", create, &errs);
	if ((v = json_object_get(c->body, "theme")) != NULL &&
	    (!json_is_string(v) ||
		!validate_text(json_string_value(v), 0, CAMPAIGN_THEME_CHARS)))
		problem_field_chars(&errs, "theme", 0, CAMPAIGN_THEME_CHARS);
	admin_period(c->body, "starts_at", "ends_at", create, 0, &errs);
	(void)admin_int(c->body, "boost_weight", -BOOST_WEIGHT_MAX,
	    BOOST_WEIGHT_MAX, 0, &errs, NULL);
	if ((v = json_object_get(c->body, "match")) != NULL)
		admin_match_check(v, &errs);
	if ((v = json_object_get(c->body, "product_ids")) != NULL) {
		if (!json_is_array(v) ||
		    json_array_size(v) > MERCH_PRODUCTS_MAX)
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
	return (db_status_mine(http_state_get(req),
	    "SELECT status, body FROM bxbp_designate("
	    "$1::bigint, $2::bigint, $3::boolean)",
	    on, invalidate_catalog, "no such product"));
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

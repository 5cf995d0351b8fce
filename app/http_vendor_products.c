/*
 * http_vendor_products: the vendor console's catalogue side: its listings
 * (list, read, create, edit, publish, unpublish), their stock and their
 * traceable batches.  A vendor reaches only its own listings: another's
 * is 404.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "invalidate.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "validate.h"
#include "vendor_check.h"

#define REPORT_NO_CHARS	 64 /* a batch's inspection report */
#define IMAGES_MAX	 10
#define IMAGE_PATH_CHARS 300
#define TIERS_MAX	 10
#define TIER_MIN_QTY	 2 /* a tier below 2 would be the list price */

static int vendor_products(struct http_request *);
static int vendor_product(struct http_request *);
static int vendor_product_create(struct http_request *);
static int vendor_product_update(struct http_request *);
static int vendor_product_publish(struct http_request *);
static int vendor_product_unpublish(struct http_request *);
static int vendor_product_stock(struct http_request *);
static int vendor_batch_add(struct http_request *);

ONE(vendor_products_states, vendor_products);
ONE(vendor_product_states, vendor_product);
ONE(vendor_product_create_states, vendor_product_create);
ONE(vendor_product_update_states, vendor_product_update);
ONE(vendor_product_publish_states, vendor_product_publish);
ONE(vendor_product_unpublish_states, vendor_product_unpublish);
ONE(vendor_product_stock_states, vendor_product_stock);
ONE(vendor_batch_add_states, vendor_batch_add);

/* Its refusals are the vendor's (vendor_details, app/http_vendor.c). */
struct api_route routes_vendor_products[] = {
	{ HTTP_METHOD_GET, "/vendor/products", "vendor_products", AUTH_VENDOR,
	    STATES(vendor_products_states), 0, NULL },
	{ HTTP_METHOD_POST, "/vendor/products", "vendor_product_create",
	    AUTH_VENDOR | BODY_JSON, STATES(vendor_product_create_states), 0,
	    NULL },
	{ HTTP_METHOD_GET, "/vendor/products/{#id}", "vendor_product",
	    AUTH_VENDOR, STATES(vendor_product_states), 0, NULL },
	{ HTTP_METHOD_PATCH, "/vendor/products/{#id}", "vendor_product_update",
	    AUTH_VENDOR | BODY_JSON, STATES(vendor_product_update_states), 0,
	    NULL },
	{ HTTP_METHOD_POST, "/vendor/products/{#id}/publish",
	    "vendor_product_publish", AUTH_VENDOR,
	    STATES(vendor_product_publish_states), 0, NULL },
	{ HTTP_METHOD_POST, "/vendor/products/{#id}/unpublish",
	    "vendor_product_unpublish", AUTH_VENDOR,
	    STATES(vendor_product_unpublish_states), 0, NULL },
	{ HTTP_METHOD_PUT, "/vendor/products/{#id}/stock",
	    "vendor_product_stock", AUTH_VENDOR | BODY_JSON,
	    STATES(vendor_product_stock_states), 0, NULL },
	{ HTTP_METHOD_POST, "/vendor/products/{#id}/batches",
	    "vendor_batch_add", AUTH_VENDOR | BODY_JSON,
	    STATES(vendor_batch_add_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

/* Whether v is an integer within [min, max]. */
static int
vendor_int_in(json_t *v, int64_t min, int64_t max)
{
	return (json_is_integer(v) && json_integer_value(v) >= min &&
	    json_integer_value(v) <= max);
}

static int
vendor_products(struct http_request *req)
{
	static const char *const states[] = { "draft", "listed", "unlisted",
		NULL };

	return (db_json_page(http_state_get(req),
	    "SELECT api_vendor_products($1::bigint, $2, "
	    "$3::integer, $4::integer)",
	    states, "draft, listed or unlisted"));
}

static int
vendor_product(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[2];
	char	     uid[24];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	switch (db_poll(
	    c, "SELECT api_vendor_product($1::bigint, $2::bigint)", 2, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "vendor: database error"));
	}
	return (db_json_reply(c, 200));
}

/* The listing's fields; a new listing needs title, unit, price, category. */
static json_t *
vendor_product_check(json_t *b, int create)
{
	static const char *const keys[] = { "title", "description", "category",
		"kind", "unit", "price_fen", "price_tiers", "stock",
		"certifications", "images", NULL };
	static const char *const kinds[] = { "goods", "service", NULL };
	static const char *const certs[] = { "green", "organic", "gi", NULL };
	json_t			*errs = NULL, *v, *e;
	const char		*k;
	size_t			 i;
	char			 date[11];
	struct query		 q;

	json_object_foreach(b, k, v)
	{
		if (!validate_oneof(k, keys))
			problem_field_add(&errs, k, "unknown field");
	}
	vendor_text(b, "title", 1, 120, create, &errs);
	vendor_text(b, "description", 0, 2000, 0, &errs);
	vendor_text(b, "category", 1, CATEGORY_CODE_CHARS, create, &errs);
	vendor_text(b, "unit", 1, 10, create, &errs);
	if ((v = json_object_get(b, "kind")) != NULL &&
	    !validate_oneof(json_string_value(v), kinds))
		problem_field_add(&errs, "kind", "goods or service");
	(void)vendor_int(b, "price_fen", 1, PRICE_FEN_MAX, create, &errs,
	    "a positive amount in fen");
	(void)vendor_int(b, "stock", 0, STOCK_MAX, 0, &errs,
	    "an integer from 0 to " TEXT(STOCK_MAX));
	if ((v = json_object_get(b, "images")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > IMAGES_MAX)
			problem_field_add(&errs, "images",
			    "at most " TEXT(IMAGES_MAX) " image paths");
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e) ||
			    !validate_text(
				json_string_value(e), 1, IMAGE_PATH_CHARS))
				problem_field_add(&errs, "images",
				    "image paths of 1 to " TEXT(
					IMAGE_PATH_CHARS) " characters");
		}
	}
	if ((v = json_object_get(b, "price_tiers")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > TIERS_MAX)
			problem_field_add(&errs, "price_tiers",
			    "at most " TEXT(TIERS_MAX) " tiers");
		json_array_foreach(v, i, e)
		{
			if (!vendor_int_in(json_object_get(e, "min_qty"),
				TIER_MIN_QTY, STOCK_MAX) ||
			    !vendor_int_in(json_object_get(e, "unit_price_fen"),
				1, PRICE_FEN_MAX))
				problem_field_add(&errs, "price_tiers",
				    "{min_qty from " TEXT(TIER_MIN_QTY) " to " TEXT(
					STOCK_MAX) ", unit_price_fen from 1 to " TEXT(PRICE_FEN_MAX) "}");
		}
	}
	if ((v = json_object_get(b, "certifications")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > 3)
			problem_field_add(&errs, "certifications",
			    "at most one of each kind");
		json_array_foreach(v, i, e)
		{
			memset(&q, 0, sizeof(q));
			q.npairs = 1;
			q.pair[0].name = "d";
			q.pair[0].value =
			    json_is_string(json_object_get(e, "valid_until"))
			    ? json_string_value(
				  json_object_get(e, "valid_until"))
			    : "";
			if (!validate_oneof(json_field_str(e, "kind"), certs) ||
			    !validate_text(
				json_field_str(e, "number"), 1, 64) ||
			    query_date(&q, "d", date) != QUERY_OK)
				problem_field_add(&errs, "certifications",
				    "{kind: green|organic|gi, number, "
				    "valid_until: YYYY-MM-DD}");
		}
	}
	if (!create && json_object_size(b) == 0)
		problem_field_add(&errs, "body", "at least one field");
	return (errs);
}

static int
vendor_product_save(struct http_request *req, int create)
{
	struct call *c = http_state_get(req);
	json_t	    *errs;
	const char  *v[3];
	char	     uid[24], *s;
	int	     rc;

	if ((errs = vendor_product_check(c->body, create)) != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	s = json_dumps(c->body, JSON_COMPACT);
	v[0] = uid;
	v[1] = create ? NULL : c->match.params[0];
	v[2] = s;
	rc = db_status_call(c,
	    "SELECT status, body FROM vendor_product_save("
	    "$1::bigint, $2::bigint, $3::jsonb)",
	    3, v, create ? NULL : invalidate_catalog, "no such listing");
	free(s);
	return (rc);
}

static int
vendor_product_create(struct http_request *req)
{
	return (vendor_product_save(req, 1));
}

static int
vendor_product_update(struct http_request *req)
{
	return (vendor_product_save(req, 0));
}

static int
vendor_publish(struct http_request *req, const char *on)
{
	return (db_status_mine(http_state_get(req),
	    "SELECT status, body FROM "
	    "vendor_product_publish($1::bigint, $2::bigint, $3::boolean)",
	    on, invalidate_catalog, "no such listing"));
}

static int
vendor_product_publish(struct http_request *req)
{
	return (vendor_publish(req, "true"));
}

static int
vendor_product_unpublish(struct http_request *req)
{
	return (vendor_publish(req, "false"));
}

/* {stock} sets it, {delta} moves it; never below zero (409). */
static int
vendor_product_stock(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *v[4];
	char	     uid[24], st[24], d[24];
	int	     has_s, has_d;

	has_s = vendor_int(c->body, "stock", 0, STOCK_MAX, 0, &errs,
	    "an integer from 0 to " TEXT(STOCK_MAX));
	has_d = vendor_int(
	    c->body, "delta", -STOCK_MAX, STOCK_MAX, 0, &errs, "an integer");
	if (errs == NULL && has_s == has_d)
		problem_field_add(&errs, "stock", "either stock or delta");
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	(void)snprintf(st, sizeof(st), "%lld",
	    (long long)json_integer_value(json_object_get(c->body, "stock")));
	(void)snprintf(d, sizeof(d), "%lld",
	    (long long)json_integer_value(json_object_get(c->body, "delta")));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = has_s ? st : NULL;
	v[3] = has_d ? d : NULL;
	return (db_status_call(c,
	    "SELECT status, body FROM "
	    "vendor_product_stock($1::bigint, $2::bigint, $3::integer, "
	    "$4::integer)",
	    4, v, invalidate_catalog, "no such listing"));
}

static int
vendor_batch_add(struct http_request *req)
{
	static const char *const results[] = { "pass", "fail", "pending",
		NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL, *insp;
	const char		*v[3];
	char			 uid[24], *s, date[11];
	struct query		 q;
	int			 rc;

	vendor_text(c->body, "code", 1, 40, 1, &errs);
	vendor_text(c->body, "base", 1, 200, 1, &errs);
	memset(&q, 0, sizeof(q));
	q.npairs = 2;
	q.pair[0].name = "produced_on";
	q.pair[0].value = json_field_str(c->body, "produced_on")
	    ? json_field_str(c->body, "produced_on")
	    : "";
	if (query_date(&q, "produced_on", date) != QUERY_OK)
		problem_field_add(&errs, "produced_on", "a date YYYY-MM-DD");
	insp = json_object_get(c->body, "inspection");
	if (insp != NULL) {
		q.pair[1].name = "inspected_on";
		q.pair[1].value = json_field_str(insp, "inspected_on")
		    ? json_field_str(insp, "inspected_on")
		    : "";
		if (!json_is_object(insp) ||
		    !validate_oneof(json_field_str(insp, "result"), results))
			problem_field_add(&errs, "inspection.result",
			    "pass, fail or pending");
		if (json_object_get(insp, "inspected_on") != NULL &&
		    query_date(&q, "inspected_on", date) != QUERY_OK)
			problem_field_add(&errs, "inspection.inspected_on",
			    "a date YYYY-MM-DD");
		if (json_object_get(insp, "report_no") != NULL &&
		    !validate_text(
			json_field_str(insp, "report_no"), 1, REPORT_NO_CHARS))
			problem_field_chars(
			    &errs, "inspection.report_no", 1, REPORT_NO_CHARS);
	}
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	s = json_dumps(c->body, JSON_COMPACT);
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = s;
	rc = db_status_call(c,
	    "SELECT status, body FROM vendor_batch_add("
	    "$1::bigint, $2::bigint, $3::jsonb)",
	    3, v, invalidate_catalog, "no such listing");
	free(s);
	return (rc);
}

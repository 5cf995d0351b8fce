/*
 * http_catalog: the public read side: regions and their shops, products,
 * trace codes, the 扶贫频道 and campaigns.  Each answer is one statement
 * (see 002_catalog_read.sql) and is kept by the cache.
 */

#include <stdio.h>
#include <string.h>

#include "bangfu.h"
#include "validate.h"

static int regions_list(struct http_request *);
static int region_get(struct http_request *);
static int region_shop(struct http_request *);
static int products_list(struct http_request *);
static int product_get(struct http_request *);
static int trace_get(struct http_request *);
static int channel_get(struct http_request *);
static int campaigns_list(struct http_request *);
static int campaign_get(struct http_request *);
static int vendor_get(struct http_request *);

#define STATES(s)     s, (sizeof(s) / sizeof(s[0]))
#define ONE(name, fn) static struct http_state name[] = { { #fn, fn } }

ONE(regions_states, regions_list);
ONE(region_states, region_get);
ONE(shop_states, region_shop);
ONE(products_states, products_list);
ONE(product_states, product_get);
ONE(trace_states, trace_get);
ONE(channel_states, channel_get);
ONE(campaigns_states, campaigns_list);
ONE(campaign_states, campaign_get);
ONE(vendor_states, vendor_get);

struct api_route routes_catalog[] = { { HTTP_METHOD_GET, "/regions", "regions",
					  CACHEABLE, STATES(regions_states), 0,
					  NULL },
	{ HTTP_METHOD_GET, "/regions/{code}", "region", CACHEABLE,
	    STATES(region_states), 0, NULL },
	{ HTTP_METHOD_GET, "/regions/{code}/shop", "region_shop", CACHEABLE,
	    STATES(shop_states), 0, NULL },
	{ HTTP_METHOD_GET, "/products", "products", CACHEABLE,
	    STATES(products_states), 0, NULL },
	{ HTTP_METHOD_GET, "/products/{#id}", "product", CACHEABLE,
	    STATES(product_states), 0, NULL },
	{ HTTP_METHOD_GET, "/trace/{code}", "trace", CACHEABLE,
	    STATES(trace_states), 0, NULL },
	{ HTTP_METHOD_GET, "/channel", "channel", CACHEABLE,
	    STATES(channel_states), 0, NULL },
	{ HTTP_METHOD_GET, "/campaigns", "campaigns", CACHEABLE,
	    STATES(campaigns_states), 0, NULL },
	{ HTTP_METHOD_GET, "/campaigns/{slug}", "campaign", CACHEABLE,
	    STATES(campaign_states), 0, NULL },
	{ HTTP_METHOD_GET, "/vendors/{#id}", "vendor", CACHEABLE,
	    STATES(vendor_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL } };

/* Runs one statement that builds the whole answer (NULL is 404). */
static int
catalog_query(struct http_request *req, const char *sql, int n, const char **v)
{
	struct call *c = http_state_get(req);

	switch (db_poll(c, sql, n, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "catalog: database error"));
	}
	return (db_json_reply(c, 200));
}

static int
regions_list(struct http_request *req)
{
	return (catalog_query(req, "SELECT api_regions()", 0, NULL));
}

static int
region_get(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[] = { c->match.params[0] };

	return (catalog_query(req, "SELECT api_region($1)", 1, v));
}

static int
region_shop(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[] = { c->match.params[0] };

	return (catalog_query(req, "SELECT api_region_shop($1)", 1, v));
}

static int
product_get(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[] = { c->match.params[0] };

	return (catalog_query(req, "SELECT api_product($1::bigint)", 1, v));
}

static int
vendor_get(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[] = { c->match.params[0] };

	return (catalog_query(req, "SELECT api_vendor($1::bigint)", 1, v));
}

static int
trace_get(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[] = { c->match.params[0] };

	return (catalog_query(req, "SELECT api_trace($1)", 1, v));
}

static int
channel_get(struct http_request *req)
{
	return (catalog_query(req, "SELECT api_channel()", 0, NULL));
}

static int
campaigns_list(struct http_request *req)
{
	return (catalog_query(req, "SELECT api_campaigns()", 0, NULL));
}

static int
campaign_get(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[] = { c->match.params[0] };

	return (catalog_query(req, "SELECT api_campaign($1)", 1, v));
}

/* A short free-text filter: valid UTF-8, 1 to 64 characters. */
static const char *
catalog_text(struct call *c, const char *name, json_t **errs)
{
	const char *v;

	if ((v = query_get(&c->qs, name)) == NULL)
		return (NULL);
	if (!validate_text(v, 1, 64)) {
		problem_field_add(errs, name, "1 to 64 characters of text");
		return (NULL);
	}
	return (v);
}

static int
catalog_int(struct call *c, const char *name, int64_t min, int64_t max,
    int64_t def, int64_t *out, json_t **errs, const char *msg)
{
	int rc;

	*out = def;
	rc = query_int(&c->qs, name, min, max, out);
	if (rc == QUERY_INVALID) {
		problem_field_add(errs, name, msg);
		return (0);
	}
	return (rc == QUERY_OK);
}

static int
products_list(struct http_request *req)
{
	static const char *const sorts[] = { "relevance", "price_asc",
		"price_desc", "newest", "sales", NULL };
	static const char *const labels[] = { "bxbp", "poverty_county",
		"qualified_vendor", NULL };
	static const char *const certs[] = { "green", "organic", "gi", NULL };
	static const char	 sql[] =
	    "SELECT api_products($1, $2, $3, "
	    "$4::bigint, $5, $6, $7, $8::bigint, $9::bigint, $10, "
	    "$11::integer, $12::integer)";
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *v[12], *sort, *label, *cert;
	char	     vendor[24], min[24], max[24], page[24], per[24];
	int64_t	     n, lo, hi;
	int	     has_lo, has_hi;

	/*
	 * Parsed again on every entry: a query queued for a free connection
	 * is only sent on a later entry, and must carry its parameters then.
	 */
	memset(v, 0, sizeof(v));
	v[0] = catalog_text(c, "region", &errs);
	v[1] = catalog_text(c, "county", &errs);
	v[2] = catalog_text(c, "category", &errs);
	v[4] = catalog_text(c, "q", &errs);

	if (catalog_int(
		c, "vendor", 1, INT64_MAX / 2, 0, &n, &errs, "a vendor id")) {
		(void)snprintf(vendor, sizeof(vendor), "%lld", (long long)n);
		v[3] = vendor;
	}
	if ((label = query_get(&c->qs, "label")) != NULL &&
	    !validate_oneof(label, labels))
		problem_field_add(
		    &errs, "label", "bxbp, poverty_county or qualified_vendor");
	v[5] = label;
	if ((cert = query_get(&c->qs, "certification")) != NULL &&
	    !validate_oneof(cert, certs))
		problem_field_add(
		    &errs, "certification", "green, organic or gi");
	v[6] = cert;

	has_lo = catalog_int(c, "min_price_fen", 0, 1000000000000LL, 0, &lo,
	    &errs, "a non-negative amount in fen");
	has_hi = catalog_int(c, "max_price_fen", 0, 1000000000000LL, 0, &hi,
	    &errs, "a non-negative amount in fen");
	if (has_lo && has_hi && lo > hi)
		problem_field_add(
		    &errs, "max_price_fen", "not below min_price_fen");
	if (has_lo) {
		(void)snprintf(min, sizeof(min), "%lld", (long long)lo);
		v[7] = min;
	}
	if (has_hi) {
		(void)snprintf(max, sizeof(max), "%lld", (long long)hi);
		v[8] = max;
	}

	if ((sort = query_get(&c->qs, "sort")) == NULL)
		sort = "relevance";
	else if (!validate_oneof(sort, sorts))
		problem_field_add(&errs, "sort",
		    "relevance, price_asc, price_desc, newest or sales");
	v[9] = sort;

	(void)catalog_int(
	    c, "page", 1, 100000, 1, &n, &errs, "an integer from 1");
	(void)snprintf(page, sizeof(page), "%lld", (long long)n);
	(void)catalog_int(
	    c, "per_page", 1, 100, 20, &n, &errs, "an integer from 1 to 100");
	(void)snprintf(per, sizeof(per), "%lld", (long long)n);
	v[10] = page;
	v[11] = per;

	if (errs != NULL)
		return (problem_validation(c, errs));
	return (catalog_query(req, sql, 12, v));
}

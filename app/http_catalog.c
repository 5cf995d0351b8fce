/*
 * http_catalog: the public read side: regions and their shops, products,
 * trace codes, the 扶贫频道 and campaigns.  Each answer is one statement
 * (see 002_catalog_read.sql) and is kept by the cache.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "cache.h"
#include "db.h"
#include "problem.h"
#include "routes.h"
#include "ranking.h"
#include "validate.h"

#define RANK_MAX 5000
/* A list's paging (?page=, ?per_page=) and its price filters. */
#define CATALOG_PAGE_MAX      100000
#define CATALOG_PER_PAGE_MAX  100
#define CATALOG_PER_PAGE      20
#define CATALOG_PRICE_FEN_MAX 1000000000000LL

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

/* Every query parameter products_list reads: the cache keys on these. */
static const char *const products_params[] = { "region", "county", "category",
	"q", "vendor", "label", "certification", "min_price_fen",
	"max_price_fen", "sort", "page", "per_page", NULL };

/* In each worker, after cache_init(). */
void
catalog_init(void)
{
	cache_key_params("products", products_params);
}

/* Runs one statement that builds the whole answer (NULL is 404). */
static int
catalog_query(struct http_request *req, const char *sql, int n, const char **v)
{
	struct call *c = http_state_get(req);

	return (db_json_call(c, sql, n, v));
}

/*
 * Orders candidates ({id, text, sales, boost, pin, item}, from
 * rank_top() in 012_rank_top.sql) with modules/ranking and returns
 * the items of [offset, offset + limit).
 */
static json_t *
catalog_rank(json_t *cands, size_t offset, size_t limit)
{
	struct rank_item *r;
	json_t		 *out, *c;
	size_t		  i, n;

	out = json_array();
	if ((n = json_array_size(cands)) == 0)
		return (out);
	if (n > RANK_MAX)
		n = RANK_MAX;
	r = kore_calloc(n, sizeof(*r));
	for (i = 0; i < n; i++) {
		c = json_array_get(cands, i);
		r[i].id = json_integer_value(json_object_get(c, "id"));
		r[i].text = (int)json_integer_value(json_object_get(c, "text"));
		r[i].sales = json_integer_value(json_object_get(c, "sales"));
		r[i].boost = json_integer_value(json_object_get(c, "boost"));
		r[i].pin = (int)json_integer_value(json_object_get(c, "pin"));
		r[i].index = i;
	}
	ranking_sort(r, n);
	for (i = offset; i < n && i < offset + limit; i++) {
		json_array_append(out,
		    json_object_get(json_array_get(cands, r[i].index), "item"));
	}
	kore_free(r);
	return (out);
}

/* Answers (and caches) a ranked body built from the statement's JSON. */
static int
catalog_ranked_reply(
    struct call *c, json_t *(*build)(json_t *, void *), void *arg)
{
	json_t	    *raw, *out;
	json_error_t err;
	const char  *v;
	char	    *s;

	if ((v = db_value(c, 0, 0)) == NULL)
		return (problem(c, 404, "not_found", "no such resource"));
	if ((raw = json_loads(v, 0, &err)) == NULL)
		return (problem_internal(c, "catalog: bad JSON from SQL"));
	out = build(raw, arg);
	json_decref(raw);
	if (out == NULL)
		return (
		    problem_internal(c, "catalog: cannot build the answer"));
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (s == NULL)
		return (
		    problem_internal(c, "catalog: cannot write the answer"));
	cache_store(c, 200, s, strlen(s));
	json_reply_raw(c, 200, s, strlen(s));
	free(s);
	return (HTTP_STATE_COMPLETE);
}

static int
catalog_ranked_query(struct http_request *req, const char *sql, int n,
    const char **v, json_t *(*build)(json_t *, void *), void *arg)
{
	struct call *c = http_state_get(req);

	switch (db_poll(c, sql, n, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "catalog: database error"));
	}
	return (catalog_ranked_reply(c, build, arg));
}

struct list_page {
	int64_t page;
	int64_t per;
};

/*
 * From rank_top() (012_rank_top.sql): {total, candidates}, the candidates
 * being only those that can reach the first page * per_page places.
 */
static json_t *
build_list(json_t *top, void *arg)
{
	struct list_page *lp = arg;
	json_t		 *total;

	if (!json_is_integer(total = json_object_get(top, "total")))
		return (NULL);
	return (json_pack("{s:o, s:I, s:I, s:O}", "items",
	    catalog_rank(json_object_get(top, "candidates"),
		(size_t)((lp->page - 1) * lp->per), (size_t)lp->per),
	    "page", (json_int_t)lp->page, "per_page", (json_int_t)lp->per,
	    "total", total));
}

static json_t *
build_shop(json_t *shop, void *arg)
{
	json_t *out;

	(void)arg;
	out = json_deep_copy(shop);
	json_object_set_new(out, "featured",
	    catalog_rank(json_object_get(shop, "candidates"), 0,
		(size_t)json_integer_value(
		    json_object_get(shop, "featured_limit"))));
	json_object_del(out, "candidates");
	json_object_del(out, "featured_limit");
	return (out);
}

/* NULL when a section or the whole cannot be built: never a partial one. */
static json_t *
build_channel(json_t *ch, void *arg)
{
	json_t *out, *sections, *sec, *one;
	size_t	i;

	(void)arg;
	sections = json_array();
	json_array_foreach(json_object_get(ch, "sections"), i, sec)
	{
		one = json_pack("{s:O, s:O, s:o}", "key",
		    json_object_get(sec, "key"), "title",
		    json_object_get(sec, "title"), "items",
		    catalog_rank(json_object_get(sec, "candidates"), 0,
			(size_t)json_integer_value(
			    json_object_get(sec, "limit"))));
		if (one == NULL) {
			json_decref(sections);
			return (NULL);
		}
		json_array_append_new(sections, one);
	}
	out = json_pack("{s:O, s:o}", "campaigns",
	    json_object_get(ch, "campaigns"), "sections", sections);
	return (out);
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

	return (catalog_ranked_query(
	    req, "SELECT api_region_shop($1)", 1, v, build_shop, NULL));
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
	return (catalog_ranked_query(
	    req, "SELECT api_channel()", 0, NULL, build_channel, NULL));
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

/* A short free-text filter: valid UTF-8, 1 to max characters. */
static const char *
catalog_text(struct call *c, const char *name, long max, json_t **errs)
{
	const char *v;
	char	    msg[48];

	if ((v = query_get(&c->qs, name)) == NULL)
		return (NULL);
	if (!validate_text(v, 1, max)) {
		(void)snprintf(
		    msg, sizeof(msg), "1 to %ld characters of text", max);
		problem_field_add(errs, name, msg);
		return (NULL);
	}
	return (v);
}

/* An integer parameter from min to max; msg NULL tells the range. */
static int
catalog_int(struct call *c, const char *name, int64_t min, int64_t max,
    int64_t def, int64_t *out, json_t **errs, const char *msg)
{
	int rc;

	*out = def;
	rc = query_int(&c->qs, name, min, max, out);
	if (rc == QUERY_INVALID) {
		if (msg != NULL)
			problem_field_add(errs, name, msg);
		else
			problem_field_range(errs, name, "an integer", min, max);
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
	static const char	 rank_sql[] =
	    "SELECT rank_top('search', $1, $2, $3, $4::bigint, $5, $6, "
	    "$7, $8::bigint, $9::bigint, false, false, 5000, $10::bigint)";
	static const char sql[] =
	    "SELECT api_products($1, $2, $3, "
	    "$4::bigint, $5, $6, $7, $8::bigint, $9::bigint, $10, "
	    "$11::integer, $12::integer)";
	struct call	*c = http_state_get(req);
	json_t		*errs = NULL;
	const char	*v[12], *sort, *label, *cert;
	char		 vendor[24], min[24], max[24], page[24], per[24];
	char		 keep[24];
	int64_t		 n, lo, hi;
	int		 has_lo, has_hi;
	struct list_page lp = { 1, 20 };

	/*
	 * Parsed again on every entry: a query queued for a free connection
	 * is only sent on a later entry, and must carry its parameters then.
	 */
	memset(v, 0, sizeof(v));
	v[0] = catalog_text(c, "region", REGION_CODE_CHARS, &errs);
	v[1] = catalog_text(c, "county", 64, &errs);
	v[2] = catalog_text(c, "category", CATEGORY_CODE_CHARS, &errs);
	v[4] = catalog_text(c, "q", 64, &errs);

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

	has_lo = catalog_int(c, "min_price_fen", 0, CATALOG_PRICE_FEN_MAX, 0,
	    &lo, &errs, "a non-negative amount in fen");
	has_hi = catalog_int(c, "max_price_fen", 0, CATALOG_PRICE_FEN_MAX, 0,
	    &hi, &errs, "a non-negative amount in fen");
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
	    c, "page", 1, CATALOG_PAGE_MAX, 1, &n, &errs, "an integer from 1");
	(void)snprintf(page, sizeof(page), "%lld", (long long)n);
	(void)catalog_int(c, "per_page", 1, CATALOG_PER_PAGE_MAX,
	    CATALOG_PER_PAGE, &n, &errs, NULL);
	(void)snprintf(per, sizeof(per), "%lld", (long long)n);
	v[10] = page;
	v[11] = per;

	if (errs != NULL)
		return (problem_validation(c, errs));
	if (strcmp(sort, "relevance") == 0) {
		(void)query_int(&c->qs, "page", 1, CATALOG_PAGE_MAX, &lp.page);
		(void)query_int(
		    &c->qs, "per_page", 1, CATALOG_PER_PAGE_MAX, &lp.per);
		/* The places the page reaches: all the SQL must rank. */
		(void)snprintf(
		    keep, sizeof(keep), "%lld", (long long)(lp.page * lp.per));
		v[9] = keep;
		return (catalog_ranked_query(
		    req, rank_sql, 10, v, build_list, &lp));
	}
	return (catalog_query(req, sql, 12, v));
}

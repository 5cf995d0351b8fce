/*
 * http_checkout: POST /orders, the buyer's cart made an order.  Its states
 * check the body, limit the rate, replay a known Idempotency-Key
 * (app/idem.c), read the cart, price it from this worker's caches (or the
 * database's quote), place it in a batch (app/placer.c), and answer 201
 * once the cart is cleared.  Fees are decided by modules/fees; the order
 * is written by place_orders() (SQL), in one transaction.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "redis.h"
#include "routes.h"
#include "facts.h"
#include "idem.h"
#include "cart_store.h"
#include "order_json.h"
#include "orders.h"
#include "placer.h"
#include "validate.h"

#define MAX_ATTEMPTS 3
#define NOTE_CHARS   200 /* the buyer's note */

struct checkout_ctx {
	struct call c;
	struct idem idem;
	int	    attempts;
	json_t	   *items;
	json_t	   *quote; /* checkout_quote()'s shape, cached or read */
	char	   *cap_rules; /* capped (rule, vendor) pairs, as arrays */
	char	   *cap_vendors;
	json_t	   *order; /* the priced order for place_order */
	char	   *reply; /* the 201 body, kept for after DEL */
	int	    terms_loading; /* cart_facts() asked, not answered */
	struct cache_mark  terms_at; /* when the terms were asked */
	struct placer_wait pw; /* its place in a batch (app/placer.c) */
	char		  *alone; /* a batch of one, after a failed batch */
};

static int   checkout_check(struct http_request *);
static int   checkout_limit(struct http_request *);
static int   checkout_idem(struct http_request *);
static int   checkout_cart(struct http_request *);
static int   checkout_terms(struct http_request *);
static int   checkout_usage(struct http_request *);
static int   checkout_quote(struct http_request *);
static int   checkout_place(struct http_request *);
static int   checkout_clear(struct http_request *);
static int   checkout_priced(struct checkout_ctx *);
static void  checkout_forget(json_t *);
static char *checkout_item(struct checkout_ctx *);
static int   checkout_outcome(struct checkout_ctx *, int, const char *);
static void  checkout_cleanup(struct call *);

/* The states of checkout, in the order of checkout_states[]. */
enum checkout_state {
	S_CHECK,
	S_LIMIT,
	S_IDEM,
	S_CART,
	S_TERMS,
	S_USAGE,
	S_QUOTE,
	S_PLACE,
	S_CLEAR,
};

static struct http_state checkout_states[] = {
	[S_CHECK] = { "CHECKOUT_CHECK", checkout_check },
	[S_LIMIT] = { "CHECKOUT_LIMIT", checkout_limit },
	[S_IDEM] = { "CHECKOUT_IDEM", checkout_idem },
	[S_CART] = { "CHECKOUT_CART", checkout_cart },
	[S_TERMS] = { "CHECKOUT_TERMS", checkout_terms },
	[S_USAGE] = { "CHECKOUT_USAGE", checkout_usage },
	[S_QUOTE] = { "CHECKOUT_QUOTE", checkout_quote },
	[S_PLACE] = { "CHECKOUT_PLACE", checkout_place },
	[S_CLEAR] = { "CHECKOUT_CLEAR", checkout_clear },
};

/* place_orders()' refusal of a line short of stock (007_checkout_fast.sql). */
const struct code_detail checkout_details[] = {
	{ "insufficient_stock",
	    "some lines are short of stock; nothing was taken" },
	{ NULL, NULL },
};

struct api_route routes_checkout[] = {
	{ HTTP_METHOD_POST, "/orders", "order_create", AUTH_USER | BODY_JSON,
	    STATES(checkout_states), sizeof(struct checkout_ctx),
	    checkout_cleanup },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static void
checkout_cleanup(struct call *c)
{
	struct checkout_ctx *k = (struct checkout_ctx *)c;

	if (k->items != NULL)
		json_decref(k->items);
	if (k->quote != NULL)
		json_decref(k->quote);
	if (k->order != NULL)
		json_decref(k->order);
	placer_forget(&k->pw);
	free(k->alone);
	k->alone = NULL;
	free(k->cap_rules);
	free(k->cap_vendors);
	free(k->reply);
	k->items = k->quote = k->order = NULL;
	k->cap_rules = k->cap_vendors = k->reply = NULL;
}

static int
checkout_field(
    json_t *obj, const char *name, long max, json_t **errs, const char *label)
{
	const char *v;

	v = json_field_str(obj, name);
	if (!validate_text(v, 1, max)) {
		problem_field_add(errs, label, "required text");
		return (0);
	}
	return (1);
}

/* The address takes exactly the contract's six keys: nothing else is kept. */
static void
checkout_address_keys(json_t *addr, json_t **errs)
{
	static const char *const known[] = { "name", "phone", "province",
		"city", "district", "line", NULL };
	const char		*key;
	json_t			*v;
	char			 field[64];

	json_object_foreach(addr, key, v)
	{
		if (validate_oneof(key, known))
			continue;
		if (strlen(key) > 32 || !validate_text(key, 1, 32))
			(void)snprintf(field, sizeof(field), "address");
		else
			(void)snprintf(field, sizeof(field), "address.%s", key);
		problem_field_add(errs, field, "unknown field");
	}
}

static int
checkout_check(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);
	json_t		    *addr, *errs = NULL, *note;
	const char	    *phone;

	addr = json_object_get(k->c.body, "address");
	if (!json_is_object(addr)) {
		problem_field_add(&errs, "address", "an object");
	} else {
		checkout_address_keys(addr, &errs);
		(void)checkout_field(addr, "name", 50, &errs, "address.name");
		(void)checkout_field(
		    addr, "province", 30, &errs, "address.province");
		(void)checkout_field(addr, "city", 30, &errs, "address.city");
		(void)checkout_field(
		    addr, "district", 30, &errs, "address.district");
		(void)checkout_field(addr, "line", 200, &errs, "address.line");
		phone = json_field_str(addr, "phone");
		if (!orders_phone_valid(phone))
			problem_field_add(
			    &errs, "address.phone", "a phone number");
	}
	note = json_object_get(k->c.body, "note");
	if (note != NULL && !json_is_null(note) &&
	    !(json_is_string(note) &&
		validate_text(json_string_value(note), 0, NOTE_CHARS)))
		problem_field_add(&errs, "note",
		    "text of at most " TEXT(NOTE_CHARS) " characters");

	(void)idem_read(&k->c, &k->idem, &errs);
	if (errs != NULL)
		return (problem_validation(&k->c, errs));
	return (call_next(&k->c, S_LIMIT));
}

/* Checkouts per user and window (RATE_LIMIT_ORDERS), before any work. */
static int
checkout_limit(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);

	return (idem_limit(&k->c, &k->idem, "orders", S_IDEM, S_CART));
}

/* A key seen before answers at once, before the cart is even read. */
static int
checkout_idem(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);

	return (idem_replay(&k->c, "POST /orders", &k->idem, S_CART));
}

static int
checkout_cart(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);
	const char	    *argv[2];
	char		     key[64];

	cart_user_key(k->c.who.uid, key, sizeof(key));
	argv[0] = "HGETALL";
	argv[1] = key;
	switch (redis_poll(&k->c, 2, argv, NULL)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem(&k->c, 503, "unavailable",
		    "the cart store is unavailable"));
	}
	k->items = cart_items_from_hash(k->c.rv);
	if (json_array_size(k->items) == 0)
		return (problem(&k->c, 422, "cart_empty", "the cart is empty"));
	return (call_next(&k->c, S_TERMS));
}

/*
 * The cart's terms from this worker's caches (app/facts.c and the fee rules
 * in app/pricing.c), read in one statement when some are missing.  A cart
 * whose terms cannot be had that way (an unknown product) takes the
 * database's quote, which knows what to answer.
 */
static int
checkout_terms(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);
	json_t		    *ids, *it, *j;
	const char	    *v[2];
	char		    *s;
	size_t		     i;
	int		     rc, need_rules;

	/* The caches are asked once: not again while their statement runs. */
	if (k->quote == NULL && !k->terms_loading)
		k->quote = pricing_cached_quote(k->items);
	if (k->quote == NULL) {
		if (!k->terms_loading) {
			k->terms_loading = 1;
			k->terms_at = cache_mark();
		}
		need_rules = pricing_rules_cached() == NULL;
		ids = json_array();
		json_array_foreach(k->items, i, it)
		{
			j = json_object_get(it, "product_id");
			if (facts_terms(json_integer_value(j)) == NULL)
				json_array_append(ids, j);
		}
		s = db_array(ids);
		json_decref(ids);
		v[0] = s;
		v[1] = need_rules ? "true" : "false";
		rc = db_poll(&k->c,
		    "SELECT cart_facts($1::bigint[]), "
		    "CASE WHEN $2::boolean THEN fee_rules_live() END",
		    2, v);
		free(s);
		switch (rc) {
		case DB_PENDING: return (HTTP_STATE_RETRY);
		case DB_ERROR:
			return (problem_internal(
			    &k->c, "checkout: database error"));
		}
		/*
		 * Kept in the generation they were asked in: a write that
		 * committed meanwhile leaves them stale, and unused.
		 */
		if ((j = db_json(&k->c, 0, 0)) != NULL) {
			facts_put(j, &k->terms_at);
			json_decref(j);
		}
		if (!db_isnull(&k->c, 0, 1) &&
		    (j = db_json(&k->c, 0, 1)) != NULL)
			pricing_rules_put(j, k->terms_at.gen);
		db_reset(&k->c.db);
		k->terms_loading = 0;
		if ((k->quote = pricing_cached_quote(k->items)) == NULL)
			return (call_next(&k->c, S_QUOTE));
	}
	if (pricing_capped(k->quote, &k->cap_rules, &k->cap_vendors))
		return (call_next(&k->c, S_USAGE));
	return (checkout_priced(k));
}

/* This month's use of the waiver caps the cart falls under. */
static int
checkout_usage(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);
	const char	    *v[2];
	json_t		    *u;

	v[0] = k->cap_rules;
	v[1] = k->cap_vendors;
	switch (db_poll(
	    &k->c, "SELECT cap_usage($1::bigint[], $2::bigint[])", 2, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem_internal(&k->c, "checkout: database error"));
	}
	if ((u = db_json(&k->c, 0, 0)) == NULL)
		return (problem_internal(&k->c, "checkout: bad cap usage"));
	json_object_set_new(k->quote, "usage", u);
	db_reset(&k->c.db);
	return (checkout_priced(k));
}

/* The quote from the database: after a stale price, or an unknown product. */
static int
checkout_quote(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);
	char		    *s;
	const char	    *v[1];
	int		     rc;

	s = json_dumps(k->items, JSON_COMPACT);
	v[0] = s;
	rc = db_poll(&k->c, "SELECT checkout_quote($1::jsonb)", 1, v);
	free(s);
	switch (rc) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem_internal(&k->c, "checkout: database error"));
	}
	if (k->quote != NULL)
		json_decref(k->quote);
	if ((k->quote = db_json(&k->c, 0, 0)) == NULL)
		return (problem_internal(&k->c, "checkout: bad quote"));
	db_reset(&k->c.db);
	return (checkout_priced(k));
}

/* Prices the cart from k->quote with the fee rules, then places it. */
static int
checkout_priced(struct checkout_ctx *k)
{
	json_t *short_lines;

	short_lines = NULL;
	if (k->order != NULL)
		json_decref(k->order);
	k->order = orders_price(k->quote, k->items, &short_lines);
	if (short_lines != NULL) {
		return (problem_fields(&k->c, 409, "insufficient_stock",
		    "some lines are short of stock; nothing was taken",
		    short_lines));
	}
	if (k->order == NULL)
		return (problem_internal(&k->c, "checkout: cannot price"));
	json_object_set_new(k->order, "address",
	    json_incref(json_object_get(k->c.body, "address")));
	json_object_set_new(k->order, "note",
	    json_is_string(json_object_get(k->c.body, "note"))
		? json_incref(json_object_get(k->c.body, "note"))
		: json_string(""));
	json_object_set_new(
	    k->order, "pay_timeout_s", json_integer(cfg.order_pay_timeout));
	json_object_set_new(
	    k->order, "max_unpaid", json_integer(cfg.max_unpaid_orders));
	return (call_next(&k->c, S_PLACE));
}

static int
checkout_place(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);
	const char	    *v[1], *st;
	char		     dedup[160];
	int		     rc;

	switch (k->pw.state) {
	case PLACER_IDLE:
		if (k->alone == NULL) {
			(void)snprintf(dedup, sizeof(dedup), "%lld:%s",
			    (long long)k->c.who.uid, k->idem.key);
			placer_submit(&k->pw, req, checkout_item(k),
			    k->idem.has ? dedup : "");
			return (HTTP_STATE_RETRY);
		}
		v[0] = k->alone;
		rc = db_poll(&k->c,
		    "SELECT i, status, body FROM place_orders($1::jsonb)", 1,
		    v);
		if (rc == DB_PENDING)
			return (HTTP_STATE_RETRY);
		if (rc == DB_ERROR || (st = db_value(&k->c, 0, 1)) == NULL)
			return (problem_internal(
			    &k->c, "checkout: database error"));
		rc = checkout_outcome(k, atoi(st), db_value(&k->c, 0, 2));
		db_reset(&k->c.db);
		return (rc);
	case PLACER_DONE:
		if (k->pw.status > 0)
			break;
		/*
		 * No answer from the batch.  Rolled back, or a key that replays
		 * the order if it was placed: it goes alone.  Else it may have
		 * been placed, and must not be placed twice.
		 */
		if (k->pw.status == PLACER_UNAVAILABLE) {
			placer_forget(&k->pw);
			http_response_header(req, "retry-after", "1");
			return (problem(&k->c, 503, "unavailable",
			    "the database does not answer; the order was not "
			    "placed, try again"));
		}
		if (k->pw.status == PLACER_LOST && !k->idem.has) {
			placer_forget(&k->pw);
			http_response_header(req, "retry-after", "1");
			return (problem(&k->c, 503, "unavailable",
			    "the database connection was lost while placing the "
			    "order; look at your orders before trying again"));
		}
		free(k->alone);
		if (asprintf(&k->alone, "[%s]", k->pw.item) < 0)
			return (problem_internal(&k->c, "checkout: no memory"));
		placer_forget(&k->pw);
		return (HTTP_STATE_CONTINUE);
	default:
		/* Woken before its batch came back: sleep on. */
		http_request_sleep(req);
		return (HTTP_STATE_RETRY);
	}
	rc = checkout_outcome(k, k->pw.status, k->pw.body);
	placer_forget(&k->pw);
	return (rc);
}

/* One element of place_orders()' batch: who, the key, and the order. */
static char *
checkout_item(struct checkout_ctx *k)
{
	json_t *item;
	char   *s;

	item = json_pack("{s:I, s:s?, s:s, s:O}", "user",
	    (json_int_t)k->c.who.uid, "key", k->idem.has ? k->idem.key : NULL,
	    "hash", k->idem.hash, "order", k->order);
	s = json_dumps(item, JSON_COMPACT);
	json_decref(item);
	return (s);
}

/* What place_orders() answered for this order. */
static int
checkout_outcome(struct checkout_ctx *k, int status, const char *body)
{
	if (orders_stale(status, body)) {
		/* Something moved since the pricing: ask the database. */
		if (++k->attempts >= MAX_ATTEMPTS)
			return (problem(&k->c, 409, "conflict",
			    "the catalog changed during checkout; try again"));
		checkout_forget(k->items);
		/* Priced afresh, it goes with the next batch again. */
		free(k->alone);
		k->alone = NULL;
		return (call_next(&k->c, S_QUOTE));
	}
	if (status != 201)
		return (db_answer(&k->c, status, body, "checkout refused"));
	/* With a key the database keeps, and answers, the whole order. */
	k->reply =
	    k->idem.has ? strdup(body) : order_json_placed(k->order, body);
	if (k->reply == NULL)
		return (problem_internal(&k->c, "checkout: bad answer"));
	return (call_next(&k->c, S_CLEAR));
}

/* Drops the cached terms of the cart's products: they proved stale. */
static void
checkout_forget(json_t *items)
{
	json_t *it;
	size_t	i;

	json_array_foreach(items, i, it)
	{
		facts_drop(
		    json_integer_value(json_object_get(it, "product_id")));
	}
}

/* After the commit only: a crash before this leaves a cart, never a lost order. */
static int
checkout_clear(struct http_request *req)
{
	struct checkout_ctx *k = http_state_get(req);
	const char	    *argv[2];
	char		     key[64];

	cart_user_key(k->c.who.uid, key, sizeof(key));
	argv[0] = "DEL";
	argv[1] = key;
	if (redis_poll(&k->c, 2, argv, NULL) == DB_PENDING)
		return (HTTP_STATE_RETRY);
	orders_stock_moved(json_object_get(k->order, "lines"));
	json_reply_raw(&k->c, 201, k->reply, strlen(k->reply));
	return (HTTP_STATE_COMPLETE);
}

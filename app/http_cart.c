/*
 * http_cart: the cart routes.  Carts are kept in Redis (app/cart_store.c);
 * prices are never kept in the cart: every answer prices it from the
 * catalog's facts (app/facts.c), so on the hot path a cart request talks
 * to Redis only.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "auth.h"
#include "cache.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "redis.h"
#include "routes.h"
#include "cart.h"
#include "facts.h"
#include "cart_store.h"

/* 422 cart_full's words, in the terms of the limit. */
#define CART_FULL \
	"a cart holds at most " TEXT(CART_MAX_LINES) " different products"

struct cart_ctx {
	struct call	  c;
	char		  key[64];
	char		  token[CART_TOKEN_LEN + 2];
	int		  created;
	int64_t		  qty;
	int		  after_facts; /* the state after CART_FACTS */
	struct cache_mark facts_at; /* when the facts were asked */
	int		  facts_tries; /* reads of them that a write overtook */
	json_t		 *items; /* [{product_id, qty}] from Redis */
};

static int  cart_get_read(struct http_request *);
static int  cart_facts(struct http_request *);
static int  cart_answer(struct http_request *);
static int  cart_put_check(struct http_request *);
static int  cart_put_target(struct http_request *);
static int  cart_put_write(struct http_request *);
static int  cart_del_item(struct http_request *);
static int  cart_del_all(struct http_request *);
static void cart_cleanup(struct call *);

/* clang-format off */
enum cart_get_state { GET_READ, GET_FACTS, GET_ANSWER };
static struct http_state cart_get_states[] = {
	[GET_READ] = { "CART_READ", cart_get_read },
	[GET_FACTS] = { "CART_FACTS", cart_facts },
	[GET_ANSWER] = { "CART_ANSWER", cart_answer },
};
enum cart_put_state {
	PUT_CHECK,
	PUT_FACTS,
	PUT_TARGET,
	PUT_WRITE,
	PUT_FACTS_AGAIN,
	PUT_ANSWER,
};
static struct http_state cart_put_states[] = {
	[PUT_CHECK] = { "CART_PUT_CHECK", cart_put_check },
	[PUT_FACTS] = { "CART_FACTS", cart_facts },
	[PUT_TARGET] = { "CART_PUT_TARGET", cart_put_target },
	[PUT_WRITE] = { "CART_PUT_WRITE", cart_put_write },
	[PUT_FACTS_AGAIN] = { "CART_FACTS", cart_facts },
	[PUT_ANSWER] = { "CART_ANSWER", cart_answer },
};
enum cart_del_item_state { DEL_ITEM, DEL_FACTS, DEL_ANSWER };
static struct http_state cart_del_item_states[] = {
	[DEL_ITEM] = { "CART_DEL_ITEM", cart_del_item },
	[DEL_FACTS] = { "CART_FACTS", cart_facts },
	[DEL_ANSWER] = { "CART_ANSWER", cart_answer },
};
static struct http_state cart_del_states[] = {
	{ "CART_DEL",		cart_del_all },
};

struct api_route routes_cart[] = {
	{ HTTP_METHOD_GET, "/cart", "cart", AUTH_OPTIONAL | AUTH_DEFER,
	    STATES(cart_get_states), sizeof(struct cart_ctx), cart_cleanup },
	{ HTTP_METHOD_DELETE, "/cart", "cart_clear", AUTH_OPTIONAL | AUTH_DEFER,
	    STATES(cart_del_states), sizeof(struct cart_ctx), cart_cleanup },
	{ HTTP_METHOD_PUT, "/cart/items/{#id}", "cart_item_put",
	    AUTH_OPTIONAL | AUTH_DEFER | BODY_JSON, STATES(cart_put_states),
	    sizeof(struct cart_ctx), cart_cleanup },
	{ HTTP_METHOD_DELETE, "/cart/items/{#id}", "cart_item_delete",
	    AUTH_OPTIONAL | AUTH_DEFER, STATES(cart_del_item_states),
	    sizeof(struct cart_ctx), cart_cleanup },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};
/* clang-format on */

static void
cart_cleanup(struct call *c)
{
	struct cart_ctx *k = (struct cart_ctx *)c;

	if (k->items != NULL) {
		json_decref(k->items);
		k->items = NULL;
	}
}

/*
 * Which cart the request names: the user's when signed in, else the guest
 * cart of X-Cart-Token.  A write without either creates a guest cart.
 * Returns 0 when there is none (a read without a token).
 */
static int
cart_identify(struct cart_ctx *k, int create)
{
	const char *t;

	if (k->key[0] != '\0')
		return (1);
	if (k->c.authed) {
		cart_user_key(k->c.who.uid, k->key, sizeof(k->key));
		return (1);
	}
	if (http_request_header(k->c.req, "x-cart-token", &t) &&
	    cart_token_valid(t)) {
		(void)snprintf(k->token, sizeof(k->token), "%s", t);
	} else if (create) {
		auth_random_token(k->token, CART_TOKEN_LEN + 1);
		k->created = 1;
	} else {
		return (0);
	}
	cart_guest_key(k->token, k->key, sizeof(k->key));
	return (1);
}

/*
 * The cart answer: the Redis view of the cart priced from the facts, which
 * CART_FACTS made sure are all present.
 */
static int
cart_reply(struct cart_ctx *k, int status)
{
	struct cart_line	   lines[CART_MAX_LINES];
	const struct product_fact *f[CART_MAX_LINES];
	struct kore_buf		   b;
	json_t			  *it;
	size_t			   i, n;
	int64_t			   subtotal, count;
	char			   tokj[2 * CART_TOKEN_LEN + 8];

	n = 0;
	json_array_foreach(k->items, i, it)
	{
		if (n == CART_MAX_LINES)
			break;
		memset(&lines[n], 0, sizeof(lines[n]));
		lines[n].product_id =
		    json_integer_value(json_object_get(it, "product_id"));
		lines[n].qty = json_integer_value(json_object_get(it, "qty"));
		/*
		 * A product gone from the database leaves the cart.  Its
		 * stock is as CART_FACTS found it, even if a move was heard
		 * while it was read: the next read reads it again.
		 */
		if ((f[n] = facts_terms(lines[n].product_id)) == NULL)
			continue;
		lines[n].unit_price_fen = facts_unit_price(f[n], lines[n].qty);
		lines[n].stock = f[n]->stock;
		lines[n].listed = f[n]->listed;
		n++;
	}
	if (!cart_price(lines, (int)n, &subtotal, &count))
		return (problem_internal(&k->c, "cart: amounts overflow"));

	if (k->token[0] != '\0')
		http_response_header(k->c.req, "x-cart-token", k->token);
	if (k->token[0] == '\0' ||
	    !json_encode_str(tokj, sizeof(tokj), k->token))
		(void)snprintf(tokj, sizeof(tokj), "null");

	/* Written straight out, from titles encoded once per facts load. */
	kore_buf_init(&b, 128 + n * 192);
	json_buf_lit(&b, "{\"items\":[");
	for (i = 0; i < n; i++) {
		json_buf_lit(&b, i ? ",{\"product_id\":" : "{\"product_id\":");
		json_buf_int(&b, lines[i].product_id);
		json_buf_lit(&b, ",\"title\":");
		json_buf_lit(&b, f[i]->title_json);
		json_buf_lit(&b, ",\"vendor_id\":");
		json_buf_int(&b, f[i]->vendor_id);
		json_buf_lit(&b, ",\"unit_price_fen\":");
		json_buf_int(&b, lines[i].unit_price_fen);
		json_buf_lit(&b, ",\"qty\":");
		json_buf_int(&b, lines[i].qty);
		json_buf_lit(&b, ",\"line_total_fen\":");
		json_buf_int(&b, lines[i].line_total_fen);
		json_buf_lit(&b,
		    lines[i].available ? ",\"available\":true}"
				       : ",\"available\":false}");
	}
	json_buf_lit(&b, "],\"item_count\":");
	json_buf_int(&b, count);
	json_buf_lit(&b, ",\"subtotal_fen\":");
	json_buf_int(&b, subtotal);
	json_buf_lit(&b, ",\"cart_token\":");
	json_buf_lit(&b, tokj);
	json_buf_lit(&b, "}");
	json_reply_raw(&k->c, status, (const char *)b.data, b.offset);
	kore_buf_cleanup(&b);
	return (HTTP_STATE_COMPLETE);
}

static int
cart_empty_reply(struct cart_ctx *k)
{
	json_t *out;

	out = json_pack(
	    "{s:[], s:i, s:i}", "items", "item_count", 0, "subtotal_fen", 0);
	json_object_set_new(out, "cart_token",
	    k->token[0] ? json_string(k->token) : json_null());
	if (k->token[0] != '\0')
		http_response_header(k->c.req, "x-cart-token", k->token);
	json_reply(&k->c, 200, out);
	return (HTTP_STATE_COMPLETE);
}

/*
 * Loads the facts the cart's lines (and, for a PUT, the product asked
 * for) lack, in one statement; then moves on to k->after_facts.
 */
static int
cart_facts(struct http_request *req)
{
	struct cart_ctx *k = http_state_get(req);
	json_t		*ids, *it, *facts;
	size_t		 i;
	int64_t		 id;
	int		 rc;

	ids = json_array();
	json_array_foreach(k->items, i, it)
	{
		id = json_integer_value(json_object_get(it, "product_id"));
		if (facts_get(id) == NULL)
			json_array_append_new(ids, json_integer(id));
	}
	if (k->c.match.nparams > 0 && facts_get(k->c.match.ids[0]) == NULL)
		json_array_append_new(ids, json_integer(k->c.match.ids[0]));
	if (json_array_size(ids) == 0 && !db_started(&k->c)) {
		json_decref(ids);
		return (call_next(&k->c, k->after_facts));
	}
	if (!db_started(&k->c))
		k->facts_at = cache_mark();
	rc = cart_facts_poll(&k->c, ids);
	json_decref(ids);
	switch (rc) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(&k->c, "cart: database error"));
	}
	if ((facts = db_json(&k->c, 0, 0)) != NULL) {
		facts_put(facts, &k->facts_at);
		json_decref(facts);
	}
	db_reset(&k->c.db);
	/*
	 * A catalog write landed while they were read: they may predate it,
	 * and are kept for nothing.  Read them again, a few times at most.
	 */
	if (k->facts_at.gen != cache_generation() && ++k->facts_tries < 4)
		return (HTTP_STATE_CONTINUE);
	return (call_next(&k->c, k->after_facts));
}

static int
cart_answer(struct http_request *req)
{
	struct cart_ctx *k = http_state_get(req);

	if (json_array_size(k->items) == 0)
		return (cart_empty_reply(k));
	return (cart_reply(k, 200));
}

static int
cart_redis_failed(struct cart_ctx *k, int rc)
{
	if (rc == CART_NOSESSION)
		return (problem(
		    &k->c, 401, "unauthenticated", "the session has ended"));
	return (problem(
	    &k->c, 503, "unavailable", "the cart store is unavailable"));
}

static int
cart_get_read(struct http_request *req)
{
	struct cart_ctx *k = http_state_get(req);
	int		 rc;

	if (!cart_identify(k, 0))
		return (cart_empty_reply(k));
	if ((rc = cart_store_get(&k->c, k->key)) == DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc != DB_OK)
		return (cart_redis_failed(k, rc));
	k->items = cart_items_from_hash(k->c.rv);
	if (json_array_size(k->items) == 0)
		return (cart_empty_reply(k));
	k->after_facts = GET_ANSWER;
	return (call_next(&k->c, GET_FACTS));
}

static int
cart_put_check(struct http_request *req)
{
	struct cart_ctx *k = http_state_get(req);
	json_t		*q, *errs = NULL;

	q = json_object_get(k->c.body, "qty");
	if (!json_is_integer(q) || !cart_qty_valid(json_integer_value(q))) {
		problem_field_range(
		    &errs, "qty", "an integer", 0, CART_MAX_QTY);
		return (problem_validation(&k->c, errs));
	}
	k->qty = json_integer_value(q);
	(void)cart_identify(k, 1);
	k->after_facts = PUT_TARGET;
	return (call_next(&k->c, PUT_FACTS));
}

/*
 * The catalog decides before the cart changes: 404, 422 (a service) or
 * 409, nothing written.
 */
static int
cart_put_target(struct http_request *req)
{
	struct cart_ctx		  *k = http_state_get(req);
	const struct product_fact *f;

	if (k->qty > 0) {
		f = facts_terms(k->c.match.ids[0]); /* as CART_FACTS read it */
		if (f == NULL || !f->listed)
			return (problem(&k->c, 404, "not_found",
			    "no such product on sale"));
		if (f->service)
			return (problem(&k->c, 422, "not_a_good",
			    "a service is booked by the date, not carted"));
		if (k->qty > f->stock)
			return (problem(&k->c, 409, "insufficient_stock",
			    "not enough stock for this quantity"));
	}
	return (call_next(&k->c, PUT_WRITE));
}

static int
cart_put_write(struct http_request *req)
{
	struct cart_ctx	   *k = http_state_get(req);
	const char	   *pid;
	char		    qty[INT_TEXT_LEN];
	struct redis_value *old;
	int		    rc;

	pid = k->c.match.params[0];
	if (k->qty > 0)
		rc = cart_store_put(&k->c, k->key, pid, int_text(qty, k->qty),
		    k->c.authed ? TEXT(CART_USER_TTL) : TEXT(CART_GUEST_TTL));
	else
		rc = cart_store_del(&k->c, k->key, pid);
	if (rc == DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc != DB_OK)
		return (cart_redis_failed(k, rc));
	if (k->qty == 0) {
		k->items = cart_items_from_hash(k->c.rv);
	} else {
		if (k->c.rv->elements != 2)
			return (problem_internal(&k->c, "cart: bad reply"));
		old = k->c.rv->element[0];
		if (old->type == RV_INTEGER && old->integer == -1) {
			return (problem(&k->c, 422, "cart_full", CART_FULL));
		}
		k->items = cart_items_from_hash(k->c.rv->element[1]);
	}
	k->after_facts = PUT_ANSWER;
	return (call_next(&k->c, PUT_FACTS_AGAIN));
}

static int
cart_del_item(struct http_request *req)
{
	struct cart_ctx *k = http_state_get(req);
	int		 rc;

	if (!cart_identify(k, 0))
		return (cart_empty_reply(k));
	if ((rc = cart_store_del(&k->c, k->key, k->c.match.params[0])) ==
	    DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc != DB_OK)
		return (cart_redis_failed(k, rc));
	k->items = cart_items_from_hash(k->c.rv);
	k->after_facts = DEL_ANSWER;
	return (call_next(&k->c, DEL_FACTS));
}

static int
cart_del_all(struct http_request *req)
{
	struct cart_ctx *k = http_state_get(req);
	int		 rc;

	if (!cart_identify(k, 0))
		return (cart_empty_reply(k));
	if ((rc = cart_store_clear(&k->c, k->key)) == DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc != DB_OK)
		return (cart_redis_failed(k, rc));
	return (cart_empty_reply(k));
}

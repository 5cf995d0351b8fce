/*
 * cart_store: carts in Redis, one hash per cart (product id -> quantity),
 * cart:u:<user id> for a signed-in user (30 days) and cart:g:<token> for a
 * guest (7 days, the token 128 random bits).  Here are the keys, the
 * scripts that read and write them, and the reading of a cart's lines;
 * the routes that answer with a cart are app/http_cart.c's.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "json.h"
#include "redis.h"
#include "cart.h"
#include "cart_store.h"

/*
 * Every cart script of the cart routes starts with the session check the
 * dispatcher left to it (AUTH_DEFER): KEYS[2] is the caller's session,
 * ARGV[1] its user id; a guest has neither.  -2 means the session has
 * ended.
 */
#define CART_GUARD \
	"if KEYS[2] ~= '' and redis.call('HGET', KEYS[2], 'uid') ~= ARGV[1] " \
	"then return -2 end "

static const char cart_get_lua[] =
    CART_GUARD "return redis.call('HGETALL', KEYS[1])";

/*
 * HSET unless that makes the cart too long (a new line past the limit is
 * taken back); keeps the TTL fresh, to the hour (an EXPIRE is a write to
 * the append-only file, a TTL is not); {-1, {}} when full, else {0, cart}.
 */
static const char cart_put_lua[] =
    CART_GUARD "if redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) == 1 and "
	       "redis.call('HLEN', KEYS[1]) > tonumber(ARGV[5]) then "
	       "redis.call('HDEL', KEYS[1], ARGV[2]) return {-1, {}} end "
	       "if redis.call('TTL', KEYS[1]) < tonumber(ARGV[4]) - 3600 then "
	       "redis.call('EXPIRE', KEYS[1], ARGV[4]) end "
	       "return {0, redis.call('HGETALL', KEYS[1])}";

static const char cart_del_lua[] =
    CART_GUARD "redis.call('HDEL', KEYS[1], ARGV[2]) "
	       "return redis.call('HGETALL', KEYS[1])";

static const char cart_clear_lua[] =
    CART_GUARD "redis.call('DEL', KEYS[1]) return 1";

/* A guest token as we make them: base64url of 16 random bytes. */
int
cart_token_valid(const char *t)
{
	return (t != NULL && strlen(t) == CART_TOKEN_LEN &&
	    strspn(t,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789-_") == CART_TOKEN_LEN);
}

void
cart_user_key(int64_t uid, char *out, size_t len)
{
	(void)snprintf(out, len, "cart:u:%lld", (long long)uid);
}

void
cart_guest_key(const char *token, char *out, size_t len)
{
	(void)snprintf(out, len, "cart:g:%s", token);
}

/* Turns an HGETALL reply into [{product_id, qty}]. */
json_t *
cart_items_from_hash(const struct redis_value *v)
{
	json_t	 *items, *it;
	size_t	  i;
	long long pid, qty;

	items = json_array();
	if (v == NULL || v->type != RV_ARRAY)
		return (items);
	for (i = 0; i + 1 < v->elements; i += 2) {
		if (v->element[i]->str == NULL ||
		    v->element[i + 1]->str == NULL)
			continue;
		pid = strtoll(v->element[i]->str, NULL, 10);
		qty = strtoll(v->element[i + 1]->str, NULL, 10);
		if (pid <= 0 || !cart_qty_valid(qty) || qty == 0)
			continue;
		/* Not json_pack(): no format to read on every cart read. */
		it = json_object();
		json_object_set_new_nocheck(
		    it, "product_id", json_integer((json_int_t)pid));
		json_object_set_new_nocheck(
		    it, "qty", json_integer((json_int_t)qty));
		json_array_append_new(items, it);
	}
	return (items);
}

/*
 * Sends SELECT cart_facts(ids) for the product ids of items (cart lines,
 * [{product_id, qty}], or ids); DB_* as db_poll.
 */
int
cart_facts_poll(struct call *c, json_t *items)
{
	json_t	   *ids, *it;
	const char *v[1];
	char	   *s;
	size_t	    i;
	int	    rc;

	ids = json_array();
	json_array_foreach(items, i, it)
	{
		json_array_append(ids,
		    json_is_integer(it) ? it
					: json_object_get(it, "product_id"));
	}
	s = db_array(ids);
	json_decref(ids);
	v[0] = s;
	rc = db_poll(c, "SELECT cart_facts($1::bigint[])", 1, v);
	free(s);
	return (rc);
}

/* Runs a guarded cart script on key: DB_* as redis_poll, or NOSESSION. */
static int
cart_store_eval(struct call *c, const char *key, const char *script, int nargs,
    const char **args)
{
	const char *argv[12];
	char	    skey[96], num[INT_TEXT_LEN];
	const char *uid;
	size_t	    n;
	int	    i, rc;

	skey[0] = '\0';
	uid = "";
	if (c->deferred) {
		/* sess:{<sid>}, the sid checked to fit when the token was. */
		n = strlen(c->who.sid);
		memcpy(skey, "sess:{", 6);
		memcpy(skey + 6, c->who.sid, n);
		memcpy(skey + 6 + n, "}", 2);
		uid = int_text(num, c->who.uid);
	}
	argv[0] = "EVAL";
	argv[1] = script;
	argv[2] = "2";
	argv[3] = key;
	argv[4] = skey;
	argv[5] = uid;
	for (i = 0; i < nargs && i < 6; i++)
		argv[6 + i] = args[i];
	rc = redis_poll(c, 6 + i, argv, NULL);
	if (rc == DB_OK && c->rv->type == RV_INTEGER && c->rv->integer == -2)
		return (CART_NOSESSION);
	return (rc);
}

/* The cart's hash (an HGETALL reply in c->rv). */
int
cart_store_get(struct call *c, const char *key)
{
	return (cart_store_eval(c, key, cart_get_lua, 0, NULL));
}

/*
 * Sets the product's line to qty (above 0), keeping the cart for ttl
 * seconds: c->rv is {-1, {}} when the cart is full, else {0, the hash}.
 */
int
cart_store_put(struct call *c, const char *key, const char *pid,
    const char *qty, const char *ttl)
{
	const char *args[4];

	args[0] = pid;
	args[1] = qty;
	args[2] = ttl;
	args[3] = TEXT(CART_MAX_LINES);
	return (cart_store_eval(c, key, cart_put_lua, 4, args));
}

/* Takes the product's line out: c->rv is the hash left. */
int
cart_store_del(struct call *c, const char *key, const char *pid)
{
	return (cart_store_eval(c, key, cart_del_lua, 1, &pid));
}

int
cart_store_clear(struct call *c, const char *key)
{
	return (cart_store_eval(c, key, cart_clear_lua, 0, NULL));
}

/* Both carts at once: c->rv is {guest hash, user hash}. */
int
cart_store_merge_read(struct call *c, const char *guest, const char *user)
{
	const char *argv[5];

	argv[0] = "EVAL";
	argv[1] = "return {redis.call('HGETALL', KEYS[1]), "
		  "redis.call('HGETALL', KEYS[2])}";
	argv[2] = "2";
	argv[3] = guest;
	argv[4] = user;
	return (redis_poll(c, 5, argv, NULL));
}

/*
 * One script: the merged lines ([{product_id, qty}], a qty of 0 taken
 * out) into the user's cart, the guest cart deleted, the TTL renewed.
 */
int
cart_store_merge_write(
    struct call *c, const char *guest, const char *user, json_t *merged)
{
	static const char lua[] =
	    "for i = 2, #ARGV, 2 do "
	    "if ARGV[i + 1] == '0' then redis.call('HDEL', KEYS[2], ARGV[i]) "
	    "else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end end "
	    "redis.call('DEL', KEYS[1]) "
	    "redis.call('EXPIRE', KEYS[2], ARGV[1]) return 1";
	const char *argv[6 + 2 * CART_MAX_LINES];
	char	    nums[2 * CART_MAX_LINES][INT_TEXT_LEN];
	json_t	   *it;
	size_t	    i;
	int	    argc;

	argv[0] = "EVAL";
	argv[1] = lua;
	argv[2] = "2";
	argv[3] = guest;
	argv[4] = user;
	argv[5] = TEXT(CART_USER_TTL);
	argc = 6;
	json_array_foreach(merged, i, it)
	{
		if (i == CART_MAX_LINES)
			break;
		argv[argc++] = int_text(nums[2 * i],
		    json_integer_value(json_object_get(it, "product_id")));
		argv[argc++] = int_text(nums[2 * i + 1],
		    json_integer_value(json_object_get(it, "qty")));
	}
	return (redis_poll(c, argc, argv, NULL));
}

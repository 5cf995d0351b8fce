/*
 * test_inval: generations bumped by flushes, stock moves told apart per
 * product and ordered against marks, the invalidation messages, and the
 * single flight of cache misses (one fetch per key, its waiters released).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inval.h"

static struct inval v;

static void
test_flush_bumps_the_generation(void **state)
{
	struct inval_mark m;

	(void)state;
	inval_init(&v);
	assert_int_equal(v.gen, 1);
	m = inval_mark(&v);
	inval_flush(&v);
	assert_int_equal(v.gen, 2);
	assert_true(m.gen != v.gen);
	/* A flush is not a stock move. */
	assert_false(inval_moved(&v, 7, &m));
}

static void
test_moves_after_a_mark(void **state)
{
	struct inval_mark before, after;

	(void)state;
	inval_init(&v);
	before = inval_mark(&v);
	inval_stock_moved(&v, 7);
	after = inval_mark(&v);
	assert_true(inval_moved(&v, 7, &before));
	assert_false(inval_moved(&v, 7, &after));
	assert_false(inval_moved(&v, 8, &before));
	/* Ids that share a slot are told as moved too: never stale kept. */
	assert_true(inval_moved(&v, 7 + INVAL_MOVE_SLOTS, &before));
	inval_stock_moved(&v, 8);
	assert_true(inval_moved(&v, 8, &after));
	assert_false(inval_moved(&v, 7, &after));
	assert_int_equal(v.gen, 1);
}

static void
test_messages(void **state)
{
	char	msg[INVAL_MSG_MAX];
	int64_t id;

	(void)state;
	inval_msg_product(msg, 123456789012LL);
	assert_string_equal(msg, "product:123456789012");
	id = 0;
	assert_int_equal(inval_msg_parse(msg, &id), INVAL_PRODUCT);
	assert_int_equal(id, 123456789012LL);
	assert_int_equal(inval_msg_parse(INVAL_MSG_CATALOG, &id), INVAL_ALL);
	assert_int_equal(inval_msg_parse("produc", &id), INVAL_ALL);
	assert_int_equal(inval_msg_parse(NULL, &id), INVAL_ALL);
}

/*
 * The cache's side of a miss, as app/cache.c does it: a key in flight is
 * waited for, else its fetch begins (owned) when the table has room.
 */
#define FETCH 0 /* the caller fetches (owner, or alone when full) */
#define WAITS 1

struct req {
	const char	   *key;
	struct inval_waiter w;
	int		    woken;
};

static struct inval_flights fl;

static uint64_t
key_hash(const char *k)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return (h);
}

static int
key_same(void *arg, const void *key, size_t len)
{
	struct req *r = arg;

	return (strlen(r->key) == len && memcmp(r->key, key, len) == 0);
}

static int
miss(struct req *r)
{
	int f;

	if ((f = inval_flight_find(&fl, key_hash(r->key), key_same, r)) != 0) {
		inval_flight_wait(&fl, f, &r->w, r);
		return (WAITS);
	}
	if (inval_flight_room(&fl))
		(void)inval_flight_begin(&fl, key_hash(r->key), strdup(r->key),
		    strlen(r->key), &r->w, r);
	return (FETCH);
}

static void
wake(void *who)
{
	((struct req *)who)->woken++;
}

static void
done(struct req *r)
{
	free(inval_flight_done(&fl, &r->w, wake));
}

static void
test_two_misses_one_fetch(void **state)
{
	struct req a = { .key = "product/7" }, b = { .key = "product/7" };
	struct req c = { .key = "product/8" };

	(void)state;
	inval_flights_init(&fl);
	assert_int_equal(miss(&a), FETCH);
	assert_true(a.w.owner);
	assert_int_equal(miss(&b), WAITS);
	assert_false(b.w.owner);
	/* Another key is a fetch of its own. */
	assert_int_equal(miss(&c), FETCH);
	assert_int_equal(inval_flight_waiters(&fl, a.w.flight), 1);
	assert_int_equal(b.w.flight, a.w.flight);
	assert_true(c.w.flight != a.w.flight);
	done(&c);
	done(&a);
	done(&b); /* released already: nothing */
}

static void
test_waiters_released_on_done(void **state)
{
	struct req a = { .key = "products&q=1:x" }, b = a, d = a, e = a;
	int	   f;

	(void)state;
	inval_flights_init(&fl);
	assert_int_equal(miss(&a), FETCH);
	assert_int_equal(miss(&b), WAITS);
	assert_int_equal(miss(&d), WAITS);
	assert_int_equal(miss(&e), WAITS);
	f = a.w.flight;
	/* A waiter that leaves (its request freed) is not woken. */
	done(&d);
	assert_int_equal(d.w.flight, 0);
	assert_int_equal(inval_flight_waiters(&fl, f), 2);
	done(&a);
	assert_int_equal(b.woken, 1);
	assert_int_equal(e.woken, 1);
	assert_int_equal(d.woken, 0);
	assert_int_equal(a.woken, 0);
	assert_int_equal(b.w.flight, 0);
	assert_int_equal(e.w.flight, 0);
	/* Woken, they look again: nothing in flight, one fetches. */
	assert_int_equal(miss(&b), FETCH);
	assert_int_equal(miss(&e), WAITS);
	done(&b);
	assert_int_equal(e.woken, 2);
}

static void
test_flush_during_a_flight(void **state)
{
	struct req	  a = { .key = "products" }, b = a;
	struct inval_mark m;

	(void)state;
	inval_init(&v);
	inval_flights_init(&fl);
	m = inval_mark(&v);
	assert_int_equal(miss(&a), FETCH);
	assert_int_equal(miss(&b), WAITS);
	assert_false(inval_flushed(&v, &m));
	inval_flush(&v);
	/* What a's fetch read may predate the write: not stored... */
	assert_true(inval_flushed(&v, &m));
	/* ...and its waiters are released all the same, to fetch anew. */
	done(&a);
	assert_int_equal(b.woken, 1);
	m = inval_mark(&v);
	assert_int_equal(miss(&b), FETCH);
	assert_false(inval_flushed(&v, &m));
	done(&b);
}

static void
test_table_full(void **state)
{
	struct req r[INVAL_FLIGHTS + 2];
	char	   keys[INVAL_FLIGHTS + 2][24];
	int	   i;

	(void)state;
	inval_flights_init(&fl);
	for (i = 0; i < INVAL_FLIGHTS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		(void)snprintf(keys[i], sizeof(keys[i]), "product/%d", i);
		r[i].key = keys[i];
		assert_int_equal(miss(&r[i]), FETCH);
		assert_int_equal(r[i].w.flight, i + 1);
	}
	assert_false(inval_flight_room(&fl));
	/* Full: a new key is fetched alone, in no flight... */
	memset(&r[i], 0, sizeof(r[i]));
	r[i].key = "product/x";
	assert_int_equal(miss(&r[i]), FETCH);
	assert_int_equal(r[i].w.flight, 0);
	assert_int_equal(
	    inval_flight_begin(&fl, 1, NULL, 0, &r[i].w, &r[i]), 0);
	/* ...and so is a second miss of it: nobody waits for nothing. */
	memset(&r[i + 1], 0, sizeof(r[i + 1]));
	r[i + 1].key = "product/x";
	assert_int_equal(miss(&r[i + 1]), FETCH);
	done(&r[i]);
	done(&r[i + 1]);
	/* A key in flight is still waited for. */
	assert_int_equal(miss(&r[i]), FETCH);
	r[i].key = keys[3];
	assert_int_equal(miss(&r[i]), WAITS);
	done(&r[3]);
	assert_int_equal(r[i].woken, 1);
	assert_true(inval_flight_room(&fl));
	for (i = 0; i < INVAL_FLIGHTS; i++)
		done(&r[i]);
	for (i = 0; i < INVAL_FLIGHTS; i++)
		assert_int_equal(fl.f[i].used, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flush_bumps_the_generation),
		cmocka_unit_test(test_moves_after_a_mark),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_two_misses_one_fetch),
		cmocka_unit_test(test_waiters_released_on_done),
		cmocka_unit_test(test_flush_during_a_flight),
		cmocka_unit_test(test_table_full),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

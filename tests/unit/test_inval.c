/*
 * test_inval: generations bumped by flushes, stock moves told apart per
 * product and ordered against marks, and the invalidation messages.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flush_bumps_the_generation),
		cmocka_unit_test(test_moves_after_a_mark),
		cmocka_unit_test(test_messages),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

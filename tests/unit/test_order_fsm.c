/*
 * test_order_fsm: every (state, event) pair of orders and of parts against
 * a table written out here, out-of-range input, and names both ways.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "order_fsm.h"

#define NO (-1)

/*
 * The expected moves, every cell spelled out.  Columns, in order:
 * pay, ship_all, confirm, cancel, expire, ship.
 */
static const int want_order[6][6] = {
	/* pending_payment */
	{ ORDER_PAID, NO, NO, ORDER_CANCELLED, ORDER_CANCELLED, NO },
	/* paid */
	{ NO, ORDER_SHIPPED, NO, ORDER_REFUNDED, NO, NO },
	/* shipped */
	{ NO, NO, ORDER_COMPLETED, NO, NO, NO },
	/* completed */
	{ NO, NO, NO, NO, NO, NO },
	/* cancelled */
	{ NO, NO, NO, NO, NO, NO },
	/* refunded */
	{ NO, NO, NO, NO, NO, NO },
};

static const int want_part[5][6] = {
	/* pending */
	{ PART_PAID, NO, NO, PART_CANCELLED, PART_CANCELLED, NO },
	/* paid */
	{ NO, NO, NO, PART_REFUNDED, NO, PART_SHIPPED },
	/* shipped */
	{ NO, NO, NO, NO, NO, NO },
	/* cancelled */
	{ NO, NO, NO, NO, NO, NO },
	/* refunded */
	{ NO, NO, NO, NO, NO, NO },
};

static const char *const order_state_names[6] = { "pending_payment", "paid",
	"shipped", "completed", "cancelled", "refunded" };
static const char *const part_state_names[5] = { "pending", "paid", "shipped",
	"cancelled", "refunded" };
static const char *const event_names[6] = { "pay", "ship_all", "confirm",
	"cancel", "expire", "ship" };

/* The enums line up with the tables above. */
static void
test_enums(void **state)
{
	(void)state;
	assert_int_equal(ORDER_NSTATES, 6);
	assert_int_equal(PART_NSTATES, 5);
	assert_int_equal(EV_NEVENTS, 6);
	assert_int_equal(ORDER_PENDING_PAYMENT, 0);
	assert_int_equal(ORDER_REFUNDED, 5);
	assert_int_equal(PART_PENDING, 0);
	assert_int_equal(PART_REFUNDED, 4);
	assert_int_equal(EV_PAY, 0);
	assert_int_equal(EV_SHIP_ALL, 1);
	assert_int_equal(EV_CONFIRM, 2);
	assert_int_equal(EV_CANCEL, 3);
	assert_int_equal(EV_EXPIRE, 4);
	assert_int_equal(EV_SHIP, 5);
}

static void
test_order_table(void **state)
{
	int s, e, got;

	(void)state;
	for (s = 0; s < 6; s++) {
		for (e = 0; e < 6; e++) {
			got = order_transition(s, e);
			if (got != want_order[s][e])
				fail_msg("order %s --%s--> %d, want %d",
				    order_state_names[s], event_names[e], got,
				    want_order[s][e]);
		}
	}
}

static void
test_part_table(void **state)
{
	int s, e, got;

	(void)state;
	for (s = 0; s < 5; s++) {
		for (e = 0; e < 6; e++) {
			got = part_transition(s, e);
			if (got != want_part[s][e])
				fail_msg("part %s --%s--> %d, want %d",
				    part_state_names[s], event_names[e], got,
				    want_part[s][e]);
		}
	}
}

/* The named moves, so that a shifted table cannot hide. */
static void
test_named_moves(void **state)
{
	(void)state;
	assert_int_equal(
	    order_transition(ORDER_PENDING_PAYMENT, EV_PAY), ORDER_PAID);
	assert_int_equal(order_transition(ORDER_PENDING_PAYMENT, EV_CANCEL),
	    ORDER_CANCELLED);
	assert_int_equal(order_transition(ORDER_PENDING_PAYMENT, EV_EXPIRE),
	    ORDER_CANCELLED);
	assert_int_equal(
	    order_transition(ORDER_PAID, EV_SHIP_ALL), ORDER_SHIPPED);
	assert_int_equal(
	    order_transition(ORDER_PAID, EV_CANCEL), ORDER_REFUNDED);
	assert_int_equal(
	    order_transition(ORDER_SHIPPED, EV_CONFIRM), ORDER_COMPLETED);
	/* Orders never take the per-part ship, nor cancel once shipped. */
	assert_int_equal(order_transition(ORDER_PAID, EV_SHIP), -1);
	assert_int_equal(order_transition(ORDER_SHIPPED, EV_CANCEL), -1);
	assert_int_equal(order_transition(ORDER_PAID, EV_EXPIRE), -1);

	assert_int_equal(part_transition(PART_PENDING, EV_PAY), PART_PAID);
	assert_int_equal(
	    part_transition(PART_PENDING, EV_CANCEL), PART_CANCELLED);
	assert_int_equal(
	    part_transition(PART_PENDING, EV_EXPIRE), PART_CANCELLED);
	assert_int_equal(part_transition(PART_PAID, EV_SHIP), PART_SHIPPED);
	assert_int_equal(part_transition(PART_PAID, EV_CANCEL), PART_REFUNDED);
	/* Parts never take the order-level events. */
	assert_int_equal(part_transition(PART_PAID, EV_SHIP_ALL), -1);
	assert_int_equal(part_transition(PART_SHIPPED, EV_CONFIRM), -1);
	assert_int_equal(part_transition(PART_SHIPPED, EV_CANCEL), -1);
}

/* A whole life, one event at a time. */
static void
test_paths(void **state)
{
	int s;

	(void)state;
	s = ORDER_PENDING_PAYMENT;
	s = order_transition(s, EV_PAY);
	s = order_transition(s, EV_SHIP_ALL);
	s = order_transition(s, EV_CONFIRM);
	assert_int_equal(s, ORDER_COMPLETED);
	assert_int_equal(order_transition(s, EV_CANCEL), -1);

	s = PART_PENDING;
	s = part_transition(s, EV_PAY);
	s = part_transition(s, EV_SHIP);
	assert_int_equal(s, PART_SHIPPED);
	assert_int_equal(part_transition(s, EV_SHIP), -1);
}

static void
test_out_of_range(void **state)
{
	int e, s;

	(void)state;
	for (e = 0; e < EV_NEVENTS; e++) {
		assert_int_equal(order_transition(-1, e), -1);
		assert_int_equal(order_transition(ORDER_NSTATES, e), -1);
		assert_int_equal(order_transition(INT32_MAX, e), -1);
		assert_int_equal(order_transition(INT32_MIN, e), -1);
		assert_int_equal(part_transition(-1, e), -1);
		assert_int_equal(part_transition(PART_NSTATES, e), -1);
		assert_int_equal(part_transition(INT32_MAX, e), -1);
		assert_int_equal(part_transition(INT32_MIN, e), -1);
	}
	/* ORDER_NSTATES - 1 is a valid order state but not a part state. */
	assert_int_equal(part_transition(ORDER_NSTATES - 1, EV_PAY), -1);
	for (s = 0; s < ORDER_NSTATES; s++) {
		assert_int_equal(order_transition(s, -1), -1);
		assert_int_equal(order_transition(s, EV_NEVENTS), -1);
		assert_int_equal(order_transition(s, INT32_MAX), -1);
		assert_int_equal(order_transition(s, INT32_MIN), -1);
	}
	for (s = 0; s < PART_NSTATES; s++) {
		assert_int_equal(part_transition(s, -1), -1);
		assert_int_equal(part_transition(s, EV_NEVENTS), -1);
		assert_int_equal(part_transition(s, INT32_MAX), -1);
		assert_int_equal(part_transition(s, INT32_MIN), -1);
	}
}

static void
test_names(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		assert_non_null(order_state_name(i));
		assert_string_equal(order_state_name(i), order_state_names[i]);
		assert_int_equal(order_state_parse(order_state_names[i]), i);
		assert_int_equal(order_state_parse(order_state_name(i)), i);
	}
	for (i = 0; i < 5; i++) {
		assert_non_null(part_state_name(i));
		assert_string_equal(part_state_name(i), part_state_names[i]);
		assert_int_equal(part_state_parse(part_state_names[i]), i);
		assert_int_equal(part_state_parse(part_state_name(i)), i);
	}
	for (i = 0; i < 6; i++) {
		assert_non_null(order_event_name(i));
		assert_string_equal(order_event_name(i), event_names[i]);
		assert_int_equal(order_event_parse(event_names[i]), i);
		assert_int_equal(order_event_parse(order_event_name(i)), i);
	}

	assert_null(order_state_name(-1));
	assert_null(order_state_name(ORDER_NSTATES));
	assert_null(order_state_name(INT32_MIN));
	assert_null(part_state_name(-1));
	assert_null(part_state_name(PART_NSTATES));
	assert_null(part_state_name(INT32_MAX));
	assert_null(order_event_name(-1));
	assert_null(order_event_name(EV_NEVENTS));
	assert_null(order_event_name(INT32_MAX));
}

static void
test_parse_unknown(void **state)
{
	static const char *const bad[] = { "", " ", "PAID", "Paid", "paid ",
		" paid", "pai", "paidx", "pending_", "ship-all", "unknown" };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(order_state_parse(bad[i]), -1);
		assert_int_equal(part_state_parse(bad[i]), -1);
		assert_int_equal(order_event_parse(bad[i]), -1);
	}
	/* Each set of names is its own. */
	assert_int_equal(order_state_parse("pending"), -1);
	assert_int_equal(part_state_parse("pending_payment"), -1);
	assert_int_equal(part_state_parse("completed"), -1);
	assert_int_equal(order_state_parse("pay"), -1);
	assert_int_equal(order_event_parse("paid"), -1);
	assert_int_equal(order_event_parse("shipped"), -1);
	/* Shared names mean the matching state in each set. */
	assert_int_equal(order_state_parse("cancelled"), ORDER_CANCELLED);
	assert_int_equal(part_state_parse("cancelled"), PART_CANCELLED);

	assert_int_equal(order_state_parse(NULL), -1);
	assert_int_equal(part_state_parse(NULL), -1);
	assert_int_equal(order_event_parse(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_order_table),
		cmocka_unit_test(test_part_table),
		cmocka_unit_test(test_named_moves),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_unknown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

/*
 * orders: what the order routes share with the vendor's, the bookings'
 * and the payments' settling: the state machine's maps for SQL, the stock
 * moves told to the caches, and the placement's "stale" answer.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "invalidate.h"
#include "routes.h"
#include "order_fsm.h"
#include "orders.h"

/*
 * A status that does not allow the event: raised by the routes of orders,
 * payments, the vendor's shipping and bookings alike.
 */
const struct code_detail fsm_details[] = {
	{ "invalid_transition", "the order's status does not allow this" },
	{ NULL, NULL },
};

/*
 * The {from: to} map of event for orders (part 0) or parts (part 1),
 * straight from the state machine.  Free with free().
 */
char *
fsm_map(int part, int event)
{
	json_t *m;
	char   *s;
	int	st, to, n;

	m = json_object();
	n = part ? PART_NSTATES : ORDER_NSTATES;
	for (st = 0; st < n; st++) {
		to = part ? part_transition(st, event)
			  : order_transition(st, event);
		if (to < 0)
			continue;
		json_object_set_new(m,
		    part ? part_state_name(st) : order_state_name(st),
		    json_string(
			part ? part_state_name(to) : order_state_name(to)));
	}
	s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(m);
	return (s);
}

/* The stock of these lines' products moved: caches everywhere drop them. */
void
orders_stock_moved(json_t *lines)
{
	int64_t ids[64];
	json_t *l;
	size_t	i, n;

	n = 0;
	json_array_foreach(lines, i, l)
	{
		ids[n++] = json_integer_value(json_object_get(l, "product_id"));
		if (n == sizeof(ids) / sizeof(ids[0])) {
			invalidate_stock(ids, n);
			n = 0;
		}
	}
	if (n > 0)
		invalidate_stock(ids, n);
}

/*
 * Whether a placement's (status, body) is 409 with the code "stale":
 * something moved since the pricing, which is done again.
 */
int
orders_stale(int status, const char *body)
{
	json_t	    *b;
	json_error_t err;
	const char  *code;
	int	     stale;

	if (status != 409 || body == NULL ||
	    (b = json_loads(body, 0, &err)) == NULL)
		return (0);
	code = json_string_value(json_object_get(b, "code"));
	stale = code != NULL && strcmp(code, "stale") == 0;
	json_decref(b);
	return (stale);
}

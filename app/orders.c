/*
 * orders: what the order routes share with the vendor's, the bookings'
 * and the payments' settling: the state machine's maps for SQL.
 */

#include <stdlib.h>

#include "bangfu.h"
#include "order_fsm.h"
#include "orders.h"

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

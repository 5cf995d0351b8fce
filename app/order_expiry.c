/*
 * order_expiry: the timer that cancels unpaid orders past their
 * deadline, on every worker, and tells the caches of the stock it gave
 * back.
 */

#include <stdlib.h>

#include "api.h"
#include "db.h"
#include "routes.h"
#include "order_fsm.h"
#include "orders.h"

/* Expired orders gave stock back: [{"product_id": n}, ...], as lines. */
static void
orders_expired(const char *restocked)
{
	json_t	    *lines;
	json_error_t err;

	if ((lines = json_loads(restocked, 0, &err)) == NULL)
		return;
	orders_stock_moved(lines);
	json_decref(lines);
}

/*
 * Every few seconds each worker cancels a batch of unpaid orders past
 * their deadline; SKIP LOCKED in expire_orders_restocked() makes that
 * exactly once per order however many workers and nodes run it.  The
 * products that got stock back are published as stock moves.
 */
void
orders_expire_tick(void *arg, u_int64_t now)
{
	char	   *om, *pm;
	const char *v[2];

	(void)arg;
	(void)now;
	om = fsm_map(0, EV_EXPIRE);
	pm = fsm_map(1, EV_EXPIRE);
	v[0] = om;
	v[1] = pm;
	db_background(
	    "SELECT expire_orders_restocked($1::jsonb, $2::jsonb, 50)", 2, v,
	    orders_expired);
	free(om);
	free(pm);
}

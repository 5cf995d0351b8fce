/*
 * http_orders: the buyer's orders: the list, one order, and its actions
 * (cancel, confirm).  Statuses move by modules/order_fsm; each change of
 * state is one SQL function (003_orders.sql), so one transaction.
 * Checkout is app/http_checkout.c; payments are app/payment.c.
 */

#include <stdlib.h>

#include "api.h"
#include "db.h"
#include "problem.h"
#include "routes.h"
#include "order_fsm.h"
#include "orders.h"

static int orders_list(struct http_request *);
static int order_get(struct http_request *);
static int order_cancel(struct http_request *);
static int order_confirm(struct http_request *);

ONE(orders_states, orders_list);
ONE(order_states, order_get);
ONE(cancel_states, order_cancel);
ONE(confirm_states, order_confirm);

struct api_route routes_orders[] = {
	{ HTTP_METHOD_GET, "/orders", "orders", AUTH_USER,
	    STATES(orders_states), 0, NULL },
	{ HTTP_METHOD_GET, "/orders/{#id}", "order", AUTH_USER,
	    STATES(order_states), 0, NULL },
	{ HTTP_METHOD_POST, "/orders/{#id}/cancel", "order_cancel", AUTH_USER,
	    STATES(cancel_states), 0, NULL },
	{ HTTP_METHOD_POST, "/orders/{#id}/confirm", "order_confirm", AUTH_USER,
	    STATES(confirm_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL },
};

static int
orders_list(struct http_request *req)
{
	return (db_json_page(http_state_get(req),
	    "SELECT api_orders($1::bigint, $2::integer, $3::integer)", NULL,
	    NULL));
}

static int
order_get(struct http_request *req)
{
	return (db_json_mine(
	    http_state_get(req), "SELECT api_order($1::bigint, $2::bigint)"));
}

/* A cancelled order gave its stock back: its products' caches go. */
static void
orders_restocked(const char *order)
{
	json_t	    *o, *part, *items;
	json_error_t err;
	size_t	     i;

	if (order == NULL || (o = json_loads(order, 0, &err)) == NULL)
		return;
	items = json_array();
	json_array_foreach(json_object_get(o, "parts"), i, part)
	    json_array_extend(items, json_object_get(part, "items"));
	orders_stock_moved(items);
	json_decref(items);
	json_decref(o);
}

static int
order_action(struct http_request *req, int event)
{
	struct call *c = http_state_get(req);
	char	     uid[24], *om, *pm;
	const char  *v[5];
	int	     rc;

	call_uid(c, uid, sizeof(uid));
	om = fsm_map(0, event);
	pm = fsm_map(1, event);
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = order_event_name(event);
	v[3] = om;
	v[4] = pm;
	rc = db_poll(c,
	    "SELECT status, body FROM order_action($1::bigint, "
	    "$2::bigint, $3, $4::jsonb, $5::jsonb)",
	    5, v);
	free(om);
	free(pm);
	switch (rc) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "orders: database error"));
	}
	if (event == EV_CANCEL && db_value(c, 0, 0) != NULL &&
	    atoi(db_value(c, 0, 0)) == 200)
		orders_restocked(db_value(c, 0, 1));
	return (db_status_reply(c, "the order cannot do this now"));
}

static int
order_cancel(struct http_request *req)
{
	return (order_action(req, EV_CANCEL));
}

static int
order_confirm(struct http_request *req)
{
	return (order_action(req, EV_CONFIRM));
}

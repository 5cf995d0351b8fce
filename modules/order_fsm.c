/*
 * order_fsm: transitions as tables, so that every (state, event) pair is
 * either a listed move or refused (-1).  The handlers turn a table row
 * into the {from: to} map that a SQL function applies under its row lock.
 */

#include <string.h>

#include "order_fsm.h"

static const char *const order_names[ORDER_NSTATES] = { "pending_payment",
	"paid", "shipped", "completed", "cancelled", "refunded" };

static const char *const part_names[PART_NSTATES] = { "pending", "paid",
	"shipped", "cancelled", "refunded" };

static const char *const event_names[EV_NEVENTS] = { "pay", "ship_all",
	"confirm", "cancel", "expire", "ship" };

#define X (-1)

/* order_moves[state][event] */
static const int order_moves[ORDER_NSTATES][EV_NEVENTS] = {
	/*			pay	     ship_all	    confirm	     cancel	      expire	       ship */
	[ORDER_PENDING_PAYMENT] = { ORDER_PAID, X, X, ORDER_CANCELLED,
	    ORDER_CANCELLED, X },
	[ORDER_PAID] = { X, ORDER_SHIPPED, X, ORDER_REFUNDED, X, X },
	[ORDER_SHIPPED] = { X, X, ORDER_COMPLETED, X, X, X },
	[ORDER_COMPLETED] = { X, X, X, X, X, X },
	[ORDER_CANCELLED] = { X, X, X, X, X, X },
	[ORDER_REFUNDED] = { X, X, X, X, X, X },
};

static const int part_moves[PART_NSTATES][EV_NEVENTS] = {
	[PART_PENDING] = { PART_PAID, X, X, PART_CANCELLED, PART_CANCELLED, X },
	[PART_PAID] = { X, X, X, PART_REFUNDED, X, PART_SHIPPED },
	[PART_SHIPPED] = { X, X, X, X, X, X },
	[PART_CANCELLED] = { X, X, X, X, X, X },
	[PART_REFUNDED] = { X, X, X, X, X, X },
};

#undef X

/* The state an order moves to on event, or -1 when it may not. */
int
order_transition(int state, int event)
{
	if (state < 0 || state >= ORDER_NSTATES || event < 0 ||
	    event >= EV_NEVENTS)
		return (-1);
	return (order_moves[state][event]);
}

int
part_transition(int state, int event)
{
	if (state < 0 || state >= PART_NSTATES || event < 0 ||
	    event >= EV_NEVENTS)
		return (-1);
	return (part_moves[state][event]);
}

const char *
order_state_name(int s)
{
	return (s >= 0 && s < ORDER_NSTATES ? order_names[s] : NULL);
}

const char *
part_state_name(int s)
{
	return (s >= 0 && s < PART_NSTATES ? part_names[s] : NULL);
}

const char *
order_event_name(int e)
{
	return (e >= 0 && e < EV_NEVENTS ? event_names[e] : NULL);
}

static int
fsm_lookup(const char *const *names, int n, const char *s)
{
	int i;

	if (s == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0)
			return (i);
	}
	return (-1);
}

int
order_state_parse(const char *s)
{
	return (fsm_lookup(order_names, ORDER_NSTATES, s));
}

int
part_state_parse(const char *s)
{
	return (fsm_lookup(part_names, PART_NSTATES, s));
}

int
order_event_parse(const char *s)
{
	return (fsm_lookup(event_names, EV_NEVENTS, s));
}

/*
 * order_fsm: the one state machine of orders and of their per-vendor
 * parts.  Every status change in the database is derived from it.
 */

#ifndef ORDER_FSM_H
#define ORDER_FSM_H

enum order_state {
	ORDER_PENDING_PAYMENT,
	ORDER_PAID,
	ORDER_SHIPPED,
	ORDER_COMPLETED,
	ORDER_CANCELLED,
	ORDER_REFUNDED,
	ORDER_NSTATES
};

enum part_state {
	PART_PENDING,
	PART_PAID,
	PART_SHIPPED,
	PART_CANCELLED,
	PART_REFUNDED,
	PART_NSTATES
};

enum order_event {
	EV_PAY, /* the payment succeeded */
	EV_SHIP_ALL, /* the last part shipped */
	EV_CONFIRM, /* the buyer confirms receipt */
	EV_CANCEL, /* the buyer cancels before shipping */
	EV_EXPIRE, /* unpaid past the deadline */
	EV_SHIP, /* a part ships (parts only) */
	EV_NEVENTS
};

int	    order_transition(int, int);
int	    part_transition(int, int);
const char *order_state_name(int);
const char *part_state_name(int);
const char *order_event_name(int);
int	    order_state_parse(const char *);
int	    part_state_parse(const char *);
int	    order_event_parse(const char *);

#endif

/*
 * http_bookings: booking a service's session (旅游与康养): one place per
 * guest, each booking an order (011_services.sql) priced with the fee
 * rules as checkout prices a cart (orders_price()); the user's bookings
 * and their cancellation.  The sessions themselves are
 * app/http_services.c's.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "idem.h"
#include "order_fsm.h"
#include "orders.h"
#include "services_check.h"
#include "validate.h"

#define BOOK_GUESTS_MAX	 20
#define GUEST_NAME_CHARS 50
#define MAX_ATTEMPTS	 3

struct booking_ctx {
	struct call c;
	struct idem idem;
	int	    attempts;
	json_t	   *order; /* the priced order for booking_place() */
};

static int  booking_check(struct http_request *);
static int  booking_limit(struct http_request *);
static int  booking_idem(struct http_request *);
static int  booking_quote(struct http_request *);
static int  booking_place(struct http_request *);
static void booking_cleanup(struct call *);
static int  bookings_mine(struct http_request *);
static int  booking_get(struct http_request *);
static int  booking_cancel(struct http_request *);

/* The states of POST /bookings, in the order of booking_states[]. */
enum booking_state {
	B_CHECK,
	B_LIMIT,
	B_IDEM,
	B_QUOTE,
	B_PLACE,
};

static struct http_state booking_states[] = {
	[B_CHECK] = { "BOOKING_CHECK", booking_check },
	[B_LIMIT] = { "BOOKING_LIMIT", booking_limit },
	[B_IDEM] = { "BOOKING_IDEM", booking_idem },
	[B_QUOTE] = { "BOOKING_QUOTE", booking_quote },
	[B_PLACE] = { "BOOKING_PLACE", booking_place },
};
ONE(bookings_mine_states, bookings_mine);
ONE(booking_get_states, booking_get);
ONE(booking_cancel_states, booking_cancel);

struct api_route routes_bookings[] = {
	{ HTTP_METHOD_POST, "/bookings", "booking_create",
	    AUTH_USER | BODY_JSON, STATES(booking_states),
	    sizeof(struct booking_ctx), booking_cleanup },
	{ HTTP_METHOD_GET, "/me/bookings", "my_bookings", AUTH_USER,
	    STATES(bookings_mine_states), 0, NULL },
	{ HTTP_METHOD_GET, "/bookings/{#id}", "booking", AUTH_USER,
	    STATES(booking_get_states), 0, NULL },
	{ HTTP_METHOD_POST, "/bookings/{#id}/cancel", "booking_cancel",
	    AUTH_USER, STATES(booking_cancel_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static void
booking_cleanup(struct call *c)
{
	struct booking_ctx *k = (struct booking_ctx *)c;

	if (k->order != NULL)
		json_decref(k->order);
	k->order = NULL;
}

/* {session_id, guests: [{name, phone}]}: one place per guest. */
static int
booking_check(struct http_request *req)
{
	static const char *const keys[] = { "session_id", "guests", NULL };
	static const char *const gkeys[] = { "name", "phone", NULL };
	struct booking_ctx	*k = http_state_get(req);
	json_t			*errs = NULL, *guests, *g;
	size_t			 i;

	services_unknown(k->c.body, keys, &errs);
	if (!services_int_in(
		json_object_get(k->c.body, "session_id"), 1, INT64_MAX))
		problem_field_add(&errs, "session_id", "a session id");
	guests = json_object_get(k->c.body, "guests");
	if (!json_is_array(guests) || json_array_size(guests) < 1 ||
	    json_array_size(guests) > BOOK_GUESTS_MAX)
		problem_field_add(&errs, "guests",
		    "1 to " TEXT(BOOK_GUESTS_MAX) " guests, one a place");
	json_array_foreach(guests, i, g)
	{
		if (!json_is_object(g) ||
		    !validate_text(
			json_field_str(g, "name"), 1, GUEST_NAME_CHARS) ||
		    !orders_phone_valid(json_field_str(g, "phone"))) {
			problem_field_add(&errs, "guests",
			    "{name: 1 to " TEXT(
				GUEST_NAME_CHARS) " characters, phone: a phone number}");
			break;
		}
		services_unknown(g, gkeys, &errs);
	}
	(void)idem_read(&k->c, &k->idem, &errs);
	if (errs != NULL)
		return (problem_validation(&k->c, errs));
	return (call_next(&k->c, B_LIMIT));
}

/* Bookings per user and window, counted as checkouts are. */
static int
booking_limit(struct http_request *req)
{
	struct booking_ctx *k = http_state_get(req);

	return (idem_limit(&k->c, &k->idem, "bookings", B_IDEM, B_QUOTE));
}

static int
booking_idem(struct http_request *req)
{
	struct booking_ctx *k = http_state_get(req);

	return (idem_replay(&k->c, "POST /bookings", &k->idem, B_QUOTE));
}

/* The session's terms, priced with the fee rules as a cart would be. */
static int
booking_quote(struct http_request *req)
{
	struct booking_ctx *k = http_state_get(req);
	json_t		   *quote, *items, *short_lines, *l;
	const char	   *v[2];
	char		    places[24];

	(void)snprintf(places, sizeof(places), "%zu",
	    json_array_size(json_object_get(k->c.body, "guests")));
	v[0] = int_text((char[INT_TEXT_LEN]){ 0 },
	    json_integer_value(json_object_get(k->c.body, "session_id")));
	v[1] = places;
	switch (db_poll(
	    &k->c, "SELECT booking_quote($1::bigint, $2::integer)", 2, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem_internal(&k->c, "booking: database error"));
	}
	if (db_isnull(&k->c, 0, 0))
		return (problem(&k->c, 404, "not_found", "no such session"));
	if ((quote = db_json(&k->c, 0, 0)) == NULL)
		return (problem_internal(&k->c, "booking: bad quote"));
	db_reset(&k->c.db);
	if (json_is_true(json_object_get(quote, "closed"))) {
		json_decref(quote);
		return (problem(&k->c, 422, "booking_closed",
		    "this session takes no more bookings"));
	}
	l = json_array_get(json_object_get(quote, "lines"), 0);
	items = json_pack("[{s:O, s:I}]", "product_id",
	    json_object_get(l, "product_id"), "qty",
	    (json_int_t)json_array_size(json_object_get(k->c.body, "guests")));
	short_lines = NULL;
	if (k->order != NULL)
		json_decref(k->order);
	k->order = items ? orders_price(quote, items, &short_lines) : NULL;
	json_decref(items);
	json_decref(quote);
	if (short_lines != NULL) {
		json_decref(short_lines);
		return (problem(&k->c, 409, "insufficient_capacity",
		    "not enough places left; nothing was taken"));
	}
	if (k->order == NULL)
		return (problem_internal(&k->c, "booking: cannot price"));
	json_object_set_new(
	    k->order, "pay_timeout_s", json_integer(cfg.order_pay_timeout));
	json_object_set_new(
	    k->order, "max_unpaid", json_integer(cfg.max_unpaid_orders));
	return (call_next(&k->c, B_PLACE));
}

static int
booking_place(struct http_request *req)
{
	struct booking_ctx *k = http_state_get(req);
	json_t		   *b;
	json_error_t	    err;
	const char	   *v[6], *st, *code;
	char		    uid[24], *guests, *order;
	int		    rc, stale;

	call_uid(&k->c, uid, sizeof(uid));
	guests = json_dumps(json_object_get(k->c.body, "guests"), JSON_COMPACT);
	order = json_dumps(k->order, JSON_COMPACT);
	v[0] = uid;
	v[1] = k->idem.has ? k->idem.key : NULL;
	v[2] = k->idem.hash;
	v[3] = int_text((char[INT_TEXT_LEN]){ 0 },
	    json_integer_value(json_object_get(k->c.body, "session_id")));
	v[4] = guests;
	v[5] = order;
	rc = db_poll(&k->c,
	    "SELECT status, body FROM booking_place($1::bigint, $2, $3, "
	    "$4::bigint, $5::jsonb, $6::jsonb)",
	    6, v);
	free(guests);
	free(order);
	switch (rc) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem_internal(&k->c, "booking: database error"));
	}
	if ((st = db_value(&k->c, 0, 0)) == NULL)
		return (problem_internal(&k->c, "booking: no answer"));
	stale = 0;
	if (atoi(st) == 409 && db_value(&k->c, 0, 1) != NULL &&
	    (b = json_loads(db_value(&k->c, 0, 1), 0, &err)) != NULL) {
		code = json_string_value(json_object_get(b, "code"));
		stale = code != NULL && strcmp(code, "stale") == 0;
		json_decref(b);
	}
	if (!stale)
		return (db_status_reply(&k->c, "booking refused"));
	/* A price or a waiver cap moved since the quote: price again. */
	db_reset(&k->c.db);
	if (++k->attempts >= MAX_ATTEMPTS)
		return (problem(&k->c, 409, "conflict",
		    "the session's terms changed during booking; try again"));
	return (call_next(&k->c, B_QUOTE));
}

static int
bookings_mine(struct http_request *req)
{
	return (db_json_page(http_state_get(req),
	    "SELECT api_my_bookings($1::bigint, $2::integer, $3::integer)",
	    NULL, NULL));
}

static int
booking_get(struct http_request *req)
{
	return (db_json_mine(
	    http_state_get(req), "SELECT api_booking($1::bigint, $2::bigint)"));
}

static int
booking_cancel(struct http_request *req)
{
	struct call *c = http_state_get(req);
	char	     uid[24], *om, *pm;
	const char  *v[4];
	int	     rc;

	call_uid(c, uid, sizeof(uid));
	om = fsm_map(0, EV_CANCEL);
	pm = fsm_map(1, EV_CANCEL);
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = om;
	v[3] = pm;
	rc = db_poll(c,
	    "SELECT status, body FROM booking_cancel($1::bigint, $2::bigint, "
	    "$3::jsonb, $4::jsonb)",
	    4, v);
	free(om);
	free(pm);
	switch (rc) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "booking: database error"));
	}
	return (db_status_reply(c, "the booking cannot be cancelled now"));
}

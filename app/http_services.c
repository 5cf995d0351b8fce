/*
 * http_services: 旅游与康养, listings of kind service sold by the date: the
 * sessions (dated places) vendors open and anyone reads, a listing's
 * cancellation rules, and the redeeming of vouchers.  Booking a session is
 * app/http_bookings.c's.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "services_check.h"
#include "timefmt.h"
#include "validate.h"

#define SESSION_CAP_MAX	   10000
#define RULES_MAX	   10
#define RULE_DAYS_MAX	   365
#define REFUND_BPS_MAX	   10000
#define VOUCHER_CODE_CHARS 12

static int sessions_public(struct http_request *);
static int sessions_vendor(struct http_request *);
static int session_create(struct http_request *);
static int session_update(struct http_request *);
static int cancellation_put(struct http_request *);
static int voucher_redeem(struct http_request *);

ONE(sessions_public_states, sessions_public);
ONE(sessions_vendor_states, sessions_vendor);
ONE(session_create_states, session_create);
ONE(session_update_states, session_update);
ONE(cancellation_put_states, cancellation_put);
ONE(voucher_redeem_states, voucher_redeem);

struct api_route routes_services[] = {
	{ HTTP_METHOD_GET, "/products/{#id}/sessions", "product_sessions",
	    AUTH_NONE, STATES(sessions_public_states), 0, NULL },
	{ HTTP_METHOD_GET, "/vendor/products/{#id}/sessions", "vendor_sessions",
	    AUTH_VENDOR, STATES(sessions_vendor_states), 0, NULL },
	{ HTTP_METHOD_POST, "/vendor/products/{#id}/sessions",
	    "vendor_session_create", AUTH_VENDOR | BODY_JSON,
	    STATES(session_create_states), 0, NULL },
	{ HTTP_METHOD_PATCH, "/vendor/sessions/{#sid}", "vendor_session_update",
	    AUTH_VENDOR | BODY_JSON, STATES(session_update_states), 0, NULL },
	{ HTTP_METHOD_PUT, "/vendor/products/{#id}/cancellation",
	    "vendor_cancellation", AUTH_VENDOR | BODY_JSON,
	    STATES(cancellation_put_states), 0, NULL },
	{ HTTP_METHOD_POST, "/vendor/vouchers/{code}/redeem",
	    "vendor_voucher_redeem", AUTH_VENDOR, STATES(voucher_redeem_states),
	    0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

/* Whether s is a calendar date YYYY-MM-DD (query_date()'s rule). */
static int
services_date(const char *s)
{
	struct query q;
	char	     out[11];

	if (s == NULL)
		return (0);
	memset(&q, 0, sizeof(q));
	q.npairs = 1;
	q.pair[0].name = "d";
	q.pair[0].value = s;
	return (query_date(&q, "d", out) == QUERY_OK);
}

/* An optional RFC 3339 time field: absent and null are fine. */
static void
services_time(json_t *b, const char *name, json_t **errs)
{
	json_t *v;
	int64_t t;

	if ((v = json_object_get(b, name)) == NULL || json_is_null(v))
		return;
	if (!json_is_string(v) || !timefmt_rfc3339(json_string_value(v), &t))
		problem_field_add(errs, name, "an RFC 3339 time");
}

/* Runs one (status, body) function with the caller and the body. */
static int
services_body_call(struct call *c, const char *sql, const char *what)
{
	const char *v[3];
	char	    uid[24], *s;
	int	    rc;

	call_uid(c, uid, sizeof(uid));
	s = json_dumps(c->body, JSON_COMPACT);
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = s;
	rc = db_status_call(c, sql, 3, v, NULL, what);
	free(s);
	return (rc);
}

static int
session_create(struct http_request *req)
{
	static const char *const keys[] = { "date", "starts_at", "capacity",
		"price_fen", "book_until", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL, *v;

	services_unknown(c->body, keys, &errs);
	if (!services_date(json_field_str(c->body, "date")))
		problem_field_add(&errs, "date", "a date YYYY-MM-DD");
	services_time(c->body, "starts_at", &errs);
	services_time(c->body, "book_until", &errs);
	if (!services_int_in(
		json_object_get(c->body, "capacity"), 1, SESSION_CAP_MAX))
		problem_field_range(
		    &errs, "capacity", "an integer", 1, SESSION_CAP_MAX);
	if ((v = json_object_get(c->body, "price_fen")) != NULL &&
	    !json_is_null(v) && !services_int_in(v, 1, PRICE_FEN_MAX))
		problem_field_add(
		    &errs, "price_fen", "a positive amount in fen");
	if (errs != NULL)
		return (problem_validation(c, errs));
	return (services_body_call(c,
	    "SELECT status, body FROM vendor_session_create($1::bigint, "
	    "$2::bigint, $3::jsonb)",
	    "no such listing"));
}

static int
session_update(struct http_request *req)
{
	static const char *const keys[] = { "capacity", "status", NULL };
	static const char *const states[] = { "open", "closed", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL, *v;

	services_unknown(c->body, keys, &errs);
	if ((v = json_object_get(c->body, "capacity")) != NULL &&
	    !services_int_in(v, 0, SESSION_CAP_MAX))
		problem_field_range(
		    &errs, "capacity", "an integer", 0, SESSION_CAP_MAX);
	if ((v = json_object_get(c->body, "status")) != NULL &&
	    !validate_oneof(json_string_value(v), states))
		problem_field_add(&errs, "status", "open or closed");
	if (errs == NULL && json_object_size(c->body) == 0)
		problem_field_add(&errs, "body", "capacity or status");
	if (errs != NULL)
		return (problem_validation(c, errs));
	return (services_body_call(c,
	    "SELECT status, body FROM vendor_session_update($1::bigint, "
	    "$2::bigint, $3::jsonb)",
	    "no such session"));
}

/* ?from=&to= as dates, either absent; *errs on a bad one. */
static void
services_period(struct call *c, char *from, char *to, json_t **errs)
{
	int f, t;

	f = query_date(&c->qs, "from", from);
	t = query_date(&c->qs, "to", to);
	if (f == QUERY_INVALID)
		problem_field_add(errs, "from", "a date YYYY-MM-DD");
	if (t == QUERY_INVALID)
		problem_field_add(errs, "to", "a date YYYY-MM-DD");
	if (f != QUERY_OK)
		from[0] = '\0';
	if (t != QUERY_OK)
		to[0] = '\0';
	if (*errs == NULL && from[0] && to[0] && strcmp(from, to) > 0)
		problem_field_add(errs, "to", "not before from");
}

static int
sessions_public(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	char	     from[11], to[11];
	const char  *v[3];

	services_period(c, from, to, &errs);
	if (errs != NULL)
		return (problem_validation(c, errs));
	v[0] = c->match.params[0];
	v[1] = from[0] ? from : NULL;
	v[2] = to[0] ? to : NULL;
	return (db_json_call(c,
	    "SELECT api_product_sessions($1::bigint, $2::date, $3::date)", 3,
	    v));
}

static int
sessions_vendor(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	char	     uid[24], from[11], to[11];
	const char  *v[4];

	services_period(c, from, to, &errs);
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = from[0] ? from : NULL;
	v[3] = to[0] ? to : NULL;
	return (db_json_call(c,
	    "SELECT api_vendor_sessions($1::bigint, $2::bigint, $3::date, "
	    "$4::date)",
	    4, v));
}

/* {rules: [{days_before, refund_bps}]}, days_before strictly decreasing. */
static int
cancellation_put(struct http_request *req)
{
	static const char *const keys[] = { "rules", NULL };
	static const char *const rkeys[] = { "days_before", "refund_bps",
		NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL, *rules, *r;
	const char		*v[3];
	char			 uid[24], *s;
	size_t			 i;
	int64_t			 prev;
	int			 rc;

	services_unknown(c->body, keys, &errs);
	rules = json_object_get(c->body, "rules");
	if (!json_is_array(rules) || json_array_size(rules) > RULES_MAX)
		problem_field_add(&errs, "rules",
		    "an array of at most " TEXT(RULES_MAX) " rules");
	prev = RULE_DAYS_MAX + 1;
	json_array_foreach(rules, i, r)
	{
		if (!json_is_object(r) ||
		    !services_int_in(
			json_object_get(r, "days_before"), 0, RULE_DAYS_MAX) ||
		    !services_int_in(
			json_object_get(r, "refund_bps"), 0, REFUND_BPS_MAX)) {
			problem_field_add(&errs, "rules",
			    "{days_before: 0 to " TEXT(RULE_DAYS_MAX) ", refund_bps: 0 to " TEXT(
				REFUND_BPS_MAX) "}");
			break;
		}
		services_unknown(r, rkeys, &errs);
		if (json_integer_value(json_object_get(r, "days_before")) >=
		    prev) {
			problem_field_add(
			    &errs, "rules", "days_before strictly decreasing");
			break;
		}
		prev = json_integer_value(json_object_get(r, "days_before"));
	}
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	s = json_dumps(rules, JSON_COMPACT);
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = s;
	rc = db_status_call(c,
	    "SELECT status, body FROM vendor_cancellation_put($1::bigint, "
	    "$2::bigint, $3::jsonb)",
	    3, v, NULL, "no such listing");
	free(s);
	return (rc);
}

/* A code of 12 letters of the vouchers' alphabet, either case. */
static int
services_code_valid(const char *s)
{
	static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
	size_t		  i;
	char		  ch;

	if (strlen(s) != VOUCHER_CODE_CHARS)
		return (0);
	for (i = 0; i < VOUCHER_CODE_CHARS; i++) {
		ch = s[i];
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (strchr(alphabet, ch) == NULL || ch == '\0')
			return (0);
	}
	return (1);
}

static int
voucher_redeem(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[2];
	char	     uid[24];

	/* A code that cannot be one is not found, as an unknown code is. */
	if (!services_code_valid(c->match.params[0]))
		return (problem(c, 404, "not_found", "no such voucher"));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	return (db_status_call(c,
	    "SELECT status, body FROM vendor_voucher_redeem($1::bigint, $2)", 2,
	    v, NULL, "no such voucher"));
}

/*
 * http_admin_vendors: the operators' review of vendors (role admin; anyone
 * else 403): the list by status, approval (qualified until a date) or
 * rejection, and the credit events that move a vendor's score.  A review
 * or an event changes what the catalog shows: the caches are emptied.
 */

#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "invalidate.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "validate.h"

/* A review's reason and an event's note; an event's kind. */
#define VENDOR_TEXT_CHARS 500
#define CREDIT_KIND_CHARS 40
/* The points of one credit event, either way (never 0). */
#define CREDIT_POINTS_MAX 100

static int vendors_list(struct http_request *);
static int vendor_review(struct http_request *);
static int vendor_credit(struct http_request *);
static int vendor_credit_events(struct http_request *);

ONE(vendors_states, vendors_list);
ONE(vendor_review_states, vendor_review);
ONE(vendor_credit_states, vendor_credit);
ONE(vendor_credit_events_states, vendor_credit_events);

#define A  AUTH_ADMIN
#define AJ (AUTH_ADMIN | BODY_JSON)

/* clang-format off */
struct api_route routes_admin_vendors[] = {
	{ HTTP_METHOD_GET, "/admin/vendors", "admin_vendors", A,
	    STATES(vendors_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/vendors/{#id}/review", "admin_vendor_review",
	    AJ, STATES(vendor_review_states), 0, NULL },
	{ HTTP_METHOD_POST, "/admin/vendors/{#id}/credit-events",
	    "admin_vendor_credit", AJ, STATES(vendor_credit_states), 0, NULL },
	{ HTTP_METHOD_GET, "/admin/vendors/{#id}/credit-events",
	    "admin_vendor_credit_events", A,
	    STATES(vendor_credit_events_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};
/* clang-format on */

static int
vendors_list(struct http_request *req)
{
	static const char *const states[] = { "pending_review", "approved",
		"rejected", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL;
	const char		*st, *v[3];
	char			 p[24], pp[24];

	st = query_get(&c->qs, "status");
	if (st != NULL && !validate_oneof(st, states))
		problem_field_add(
		    &errs, "status", "pending_review, approved or rejected");
	(void)call_paging(c, &errs, p, pp, sizeof(p));
	if (errs != NULL)
		return (problem_validation(c, errs));
	v[0] = st;
	v[1] = p;
	v[2] = pp;
	return (db_json_call(c,
	    "SELECT api_admin_vendors($1, $2::integer, "
	    "$3::integer)",
	    3, v));
}

/* Today's date in Shanghai, YYYY-MM-DD, into buf (11 bytes). */
static const char *
admin_today(char *buf)
{
	time_t	  now;
	struct tm tm;

	now = time(NULL) + 8 * 3600;
	(void)gmtime_r(&now, &tm);
	(void)strftime(buf, 11, "%Y-%m-%d", &tm);
	return (buf);
}

/* approve needs qualified_until (a date from today); reject a reason. */
static int
vendor_review(struct http_request *req)
{
	static const char *const decisions[] = { "approve", "reject", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL;
	const char		*d, *reason, *v[5];
	char			 uid[24], until[11], today[11];
	struct query		 q;

	d = json_field_str(c->body, "decision");
	reason = json_field_str(c->body, "reason");
	if (!validate_oneof(d, decisions))
		problem_field_add(&errs, "decision", "approve or reject");
	until[0] = '\0';
	if (d != NULL && strcmp(d, "approve") == 0) {
		memset(&q, 0, sizeof(q));
		q.npairs = 1;
		q.pair[0].name = "u";
		q.pair[0].value = json_field_str(c->body, "qualified_until")
		    ? json_field_str(c->body, "qualified_until")
		    : "";
		if (query_date(&q, "u", until) != QUERY_OK)
			problem_field_add(
			    &errs, "qualified_until", "a date YYYY-MM-DD");
		else if (strcmp(until, admin_today(today)) < 0)
			problem_field_add(&errs, "qualified_until",
			    "today or later (Asia/Shanghai)");
	}
	if (d != NULL && strcmp(d, "reject") == 0 &&
	    !validate_text(reason, 1, VENDOR_TEXT_CHARS))
		problem_field_add(&errs, "reason", "required to reject");
	if (reason != NULL && !validate_text(reason, 0, VENDOR_TEXT_CHARS))
		problem_field_chars(&errs, "reason", 0, VENDOR_TEXT_CHARS);
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = d;
	v[3] = until[0] ? until : NULL;
	v[4] = reason;
	return (db_status_call(c,
	    "SELECT status, body FROM vendor_review("
	    "$1::bigint, $2::bigint, $3, $4::date, $5)",
	    5, v, invalidate_catalog, "no such vendor"));
}

static int
vendor_credit(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL, *pts;
	const char  *v[5];
	char	     uid[24], p[24];

	if (!validate_text(
		json_field_str(c->body, "kind"), 1, CREDIT_KIND_CHARS))
		problem_field_chars(&errs, "kind", 1, CREDIT_KIND_CHARS);
	pts = json_object_get(c->body, "points");
	if (!json_is_integer(pts) || json_integer_value(pts) == 0 ||
	    json_integer_value(pts) < -CREDIT_POINTS_MAX ||
	    json_integer_value(pts) > CREDIT_POINTS_MAX)
		problem_field_range(&errs, "points", "a non-zero integer",
		    -CREDIT_POINTS_MAX, CREDIT_POINTS_MAX);
	if (json_object_get(c->body, "note") != NULL &&
	    !validate_text(
		json_field_str(c->body, "note"), 0, VENDOR_TEXT_CHARS))
		problem_field_chars(&errs, "note", 0, VENDOR_TEXT_CHARS);
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	(void)snprintf(
	    p, sizeof(p), "%lld", (long long)json_integer_value(pts));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = json_field_str(c->body, "kind");
	v[3] = p;
	v[4] = json_field_str(c->body, "note");
	return (db_status_call(c,
	    "SELECT status, body FROM "
	    "vendor_credit_event($1::bigint, $2::bigint, $3, $4::integer, $5)",
	    5, v, invalidate_catalog, "no such vendor"));
}

/* A vendor's credit events, newest first, a page of them. */
static int
vendor_credit_events(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *v[3];
	char	     p[24], pp[24];

	(void)call_paging(c, &errs, p, pp, sizeof(p));
	if (errs != NULL)
		return (problem_validation(c, errs));
	v[0] = c->match.params[0];
	v[1] = p;
	v[2] = pp;
	return (db_json_call(c,
	    "SELECT api_admin_credit_events($1::bigint, $2::integer, "
	    "$3::integer)",
	    3, v));
}

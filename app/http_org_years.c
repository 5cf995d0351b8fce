/*
 * http_org_years: an organisation's year of procurement (以购代捐): the
 * plan (a budget and what of it is reserved for the paired regions), the
 * report against it, and the signed certificate of the year's purchases,
 * which anyone may check.  Members only (others get 404); roles are
 * checked in SQL (005_orgs.sql, 010_orders_hardening.sql).
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "auth.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "http_orgs.h"
#include "quota.h"

/* A plan's reserved share, in basis points of its budget. */
#define ORGS_SHARE_BPS_MAX 10000

static int org_plan_put(struct http_request *);
static int org_plan_get(struct http_request *);
static int org_report(struct http_request *);
static int org_certificate(struct http_request *);
static int certificate_verify(struct http_request *);

ONE(org_plan_put_states, org_plan_put);
ONE(org_plan_get_states, org_plan_get);
ONE(org_report_states, org_report);
ONE(org_certificate_states, org_certificate);
ONE(certificate_verify_states, certificate_verify);

struct api_route routes_org_years[] = {
	{ HTTP_METHOD_PUT, "/orgs/{#id}/plan/{#year}", "org_plan_put",
	    AUTH_USER | BODY_JSON, STATES(org_plan_put_states), 0, NULL },
	{ HTTP_METHOD_GET, "/orgs/{#id}/plan/{#year}", "org_plan", AUTH_USER,
	    STATES(org_plan_get_states), 0, NULL },
	{ HTTP_METHOD_GET, "/orgs/{#id}/report/{#year}", "org_report",
	    AUTH_USER, STATES(org_report_states), 0, NULL },
	{ HTTP_METHOD_GET, "/orgs/{#id}/certificates/{#year}",
	    "org_certificate", AUTH_USER, STATES(org_certificate_states), 0,
	    NULL },
	/* Anyone checks a certificate. */
	{ HTTP_METHOD_GET, "/certificates/verify", "certificate_verify",
	    AUTH_NONE, STATES(certificate_verify_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

/* The year of the path: ORGS_YEAR_MIN to ORGS_YEAR_MAX. */
static int
orgs_year_valid(struct call *c, int idx)
{
	return (c->match.ids[idx] >= ORGS_YEAR_MIN &&
	    c->match.ids[idx] <= ORGS_YEAR_MAX);
}

/* The year of the path out of range: 422, answered. */
static int
orgs_year_refused(struct call *c)
{
	json_t *errs = NULL;

	problem_field_range(
	    &errs, "year", "a year", ORGS_YEAR_MIN, ORGS_YEAR_MAX);
	return (problem_validation(c, errs));
}

/*
 * An amount of the body: 1 with *out when it is an integer, 0 when absent
 * or null, -1 when it is anything else.
 */
static int
orgs_body_int(json_t *body, const char *name, int64_t *out)
{
	json_t *v = json_object_get(body, name);

	if (v == NULL || json_is_null(v))
		return (0);
	if (!json_is_integer(v))
		return (-1);
	*out = json_integer_value(v);
	return (1);
}

static int
org_plan_put(struct http_request *req)
{
	struct call	 *c = http_state_get(req);
	struct quota_plan p;
	json_t		 *errs = NULL;
	int64_t		  budget, reserved, share, threshold;
	int		  rb, rr, rs, rt, rc;
	char		  uid[24], s[5][24];
	const char	 *v[9];

	memset(&p, 0, sizeof(p));
	budget = threshold = 0;
	reserved = share = QUOTA_NOT_GIVEN;
	if (!orgs_year_valid(c, 1))
		problem_field_range(
		    &errs, "year", "a year", ORGS_YEAR_MIN, ORGS_YEAR_MAX);
	if ((rb = orgs_body_int(c->body, "budget_fen", &budget)) != 1)
		problem_field_add(&errs, "budget_fen", "fen, an integer");
	if ((rr = orgs_body_int(c->body, "reserved_fen", &reserved)) < 0)
		problem_field_add(&errs, "reserved_fen", "fen, an integer");
	if ((rs = orgs_body_int(c->body, "reserved_share_bps", &share)) < 0)
		problem_field_range(&errs, "reserved_share_bps",
		    "basis points, an integer", 0, ORGS_SHARE_BPS_MAX);
	if ((rt = orgs_body_int(
		 c->body, "approval_threshold_fen", &threshold)) != 1)
		problem_field_add(
		    &errs, "approval_threshold_fen", "fen, an integer");
	if (errs == NULL) {
		/* A negative amount given is not "not given". */
		if ((rr == 1 && reserved < 0) || (rs == 1 && share < 0))
			rc = rr == 1 && reserved < 0 ? QUOTA_ERR_RESERVED
						     : QUOTA_ERR_SHARE;
		else
			rc = quota_plan_resolve(
			    budget, reserved, share, threshold, &p);
		if (rc != QUOTA_OK)
			problem_field_add(
			    &errs, quota_error_field(rc), quota_error_text(rc));
	}
	if (errs != NULL)
		return (problem_validation(c, errs));

	call_uid(c, uid, sizeof(uid));
	(void)snprintf(s[0], sizeof(s[0]), "%lld", (long long)p.budget_fen);
	(void)snprintf(s[1], sizeof(s[1]), "%lld", (long long)p.reserved_fen);
	(void)snprintf(
	    s[2], sizeof(s[2]), "%lld", (long long)p.reserved_share_bps);
	(void)snprintf(
	    s[3], sizeof(s[3]), "%lld", (long long)p.approval_threshold_fen);
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = c->match.params[1];
	v[3] = s[0];
	v[4] = s[1];
	v[5] = s[2];
	v[6] = p.basis_is_share ? "share" : "amount";
	v[7] = s[3];
	return (db_status_call(c,
	    "SELECT status, body FROM plan_put($1::bigint, $2::bigint, "
	    "$3::integer, $4::bigint, $5::bigint, $6::integer, $7, "
	    "$8::bigint)",
	    8, v, NULL, "refused"));
}

static int
org_plan_get(struct http_request *req)
{
	struct call *c = http_state_get(req);
	char	     uid[24];
	const char  *v[3];

	if (!orgs_year_valid(c, 1))
		return (orgs_year_refused(c));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = c->match.params[1];
	return (db_status_call(c,
	    "SELECT status, body FROM api_plan($1::bigint, $2::bigint, "
	    "$3::integer)",
	    3, v, NULL, "refused"));
}

/*
 * The facts of the organisation's year (org_year_facts() in SQL), or an
 * answer already given: DB_PENDING, DB_OK with *facts, or DB_ERROR when
 * the request was answered.
 */
static int
orgs_year_facts(struct call *c, json_t **facts)
{
	const char *st, *v[3];
	char	    uid[24];

	*facts = NULL;
	if (!orgs_year_valid(c, 1)) {
		(void)orgs_year_refused(c);
		return (DB_ERROR);
	}
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = c->match.params[1];
	switch (db_poll(c,
	    "SELECT status, body FROM api_org_year($1::bigint, "
	    "$2::bigint, $3::integer)",
	    3, v)) {
	case DB_PENDING: return (DB_PENDING);
	case DB_ERROR:
		(void)problem_internal(c, "orgs: database error");
		return (DB_ERROR);
	}
	if ((st = db_value(c, 0, 0)) == NULL || atoi(st) != 200) {
		(void)db_status_reply(c, "refused");
		return (DB_ERROR);
	}
	if ((*facts = db_json(c, 0, 1)) == NULL) {
		(void)problem_internal(c, "orgs: bad year facts");
		return (DB_ERROR);
	}
	return (DB_OK);
}

static int64_t
orgs_int(json_t *obj, const char *name)
{
	return ((int64_t)json_integer_value(json_object_get(obj, name)));
}

/*
 * The report of a year against its plan.  share_bps is the paired-region
 * spend's share of the plan's budget; on_track holds when that spend has
 * reached the reserved amount prorated by the whole Shanghai days of the
 * year gone by (expected_fen; see modules/quota.h).  Without a plan for
 * the year, these and the plan's figures are null.
 */
static int
org_report(struct http_request *req)
{
	struct call	     *c = http_state_get(req);
	struct quota_progress q;
	json_t		     *f, *plan, *out;
	int		      rc;

	if ((rc = orgs_year_facts(c, &f)) == DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc != DB_OK)
		return (HTTP_STATE_COMPLETE);

	memset(&q, 0, sizeof(q));
	plan = json_object_get(f, "plan");
	q.paired_fen = orgs_int(f, "paired_region_spend_fen");
	q.year = (int)orgs_int(f, "year");
	q.today_year = (int)orgs_int(f, "today_year");
	q.today_yday = (int)orgs_int(f, "today_yday");
	q.budget_fen = orgs_int(plan, "budget_fen");
	q.reserved_fen = orgs_int(plan, "reserved_fen");
	if (!quota_progress(&q)) {
		json_decref(f);
		return (problem_internal(c, "orgs: report out of range"));
	}

	out = json_pack("{s:I, s:O, s:O, s:O, s:O, s:O, s:O, s:i, s:i}",
	    "org_id", (json_int_t)c->match.ids[0], "year",
	    json_object_get(f, "year"), "spend_fen",
	    json_object_get(f, "spend_fen"), "paired_region_spend_fen",
	    json_object_get(f, "paired_region_spend_fen"), "orders",
	    json_object_get(f, "orders"), "by_region",
	    json_object_get(f, "by_region"), "as_of",
	    json_object_get(f, "as_of"), "elapsed_days", q.elapsed_days,
	    "year_days", q.year_days);
	if (json_is_object(plan)) {
		json_object_set_new(
		    out, "share_bps", json_integer((json_int_t)q.share_bps));
		json_object_set(
		    out, "budget_fen", json_object_get(plan, "budget_fen"));
		json_object_set(
		    out, "reserved_fen", json_object_get(plan, "reserved_fen"));
		json_object_set(out, "reserved_share_bps",
		    json_object_get(plan, "reserved_share_bps"));
		json_object_set_new(out, "expected_fen",
		    json_integer((json_int_t)q.expected_fen));
		json_object_set_new(out, "on_track", json_boolean(q.on_track));
	} else {
		json_object_set_new(out, "share_bps", json_null());
		json_object_set_new(out, "budget_fen", json_null());
		json_object_set_new(out, "reserved_fen", json_null());
		json_object_set_new(out, "reserved_share_bps", json_null());
		json_object_set_new(out, "expected_fen", json_null());
		json_object_set_new(out, "on_track", json_null());
	}
	json_decref(f);
	json_reply(c, 200, out);
	return (HTTP_STATE_COMPLETE);
}

/*
 * The certificate of a year: what the organisation bought from the paired
 * regions and paid for (refunds taken out), by region, and the poor
 * households its vendors link; token signs exactly these facts.
 */
static int
org_certificate(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *f, *facts, *regions, *r;
	char	    *s, *tok;
	size_t	     i;
	int	     rc;

	if ((rc = orgs_year_facts(c, &f)) == DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc != DB_OK)
		return (HTTP_STATE_COMPLETE);

	regions = json_array();
	json_array_foreach(json_object_get(f, "by_region"), i, r)
	{
		json_array_append_new(regions,
		    json_pack("{s:O, s:O, s:O}", "code",
			json_object_get(r, "code"), "name",
			json_object_get(r, "name"), "amount_fen",
			json_object_get(r, "spend_fen")));
	}
	facts = json_pack("{s:O, s:O, s:O, s:o, s:O, s:O, s:O}", "org",
	    json_object_get(f, "org"), "year", json_object_get(f, "year"),
	    "amount_fen", json_object_get(f, "paired_region_spend_fen"),
	    "by_region", regions, "households_linked",
	    json_object_get(f, "households_linked"), "orders",
	    json_object_get(f, "orders"), "as_of", json_object_get(f, "as_of"));
	json_decref(f);
	s = json_dumps(facts, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL || !auth_cert_issue(s, &tok)) {
		free(s);
		json_decref(facts);
		return (problem(c, 503, "unavailable",
		    "certificates cannot be signed now"));
	}
	free(s);
	json_object_set_new(facts, "token", json_string(tok));
	free(tok);
	json_reply(c, 200, facts);
	return (HTTP_STATE_COMPLETE);
}

/* Anyone may check a certificate: the facts it signs, or 422. */
static int
certificate_verify(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *facts, *errs = NULL;
	json_error_t err;
	const char  *tok;
	char	    *raw, when[32];
	long	     iat;
	time_t	     t;
	struct tm    tm;

	tok = query_get(&c->qs, "token");
	if (tok == NULL || *tok == '\0') {
		problem_field_add(&errs, "token", "a certificate token");
		return (problem_validation(c, errs));
	}
	if (!auth_cert_verify(tok, &raw, &iat))
		return (problem(c, 422, "invalid_certificate",
		    "this is not a certificate signed by bangfu, or it was "
		    "altered"));
	facts = json_loads(raw, 0, &err);
	free(raw);
	if (facts == NULL || !json_is_object(facts)) {
		if (facts != NULL)
			json_decref(facts);
		return (problem(c, 422, "invalid_certificate",
		    "the certificate carries no facts"));
	}
	t = (time_t)iat;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(when, sizeof(when), "%ld", iat);
	json_object_set_new(facts, "issued_at", json_string(when));
	json_object_set_new(facts, "valid", json_true());
	json_reply(c, 200, facts);
	return (HTTP_STATE_COMPLETE);
}

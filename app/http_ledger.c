/*
 * http_ledger: the 台账 (clause 十五) for operators, grouped by period and
 * dimension, as JSON or CSV, and the public impact totals of the year.
 * Each answer is one statement over the ledger's summary (004_ledger.sql).
 */

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "db.h"
#include "problem.h"
#include "routes.h"
#include "csvout.h"
#include "validate.h"

static int ledger_get(struct http_request *);
static int impact_get(struct http_request *);

ONE(ledger_states, ledger_get);
ONE(impact_states, impact_get);

struct api_route routes_ledger[] = {
	{ HTTP_METHOD_GET, "/admin/ledger", "admin_ledger", AUTH_ADMIN,
	    STATES(ledger_states), 0, NULL },
	{ HTTP_METHOD_GET, "/impact", "impact", CACHEABLE,
	    STATES(impact_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL },
};

/* The columns of a row after key and name, as the JSON names them. */
static const char *const ledger_fields[] = { "orders", "lines", "gmv_fen",
	"poverty_county_gmv_fen", "qualified_vendor_gmv_fen", "bxbp_gmv_fen",
	"households_linked", NULL };

static void
ledger_csv_text(struct kore_buf *buf, const char *s, int flags)
{
	char   small[512], *big;
	size_t len, need;

	len = strlen(s);
	need = csvout_field(small, sizeof(small), s, len, flags);
	if (need < sizeof(small)) {
		kore_buf_append(buf, small, need);
		return;
	}
	big = kore_malloc(need + 1);
	(void)csvout_field(big, need + 1, s, len, flags);
	kore_buf_append(buf, big, need);
	kore_free(big);
}

/* A JSON value as one CSV field: text defused, integers as digits. */
static void
ledger_csv_value(struct kore_buf *buf, json_t *v)
{
	if (json_is_string(v))
		ledger_csv_text(buf, json_string_value(v), CSVOUT_TEXT);
	else if (json_is_integer(v))
		kore_buf_appendf(buf, "%lld", (long long)json_integer_value(v));
}

/* One line: key and name (given, or the row's), then the numbers. */
static void
ledger_csv_row(
    struct kore_buf *buf, json_t *row, const char *key, const char *name)
{
	int i;

	if (key != NULL)
		ledger_csv_text(buf, key, CSVOUT_TEXT);
	else
		ledger_csv_value(buf, json_object_get(row, "key"));
	kore_buf_append(buf, ",", 1);
	if (name != NULL)
		ledger_csv_text(buf, name, CSVOUT_TEXT);
	else
		ledger_csv_value(buf, json_object_get(row, "name"));
	for (i = 0; ledger_fields[i] != NULL; i++) {
		kore_buf_append(buf, ",", 1);
		ledger_csv_value(buf, json_object_get(row, ledger_fields[i]));
	}
	kore_buf_append(buf, "\r\n", 2);
}

/*
 * The JSON answer the statement built, as CSV for spreadsheets: UTF-8 with
 * a byte-order mark (or Excel reads the names as GBK), CRLF lines, a
 * header, one line per group and a last line "total" with the totals.
 */
static int
ledger_csv(struct call *c, const char *group, const char *from, const char *to)
{
	struct kore_buf *buf;
	json_error_t	 err;
	json_t		*doc, *rows, *row;
	const char	*v;
	char		 disp[128];
	size_t		 i;
	int		 k;

	if ((v = db_value(c, 0, 0)) == NULL)
		return (problem_internal(c, "ledger: no answer"));
	if ((doc = json_loads(v, 0, &err)) == NULL)
		return (problem_internal(c, "ledger: answer is not JSON"));
	rows = json_object_get(doc, "rows");
	if (!json_is_array(rows) ||
	    !json_is_object(json_object_get(doc, "totals"))) {
		json_decref(doc);
		return (problem_internal(c, "ledger: answer without rows"));
	}

	buf = kore_buf_alloc(4096);
	kore_buf_append(buf, "\xEF\xBB\xBF", 3);
	kore_buf_appendf(buf, "key,name");
	for (k = 0; ledger_fields[k] != NULL; k++)
		kore_buf_appendf(buf, ",%s", ledger_fields[k]);
	kore_buf_append(buf, "\r\n", 2);
	json_array_foreach(rows, i, row)
	{
		ledger_csv_row(buf, row, NULL, NULL);
	}
	ledger_csv_row(buf, json_object_get(doc, "totals"), "total", "合计");
	json_decref(doc);

	(void)snprintf(disp, sizeof(disp),
	    "attachment; filename=\"ledger-%s-%s-%s.csv\"", group, from, to);
	http_response_header(c->req, "content-disposition", disp);
	json_reply_typed(c, 200, "text/csv; charset=utf-8",
	    (const char *)buf->data, buf->offset);
	kore_buf_free(buf);
	return (HTTP_STATE_COMPLETE);
}

/* CSV when Accept names text/csv; JSON for anything else, or none. */
static int
ledger_wants_csv(struct http_request *req)
{
	const char *accept;

	if (!http_request_header(req, "accept", &accept))
		return (0);
	return (strcasestr(accept, "text/csv") != NULL);
}

static int
ledger_get(struct http_request *req)
{
	static const char *const groups[] = { "region", "county", "vendor",
		"org", "category", "month", NULL };
	struct call		*c = http_state_get(req);
	json_t			*errs = NULL;
	const char		*group, *v[3];
	char			 from[11], to[11];

	/* Parsed on every entry: a queued query is sent on a later one. */
	(void)snprintf(from, sizeof(from), "1970-01-01");
	(void)snprintf(to, sizeof(to), "9999-12-31");
	group = query_get(&c->qs, "group_by");
	if (group == NULL || !validate_oneof(group, groups))
		problem_field_add(&errs, "group_by",
		    "region, county, vendor, org, category or month");
	if (query_date(&c->qs, "from", from) == QUERY_INVALID)
		problem_field_add(&errs, "from", "a date YYYY-MM-DD");
	if (query_date(&c->qs, "to", to) == QUERY_INVALID)
		problem_field_add(&errs, "to", "a date YYYY-MM-DD");
	if (errs == NULL && strcmp(from, to) > 0)
		problem_field_add(&errs, "to", "not before from");
	if (errs != NULL)
		return (problem_validation(c, errs));

	v[0] = from;
	v[1] = to;
	v[2] = group;
	switch (db_poll(c, "SELECT api_ledger($1::date, $2::date, $3)", 3, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "ledger: database error"));
	}
	if (ledger_wants_csv(req))
		return (ledger_csv(c, group, from, to));
	return (db_json_reply(c, 200));
}

/* Public and cached: changes at most 60 s late (see README's cache). */
static int
impact_get(struct http_request *req)
{
	struct call *c = http_state_get(req);

	return (db_json_call(c, "SELECT api_impact()", 0, NULL));
}

/*
 * problem: errors in the contract's format, RFC 9457 problem+json with a
 * stable code.  Each one logs a line carrying the request id.
 */

#include <string.h>

#include "api.h"
#include "answer.h"
#include "db.h"
#include "problem.h"

static const char *
problem_title(int status)
{
	switch (status) {
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 409: return ("Conflict");
	case 413: return ("Content Too Large");
	case 422: return ("Unprocessable Content");
	case 429: return ("Too Many Requests");
	case 503: return ("Service Unavailable");
	default: return ("Internal Server Error");
	}
}

/* Answers the problem; errors (may be NULL) is stolen. */
int
problem_fields(struct call *c, int status, const char *code, const char *detail,
    json_t *errors)
{
	json_t	   *o;
	char	   *s;
	const char *rid;

	o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank",
	    "title", problem_title(status), "status", status, "detail", detail,
	    "code", code);
	if (errors != NULL)
		json_object_set_new(o, "errors", errors);

	rid = c->rid[0] ? c->rid : "-";
	kore_log(status >= 500 ? LOG_ERR : LOG_INFO, "req %s %s %s: %d %s: %s",
	    rid, http_method_text(c->req->method), c->req->path, status, code,
	    detail);

	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	json_reply_typed(
	    c, status, "application/problem+json", s, s ? strlen(s) : 0);
	free(s);
	return (HTTP_STATE_COMPLETE);
}

int
problem(struct call *c, int status, const char *code, const char *detail)
{
	return (problem_fields(c, status, code, detail, NULL));
}

/* Adds {field, message} to the list *errs, creating it. */
void
problem_field_add(json_t **errs, const char *field, const char *message)
{
	if (*errs == NULL)
		*errs = json_array();
	json_array_append_new(
	    *errs, json_pack("{s:s, s:s}", "field", field, "message", message));
}

/* 422 validation_failed when errs holds anything; else 0. */
int
problem_validation(struct call *c, json_t *errs)
{
	if (errs == NULL)
		return (0);
	return (problem_fields(
	    c, 422, "validation_failed", "some fields are invalid", errs));
}

/*
 * A fault of ours is 500; a database connection lost (SQLSTATE classes 08
 * and 57, e.g. PostgreSQL restarting) is 503 with Retry-After, since the
 * next connection of the pool will do.
 */
int
problem_internal(struct call *c, const char *why)
{
	kore_log(LOG_ERR, "internal: %s", why);
	if (db_lost(c)) {
		http_response_header(c->req, "retry-after", "1");
		return (problem(c, 503, "unavailable",
		    "the database connection was lost; try again"));
	}
	return (problem(c, 500, "internal", "internal error"));
}

/*
 * The message of a field checked against limits, made of the limits the
 * check reads so the two never drift apart: "<what> from <min> to <max>",
 * e.g. "an integer from 0 to 10000".
 */
void
problem_field_range(json_t **errs, const char *field, const char *what,
    int64_t min, int64_t max)
{
	char m[160];

	(void)snprintf(m, sizeof(m), "%s from %lld to %lld", what,
	    (long long)min, (long long)max);
	problem_field_add(errs, field, m);
}

/*
 * The same for a text of min to max characters: "1 to 100 characters",
 * or "at most 500 characters" when it may be empty.
 */
void
problem_field_chars(json_t **errs, const char *field, long min, long max)
{
	char m[96];

	if (min == 0)
		(void)snprintf(m, sizeof(m), "at most %ld characters", max);
	else
		(void)snprintf(m, sizeof(m), "%ld to %ld characters", min, max);
	problem_field_add(errs, field, m);
}

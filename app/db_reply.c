/*
 * db_reply: answers made of a statement's result: the JSON the statement
 * built, or the verdict of a (status, body) function as the contract's
 * answer or problem.
 */

#include <stdlib.h>
#include <string.h>

#include "bangfu.h"

/*
 * Answers with the JSON text in the first column of the first row, which
 * the statement built; no row or NULL is 404.  Cacheable routes keep it.
 */
int
db_json_reply(struct call *c, int status)
{
	const char *v;
	size_t	    len;

	if ((v = db_value(c, 0, 0)) == NULL)
		return (problem(c, 404, "not_found", "no such resource"));
	len = db_length(c, 0, 0);
	if (c->route != NULL && (c->route->flags & CACHEABLE) && status == 200)
		cache_store(c, status, v, len);
	json_reply_raw(c, status, v, len);
	return (HTTP_STATE_COMPLETE);
}

/*
 * Runs a statement that builds the whole JSON answer (NULL is 404) and
 * answers with it: most read routes are this and nothing more.
 */
int
db_json_call(struct call *c, const char *sql, int n, const char **v)
{
	switch (db_poll(c, sql, n, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "database error"));
	}
	return (db_json_reply(c, 200));
}

/*
 * What a (status, body) function's refusal means, for people: the route's
 * own words for its codes first, then the shared ones, else what.
 */
static const char *
db_code_detail(struct call *c, const char *code, const char *what)
{
	const struct code_detail *d;

	static const struct {
		const char *code;
		const char *detail;
	} details[] = {
		{ "idempotency_key_reused",
		    "this Idempotency-Key was used with another body" },
		{ "idempotency_in_progress",
		    "a request with this Idempotency-Key is still in progress" },
		{ "insufficient_stock",
		    "some lines are short of stock; nothing was taken" },
		{ "invalid_transition",
		    "the order's status does not allow this" },
		{ "amount_mismatch", "the amount does not match the payment" },
		{ "vendor_exists",
		    "this account has applied as a vendor already" },
		{ "credit_code_taken",
		    "a vendor with this credit code exists" },
		{ "vendor_not_approved",
		    "the vendor is not approved: it cannot publish" },
		{ "no_vendor",
		    "no vendor profile: apply first (POST /vendors)" },
		{ "batch_exists", "this product has a batch with this code" },
	};
	size_t i;

	if ((d = route_details(c->route)) != NULL) {
		for (; d->code != NULL; d++) {
			if (strcmp(d->code, code) == 0)
				return (d->detail);
		}
	}
	for (i = 0; i < sizeof(details) / sizeof(details[0]); i++) {
		if (strcmp(details[i].code, code) == 0)
			return (details[i].detail);
	}
	return (what);
}

/*
 * The answer of a (status, body) function: the body itself below 300,
 * else a problem with the body's code, its detail (or the code's, or
 * what), and its errors; a validation failure that names one field gets
 * that field as its errors list.
 */
int
db_status_reply(struct call *c, const char *what)
{
	const char *st;

	if ((st = db_value(c, 0, 0)) == NULL)
		return (problem(c, 404, "not_found", "no such resource"));
	return (db_answer(c, atoi(st), db_value(c, 0, 1), what));
}

/* The same for a (status, body) pair that came some other way. */
int
db_answer(struct call *c, int status, const char *raw, const char *what)
{
	const char  *code, *detail, *field;
	json_t	    *b, *errs;
	json_error_t err;
	int	     r;

	if (status < 300) {
		json_reply_raw(
		    c, status, raw ? raw : "{}", raw ? strlen(raw) : 2);
		return (HTTP_STATE_COMPLETE);
	}
	b = raw ? json_loads(raw, 0, &err) : NULL;
	if ((code = json_string_value(json_object_get(b, "code"))) == NULL)
		code = status == 404 ? "not_found" : "conflict";
	detail = json_string_value(json_object_get(b, "detail"));
	if ((errs = json_object_get(b, "errors")) != NULL) {
		json_incref(errs);
	} else if (strcmp(code, "validation_failed") == 0) {
		field = json_string_value(json_object_get(b, "field"));
		problem_field_add(
		    &errs, field ? field : "body", detail ? detail : "invalid");
		detail = "some fields are invalid";
	}
	r = problem_fields(c, status, code,
	    detail ? detail : db_code_detail(c, code, what), errs);
	json_decref(b);
	return (r);
}

/*
 * Runs a (status, body) function and answers with its result; on success
 * committed (if any) runs first: a catalog write passes invalidate_catalog.
 */
int
db_status_call(struct call *c, const char *sql, int n, const char **v,
    void (*committed)(void), const char *what)
{
	const char *st;

	switch (db_poll(c, sql, n, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "database error"));
	}
	st = db_value(c, 0, 0);
	if (committed != NULL && st != NULL && atoi(st) < 300)
		committed();
	return (db_status_reply(c, what));
}

/*
 * db_reply: answers made of a statement's result: the JSON the statement
 * built, or the verdict of a (status, body) function as the contract's
 * answer or problem.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "cache.h"
#include "db.h"
#include "problem.h"
#include "routes.h"
#include "validate.h"

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

/* The detail of code in the list d (ended by NULLs), or NULL. */
static const char *
db_detail_in(const struct code_detail *d, const char *code)
{
	for (; d != NULL && d->code != NULL; d++) {
		if (strcmp(d->code, code) == 0)
			return (d->detail);
	}
	return (NULL);
}

/*
 * What a (status, body) function's refusal means, for people: the route's
 * own words for its codes first, then those of the refusals many tables
 * raise (shared_details, app/routes.c), else what.
 */
static const char *
db_code_detail(struct call *c, const char *code, const char *what)
{
	const struct code_detail *const *l;
	const char			*s;

	if ((s = db_detail_in(route_details(c->route), code)) != NULL)
		return (s);
	for (l = shared_details; *l != NULL; l++) {
		if ((s = db_detail_in(*l, code)) != NULL)
			return (s);
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

/*
 * A page of the caller's own as the JSON a statement builds: sql takes the
 * caller's id, then ?status= when the route filters on it (states, ended
 * by NULL, with what as its refusal; NULL for no filter), then the page
 * and per_page.
 */
int
db_json_page(struct call *c, const char *sql, const char *const *states,
    const char *what)
{
	json_t	   *errs = NULL;
	const char *st = NULL, *v[4];
	char	    uid[24], p[24], pp[24];
	int	    n = 0;

	if (states != NULL) {
		st = query_get(&c->qs, "status");
		if (st != NULL && !validate_oneof(st, states))
			problem_field_add(&errs, "status", what);
	}
	(void)call_paging(c, &errs, p, pp, sizeof(p));
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	v[n++] = uid;
	if (states != NULL)
		v[n++] = st;
	v[n++] = p;
	v[n++] = pp;
	return (db_json_call(c, sql, n, v));
}

/* The thing of the path's first id, as the caller may see it: sql's JSON. */
int
db_json_mine(struct call *c, const char *sql)
{
	char	    uid[24];
	const char *v[2];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	return (db_json_call(c, sql, 2, v));
}

/*
 * The caller's act on the thing of the path's first id, with one word
 * (arg; NULL when the function takes only the two): a (status, body)
 * function, answered as db_status_call does.
 */
int
db_status_mine(struct call *c, const char *sql, const char *arg,
    void (*committed)(void), const char *what)
{
	char	    uid[24];
	const char *v[3];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = arg;
	return (db_status_call(c, sql, arg ? 3 : 2, v, committed, what));
}

/*
 * An operator's rule saved by a (status, body) function of the path's id
 * (NULL to create one), the body as JSON and the caller's id.
 */
int
db_status_save(struct call *c, const char *sql, int create,
    void (*committed)(void), const char *what)
{
	char	    uid[24], *s;
	const char *v[3];
	int	    rc;

	call_uid(c, uid, sizeof(uid));
	s = json_dumps(c->body, JSON_COMPACT);
	v[0] = create ? NULL : c->match.params[0];
	v[1] = s;
	v[2] = uid;
	rc = db_status_call(c, sql, 3, v, committed, what);
	free(s);
	return (rc);
}

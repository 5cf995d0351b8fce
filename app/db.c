/*
 * db: the adapter to Kore's asynchronous pgsql layer.  A request runs one
 * statement at a time through db_poll(), asleep while PostgreSQL works, and
 * keeps the whole result for the state that reads it.
 */

#include <stdlib.h>
#include <string.h>

#include "bangfu.h"

#define DB_NAME "db"

#define PHASE_START 0
#define PHASE_SETUP 1
#define PHASE_WAIT  2
#define PHASE_DONE  3

static int db_finish(struct call *, int);

int
db_init(void)
{
	if (!kore_pgsql_register(DB_NAME, cfg.database_url)) {
		kore_log(LOG_ERR, "db: cannot register database");
		return (KORE_RESULT_ERROR);
	}
	return (KORE_RESULT_OK);
}

/*
 * Drives sql with n text parameters (NULL is SQL NULL).  Returns DB_PENDING
 * while the request sleeps, then DB_OK with the result in c->db.res, or
 * DB_ERROR with the SQLSTATE in c->db.sqlstate.  The parameters need only
 * live until the first call returns: libpq copies them when it sends.
 */
int
db_poll(struct call *c, const char *sql, int n, const char **vals)
{
	struct db_query *q = &c->db;
	PGresult	*r;
	const char	*st;

	/* A different statement after a finished one starts afresh. */
	if (q->phase == PHASE_DONE && q->sql != sql)
		db_reset(q);
	/* Never another statement's answer: one at a time. */
	if ((q->phase == PHASE_SETUP || q->phase == PHASE_WAIT) &&
	    q->sql != sql) {
		kore_log(LOG_ERR, "db: a statement is still pending");
		return (DB_ERROR);
	}

	switch (q->phase) {
	case PHASE_START:
		q->sql = sql;
		kore_pgsql_init(&q->pg);
		kore_pgsql_bind_request(&q->pg, c->req);
		q->phase = PHASE_SETUP;
		/* FALLTHROUGH */
	case PHASE_SETUP:
		if (!kore_pgsql_setup(&q->pg, DB_NAME, KORE_PGSQL_ASYNC)) {
			/* Queued for a free connection: woken when one is. */
			if (q->pg.state == KORE_PGSQL_STATE_INIT)
				return (DB_PENDING);
			metrics_count("db_errors");
			kore_log(LOG_ERR, "db: setup: %s",
			    q->pg.error ? q->pg.error : "?");
			return (db_finish(c, DB_ERROR));
		}
		if (!kore_pgsql_query_param_fields(
			&q->pg, sql, 0, n, vals, NULL, NULL)) {
			metrics_count("db_errors");
			kore_log(LOG_ERR, "db: send: %s",
			    q->pg.error ? q->pg.error : "?");
			return (db_finish(c, DB_ERROR));
		}
		q->phase = PHASE_WAIT;
		return (DB_PENDING);
	case PHASE_DONE: return (q->sqlstate[0] ? DB_ERROR : DB_OK);
	}

	for (;;) {
		switch (q->pg.state) {
		case KORE_PGSQL_STATE_WAIT: return (DB_PENDING);
		case KORE_PGSQL_STATE_RESULT:
			if (q->res != NULL)
				PQclear(q->res);
			q->res = q->pg.result;
			q->pg.result = NULL;
			kore_pgsql_continue(&q->pg);
			break;
		case KORE_PGSQL_STATE_DONE: kore_pgsql_continue(&q->pg); break;
		case KORE_PGSQL_STATE_COMPLETE:
			return (
			    db_finish(c, q->sqlstate[0] ? DB_ERROR : DB_OK));
		case KORE_PGSQL_STATE_ERROR:
			r = q->pg.result;
			st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
			(void)snprintf(q->sqlstate, sizeof(q->sqlstate), "%s",
			    st ? st : "08000");
			/* Constraint failures are answers, not faults. */
			if (q->sqlstate[0] != '2' || q->sqlstate[1] != '3') {
				metrics_count("db_errors");
				kore_log(LOG_ERR, "db: %s: %s", q->sqlstate,
				    q->pg.error ? q->pg.error : "?");
			}
			/*
			 * A lost connection would only fail again: done.  A
			 * live one is read on to ReadyForQuery (no cancel).
			 */
			if (q->pg.conn == NULL ||
			    PQstatus(q->pg.conn->db) == CONNECTION_BAD)
				return (db_finish(c, DB_ERROR));
			kore_pgsql_continue(&q->pg);
			break;
		default: return (DB_PENDING);
		}
	}
}

/*
 * Ends pg's use of its connection.  One the server dropped (a restart)
 * would fail every statement after it: it is released without touching its
 * old socket (libpq has closed it, and epoll forgot it with it), then made
 * anew for the next user, as Kore connects its pool (blocking, bounded by
 * connect_timeout).  Releasing calls a callback statement back: not any more.
 */
void
db_release(struct kore_pgsql *pg)
{
	struct pgsql_conn *conn = pg->conn;
	int		   bad;

	bad = conn != NULL && PQstatus(conn->db) == CONNECTION_BAD;
	if (bad)
		pg->flags &= ~KORE_PGSQL_SCHEDULED;
	pg->cb = NULL;
	kore_pgsql_cleanup(pg);
	if (bad)
		PQreset(conn->db);
}

static int
db_finish(struct call *c, int result)
{
	struct db_query *q = &c->db;

	db_release(&q->pg);
	if (result == DB_ERROR && q->sqlstate[0] == '\0')
		(void)snprintf(q->sqlstate, sizeof(q->sqlstate), "08000");
	q->phase = PHASE_DONE;
	return (result);
}

/* Forgets the last statement so the request may run another. */
void
db_reset(struct db_query *q)
{
	if (q->phase == PHASE_SETUP || q->phase == PHASE_WAIT)
		db_release(&q->pg);
	if (q->res != NULL)
		PQclear(q->res);
	memset(q, 0, sizeof(*q));
}

/*
 * A JSON array of integers as a PostgreSQL array literal, for a bigint[]
 * parameter: the same text once bracketed.  Free with free().
 */
char *
db_array(json_t *ints)
{
	char *s;

	if ((s = json_dumps(ints, JSON_COMPACT)) == NULL)
		fatal("db_array: out of memory");
	s[0] = '{';
	s[strlen(s) - 1] = '}';
	return (s);
}

/* The value at (row, col) of the last result parsed as JSON, or NULL. */
json_t *
db_json(struct call *c, int row, int col)
{
	json_error_t err;
	const char  *raw;

	if ((raw = db_value(c, row, col)) == NULL)
		return (NULL);
	return (json_loads(raw, 0, &err));
}

int
db_rows(struct call *c)
{
	return (c->db.res ? PQntuples(c->db.res) : 0);
}

const char *
db_value(struct call *c, int row, int col)
{
	if (c->db.res == NULL || row >= PQntuples(c->db.res) ||
	    col >= PQnfields(c->db.res))
		return (NULL);
	if (PQgetisnull(c->db.res, row, col))
		return (NULL);
	return (PQgetvalue(c->db.res, row, col));
}

int
db_isnull(struct call *c, int row, int col)
{
	return (db_value(c, row, col) == NULL);
}

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
	len = (size_t)PQgetlength(c->db.res, 0, 0);
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

/* What a (status, body) function's refusal means, for people. */
static const char *
db_code_detail(const char *code, const char *what)
{
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
		{ "bxbp_taken",
		    "this county has its 百县百品 product already" },
		{ "not_poverty_county",
		    "百县百品 are designated in poverty counties only" },
		{ "vendor_not_approved",
		    "the vendor is not approved: it cannot publish" },
		{ "no_vendor",
		    "no vendor profile: apply first (POST /vendors)" },
		{ "batch_exists", "this product has a batch with this code" },
		{ "slug_taken", "a campaign with this slug exists" },
	};
	size_t i;

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
	    detail ? detail : db_code_detail(code, what), errs);
	json_decref(b);
	return (r);
}

/*
 * Runs a (status, body) function and answers with its result; on success
 * a catalog write empties the caches everywhere (see app/cache.c).
 */
int
db_status_call(struct call *c, const char *sql, int n, const char **v,
    int invalidate, const char *what)
{
	const char *st;

	switch (db_poll(c, sql, n, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "database error"));
	}
	st = db_value(c, 0, 0);
	if (invalidate && st != NULL && atoi(st) < 300)
		cache_invalidate();
	return (db_status_reply(c, what));
}

/*
 * Statements that no request waits for (timers): run on Kore's callback
 * mode, their errors logged; done, if any, gets the first value of the
 * first row.
 */
struct db_bg {
	struct kore_pgsql pg;
	char		 *sql;
	int		  n;
	char		 *vals[8];
	void (*done)(const char *);
};

static void db_bg_cb(struct kore_pgsql *, void *);
static void db_bg_send(struct db_bg *);

static void
db_bg_resend(void *arg, u_int64_t now)
{
	(void)now;
	db_bg_send(arg);
}

static void
db_bg_free(struct db_bg *bg)
{
	int i;

	db_release(&bg->pg);
	for (i = 0; i < bg->n; i++)
		kore_free(bg->vals[i]);
	kore_free(bg->sql);
	kore_free(bg);
}

static void
db_bg_send(struct db_bg *bg)
{
	if (!kore_pgsql_setup(&bg->pg, DB_NAME, KORE_PGSQL_ASYNC)) {
		if (bg->pg.state == KORE_PGSQL_STATE_INIT)
			return; /* queued: the callback comes back */
		kore_log(LOG_ERR, "db: background: %s",
		    bg->pg.error ? bg->pg.error : "?");
		db_bg_free(bg);
		return;
	}
	if (!kore_pgsql_query_param_fields(&bg->pg, bg->sql, 0, bg->n,
		(const char **)bg->vals, NULL, NULL)) {
		kore_log(LOG_ERR, "db: background: %s",
		    bg->pg.error ? bg->pg.error : "?");
		db_bg_free(bg);
	}
}

static void
db_bg_cb(struct kore_pgsql *pg, void *arg)
{
	struct db_bg *bg = arg;

	switch (pg->state) {
	case KORE_PGSQL_STATE_INIT:
		/* Called from Kore's wait queue: send, or fail, from outside it. */
		kore_timer_add(db_bg_resend, 0, bg, KORE_TIMER_ONESHOT);
		break;
	case KORE_PGSQL_STATE_WAIT: break;
	case KORE_PGSQL_STATE_RESULT:
		if (bg->done != NULL && kore_pgsql_ntuples(pg) > 0 &&
		    !PQgetisnull(pg->result, 0, 0))
			bg->done(kore_pgsql_getvalue(pg, 0, 0));
		kore_pgsql_continue(pg);
		break;
	case KORE_PGSQL_STATE_DONE: kore_pgsql_continue(pg); break;
	case KORE_PGSQL_STATE_ERROR:
		metrics_count("db_errors");
		kore_log(
		    LOG_ERR, "db: background: %s", pg->error ? pg->error : "?");
		/* Reading on from a lost connection fails again, forever. */
		if (pg->conn != NULL &&
		    PQstatus(pg->conn->db) != CONNECTION_BAD)
			kore_pgsql_continue(pg);
		else
			db_bg_free(bg);
		break;
	case KORE_PGSQL_STATE_COMPLETE: db_bg_free(bg); break;
	default: break;
	}
}

void
db_background(
    const char *sql, int n, const char **vals, void (*done)(const char *))
{
	struct db_bg *bg;
	int	      i;

	if (n > 8)
		fatal("db_background: too many parameters");
	bg = kore_calloc(1, sizeof(*bg));
	kore_pgsql_init(&bg->pg);
	kore_pgsql_bind_callback(&bg->pg, db_bg_cb, bg);
	bg->sql = kore_strdup(sql);
	bg->done = done;
	bg->n = n;
	for (i = 0; i < n; i++)
		bg->vals[i] = vals[i] ? kore_strdup(vals[i]) : NULL;
	db_bg_send(bg);
}

/*
 * db_call: a request's statements, one at a time through db_poll(),
 * asleep while the pool (app/db.c) runs them; the result kept for the
 * state that reads it.  Also statements no request waits for.
 */

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <libpq-fe.h>

#include "api.h"
#include "db.h"

#define PHASE_START 0
#define PHASE_WAIT  2
#define PHASE_DONE  3

static int
db_finish(struct db_query *q)
{
	if (q->res != NULL)
		PQclear(q->res);
	q->res = q->job.res;
	q->job.res = NULL;
	(void)snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", q->job.sqlstate);
	db_job_forget(&q->job);
	q->phase = PHASE_DONE;
	return (q->sqlstate[0] ? DB_ERROR : DB_OK);
}

/*
 * Drives sql with n text parameters (NULL is SQL NULL).  Returns DB_PENDING
 * while the request sleeps, then DB_OK with the result in c->db.res, or
 * DB_ERROR with the SQLSTATE in c->db.sqlstate.  The parameters need only
 * live until the first call returns: they are copied.
 */
int
db_poll(struct call *c, const char *sql, int n, const char **vals)
{
	struct db_query *q = &c->db;

	/* A different statement after a finished one starts afresh. */
	if (q->phase == PHASE_DONE && q->sql != sql)
		db_reset(q);
	/* Never another statement's answer: one at a time. */
	if (q->phase == PHASE_WAIT && q->sql != sql) {
		kore_log(LOG_ERR, "db: a statement is still pending");
		return (DB_ERROR);
	}

	switch (q->phase) {
	case PHASE_START:
		q->sql = sql;
		q->job.req = c->req;
		q->job.cb = NULL;
		if (!db_submit(&q->job, sql, n, vals))
			return (db_finish(q));
		q->phase = PHASE_WAIT;
		http_request_sleep(c->req);
		return (DB_PENDING);
	case PHASE_WAIT:
		if (!db_job_done(&q->job)) {
			/* Woken by something else: sleep on. */
			http_request_sleep(c->req);
			return (DB_PENDING);
		}
		return (db_finish(q));
	}
	return (q->sqlstate[0] ? DB_ERROR : DB_OK);
}

/* Whether the request's statement was sent (it may be done). */
int
db_started(struct call *c)
{
	return (c->db.phase != PHASE_START);
}

/*
 * Whether the last statement failed with the connection (SQLSTATE classes
 * 08 and 57, e.g. PostgreSQL restarting): the next one of the pool will do.
 */
int
db_lost(struct call *c)
{
	const char *st = c->db.sqlstate;

	return (
	    (st[0] == '0' && st[1] == '8') || (st[0] == '5' && st[1] == '7'));
}

/* The length of the value at (row, col) of the last result. */
size_t
db_length(struct call *c, int row, int col)
{
	if (db_value(c, row, col) == NULL)
		return (0);
	return ((size_t)PQgetlength(c->db.res, row, col));
}

/* Forgets the last statement so the request may run another. */
void
db_reset(struct db_query *q)
{
	db_job_forget(&q->job);
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
 * Statements that no request waits for (timers): their errors logged;
 * done, if any, gets the first value of the first row.
 */
struct db_bg {
	struct db_job job; /* first */
	char	     *sql;
	void (*done)(const char *);
};

static void
db_bg_cb(struct db_job *j)
{
	struct db_bg *bg = (struct db_bg *)j;

	if (j->sqlstate[0] != '\0')
		kore_log(LOG_ERR, "db: background: %s", j->sqlstate);
	else if (bg->done != NULL && j->res != NULL && PQntuples(j->res) > 0 &&
	    !PQgetisnull(j->res, 0, 0))
		bg->done(PQgetvalue(j->res, 0, 0));
	db_job_forget(j);
	kore_free(bg->sql);
	kore_free(bg);
}

void
db_background(
    const char *sql, int n, const char **vals, void (*done)(const char *))
{
	struct db_bg *bg;

	bg = kore_calloc(1, sizeof(*bg));
	bg->sql = kore_strdup(sql);
	bg->done = done;
	bg->job.cb = db_bg_cb;
	if (!db_submit(&bg->job, bg->sql, n, vals)) {
		kore_log(LOG_ERR, "db: background: %s", bg->job.sqlstate);
		db_job_forget(&bg->job);
		kore_free(bg->sql);
		kore_free(bg);
	}
}

/*
 * db: the adapter to Kore's asynchronous pgsql layer.  A request runs one
 * statement at a time through db_poll(), asleep while PostgreSQL works, and
 * keeps the whole result for the state that reads it.
 */

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
			if (q->pg.conn == NULL)
				return (db_finish(c, DB_ERROR));
			/* Read on to ReadyForQuery: no cancel round trip. */
			kore_pgsql_continue(&q->pg);
			break;
		default: return (DB_PENDING);
		}
	}
}

static int
db_finish(struct call *c, int result)
{
	struct db_query *q = &c->db;

	kore_pgsql_cleanup(&q->pg);
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
		kore_pgsql_cleanup(&q->pg);
	if (q->res != NULL)
		PQclear(q->res);
	memset(q, 0, sizeof(*q));
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
 * Statements that no request waits for (timers): run on Kore's callback
 * mode, their result ignored but their errors logged.
 */
struct db_bg {
	struct kore_pgsql pg;
	char		 *sql;
	int		  n;
	char		 *vals[8];
};

static void db_bg_cb(struct kore_pgsql *, void *);

static void
db_bg_free(struct db_bg *bg)
{
	int i;

	kore_pgsql_cleanup(&bg->pg);
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
	case KORE_PGSQL_STATE_INIT: db_bg_send(bg); break;
	case KORE_PGSQL_STATE_WAIT: break;
	case KORE_PGSQL_STATE_RESULT:
	case KORE_PGSQL_STATE_DONE: kore_pgsql_continue(pg); break;
	case KORE_PGSQL_STATE_ERROR:
		metrics_count("db_errors");
		kore_log(
		    LOG_ERR, "db: background: %s", pg->error ? pg->error : "?");
		if (pg->conn != NULL)
			kore_pgsql_continue(pg);
		else
			db_bg_free(bg);
		break;
	case KORE_PGSQL_STATE_COMPLETE: db_bg_free(bg); break;
	default: break;
	}
}

void
db_background(const char *sql, int n, const char **vals)
{
	struct db_bg *bg;
	int	      i;

	if (n > 8)
		fatal("db_background: too many parameters");
	bg = kore_calloc(1, sizeof(*bg));
	kore_pgsql_init(&bg->pg);
	kore_pgsql_bind_callback(&bg->pg, db_bg_cb, bg);
	bg->sql = kore_strdup(sql);
	bg->n = n;
	for (i = 0; i < n; i++)
		bg->vals[i] = vals[i] ? kore_strdup(vals[i]) : NULL;
	db_bg_send(bg);
}

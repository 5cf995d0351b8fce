/*
 * db: PostgreSQL on Kore's event loop, the pool and its jobs.  Each worker
 * keeps a small pool of its own (pgsql_conn_max connections) instead of
 * Kore's, whose connecting, resetting and cancelling block the worker; a
 * connection's own life (made without blocking, statements in and out, a
 * backoff after a drop) is app/db_conn.c's.
 *
 * A request runs one statement at a time through db_poll(), asleep while
 * PostgreSQL works, and keeps the whole result for the state that reads
 * it.  Requests and callbacks (the placer, timers) wait for a connection in
 * one queue, bounded like pgsql_queue_limit and in time.  A statement that
 * does not come back within its deadline (PostgreSQL stopped, or a network
 * that drops everything) fails as a lost connection (503) and its
 * connection is closed and made anew.  A request that leaves with its
 * statement in flight cancels nothing: the connection reads on to the end
 * of it, then serves the next.
 */

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include "db.h"
#include "config.h"
#include "metrics.h"
#include "db_conn.h"
#include "dbinfo.h"

#define DB_TICK_MS 100

static TAILQ_HEAD(, db_job) waiting = TAILQ_HEAD_INITIALIZER(waiting);
static TAILQ_HEAD(, db_job) done_jobs = TAILQ_HEAD_INITIALIZER(done_jobs);
static u_int32_t       nwaiting;
static struct db_conn *conns;
static int	       nconns;
static int	       done_armed, start_armed;
/* No connection up, and the last attempt to make one failed. */
static int pool_down;

static int statement_ms = 15000;
static int queue_ms = 10000;

static void db_tick(void *, u_int64_t);
static void db_dispatch(void);
static void db_job_complete(struct db_job *);
static void db_resolved(int);
static void db_start_due(void *, u_int64_t);
static void db_attempt_now(void);
static int  db_conns_up(void);
static void db_pool_down(void);
static void db_conn_up(void);
static void db_conn_failed(void);

static const struct db_conn_hooks db_hooks = {
	.resolved = db_resolved,
	.up = db_conn_up,
	.failed = db_conn_failed,
	.idle = db_dispatch,
	.job_done = db_job_complete,
};

int
db_init(void)
{
	int i;

	if (!dbinfo_load(cfg.database_url))
		return (KORE_RESULT_ERROR);
	statement_ms = cfg.db_statement_ms;
	queue_ms = cfg.db_queue_ms;
	nconns = pgsql_conn_max > 0 ? pgsql_conn_max : 2;
	conns = kore_calloc(nconns, sizeof(*conns));
	for (i = 0; i < nconns; i++)
		db_conn_setup(&conns[i], i, &db_hooks);
	/* One connection at once, for /readyz and the first request. */
	conns[0].used = 1;
	start_armed = 1;
	(void)kore_timer_add(db_start_due, 0, NULL, KORE_TIMER_ONESHOT);
	(void)kore_timer_add(db_tick, DB_TICK_MS, NULL, 0);
	return (KORE_RESULT_OK);
}

/* The addresses came (ready), or did not. */
static void
db_resolved(int ready)
{
	int i;

	for (i = 0; i < nconns; i++) {
		if (conns[i].state != DBC_RESOLVING)
			continue;
		if (ready) {
			db_conn_start(&conns[i]);
		} else {
			conns[i].state = DBC_DOWN;
			conns[i].next_try = kore_time_ms() + conns[i].backoff;
		}
	}
	if (!ready && db_conns_up() == 0)
		db_pool_down();
}

static int
db_conns_up(void)
{
	int i, n = 0;

	for (i = 0; i < nconns; i++) {
		if (conns[i].state >= DBC_IDLE)
			n++;
	}
	return (n);
}

/*
 * PostgreSQL cannot be reached (no connection up, and making one failed):
 * what waits for a connection fails at once, and what comes waits for one
 * attempt only (db_attempt_now), until a connection is made again.
 */
static void
db_pool_down(void)
{
	struct db_job *j;

	if (!pool_down)
		kore_log(LOG_NOTICE, "db: PostgreSQL cannot be reached");
	pool_down = 1;
	while ((j = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, j, list);
		nwaiting--;
		(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "08001");
		db_job_complete(j);
	}
}

/* A connection was made: the pool is up again, and serves the queue. */
static void
db_conn_up(void)
{
	pool_down = 0;
	db_dispatch();
}

/* Making a connection failed: when none is up, PostgreSQL is down. */
static void
db_conn_failed(void)
{
	if (db_conns_up() == 0)
		db_pool_down();
}

static void
db_start_due(void *arg, u_int64_t now)
{
	int i;

	(void)arg;
	(void)now;
	start_armed = 0;
	for (i = 0; i < nconns; i++) {
		if (conns[i].state == DBC_DOWN && conns[i].used &&
		    conns[i].next_try <= kore_time_ms())
			db_conn_start(&conns[i]);
	}
}

/*
 * While PostgreSQL cannot be reached, a statement that comes tries one
 * connection at once (past its backoff), unless one is being tried: it
 * fails when that attempt fails (at once when refused, within connect_ms
 * when nothing answers), and runs on it when PostgreSQL is back.
 */
static void
db_attempt_now(void)
{
	int i, down = -1;

	for (i = 0; i < nconns; i++) {
		if (conns[i].state == DBC_CONNECTING ||
		    conns[i].state == DBC_RESOLVING)
			return;
		if (conns[i].state == DBC_DOWN && down < 0)
			down = i;
	}
	if (down < 0)
		return;
	conns[down].used = 1;
	conns[down].next_try = 0;
	if (!start_armed) {
		start_armed = 1;
		kore_timer_add(db_start_due, 0, NULL, KORE_TIMER_ONESHOT);
	}
}

/*
 * Gives queued jobs to idle connections; when some wait still, wants one
 * more connection for each (started from a timer, never here).
 */
static void
db_dispatch(void)
{
	struct db_job *j;
	u_int32_t      want, coming;
	int	       i, idle;

	while ((j = TAILQ_FIRST(&waiting)) != NULL) {
		for (idle = -1, i = 0; i < nconns && idle < 0; i++) {
			if (conns[i].state == DBC_IDLE)
				idle = i;
		}
		if (idle < 0)
			break;
		TAILQ_REMOVE(&waiting, j, list);
		nwaiting--;
		if (!db_conn_send(&conns[idle], j, statement_ms)) {
			/* Not sent: nothing of it ran.  Back to the head. */
			TAILQ_INSERT_HEAD(&waiting, j, list);
			nwaiting++;
		}
	}
	if (nwaiting == 0)
		return;
	for (coming = 0, i = 0; i < nconns; i++) {
		if (conns[i].state == DBC_CONNECTING ||
		    conns[i].state == DBC_RESOLVING ||
		    (conns[i].state == DBC_DOWN && conns[i].used))
			coming++;
	}
	for (want = nwaiting, i = 0; i < nconns && coming < want; i++) {
		if (conns[i].state == DBC_DOWN && !conns[i].used) {
			conns[i].used = 1;
			conns[i].next_try = 0;
			coming++;
		}
	}
	if (!start_armed) {
		start_armed = 1;
		kore_timer_add(db_start_due, 0, NULL, KORE_TIMER_ONESHOT);
	}
}

/* Deadlines (connect, statement, queue) and reconnections. */
static void
db_tick(void *arg, u_int64_t unused)
{
	struct db_conn *dc;
	struct db_job  *j;
	u_int64_t	now;
	char		why[96];
	int		i;

	(void)arg;
	(void)unused;
	now = kore_time_ms();
	for (i = 0; i < nconns; i++) {
		dc = &conns[i];
		switch (dc->state) {
		case DBC_CONNECTING:
			if (now >= dc->deadline)
				db_conn_drop(dc, "connect timed out", NULL);
			break;
		case DBC_BUSY:
		case DBC_DRAIN:
			if (now < dc->deadline)
				break;
			(void)snprintf(why, sizeof(why),
			    "no answer in %d ms: abandoned", statement_ms);
			metrics_count("db_timeouts");
			db_conn_drop(dc, why, "57014");
			break;
		case DBC_DOWN:
			if (dc->used && now >= dc->next_try)
				db_conn_start(dc);
			break;
		}
	}
	while ((j = TAILQ_FIRST(&waiting)) != NULL && now >= j->deadline) {
		TAILQ_REMOVE(&waiting, j, list);
		nwaiting--;
		kore_log(LOG_NOTICE, "db: no connection in %d ms", queue_ms);
		metrics_count("db_timeouts");
		(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "08001");
		db_job_complete(j);
	}
}

/* Callbacks run from a timer: never inside the pool's own work. */
static void
db_run_done(void *arg, u_int64_t now)
{
	struct db_job *j;

	(void)arg;
	(void)now;
	done_armed = 0;
	while ((j = TAILQ_FIRST(&done_jobs)) != NULL) {
		TAILQ_REMOVE(&done_jobs, j, list);
		j->on_done_list = 0;
		j->cb(j);
	}
}

static void
db_job_complete(struct db_job *j)
{
	int i;

	if (j->vals != NULL) {
		for (i = 0; i < j->n; i++)
			kore_free(j->vals[i]);
		kore_free(j->vals);
		j->vals = NULL;
	}
	j->state = DB_JOB_DONE;
	if (j->req != NULL) {
		http_request_wakeup(j->req);
	} else if (j->cb != NULL) {
		TAILQ_INSERT_TAIL(&done_jobs, j, list);
		j->on_done_list = 1;
		if (!done_armed) {
			done_armed = 1;
			kore_timer_add(
			    db_run_done, 0, NULL, KORE_TIMER_ONESHOT);
		}
	}
}

/*
 * Queues j (its req or cb set) to run sql with n text parameters (NULL is
 * SQL NULL), copied.  Fails at once, with a sqlstate of class 08, when the
 * queue is full.
 */
int
db_submit(struct db_job *j, const char *sql, int n, const char **vals)
{
	int i;

	j->sql = sql;
	j->n = n;
	j->res = NULL;
	j->sqlstate[0] = '\0';
	j->sent = j->lost = 0;
	j->conn = NULL;
	j->vals = NULL;
	if (nwaiting >= pgsql_queue_limit) {
		kore_log(LOG_NOTICE, "db: queue full (%u)", nwaiting);
		metrics_count("db_errors");
		(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "08004");
		j->state = DB_JOB_DONE;
		return (KORE_RESULT_ERROR);
	}
	if (n > 0) {
		j->vals = kore_calloc(n, sizeof(*j->vals));
		for (i = 0; i < n; i++)
			j->vals[i] = vals[i] ? kore_strdup(vals[i]) : NULL;
	}
	j->state = DB_JOB_QUEUED;
	j->deadline = kore_time_ms() + (u_int64_t)queue_ms;
	TAILQ_INSERT_TAIL(&waiting, j, list);
	nwaiting++;
	if (pool_down)
		db_attempt_now();
	db_dispatch();
	return (KORE_RESULT_OK);
}

/*
 * Forgets j: out of the queue, or its connection reads on to the end of
 * the statement without it.  Its result is freed.
 */
void
db_job_forget(struct db_job *j)
{
	int i;

	switch (j->state) {
	case DB_JOB_QUEUED:
		TAILQ_REMOVE(&waiting, j, list);
		nwaiting--;
		break;
	case DB_JOB_SENT:
		if (j->conn != NULL) {
			j->conn->job = NULL;
			j->conn->state = DBC_DRAIN;
		}
		break;
	case DB_JOB_DONE:
		if (j->on_done_list) {
			TAILQ_REMOVE(&done_jobs, j, list);
			j->on_done_list = 0;
		}
		break;
	}
	if (j->vals != NULL) {
		for (i = 0; i < j->n; i++)
			kore_free(j->vals[i]);
		kore_free(j->vals);
		j->vals = NULL;
	}
	if (j->res != NULL)
		PQclear(j->res);
	j->res = NULL;
	j->conn = NULL;
	j->state = DB_JOB_IDLE;
}

/* Whether j has its answer (or its failure). */
int
db_job_done(struct db_job *j)
{
	return (j->state == DB_JOB_DONE);
}

/*
 * The worker leaves: each connection says goodbye (libpq's Terminate on a
 * non-blocking socket) and its memory goes back before the leak check.
 */
void
db_shutdown(void)
{
	int i;

	for (i = 0; i < nconns; i++) {
		if (conns[i].pg != NULL) {
			PQfinish(conns[i].pg);
			conns[i].pg = NULL;
		}
	}
}

/* The pool as /metrics shows it: connections up, busy, jobs queued. */
void
db_pool_stats(struct metrics_pool *pool)
{
	int i;

	pool->up = pool->busy = 0;
	for (i = 0; i < nconns; i++) {
		if (conns[i].state >= DBC_IDLE)
			pool->up++;
		if (conns[i].state >= DBC_BUSY)
			pool->busy++;
	}
	pool->queued = nwaiting;
	pool->queue_limit = pgsql_queue_limit;
	pool->conn_max = pgsql_conn_max;
}

/*
 * db: PostgreSQL on Kore's event loop.  Each worker keeps a small pool of
 * its own (pgsql_conn_max connections) instead of Kore's, whose connecting,
 * resetting and cancelling block the worker: here a connection is made
 * with PQconnectStartParams and PQconnectPoll driven by epoll, under a
 * deadline of ours (libpq enforces connect_timeout only when it blocks);
 * statements go out with PQsendQueryParams and come back through
 * PQconsumeInput and PQgetResult.  A host name is resolved on a task
 * thread and connected to by address (hostaddr=).
 *
 * A request runs one statement at a time through db_poll(), asleep while
 * PostgreSQL works, and keeps the whole result for the state that reads
 * it.  Requests and callbacks (the placer, timers) wait for a connection in
 * one queue, bounded like pgsql_queue_limit and in time.  A statement that
 * does not come back within its deadline (PostgreSQL stopped, or a network
 * that drops everything) fails as a lost connection (503) and its
 * connection is closed and made anew.  A request that leaves with its
 * statement in flight cancels nothing: the connection reads on to the end
 * of it, then serves the next.  A dropped connection is made anew after a
 * backoff, never reset in place.
 */

#include <sys/socket.h>
#include <sys/epoll.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <stdlib.h>
#include <string.h>

#include "bangfu.h"
#include "dbinfo.h"

/* A connection of the pool. */
#define DBC_DOWN       0 /* none: made again at next_try */
#define DBC_RESOLVING  1 /* waiting for the host's address */
#define DBC_CONNECTING 2
#define DBC_IDLE       3
#define DBC_BUSY       4 /* a job's statement in flight */
#define DBC_DRAIN      5 /* its job left: read on to the end */

#define DB_JOB_IDLE   0
#define DB_JOB_QUEUED 1
#define DB_JOB_SENT   2
#define DB_JOB_DONE   3

#define DB_TICK_MS	  100
#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 2000

#define KORE_TYPE_DB 101

struct db_conn {
	struct kore_event evt; /* first: Kore dispatches on it */
	int		  idx;
	int		  state;
	PGconn		 *pg;
	int		  fd;
	int		  mask; /* what epoll watches for it */
	int		  writing; /* output left to flush */
	int		  used; /* wanted: made again after a drop */
	struct db_job	 *job;
	u_int64_t	  deadline; /* of the connect or the statement */
	u_int64_t	  next_try;
	int		  backoff;
};

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
static void db_conn_event(void *, int);
static void db_conn_start(struct db_conn *);
static void db_conn_drop(struct db_conn *, const char *, const char *);
static void db_dispatch(void);
static void db_job_complete(struct db_job *);
static void db_resolved(int);
static void db_start_due(void *, u_int64_t);
static void db_attempt_now(void);
static int  db_conns_up(void);
static void db_pool_down(void);

static int
env_ms(const char *name, int def, int min, int max)
{
	const char *v;
	char	   *end;
	long	    n;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < min || n > max)
		return (def);
	return ((int)n);
}

int
db_init(void)
{
	int i;

	if (!dbinfo_load(cfg.database_url))
		return (KORE_RESULT_ERROR);
	statement_ms = env_ms("DB_STATEMENT_DEADLINE_MS", 15000, 100, 3600000);
	queue_ms = env_ms("DB_QUEUE_DEADLINE_MS", 10000, 100, 3600000);
	nconns = pgsql_conn_max > 0 ? pgsql_conn_max : 2;
	conns = kore_calloc(nconns, sizeof(*conns));
	for (i = 0; i < nconns; i++) {
		conns[i].idx = i;
		conns[i].fd = -1;
		conns[i].evt.type = KORE_TYPE_DB;
		conns[i].evt.handle = db_conn_event;
		conns[i].backoff = DB_BACKOFF_MIN_MS;
	}
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

static void
db_conn_watch(struct db_conn *dc, int mask)
{
	kore_platform_event_schedule(dc->fd, mask, 0, dc);
	dc->mask = mask;
}

/* Starts a connection: from a timer, never inside an event batch. */
static void
db_conn_start(struct db_conn *dc)
{
	dc->used = 1;
	if (!dbinfo_ready()) {
		dc->state = DBC_RESOLVING;
		dbinfo_resolve(db_resolved);
		return;
	}
	dc->state = DBC_CONNECTING;
	dc->pg = PQconnectStartParams(dbinfo_keywords(), dbinfo_values(), 0);
	if (dc->pg == NULL || PQstatus(dc->pg) == CONNECTION_BAD ||
	    PQsocket(dc->pg) < 0) {
		db_conn_drop(
		    dc, dc->pg ? PQerrorMessage(dc->pg) : "no memory", NULL);
		return;
	}
	dc->state = DBC_CONNECTING;
	dc->deadline = kore_time_ms() + (u_int64_t)dbinfo_connect_ms();
	dc->fd = PQsocket(dc->pg);
	db_conn_watch(dc, EPOLLOUT);
}

static void
db_conn_connecting(struct db_conn *dc)
{
	int mask;

	switch (PQconnectPoll(dc->pg)) {
	case PGRES_POLLING_READING: mask = EPOLLIN; break;
	case PGRES_POLLING_WRITING: mask = EPOLLOUT; break;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(dc->pg, 1) != 0) {
			db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
			return;
		}
		dc->state = DBC_IDLE;
		dc->backoff = DB_BACKOFF_MIN_MS;
		dc->writing = 0;
		dc->fd = PQsocket(dc->pg);
		db_conn_watch(dc, EPOLLIN);
		metrics_count("db_connects");
		pool_down = 0;
		db_dispatch();
		return;
	default:
		/* The address may have moved: resolve again next time. */
		dbinfo_forget();
		db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
		return;
	}
	/* libpq may have moved to another socket (next address). */
	dc->fd = PQsocket(dc->pg);
	db_conn_watch(dc, mask);
}

static int
db_lost_state(const char *st)
{
	return (st[0] == '\0' || (st[0] == '0' && st[1] == '8') ||
	    (st[0] == '5' && st[1] == '7'));
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

/*
 * Closes the connection (a dead one, or one we give up on) and makes it
 * again after a backoff.  Its job, if any, fails with sqlstate, or with
 * the lost connection's 08006; a job whose statement had left and has no
 * answer of SQL may or may not have run (lost).
 */
static void
db_conn_drop(struct db_conn *dc, const char *why, const char *sqlstate)
{
	struct db_job *j = dc->job;
	char	       msg[256];
	size_t	       len;
	int	       failed = 0;

	(void)snprintf(msg, sizeof(msg), "%s", why ? why : "?");
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	kore_log(LOG_NOTICE, "db: connection %d dropped: %s", dc->idx, msg);
	if (dc->pg != NULL)
		PQfinish(dc->pg); /* closes the socket: epoll forgets it */
	dc->pg = NULL;
	dc->fd = -1;
	dc->mask = 0;
	dc->writing = 0;
	dc->job = NULL;
	if (dc->state == DBC_CONNECTING || dc->state == DBC_RESOLVING)
		failed = 1;
	dc->state = DBC_DOWN;
	dc->next_try = kore_time_ms() + (u_int64_t)dc->backoff;
	dc->backoff = dc->backoff * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS
							  : dc->backoff * 2;
	if (j != NULL) {
		j->conn = NULL;
		if (j->sqlstate[0] == '\0' || sqlstate != NULL)
			(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "%s",
			    sqlstate ? sqlstate : "08006");
		j->lost = db_lost_state(j->sqlstate);
		metrics_count("db_errors");
		db_job_complete(j);
	}
	if (failed && db_conns_up() == 0)
		db_pool_down();
}

/* A result of the connection's statement. */
static void
db_conn_result(struct db_conn *dc, PGresult *r)
{
	struct db_job *j = dc->job;
	const char    *st;

	switch (PQresultStatus(r)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		if (j != NULL) {
			if (j->res != NULL)
				PQclear(j->res);
			j->res = r;
			return;
		}
		break;
	default:
		st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (j != NULL && j->sqlstate[0] == '\0')
			(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "%s",
			    st ? st : "08000");
		/* Constraint failures are answers, not faults. */
		if (st == NULL || st[0] != '2' || st[1] != '3') {
			metrics_count("db_errors");
			kore_log(LOG_ERR, "db: %s: %s", st ? st : "?",
			    PQresultErrorMessage(r));
		}
		break;
	}
	PQclear(r);
}

/* I/O on a connected connection. */
static void
db_conn_io(struct db_conn *dc, int flags, int err)
{
	struct db_job *j;
	PGresult      *r;
	int	       rc, mask;

	if ((flags & KORE_EVENT_WRITE) && dc->writing) {
		if ((rc = PQflush(dc->pg)) < 0) {
			db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
			return;
		}
		dc->writing = rc;
	}
	if ((flags & KORE_EVENT_READ) || err) {
		if (!PQconsumeInput(dc->pg)) {
			db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
			return;
		}
	}
	if (dc->state == DBC_BUSY || dc->state == DBC_DRAIN) {
		while (!PQisBusy(dc->pg)) {
			if ((r = PQgetResult(dc->pg)) == NULL) {
				/* The statement is over. */
				j = dc->job;
				dc->job = NULL;
				dc->state = DBC_IDLE;
				if (j != NULL) {
					j->conn = NULL;
					/* Failed as its connection went: maybe. */
					j->lost = j->sqlstate[0] != '\0' &&
					    (PQstatus(dc->pg) ==
						    CONNECTION_BAD ||
						db_lost_state(j->sqlstate));
					db_job_complete(j);
				}
				break;
			}
			db_conn_result(dc, r);
		}
	} else if (PQisBusy(dc->pg) == 0 && (r = PQgetResult(dc->pg)) != NULL) {
		/* An idle connection hears an error: it is going away. */
		db_conn_result(dc, r);
	}
	if (PQstatus(dc->pg) == CONNECTION_BAD) {
		db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
		return;
	}
	mask = EPOLLIN | (dc->writing ? EPOLLOUT : 0);
	if (mask != dc->mask)
		db_conn_watch(dc, mask);
	if (dc->state == DBC_IDLE)
		db_dispatch();
}

static void
db_conn_event(void *obj, int err)
{
	struct db_conn *dc = obj;
	int		flags;

	flags = dc->evt.flags;
	dc->evt.flags &= ~(KORE_EVENT_READ | KORE_EVENT_WRITE);
	switch (dc->state) {
	case DBC_CONNECTING: db_conn_connecting(dc); break;
	case DBC_IDLE:
	case DBC_BUSY:
	case DBC_DRAIN: db_conn_io(dc, flags, err); break;
	default: break; /* an event of a socket closed since */
	}
}

/* Sends j on the idle connection dc. */
static void
db_send(struct db_conn *dc, struct db_job *j)
{
	int i, rc;

	if (!PQsendQueryParams(dc->pg, j->sql, j->n, NULL,
		(const char *const *)j->vals, NULL, NULL, 0)) {
		/* Not sent: nothing of it ran.  Back to the queue's head. */
		TAILQ_INSERT_HEAD(&waiting, j, list);
		nwaiting++;
		db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
		return;
	}
	for (i = 0; i < j->n; i++)
		kore_free(j->vals[i]);
	kore_free(j->vals);
	j->vals = NULL;
	j->state = DB_JOB_SENT;
	j->sent = 1;
	j->conn = dc;
	dc->job = j;
	dc->state = DBC_BUSY;
	dc->deadline = kore_time_ms() + (u_int64_t)statement_ms;
	if ((rc = PQflush(dc->pg)) < 0) {
		db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
		return;
	}
	dc->writing = rc;
	if (rc && dc->mask != (EPOLLIN | EPOLLOUT))
		db_conn_watch(dc, EPOLLIN | EPOLLOUT);
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
		db_send(&conns[idle], j);
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

/* The pool as /metrics shows it: connections up, busy, jobs queued. */
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

void
db_pool_stats(int *up, int *busy, u_int32_t *queued)
{
	int i;

	*up = *busy = 0;
	for (i = 0; i < nconns; i++) {
		if (conns[i].state >= DBC_IDLE)
			(*up)++;
		if (conns[i].state >= DBC_BUSY)
			(*busy)++;
	}
	*queued = nwaiting;
}

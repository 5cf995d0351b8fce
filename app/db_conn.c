/*
 * db_conn: one connection of the pool (app/db.c), its whole life.  It is
 * made with PQconnectStartParams and PQconnectPoll driven by epoll, under
 * a deadline of ours (libpq enforces connect_timeout only when it blocks);
 * a host name is resolved first on a task thread and connected to by
 * address (hostaddr=).  A statement goes out with PQsendQueryParams and
 * comes back through PQconsumeInput and PQgetResult.  A dropped connection
 * is made anew after a backoff, never reset in place.  What happens is told
 * to the pool through its hooks (struct db_conn_hooks).
 */

#include <sys/socket.h>
#include <sys/epoll.h>

#include <string.h>

#include <kore/kore.h>
#include <libpq-fe.h>

#include "db.h"
#include "metrics.h"
#include "db_conn.h"
#include "dbinfo.h"

#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 2000

static void db_conn_event(void *, int);

void
db_conn_setup(struct db_conn *dc, int idx, const struct db_conn_hooks *hooks)
{
	dc->idx = idx;
	dc->fd = -1;
	dc->evt.type = KORE_TYPE_DB;
	dc->evt.handle = db_conn_event;
	dc->backoff = DB_BACKOFF_MIN_MS;
	dc->hooks = hooks;
}

static void
db_conn_watch(struct db_conn *dc, int mask)
{
	kore_platform_event_schedule(dc->fd, mask, 0, dc);
	dc->mask = mask;
}

/* Starts a connection: from a timer, never inside an event batch. */
void
db_conn_start(struct db_conn *dc)
{
	dc->used = 1;
	if (!dbinfo_ready()) {
		dc->state = DBC_RESOLVING;
		dbinfo_resolve(dc->hooks->resolved);
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
		dc->hooks->up();
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

/*
 * Closes the connection (a dead one, or one we give up on) and makes it
 * again after a backoff.  Its job, if any, fails with sqlstate, or with
 * the lost connection's 08006; a job whose statement had left and has no
 * answer of SQL may or may not have run (lost).
 */
void
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
		dc->hooks->job_done(j);
	}
	if (failed)
		dc->hooks->failed();
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
					dc->hooks->job_done(j);
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
		dc->hooks->idle();
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

/*
 * Sends j on the idle connection dc, to be answered within statement_ms.
 * Returns 0 when it could not leave: nothing of it ran, the connection is
 * dropped and j is the caller's again.
 */
int
db_conn_send(struct db_conn *dc, struct db_job *j, int statement_ms)
{
	int i, rc;

	if (!PQsendQueryParams(dc->pg, j->sql, j->n, NULL,
		(const char *const *)j->vals, NULL, NULL, 0)) {
		db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
		return (0);
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
		/* Sent, maybe: it fails as its connection went. */
		db_conn_drop(dc, PQerrorMessage(dc->pg), NULL);
		return (1);
	}
	dc->writing = rc;
	if (rc && dc->mask != (EPOLLIN | EPOLLOUT))
		db_conn_watch(dc, EPOLLIN | EPOLLOUT);
	return (1);
}

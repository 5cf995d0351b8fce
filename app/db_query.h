/*
 * db_query: a statement for the PostgreSQL pool, as a type only: a request
 * embeds one in struct call and the placer and settler their batches' jobs.
 * No libpq here (a result is a struct pg_result, libpq's PGresult); the
 * members are the db files' (app/db.c, app/db_conn.c, app/db_call.c) and
 * of whoever submits a job of its own; a handler asks through app/db.h.
 */

#ifndef DB_QUERY_H
#define DB_QUERY_H

#include <sys/types.h>
#include <sys/queue.h>

struct db_conn;
struct http_request;
struct pg_result;

/*
 * One statement for the pool of app/db.c: a request's (woken when done) or
 * a callback's (called from a timer when done).
 */
struct db_job {
	TAILQ_ENTRY(db_job) list;
	struct http_request *req;
	void (*cb)(struct db_job *);
	struct db_conn	 *conn; /* while its statement is out */
	const char	 *sql; /* the caller keeps it until done */
	int		  n;
	char		**vals; /* copies, until sent */
	struct pg_result *res; /* the last result with rows */
	char		  sqlstate[6]; /* of the first error */
	int		  state;
	int		  sent; /* the statement left */
	int		  lost; /* sent, then no answer: it may have run */
	int		  on_done_list;
	u_int64_t	  deadline; /* in the queue until */
};

/* One PostgreSQL statement in flight for a request (app/db_call.c). */
struct db_query {
	struct db_job	  job;
	int		  phase;
	struct pg_result *res;
	const char	 *sql; /* the statement, by address */
	char		  sqlstate[6];
};

#endif

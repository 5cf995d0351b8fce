/*
 * db_conn: one connection of the PostgreSQL pool, private to the pool
 * (app/db.c) and the connection's lifecycle (app/db_conn.c).  The pool
 * owns the connections and the queue; a connection tells it what happened
 * through its hooks, never by calling into it.
 */

#ifndef DB_CONN_H
#define DB_CONN_H

#include <kore/kore.h>

#include <libpq-fe.h>

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

#define KORE_TYPE_DB 101

struct db_job;

/* What a connection tells the pool. */
struct db_conn_hooks {
	void (*resolved)(int); /* the host's addresses came (1) or not */
	void (*up)(void); /* a connection was made */
	void (*failed)(void); /* making a connection failed */
	void (*idle)(void); /* a connection is free for the queue */
	void (*job_done)(struct db_job *); /* answered, or failed */
};

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
	const struct db_conn_hooks *hooks;
};

void db_conn_setup(struct db_conn *, int, const struct db_conn_hooks *);
void db_conn_start(struct db_conn *);
void db_conn_drop(struct db_conn *, const char *, const char *);
int  db_conn_send(struct db_conn *, struct db_job *, int);

#endif

/*
 * db: PostgreSQL, as handlers and timers see it.  A request runs one
 * statement at a time (db_poll) and reads its result through accessors,
 * never the result itself; db_answer and friends turn a (status, body)
 * function's row into the answer.  The pool (app/db.c) takes jobs of
 * whoever runs statements outside a request.  No libpq here: only the db
 * files and the batch runners that read results include it.
 */

#ifndef DB_H
#define DB_H

#include <sys/types.h>

#include <jansson.h>

#include "db_query.h"

struct call;
struct metrics_pool;

/* app/db_call.c: a request's statement and its result. */
int	    db_poll(struct call *, const char *, int, const char **);
int	    db_started(struct call *);
int	    db_lost(struct call *);
size_t	    db_length(struct call *, int, int);
void	    db_reset(struct db_query *);
const char *db_value(struct call *, int, int);
json_t	   *db_json(struct call *, int, int);
char	   *db_array(json_t *);
int	    db_isnull(struct call *, int, int);
int	    db_rows(struct call *);
void db_background(const char *, int, const char **, void (*)(const char *));

/* app/db_reply.c: answers from a statement's row. */
int db_json_reply(struct call *, int);
int db_json_call(struct call *, const char *, int, const char **);
int db_answer(struct call *, int, const char *, const char *);
int db_status_reply(struct call *, const char *);
int db_status_call(struct call *, const char *, int, const char **,
    void (*)(void), const char *);
int
db_json_page(struct call *, const char *, const char *const *, const char *);
int db_json_mine(struct call *, const char *);
int
db_status_save(struct call *, const char *, int, void (*)(void), const char *);
int db_status_mine(
    struct call *, const char *, const char *, void (*)(void), const char *);

/* app/db.c: the pool of this worker. */
int  db_init(void);
int  db_submit(struct db_job *, const char *, int, const char **);
void db_job_forget(struct db_job *);
int  db_job_done(struct db_job *);
void db_pool_stats(struct metrics_pool *);
void db_shutdown(void);

#endif

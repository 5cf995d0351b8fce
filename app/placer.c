/*
 * placer: checkouts reach PostgreSQL in batches.  A priced order waits in
 * this worker's queue; whenever fewer than PLACER_INFLIGHT batches are in
 * the database, everything queued leaves as one place_orders() statement
 * (007_checkout_fast.sql): one transaction and one commit for all of them.
 * Alone, an order goes at once; under load, the orders that arrive while
 * the database works share the next trip.  That is group commit done where
 * the statement overhead is paid as well as the WAL flush.
 *
 * A batch belongs to no request (Kore's callback mode), so a client that
 * leaves takes nothing from the others: its order is placed or not like
 * any other, and only its answer is dropped.  Each order is judged on its
 * own inside the function.  A batch that fails as a whole on an error of
 * SQL was rolled back: each of its orders goes alone (PLACER_ALONE).  One
 * whose connection was lost may or may not have committed: an order with
 * an idempotency key goes alone (its key replays it if it was placed), one
 * without is answered 503 (PLACER_LOST), never placed twice.
 */

#include <stdlib.h>
#include <string.h>

#include "bangfu.h"
#include "placer.h"

#define PLACER_INFLIGHT	 1
#define PLACER_MAX_BATCH 64

struct placer_batch {
	struct kore_pgsql   pg;
	struct placer_wait *w[PLACER_MAX_BATCH];
	int		    n;
	char		   *arg;
	PGresult	   *res;
	int		    sent; /* the statement left */
	int		    failed; /* no answer: rolled back */
	int		    lost; /* no answer, outcome unknown */
	TAILQ_ENTRY(placer_batch) list;
};

static TAILQ_HEAD(, placer_wait) queue = TAILQ_HEAD_INITIALIZER(queue);
static TAILQ_HEAD(, placer_batch) batches = TAILQ_HEAD_INITIALIZER(batches);
static int inflight;
static int watching;

static void placer_kick(void);
static void placer_send(struct placer_batch *);
static void placer_cb(struct kore_pgsql *, void *);
static void placer_finish(struct placer_batch *);

/*
 * Kore frees a connection whose socket fails without calling the statement
 * back (it wakes requests only): a batch that was sent and has no
 * connection any more is lost, and is answered so.
 */
static void
placer_watch(void *arg, u_int64_t now)
{
	struct placer_batch *b;

	(void)arg;
	(void)now;
	TAILQ_FOREACH(b, &batches, list)
	{
		if (b->sent && b->pg.conn == NULL &&
		    b->pg.state != KORE_PGSQL_STATE_COMPLETE) {
			kore_log(LOG_ERR, "placer: connection lost: %s",
			    b->pg.error ? b->pg.error : "?");
			b->lost = 1;
			placer_finish(b);
			return; /* the list changed: next turn */
		}
	}
}

/* Called from Kore's wait queue: send, or fail, from outside it. */
static void
placer_resend(void *arg, u_int64_t now)
{
	(void)now;
	placer_send(arg);
}

/*
 * Queues an order (item: one element of place_orders()' array, taken).
 * dedup names its idempotency key (user and key), or is "": two orders
 * with one key never share a batch, so the second finds the first's answer
 * committed, as it would have alone.
 */
void
placer_submit(struct placer_wait *w, struct http_request *req, char *item,
    const char *dedup)
{
	w->req = req;
	w->item = item;
	(void)snprintf(w->dedup, sizeof(w->dedup), "%s", dedup);
	w->state = PLACER_QUEUED;
	w->status = 0;
	w->body = NULL;
	w->batch = NULL;
	TAILQ_INSERT_TAIL(&queue, w, list);
	http_request_sleep(req);
	placer_kick();
}

/* The request is going: it leaves the queue, or its batch forgets it. */
void
placer_forget(struct placer_wait *w)
{
	if (w->state == PLACER_QUEUED)
		TAILQ_REMOVE(&queue, w, list);
	else if (w->state == PLACER_SENT && w->batch != NULL)
		w->batch->w[w->slot] = NULL;
	free(w->item);
	free(w->body);
	w->item = w->body = NULL;
	w->state = PLACER_IDLE;
}

/* Whether the batch holds an order with w's idempotency key already. */
static int
placer_twin(struct placer_batch *b, struct placer_wait *w)
{
	int i;

	if (w->dedup[0] == '\0')
		return (0);
	for (i = 0; i < b->n; i++) {
		if (strcmp(b->w[i]->dedup, w->dedup) == 0)
			return (1);
	}
	return (0);
}

static void
placer_kick(void)
{
	struct placer_batch *b;
	struct placer_wait  *w, *next;
	struct kore_buf	     buf;

	while (inflight < PLACER_INFLIGHT && !TAILQ_EMPTY(&queue)) {
		b = kore_calloc(1, sizeof(*b));
		kore_buf_init(&buf, 1024);
		kore_buf_append(&buf, "[", 1);
		for (w = TAILQ_FIRST(&queue);
		     w != NULL && b->n < PLACER_MAX_BATCH; w = next) {
			next = TAILQ_NEXT(w, list);
			if (placer_twin(b, w))
				continue;
			TAILQ_REMOVE(&queue, w, list);
			if (b->n > 0)
				kore_buf_append(&buf, ",", 1);
			kore_buf_append(&buf, w->item, strlen(w->item));
			w->state = PLACER_SENT;
			w->batch = b;
			w->slot = b->n;
			b->w[b->n++] = w;
			metrics_count("checkout_batched_orders");
		}
		kore_buf_append(&buf, "]", 1);
		b->arg = kore_strdup(kore_buf_stringify(&buf, NULL));
		kore_buf_cleanup(&buf);
		inflight++;
		TAILQ_INSERT_TAIL(&batches, b, list);
		if (!watching) {
			watching = 1;
			kore_timer_add(placer_watch, 100, NULL, 0);
		}
		metrics_count("checkout_batches");
		kore_pgsql_init(&b->pg);
		kore_pgsql_bind_callback(&b->pg, placer_cb, b);
		placer_send(b);
	}
}

/* Answers every order of the batch still waiting, and frees it. */
static void
placer_finish(struct placer_batch *b)
{
	struct placer_wait *w;
	const char	   *body;
	int		    r, i;

	for (r = 0;
	     !b->failed && !b->lost && b->res != NULL && r < PQntuples(b->res);
	     r++) {
		i = atoi(PQgetvalue(b->res, r, 0)) - 1;
		if (i < 0 || i >= b->n || (w = b->w[i]) == NULL)
			continue;
		w->status = atoi(PQgetvalue(b->res, r, 1));
		body =
		    PQgetisnull(b->res, r, 2) ? "{}" : PQgetvalue(b->res, r, 2);
		w->body = strdup(body);
	}
	for (i = 0; i < b->n; i++) {
		if ((w = b->w[i]) == NULL)
			continue;
		if (w->body == NULL)
			w->status = b->lost ? PLACER_LOST : PLACER_ALONE;
		w->state = PLACER_DONE;
		w->batch = NULL;
		http_request_wakeup(w->req);
	}
	if (b->res != NULL)
		PQclear(b->res);
	TAILQ_REMOVE(&batches, b, list);
	db_release(&b->pg);
	kore_free(b->arg);
	kore_free(b);
	inflight--;
	placer_kick();
}

static void
placer_send(struct placer_batch *b)
{
	const char *v[1];

	if (!kore_pgsql_setup(&b->pg, "db", KORE_PGSQL_ASYNC)) {
		if (b->pg.state == KORE_PGSQL_STATE_INIT)
			return; /* queued for a connection: called back */
		kore_log(LOG_ERR, "placer: setup: %s",
		    b->pg.error ? b->pg.error : "?");
		b->failed = 1;
		placer_finish(b);
		return;
	}
	v[0] = b->arg;
	if (!kore_pgsql_query_param_fields(&b->pg,
		"SELECT i, status, body FROM place_orders($1::jsonb)", 0, 1, v,
		NULL, NULL)) {
		/* Not sent: nothing of it can have happened. */
		kore_log(LOG_ERR, "placer: send: %s",
		    b->pg.error ? b->pg.error : "?");
		b->failed = 1;
		placer_finish(b);
		return;
	}
	b->sent = 1;
}

static void
placer_cb(struct kore_pgsql *pg, void *arg)
{
	struct placer_batch *b = arg;

	switch (pg->state) {
	case KORE_PGSQL_STATE_INIT:
		kore_timer_add(placer_resend, 0, b, KORE_TIMER_ONESHOT);
		break;
	case KORE_PGSQL_STATE_WAIT: break;
	case KORE_PGSQL_STATE_RESULT:
		if (b->res != NULL)
			PQclear(b->res);
		b->res = pg->result;
		pg->result = NULL;
		kore_pgsql_continue(pg);
		break;
	case KORE_PGSQL_STATE_DONE: kore_pgsql_continue(pg); break;
	case KORE_PGSQL_STATE_ERROR:
		metrics_count("db_errors");
		kore_log(LOG_ERR, "placer: %s", pg->error ? pg->error : "?");
		/* An error of SQL rolled back; a lost connection, who knows. */
		if (pg->conn != NULL &&
		    PQstatus(pg->conn->db) != CONNECTION_BAD) {
			b->failed = 1;
			kore_pgsql_continue(pg);
		} else {
			b->lost = 1;
			placer_finish(b);
		}
		break;
	case KORE_PGSQL_STATE_COMPLETE: placer_finish(b); break;
	default: break;
	}
}

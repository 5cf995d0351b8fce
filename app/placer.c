/*
 * placer: checkouts reach PostgreSQL in batches.  A priced order waits in
 * this worker's queue; whenever fewer than PLACER_INFLIGHT batches are in
 * the database, everything queued leaves as one place_orders() statement
 * (007_checkout_fast.sql): one transaction and one commit for all of them.
 * Alone, an order goes at once; under load, the orders that arrive while
 * the database works share the next trip.  That is group commit done where
 * the statement overhead is paid as well as the WAL flush.
 *
 * A batch belongs to no request (a callback job of app/db.c's pool), so a
 * client that leaves takes nothing from the others: its order is placed or
 * not like any other, and only its answer is dropped.  Each order is judged
 * on its own inside the function.  A batch that fails as a whole on an
 * error of SQL was rolled back: each of its orders goes alone
 * (PLACER_ALONE).  One that never left (no connection within the pool's
 * queue deadline) placed nothing: its orders answer 503
 * (PLACER_UNAVAILABLE).  One whose connection was lost, or that had no
 * answer within the statement deadline, may or may not have committed: an
 * order with an idempotency key goes alone (its key replays it if it was
 * placed), one without is answered 503 (PLACER_LOST), never placed twice.
 * So is an order of a committed batch whose answer cannot be kept (no row
 * for it, or no memory for its body).
 */

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "api.h"
#include "db.h"
#include "metrics.h"
#include "placer.h"

#define PLACER_INFLIGHT	 1
#define PLACER_MAX_BATCH 64
#define PLACER_ANSWERED	 1 /* placer_finish(): the rows say */

struct placer_batch {
	struct db_job	    job; /* first */
	struct placer_wait *w[PLACER_MAX_BATCH];
	int		    n;
	char		   *arg;
	TAILQ_ENTRY(placer_batch) list;
};

static TAILQ_HEAD(, placer_wait) queue = TAILQ_HEAD_INITIALIZER(queue);
static TAILQ_HEAD(, placer_batch) batches = TAILQ_HEAD_INITIALIZER(batches);
static int inflight;

static void placer_kick(void);
static void placer_done(struct db_job *);
static void placer_finish(struct placer_batch *, int);

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
	const char	    *v[1];

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
		metrics_count("checkout_batches");
		v[0] = b->arg;
		b->job.cb = placer_done;
		if (!db_submit(&b->job,
			"SELECT i, status, body FROM place_orders($1::jsonb)",
			1, v)) {
			/* Refused (queue full): nothing of it left. */
			placer_finish(b, PLACER_UNAVAILABLE);
		}
	}
}

/*
 * Answers every order of the batch still waiting, and frees it: from the
 * rows of its result (why is PLACER_ANSWERED), else with why (PLACER_ALONE, PLACER_LOST or
 * PLACER_UNAVAILABLE).  An order of an answered batch that has no answer
 * of its own may have been placed: PLACER_LOST.
 */
static void
placer_finish(struct placer_batch *b, int why)
{
	struct placer_wait *w;
	PGresult	   *res = why == PLACER_ANSWERED ? b->job.res : NULL;
	const char	   *body;
	int		    answered[PLACER_MAX_BATCH];
	int		    r, i;

	memset(answered, 0, sizeof(answered));
	for (r = 0; res != NULL && r < PQntuples(res); r++) {
		i = atoi(PQgetvalue(res, r, 0)) - 1;
		if (i < 0 || i >= b->n || answered[i])
			continue;
		answered[i] = 1;
		if ((w = b->w[i]) == NULL)
			continue;
		w->status = atoi(PQgetvalue(res, r, 1));
		body = PQgetisnull(res, r, 2) ? "{}" : PQgetvalue(res, r, 2);
		if ((w->body = strdup(body)) == NULL) {
			/* Placed or refused, but we cannot say: never again. */
			kore_log(LOG_ERR, "placer: no memory for an answer");
			w->status = PLACER_LOST;
		}
	}
	for (i = 0; i < b->n; i++) {
		if ((w = b->w[i]) == NULL)
			continue;
		if (!answered[i])
			w->status = why == PLACER_ANSWERED ? PLACER_LOST : why;
		w->state = PLACER_DONE;
		w->batch = NULL;
		http_request_wakeup(w->req);
	}
	TAILQ_REMOVE(&batches, b, list);
	db_job_forget(&b->job);
	kore_free(b->arg);
	kore_free(b);
	inflight--;
	placer_kick();
}

/* The batch's statement is over (from a timer of app/db.c). */
static void
placer_done(struct db_job *j)
{
	struct placer_batch *b = (struct placer_batch *)j;

	if (j->sqlstate[0] == '\0') {
		placer_finish(b, PLACER_ANSWERED);
	} else if (j->lost) {
		kore_log(LOG_ERR, "placer: batch lost (%s)", j->sqlstate);
		placer_finish(b, PLACER_LOST);
	} else if (!j->sent) {
		kore_log(LOG_ERR, "placer: batch not sent (%s)", j->sqlstate);
		placer_finish(b, PLACER_UNAVAILABLE);
	} else {
		/* An error of SQL rolled the batch back. */
		placer_finish(b, PLACER_ALONE);
	}
}

/*
 * settler: payment notifications reach PostgreSQL in batches, as checkouts
 * do (app/placer.c).  A notification whose signature and shape hold waits
 * in this worker's queue; whenever no batch of it is in the database,
 * everything queued leaves as one settle_payments() statement
 * (017_settle_batches.sql): one transaction, one lock of the rows every
 * payment of a hot product takes (its sales, the ledger's summary rows),
 * one commit.  Alone, a notification goes at once; under load, those that
 * arrive while the database works share the next trip.
 *
 * Each notification is answered inside the function as if it came alone
 * (payment_notify() is a batch of one): an unknown payment is 404, a wrong
 * amount 422, a replay 200 with nothing changed.  The judging is done in
 * memory, in the batch's order; then every table is written once for the
 * whole batch, set-based (018_settle_set.sql): the payments, the orders
 * and their parts, the ledger's rows in one INSERT (so its summary rows
 * are upserted once per batch and key), the products' sales.  A batch
 * belongs to no request (a callback job of app/db.c's pool): a client that
 * leaves takes nothing from the others.  A batch with no answer (an error
 * of SQL rolled it back, its connection was lost, it never got one) leaves
 * each of its notifications to be settled alone by payment_notify(), which
 * is safe whatever became of the batch: a settlement is idempotent (the
 * payment's row is locked and its status decides), so one that committed
 * after all is answered as the replay it then is.
 */

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "api.h"
#include "db.h"
#include "json.h"
#include "metrics.h"
#include "order_fsm.h"
#include "orders.h"
#include "problem.h"
#include "settler.h"

#define SETTLER_INFLIGHT  1
#define SETTLER_MAX_BATCH 64

struct settler_batch {
	struct db_job	    job; /* first */
	struct settle_wait *w[SETTLER_MAX_BATCH];
	int		    n;
	char		   *arg;
	char		   *om, *pm;
	TAILQ_ENTRY(settler_batch) list;
};

static TAILQ_HEAD(, settle_wait) queue = TAILQ_HEAD_INITIALIZER(queue);
static TAILQ_HEAD(, settler_batch) batches = TAILQ_HEAD_INITIALIZER(batches);
static int inflight;

static void settler_kick(void);
static void settler_done(struct db_job *);
static void settler_finish(struct settler_batch *, int);

/* The request is going: it leaves the queue, or its batch forgets it. */
void
settle_forget(struct settle_wait *w)
{
	if (w->state == SETTLER_QUEUED)
		TAILQ_REMOVE(&queue, w, list);
	else if (w->state == SETTLER_SENT && w->batch != NULL)
		w->batch->w[w->slot] = NULL;
	free(w->body);
	w->body = NULL;
	w->batch = NULL;
	w->state = SETTLER_IDLE;
}

static void
settler_kick(void)
{
	struct settler_batch *b;
	struct settle_wait   *w;
	struct kore_buf	      buf;
	const char	     *v[3];

	while (inflight < SETTLER_INFLIGHT && !TAILQ_EMPTY(&queue)) {
		b = kore_calloc(1, sizeof(*b));
		kore_buf_init(&buf, 512);
		kore_buf_append(&buf, "[", 1);
		while ((w = TAILQ_FIRST(&queue)) != NULL &&
		    b->n < SETTLER_MAX_BATCH) {
			TAILQ_REMOVE(&queue, w, list);
			if (b->n > 0)
				kore_buf_append(&buf, ",", 1);
			kore_buf_append(&buf, w->item, strlen(w->item));
			w->state = SETTLER_SENT;
			w->batch = b;
			w->slot = b->n;
			b->w[b->n++] = w;
			metrics_count("payment_batched");
		}
		kore_buf_append(&buf, "]", 1);
		b->arg = kore_strdup(kore_buf_stringify(&buf, NULL));
		kore_buf_cleanup(&buf);
		b->om = fsm_map(0, EV_PAY);
		b->pm = fsm_map(1, EV_PAY);
		inflight++;
		TAILQ_INSERT_TAIL(&batches, b, list);
		metrics_count("payment_batches");
		v[0] = b->arg;
		v[1] = b->om;
		v[2] = b->pm;
		b->job.cb = settler_done;
		if (!db_submit(&b->job,
			"SELECT i, status, body FROM settle_payments($1::jsonb, "
			"$2::jsonb, $3::jsonb)",
			3, v)) {
			/* Refused (queue full): nothing of it left. */
			settler_finish(b, 0);
		}
	}
}

/*
 * Answers every notification of the batch still waiting, and frees it:
 * from the rows of its result if answered, else (or for one the rows do
 * not name, or whose answer cannot be kept) it is settled alone.
 */
static void
settler_finish(struct settler_batch *b, int answered_batch)
{
	struct settle_wait *w;
	PGresult	   *res = answered_batch ? b->job.res : NULL;
	int		    answered[SETTLER_MAX_BATCH];
	int		    r, i;

	memset(answered, 0, sizeof(answered));
	for (r = 0; res != NULL && r < PQntuples(res); r++) {
		i = atoi(PQgetvalue(res, r, 0)) - 1;
		if (i < 0 || i >= b->n || answered[i])
			continue;
		if ((w = b->w[i]) == NULL) {
			answered[i] = 1;
			continue;
		}
		w->status = atoi(PQgetvalue(res, r, 1));
		if (PQgetisnull(res, r, 2))
			w->body = NULL;
		else if ((w->body = strdup(PQgetvalue(res, r, 2))) == NULL)
			continue; /* no memory: settled again alone, a replay */
		answered[i] = 1;
	}
	for (i = 0; i < b->n; i++) {
		if ((w = b->w[i]) == NULL)
			continue;
		w->state = answered[i] ? SETTLER_DONE : SETTLER_ALONE;
		w->batch = NULL;
		http_request_wakeup(w->req);
	}
	TAILQ_REMOVE(&batches, b, list);
	db_job_forget(&b->job);
	kore_free(b->arg);
	free(b->om);
	free(b->pm);
	kore_free(b);
	inflight--;
	settler_kick();
}

/* The batch's statement is over (from a timer of app/db.c). */
static void
settler_done(struct db_job *j)
{
	struct settler_batch *b = (struct settler_batch *)j;

	if (j->sqlstate[0] == '\0') {
		settler_finish(b, 1);
	} else {
		kore_log(LOG_NOTICE, "settler: batch of %d not settled (%s%s)",
		    b->n, j->sqlstate,
		    j->lost ? ", lost" : (j->sent ? "" : ", not sent"));
		settler_finish(b, 0);
	}
}

/*
 * The notification checked before anything is touched: the signature over
 * the raw body, then its JSON and fields.  Its element of the batch is
 * written from the values read, never from the raw text.
 */
static int
settle_parse(struct call *c, struct settle_wait *w, const void *raw, size_t len,
    const char *sig)
{
	json_t	    *body, *errs = NULL;
	json_error_t err;
	const char  *status;
	int	     n;

	if (!w->verified) {
		if (raw == NULL || sig == NULL ||
		    !payment_provider("sandbox")->verify(raw, len, sig)) {
			(void)problem(c, 401, "invalid_signature",
			    "the notification's signature does not hold");
			return (DB_ERROR);
		}
		w->verified = 1;
	}
	if ((body = json_loadb(raw, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL) {
		(void)problem(c, 400, "invalid_json", "malformed JSON");
		return (DB_ERROR);
	}
	status = json_field_str(body, "status");
	if (!json_is_integer(json_object_get(body, "payment_id")))
		problem_field_add(&errs, "payment_id", "an integer");
	if (status == NULL ||
	    (strcmp(status, "succeeded") != 0 && strcmp(status, "failed") != 0))
		problem_field_add(&errs, "status", "succeeded or failed");
	if (!json_is_integer(json_object_get(body, "amount_fen")))
		problem_field_add(&errs, "amount_fen", "an integer");
	if (errs != NULL) {
		json_decref(body);
		(void)problem_validation(c, errs);
		return (DB_ERROR);
	}
	n = snprintf(w->item, sizeof(w->item),
	    "{\"payment_id\":%lld,\"status\":\"%s\",\"amount_fen\":%lld}",
	    (long long)json_integer_value(json_object_get(body, "payment_id")),
	    strcmp(status, "succeeded") == 0 ? "succeeded" : "failed",
	    (long long)json_integer_value(json_object_get(body, "amount_fen")));
	json_decref(body);
	if (n < 0 || (size_t)n >= sizeof(w->item)) {
		(void)problem_internal(c, "payment: notification");
		return (DB_ERROR);
	}
	return (DB_OK);
}

/* A notification of a batch that had no answer: settled on its own. */
static int
settle_alone(struct call *c, struct settle_wait *w)
{
	const char *v[4];
	char	   *om, *pm;
	int	    rc;

	om = fsm_map(0, EV_PAY);
	pm = fsm_map(1, EV_PAY);
	v[0] = w->item;
	v[1] = om;
	v[2] = pm;
	rc = db_poll(c,
	    "SELECT status, body FROM payment_notify("
	    "($1::jsonb->>'payment_id')::bigint, $1::jsonb->>'status', "
	    "($1::jsonb->>'amount_fen')::bigint, $2::jsonb, $3::jsonb)",
	    3, v);
	free(om);
	free(pm);
	if (rc == DB_PENDING)
		return (DB_PENDING);
	if (rc == DB_ERROR) {
		(void)problem_internal(c, "payment: database error");
		return (DB_ERROR);
	}
	w->status = db_value(c, 0, 0) ? atoi(db_value(c, 0, 0)) : 404;
	free(w->body);
	w->body = db_value(c, 0, 1) ? strdup(db_value(c, 0, 1)) : NULL;
	db_reset(&c->db);
	w->state = SETTLER_DONE;
	return (DB_OK);
}

/*
 * A signed notification of the sandbox (raw, len, its signature): DB_OK
 * with payment_notify()'s status and body in w (body may be NULL),
 * DB_PENDING, or DB_ERROR once the request was answered.  The notify route
 * and the sandbox's own cashier page both settle payments through here.
 */
int
payment_settle(struct call *c, struct settle_wait *w, const void *raw,
    size_t len, const char *sig)
{
	switch (w->state) {
	case SETTLER_IDLE:
		if (settle_parse(c, w, raw, len, sig) != DB_OK)
			return (DB_ERROR);
		w->req = c->req;
		w->status = 0;
		w->body = NULL;
		w->batch = NULL;
		w->state = SETTLER_QUEUED;
		TAILQ_INSERT_TAIL(&queue, w, list);
		http_request_sleep(c->req);
		settler_kick();
		return (DB_PENDING);
	case SETTLER_DONE: return (DB_OK);
	case SETTLER_ALONE: return (settle_alone(c, w));
	default:
		/* Woken before its batch came back: sleep on. */
		http_request_sleep(c->req);
		return (DB_PENDING);
	}
}

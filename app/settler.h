/*
 * settler.h: payment notifications settled in batches (app/settler.c).
 */

#ifndef SETTLER_H
#define SETTLER_H

#define SETTLER_IDLE   0
#define SETTLER_QUEUED 1
#define SETTLER_SENT   2
#define SETTLER_DONE   3 /* answered by its batch */
#define SETTLER_ALONE  4 /* no answer from a batch: settled alone */

struct settler_batch;

/*
 * One notification on its way, inside its request's context (the notify
 * route's and the sandbox cashier's): zeroed with the context.
 */
struct settle_wait {
	TAILQ_ENTRY(settle_wait) list;
	struct http_request  *req;
	char		      item[128]; /* one element of settle_payments() */
	int		      state;
	int		      verified; /* the signature held */
	int		      status; /* the answer, once SETTLER_DONE */
	char		     *body;
	struct settler_batch *batch;
	int		      slot;
};

int payment_settle(
    struct call *, struct settle_wait *, const void *, size_t, const char *);
void settle_forget(struct settle_wait *);

#endif

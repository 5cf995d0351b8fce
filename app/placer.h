/*
 * placer.h: checkouts placed in batches (app/placer.c).
 */

#ifndef PLACER_H
#define PLACER_H

#define PLACER_IDLE   0
#define PLACER_QUEUED 1
#define PLACER_SENT   2
#define PLACER_DONE   3

/* Statuses of an order with no answer from its batch. */
#define PLACER_ALONE	   0 /* rolled back: place it alone */
#define PLACER_LOST	   -1 /* connection lost: it may have been placed */
#define PLACER_UNAVAILABLE -2 /* never sent: no connection in time */

struct placer_batch;

/* One order waiting for its batch, inside its request's context. */
struct placer_wait {
	TAILQ_ENTRY(placer_wait) list;
	struct http_request *req;
	char		    *item;
	char		     dedup[160]; /* user and key; "" without a key */
	int		     state;
	int		     status; /* or PLACER_ALONE, PLACER_LOST */
	char		    *body;
	struct placer_batch *batch;
	int		     slot;
};

void placer_submit(
    struct placer_wait *, struct http_request *, char *, const char *);
void placer_forget(struct placer_wait *);

#endif

/*
 * inval: the pure core of catalog invalidation.  A generation that every
 * flush bumps, the stock moves heard in order, and the messages workers
 * send each other ("catalog", "product:<id>").
 */

#ifndef INVAL_H
#define INVAL_H

#include <stddef.h>
#include <stdint.h>

#define INVAL_MOVE_SLOTS 8192 /* power of two */

struct inval {
	uint64_t gen;
	uint64_t move_seq;
	uint64_t moved_at[INVAL_MOVE_SLOTS]; /* per product slot: last move */
};

/* Where things stood when a fetch began. */
struct inval_mark {
	uint64_t gen;
	uint64_t moves;
};

#define INVAL_ALL     0 /* "catalog", or anything unknown: flush all */
#define INVAL_PRODUCT 1 /* "product:<id>": that product's stock moved */

#define INVAL_MSG_MAX 40

void		  inval_init(struct inval *);
void		  inval_flush(struct inval *);
void		  inval_stock_moved(struct inval *, int64_t);
struct inval_mark inval_mark(const struct inval *);
int  inval_moved(const struct inval *, int64_t, const struct inval_mark *);
int  inval_msg_parse(const char *, int64_t *);
void inval_msg_product(char[INVAL_MSG_MAX], int64_t);
#define INVAL_MSG_CATALOG "catalog"

#endif

/*
 * inval: the pure core of catalog invalidation.  A generation that every
 * flush bumps, the stock moves heard in order, the messages workers send
 * each other ("catalog", "product:<id>"), and the single flight of cache
 * misses (one fetch per key, the others waiting for it).
 */

#ifndef INVAL_H
#define INVAL_H

#include <sys/queue.h>

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

void inval_init(struct inval *);
void inval_flush(struct inval *);
int  inval_flushed(const struct inval *, const struct inval_mark *);
void inval_stock_moved(struct inval *, int64_t);
struct inval_mark inval_mark(const struct inval *);
int  inval_moved(const struct inval *, int64_t, const struct inval_mark *);
int  inval_msg_parse(const char *, int64_t *);
void inval_msg_product(char[INVAL_MSG_MAX], int64_t);
#define INVAL_MSG_CATALOG "catalog"

/*
 * Single flight: while one caller (the owner) fetches a key, the others
 * missing the same key wait, and are released (woken) when it is done,
 * stored or abandoned.  A waiter lives in the caller's own memory (its
 * request) and names the caller by an opaque pointer; the key is the
 * caller's copy, handed back when the flight ends.  No allocation here.
 */
#define INVAL_FLIGHTS 64

struct inval_waiter {
	TAILQ_ENTRY(inval_waiter) list; /* in its flight's queue */
	void *who; /* whom to wake: the caller's */
	int   flight; /* 1-based; 0 when in none */
	int   owner; /* fetches; the others wait */
};

struct inval_flight {
	int	 used;
	uint64_t hash;
	void	*key; /* the caller's copy, handed back by done */
	size_t	 keylen;
	size_t	 nwaiters;
	TAILQ_HEAD(inval_waitq, inval_waiter) waiters;
};

struct inval_flights {
	struct inval_flight f[INVAL_FLIGHTS];
};

/* Whether a flight's key (key, len) is the caller's (arg). */
typedef int (*inval_same_fn)(void *, const void *, size_t);

void inval_flights_init(struct inval_flights *);
int  inval_flight_find(
     const struct inval_flights *, uint64_t, inval_same_fn, void *);
int inval_flight_room(const struct inval_flights *);
int inval_flight_begin(struct inval_flights *, uint64_t, void *, size_t,
    struct inval_waiter *, void *);
void
inval_flight_wait(struct inval_flights *, int, struct inval_waiter *, void *);
void *inval_flight_done(
    struct inval_flights *, struct inval_waiter *, void (*)(void *));
size_t inval_flight_waiters(const struct inval_flights *, int);

#endif

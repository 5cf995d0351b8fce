/*
 * inval: generations, stock moves and the single flight of cache misses,
 * with no I/O.  Whatever was fetched under an older generation, or before
 * a move of its product, is stale; one fetch per key is in flight at once.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inval.h"

void
inval_init(struct inval *v)
{
	memset(v, 0, sizeof(*v));
	v->gen = 1;
}

/* Lazy: whatever carries an older generation is dead. */
void
inval_flush(struct inval *v)
{
	v->gen++;
}

/* Whether a flush came after the mark: what was fetched since is stale. */
int
inval_flushed(const struct inval *v, const struct inval_mark *m)
{
	return (m->gen != v->gen);
}

void
inval_stock_moved(struct inval *v, int64_t id)
{
	v->moved_at[(uint64_t)id & (INVAL_MOVE_SLOTS - 1)] = ++v->move_seq;
}

struct inval_mark
inval_mark(const struct inval *v)
{
	struct inval_mark m = { v->gen, v->move_seq };

	return (m);
}

/* Whether a stock move of product id was heard after the mark. */
int
inval_moved(const struct inval *v, int64_t id, const struct inval_mark *m)
{
	return (v->moved_at[(uint64_t)id & (INVAL_MOVE_SLOTS - 1)] > m->moves);
}

/* INVAL_PRODUCT with *id for "product:<id>", else INVAL_ALL. */
int
inval_msg_parse(const char *msg, int64_t *id)
{
	if (msg == NULL || strncmp(msg, "product:", 8) != 0)
		return (INVAL_ALL);
	*id = strtoll(msg + 8, NULL, 10);
	return (INVAL_PRODUCT);
}

void
inval_msg_product(char msg[INVAL_MSG_MAX], int64_t id)
{
	(void)snprintf(msg, INVAL_MSG_MAX, "product:%lld", (long long)id);
}

void
inval_flights_init(struct inval_flights *fl)
{
	int i;

	memset(fl, 0, sizeof(*fl));
	for (i = 0; i < INVAL_FLIGHTS; i++)
		TAILQ_INIT(&fl->f[i].waiters);
}

/* The flight (1-based) of the caller's key, or 0 when none is in flight. */
int
inval_flight_find(const struct inval_flights *fl, uint64_t hash,
    inval_same_fn same, void *arg)
{
	const struct inval_flight *f;
	int			   i;

	for (i = 0; i < INVAL_FLIGHTS; i++) {
		f = &fl->f[i];
		if (f->used && f->hash == hash && same(arg, f->key, f->keylen))
			return (i + 1);
	}
	return (0);
}

/* Whether a flight can begin: the table is not full. */
int
inval_flight_room(const struct inval_flights *fl)
{
	int i;

	for (i = 0; i < INVAL_FLIGHTS; i++) {
		if (!fl->f[i].used)
			return (1);
	}
	return (0);
}

/*
 * The caller (who, w) fetches key and owns its flight, returned (1-based);
 * 0 when the table is full: it fetches alone and key stays the caller's.
 */
int
inval_flight_begin(struct inval_flights *fl, uint64_t hash, void *key,
    size_t keylen, struct inval_waiter *w, void *who)
{
	struct inval_flight *f;
	int		     i;

	for (i = 0; i < INVAL_FLIGHTS; i++) {
		if (!fl->f[i].used)
			break;
	}
	if (i == INVAL_FLIGHTS)
		return (0);
	f = &fl->f[i];
	f->used = 1;
	f->hash = hash;
	f->key = key;
	f->keylen = keylen;
	f->nwaiters = 0;
	TAILQ_INIT(&f->waiters);
	w->who = who;
	w->flight = i + 1;
	w->owner = 1;
	return (w->flight);
}

/* The caller (who, w) waits for the flight's fetch. */
void
inval_flight_wait(
    struct inval_flights *fl, int flight, struct inval_waiter *w, void *who)
{
	struct inval_flight *f = &fl->f[flight - 1];

	w->who = who;
	w->flight = flight;
	w->owner = 0;
	TAILQ_INSERT_TAIL(&f->waiters, w, list);
	f->nwaiters++;
}

/*
 * The caller is done with its flight.  An owner's flight ends: each waiter
 * is released (wake(who)), to look again, and the key is handed back for
 * the caller to free.  A waiter leaves the queue (NULL).  Nothing when the
 * caller is in no flight.
 */
void *
inval_flight_done(
    struct inval_flights *fl, struct inval_waiter *w, void (*wake)(void *))
{
	struct inval_flight *f;
	struct inval_waiter *x;
	void		    *key = NULL;

	if (w->flight == 0)
		return (NULL);
	f = &fl->f[w->flight - 1];
	if (w->owner) {
		while ((x = TAILQ_FIRST(&f->waiters)) != NULL) {
			TAILQ_REMOVE(&f->waiters, x, list);
			x->flight = 0;
			wake(x->who);
		}
		f->nwaiters = 0;
		f->used = 0;
		key = f->key;
		f->key = NULL;
	} else {
		TAILQ_REMOVE(&f->waiters, w, list);
		f->nwaiters--;
	}
	w->flight = 0;
	w->owner = 0;
	return (key);
}

/* How many wait for the flight (1-based). */
size_t
inval_flight_waiters(const struct inval_flights *fl, int flight)
{
	return (fl->f[flight - 1].nwaiters);
}

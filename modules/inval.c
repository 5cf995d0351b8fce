/*
 * inval: generations and stock moves, with no I/O.  Whatever was fetched
 * under an older generation, or before a move of its product, is stale.
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
